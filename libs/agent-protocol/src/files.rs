//! The `files` channel: request/response file operations inside the sandbox, run as the
//! sandbox user. On a controller connection paths must be absolute; on a connection with the
//! `files` role ([`crate::Role::Files`]) they are relative to its root and never resolve
//! outside it (no `..`, no absolute paths, symlinks followed only while they stay beneath the
//! root). Requests carry a controller-chosen `request_id` that the response repeats; the agent
//! answers them in order, so several may be in flight. Contents move in chunks that fit the
//! 1 MiB frame limit ([`MAX_CHUNK_BYTES`] before base64).

use serde::{Deserialize, Serialize};

/// The largest `len` of a `Read` and `data` of a `Write`.
pub const MAX_CHUNK_BYTES: u32 = 512 * 1024;

/// Controller → agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FilesRequest {
    /// The entries of a directory → `Entries`.
    List { request_id: u64, path: String },
    /// Up to `len` bytes from `offset` → `Data`.
    Read {
        request_id: u64,
        path: String,
        offset: u64,
        len: u32,
    },
    /// Write `data` at `offset` → `Done`. `create` makes a missing file, `truncate` empties it
    /// first (send it with the first chunk only).
    Write {
        request_id: u64,
        path: String,
        offset: u64,
        #[serde(with = "crate::serde_bytes")]
        data: Vec<u8>,
        create: bool,
        truncate: bool,
    },
    /// → `Info` (symlinks are not followed).
    Stat { request_id: u64, path: String },
    /// → `Done`.
    Mkdir {
        request_id: u64,
        path: String,
        parents: bool,
    },
    /// → `Done`.
    Rename {
        request_id: u64,
        from: String,
        to: String,
    },
    /// → `Done`. A directory needs `recursive` unless it is empty.
    Delete {
        request_id: u64,
        path: String,
        recursive: bool,
    },
    /// Atomically replaces `path` with the already written file `temp` (same directory
    /// recommended) → `Info` of the result, with its new `etag`. With `if_match`, `path` must
    /// currently be a regular file with that etag (`precondition_failed` otherwise); with
    /// `create_only`, `path` must not exist (`already_exists`). The check and the rename are
    /// serialised against every other `commit` of this agent. `path` keeps its previous
    /// permission bits. On a failed precondition `temp` is removed.
    Commit {
        request_id: u64,
        temp: String,
        path: String,
        #[serde(default)]
        if_match: Option<String>,
        #[serde(default)]
        create_only: bool,
    },
    /// The target of a symlink → `Link`.
    Readlink { request_id: u64, path: String },
    /// Sets the permission bits (`mode & 0o777`) of `path`, which must not be a symlink →
    /// `Done`.
    Chmod {
        request_id: u64,
        path: String,
        mode: u32,
    },
    /// Creates a symlink at `path` pointing to `target` (stored as given) → `Done`.
    Symlink {
        request_id: u64,
        path: String,
        target: String,
    },
}

impl FilesRequest {
    pub fn request_id(&self) -> u64 {
        match self {
            FilesRequest::List { request_id, .. }
            | FilesRequest::Read { request_id, .. }
            | FilesRequest::Write { request_id, .. }
            | FilesRequest::Stat { request_id, .. }
            | FilesRequest::Mkdir { request_id, .. }
            | FilesRequest::Rename { request_id, .. }
            | FilesRequest::Delete { request_id, .. }
            | FilesRequest::Commit { request_id, .. }
            | FilesRequest::Readlink { request_id, .. }
            | FilesRequest::Chmod { request_id, .. }
            | FilesRequest::Symlink { request_id, .. } => *request_id,
        }
    }
}

/// Agent → controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FilesResponse {
    Entries {
        request_id: u64,
        entries: Vec<FileInfo>,
    },
    Data {
        request_id: u64,
        #[serde(with = "crate::serde_bytes")]
        data: Vec<u8>,
        /// True when the read reached the end of the file.
        eof: bool,
    },
    Info {
        request_id: u64,
        info: FileInfo,
    },
    Done {
        request_id: u64,
    },
    /// Answer to `Readlink`.
    Link {
        request_id: u64,
        target: String,
    },
    /// `request_id` is absent when the failure is not about one request (e.g. a bad header).
    Error {
        #[serde(default)]
        request_id: Option<u64>,
        #[serde(default)]
        kind: FileErrorKind,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// The last path component.
    pub name: String,
    pub kind: FileKind,
    pub size: u64,
    /// Unix permission bits.
    pub mode: u32,
    /// Modification time, milliseconds since the Unix epoch.
    pub modified_ms: i64,
    /// Strong validator of a regular file's content: lowercase hex SHA-256. Set by `stat` and
    /// `commit` (not by `list`, which would have to read every file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// Lets the controller map failures to user-facing errors without parsing messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileErrorKind {
    NotFound,
    PermissionDenied,
    AlreadyExists,
    NotADirectory,
    IsADirectory,
    DirectoryNotEmpty,
    InvalidRequest,
    /// The path resolves outside the connection's root (through a symlink).
    OutsideRoot,
    /// `commit`'s `if_match` no longer holds.
    PreconditionFailed,
    #[default]
    Other,
}

impl FilesResponse {
    /// The request this answers (`None` for a frame about no particular request).
    pub fn request_id(&self) -> Option<u64> {
        match self {
            FilesResponse::Entries { request_id, .. }
            | FilesResponse::Data { request_id, .. }
            | FilesResponse::Info { request_id, .. }
            | FilesResponse::Done { request_id }
            | FilesResponse::Link { request_id, .. } => Some(*request_id),
            FilesResponse::Error { request_id, .. } => *request_id,
        }
    }
}
