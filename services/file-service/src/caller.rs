//! Who is asking: the api authenticates and authorises the user, then calls file-service with
//! the shared internal token and headers naming the organisation, session, user and right.
//! file-service trusts those headers only behind the token, and still checks in Postgres that
//! the session belongs to the organisation (see `sessions`).

use crate::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use rc_errors::AppError;
use std::future::{ready, Ready};
use uuid::Uuid;

pub const ORG_HEADER: &str = "x-rc-org-id";
pub const SESSION_HEADER: &str = "x-rc-session-id";
pub const USER_HEADER: &str = "x-rc-user-id";
pub const RIGHT_HEADER: &str = "x-rc-right";

/// What the api allowed the user to do with the session's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Read,
    Write,
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub org_id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub right: Right,
}

impl Caller {
    /// Changes need the write right.
    pub fn require_write(&self) -> Result<(), AppError> {
        match self.right {
            Right::Write => Ok(()),
            Right::Read => Err(AppError::forbidden(
                "changing files needs the write right on the session",
            )),
        }
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller(req))
    }
}

fn caller(req: &HttpRequest) -> Result<Caller, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing")))?;
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| AppError::unauthenticated("the internal bearer token is missing"))?;
    if !constant_time_eq(
        presented.as_bytes(),
        state.settings.internal_token.expose().as_bytes(),
    ) {
        return Err(AppError::unauthenticated(
            "the internal bearer token is wrong",
        ));
    }
    let uuid = |name: &str| -> Result<Uuid, AppError> {
        let value = req
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| AppError::validation(name, "header missing"))?;
        Uuid::parse_str(value).map_err(|_| AppError::validation(name, "not a UUID"))
    };
    let (org_id, session_id, user_id) =
        (uuid(ORG_HEADER)?, uuid(SESSION_HEADER)?, uuid(USER_HEADER)?);
    let right = match req
        .headers()
        .get(RIGHT_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some("read") => Right::Read,
        Some("write") => Right::Write,
        _ => {
            return Err(AppError::validation(
                RIGHT_HEADER,
                "must be `read` or `write`",
            ))
        }
    };
    Ok(Caller {
        org_id,
        session_id,
        user_id,
        right,
    })
}

/// Compares without an early exit, so response timing says nothing about the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_compare_by_value() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
