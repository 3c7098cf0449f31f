//! Approvals: Claude's `can_use_tool` requests waiting for a person.
//!
//! session-manager records each request (state `pending`, with its expiry) in the same
//! transaction as the `permission_requested` event. A user who may act on the session
//! decides here — from REST, GraphQL, the events WebSocket or a signed link, all through
//! [`decide`] — and session-manager delivers the answer to the CLI. The first decision wins:
//! it is a conditional update of a pending row, so a second one gets 409 whatever the
//! transport or timing. An undecided request is denied by session-manager at its expiry.

use crate::audit::{self, Event};
use crate::{bus_unavailable, sessions, Domain};
use chrono::{DateTime, Utc};
use rc_auth::{perm, Granted};
use rc_bus::messages::TaskEvent;
use rc_errors::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest message a denial may carry back to Claude.
pub const MAX_MESSAGE_CHARS: usize = 2000;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    sqlx::Type,
    utoipa::ToSchema,
    async_graphql::Enum,
)]
#[sqlx(type_name = "approval_state", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    Pending,
    Allowed,
    Denied,
    Expired,
}

/// The answer to a permission request.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum,
)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Run this call.
    Allow,
    /// Run it, and do not ask again for calls like it (see [`AlwaysScope`]).
    Always,
    /// Refuse it; `message` tells Claude why.
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Always => "always",
            Self::Deny => "deny",
        }
    }
}

/// Where an "Always" rule applies.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    async_graphql::Enum,
)]
#[serde(rename_all = "lowercase")]
pub enum AlwaysScope {
    /// This session only (the CLI's own session rule).
    #[default]
    Session,
    /// Every future session of the organisation (its policy's allowed tools); admins only.
    Organization,
}

/// How a decision reached the platform (recorded and audited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Rest,
    Graphql,
    Websocket,
    Link,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Graphql => "graphql",
            Self::Websocket => "websocket",
            Self::Link => "link",
        }
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct Decide {
    pub decision: Decision,
    /// For `deny`: shown to Claude (a default is used when absent).
    pub message: Option<String>,
    /// For `always`: session (default) or organization (admins).
    pub scope: Option<AlwaysScope>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[graphql(complex)]
pub struct Approval {
    pub id: Uuid,
    pub session_id: Uuid,
    pub task_id: Option<Uuid>,
    pub tool_name: String,
    /// The tool's input exactly as Claude asked for it.
    #[schema(value_type = Object)]
    #[graphql(skip)]
    pub input: serde_json::Value,
    pub state: ApprovalState,
    pub decision: Option<String>,
    pub message: Option<String>,
    pub decided_by: Option<Uuid>,
    /// rest, graphql, websocket, link, timeout or cancelled.
    pub decided_via: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[async_graphql::ComplexObject]
impl Approval {
    /// The tool's input exactly as Claude asked for it.
    #[graphql(name = "input")]
    async fn input_json(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.input.clone())
    }
}

/// Pending requests on every session the caller can see, oldest first (the approvals badge).
pub async fn pending(
    domain: &Domain,
    granted: &Granted<perm::SessionsRead>,
) -> AppResult<Vec<Approval>> {
    let rows = sqlx::query_as!(
        Approval,
        r#"SELECT a.id, a.session_id, a.task_id, a.tool_name, a.input, a.state AS "state: ApprovalState",
                  a.decision, a.message, a.decided_by, a.decided_via, a.created_at, a.expires_at, a.decided_at
           FROM approvals a JOIN sessions s ON s.id = a.session_id
           WHERE a.org_id = $1 AND a.state = 'pending' AND s.deleted_at IS NULL
             AND ($2 OR s.owner_id = $3)
           ORDER BY a.created_at LIMIT 500"#,
        granted.org_id,
        granted.sees_all_sessions(),
        granted.user_id
    )
    .fetch_all(&domain.db)
    .await?;
    Ok(rows)
}

/// One approval the caller can see, or 404.
pub async fn get(
    domain: &Domain,
    granted: &Granted<perm::SessionsRead>,
    id: Uuid,
) -> AppResult<Approval> {
    let approval = fetch(&domain.db, granted.org_id, id).await?;
    sessions::get(domain, granted, approval.session_id)
        .await
        .map_err(not_found_as_approval)?;
    Ok(approval)
}

pub(crate) async fn fetch(db: &sqlx::PgPool, org_id: Uuid, id: Uuid) -> AppResult<Approval> {
    sqlx::query_as!(
        Approval,
        r#"SELECT id, session_id, task_id, tool_name, input, state AS "state: ApprovalState",
                  decision, message, decided_by, decided_via, created_at, expires_at, decided_at
           FROM approvals WHERE id = $1 AND org_id = $2"#,
        id,
        org_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| AppError::not_found("approval"))
}

pub(crate) fn not_found_as_approval(err: AppError) -> AppError {
    if err.status() == 404 {
        AppError::not_found("approval")
    } else {
        err
    }
}

/// Decides a pending request. Owners of the session and admins may; "Always" for the whole
/// organisation needs admin rights. The first decision wins; later ones get 409 naming what
/// was decided.
pub async fn decide(
    domain: &Domain,
    granted: &Granted<perm::TasksWrite>,
    id: Uuid,
    input: Decide,
    via: Via,
) -> AppResult<Approval> {
    if let Some(message) = &input.message {
        if message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(AppError::validation(
                "message",
                format!("must be at most {MAX_MESSAGE_CHARS} characters"),
            ));
        }
    }
    if input.scope.is_some() && input.decision != Decision::Always {
        return Err(AppError::validation(
            "scope",
            "only applies to the decision 'always'",
        ));
    }
    let scope = input.scope.unwrap_or_default();
    let approval = fetch(&domain.db, granted.org_id, id).await?;
    let session = sessions::fetch_actionable(&domain.db, granted, approval.session_id)
        .await
        .map_err(not_found_as_approval)?;
    if scope == AlwaysScope::Organization {
        granted.also::<perm::OrgManage>().map_err(|_| {
            AppError::forbidden("only owners and admins can allow a tool for the whole organization; choose the session scope")
        })?;
    }
    let message = match input.decision {
        Decision::Deny => Some(
            input
                .message
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| format!("{} denied this request", granted.email)),
        ),
        _ => None,
    };
    let state = if input.decision == Decision::Deny {
        ApprovalState::Denied
    } else {
        ApprovalState::Allowed
    };
    let mut tx = domain.db.begin().await?;
    let decided = sqlx::query_as!(
        Approval,
        r#"UPDATE approvals SET state = $3, decision = $4, message = $5, decided_by = $6,
                  decided_via = $7, decided_at = now()
           WHERE id = $1 AND org_id = $2 AND state = 'pending' AND expires_at > now()
           RETURNING id, session_id, task_id, tool_name, input, state AS "state: ApprovalState",
                     decision, message, decided_by, decided_via, created_at, expires_at, decided_at"#,
        id,
        granted.org_id,
        state as ApprovalState,
        input.decision.as_str(),
        message,
        granted.user_id,
        via.as_str()
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(decided) = decided else {
        return Err(already_decided(
            &fetch(&domain.db, granted.org_id, id).await?,
        ));
    };
    if input.decision == Decision::Always && scope == AlwaysScope::Organization {
        allow_for_org(&mut tx, granted, &decided).await?;
    }
    audit::record(
        &mut tx,
        granted,
        Event::new("approval.decide", "approval", id).details(serde_json::json!({
            "session_id": decided.session_id,
            "tool_name": decided.tool_name,
            "decision": input.decision.as_str(),
            "scope": (input.decision == Decision::Always).then_some(match scope {
                AlwaysScope::Session => "session",
                AlwaysScope::Organization => "organization",
            }),
            "via": via.as_str(),
        })),
    )
    .await?;
    let node_id = sqlx::query_scalar!("SELECT node_id FROM sessions WHERE id = $1", session.id)
        .fetch_one(&mut *tx)
        .await?;
    domain
        .bus
        .publish(&TaskEvent::ApprovalDecided {
            approval_id: id,
            session_id: session.id,
            org_id: granted.org_id,
            node_id,
        })
        .await
        .map_err(bus_unavailable)?;
    tx.commit().await?;
    Ok(decided)
}

/// 409 unless the request still waits for a decision (used before minting a link).
pub(crate) fn ensure_pending(approval: &Approval) -> AppResult<()> {
    if approval.state == ApprovalState::Pending && approval.expires_at > Utc::now() {
        return Ok(());
    }
    Err(already_decided(approval))
}

fn already_decided(approval: &Approval) -> AppError {
    let what = match approval.state {
        ApprovalState::Pending => "expired".to_owned(),
        ApprovalState::Expired => format!(
            "expired ({})",
            approval.decided_via.as_deref().unwrap_or("timeout")
        ),
        state => format!(
            "already {} via {}",
            format!("{state:?}").to_lowercase(),
            approval.decided_via.as_deref().unwrap_or("unknown")
        ),
    };
    AppError::conflict(format!("this permission request was {what}"))
}

/// "Always" for the organisation: the tool (with the rule the CLI suggested, when there is
/// one) joins the policy's allowed tools, which every new sandbox's managed settings carry.
async fn allow_for_org(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    granted: &Granted<perm::TasksWrite>,
    approval: &Approval,
) -> AppResult<()> {
    let rule = org_rule(&approval.tool_name, &approval.input);
    let mut policy = crate::orgs::policy(tx, granted.org_id).await?;
    if !policy.allowed_tools.contains(&rule) {
        policy.allowed_tools.push(rule.clone());
        sqlx::query!(
            "UPDATE organizations SET policy = $2 WHERE id = $1",
            granted.org_id,
            serde_json::to_value(&policy).map_err(AppError::internal)?
        )
        .execute(&mut **tx)
        .await?;
        audit::record(
            tx,
            granted,
            Event::new("org.policy.allow_tool", "organization", granted.org_id)
                .details(serde_json::json!({ "rule": rule, "approval_id": approval.id })),
        )
        .await?;
    }
    Ok(())
}

/// The permission rule an org-wide "Always" adds: `Bash(<exact command>)` for shell commands
/// (never a blanket `Bash`), the tool name for everything else.
pub fn org_rule(tool_name: &str, input: &serde_json::Value) -> String {
    match (tool_name, input.get("command").and_then(|c| c.as_str())) {
        ("Bash", Some(command)) => format!("Bash({command})"),
        _ => tool_name.to_owned(),
    }
}
