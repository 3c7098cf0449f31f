//! The summary of a finished turn ([`crate::EventBody::TurnCompleted`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What one turn (one `result` line) did and cost.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TurnSummary {
    /// `success`, `error_during_execution`, `error_max_turns`, `error_max_budget_usd`, …
    pub subtype: String,
    /// The turn failed. API errors keep `subtype: success` and only set this, so check this,
    /// not the subtype.
    pub is_error: bool,
    /// `completed`, `aborted_streaming`, `aborted_tools`, `api_error`, …
    pub terminal_reason: Option<String>,
    pub stop_reason: Option<String>,
    pub duration_ms: Option<u64>,
    pub duration_api_ms: Option<u64>,
    /// The CLI's own count of agent-loop iterations.
    pub num_turns: Option<u32>,
    /// This turn's cost (USD, the CLI's list-price estimate; billing meters in the model
    /// proxy). From `model_usage_since_last_result` when the CLI sends it, otherwise the
    /// growth of `total_cost_usd` since the previous result.
    pub cost_usd_turn: Option<f64>,
    /// The CLI's cumulative cost for the whole Claude session (it survives `--resume`).
    pub total_cost_usd: Option<f64>,
    /// Tokens of this turn's API calls, summed.
    #[serde(default)]
    pub usage: TokenUsage,
    /// Distinct model responses (message ids) received during the turn; synthetic error
    /// messages are not counted.
    #[serde(default)]
    pub model_calls: u32,
    /// The models that answered during the turn, sorted.
    #[serde(default)]
    pub models: Vec<String>,
    /// The final assistant text (or the error text).
    pub result: Option<String>,
    #[serde(default)]
    pub permission_denials: Vec<PermissionDenial>,
    #[serde(default)]
    pub errors: Vec<String>,
    pub api_error_status: Option<u16>,
    /// Claude Code's conversation id (the `--resume` handle).
    pub claude_session_id: Option<String>,
    /// Counts results within one Claude process (a prompt may end in more than one).
    pub result_index: Option<u32>,
}

/// Token counts as the model API reports them.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenUsage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
}

/// A tool call refused during the turn.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PermissionDenial {
    pub tool_name: String,
    pub tool_use_id: Option<String>,
    #[serde(default)]
    pub tool_input: Value,
}
