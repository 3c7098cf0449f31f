//! Login sessions and pending OIDC logins in Redis. Keys hold a hash of the cookie value, so a
//! Redis dump does not contain usable session ids.

use deadpool_redis::redis::AsyncCommands;
use rc_errors::{AppError, AppResult};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::Digest;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginSession {
    pub user_id: Uuid,
    /// Double-submit CSRF token bound to this session.
    pub csrf: String,
    pub created_at: i64,
}

/// State kept between the redirect to the identity provider and its callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub pkce_verifier: String,
    pub nonce: String,
    /// Same-origin path to return to after login.
    pub return_to: String,
}

#[derive(Clone)]
pub struct LoginStore {
    redis: deadpool_redis::Pool,
    prefix: String,
    ttl_secs: u64,
}

/// How long a user has to complete the identity provider's login pages.
const PENDING_TTL_SECS: u64 = 600;

fn unavailable(err: impl std::fmt::Display) -> AppError {
    AppError::unavailable("the session store", anyhow::anyhow!("{err}"))
}

fn key_hash(value: &str) -> String {
    hex::encode(sha2::Sha256::digest(value.as_bytes()))
}

/// A login session as the store names it: the hash of its cookie value. What the api keeps
/// to log out or to check a long-lived connection again, instead of the cookie itself (a
/// usable credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRef(String);

impl LoginRef {
    pub fn of(sid: &str) -> Self {
        Self(key_hash(sid))
    }
}

pub fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl LoginStore {
    pub fn new(redis: deadpool_redis::Pool, prefix: &str, ttl_secs: u64) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            ttl_secs,
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    async fn conn(&self) -> AppResult<deadpool_redis::Connection> {
        self.redis.get().await.map_err(unavailable)
    }

    fn session_key(&self, login: &LoginRef) -> String {
        format!("{}:login:{}", self.prefix, login.0)
    }

    fn pending_key(&self, state: &str) -> String {
        format!("{}:oidc:{}", self.prefix, key_hash(state))
    }

    /// Starts a login session; returns the cookie value.
    pub async fn create(&self, user_id: Uuid) -> AppResult<(String, LoginSession)> {
        let sid = random_token();
        let session = LoginSession {
            user_id,
            csrf: random_token(),
            created_at: chrono::Utc::now().timestamp(),
        };
        self.put(
            &self.session_key(&LoginRef::of(&sid)),
            &session,
            self.ttl_secs,
        )
        .await?;
        Ok((sid, session))
    }

    pub async fn get(&self, sid: &str) -> AppResult<Option<LoginSession>> {
        if sid.is_empty() || sid.len() > 100 {
            return Ok(None);
        }
        self.lookup(&LoginRef::of(sid)).await
    }

    pub async fn lookup(&self, login: &LoginRef) -> AppResult<Option<LoginSession>> {
        self.get_json(&self.session_key(login)).await
    }

    pub async fn revoke(&self, login: &LoginRef) -> AppResult<()> {
        let mut conn = self.conn().await?;
        conn.del::<_, ()>(self.session_key(login))
            .await
            .map_err(unavailable)
    }

    pub async fn put_pending(&self, state: &str, pending: &PendingLogin) -> AppResult<()> {
        self.put(&self.pending_key(state), pending, PENDING_TTL_SECS)
            .await
    }

    /// Single use: the state is deleted as it is read, so a replayed callback fails.
    pub async fn take_pending(&self, state: &str) -> AppResult<Option<PendingLogin>> {
        let mut conn = self.conn().await?;
        let raw: Option<String> = deadpool_redis::redis::cmd("GETDEL")
            .arg(self.pending_key(state))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    async fn put<T: Serialize>(&self, key: &str, value: &T, ttl: u64) -> AppResult<()> {
        let json = serde_json::to_string(value).map_err(AppError::internal)?;
        let mut conn = self.conn().await?;
        conn.set_ex::<_, _, ()>(key, json, ttl)
            .await
            .map_err(unavailable)
    }

    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> AppResult<Option<T>> {
        let mut conn = self.conn().await?;
        let raw: Option<String> = conn.get(key).await.map_err(unavailable)?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }
}
