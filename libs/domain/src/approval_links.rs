//! Signed approval links: a one-tap decision for a notification or a phone, without a login.
//!
//! A link carries a self-contained token, `base64url(JSON claims) "." base64url(HMAC-SHA256)`.
//! The claims name the approval, its organisation, the user who minted the link (the link
//! decides as them), an expiry (`approvals.link_ttl_secs`), a random nonce and the id of the
//! signing key. Keys come from `approvals.link_keys`: the first signs, every listed key
//! verifies, so a key is rotated by putting a new one first and dropping the old one once
//! `link_ttl_secs` have passed. Without configured keys a random per-process key is used: the
//! links then die with the process and do not work across several api instances, which is
//! why the `prod` profile refuses to mint without keys.
//!
//! The only server-side state is `approval_link_uses`: the nonce of each link that decided.
//! Deciding inserts it in a transaction that stays open around the one
//! [`approvals::decide`] (so first-decision-wins, audit and delivery are shared) and commits
//! only when the decision succeeded — a link is consumed exactly when it decides, and a
//! concurrent second use waits on the nonce's key and then finds it taken. At use the minting
//! user's membership is looked up again, so a link stops working when its author loses the
//! right to act on the session.
//!
//! Tokens are credentials: they are never logged, and nothing here puts them in an error.

use crate::approvals::{
    self, ensure_pending, fetch, not_found_as_approval, AlwaysScope, Approval, Decide, Via,
};
use crate::audit::{self, Event};
use crate::{login, sessions, Domain};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rc_auth::{perm, Credential, Granted, RequestMeta};
use rc_config::{LinkKey, Profile, Settings};
use rc_errors::{AppError, AppResult, ErrorCode};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::OnceLock;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Longer input is not a token this code issued (ours are about 300 characters).
pub const MAX_TOKEN_LEN: usize = 1024;
/// Shortest accepted configured secret: HMAC-SHA256 wants at least 256 bits of key.
pub const MIN_SECRET_LEN: usize = 32;
/// Key id of the random per-process key used when no keys are configured.
pub const PROCESS_KEY_ID: &str = "process";
/// Domain separation: a MAC made for links is never valid for anything else signed with the
/// same secret, and vice versa.
const MAC_CONTEXT: &[u8] = b"rc-approval-link.v1.";

/// What a minted link looks like to its creator.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ApprovalLink {
    /// `{api.public_url}/approve/{token}`; anyone holding it can decide once, until
    /// `expires_at`, as the user who created it. Treat it like a password.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// The signed content of a link. Short field names keep the URL short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkClaims {
    #[serde(rename = "a")]
    pub approval_id: Uuid,
    #[serde(rename = "o")]
    pub org_id: Uuid,
    /// The user the link decides as.
    #[serde(rename = "u")]
    pub user_id: Uuid,
    /// Unix seconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
    /// 128 random bits, base64url; the link's identity for single use.
    #[serde(rename = "n")]
    pub nonce: String,
    #[serde(rename = "k")]
    pub key_id: String,
}

impl LinkClaims {
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.expires_at, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// Why a link cannot be used. The page shows each with its own status and wording.
#[derive(Debug)]
pub enum LinkError {
    /// Not something this installation issues (cut off or garbled when copied).
    Malformed,
    /// Well-formed, but no current key signed it: tampered with, or signed with a key that
    /// has since been removed.
    BadSignature,
    Expired {
        at: DateTime<Utc>,
    },
    /// The link already decided once.
    Used {
        at: DateTime<Utc>,
    },
    /// Everything else, from the catalogue: the approval is gone (404), was decided another
    /// way (409), the link's author may no longer act (403), a dependency is down (503).
    App(AppError),
}

impl LinkError {
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed | Self::BadSignature => 400,
            Self::Expired { .. } => 410,
            Self::Used { .. } => 409,
            Self::App(err) => err.status(),
        }
    }

    /// Safe to show: never contains the token.
    pub fn message(&self) -> String {
        match self {
            Self::Malformed => {
                "This link is malformed. It may have been cut off when it was copied; open it again from the original message.".into()
            }
            Self::BadSignature => {
                "This link is not valid: its signature does not match. It was altered, or it was signed with a key that is no longer accepted.".into()
            }
            Self::Expired { at } => format!(
                "This link expired at {} UTC. Decide in the app, or ask for a new link.",
                at.format("%Y-%m-%d %H:%M:%S")
            ),
            Self::Used { at } => format!(
                "This link was already used (at {} UTC); a link decides only once.",
                at.format("%Y-%m-%d %H:%M:%S")
            ),
            Self::App(err) => err.message.clone(),
        }
    }
}

impl From<AppError> for LinkError {
    fn from(err: AppError) -> Self {
        Self::App(err)
    }
}

impl From<sqlx::Error> for LinkError {
    fn from(err: sqlx::Error) -> Self {
        Self::App(err.into())
    }
}

/// The keys links are signed and verified with; the first signs.
pub struct LinkKeys {
    keys: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for LinkKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("LinkKeys").field("ids", &ids).finish()
    }
}

impl LinkKeys {
    pub fn from_settings(settings: &Settings) -> AppResult<Self> {
        Self::configured(settings.profile, &settings.approvals.link_keys)
    }

    /// The configured keys or, outside `prod`, the per-process key when none are configured.
    pub fn configured(profile: Profile, keys: &[LinkKey]) -> AppResult<Self> {
        if keys.is_empty() {
            if profile == Profile::Prod {
                return Err(AppError::new(
                    ErrorCode::FeatureDisabled,
                    "signed approval links are not configured: set approvals.link_keys (a random per-process key is only used outside the prod profile)",
                ));
            }
            return Ok(Self {
                keys: vec![(PROCESS_KEY_ID.to_owned(), process_key().to_vec())],
            });
        }
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if key.id.trim().is_empty() || key.secret.expose().len() < MIN_SECRET_LEN {
                return Err(AppError::new(
                    ErrorCode::FeatureDisabled,
                    format!(
                        "signed approval links are misconfigured: every approvals.link_keys entry needs an id and a secret of at least {MIN_SECRET_LEN} characters (check key '{}')",
                        key.id
                    ),
                ));
            }
            out.push((key.id.clone(), key.secret.expose().as_bytes().to_vec()));
        }
        Ok(Self { keys: out })
    }

    fn find(&self, id: &str) -> Option<&[u8]> {
        self.keys
            .iter()
            .find(|(key_id, _)| key_id == id)
            .map(|(_, secret)| secret.as_slice())
    }
}

/// Generated once per process: every link dies with the process, and other api instances
/// cannot verify it. Fine for one development process; `prod` requires configured keys.
fn process_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(rand::random)
}

fn mac(secret: &[u8], payload_b64: &str) -> AppResult<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret).map_err(AppError::internal)?;
    mac.update(MAC_CONTEXT);
    mac.update(payload_b64.as_bytes());
    Ok(mac)
}

/// Signs a new link (fresh nonce, the first key) and returns the token with its claims.
/// Pure apart from the nonce; callers choose the expiry (tests pass one in the past).
pub fn sign(
    keys: &LinkKeys,
    approval_id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
) -> AppResult<(String, LinkClaims)> {
    let (key_id, secret) = keys
        .keys
        .first()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no approval link key")))?;
    let claims = LinkClaims {
        approval_id,
        org_id,
        user_id,
        expires_at: expires_at.timestamp(),
        nonce: B64.encode(rand::random::<[u8; 16]>()),
        key_id: key_id.clone(),
    };
    let payload = B64.encode(serde_json::to_vec(&claims).map_err(AppError::internal)?);
    let tag = B64.encode(mac(secret, &payload)?.finalize().into_bytes());
    Ok((format!("{payload}.{tag}"), claims))
}

/// Checks a token's form, signature (constant-time, with the key its id names) and expiry
/// at `now`. Says nothing about single use; that needs the database.
pub fn verify(keys: &LinkKeys, token: &str, now: DateTime<Utc>) -> Result<LinkClaims, LinkError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(LinkError::Malformed);
    }
    let (payload_b64, tag_b64) = token.split_once('.').ok_or(LinkError::Malformed)?;
    let payload = B64.decode(payload_b64).map_err(|_| LinkError::Malformed)?;
    let tag = B64.decode(tag_b64).map_err(|_| LinkError::Malformed)?;
    // Parsing before the MAC check is needed to find the key id; the input is bounded and
    // nothing in it is trusted until the MAC matches.
    let claims: LinkClaims = serde_json::from_slice(&payload).map_err(|_| LinkError::Malformed)?;
    let secret = keys.find(&claims.key_id).ok_or(LinkError::BadSignature)?;
    mac(secret, payload_b64)?
        .verify_slice(&tag)
        .map_err(|_| LinkError::BadSignature)?;
    if now.timestamp() >= claims.expires_at {
        return Err(LinkError::Expired {
            at: claims.expires_at(),
        });
    }
    Ok(claims)
}

/// Mints a link for a pending request. Needs what deciding needs: `TasksWrite` and the right
/// to act on the session (its owner, or an admin). Audited as `approval.link_create`.
pub async fn create(
    domain: &Domain,
    granted: &Granted<perm::TasksWrite>,
    approval_id: Uuid,
) -> AppResult<ApprovalLink> {
    let keys = LinkKeys::from_settings(&domain.settings)?;
    let approval = fetch(&domain.db, granted.org_id, approval_id).await?;
    sessions::fetch_actionable(&domain.db, granted, approval.session_id)
        .await
        .map_err(not_found_as_approval)?;
    ensure_pending(&approval)?;
    let ttl = i64::try_from(domain.settings.approvals.link_ttl_secs).unwrap_or(i64::MAX / 4);
    let expires_at = Utc::now() + chrono::Duration::seconds(ttl);
    let (token, claims) = sign(
        &keys,
        approval.id,
        granted.org_id,
        granted.user_id,
        expires_at,
    )?;
    let mut tx = domain.db.begin().await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("approval.link_create", "approval", approval.id).details(serde_json::json!({
            "session_id": approval.session_id,
            "tool_name": approval.tool_name,
            // The nonce identifies the link (it is not the secret part of the token).
            "link_id": claims.nonce,
            "key_id": claims.key_id,
            "expires_at": claims.expires_at(),
        })),
    )
    .await?;
    tx.commit().await?;
    let base = domain.settings.api.public_url.trim_end_matches('/');
    Ok(ApprovalLink {
        url: format!("{base}/approve/{token}"),
        expires_at: claims.expires_at(),
    })
}

/// What the decision page shows.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub approval: Approval,
    pub session_name: String,
    /// Who the link decides as.
    pub decider_email: String,
    pub link_expires_at: DateTime<Utc>,
}

/// Reads a link without using it (the page a GET shows). Fails as using it would: bad or
/// expired link, already used, author no longer allowed, request no longer pending.
pub async fn inspect(
    domain: &Domain,
    token: &str,
    meta: RequestMeta,
) -> Result<LinkView, LinkError> {
    let claims = verify(
        &LinkKeys::from_settings(&domain.settings)?,
        token,
        Utc::now(),
    )?;
    if let Some(at) = used_at(&domain.db, &claims.nonce).await? {
        return Err(LinkError::Used { at });
    }
    let approval = fetch(&domain.db, claims.org_id, claims.approval_id).await?;
    let granted = link_actor(domain, &claims, meta).await?;
    let session = sessions::fetch_actionable(&domain.db, &granted, approval.session_id)
        .await
        .map_err(not_found_as_approval)?;
    ensure_pending(&approval)?;
    Ok(LinkView {
        approval,
        session_name: session.name,
        decider_email: granted.email.clone(),
        link_expires_at: claims.expires_at(),
    })
}

/// Uses a link: decides as its author, through the one [`approvals::decide`] with
/// [`Via::Link`], and consumes the link if (and only if) the decision was made.
pub async fn decide(
    domain: &Domain,
    token: &str,
    input: Decide,
    meta: RequestMeta,
) -> Result<Approval, LinkError> {
    let claims = verify(
        &LinkKeys::from_settings(&domain.settings)?,
        token,
        Utc::now(),
    )?;
    if input.scope == Some(AlwaysScope::Organization) {
        return Err(AppError::validation(
            "scope",
            "a link decides for this session only; allow for the organization in the app",
        )
        .into());
    }
    // Checked before the nonce insert, whose foreign key would otherwise turn a deleted
    // request into a database error.
    fetch(&domain.db, claims.org_id, claims.approval_id).await?;
    let granted = link_actor(domain, &claims, meta).await?;
    let mut tx = domain.db.begin().await?;
    let inserted = sqlx::query!(
        r#"INSERT INTO approval_link_uses (nonce, approval_id, org_id, user_id, link_expires_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (nonce) DO NOTHING"#,
        claims.nonce,
        claims.approval_id,
        claims.org_id,
        claims.user_id,
        claims.expires_at()
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        drop(tx);
        let at = used_at(&domain.db, &claims.nonce)
            .await?
            .unwrap_or_else(Utc::now);
        return Err(LinkError::Used { at });
    }
    // The nonce row stays uncommitted (and its key locked) while the decision is made: a
    // failed decision leaves the link usable, a successful one consumes it.
    let decided = approvals::decide(domain, &granted, claims.approval_id, input, Via::Link).await?;
    tx.commit().await?;
    Ok(decided)
}

/// The link's author acting in the link's organisation, with their role as it is now.
async fn link_actor(
    domain: &Domain,
    claims: &LinkClaims,
    meta: RequestMeta,
) -> Result<Granted<perm::TasksWrite>, LinkError> {
    // A link is a bearer credential issued from the author's login; `via: link` in the
    // decision and its audit row tells it apart from a decision in the app.
    let actor = login::resolve_actor(
        &domain.db,
        claims.user_id,
        Some(claims.org_id),
        Credential::LoginSession,
        meta,
    )
    .await
    .map_err(|err| {
        if err.status() == 404 {
            AppError::forbidden(
                "the person who created this link is no longer a member of the organization",
            )
        } else {
            err
        }
    })?;
    rc_auth::authorize::<perm::TasksWrite>(actor).map_err(|_| {
        LinkError::App(AppError::forbidden(
            "the role of the person who created this link no longer allows deciding permission requests",
        ))
    })
}

async fn used_at(db: &sqlx::PgPool, nonce: &str) -> AppResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar!(
        "SELECT used_at FROM approval_link_uses WHERE nonce = $1",
        nonce
    )
    .fetch_optional(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rc_config::Secret;

    fn key(id: &str, fill: char) -> LinkKey {
        LinkKey {
            id: id.into(),
            secret: Secret::new(fill.to_string().repeat(MIN_SECRET_LEN)),
        }
    }

    fn keys(list: &[LinkKey]) -> LinkKeys {
        LinkKeys::configured(Profile::Prod, list).unwrap()
    }

    fn mint(keys: &LinkKeys, expires_at: DateTime<Utc>) -> (String, LinkClaims) {
        sign(
            keys,
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            expires_at,
        )
        .unwrap()
    }

    #[test]
    fn a_signed_token_verifies_until_its_expiry() {
        let keys = keys(&[key("k1", 'a')]);
        let now = Utc::now();
        let (token, claims) = mint(&keys, now + chrono::Duration::seconds(300));
        assert_eq!(verify(&keys, &token, now).unwrap(), claims);
        let later = now + chrono::Duration::seconds(300);
        assert!(matches!(
            verify(&keys, &token, later),
            Err(LinkError::Expired { .. })
        ));
    }

    #[test]
    fn nonces_are_unique() {
        let keys = keys(&[key("k1", 'a')]);
        let exp = Utc::now() + chrono::Duration::seconds(60);
        let (_, a) = mint(&keys, exp);
        let (_, b) = mint(&keys, exp);
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(B64.decode(&a.nonce).unwrap().len(), 16);
    }

    #[test]
    fn tampering_is_detected() {
        let keys = keys(&[key("k1", 'a')]);
        let now = Utc::now();
        let (token, claims) = mint(&keys, now + chrono::Duration::seconds(300));
        let (payload, tag) = token.split_once('.').unwrap();
        // Other claims under the original tag.
        let forged = LinkClaims {
            user_id: Uuid::now_v7(),
            ..claims
        };
        let forged = B64.encode(serde_json::to_vec(&forged).unwrap());
        assert!(matches!(
            verify(&keys, &format!("{forged}.{tag}"), now),
            Err(LinkError::BadSignature)
        ));
        // A changed tag.
        let mut bad_tag = B64.decode(tag).unwrap();
        bad_tag[0] ^= 1;
        let bad = format!("{payload}.{}", B64.encode(bad_tag));
        assert!(matches!(
            verify(&keys, &bad, now),
            Err(LinkError::BadSignature)
        ));
        for garbage in ["", "abc", "a.b", payload, &"x".repeat(2000)] {
            assert!(
                matches!(verify(&keys, garbage, now), Err(LinkError::Malformed)),
                "{garbage}"
            );
        }
    }

    #[test]
    fn rotation_first_key_signs_every_key_verifies() {
        let now = Utc::now();
        let exp = now + chrono::Duration::seconds(300);
        let old = keys(&[key("old", 'a')]);
        let (token, claims) = mint(&old, exp);
        assert_eq!(claims.key_id, "old");
        let rotated = keys(&[key("new", 'b'), key("old", 'a')]);
        assert!(verify(&rotated, &token, now).is_ok());
        let (fresh, fresh_claims) = mint(&rotated, exp);
        assert_eq!(fresh_claims.key_id, "new");
        let retired = keys(&[key("new", 'b')]);
        assert!(verify(&retired, &fresh, now).is_ok());
        assert!(matches!(
            verify(&retired, &token, now),
            Err(LinkError::BadSignature)
        ));
        // Same id, different secret: a replaced key does not verify old links.
        let replaced = keys(&[key("old", 'c')]);
        assert!(matches!(
            verify(&replaced, &token, now),
            Err(LinkError::BadSignature)
        ));
    }

    #[test]
    fn prod_needs_configured_keys_of_sufficient_length() {
        let err = LinkKeys::configured(Profile::Prod, &[]).unwrap_err();
        assert_eq!(err.code, ErrorCode::FeatureDisabled);
        assert!(
            err.message.contains("approvals.link_keys"),
            "{}",
            err.message
        );
        let short = LinkKey {
            id: "k".into(),
            secret: Secret::new("short"),
        };
        assert!(LinkKeys::configured(Profile::Dev, &[short]).is_err());
        // Dev without keys: one stable per-process key.
        let a = LinkKeys::configured(Profile::Dev, &[]).unwrap();
        let b = LinkKeys::configured(Profile::Dev, &[]).unwrap();
        let (token, _) = mint(&a, Utc::now() + chrono::Duration::seconds(60));
        assert!(verify(&b, &token, Utc::now()).is_ok());
    }

    #[test]
    fn debug_output_does_not_show_secrets() {
        let keys = keys(&[key("k1", 'z')]);
        let shown = format!("{keys:?}");
        assert!(shown.contains("k1") && !shown.contains("zzzz"), "{shown}");
    }
}
