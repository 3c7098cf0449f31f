//! Web Push notifications (docs/push.md): for each [`PushJob`] from session-manager, the
//! session owner's subscriptions in the session's organisation get one encrypted message
//! (aes128gcm, RFC 8291) signed with the installation's VAPID key (RFC 8292).
//!
//! `web-push` builds the message (encryption, VAPID JWT); the request goes out through our own
//! reqwest client (rustls), because the crate's clients are isahc (libcurl) or hyper 0.14 with
//! native-tls. A subscription the push service reports gone (404, 410) is deleted; other
//! failures are counted on the row and never retried: a late notification is worse than none,
//! and a requeued job would notify the other devices twice.

use rc_auth::{authorize, perm, Credential, RequestMeta};
use rc_config::Settings;
use rc_domain::push::{endpoint_host, PushJob};
use rc_domain::Domain;
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;
use web_push::{
    ContentEncoding, PartialVapidSignatureBuilder, SubscriptionInfo, Urgency,
    VapidSignatureBuilder, WebPushMessageBuilder,
};

/// How long a push service keeps an undelivered message (the device is offline).
const APPROVAL_TTL_SECS: u32 = 600;
const TURN_TTL_SECS: u32 = 3600;
/// Per request to a push service.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Text in a notification body; the whole encrypted payload must stay under ~4 KB.
const MAX_BODY_CHARS: usize = 240;

/// Sends the notifications. `None` from [`Pusher::new`] when push is not configured.
pub struct Pusher {
    key: PartialVapidSignatureBuilder,
    subject: String,
    client: reqwest::Client,
    domain: Domain,
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// 404/410: the subscription no longer exists; its row is deleted.
    Gone,
    Failed(String),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Gone => "gone",
            Self::Failed(_) => "failed",
        }
    }
}

struct Target {
    id: Uuid,
    endpoint: String,
    p256dh: String,
    auth: String,
}

impl Pusher {
    /// Fails on a malformed `push.vapid_private_key`, so a bad key stops the worker at start.
    pub fn new(settings: &Settings, domain: Domain) -> anyhow::Result<Option<Self>> {
        if !settings.push.enabled() {
            return Ok(None);
        }
        let key = VapidSignatureBuilder::from_base64_no_sub(
            settings.push.vapid_private_key.expose().trim(),
        )
        .map_err(|e| anyhow::anyhow!("push.vapid_private_key: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Some(Self {
            key,
            subject: settings.push.subject.clone(),
            client,
            domain,
        }))
    }

    /// Handles one job. Errors (the database is away) requeue it; send failures do not.
    pub async fn handle(&self, job: PushJob) -> anyhow::Result<()> {
        match job {
            PushJob::ApprovalRequested {
                approval_id,
                session_id,
                org_id,
            } => self.approval(approval_id, session_id, org_id).await,
            PushJob::TurnFinished {
                task_id,
                session_id,
                org_id,
                state,
            } => self.turn(task_id, session_id, org_id, &state).await,
        }
    }

    fn app_url(&self, session_id: Uuid) -> String {
        format!(
            "{}/sessions/{session_id}",
            self.domain.settings.api.public_url.trim_end_matches('/')
        )
    }

    async fn approval(
        &self,
        approval_id: Uuid,
        session_id: Uuid,
        org_id: Uuid,
    ) -> anyhow::Result<()> {
        let db = &self.domain.db;
        let Some(row) = sqlx::query!(
            r#"SELECT a.tool_name, a.input, a.state::text AS "state!", s.name, s.owner_id
               FROM approvals a JOIN sessions s ON s.id = a.session_id
               WHERE a.id = $1 AND a.org_id = $2 AND a.session_id = $3 AND s.deleted_at IS NULL"#,
            approval_id,
            org_id,
            session_id
        )
        .fetch_optional(db)
        .await?
        else {
            return Ok(());
        };
        if row.state != "pending" {
            return Ok(());
        }
        let Ok(actor) = rc_domain::login::resolve_actor(
            db,
            row.owner_id,
            Some(org_id),
            Credential::LoginSession,
            RequestMeta {
                user_agent: Some("worker (push notification)".into()),
                ..RequestMeta::default()
            },
        )
        .await
        else {
            // The owner left the organisation: nobody to tell.
            return Ok(());
        };
        // A link that decides as the owner; without one (role changed, links not configured)
        // the notification still opens the session.
        let link = match authorize::<perm::TasksWrite>(actor) {
            Ok(granted) => {
                match rc_domain::approval_links::create(&self.domain, &granted, approval_id).await {
                    Ok(link) => Some(link),
                    Err(err) => {
                        tracing::info!(%approval_id, error = ?err, "no approval link for the notification");
                        None
                    }
                }
            }
            Err(_) => None,
        };
        let payload = json!({
            "type": "approval_requested",
            "title": format!("Claude asks to use {}", row.tool_name),
            "body": truncate(&format!("{}: {}", row.name, summary(&row.tool_name, &row.input))),
            "tag": format!("approval-{approval_id}"),
            "url": self.app_url(session_id),
            "session_id": session_id,
            "approval_id": approval_id,
            "approve_url": link.as_ref().map(|l| l.url.clone()),
            "approve_expires_at": link.as_ref().map(|l| l.expires_at),
        });
        self.send_all(
            org_id,
            row.owner_id,
            &payload,
            APPROVAL_TTL_SECS,
            Urgency::High,
        )
        .await
    }

    async fn turn(
        &self,
        task_id: Uuid,
        session_id: Uuid,
        org_id: Uuid,
        state: &str,
    ) -> anyhow::Result<()> {
        let db = &self.domain.db;
        let Some(row) = sqlx::query!(
            "SELECT s.name, s.owner_id, t.prompt FROM tasks t JOIN sessions s ON s.id = t.session_id
             WHERE t.id = $1 AND t.org_id = $2 AND t.session_id = $3 AND s.deleted_at IS NULL",
            task_id,
            org_id,
            session_id
        )
        .fetch_optional(db)
        .await?
        else {
            return Ok(());
        };
        let title = match state {
            "succeeded" => "Claude finished",
            "failed" => "Claude's turn failed",
            "cancelled" => "Claude's turn was cancelled",
            _ => "Claude's turn ended",
        };
        let payload = json!({
            "type": "turn_finished",
            "title": title,
            "body": truncate(&format!("{}: {}", row.name, row.prompt)),
            "tag": format!("turn-{task_id}"),
            "url": self.app_url(session_id),
            "session_id": session_id,
            "task_id": task_id,
            "state": state,
        });
        self.send_all(
            org_id,
            row.owner_id,
            &payload,
            TURN_TTL_SECS,
            Urgency::Normal,
        )
        .await
    }

    async fn send_all(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        payload: &serde_json::Value,
        ttl: u32,
        urgency: Urgency,
    ) -> anyhow::Result<()> {
        let db = &self.domain.db;
        let targets = sqlx::query_as!(
            Target,
            "SELECT id, endpoint, p256dh, auth FROM push_subscriptions
             WHERE org_id = $1 AND user_id = $2",
            org_id,
            user_id
        )
        .fetch_all(db)
        .await?;
        let body = serde_json::to_vec(payload)?;
        for target in targets {
            let outcome = self.send(&target, &body, ttl, urgency).await;
            metrics::counter!("rc_push_sent_total", "outcome" => outcome.label()).increment(1);
            match &outcome {
                Outcome::Delivered => {
                    sqlx::query!(
                        "UPDATE push_subscriptions SET last_success_at = now(), failure_count = 0 WHERE id = $1",
                        target.id
                    )
                    .execute(db)
                    .await?;
                }
                Outcome::Gone => {
                    tracing::info!(subscription = %target.id, host = %endpoint_host(&target.endpoint), "push subscription gone, deleted");
                    sqlx::query!("DELETE FROM push_subscriptions WHERE id = $1", target.id)
                        .execute(db)
                        .await?;
                }
                Outcome::Failed(why) => {
                    tracing::warn!(subscription = %target.id, host = %endpoint_host(&target.endpoint), %why, "push failed");
                    sqlx::query!(
                        "UPDATE push_subscriptions SET failure_count = failure_count + 1 WHERE id = $1",
                        target.id
                    )
                    .execute(db)
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// One encrypted, VAPID-signed message to one subscription.
    async fn send(&self, target: &Target, body: &[u8], ttl: u32, urgency: Urgency) -> Outcome {
        let info = SubscriptionInfo::new(
            target.endpoint.as_str(),
            target.p256dh.as_str(),
            target.auth.as_str(),
        );
        // The audience is the push service's origin, port included (RFC 8292 §2).
        let Ok(audience) =
            url::Url::parse(&target.endpoint).map(|u| u.origin().ascii_serialization())
        else {
            return Outcome::Failed("the endpoint is not a URL".into());
        };
        let mut signature = self.key.clone().add_sub_info(&info);
        signature.add_claim("sub", self.subject.as_str());
        signature.add_claim("aud", audience);
        let message = signature.build().and_then(|signature| {
            let mut message = WebPushMessageBuilder::new(&info);
            message.set_payload(ContentEncoding::Aes128Gcm, body);
            message.set_vapid_signature(signature);
            message.set_ttl(ttl);
            message.set_urgency(urgency);
            message.build()
        });
        let message = match message {
            Ok(message) => message,
            Err(err) => return Outcome::Failed(format!("cannot build the message: {err}")),
        };
        let request = web_push::request_builder::build_request::<Vec<u8>>(message);
        let mut outbound = self.client.post(request.uri().to_string());
        for (name, value) in request.headers() {
            outbound = outbound.header(name.as_str(), value.as_bytes());
        }
        match outbound.body(request.into_body()).send().await {
            Ok(response) => match response.status().as_u16() {
                200..=299 => Outcome::Delivered,
                404 | 410 => Outcome::Gone,
                status => {
                    let text = response.text().await.unwrap_or_default();
                    Outcome::Failed(format!("{status}: {}", truncate(&text)))
                }
            },
            Err(err) => Outcome::Failed(err.to_string()),
        }
    }
}

/// A one-line description of a tool call: the command for shells, else the input as JSON.
fn summary(tool: &str, input: &serde_json::Value) -> String {
    if let Some(command) = input.get("command").and_then(|c| c.as_str()) {
        return command.to_owned();
    }
    if let Some(path) = input.get("file_path").and_then(|c| c.as_str()) {
        return format!("{tool} {path}");
    }
    input.to_string()
}

fn truncate(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_BODY_CHARS).collect();
    if text.chars().count() > MAX_BODY_CHARS {
        out.push('…');
    }
    out
}
