//! Tasks: prompts queued on a session, run one at a time in `position` order by
//! session-manager.

use crate::audit::{self, Event};
use crate::pagination::{Page, PageRequest};
use crate::sessions;
use crate::{bus_unavailable, Domain};
use chrono::{DateTime, Utc};
use rc_auth::{perm, Granted};
use rc_bus::messages::TaskEvent;
use rc_errors::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest prompt accepted (characters).
pub const MAX_PROMPT_CHARS: usize = 100_000;
/// Most images one prompt may carry.
pub const MAX_IMAGES: usize = 4;
/// Largest image accepted, decoded (the model API's per-image limit).
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Most image bytes (decoded) one prompt may carry in all. Claude echoes the prompt, images
/// included, on one stdout line, and the sandbox agent drops lines over
/// `rc_agent_protocol::MAX_LINE_BYTES` (8 MiB): 5 MiB in base64 plus the longest prompt stays
/// under it.
pub const MAX_TOTAL_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Image types the model accepts.
pub const IMAGE_MEDIA_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
/// The largest task-creation request body the api reads: the images at the size limit in
/// base64, plus the longest prompt (JSON-escaped, 6 bytes a character at worst) and the rest.
pub const MAX_CREATE_BODY_BYTES: usize =
    MAX_TOTAL_IMAGE_BYTES.div_ceil(3) * 4 + MAX_PROMPT_CHARS * 6 + 64 * 1024;

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
#[sqlx(type_name = "task_state", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[graphql(complex)]
pub struct Task {
    pub id: Uuid,
    pub session_id: Uuid,
    pub created_by: Uuid,
    pub prompt: String,
    pub state: TaskState,
    /// Queue order within the session (lower runs first).
    pub position: i64,
    /// Final text, cost, tokens, duration, permission denials — set when the task ends.
    #[schema(value_type = Option<Object>)]
    #[graphql(skip)]
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// How many images were sent with the prompt.
    pub image_count: i32,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    pub prompt: String,
    /// Images sent to Claude with the prompt, in order (at most 4, at most 5 MiB in all).
    #[serde(default)]
    #[graphql(default)]
    pub images: Vec<TaskImageInput>,
}

/// One image of a prompt.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct TaskImageInput {
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
    pub media_type: String,
    /// The image file, base64 (standard alphabet, padded).
    pub data: String,
}

/// Checks the images and decodes them; errors name the field (`images[1].data`).
fn decode_images(images: &[TaskImageInput]) -> AppResult<Vec<(&str, Vec<u8>)>> {
    use base64::Engine as _;
    if images.len() > MAX_IMAGES {
        return Err(AppError::validation(
            "images",
            format!("at most {MAX_IMAGES} images per prompt"),
        ));
    }
    images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            let media_type = image.media_type.as_str();
            if !IMAGE_MEDIA_TYPES.contains(&media_type) {
                return Err(AppError::validation(
                    format!("images[{i}].media_type"),
                    format!("must be one of {}", IMAGE_MEDIA_TYPES.join(", ")),
                ));
            }
            let field = format!("images[{i}].data");
            // Checked before decoding so an oversized image is never held twice.
            if image.data.len() > MAX_IMAGE_BYTES.div_ceil(3) * 4 {
                return Err(AppError::validation(
                    field,
                    format!("the image exceeds {} MiB", MAX_IMAGE_BYTES / (1024 * 1024)),
                ));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&image.data)
                .map_err(|_| AppError::validation(field.clone(), "is not valid base64"))?;
            if bytes.is_empty() {
                return Err(AppError::validation(field, "must not be empty"));
            }
            if bytes.len() > MAX_IMAGE_BYTES {
                return Err(AppError::validation(
                    field,
                    format!("the image exceeds {} MiB", MAX_IMAGE_BYTES / (1024 * 1024)),
                ));
            }
            if sniff_image(&bytes) != Some(media_type) {
                return Err(AppError::validation(
                    field,
                    format!("the bytes are not a {media_type} image"),
                ));
            }
            Ok((media_type, bytes))
        })
        .collect::<AppResult<Vec<_>>>()
        .and_then(|decoded| {
            let total: usize = decoded.iter().map(|(_, bytes)| bytes.len()).sum();
            if total > MAX_TOTAL_IMAGE_BYTES {
                return Err(AppError::validation(
                    "images",
                    format!(
                        "the images exceed {} MiB together",
                        MAX_TOTAL_IMAGE_BYTES / (1024 * 1024)
                    ),
                ));
            }
            Ok(decoded)
        })
}

/// The image type the bytes' magic number shows.
fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[async_graphql::ComplexObject]
impl Task {
    /// Final text, cost, tokens, duration, permission denials — set when the task ends.
    #[graphql(name = "result")]
    async fn result_json(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.result.clone().map(async_graphql::Json)
    }
}

pub async fn create(
    domain: &Domain,
    granted: &Granted<perm::TasksWrite>,
    session_id: Uuid,
    input: CreateTask,
) -> AppResult<Task> {
    if input.prompt.trim().is_empty() {
        return Err(AppError::validation("prompt", "must not be empty"));
    }
    if input.prompt.chars().count() > MAX_PROMPT_CHARS {
        return Err(AppError::validation(
            "prompt",
            format!("must be at most {MAX_PROMPT_CHARS} characters"),
        ));
    }
    let images = decode_images(&input.images)?;
    let session = sessions::fetch_actionable(&domain.db, granted, session_id).await?;
    if !session.state.is_active() {
        return Err(AppError::conflict(
            format!(
                "the session is {:?}; start a new session to queue prompts",
                session.state
            )
            .to_lowercase(),
        ));
    }
    let mut tx = domain.db.begin().await?;
    // Lock the session row so concurrent creates get distinct, gap-free positions, and
    // re-check its state under the lock: a stop or delete may have committed since the check
    // above.
    let locked = sqlx::query!(
        r#"SELECT state AS "state: sessions::SessionState", deleted_at, node_id FROM sessions WHERE id = $1 FOR UPDATE"#,
        session_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if locked.deleted_at.is_some() {
        return Err(AppError::not_found("session"));
    }
    if !locked.state.is_active() {
        return Err(AppError::conflict(
            format!(
                "the session is {:?}; start a new session to queue prompts",
                locked.state
            )
            .to_lowercase(),
        ));
    }
    let id = Uuid::now_v7();
    let mut task = sqlx::query_as!(
        Task,
        r#"INSERT INTO tasks (id, org_id, session_id, created_by, prompt, position)
           VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(max(position), 0) + 1 FROM tasks WHERE session_id = $3))
           RETURNING id, session_id, created_by, prompt, state AS "state: TaskState", position, result, error, created_at, started_at, finished_at,
                     0 AS "image_count!""#,
        id,
        granted.org_id,
        session_id,
        granted.user_id,
        input.prompt
    )
    .fetch_one(&mut *tx)
    .await?;
    for (position, (media_type, bytes)) in images.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO task_images (task_id, org_id, position, media_type, data) VALUES ($1, $2, $3, $4, $5)",
            id,
            granted.org_id,
            position as i32,
            media_type,
            bytes
        )
        .execute(&mut *tx)
        .await?;
    }
    task.image_count = images.len() as i32;
    audit::record(&mut tx, granted, Event::new("task.create", "task", id).details(serde_json::json!({ "session_id": session_id, "prompt_chars": input.prompt.chars().count(), "images": images.len() }))).await?;
    domain
        .bus
        .publish(&TaskEvent::Queued {
            task_id: id,
            session_id,
            org_id: granted.org_id,
            node_id: locked.node_id,
        })
        .await
        .map_err(bus_unavailable)?;
    tx.commit().await?;
    Ok(task)
}

pub async fn list(
    domain: &Domain,
    granted: &Granted<perm::TasksRead>,
    session_id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<Task>> {
    let session_granted = granted.also::<perm::SessionsRead>()?;
    sessions::get(domain, &session_granted, session_id).await?;
    let (cursor, limit) = page.parse()?;
    let rows = sqlx::query_as!(
        Task,
        r#"SELECT id, session_id, created_by, prompt, state AS "state: TaskState", position, result, error, created_at, started_at, finished_at,
                  (SELECT count(*)::int FROM task_images i WHERE i.task_id = tasks.id) AS "image_count!"
           FROM tasks WHERE session_id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR id < $3)
           ORDER BY id DESC LIMIT $4"#,
        session_id,
        granted.org_id,
        cursor,
        limit + 1
    )
    .fetch_all(&domain.db)
    .await?;
    Ok(Page::from_rows(rows, limit, |t| t.id))
}

pub async fn get(domain: &Domain, granted: &Granted<perm::TasksRead>, id: Uuid) -> AppResult<Task> {
    let task = sqlx::query_as!(
        Task,
        r#"SELECT id, session_id, created_by, prompt, state AS "state: TaskState", position, result, error, created_at, started_at, finished_at,
                  (SELECT count(*)::int FROM task_images i WHERE i.task_id = tasks.id) AS "image_count!"
           FROM tasks WHERE id = $1 AND org_id = $2"#,
        id,
        granted.org_id
    )
    .fetch_optional(&domain.db)
    .await?
    .ok_or_else(|| AppError::not_found("task"))?;
    // Visibility follows the session's.
    sessions::get(domain, &granted.also()?, task.session_id)
        .await
        .map_err(|e| {
            if e.status() == 404 {
                AppError::not_found("task")
            } else {
                e
            }
        })?;
    Ok(task)
}

/// Cancels a queued task at once; a running one is interrupted by session-manager, which then
/// marks it cancelled (the response shows it still running).
pub async fn cancel(
    domain: &Domain,
    granted: &Granted<perm::TasksWrite>,
    id: Uuid,
) -> AppResult<Task> {
    let task = get(domain, &granted.also()?, id).await?;
    sessions::fetch_actionable(&domain.db, granted, task.session_id)
        .await
        .map_err(|e| {
            if e.status() == 404 {
                AppError::not_found("task")
            } else {
                e
            }
        })?;
    let mut tx = domain.db.begin().await?;
    let state = sqlx::query_scalar!(
        r#"SELECT state AS "state: TaskState" FROM tasks WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    match state {
        TaskState::Queued => {
            sqlx::query!(
                "UPDATE tasks SET state = 'cancelled', finished_at = now() WHERE id = $1",
                id
            )
            .execute(&mut *tx)
            .await?;
        }
        TaskState::Running => {}
        done => {
            return Err(AppError::conflict(
                format!("the task already ended ({done:?})").to_lowercase(),
            ))
        }
    }
    let node_id = sqlx::query_scalar!(
        "SELECT node_id FROM sessions WHERE id = $1",
        task.session_id
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(&mut tx, granted, Event::new("task.cancel", "task", id).details(serde_json::json!({ "session_id": task.session_id, "was": format!("{state:?}").to_lowercase() }))).await?;
    domain
        .bus
        .publish(&TaskEvent::Cancel {
            task_id: id,
            session_id: task.session_id,
            org_id: granted.org_id,
            node_id,
        })
        .await
        .map_err(bus_unavailable)?;
    tx.commit().await?;
    get(domain, &granted.also()?, id).await
}

/// The new order of a session's waiting tasks: every queued task exactly once, first runs
/// next.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ReorderQueue {
    pub task_ids: Vec<Uuid>,
}

/// The session's waiting tasks in the order they will run (the running one is not listed).
pub async fn queue(
    domain: &Domain,
    granted: &Granted<perm::TasksRead>,
    session_id: Uuid,
) -> AppResult<Vec<Task>> {
    sessions::get(domain, &granted.also()?, session_id).await?;
    let tasks = sqlx::query_as!(
        Task,
        r#"SELECT id, session_id, created_by, prompt, state AS "state: TaskState", position, result, error, created_at, started_at, finished_at,
                  (SELECT count(*)::int FROM task_images i WHERE i.task_id = tasks.id) AS "image_count!"
           FROM tasks WHERE session_id = $1 AND org_id = $2 AND state = 'queued'
           ORDER BY position, created_at"#,
        session_id,
        granted.org_id
    )
    .fetch_all(&domain.db)
    .await?;
    Ok(tasks)
}

/// Puts the session's waiting tasks in the given order. The list must name every waiting
/// task once: a queue that changed meanwhile (a task started, was added or cancelled) is a
/// conflict, so a stale drag-and-drop never drops or resurrects anything.
pub async fn reorder(
    domain: &Domain,
    granted: &Granted<perm::TasksWrite>,
    session_id: Uuid,
    input: ReorderQueue,
) -> AppResult<Vec<Task>> {
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = input.task_ids.iter().find(|id| !seen.insert(**id)) {
        return Err(AppError::validation(
            "task_ids",
            format!("task {dup} is listed twice"),
        ));
    }
    sessions::fetch_actionable(&domain.db, granted, session_id).await?;
    let mut tx = domain.db.begin().await?;
    // The session row lock orders this against concurrent task creation.
    let node_id = sqlx::query_scalar!(
        "SELECT node_id FROM sessions WHERE id = $1 FOR UPDATE",
        session_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let current = sqlx::query!(
        "SELECT id, position FROM tasks WHERE session_id = $1 AND state = 'queued'
         ORDER BY position, created_at FOR UPDATE",
        session_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let waiting: std::collections::HashSet<Uuid> = current.iter().map(|t| t.id).collect();
    if let Some(stranger) = input.task_ids.iter().find(|id| !waiting.contains(id)) {
        return Err(AppError::conflict(format!(
            "task {stranger} is not waiting in this session's queue (it started, ended or belongs elsewhere); reload the queue"
        )));
    }
    if let Some(missing) = current.iter().find(|t| !seen.contains(&t.id)) {
        return Err(AppError::conflict(format!(
            "task {} joined the queue meanwhile and is missing from the new order; reload the queue",
            missing.id
        )));
    }
    // The waiting tasks keep the positions they hold between them, in the new order, so
    // the running task and later arrivals keep their place relative to the queue.
    let positions: Vec<i64> = current.iter().map(|t| t.position).collect();
    sqlx::query!(
        "UPDATE tasks SET position = new.position
         FROM unnest($1::uuid[], $2::bigint[]) AS new(id, position)
         WHERE tasks.id = new.id",
        &input.task_ids,
        &positions
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("task.reorder", "session", session_id)
            .details(serde_json::json!({ "task_ids": input.task_ids })),
    )
    .await?;
    if let Some(&first) = input.task_ids.first() {
        // "The queue changed": the owning actor re-reads it and announces the new order.
        domain
            .bus
            .publish(&TaskEvent::Queued {
                task_id: first,
                session_id,
                org_id: granted.org_id,
                node_id,
            })
            .await
            .map_err(bus_unavailable)?;
    }
    tx.commit().await?;
    queue(domain, &granted.also()?, session_id).await
}
