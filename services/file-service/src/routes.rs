//! The internal file API (`/internal/v1/files…`), called by the api only. Every handler: the
//! caller (token + headers) → the running session's sandbox → a files channel on its agent.
//! Paths are query parameters relative to the workspace; the agent refuses escapes.

use crate::caller::Caller;
use crate::changes::FileChanged;
use crate::files::{Files, CHUNK};
use crate::sessions::running_sandbox;
use crate::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt as _;
use rc_agent_protocol::{FileInfo, FileKind};
use rc_errors::{AppError, ErrorCode};
use rc_events::FileChange;
use serde::{Deserialize, Serialize};

/// Deepest `tree` listing, and most entries one answer holds.
const MAX_TREE_DEPTH: u32 = 8;
const MAX_TREE_ENTRIES: usize = 10_000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/internal/v1/files")
            .route("/tree", web::get().to(tree))
            .route("/stat", web::get().to(stat))
            .route("/content", web::get().to(download))
            .route("/content", web::put().to(write))
            .route("/create", web::post().to(create))
            .route("/rename", web::post().to(rename))
            .route("/upload", web::post().to(crate::upload::upload))
            .route("/zip", web::get().to(crate::zip::download_zip))
            .route("", web::delete().to(delete)),
    );
}

/// A file as the API shows it: its workspace-relative path plus the agent's metadata.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub path: String,
    #[serde(flatten)]
    pub info: FileInfo,
}

#[derive(Debug, Deserialize)]
pub struct PathQuery {
    #[serde(default)]
    pub path: String,
}

/// The caller's session's agent, for reading (`write == false`) or changing files.
pub async fn open(state: &AppState, caller: &Caller, write: bool) -> Result<Files, AppError> {
    if write {
        caller.require_write()?;
    }
    let sandbox = running_sandbox(&state.db, caller).await?;
    state.sandboxes.files(&sandbox).await
}

pub fn report(state: &AppState, caller: &Caller, path: &str, change: FileChange) {
    state.changes.file_changed(FileChanged {
        org_id: caller.org_id,
        session_id: caller.session_id,
        user_id: caller.user_id,
        path: path.to_owned(),
        change,
    });
}

/// `a/b/` → `a/b`: one spelling per file keeps events and clients simple. Absolute paths,
/// `..` and NUL bytes are refused here with a clear message — and again by the agent, which
/// is what actually confines paths (symlinks included).
pub fn normalise(path: &str) -> Result<String, AppError> {
    if path.starts_with('/') {
        return Err(AppError::validation(
            "path",
            format!("{path:?} is absolute; paths are relative to the workspace"),
        ));
    }
    if path.contains('\0') {
        return Err(AppError::validation("path", "contains a NUL byte"));
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(AppError::validation(
            "path",
            format!("{path:?} contains `..`; paths may not leave the workspace"),
        ));
    }
    Ok(parts.join("/"))
}

pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// (`parent`, `name`) of a non-root path.
pub fn split(path: &str) -> Result<(String, String), AppError> {
    let path = normalise(path)?;
    match path.rsplit_once('/') {
        Some((parent, name)) => Ok((parent.to_owned(), name.to_owned())),
        None if !path.is_empty() => Ok((String::new(), path)),
        None => Err(AppError::validation(
            "path",
            "names the workspace root; name a file inside it",
        )),
    }
}

pub fn etag_header(info: &FileInfo) -> Option<(header::HeaderName, String)> {
    info.etag
        .as_ref()
        .map(|etag| (header::ETAG, format!("\"{etag}\"")))
}

#[derive(Debug, Deserialize)]
struct TreeQuery {
    #[serde(default)]
    path: String,
    depth: Option<u32>,
}

#[derive(Debug, Serialize)]
struct Tree {
    path: String,
    entries: Vec<Entry>,
    /// More entries exist than one answer holds ([`MAX_TREE_ENTRIES`]).
    truncated: bool,
}

/// GET /tree?path=&depth=: the entries under `path`, `depth` levels deep (default 1), breadth
/// first, each with its workspace-relative path. Symlinked directories are listed, not entered.
async fn tree(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<TreeQuery>,
) -> Result<HttpResponse, AppError> {
    let depth = query.depth.unwrap_or(1);
    if !(1..=MAX_TREE_DEPTH).contains(&depth) {
        return Err(AppError::validation(
            "depth",
            format!("must be between 1 and {MAX_TREE_DEPTH}"),
        ));
    }
    let mut files = open(&state, &caller, false).await?;
    let root = normalise(&query.path)?;
    let mut entries = Vec::new();
    let mut truncated = false;
    let mut level = vec![root.clone()];
    'levels: for _ in 0..depth {
        let mut next = Vec::new();
        for dir in level {
            for info in files.list(&dir).await? {
                if entries.len() == MAX_TREE_ENTRIES {
                    truncated = true;
                    break 'levels;
                }
                let path = join(&dir, &info.name);
                if info.kind == FileKind::Dir {
                    next.push(path.clone());
                }
                entries.push(Entry { path, info });
            }
        }
        level = next;
    }
    Ok(HttpResponse::Ok().json(Tree {
        path: root,
        entries,
        truncated,
    }))
}

/// GET /stat?path=: one entry (a symlink is described, not followed); `ETag` for files.
async fn stat(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PathQuery>,
) -> Result<HttpResponse, AppError> {
    let mut files = open(&state, &caller, false).await?;
    let path = normalise(&query.path)?;
    let info = files.stat(&path).await?;
    let mut response = HttpResponse::Ok();
    if let Some(etag) = etag_header(&info) {
        response.insert_header(etag);
    }
    Ok(response.json(Entry { path, info }))
}

/// GET /content?path=: the file's bytes, streamed; `ETag` is the content hash taken *before*
/// the read, so a change during the download can only make a later `If-Match` fail (never
/// make a stale edit win).
async fn download(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PathQuery>,
) -> Result<HttpResponse, AppError> {
    let mut files = open(&state, &caller, false).await?;
    let path = normalise(&query.path)?;
    let info = files.stat(&path).await?;
    if info.kind != FileKind::File {
        return Err(AppError::conflict(format!(
            "{path:?} is a {:?}, not a regular file",
            info.kind
        )));
    }
    // The first chunk is read before answering, so a file that cannot be read fails with a
    // proper status instead of a broken stream.
    let (first, eof) = files.read(&path, 0).await?;
    let mut response = HttpResponse::Ok();
    response.content_type("application/octet-stream");
    if let Some(etag) = etag_header(&info) {
        response.insert_header(etag);
    }
    response.insert_header((
        header::CONTENT_DISPOSITION,
        header::ContentDisposition::attachment(info.name.clone()),
    ));
    let body = futures::stream::unfold(
        (files, path, first.len() as u64, eof, Some(first)),
        |(mut files, path, offset, eof, first)| async move {
            if let Some(first) = first {
                let next = (files, path, offset, eof, None);
                return Some((Ok(bytes::Bytes::from(first)), next));
            }
            if eof {
                return None;
            }
            match files.read(&path, offset).await {
                Ok((data, eof)) if data.is_empty() && eof => None,
                Ok((data, eof)) => {
                    let offset = offset + data.len() as u64;
                    Some((
                        Ok(bytes::Bytes::from(data)),
                        (files, path, offset, eof, None),
                    ))
                }
                Err(err) => {
                    tracing::warn!(%path, error = %err, "download interrupted");
                    Some((
                        Err(actix_web::error::ErrorInternalServerError("read failed")),
                        (files, path, offset, true, None),
                    ))
                }
            }
        },
    );
    Ok(response.streaming(body))
}

/// The `If-Match` / `If-None-Match` of a write.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// The etag the file must still have (quotes stripped).
    pub if_match: Option<String>,
    /// `If-Match: *`: the file must exist.
    pub must_exist: bool,
    /// `If-None-Match: *`: the file must not exist yet.
    pub create_only: bool,
}

impl Preconditions {
    pub fn from_request(req: &HttpRequest) -> Result<Self, AppError> {
        let text = |name: header::HeaderName| -> Result<Option<String>, AppError> {
            req.headers()
                .get(&name)
                .map(|v| {
                    v.to_str()
                        .map(|s| s.trim().to_owned())
                        .map_err(|_| AppError::validation(name.as_str(), "not ASCII"))
                })
                .transpose()
        };
        let mut pre = Self::default();
        match text(header::IF_MATCH)?.as_deref() {
            None => {}
            Some("*") => pre.must_exist = true,
            Some(value) => {
                // Strong comparison only (RFC 9110 §13.1.1): a weak tag never matches.
                let etag = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .filter(|_| !value.starts_with("W/"))
                    .unwrap_or(value);
                pre.if_match = Some(etag.to_owned());
            }
        }
        match text(header::IF_NONE_MATCH)?.as_deref() {
            None => {}
            Some("*") => pre.create_only = true,
            Some(_) => {
                return Err(AppError::validation(
                    "if-none-match",
                    "only `*` (create, never overwrite) is supported on writes",
                ))
            }
        }
        if pre.create_only && (pre.must_exist || pre.if_match.is_some()) {
            return Err(AppError::validation(
                "if-none-match",
                "cannot be combined with If-Match",
            ));
        }
        Ok(pre)
    }
}

/// Streams `body` into a hidden temp file next to `path`, then commits it over `path` under
/// the preconditions. At most `limit` bytes (413 beyond). The temp file is removed on failure.
pub async fn write_file<S, E>(
    files: &mut Files,
    path: &str,
    mut body: S,
    limit: u64,
    pre: &Preconditions,
) -> Result<FileInfo, AppError>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let (dir, _) = split(path)?;
    if pre.must_exist {
        // `If-Match: *`: any current file will do, but there must be one.
        match files.stat(path).await {
            Ok(info) if info.kind == FileKind::File => {}
            Ok(_) | Err(_) => {
                return Err(AppError::new(
                    ErrorCode::PreconditionFailed,
                    format!("{path}: no such file (If-Match: *)"),
                ))
            }
        }
    }
    let temp = join(
        &dir,
        &format!(".rc-upload-{}", uuid::Uuid::new_v4().simple()),
    );
    let result = async {
        files.write(&temp, 0, Vec::new(), true, true).await?;
        let mut offset = 0u64;
        let mut pending: Vec<u8> = Vec::with_capacity(CHUNK);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                AppError::validation("body", format!("reading the request body failed: {e}"))
            })?;
            if offset + (pending.len() + chunk.len()) as u64 > limit {
                return Err(AppError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the file is larger than the limit of {limit} bytes"),
                ));
            }
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let take = rest.len().min(CHUNK - pending.len());
                pending.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if pending.len() == CHUNK {
                    let data = std::mem::replace(&mut pending, Vec::with_capacity(CHUNK));
                    let len = data.len() as u64;
                    files.write(&temp, offset, data, false, false).await?;
                    offset += len;
                }
            }
        }
        if !pending.is_empty() {
            files.write(&temp, offset, pending, false, false).await?;
        }
        files
            .commit(&temp, path, pre.if_match.clone(), pre.create_only)
            .await
    }
    .await;
    if result.is_err() {
        // Best effort: the agent already removed it after a failed precondition.
        let _ = files.delete(&temp, false).await;
    }
    result
}

/// PUT /content?path=: replaces (or creates) the file with the body. `If-Match: "<etag>"`
/// makes it conditional (412 when the file changed since it was read), `If-None-Match: *`
/// creates only (412 when it exists). 200 with the new entry and `ETag`; 201 when created.
async fn write(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PathQuery>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let pre = Preconditions::from_request(&req)?;
    let mut files = open(&state, &caller, true).await?;
    let path = normalise(&query.path)?;
    let existed = !pre.create_only && files.stat(&path).await.is_ok();
    let limit = state.settings.max_upload_bytes;
    let info = match write_file(&mut files, &path, body, limit, &pre).await {
        Err(err) if pre.create_only && err.code == ErrorCode::Conflict => {
            return Err(AppError::new(
                ErrorCode::PreconditionFailed,
                format!("{path}: already exists (If-None-Match: *)"),
            ))
        }
        other => other?,
    };
    let (status, change) = if existed {
        (actix_web::http::StatusCode::OK, FileChange::Modified)
    } else {
        (actix_web::http::StatusCode::CREATED, FileChange::Created)
    };
    report(&state, &caller, &path, change);
    let mut response = HttpResponse::build(status);
    if let Some(etag) = etag_header(&info) {
        response.insert_header(etag);
    }
    Ok(response.json(Entry { path, info }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum NewKind {
    File,
    Dir,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    path: String,
    kind: NewKind,
    /// Create missing parent directories too.
    #[serde(default)]
    parents: bool,
}

/// POST /create {path, kind: file|dir, parents?}: an empty file or a directory; 409 when the
/// name is taken. 201 with the entry.
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let mut files = open(&state, &caller, true).await?;
    let path = normalise(&body.path)?;
    let (dir, _) = split(&path)?;
    if body.parents && !dir.is_empty() {
        files.mkdir(&dir, true).await?;
    }
    let info = match body.kind {
        NewKind::Dir => {
            files.mkdir(&path, false).await?;
            files.stat(&path).await?
        }
        NewKind::File => {
            let pre = Preconditions {
                create_only: true,
                ..Preconditions::default()
            };
            let empty = futures::stream::empty::<Result<bytes::Bytes, std::convert::Infallible>>();
            write_file(&mut files, &path, empty, 0, &pre).await?
        }
    };
    report(&state, &caller, &path, FileChange::Created);
    Ok(HttpResponse::Created().json(Entry { path, info }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    from: String,
    to: String,
}

/// POST /rename {from, to}: moves a file or directory; never replaces (409 when `to` exists).
async fn rename(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RenameBody>,
) -> Result<HttpResponse, AppError> {
    let mut files = open(&state, &caller, true).await?;
    let (from, to) = (normalise(&body.from)?, normalise(&body.to)?);
    split(&from)?;
    split(&to)?;
    files.rename(&from, &to).await?;
    let info = files.stat(&to).await?;
    report(&state, &caller, &to, FileChange::Renamed { from });
    Ok(HttpResponse::Ok().json(Entry { path: to, info }))
}

#[derive(Debug, Deserialize)]
struct DeleteQuery {
    path: String,
    #[serde(default)]
    recursive: bool,
}

/// DELETE ?path=&recursive=: a file, a symlink (not its target) or a directory (non-empty ones
/// need `recursive=true`, else 409). 204.
async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<DeleteQuery>,
) -> Result<HttpResponse, AppError> {
    let mut files = open(&state, &caller, true).await?;
    let path = normalise(&query.path)?;
    split(&path)?;
    files.delete(&path, query.recursive).await?;
    report(&state, &caller, &path, FileChange::Deleted);
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_and_split() {
        assert_eq!(normalise("./a//b/").expect("ok"), "a/b");
        assert_eq!(normalise("").expect("ok"), "");
        for bad in ["/etc/passwd", "../x", "a/../../x", "a\0b"] {
            assert!(normalise(bad).is_err(), "{bad}");
        }
        assert_eq!(
            split("a/b/c.txt").expect("split"),
            ("a/b".to_owned(), "c.txt".to_owned())
        );
        assert_eq!(
            split("c.txt").expect("split"),
            (String::new(), "c.txt".to_owned())
        );
        assert!(split("/").is_err());
        assert!(split("").is_err());
    }

    #[test]
    fn preconditions_parse_strong_etags_only() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::IF_MATCH, "\"abc\""))
            .to_http_request();
        let pre = Preconditions::from_request(&req).expect("parse");
        assert_eq!(pre.if_match.as_deref(), Some("abc"));
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::IF_MATCH, "W/\"abc\""))
            .to_http_request();
        let pre = Preconditions::from_request(&req).expect("parse");
        assert_eq!(pre.if_match.as_deref(), Some("W/\"abc\""), "never matches");
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "*"))
            .insert_header((header::IF_MATCH, "*"))
            .to_http_request();
        assert!(Preconditions::from_request(&req).is_err());
    }
}
