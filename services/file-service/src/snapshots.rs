//! Workspace snapshots: a tar.gz of a session's `/workspace`, read through the sandbox agent
//! and streamed into S3 (`snapshots/<org_id>/<snapshot_id>.tar.gz`, multipart), recorded in
//! `snapshots`; and the way back: streamed from S3 and unpacked into another session's
//! workspace, every entry written through the agent's confined files channel.
//!
//! A snapshot is not atomic: files that change while it is taken may be captured half-way
//! (a file's size is taken from its listing; a file that grows is cut there, one that shrinks
//! is padded with zeros). Take it while Claude is idle.

use crate::caller::Caller;
use crate::files::Files;
use crate::routes::{join, normalise, open};
use crate::store::{describe, Upload};
use crate::AppState;
use actix_web::{web, HttpResponse};
use flate2::write::GzEncoder;
use rc_agent_protocol::FileKind;
use rc_errors::{AppError, ErrorCode};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Component, Path};
use tar::{EntryType, Header};
use uuid::Uuid;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/internal/v1/snapshots")
            .route("", web::post().to(create))
            .route("", web::get().to(list))
            .route("/{id}/restore", web::post().to(restore)),
    );
}

#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub id: Uuid,
    pub session_id: Option<Uuid>,
    pub created_by: Uuid,
    pub name: String,
    pub size_bytes: i64,
    pub content_bytes: i64,
    pub file_count: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// Shown in lists; default: "snapshot of <session id>".
    name: Option<String>,
}

/// What went into (or came out of) an archive.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Counts {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Entries left out: special files; on restore also links that would point outside the
    /// workspace, hard links and devices.
    pub skipped: u64,
    /// Bytes of file content.
    pub bytes: u64,
}

fn key(org_id: Uuid, id: Uuid) -> String {
    format!("snapshots/{org_id}/{id}.tar.gz")
}

/// POST /internal/v1/snapshots {name?}: snapshots the caller's session's workspace. 201 with
/// the snapshot; 413 when the workspace holds more than `file_service.max_snapshot_bytes`.
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Option<web::Json<CreateBody>>,
) -> Result<HttpResponse, AppError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let name = body
        .name
        .unwrap_or_else(|| format!("snapshot of {}", caller.session_id));
    if name.trim().is_empty() || name.len() > 200 {
        return Err(AppError::validation("name", "must be 1 to 200 characters"));
    }
    let mut files = open(&state, &caller, false).await?;
    let id = Uuid::now_v7();
    let object_key = key(caller.org_id, id);
    let mut upload = Upload::new(state.s3.clone(), &state.bucket, &object_key);
    let archived = archive(&mut files, &mut upload, state.settings.max_snapshot_bytes).await;
    let (counts, size) = match archived {
        Ok(counts) => match upload.finish().await {
            Ok(size) => (counts, size),
            Err(err) => return Err(AppError::unavailable("the object store", err)),
        },
        Err(err) => {
            upload.abort().await;
            return Err(err);
        }
    };
    let snapshot = sqlx::query_as!(
        Snapshot,
        "INSERT INTO snapshots (id, org_id, session_id, created_by, name, object_key, \
         size_bytes, content_bytes, file_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING id, session_id, created_by, name, size_bytes, content_bytes, file_count, \
         created_at",
        id,
        caller.org_id,
        caller.session_id,
        caller.user_id,
        name,
        object_key,
        i64::try_from(size).unwrap_or(i64::MAX),
        i64::try_from(counts.bytes).unwrap_or(i64::MAX),
        i32::try_from(counts.files).unwrap_or(i32::MAX),
    )
    .fetch_one(&state.db)
    .await?;
    tracing::info!(snapshot_id = %id, session_id = %caller.session_id, ?counts, size, "snapshot taken");
    Ok(HttpResponse::Created().json(snapshot))
}

/// GET /internal/v1/snapshots: the organisation's snapshots, newest first (at most 500).
async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    let snapshots = sqlx::query_as!(
        Snapshot,
        "SELECT id, session_id, created_by, name, size_bytes, content_bytes, file_count, \
         created_at FROM snapshots WHERE org_id = $1 ORDER BY created_at DESC LIMIT 500",
        caller.org_id,
    )
    .fetch_all(&state.db)
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": snapshots })))
}

/// Walks the workspace through the agent and writes a tar.gz into `upload`.
async fn archive(files: &mut Files, upload: &mut Upload, limit: u64) -> Result<Counts, AppError> {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut counts = Counts::default();
    let mut pending = vec![String::new()];
    let store = |e: anyhow::Error| AppError::unavailable("the object store", e);
    while let Some(dir) = pending.pop() {
        for info in files.list(&dir).await? {
            let path = join(&dir, &info.name);
            let mtime = u64::try_from(info.modified_ms / 1000).unwrap_or(0);
            match info.kind {
                FileKind::Dir => {
                    write_header(
                        &mut gz,
                        &format!("{path}/"),
                        EntryType::Directory,
                        0,
                        info.mode,
                        mtime,
                        None,
                    )?;
                    counts.dirs += 1;
                    pending.push(path);
                }
                FileKind::Symlink => {
                    let target = files.readlink(&path).await?;
                    write_header(
                        &mut gz,
                        &path,
                        EntryType::Symlink,
                        0,
                        info.mode,
                        mtime,
                        Some(&target),
                    )?;
                    counts.symlinks += 1;
                }
                FileKind::File => {
                    counts.bytes += info.size;
                    if counts.bytes > limit {
                        return Err(too_large(limit));
                    }
                    write_header(
                        &mut gz,
                        &path,
                        EntryType::Regular,
                        info.size,
                        info.mode,
                        mtime,
                        None,
                    )?;
                    let mut written = 0u64;
                    while written < info.size {
                        let (data, eof) = files.read(&path, written).await?;
                        let take = usize::try_from(info.size - written)
                            .unwrap_or(usize::MAX)
                            .min(data.len());
                        gz.write_all(&data[..take]).map_err(AppError::internal)?;
                        written += take as u64;
                        if eof && written < info.size {
                            // The file shrank since it was listed: keep the declared size.
                            let zeros =
                                vec![0u8; usize::try_from(info.size - written).unwrap_or(0)];
                            gz.write_all(&zeros).map_err(AppError::internal)?;
                            written = info.size;
                        }
                        drain(&mut gz, upload).await.map_err(store)?;
                    }
                    pad(&mut gz, info.size)?;
                    counts.files += 1;
                }
                FileKind::Other => counts.skipped += 1,
            }
            drain(&mut gz, upload).await.map_err(store)?;
        }
    }
    // Two zero blocks end a tar archive.
    gz.write_all(&[0u8; 1024]).map_err(AppError::internal)?;
    let rest = gz.finish().map_err(AppError::internal)?;
    upload.push(&rest).await.map_err(store)?;
    Ok(counts)
}

/// Moves what gzip has produced so far into the upload.
async fn drain(gz: &mut GzEncoder<Vec<u8>>, upload: &mut Upload) -> anyhow::Result<()> {
    if gz.get_ref().len() >= 64 * 1024 {
        let bytes = std::mem::take(gz.get_mut());
        upload.push(&bytes).await?;
    }
    Ok(())
}

fn too_large(limit: u64) -> AppError {
    AppError::new(
        ErrorCode::PayloadTooLarge,
        format!("the workspace holds more than the snapshot limit of {limit} bytes"),
    )
}

/// Pads file content to the 512-byte tar block.
fn pad(out: &mut impl std::io::Write, size: u64) -> Result<(), AppError> {
    let rest = (512 - size % 512) % 512;
    out.write_all(&vec![0u8; usize::try_from(rest).unwrap_or(0)])
        .map_err(AppError::internal)
}

/// A GNU tar header; names and link targets over 100 bytes get a `././@LongLink` entry first
/// (what GNU tar does, and what the `tar` crate reads back).
fn write_header(
    out: &mut impl std::io::Write,
    path: &str,
    kind: EntryType,
    size: u64,
    mode: u32,
    mtime: u64,
    link: Option<&str>,
) -> Result<(), AppError> {
    let long =
        |out: &mut dyn std::io::Write, kind: EntryType, value: &str| -> std::io::Result<()> {
            let mut header = Header::new_gnu();
            header.set_entry_type(kind);
            header.set_size(value.len() as u64 + 1);
            header.set_mode(0o644);
            if let Some(gnu) = header.as_gnu_mut() {
                gnu.name[..13].copy_from_slice(b"././@LongLink");
            }
            header.set_cksum();
            out.write_all(header.as_bytes())?;
            out.write_all(value.as_bytes())?;
            out.write_all(&[0])?;
            let rest = (512 - (value.len() as u64 + 1) % 512) % 512;
            out.write_all(&vec![0u8; usize::try_from(rest).unwrap_or(0)])
        };
    let write = || -> std::io::Result<()> {
        let mut out = out;
        if path.len() > 100 {
            long(&mut out, EntryType::GNULongName, path)?;
        }
        if let Some(target) = link.filter(|t| t.len() > 100) {
            long(&mut out, EntryType::GNULongLink, target)?;
        }
        let mut header = Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(mode & 0o7777);
        header.set_mtime(mtime);
        header.set_uid(1000);
        header.set_gid(1000);
        if let Some(gnu) = header.as_gnu_mut() {
            let n = path.len().min(100);
            gnu.name[..n].copy_from_slice(&path.as_bytes()[..n]);
            if let Some(target) = link {
                let n = target.len().min(100);
                gnu.linkname[..n].copy_from_slice(&target.as_bytes()[..n]);
            }
        }
        header.set_cksum();
        out.write_all(header.as_bytes())
    };
    write().map_err(AppError::internal)
}

/// One step of a restore, from the (blocking) tar reader to the (async) agent writer.
enum Step {
    Dir {
        path: String,
        mode: u32,
    },
    /// A chunk of a file; `offset == 0` creates or truncates it, `last` sets its mode.
    File {
        path: String,
        offset: u64,
        data: Vec<u8>,
        last: bool,
        mode: u32,
    },
    Symlink {
        path: String,
        target: String,
    },
    Skipped,
    Failed(AppError),
}

/// POST /internal/v1/snapshots/{id}/restore: unpacks the snapshot into the caller's session's
/// workspace (existing files of the same name are overwritten). The snapshot must belong to
/// the caller's organisation (404 otherwise). 200 with the counts.
async fn restore(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let object_key = sqlx::query_scalar!(
        "SELECT object_key FROM snapshots WHERE id = $1 AND org_id = $2",
        *id,
        caller.org_id,
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| AppError::not_found("snapshot"))?;
    let mut files = open(&state, &caller, true).await?;
    let object = state
        .s3
        .get_object()
        .bucket(&state.bucket)
        .key(&object_key)
        .send()
        .await
        .map_err(|e| AppError::unavailable("the object store", describe(e)))?;
    let counts = unpack(
        &mut files,
        object.body.into_async_read(),
        state.settings.max_snapshot_bytes,
    )
    .await?;
    tracing::info!(snapshot_id = %id, session_id = %caller.session_id, ?counts, "snapshot restored");
    Ok(HttpResponse::Ok().json(counts))
}

/// Reads a tar.gz from `source` (on a blocking thread: `tar` and `flate2` are synchronous) and
/// writes its entries into the workspace through the agent.
pub async fn unpack<R>(files: &mut Files, source: R, limit: u64) -> Result<Counts, AppError>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Step>(8);
    let reader = tokio_util::io::SyncIoBridge::new(source);
    let producer = tokio::task::spawn_blocking(move || read_tar(reader, limit, &tx));
    let mut counts = Counts::default();
    let mut made_dirs = std::collections::HashSet::new();
    // Directory modes are set last: a read-only directory must still receive its files.
    let mut dir_modes = Vec::new();
    let mut failure = None;
    while let Some(step) = rx.recv().await {
        let applied = match step {
            Step::Dir { path, mode } => {
                counts.dirs += 1;
                let made = files.mkdir(&path, true).await;
                made_dirs.insert(path.clone());
                dir_modes.push((path, mode));
                made
            }
            Step::File {
                path,
                offset,
                data,
                last,
                mode,
            } => {
                if offset == 0 {
                    counts.files += 1;
                    if let Some((parent, _)) = path.rsplit_once('/') {
                        if made_dirs.insert(parent.to_owned()) {
                            if let Err(err) = files.mkdir(parent, true).await {
                                failure = Some(err);
                                break;
                            }
                        }
                    }
                }
                counts.bytes += data.len() as u64;
                match files.write(&path, offset, data, true, offset == 0).await {
                    Ok(()) if last => files.chmod(&path, mode).await,
                    other => other,
                }
            }
            Step::Symlink { path, target } => {
                counts.symlinks += 1;
                // A name that exists is replaced, like a file would be.
                let _ = files.delete(&path, false).await;
                files.symlink(&path, &target).await
            }
            Step::Skipped => {
                counts.skipped += 1;
                Ok(())
            }
            Step::Failed(err) => Err(err),
        };
        if let Err(err) = applied {
            failure = Some(err);
            break;
        }
    }
    // Dropping the receiver stops the reader at its next send.
    drop(rx);
    let _ = producer.await;
    if let Some(err) = failure {
        return Err(err);
    }
    for (path, mode) in dir_modes.iter().rev() {
        files.chmod(path, *mode).await?;
    }
    Ok(counts)
}

fn read_tar(reader: impl std::io::Read, limit: u64, tx: &tokio::sync::mpsc::Sender<Step>) {
    let send = |step: Step| tx.blocking_send(step).is_ok();
    let bad = |message: String| Step::Failed(AppError::validation("snapshot", message));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(err) => {
            send(bad(format!("not a tar.gz archive: {err}")));
            return;
        }
    };
    let mut total = 0u64;
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                send(bad(format!("the archive is damaged: {err}")));
                return;
            }
        };
        let path = match entry.path() {
            Ok(path) => confined_name(&path),
            Err(err) => Err(format!("an entry's path is not valid: {err}")),
        };
        let path = match path {
            Ok(Some(path)) => path,
            Ok(None) => continue, // "./": the root itself
            Err(message) => {
                send(bad(message));
                return;
            }
        };
        let mode = entry.header().mode().unwrap_or(0o644);
        let step = match entry.header().entry_type() {
            EntryType::Directory => Step::Dir { path, mode },
            EntryType::Symlink => match entry.link_name() {
                Ok(Some(target)) => {
                    let target = target.to_string_lossy().into_owned();
                    if link_stays_inside(&path, &target) {
                        Step::Symlink { path, target }
                    } else {
                        tracing::info!(%path, %target, "restore: skipping a symlink that leads outside the workspace");
                        Step::Skipped
                    }
                }
                _ => Step::Skipped,
            },
            EntryType::Regular | EntryType::Continuous => {
                let size = entry.header().size().unwrap_or(0);
                total += size;
                if total > limit {
                    send(Step::Failed(too_large(limit)));
                    return;
                }
                let mut offset = 0u64;
                loop {
                    let mut data = vec![0u8; crate::files::CHUNK];
                    let n = match read_full(&mut entry, &mut data) {
                        Ok(n) => n,
                        Err(err) => {
                            send(bad(format!("the archive is damaged: {err}")));
                            return;
                        }
                    };
                    data.truncate(n);
                    // A chunk shorter than asked is the last; an empty file still needs its one
                    // (creating) write. A file of an exact multiple of the chunk size ends
                    // with an empty last chunk.
                    let last = n < crate::files::CHUNK;
                    let step = Step::File {
                        path: path.clone(),
                        offset,
                        data,
                        last,
                        mode,
                    };
                    if !send(step) {
                        return;
                    }
                    offset += n as u64;
                    if last {
                        break;
                    }
                }
                continue;
            }
            // Hard links, devices, FIFOs: never restored.
            _ => Step::Skipped,
        };
        if !send(step) {
            return;
        }
    }
}

fn read_full(reader: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// A tar entry's name as a workspace path: relative, no `..`, no root or prefix. `None` for
/// the root itself (`./`).
fn confined_name(path: &Path) -> Result<Option<String>, String> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => match part.to_str() {
                Some(part) => parts.push(part.to_owned()),
                None => return Err(format!("{path:?} is not UTF-8")),
            },
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "{path:?} is absolute or contains `..`; refusing the snapshot"
                ))
            }
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    normalise(&parts.join("/")).map(Some).map_err(|e| e.message)
}

/// Whether a relative symlink at `path` with `target` resolves inside the workspace, judged
/// lexically. (The agent never follows a link out of the workspace anyway; this keeps such
/// links out of restored workspaces altogether.)
fn link_stays_inside(path: &str, target: &str) -> bool {
    if target.starts_with('/') || target.is_empty() {
        return false;
    }
    let mut depth: i64 = path.matches('/').count() as i64;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => depth += 1,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restored_links_must_stay_inside() {
        assert!(link_stays_inside("a", "b"));
        assert!(link_stays_inside("d/a", "../b"));
        assert!(!link_stays_inside("a", "../b"));
        assert!(!link_stays_inside("d/a", "../../etc"));
        assert!(!link_stays_inside("a", "/etc/passwd"));
        assert!(link_stays_inside("d/e/a", "../x/../../y"));
    }

    #[test]
    fn tar_names_are_confined() {
        let name = |p: &str| confined_name(Path::new(p));
        assert_eq!(name("./a/b"), Ok(Some("a/b".to_owned())));
        assert_eq!(name("./"), Ok(None));
        for bad in ["../x", "/etc/passwd", "a/../../x"] {
            assert!(name(bad).is_err(), "{bad}");
        }
    }
}
