//! Web Push (docs/push.md): the browser subscriptions of a user in an organisation, the VAPID
//! public key browsers subscribe with, and the jobs that make the worker send notifications.
//!
//! Everyone in an organisation (viewers included) manages their own subscriptions; nobody sees
//! or removes anyone else's. Notifications go to the session's owner (see `PushJob`).

use crate::audit::{self, Event};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use rc_auth::{perm, Granted};
use rc_config::{Profile, Settings};
use rc_errors::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// Longest accepted endpoint URL (push services use a few hundred characters).
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// What a browser needs to subscribe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PushConfig {
    /// False when the installation has no VAPID key (`push.vapid_private_key`).
    pub enabled: bool,
    /// The VAPID public key (uncompressed P-256 point, base64url): the
    /// `applicationServerKey` of `pushManager.subscribe`. Null when disabled.
    #[schema(required = true)]
    pub public_key: Option<String>,
}

/// The browser's keys of a subscription, as `PushSubscription.toJSON()` gives them.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
pub struct PushKeys {
    /// The browser's P-256 public key, base64url (65 bytes, uncompressed).
    #[graphql(name = "p256dh")]
    pub p256dh: String,
    /// The authentication secret, base64url (16 bytes).
    pub auth: String,
}

/// A browser subscription: the body may be `PushSubscription.toJSON()` as it is.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
pub struct SubscribePush {
    /// The push service URL of this browser.
    pub endpoint: String,
    pub keys: PushKeys,
    /// Sent by browsers; ignored (the push service reports expired subscriptions as gone).
    #[serde(default, rename = "expirationTime")]
    #[graphql(name = "expirationTime")]
    pub expiration_time: Option<f64>,
}

/// Removes one of the caller's subscriptions.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
pub struct UnsubscribePush {
    pub endpoint: String,
}

/// A stored subscription (its keys are not shown again).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PushSubscription {
    pub id: Uuid,
    pub endpoint: String,
    pub created_at: DateTime<Utc>,
    /// The last notification the push service accepted.
    #[schema(required = true)]
    pub last_success_at: Option<DateTime<Utc>>,
    /// Failed sends since the last success.
    pub failure_count: i32,
}

/// The VAPID public key for a private key (raw P-256 scalar, base64url): the uncompressed
/// point, base64url without padding.
pub fn public_key(private_key_b64: &str) -> AppResult<String> {
    let raw = B64
        .decode(private_key_b64.trim().trim_end_matches('='))
        .map_err(|_| bad_key("is not base64url"))?;
    let secret = p256::SecretKey::from_slice(&raw)
        .map_err(|_| bad_key("is not a P-256 private key (32 bytes)"))?;
    let point =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    Ok(B64.encode(point.as_bytes()))
}

fn bad_key(why: &str) -> AppError {
    AppError::internal(anyhow::anyhow!("push.vapid_private_key {why}"))
}

/// Whether push is on, and the key browsers subscribe with.
pub fn config(settings: &Settings, _granted: &Granted<perm::OrgRead>) -> AppResult<PushConfig> {
    if !settings.push.enabled() {
        return Ok(PushConfig {
            enabled: false,
            public_key: None,
        });
    }
    Ok(PushConfig {
        enabled: true,
        public_key: Some(public_key(settings.push.vapid_private_key.expose())?),
    })
}

fn decoded_len(field: &str, value: &str, len: usize, what: &str) -> AppResult<()> {
    let bytes = B64
        .decode(value.trim_end_matches('='))
        .map_err(|_| AppError::validation(field, "must be base64url"))?;
    if bytes.len() != len {
        return Err(AppError::validation(field, format!("must be {what}")));
    }
    Ok(())
}

/// Checks a subscription's fields. Endpoints are called by the worker, so outside the `dev`
/// profile they must be `https` on a named host (no IP literals, no `localhost`): push services
/// are public HTTPS hosts, and this keeps the worker from being pointed at internal addresses.
pub fn validate(profile: Profile, input: &SubscribePush) -> AppResult<()> {
    if input.endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(AppError::validation(
            "endpoint",
            format!("must be at most {MAX_ENDPOINT_LEN} characters"),
        ));
    }
    let url = url::Url::parse(&input.endpoint)
        .map_err(|e| AppError::validation("endpoint", format!("is not a URL: {e}")))?;
    let host = url.host();
    if host.is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(AppError::validation(
            "endpoint",
            "must be an http(s) URL with a host and no credentials",
        ));
    }
    match (profile, url.scheme()) {
        (_, "https") | (Profile::Dev, "http") => {}
        _ => {
            return Err(AppError::validation(
                "endpoint",
                "must be an https URL of a push service",
            ))
        }
    }
    if profile != Profile::Dev {
        let named =
            matches!(host, Some(url::Host::Domain(d)) if !d.eq_ignore_ascii_case("localhost"));
        if !named {
            return Err(AppError::validation(
                "endpoint",
                "must name a push service's host, not an address",
            ));
        }
    }
    decoded_len(
        "keys.p256dh",
        &input.keys.p256dh,
        65,
        "an uncompressed P-256 public key (65 bytes)",
    )?;
    if B64
        .decode(input.keys.p256dh.trim_end_matches('='))
        .ok()
        .and_then(|b| p256::PublicKey::from_sec1_bytes(&b).ok())
        .is_none()
    {
        return Err(AppError::validation(
            "keys.p256dh",
            "is not a point on the P-256 curve",
        ));
    }
    decoded_len("keys.auth", &input.keys.auth, 16, "16 bytes")?;
    Ok(())
}

/// Stores (or replaces: the endpoint is unique) a subscription of the caller in the selected
/// organisation. Audited as `push.subscribe` (with the endpoint's host only).
pub async fn subscribe(
    db: &PgPool,
    settings: &Settings,
    granted: &Granted<perm::OrgRead>,
    input: SubscribePush,
) -> AppResult<PushSubscription> {
    validate(settings.profile, &input)?;
    let mut tx = db.begin().await?;
    let row = sqlx::query_as!(
        PushSubscription,
        "INSERT INTO push_subscriptions (id, org_id, user_id, endpoint, p256dh, auth)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (endpoint) DO UPDATE SET org_id = EXCLUDED.org_id, user_id = EXCLUDED.user_id,
             p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, created_at = now(),
             last_success_at = NULL, failure_count = 0
         RETURNING id, endpoint, created_at, last_success_at, failure_count",
        Uuid::now_v7(),
        granted.org_id,
        granted.user_id,
        input.endpoint,
        input.keys.p256dh.trim_end_matches('='),
        input.keys.auth.trim_end_matches('='),
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("push.subscribe", "push_subscription", row.id)
            .details(serde_json::json!({ "host": endpoint_host(&row.endpoint) })),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Removes the caller's subscription with this endpoint in the selected organisation (404
/// when there is none: another user's subscription is never touched).
pub async fn unsubscribe(
    db: &PgPool,
    granted: &Granted<perm::OrgRead>,
    input: UnsubscribePush,
) -> AppResult<()> {
    let mut tx = db.begin().await?;
    let id = sqlx::query_scalar!(
        "DELETE FROM push_subscriptions WHERE endpoint = $1 AND org_id = $2 AND user_id = $3
         RETURNING id",
        input.endpoint,
        granted.org_id,
        granted.user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found("push subscription"))?;
    audit::record(
        &mut tx,
        granted,
        Event::new("push.unsubscribe", "push_subscription", id)
            .details(serde_json::json!({ "host": endpoint_host(&input.endpoint) })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The caller's subscriptions in the selected organisation, newest first.
pub async fn list(
    db: &PgPool,
    granted: &Granted<perm::OrgRead>,
) -> AppResult<Vec<PushSubscription>> {
    Ok(sqlx::query_as!(
        PushSubscription,
        "SELECT id, endpoint, created_at, last_success_at, failure_count
         FROM push_subscriptions WHERE org_id = $1 AND user_id = $2 ORDER BY id DESC",
        granted.org_id,
        granted.user_id
    )
    .fetch_all(db)
    .await?)
}

/// The host of an endpoint, for logs and the audit trail (the full URL is a capability).
pub fn endpoint_host(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Something to tell a session's owner, published by session-manager after the event that
/// caused it is committed; the worker sends the notifications (`job.push.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum PushJob {
    /// Claude asks for permission: the notification carries a one-tap approval link.
    ApprovalRequested {
        approval_id: Uuid,
        session_id: Uuid,
        org_id: Uuid,
    },
    /// A turn (task) ended: succeeded, failed or cancelled.
    TurnFinished {
        task_id: Uuid,
        session_id: Uuid,
        org_id: Uuid,
        state: String,
    },
}

impl rc_bus::Message for PushJob {
    fn routing_key(&self) -> String {
        match self {
            Self::ApprovalRequested { .. } => "job.push.approval_requested".into(),
            Self::TurnFinished { .. } => "job.push.turn_finished".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// web-push's own test key and its public key.
    const PRIVATE: &str = "IQ9Ur0ykXoHS9gzfYX0aBjy9lvdrjx_PFUXmie9YRcY";

    fn keys() -> PushKeys {
        let public = public_key(PRIVATE).unwrap();
        PushKeys {
            p256dh: public,
            auth: B64.encode([7u8; 16]),
        }
    }

    fn sub(endpoint: &str, keys: PushKeys) -> SubscribePush {
        SubscribePush {
            endpoint: endpoint.into(),
            keys,
            expiration_time: None,
        }
    }

    #[test]
    fn the_public_key_is_the_uncompressed_point() {
        let public = B64.decode(public_key(PRIVATE).unwrap()).unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(public[0], 4);
        assert!(public_key("not base64!").is_err());
        assert!(
            public_key(&B64.encode([0u8; 32])).is_err(),
            "zero is no key"
        );
    }

    #[test]
    fn validation_names_the_field_and_prod_wants_public_https_hosts() {
        let ok = sub("https://push.example.com/send/abc", keys());
        validate(Profile::Prod, &ok).unwrap();
        let field = |r: AppResult<()>| r.unwrap_err().field.unwrap();
        assert_eq!(
            field(validate(Profile::Prod, &sub("nope", keys()))),
            "endpoint"
        );
        for endpoint in [
            "http://push.example.com/x",
            "https://127.0.0.1/x",
            "https://localhost/x",
            "https://[::1]/x",
            "https://user:pw@push.example.com/x",
        ] {
            assert_eq!(
                field(validate(Profile::Prod, &sub(endpoint, keys()))),
                "endpoint",
                "{endpoint}"
            );
        }
        validate(Profile::Dev, &sub("http://127.0.0.1:9/x", keys())).unwrap();
        let mut bad = keys();
        bad.p256dh = B64.encode([4u8; 65]);
        assert_eq!(
            field(validate(Profile::Dev, &sub("https://a.example/x", bad))),
            "keys.p256dh"
        );
        let mut bad = keys();
        bad.auth = B64.encode([1u8; 8]);
        assert_eq!(
            field(validate(Profile::Dev, &sub("https://a.example/x", bad))),
            "keys.auth"
        );
    }

    #[test]
    fn jobs_route_to_the_worker_queue() {
        let job = PushJob::TurnFinished {
            task_id: Uuid::nil(),
            session_id: Uuid::nil(),
            org_id: Uuid::nil(),
            state: "succeeded".into(),
        };
        assert_eq!(rc_bus::Message::routing_key(&job), "job.push.turn_finished");
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["job"], "turn_finished");
    }
}
