//! The `files` channel: request/response file operations inside the sandbox, run as the
//! sandbox user. Paths must be absolute. Requests carry a controller-chosen `request_id` that
//! the response repeats; the agent answers them in order, so several may be in flight.
//! Contents move in chunks that fit the 1 MiB frame limit ([`MAX_CHUNK_BYTES`] before base64).

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
            | FilesRequest::Delete { request_id, .. } => *request_id,
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
    #[default]
    Other,
}
