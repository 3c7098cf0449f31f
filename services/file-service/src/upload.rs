//! POST /internal/v1/files/upload?path=<dir>&overwrite=: multipart/form-data, every part
//! with a file name becomes `<dir>/<file name>`, streamed to the sandbox in chunks. The parts
//! together may hold at most `file_service.max_upload_bytes` (413 beyond; files already
//! stored stay, the one in progress is dropped).

use crate::caller::Caller;
use crate::routes::{join, normalise, open, report, write_file, Entry, Preconditions};
use crate::AppState;
use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use futures::StreamExt as _;
use rc_errors::{AppError, ErrorCode};
use rc_events::FileChange;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// The directory to upload into (relative; empty: the workspace root).
    #[serde(default)]
    path: String,
    /// Replace existing files (default: 409 for a taken name).
    #[serde(default)]
    overwrite: bool,
}

#[derive(Debug, Serialize)]
struct Uploaded {
    files: Vec<Entry>,
}

pub async fn upload(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<UploadQuery>,
    mut multipart: Multipart,
) -> Result<HttpResponse, AppError> {
    let mut files = open(&state, &caller, true).await?;
    let dir = normalise(&query.path)?;
    let mut remaining = state.settings.max_upload_bytes;
    let mut stored = Vec::new();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| AppError::validation("body", e.to_string()))?;
        let Some(name) = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned)
        else {
            // Not a file part: drain and ignore it.
            while let Some(chunk) = field.next().await {
                chunk.map_err(|e| AppError::validation("body", e.to_string()))?;
            }
            continue;
        };
        let name = file_name(&name)?;
        let path = join(&dir, &name);
        let pre = Preconditions {
            create_only: !query.overwrite,
            ..Preconditions::default()
        };
        // Counts what this part consumes, so the limit spans all parts.
        let counted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = counted.clone();
        let body = (&mut field).map(move |chunk| {
            if let Ok(bytes) = &chunk {
                seen.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
            }
            chunk
        });
        let info = match write_file(&mut files, &path, Box::pin(body), remaining, &pre).await {
            Err(err) if err.code == ErrorCode::PayloadTooLarge => {
                return Err(AppError::new(
                    ErrorCode::PayloadTooLarge,
                    format!(
                        "the upload is larger than the limit of {} bytes",
                        state.settings.max_upload_bytes
                    ),
                ))
            }
            other => other?,
        };
        remaining = remaining.saturating_sub(counted.load(std::sync::atomic::Ordering::Relaxed));
        report(&state, &caller, &path, FileChange::Created);
        stored.push(Entry { path, info });
    }
    if stored.is_empty() {
        return Err(AppError::validation(
            "body",
            "no file part (a multipart part with a file name) in the upload",
        ));
    }
    Ok(HttpResponse::Created().json(Uploaded { files: stored }))
}

/// A part's file name must be a plain name: browsers send base names, and anything with a
/// separator or a dot-dot is refused rather than guessed at.
fn file_name(name: &str) -> Result<String, AppError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', '\0'])
        || name.len() > 255;
    if bad {
        return Err(AppError::validation(
            "filename",
            format!("{name:?} is not a plain file name"),
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn upload_names_are_plain() {
        assert_eq!(file_name("a.txt").expect("ok"), "a.txt");
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "a\0b"] {
            assert!(file_name(bad).is_err(), "{bad:?}");
        }
        assert!(file_name(&"x".repeat(256)).is_err());
    }
}
