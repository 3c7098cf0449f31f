//! The OpenAPI description of the file routes ([`super::files`] forwards them to file-service
//! as one catch-all route, so these operations are declared here, next to the wire shapes of
//! file-service's answers). Nothing here runs: the functions only carry the annotations.
//! Reads (GET) need the right to see the session (viewers included); every other method the
//! right to change it (its owner, admins), else 403.
//!
//! The shapes mirror `services/file-service/src` (`routes::Entry`, `snapshots::Snapshot`,
//! `snapshots::Counts`, the tree, upload and artifact answers); `tests/api/files_doc.rs`
//! serialises file-service's own types and checks them against these schemas.

#![allow(dead_code)]

use rc_errors::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// What an entry is. Symlinks are described, never followed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// A file, directory or link of the session's workspace.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FileEntry {
    /// Relative to the workspace (`/workspace`), `/`-separated, no leading slash.
    pub path: String,
    /// The last path component.
    pub name: String,
    pub kind: FileKind,
    pub size: u64,
    /// Unix permission bits.
    pub mode: u32,
    /// Modification time, milliseconds since the Unix epoch.
    pub modified_ms: i64,
    /// Regular files from `stat` and writes only (never in listings): lowercase hex SHA-256
    /// of the content, the same value as the `ETag` header without its quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// A directory listing, breadth first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FileTree {
    /// The listed directory (normalised; empty for the workspace root).
    pub path: String,
    pub entries: Vec<FileEntry>,
    /// More than 10 000 entries: the listing stops there.
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NewFileKind {
    File,
    Dir,
}

/// An empty file or a directory.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateFile {
    pub path: String,
    pub kind: NewFileKind,
    /// Create missing parent directories too (default false).
    #[serde(default)]
    pub parents: Option<bool>,
}

/// Moves a file or directory; never replaces one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RenameFile {
    pub from: String,
    pub to: String,
}

/// Raw file content.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub String);

/// `multipart/form-data`: every part that has a file name becomes `<path>/<file name>`;
/// other parts are ignored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadForm {
    /// One part per file (any field name; the part's file name is used).
    pub files: Vec<FileBytes>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadedFiles {
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CreateSnapshot {
    /// 1-200 characters; default "snapshot of <session id>".
    pub name: Option<String>,
}

/// A tar.gz of a session's workspace in the object store.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Snapshot {
    pub id: Uuid,
    /// The session it was taken of (null once that session is purged).
    #[schema(required = true)]
    pub session_id: Option<Uuid>,
    pub created_by: Uuid,
    pub name: String,
    /// Size of the archive.
    pub size_bytes: i64,
    /// Bytes of file content in it.
    pub content_bytes: i64,
    pub file_count: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SnapshotList {
    /// The organisation's snapshots, newest first (at most 500).
    pub items: Vec<Snapshot>,
}

/// What a restore wrote into the session's workspace.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RestoreReport {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Entries left out: special files, hard links, devices, links leaving the workspace.
    pub skipped: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateArtifact {
    /// The regular file to share.
    pub path: String,
    /// Validity of the URL, 1 s up to `file_service.max_presign_secs` (default 3600).
    pub expires_secs: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ArtifactUrlRequest {
    /// Validity of the new URL (default 3600 s).
    pub expires_secs: Option<u64>,
}

/// A file copied to the object store, with a presigned download URL.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SharedArtifact {
    pub id: Uuid,
    pub name: String,
    pub size_bytes: u64,
    /// Presigned GET URL: anyone holding it can download until `expires_at`.
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PathQuery {
    /// Relative to the workspace; no leading `/`, no `..`, no NUL (400 naming `path`).
    pub path: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirQuery {
    /// A directory relative to the workspace (default: the workspace root).
    pub path: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TreeQuery {
    /// A directory relative to the workspace (default: the workspace root).
    pub path: Option<String>,
    /// Levels to descend, 1-8 (default 1). Symlinked directories are listed, not entered.
    pub depth: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    pub path: String,
    /// Needed for a non-empty directory (else 409).
    pub recursive: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The directory to upload into (default: the workspace root).
    pub path: Option<String>,
    /// Replace existing files (default false: 409 for a taken name).
    pub overwrite: Option<bool>,
}

/// The workspace entries under `path`, `depth` levels deep.
#[utoipa::path(operation_id = "files_tree", get, path = "/api/v1/sessions/{id}/files/tree", tag = "files",
    params(("id" = Uuid, Path, description = "The session"), TreeQuery),
    responses((status = 200, body = FileTree),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The session is stopped, or `path` is not a directory"),
        (status = 503, body = ErrorBody)))]
pub fn tree() {}

/// One entry (a symlink is described, not followed); `ETag` for regular files.
#[utoipa::path(operation_id = "files_stat", get, path = "/api/v1/sessions/{id}/files/stat", tag = "files",
    params(("id" = Uuid, Path, description = "The session"), PathQuery),
    responses((status = 200, body = FileEntry, headers(("ETag" = String, description = "Quoted content hash, for regular files"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub fn stat() {}

/// The file's bytes, streamed. The `ETag` is taken before the read: send it back as
/// `If-Match` when saving an edit.
#[utoipa::path(operation_id = "files_download", get, path = "/api/v1/sessions/{id}/files/content", tag = "files",
    params(("id" = Uuid, Path, description = "The session"), PathQuery),
    responses((status = 200, body = FileBytes, content_type = "application/octet-stream",
            headers(("ETag" = String, description = "Quoted content hash"),
                    ("Content-Disposition" = String, description = "attachment; filename=…"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Not a regular file, or the session is stopped"),
        (status = 503, body = ErrorBody)))]
pub fn download() {}

/// Replaces or creates the file with the request body (written to a temp file, then renamed
/// over the target). `If-Match: "<etag>"` saves only if the file is unchanged since it was
/// read (412 otherwise), `If-Match: *` only if it exists, `If-None-Match: *` only if it does
/// not. Without preconditions the last writer wins.
#[utoipa::path(operation_id = "files_write", put, path = "/api/v1/sessions/{id}/files/content", tag = "files",
    params(("id" = Uuid, Path, description = "The session"), PathQuery,
        ("If-Match" = Option<String>, Header, description = "`\"<etag>\"` from a read, or `*`"),
        ("If-None-Match" = Option<String>, Header, description = "`*`: create only, never overwrite")),
    request_body(content = FileBytes, content_type = "application/octet-stream"),
    responses(
        (status = 200, body = FileEntry, description = "Replaced", headers(("ETag" = String, description = "The new content's quoted hash"))),
        (status = 201, body = FileEntry, description = "Created", headers(("ETag" = String, description = "The new content's quoted hash"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "The session, or the file's directory, does not exist"),
        (status = 409, body = ErrorBody),
        (status = 412, body = ErrorBody, description = "`precondition_failed`: the file changed since it was read (or exists / does not exist)"),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: over `file_service.max_upload_bytes`"),
        (status = 503, body = ErrorBody)))]
pub fn write() {}

/// An empty file or a directory (`parents` creates missing parents); 409 when the name is
/// taken.
#[utoipa::path(operation_id = "files_create", post, path = "/api/v1/sessions/{id}/files/create", tag = "files",
    params(("id" = Uuid, Path, description = "The session")), request_body = CreateFile,
    responses((status = 201, body = FileEntry), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub fn create() {}

/// Moves a file or directory; 409 when `to` exists.
#[utoipa::path(operation_id = "files_rename", post, path = "/api/v1/sessions/{id}/files/rename", tag = "files",
    params(("id" = Uuid, Path, description = "The session")), request_body = RenameFile,
    responses((status = 200, body = FileEntry, description = "The entry at `to`"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub fn rename() {}

/// Deletes a file, a symlink (not its target) or a directory (`recursive=true` for a
/// non-empty one).
#[utoipa::path(operation_id = "files_delete", delete, path = "/api/v1/sessions/{id}/files", tag = "files",
    params(("id" = Uuid, Path, description = "The session"), DeleteQuery),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody, description = "Bad path, or the workspace root"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A non-empty directory without `recursive`"), (status = 503, body = ErrorBody)))]
pub fn delete() {}

/// Uploads files into a directory (`multipart/form-data`, streamed). All parts together may
/// hold at most `file_service.max_upload_bytes`.
#[utoipa::path(operation_id = "files_upload", post, path = "/api/v1/sessions/{id}/files/upload", tag = "files",
    params(("id" = Uuid, Path, description = "The session"), UploadQuery),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = UploadedFiles), (status = 400, body = ErrorBody, description = "A bad file name or path"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A name is taken (without `overwrite`)"),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: over `file_service.max_upload_bytes` (files stored before the limit stay)"),
        (status = 503, body = ErrorBody)))]
pub fn upload() {}

/// A directory as a zip, streamed (symlinks left out).
#[utoipa::path(operation_id = "files_zip", get, path = "/api/v1/sessions/{id}/files/zip", tag = "files",
    params(("id" = Uuid, Path, description = "The session"), DirQuery),
    responses((status = 200, body = FileBytes, content_type = "application/zip",
            headers(("Content-Disposition" = String, description = "attachment; filename=…"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub fn zip() {}

/// Snapshots the session's workspace (a tar.gz in the object store). Take it while Claude is
/// idle: files changing meanwhile may be captured half-way.
#[utoipa::path(operation_id = "snapshots_create", post, path = "/api/v1/sessions/{id}/snapshots", tag = "files",
    params(("id" = Uuid, Path, description = "The session")), request_body(content = Option<CreateSnapshot>),
    responses((status = 201, body = Snapshot), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody, description = "Viewers and members on a colleague's session: creating needs the right to change the session"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the workspace holds more than `file_service.max_snapshot_bytes`"),
        (status = 503, body = ErrorBody)))]
pub fn snapshots_create() {}

/// The organisation's snapshots (of every session), newest first.
#[utoipa::path(operation_id = "snapshots_list", get, path = "/api/v1/sessions/{id}/snapshots", tag = "files",
    params(("id" = Uuid, Path, description = "A session the caller can see")),
    responses((status = 200, body = SnapshotList), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub fn snapshots_list() {}

/// Unpacks a snapshot of the same organisation into this session's workspace (files of the
/// same name are overwritten).
#[utoipa::path(operation_id = "snapshots_restore", post, path = "/api/v1/sessions/{id}/snapshots/{snapshot}/restore", tag = "files",
    params(("id" = Uuid, Path, description = "The target session"), ("snapshot" = Uuid, Path)),
    responses((status = 200, body = RestoreReport), (status = 400, body = ErrorBody, description = "A bad archive"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: over `file_service.max_snapshot_bytes`"), (status = 503, body = ErrorBody)))]
pub fn snapshots_restore() {}

/// Copies a regular file to the object store and answers with a presigned download URL.
#[utoipa::path(operation_id = "artifacts_create", post, path = "/api/v1/sessions/{id}/artifacts", tag = "files",
    params(("id" = Uuid, Path, description = "The session")), request_body = CreateArtifact,
    responses((status = 201, body = SharedArtifact), (status = 400, body = ErrorBody, description = "Bad path or `expires_secs`"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Not a regular file, or the session is stopped"),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: over `file_service.max_upload_bytes`"), (status = 503, body = ErrorBody)))]
pub fn artifacts_create() {}

/// A new presigned URL for an artifact of the organisation.
#[utoipa::path(operation_id = "artifacts_url", post, path = "/api/v1/sessions/{id}/artifacts/{artifact}/url", tag = "files",
    params(("id" = Uuid, Path, description = "A session the caller can see"), ("artifact" = Uuid, Path)),
    request_body(content = Option<ArtifactUrlRequest>),
    responses((status = 200, body = SharedArtifact), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub fn artifacts_url() {}
