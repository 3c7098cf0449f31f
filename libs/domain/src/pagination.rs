//! Keyset pagination. Ids are UUIDv7 (time-ordered), so "newest first" is `ORDER BY id DESC`
//! and the cursor is the last id seen, opaque to clients (base64) so its format may change.

use base64::Engine;
use rc_errors::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub Uuid);

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    pub fn decode(s: &str) -> AppResult<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| Uuid::from_slice(&b).ok())
            .ok_or_else(|| {
                AppError::validation("cursor", "is not a cursor returned by this API")
            })?;
        Ok(Self(bytes))
    }
}

/// What a client asks for: an optional cursor and a page size.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

impl PageRequest {
    /// Validated (cursor, limit). The limit is fetched +1 to know whether another page exists.
    pub fn parse(&self) -> AppResult<(Option<Uuid>, i64)> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::validation(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let cursor = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(Cursor::decode)
            .transpose()?;
        Ok((cursor.map(|c| c.0), limit))
    }
}

/// One page of results, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[graphql(
    concrete(name = "SessionPage", params(crate::sessions::Session)),
    concrete(name = "TaskPage", params(crate::tasks::Task))
)]
pub struct Page<T: async_graphql::OutputType> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T: async_graphql::OutputType> Page<T> {
    /// `rows` were fetched with `LIMIT limit + 1`.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> Self {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|r| Cursor(id(r)).encode())
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}
