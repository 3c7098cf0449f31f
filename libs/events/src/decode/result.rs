//! `result` lines and the per-turn accounting they need: the model calls seen since the last
//! result, and the cost of this turn rather than the CLI's running total.

use super::{num_at, string_at, u64_at};
use crate::event::EventBody;
use crate::turn::{PermissionDenial, TokenUsage, TurnSummary};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};

#[derive(Clone, Debug, Default)]
pub(super) struct TurnTracker {
    message_ids: HashSet<String>,
    models: BTreeSet<String>,
    /// The highest `total_cost_usd` seen. API-error results report 0 (claude-cli.md §1.6), so
    /// the last value alone would make the next turn look as expensive as the whole session.
    previous_total_cost: f64,
}

impl TurnTracker {
    pub(super) fn set_previous_total_cost(&mut self, total: f64) {
        self.previous_total_cost = total;
    }

    /// A model response began or completed. Streaming and the finished `assistant` lines
    /// both report a response, so counting distinct ids counts calls.
    pub(super) fn saw_model_call(&mut self, message_id: Option<&str>, model: Option<&str>) {
        if let Some(id) = message_id {
            self.message_ids.insert(id.to_owned());
        }
        if let Some(model) = model {
            self.models.insert(model.to_owned());
        }
    }

    pub(super) fn complete(&mut self, line: &Value) -> EventBody {
        let since_last = line
            .get("model_usage_since_last_result")
            .and_then(Value::as_object);
        let total_cost_usd = line.get("total_cost_usd").and_then(Value::as_f64);
        let cost_usd_turn = match since_last {
            // A fold from +0.0: `Sum` of no floats is -0.0, which would print as "-0".
            Some(models) => Some(
                models
                    .values()
                    .filter_map(|usage| usage.get("costUSD").and_then(Value::as_f64))
                    .fold(0.0, |sum, cost| sum + cost),
            ),
            None => total_cost_usd.map(|total| (total - self.previous_total_cost).max(0.0)),
        };
        if let Some(total) = total_cost_usd {
            self.previous_total_cost = self.previous_total_cost.max(total);
        }
        // Models billed for the turn but never seen streaming (e.g. side calls) count too.
        let mut models = std::mem::take(&mut self.models);
        models.extend(since_last.into_iter().flat_map(|m| m.keys().cloned()));
        let model_calls = u32::try_from(self.message_ids.len()).unwrap_or(u32::MAX);
        self.message_ids.clear();

        EventBody::TurnCompleted(TurnSummary {
            subtype: string_at(line, "subtype").unwrap_or_else(|| "unknown".into()),
            is_error: line.get("is_error").and_then(Value::as_bool) == Some(true),
            terminal_reason: string_at(line, "terminal_reason"),
            stop_reason: string_at(line, "stop_reason"),
            duration_ms: u64_at(line, "duration_ms"),
            duration_api_ms: u64_at(line, "duration_api_ms"),
            num_turns: num_at(line, "num_turns"),
            cost_usd_turn,
            total_cost_usd,
            usage: line
                .get("usage")
                .and_then(|usage| serde_json::from_value::<TokenUsage>(usage.clone()).ok())
                .unwrap_or_default(),
            model_calls,
            models: models.into_iter().collect(),
            result: string_at(line, "result"),
            permission_denials: permission_denials(line),
            errors: line
                .get("errors")
                .and_then(Value::as_array)
                .map(|errors| {
                    errors
                        .iter()
                        .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            api_error_status: num_at(line, "api_error_status"),
            claude_session_id: string_at(line, "session_id"),
            result_index: num_at(line, "result_index"),
        })
    }
}

fn permission_denials(line: &Value) -> Vec<PermissionDenial> {
    let Some(denials) = line.get("permission_denials").and_then(Value::as_array) else {
        return Vec::new();
    };
    denials
        .iter()
        .filter_map(|d| serde_json::from_value(d.clone()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cost(event: &EventBody) -> Option<f64> {
        match event {
            EventBody::TurnCompleted(summary) => summary.cost_usd_turn,
            other => panic!("not a turn end: {other:?}"),
        }
    }

    #[test]
    fn turn_cost_falls_back_to_the_growth_of_the_running_total() {
        let mut turns = TurnTracker::default();
        let result =
            |total: f64| json!({"type": "result", "subtype": "success", "total_cost_usd": total});
        assert_eq!(cost(&turns.complete(&result(0.5))), Some(0.5));
        assert_eq!(cost(&turns.complete(&result(1.25))), Some(0.75));
        // An API error reports 0; it costs nothing and does not reset the baseline.
        assert_eq!(cost(&turns.complete(&result(0.0))), Some(0.0));
        assert_eq!(cost(&turns.complete(&result(1.5))), Some(0.25));

        let mut resumed = TurnTracker::default();
        resumed.set_previous_total_cost(2.0);
        assert_eq!(cost(&resumed.complete(&result(2.5))), Some(0.5));
    }

    #[test]
    fn turn_cost_prefers_the_usage_since_the_last_result() {
        let mut turns = TurnTracker::default();
        turns.saw_model_call(Some("msg_1"), Some("claude-sonnet-4-5"));
        turns.saw_model_call(Some("msg_1"), Some("claude-sonnet-4-5"));
        let line = json!({"type": "result", "subtype": "success", "total_cost_usd": 9.0,
            "model_usage_since_last_result": {
                "claude-sonnet-4-5": {"costUSD": 0.25}, "claude-haiku-4-5": {"costUSD": 0.5}}});
        let EventBody::TurnCompleted(summary) = turns.complete(&line) else {
            panic!("not a turn end")
        };
        assert_eq!(summary.cost_usd_turn, Some(0.75));
        assert_eq!(summary.model_calls, 1);
        assert_eq!(summary.models, ["claude-haiku-4-5", "claude-sonnet-4-5"]);
        // The next turn starts from zero.
        let EventBody::TurnCompleted(next) = turns.complete(&json!({"type": "result"})) else {
            panic!("not a turn end")
        };
        assert_eq!((next.model_calls, next.models.len()), (0, 0));
        assert_eq!(next.subtype, "unknown");
    }
}
