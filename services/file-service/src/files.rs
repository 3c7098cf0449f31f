//! One `files` channel on a sandbox's agent, as typed calls. Paths are relative to the
//! workspace; the agent refuses anything that would leave it. Agent failures become catalogue
//! errors here, in one place.

use rc_agent_protocol::files::{FileErrorKind, MAX_CHUNK_BYTES};
use rc_agent_protocol::{FileInfo, FilesChannel, FilesRequest, FilesResponse};
use rc_errors::{AppError, ErrorCode};

/// Bytes per read/write request (the protocol's limit, well under the 1 MiB frame).
pub const CHUNK: usize = MAX_CHUNK_BYTES as usize;

pub struct Files {
    channel: FilesChannel,
    next_id: u64,
}

impl Files {
    pub fn new(channel: FilesChannel) -> Self {
        Self {
            channel,
            next_id: 1,
        }
    }

    async fn call(
        &mut self,
        request: impl FnOnce(u64) -> FilesRequest,
    ) -> Result<FilesResponse, AppError> {
        let id = self.next_id;
        self.next_id += 1;
        self.channel
            .send(request(id))
            .await
            .map_err(|e| AppError::unavailable("the sandbox agent", e))?;
        let response = match self.channel.recv().await {
            Some(Ok(response)) => response,
            Some(Err(err)) => return Err(AppError::unavailable("the sandbox agent", err)),
            None => {
                return Err(AppError::unavailable(
                    "the sandbox agent",
                    anyhow::anyhow!("the files channel closed"),
                ))
            }
        };
        match response {
            FilesResponse::Error { kind, message, .. } => Err(agent_error(kind, message)),
            other if other.request_id() == Some(id) => Ok(other),
            other => Err(AppError::internal(anyhow::anyhow!(
                "the agent answered request {id} with {other:?}"
            ))),
        }
    }

    pub async fn list(&mut self, path: &str) -> Result<Vec<FileInfo>, AppError> {
        let path = path.to_owned();
        match self
            .call(|request_id| FilesRequest::List { request_id, path })
            .await?
        {
            FilesResponse::Entries { entries, .. } => Ok(entries),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn stat(&mut self, path: &str) -> Result<FileInfo, AppError> {
        let path = path.to_owned();
        match self
            .call(|request_id| FilesRequest::Stat { request_id, path })
            .await?
        {
            FilesResponse::Info { info, .. } => Ok(info),
            other => Err(unexpected(&other)),
        }
    }

    /// Up to [`CHUNK`] bytes from `offset`, and whether the end was reached.
    pub async fn read(&mut self, path: &str, offset: u64) -> Result<(Vec<u8>, bool), AppError> {
        let path = path.to_owned();
        let response = self
            .call(|request_id| FilesRequest::Read {
                request_id,
                path,
                offset,
                len: MAX_CHUNK_BYTES,
            })
            .await?;
        match response {
            FilesResponse::Data { data, eof, .. } => Ok((data, eof)),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn write(
        &mut self,
        path: &str,
        offset: u64,
        data: Vec<u8>,
        create: bool,
        truncate: bool,
    ) -> Result<(), AppError> {
        let path = path.to_owned();
        self.call(|request_id| FilesRequest::Write {
            request_id,
            path,
            offset,
            data,
            create,
            truncate,
        })
        .await
        .map(drop)
    }

    pub async fn mkdir(&mut self, path: &str, parents: bool) -> Result<(), AppError> {
        let path = path.to_owned();
        self.call(|request_id| FilesRequest::Mkdir {
            request_id,
            path,
            parents,
        })
        .await
        .map(drop)
    }

    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), AppError> {
        let (from, to) = (from.to_owned(), to.to_owned());
        self.call(|request_id| FilesRequest::Rename {
            request_id,
            from,
            to,
        })
        .await
        .map(drop)
    }

    pub async fn delete(&mut self, path: &str, recursive: bool) -> Result<(), AppError> {
        let path = path.to_owned();
        self.call(|request_id| FilesRequest::Delete {
            request_id,
            path,
            recursive,
        })
        .await
        .map(drop)
    }

    pub async fn commit(
        &mut self,
        temp: &str,
        path: &str,
        if_match: Option<String>,
        create_only: bool,
    ) -> Result<FileInfo, AppError> {
        let (temp, path) = (temp.to_owned(), path.to_owned());
        let response = self
            .call(|request_id| FilesRequest::Commit {
                request_id,
                temp,
                path,
                if_match,
                create_only,
            })
            .await?;
        match response {
            FilesResponse::Info { info, .. } => Ok(info),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn readlink(&mut self, path: &str) -> Result<String, AppError> {
        let path = path.to_owned();
        match self
            .call(|request_id| FilesRequest::Readlink { request_id, path })
            .await?
        {
            FilesResponse::Link { target, .. } => Ok(target),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn chmod(&mut self, path: &str, mode: u32) -> Result<(), AppError> {
        let path = path.to_owned();
        self.call(|request_id| FilesRequest::Chmod {
            request_id,
            path,
            mode,
        })
        .await
        .map(drop)
    }

    pub async fn symlink(&mut self, path: &str, target: &str) -> Result<(), AppError> {
        let (path, target) = (path.to_owned(), target.to_owned());
        self.call(|request_id| FilesRequest::Symlink {
            request_id,
            path,
            target,
        })
        .await
        .map(drop)
    }
}

fn unexpected(response: &FilesResponse) -> AppError {
    AppError::internal(anyhow::anyhow!("unexpected agent answer {response:?}"))
}

/// The agent's messages name the path relative to the workspace and the OS error: safe to
/// show, and what the user needs to fix the request.
fn agent_error(kind: FileErrorKind, message: String) -> AppError {
    match kind {
        FileErrorKind::NotFound => AppError::new(ErrorCode::NotFound, message),
        FileErrorKind::PermissionDenied => AppError::forbidden(message),
        FileErrorKind::OutsideRoot => AppError::forbidden(message),
        FileErrorKind::AlreadyExists
        | FileErrorKind::NotADirectory
        | FileErrorKind::IsADirectory
        | FileErrorKind::DirectoryNotEmpty => AppError::conflict(message),
        FileErrorKind::InvalidRequest => AppError::validation("path", message),
        FileErrorKind::PreconditionFailed => AppError::new(ErrorCode::PreconditionFailed, message),
        FileErrorKind::Other => AppError::internal(anyhow::anyhow!("sandbox agent: {message}")),
    }
}
