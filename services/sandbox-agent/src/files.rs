//! The `files` channel: file operations inside the sandbox, as the sandbox user. Requests are
//! answered in order, each with its `request_id`.

use rc_agent_protocol::files::{FileErrorKind, MAX_CHUNK_BYTES};
use rc_agent_protocol::frame::{FrameReader, FrameWriter};
use rc_agent_protocol::mux::MuxStream;
use rc_agent_protocol::{Channel, FileInfo, FileKind, FilesRequest, FilesResponse, ProtocolError};
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::UNIX_EPOCH;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};

pub(crate) async fn serve(stream: MuxStream) {
    let limit = Channel::Files.max_frame_bytes();
    let (read, write) = tokio::io::split(stream);
    let mut reader = FrameReader::new(read, limit);
    let mut writer = FrameWriter::new(write, limit);
    while let Some(request) = reader.recv::<FilesRequest>().await {
        let response = match request {
            Ok(request) => {
                let request_id = request.request_id();
                handle(request)
                    .await
                    .unwrap_or_else(|(kind, message)| FilesResponse::Error {
                        request_id: Some(request_id),
                        kind,
                        message,
                    })
            }
            Err(ProtocolError::Json(err)) => FilesResponse::Error {
                request_id: None,
                kind: FileErrorKind::InvalidRequest,
                message: format!("malformed request: {err}"),
            },
            Err(err) => {
                tracing::debug!(error = %err, "files channel read failed");
                break;
            }
        };
        if writer.send(&response).await.is_err() {
            break;
        }
    }
    let _ = writer.close().await;
}

type Failure = (FileErrorKind, String);

async fn handle(request: FilesRequest) -> Result<FilesResponse, Failure> {
    match request {
        FilesRequest::List { request_id, path } => {
            let path = absolute(&path)?;
            let mut dir = tokio::fs::read_dir(path).await.map_err(io(path))?;
            let mut entries = Vec::new();
            while let Some(entry) = dir.next_entry().await.map_err(io(path))? {
                // An entry deleted since the listing started is simply left out.
                if let Ok(metadata) = tokio::fs::symlink_metadata(entry.path()).await {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    entries.push(info(name, &metadata));
                }
            }
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(FilesResponse::Entries {
                request_id,
                entries,
            })
        }
        FilesRequest::Read {
            request_id,
            path,
            offset,
            len,
        } => {
            let path = absolute(&path)?;
            let len = chunk_len(len)?;
            let mut file = tokio::fs::File::open(path).await.map_err(io(path))?;
            file.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(io(path))?;
            let mut data = vec![0u8; len];
            let mut filled = 0;
            let mut eof = false;
            while filled < len {
                let n = file.read(&mut data[filled..]).await.map_err(io(path))?;
                if n == 0 {
                    eof = true;
                    break;
                }
                filled += n;
            }
            data.truncate(filled);
            Ok(FilesResponse::Data {
                request_id,
                data,
                eof,
            })
        }
        FilesRequest::Write {
            request_id,
            path,
            offset,
            data,
            create,
            truncate,
        } => {
            let path = absolute(&path)?;
            chunk_len(u32::try_from(data.len()).unwrap_or(u32::MAX))?;
            let mut file = tokio::fs::OpenOptions::new()
                .write(true)
                .create(create)
                .truncate(truncate)
                .open(path)
                .await
                .map_err(io(path))?;
            file.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(io(path))?;
            file.write_all(&data).await.map_err(io(path))?;
            file.flush().await.map_err(io(path))?;
            Ok(FilesResponse::Done { request_id })
        }
        FilesRequest::Stat { request_id, path } => {
            let path = absolute(&path)?;
            let metadata = tokio::fs::symlink_metadata(path).await.map_err(io(path))?;
            let name = path
                .file_name()
                .map_or_else(|| "/".to_owned(), |n| n.to_string_lossy().into_owned());
            Ok(FilesResponse::Info {
                request_id,
                info: info(name, &metadata),
            })
        }
        FilesRequest::Mkdir {
            request_id,
            path,
            parents,
        } => {
            let path = absolute(&path)?;
            let created = if parents {
                tokio::fs::create_dir_all(path).await
            } else {
                tokio::fs::create_dir(path).await
            };
            created.map_err(io(path))?;
            Ok(FilesResponse::Done { request_id })
        }
        FilesRequest::Rename {
            request_id,
            from,
            to,
        } => {
            let from = absolute(&from)?;
            let to = absolute(&to)?;
            tokio::fs::rename(from, to).await.map_err(io(from))?;
            Ok(FilesResponse::Done { request_id })
        }
        FilesRequest::Delete {
            request_id,
            path,
            recursive,
        } => {
            let path = absolute(&path)?;
            let metadata = tokio::fs::symlink_metadata(path).await.map_err(io(path))?;
            let removed = match (metadata.is_dir(), recursive) {
                (true, true) => tokio::fs::remove_dir_all(path).await,
                (true, false) => tokio::fs::remove_dir(path).await,
                (false, _) => tokio::fs::remove_file(path).await,
            };
            removed.map_err(io(path))?;
            Ok(FilesResponse::Done { request_id })
        }
    }
}

/// Relative paths would depend on the agent's own working directory, which means nothing to
/// the controller.
fn absolute(path: &str) -> Result<&Path, Failure> {
    let path = Path::new(path);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err((
            FileErrorKind::InvalidRequest,
            format!("path {path:?} is not absolute"),
        ))
    }
}

fn chunk_len(len: u32) -> Result<usize, Failure> {
    if len > MAX_CHUNK_BYTES {
        return Err((
            FileErrorKind::InvalidRequest,
            format!("chunks are limited to {MAX_CHUNK_BYTES} bytes, got {len}"),
        ));
    }
    usize::try_from(len).map_err(|_| (FileErrorKind::InvalidRequest, "bad length".to_owned()))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |err| {
        let kind = match err.kind() {
            ErrorKind::NotFound => FileErrorKind::NotFound,
            ErrorKind::PermissionDenied => FileErrorKind::PermissionDenied,
            ErrorKind::AlreadyExists => FileErrorKind::AlreadyExists,
            ErrorKind::NotADirectory => FileErrorKind::NotADirectory,
            ErrorKind::IsADirectory => FileErrorKind::IsADirectory,
            ErrorKind::DirectoryNotEmpty => FileErrorKind::DirectoryNotEmpty,
            _ => FileErrorKind::Other,
        };
        (kind, format!("{}: {err}", path.display()))
    }
}

fn info(name: String, metadata: &std::fs::Metadata) -> FileInfo {
    let file_type = metadata.file_type();
    let kind = if file_type.is_symlink() {
        FileKind::Symlink
    } else if file_type.is_dir() {
        FileKind::Dir
    } else if file_type.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    let modified_ms = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0);
    FileInfo {
        name,
        kind,
        size: metadata.len(),
        mode: metadata.permissions().mode() & 0o7777,
        modified_ms,
    }
}
