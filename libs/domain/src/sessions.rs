//! Sessions as records: validation against the organisation's policy, quotas, the state
//! machine's user-driven transitions, and the `session.*` commands for session-manager.

use crate::audit::{self, Event};
use crate::orgs::{self, OrgPolicy};
use crate::pagination::{Page, PageRequest};
use crate::{bus_unavailable, validate, Domain};
use chrono::{DateTime, Utc};
use rc_auth::{perm, Granted};
use rc_bus::messages::{SessionCommand, SessionControl};
use rc_errors::{AppError, AppResult, ErrorCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const NETWORK_POLICIES: &[&str] = &["none", "allowlist", "open"];
pub const PERMISSION_MODES: &[&str] = &[
    "default",
    "acceptEdits",
    "plan",
    "dontAsk",
    "bypassPermissions",
];

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
#[sqlx(type_name = "session_state", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Pending,
    Starting,
    Running,
    Stopping,
    Stopped,
    Failed,
}

impl SessionState {
    /// Counts against quotas and accepts tasks.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Starting | Self::Running)
    }
}

/// Resource limits of one sandbox.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    async_graphql::SimpleObject,
)]
pub struct SessionLimits {
    pub cpu_millis: i32,
    pub memory_mb: i32,
    pub pids: i32,
    pub idle_timeout_secs: i32,
    pub max_duration_secs: i32,
}

/// Requested limits; absent fields take the default (bounded by the organisation's policy).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct SessionLimitsInput {
    pub cpu_millis: Option<i32>,
    pub memory_mb: Option<i32>,
    pub pids: Option<i32>,
    pub idle_timeout_secs: Option<i32>,
    pub max_duration_secs: Option<i32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct Session {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub state: SessionState,
    /// Why the session is in its state (always set when failed).
    pub state_reason: Option<String>,
    pub image: String,
    pub limits: SessionLimits,
    pub network_policy: String,
    pub repository_url: Option<String>,
    pub model: String,
    pub permission_mode: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    pub name: String,
    /// Git repository cloned into the workspace; absent = empty workspace.
    pub repository_url: Option<String>,
    /// Sandbox image; must be allowed by the organisation (default: its first allowed image).
    pub image: Option<String>,
    pub model: Option<String>,
    /// Claude Code permission mode: default, acceptEdits, plan, dontAsk, bypassPermissions.
    pub permission_mode: Option<String>,
    pub network_policy: Option<String>,
    pub limits: Option<SessionLimitsInput>,
}

/// List filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, async_graphql::InputObject)]
#[into_params(parameter_in = Query)]
pub struct SessionFilter {
    pub state: Option<SessionState>,
    /// Only sessions of this owner (admins and viewers; members always see only their own).
    pub owner_id: Option<Uuid>,
}

struct SessionRow {
    id: Uuid,
    owner_id: Uuid,
    name: String,
    state: SessionState,
    state_reason: Option<String>,
    image: String,
    limits: serde_json::Value,
    network_policy: String,
    repository_url: Option<String>,
    model: String,
    permission_mode: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    stopped_at: Option<DateTime<Utc>>,
}

impl SessionRow {
    fn into_session(self) -> AppResult<Session> {
        Ok(Session {
            id: self.id,
            owner_id: self.owner_id,
            name: self.name,
            state: self.state,
            state_reason: self.state_reason,
            image: self.image,
            limits: serde_json::from_value(self.limits).map_err(AppError::internal)?,
            network_policy: self.network_policy,
            repository_url: self.repository_url,
            model: self.model,
            permission_mode: self.permission_mode,
            created_at: self.created_at,
            updated_at: self.updated_at,
            started_at: self.started_at,
            stopped_at: self.stopped_at,
        })
    }
}

fn resolve_limits(policy: &OrgPolicy, input: &SessionLimitsInput) -> AppResult<SessionLimits> {
    let pick =
        |field: &str, value: Option<i32>, default: i32, min: i32, max: i32| -> AppResult<i32> {
            let v = value.unwrap_or(default.min(max));
            validate::in_range(&format!("limits.{field}"), v.into(), min.into(), max.into())?;
            Ok(v)
        };
    Ok(SessionLimits {
        cpu_millis: pick(
            "cpu_millis",
            input.cpu_millis,
            1000,
            100,
            policy.max_cpu_millis,
        )?,
        memory_mb: pick(
            "memory_mb",
            input.memory_mb,
            2048,
            256,
            policy.max_memory_mb,
        )?,
        pids: pick("pids", input.pids, 256, 32, policy.max_pids)?,
        idle_timeout_secs: pick(
            "idle_timeout_secs",
            input.idle_timeout_secs,
            1800,
            60,
            policy.max_idle_timeout_secs,
        )?,
        max_duration_secs: pick(
            "max_duration_secs",
            input.max_duration_secs,
            8 * 3600,
            60,
            policy.max_duration_secs,
        )?,
    })
}

fn validate_model(model: &str) -> AppResult<()> {
    let ok = !model.is_empty()
        && model.len() <= 100
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '[' | ']'));
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(
            "model",
            "must be a model name such as claude-sonnet-4-5",
        ))
    }
}

pub async fn create(
    domain: &Domain,
    granted: &Granted<perm::SessionsWrite>,
    input: CreateSession,
) -> AppResult<Session> {
    let name = validate::name("name", &input.name)?;
    let repository_url = input
        .repository_url
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|u| validate::repository_url("repository_url", u))
        .transpose()?;
    let mut tx = domain.db.begin().await?;
    let policy = orgs::policy(&mut tx, granted.org_id).await?;

    let image = input
        .image
        .clone()
        .unwrap_or_else(|| policy.allowed_images.first().cloned().unwrap_or_default());
    if !policy.allowed_images.contains(&image) {
        return Err(AppError::validation(
            "image",
            format!(
                "{image:?} is not an allowed image; allowed: {}",
                policy.allowed_images.join(", ")
            ),
        ));
    }
    let model = input
        .model
        .clone()
        .unwrap_or_else(|| policy.default_model.clone());
    validate_model(&model)?;
    let permission_mode = input
        .permission_mode
        .clone()
        .unwrap_or_else(|| "default".into());
    if !PERMISSION_MODES.contains(&permission_mode.as_str()) {
        return Err(AppError::validation(
            "permission_mode",
            format!("must be one of {}", PERMISSION_MODES.join(", ")),
        ));
    }
    let network_policy = input
        .network_policy
        .clone()
        .unwrap_or_else(|| "none".into());
    if !NETWORK_POLICIES.contains(&network_policy.as_str()) {
        return Err(AppError::validation(
            "network_policy",
            "must be one of none, allowlist, open",
        ));
    }
    if !policy.allowed_network_policies.contains(&network_policy) {
        return Err(AppError::validation(
            "network_policy",
            format!("{network_policy} is not allowed by your organization"),
        ));
    }
    let limits = resolve_limits(&policy, &input.limits.clone().unwrap_or_default())?;
    check_sandbox_capacity(&mut tx).await?;

    check_quota(&mut tx, &policy, granted.org_id, granted.user_id).await?;

    let id = Uuid::now_v7();
    let row = sqlx::query_as!(
        SessionRow,
        r#"INSERT INTO sessions (id, org_id, owner_id, name, image, limits, network_policy, repository_url, model, permission_mode)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING id, owner_id, name, state AS "state: SessionState", state_reason, image, limits, network_policy,
                     repository_url, model, permission_mode, created_at, updated_at, started_at, stopped_at"#,
        id,
        granted.org_id,
        granted.user_id,
        name,
        image,
        serde_json::to_value(limits).map_err(AppError::internal)?,
        network_policy,
        repository_url,
        model,
        permission_mode
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("session.create", "session", id)
            .details(serde_json::json!({ "name": name, "image": image, "model": model })),
    )
    .await?;
    // Published before commit: if the broker is down the whole create rolls back (503, nothing
    // half-made). If the commit fails after publishing, session-manager finds no row and drops
    // the command.
    domain
        .bus
        .publish(&SessionCommand::Create {
            session_id: id,
            org_id: granted.org_id,
        })
        .await
        .map_err(bus_unavailable)?;
    tx.commit().await?;
    row.into_session()
}

pub async fn list(
    domain: &Domain,
    granted: &Granted<perm::SessionsRead>,
    filter: &SessionFilter,
    page: &PageRequest,
) -> AppResult<Page<Session>> {
    let (cursor, limit) = page.parse()?;
    // Members see only their own sessions, whatever they filter on.
    let owner = if granted.sees_all_sessions() {
        filter.owner_id
    } else {
        Some(granted.user_id)
    };
    let rows = sqlx::query_as!(
        SessionRow,
        r#"SELECT id, owner_id, name, state AS "state: SessionState", state_reason, image, limits, network_policy,
                  repository_url, model, permission_mode, created_at, updated_at, started_at, stopped_at
           FROM sessions
           WHERE org_id = $1 AND deleted_at IS NULL
             AND ($2::uuid IS NULL OR owner_id = $2)
             AND ($3::session_state IS NULL OR state = $3)
             AND ($4::uuid IS NULL OR id < $4)
           ORDER BY id DESC LIMIT $5"#,
        granted.org_id,
        owner,
        filter.state as Option<SessionState>,
        cursor,
        limit + 1
    )
    .fetch_all(&domain.db)
    .await?;
    let sessions = rows
        .into_iter()
        .map(SessionRow::into_session)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::from_rows(sessions, limit, |s| s.id))
}

/// A session the caller may see, or 404.
pub async fn get(
    domain: &Domain,
    granted: &Granted<perm::SessionsRead>,
    id: Uuid,
) -> AppResult<Session> {
    fetch_visible(&domain.db, granted, id).await
}

async fn fetch_visible(db: &sqlx::PgPool, actor: &rc_auth::Actor, id: Uuid) -> AppResult<Session> {
    let row = sqlx::query_as!(
        SessionRow,
        r#"SELECT id, owner_id, name, state AS "state: SessionState", state_reason, image, limits, network_policy,
                  repository_url, model, permission_mode, created_at, updated_at, started_at, stopped_at
           FROM sessions WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL"#,
        id,
        actor.org_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| AppError::not_found("session"))?;
    if !actor.sees_all_sessions() && row.owner_id != actor.user_id {
        return Err(AppError::not_found("session"));
    }
    row.into_session()
}

/// The active-session quotas of the owner and the organisation (429 naming which). Counted
/// under a per-org lock so concurrent creates and starts cannot overshoot.
async fn check_quota(
    conn: &mut sqlx::PgConnection,
    policy: &OrgPolicy,
    org_id: Uuid,
    owner_id: Uuid,
) -> AppResult<()> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 7))",
        org_id
    )
    .execute(&mut *conn)
    .await?;
    let counts = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE owner_id = $2) AS "mine!", count(*) AS "all!"
           FROM sessions WHERE org_id = $1 AND deleted_at IS NULL AND state IN ('pending', 'starting', 'running')"#,
        org_id,
        owner_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if counts.mine >= i64::from(policy.max_sessions_per_user) {
        return Err(AppError::new(ErrorCode::QuotaExceeded, format!(
            "you already have {} active sessions, the maximum per user in this organization; stop one first",
            counts.mine
        )));
    }
    if counts.all >= i64::from(policy.max_sessions_per_org) {
        return Err(AppError::new(
            ErrorCode::QuotaExceeded,
            format!(
                "the organization has {} active sessions, its maximum; stop one first",
                counts.all
            ),
        ));
    }
    Ok(())
}

/// How long a session-manager heartbeat counts as live (it beats every 5 s).
const NODE_HEARTBEAT_TTL_SECS: f64 = 20.0;

/// Refuses (503) when session-managers are running but none can reach its Docker engine: the
/// session would only fail. With no live session-manager at all the session is accepted and
/// waits, pending, on the queue for one to start.
async fn check_sandbox_capacity(conn: &mut sqlx::PgConnection) -> AppResult<()> {
    let nodes = sqlx::query!(
        r#"SELECT count(*) AS "live!", count(*) FILTER (WHERE engine_ok) AS "healthy!",
                  max(engine_error) AS "error"
           FROM sandbox_nodes WHERE heartbeat_at > now() - make_interval(secs => $1)"#,
        NODE_HEARTBEAT_TTL_SECS
    )
    .fetch_one(conn)
    .await?;
    if nodes.live > 0 && nodes.healthy == 0 {
        let mut err = AppError::new(
            ErrorCode::ServiceUnavailable,
            format!(
                "no sandbox capacity: the Docker engine is unavailable ({}); retry shortly",
                nodes.error.unwrap_or_else(|| "no reason given".into())
            ),
        );
        err.retry_after = Some(30);
        return Err(err);
    }
    Ok(())
}

/// A session the caller may change, or 404 (invisible) / 403 (visible, not theirs).
pub(crate) async fn fetch_actionable(
    db: &sqlx::PgPool,
    actor: &rc_auth::Actor,
    id: Uuid,
) -> AppResult<Session> {
    let session = fetch_visible(db, actor, id).await?;
    if !actor.can_act_on(session.owner_id) {
        return Err(AppError::forbidden(
            "only the session's owner or an admin can change it",
        ));
    }
    Ok(session)
}

pub async fn stop(
    domain: &Domain,
    granted: &Granted<perm::SessionsWrite>,
    id: Uuid,
) -> AppResult<Session> {
    let session = fetch_actionable(&domain.db, granted, id).await?;
    match session.state {
        SessionState::Stopping | SessionState::Stopped => return Ok(session),
        SessionState::Failed => {
            return Err(AppError::conflict(
                "the session has failed; delete it instead",
            ))
        }
        _ => {}
    }
    let mut tx = domain.db.begin().await?;
    // RETURNING the owner under the row lock: a session-manager claiming the session at the
    // same moment either committed first (its node id is returned) or will see `stopping`.
    let changed = sqlx::query_scalar!(
        "UPDATE sessions SET state = 'stopping', state_reason = 'stopped by user', updated_at = now() WHERE id = $1 AND deleted_at IS NULL AND state IN ('pending', 'starting', 'running') RETURNING node_id",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(node_id) = changed else {
        // A concurrent stop or delete won: report the current state, audit and publish nothing.
        drop(tx);
        return fetch_visible(&domain.db, granted, id).await;
    };
    audit::record(&mut tx, granted, Event::new("session.stop", "session", id)).await?;
    domain
        .bus
        .publish(&SessionCommand::Stop {
            session_id: id,
            org_id: granted.org_id,
            reason: format!("stopped by {}", granted.email),
            node_id,
        })
        .await
        .map_err(bus_unavailable)?;
    tx.commit().await?;
    fetch_visible(&domain.db, granted, id).await
}

/// Starts a stopped session again: a new sandbox on the node that holds its workspace and
/// Claude home, resuming the same conversation.
pub async fn start(
    domain: &Domain,
    granted: &Granted<perm::SessionsWrite>,
    id: Uuid,
) -> AppResult<Session> {
    let session = fetch_actionable(&domain.db, granted, id).await?;
    match session.state {
        SessionState::Stopped => {}
        SessionState::Failed => {
            return Err(AppError::conflict(
                "the session has failed; delete it and create a new one",
            ))
        }
        SessionState::Stopping => {
            return Err(AppError::conflict(
                "the session is still stopping; start it once it is stopped",
            ))
        }
        // Already starting or running: nothing to do.
        _ => return Ok(session),
    }
    let mut tx = domain.db.begin().await?;
    check_sandbox_capacity(&mut tx).await?;
    let policy = orgs::policy(&mut tx, granted.org_id).await?;
    check_quota(&mut tx, &policy, granted.org_id, session.owner_id).await?;
    let node_id = sqlx::query_scalar!(
        "UPDATE sessions SET state = 'pending', state_reason = NULL, stopped_at = NULL, started_at = NULL, updated_at = now() WHERE id = $1 AND deleted_at IS NULL AND state = 'stopped' RETURNING node_id",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(node_id) = node_id else {
        // A concurrent start or delete won.
        drop(tx);
        return fetch_visible(&domain.db, granted, id).await;
    };
    audit::record(&mut tx, granted, Event::new("session.start", "session", id)).await?;
    domain
        .bus
        .publish(&SessionCommand::Start {
            session_id: id,
            org_id: granted.org_id,
            node_id,
        })
        .await
        .map_err(bus_unavailable)?;
    tx.commit().await?;
    fetch_visible(&domain.db, granted, id).await
}

pub async fn delete(
    domain: &Domain,
    granted: &Granted<perm::SessionsWrite>,
    id: Uuid,
) -> AppResult<()> {
    fetch_actionable(&domain.db, granted, id).await?;
    let mut tx = domain.db.begin().await?;
    // Soft delete: usage and audit history keep pointing at the row; the sandbox goes away.
    let changed = sqlx::query_scalar!(
        "UPDATE sessions SET deleted_at = now(), updated_at = now(), state = CASE WHEN state IN ('stopped', 'failed') THEN state ELSE 'stopping' END, state_reason = COALESCE(state_reason, 'deleted by user') WHERE id = $1 AND deleted_at IS NULL RETURNING node_id",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(node_id) = changed else {
        return Err(AppError::not_found("session"));
    };
    sqlx::query!("UPDATE tasks SET state = 'cancelled', finished_at = now() WHERE session_id = $1 AND state = 'queued'", id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("session.delete", "session", id),
    )
    .await?;
    domain
        .bus
        .publish(&SessionCommand::Delete {
            session_id: id,
            org_id: granted.org_id,
            node_id,
        })
        .await
        .map_err(bus_unavailable)?;
    tx.commit().await?;
    Ok(())
}

/// Changes to a session's settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct UpdateSession {
    /// The model for the next turns (the running Claude process switches at once).
    pub model: Option<String>,
    /// default, acceptEdits, plan, dontAsk or bypassPermissions (from the next tool call).
    pub permission_mode: Option<String>,
}

/// Changes the model and/or permission mode. The row changes at once (a restarted sandbox
/// uses it); a running Claude process is switched by its session-manager.
pub async fn update(
    domain: &Domain,
    granted: &Granted<perm::SessionsWrite>,
    id: Uuid,
    input: UpdateSession,
) -> AppResult<Session> {
    if input.model.is_none() && input.permission_mode.is_none() {
        return Err(AppError::validation(
            "model",
            "nothing to change: give model and/or permission_mode",
        ));
    }
    if let Some(model) = &input.model {
        validate_model(model)?;
    }
    if let Some(mode) = &input.permission_mode {
        if !PERMISSION_MODES.contains(&mode.as_str()) {
            return Err(AppError::validation(
                "permission_mode",
                format!("must be one of {}", PERMISSION_MODES.join(", ")),
            ));
        }
    }
    let session = fetch_actionable(&domain.db, granted, id).await?;
    if !session.state.is_active() {
        return Err(AppError::conflict(
            format!("the session is {:?}; start it first", session.state).to_lowercase(),
        ));
    }
    let mut tx = domain.db.begin().await?;
    let node_id = sqlx::query_scalar!(
        "UPDATE sessions SET model = COALESCE($2, model), permission_mode = COALESCE($3, permission_mode), updated_at = now()
         WHERE id = $1 RETURNING node_id",
        id,
        input.model,
        input.permission_mode
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("session.update", "session", id).details(serde_json::json!({
            "model": input.model,
            "permission_mode": input.permission_mode,
        })),
    )
    .await?;
    let mut controls = Vec::new();
    if let Some(model) = input.model {
        controls.push(SessionControl::SetModel { model });
    }
    if let Some(mode) = input.permission_mode {
        controls.push(SessionControl::SetPermissionMode { mode });
    }
    for control in controls {
        domain
            .bus
            .publish(&SessionCommand::Control {
                session_id: id,
                org_id: granted.org_id,
                node_id: node_id.clone(),
                control,
            })
            .await
            .map_err(bus_unavailable)?;
    }
    tx.commit().await?;
    fetch_visible(&domain.db, granted, id).await
}

/// `/clear` (a new conversation in the same sandbox) or a sandbox restart that resumes the
/// conversation. Refused while a turn runs: cancel it first, so nothing is cut off unasked.
pub async fn control(
    domain: &Domain,
    granted: &Granted<perm::SessionsWrite>,
    id: Uuid,
    control: SessionAction,
) -> AppResult<Session> {
    let session = fetch_actionable(&domain.db, granted, id).await?;
    if session.state != SessionState::Running {
        return Err(AppError::conflict(
            format!("the session is {:?}; it must be running", session.state).to_lowercase(),
        ));
    }
    let mut tx = domain.db.begin().await?;
    let node_id = sqlx::query_scalar!("SELECT node_id FROM sessions WHERE id = $1 FOR UPDATE", id)
        .fetch_one(&mut *tx)
        .await?;
    let running = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM tasks WHERE session_id = $1 AND state = 'running') AS "running!""#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if running {
        return Err(AppError::conflict(
            "a turn is running; wait for it or cancel it first",
        ));
    }
    let (action, message) = match control {
        SessionAction::Clear => ("session.clear", SessionControl::Clear),
        SessionAction::Restart => ("session.restart", SessionControl::Restart),
    };
    audit::record(&mut tx, granted, Event::new(action, "session", id)).await?;
    domain
        .bus
        .publish(&SessionCommand::Control {
            session_id: id,
            org_id: granted.org_id,
            node_id,
            control: message,
        })
        .await
        .map_err(bus_unavailable)?;
    tx.commit().await?;
    fetch_visible(&domain.db, granted, id).await
}

/// The session actions that are not settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAction {
    Clear,
    Restart,
}
