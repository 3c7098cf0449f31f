//! The `files` channel: file operations inside the sandbox, as the sandbox user. Requests are
//! answered in order, each with its `request_id`.
//!
//! Two scopes. The controller's channel takes absolute paths anywhere the sandbox user can
//! reach (the container is the boundary). A connection with the `files` role (file-service)
//! gets a channel **confined to its root** (`/workspace`): paths are relative, `..` and
//! absolute paths are refused outright, and every path is resolved by the kernel with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` from a descriptor of the root, so a
//! symlink (or a chain of them, or one swapped in mid-request) can never lead outside it.
//! Operations on a path's last component (stat, delete, rename, symlink) work on that name
//! inside its confined parent directory and never follow it.

use rc_agent_protocol::files::{FileErrorKind, MAX_CHUNK_BYTES};
use rc_agent_protocol::frame::{FrameReader, FrameWriter};
use rc_agent_protocol::mux::MuxStream;
use rc_agent_protocol::{Channel, FileInfo, FileKind, FilesRequest, FilesResponse, ProtocolError};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, RenameFlags, ResolveFlags, CWD};
use rustix::io::Errno;
use sha2::{Digest as _, Sha256};
use std::io::Read as _;
use std::os::unix::fs::{FileExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::UNIX_EPOCH;

/// Longest accepted request path and path component (Linux's PATH_MAX and NAME_MAX).
const MAX_PATH_BYTES: usize = 4096;
const MAX_NAME_BYTES: usize = 255;

/// Serialises every `commit` of this agent process, so two writers holding the same etag
/// cannot both pass the check: the second one sees the first one's content.
static COMMIT_LOCK: Mutex<()> = Mutex::new(());

/// Where a channel's paths may lead.
#[derive(Clone)]
pub(crate) enum Scope {
    /// The controller: absolute paths, anywhere the sandbox user can reach.
    Anywhere,
    /// A `files` role connection: relative paths, beneath this directory only.
    Beneath(Arc<OwnedFd>),
}

impl Scope {
    /// Opens `root` (absolute, a directory) for a confined channel.
    pub(crate) fn beneath(root: &str) -> Result<Self, String> {
        if !root.starts_with('/') {
            return Err(format!("the files root {root:?} is not an absolute path"));
        }
        let fd = rustix::fs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|err| format!("cannot open the files root {root:?}: {err}"))?;
        Ok(Self::Beneath(Arc::new(fd)))
    }
}

pub(crate) async fn serve(stream: MuxStream, scope: Scope) {
    let limit = Channel::Files.max_frame_bytes();
    let (read, write) = tokio::io::split(stream);
    let mut reader = FrameReader::new(read, limit);
    let mut writer = FrameWriter::new(write, limit);
    while let Some(request) = reader.recv::<FilesRequest>().await {
        let response = match request {
            Ok(request) => {
                let request_id = request.request_id();
                let scope = scope.clone();
                // Every operation is a handful of blocking syscalls (and hashing reads whole
                // files): off the async workers.
                let handled = tokio::task::spawn_blocking(move || handle(&scope, request)).await;
                handled
                    .unwrap_or_else(|err| Err((FileErrorKind::Other, format!("{err}"))))
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

fn invalid(message: String) -> Failure {
    (FileErrorKind::InvalidRequest, message)
}

fn handle(scope: &Scope, request: FilesRequest) -> Result<FilesResponse, Failure> {
    match request {
        FilesRequest::List { request_id, path } => {
            let dir = scope.open(&path, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
            let fail = |err| scope.fail(&path, err);
            let mut entries = Vec::new();
            for entry in Dir::read_from(&dir).map_err(fail)? {
                let entry = entry.map_err(fail)?;
                let name = entry.file_name().to_bytes();
                if name == b"." || name == b".." {
                    continue;
                }
                let name = String::from_utf8_lossy(name).into_owned();
                // An entry deleted since the listing started is simply left out.
                if let Ok(metadata) = metadata_at(&dir, &name) {
                    entries.push(info(name, &metadata, None));
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
            let len = chunk_len(len)?;
            // NONBLOCK: opening a FIFO must not hang the channel.
            let file = std::fs::File::from(scope.open(
                &path,
                OFlags::RDONLY | OFlags::NONBLOCK,
                Mode::empty(),
            )?);
            let mut data = vec![0u8; len];
            let mut filled = 0;
            let mut eof = false;
            while filled < len {
                let n = file
                    .read_at(&mut data[filled..], offset + filled as u64)
                    .map_err(|e| scope.fail_io(&path, &e))?;
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
            chunk_len(u32::try_from(data.len()).unwrap_or(u32::MAX))?;
            let mut flags = OFlags::WRONLY | OFlags::NONBLOCK;
            if create {
                flags |= OFlags::CREATE;
            }
            if truncate {
                flags |= OFlags::TRUNC;
            }
            let file = std::fs::File::from(scope.open(&path, flags, Mode::from(0o644))?);
            file.write_all_at(&data, offset)
                .map_err(|e| scope.fail_io(&path, &e))?;
            Ok(FilesResponse::Done { request_id })
        }
        FilesRequest::Stat { request_id, path } => Ok(FilesResponse::Info {
            request_id,
            info: scope.stat(&path)?,
        }),
        FilesRequest::Mkdir {
            request_id,
            path,
            parents,
        } => {
            scope.mkdir(&path, parents)?;
            Ok(FilesResponse::Done { request_id })
        }
        FilesRequest::Rename {
            request_id,
            from,
            to,
        } => {
            let (from_dir, from_name) = scope.parent(&from)?;
            let (to_dir, to_name) = scope.parent(&to)?;
            // Confined channels never replace: a rename onto an existing name is a conflict
            // the user should see, not a silent loss.
            let flags = match scope {
                Scope::Anywhere => RenameFlags::empty(),
                Scope::Beneath(_) => RenameFlags::NOREPLACE,
            };
            rustix::fs::renameat_with(&from_dir, &from_name, &to_dir, &to_name, flags)
                .map_err(|e| scope.fail(&from, e))?;
            Ok(FilesResponse::Done { request_id })
        }
        FilesRequest::Delete {
            request_id,
            path,
            recursive,
        } => {
            let (dir, name) = scope.parent(&path)?;
            let fail = |err| scope.fail(&path, err);
            let metadata = metadata_at(&dir, &name).map_err(fail)?;
            if metadata.is_dir() {
                if recursive {
                    let sub = rustix::fs::openat(
                        &dir,
                        name.as_str(),
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(fail)?;
                    remove_tree(&sub).map_err(fail)?;
                }
                rustix::fs::unlinkat(&dir, name.as_str(), AtFlags::REMOVEDIR).map_err(fail)?;
            } else {
                rustix::fs::unlinkat(&dir, name.as_str(), AtFlags::empty()).map_err(fail)?;
            }
            Ok(FilesResponse::Done { request_id })
        }
        FilesRequest::Commit {
            request_id,
            temp,
            path,
            if_match,
            create_only,
        } => Ok(FilesResponse::Info {
            request_id,
            info: scope.commit(&temp, &path, if_match.as_deref(), create_only)?,
        }),
        FilesRequest::Readlink { request_id, path } => {
            let (dir, name) = scope.parent(&path)?;
            let target = rustix::fs::readlinkat(&dir, name.as_str(), Vec::new())
                .map_err(|e| scope.fail(&path, e))?;
            Ok(FilesResponse::Link {
                request_id,
                target: target.to_string_lossy().into_owned(),
            })
        }
        FilesRequest::Chmod {
            request_id,
            path,
            mode,
        } => {
            // Through a descriptor of the entry itself (never following a final symlink):
            // fchmodat would follow one, possibly out of the root.
            let (dir, name) = scope.parent(&path)?;
            let metadata = metadata_at(&dir, &name).map_err(|e| scope.fail(&path, e))?;
            if metadata.is_symlink() {
                return Err(invalid(format!("{path}: is a symlink; links have no mode")));
            }
            let fd = rustix::fs::openat(
                &dir,
                name.as_str(),
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| scope.fail(&path, e))?;
            rustix::fs::fchmod(&fd, Mode::from(mode & 0o777)).map_err(|e| scope.fail(&path, e))?;
            Ok(FilesResponse::Done { request_id })
        }
        FilesRequest::Symlink {
            request_id,
            path,
            target,
        } => {
            if target.contains('\0') {
                return Err(invalid("the symlink target contains a NUL byte".to_owned()));
            }
            let (dir, name) = scope.parent(&path)?;
            rustix::fs::symlinkat(target.as_str(), &dir, name.as_str())
                .map_err(|e| scope.fail(&path, e))?;
            Ok(FilesResponse::Done { request_id })
        }
    }
}

impl Scope {
    /// Opens `path` itself (following symlinks, beneath the root when confined).
    fn open(&self, path: &str, flags: OFlags, mode: Mode) -> Result<OwnedFd, Failure> {
        let flags = flags | OFlags::CLOEXEC;
        // openat2 refuses (EINVAL) a mode without O_CREAT, where openat ignored it.
        let mode = if flags.contains(OFlags::CREATE) {
            mode
        } else {
            Mode::empty()
        };
        let opened = match self {
            Scope::Anywhere => rustix::fs::openat(CWD, absolute(path)?, flags, mode),
            Scope::Beneath(root) => {
                let parts = components(path)?;
                open_beneath(root, &parts, flags, mode)
            }
        };
        opened.map_err(|e| self.fail(path, e))
    }

    /// The directory holding `path`'s last component (opened `O_PATH`) and that component.
    fn parent(&self, path: &str) -> Result<(OwnedFd, String), Failure> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match self {
            Scope::Anywhere => {
                let p = absolute(path)?;
                let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else {
                    return Err(invalid(format!("{path:?} has no last component")));
                };
                let dir = rustix::fs::open(parent, flags, Mode::empty())
                    .map_err(|e| self.fail(path, e))?;
                Ok((dir, name.to_string_lossy().into_owned()))
            }
            Scope::Beneath(root) => {
                let parts = components(path)?;
                let Some((name, parent)) = parts.split_last() else {
                    return Err(invalid(
                        "the workspace root itself cannot be changed".to_owned(),
                    ));
                };
                let dir = open_beneath(root, parent, flags, Mode::empty())
                    .map_err(|e| self.fail(path, e))?;
                Ok((dir, (*name).to_owned()))
            }
        }
    }

    /// `path`'s own metadata (a symlink is not followed); regular files get their etag.
    fn stat(&self, path: &str) -> Result<FileInfo, Failure> {
        let (metadata, name, dir) = match self {
            Scope::Beneath(root) if components(path)?.is_empty() => {
                let metadata =
                    std::fs::File::from(root.as_fd().try_clone_to_owned().map_err(|e| {
                        (FileErrorKind::Other, format!("cannot use the root: {e}"))
                    })?)
                    .metadata()
                    .map_err(|e| self.fail_io(path, &e))?;
                return Ok(info(String::new(), &metadata, None));
            }
            Scope::Anywhere if path == "/" => {
                let metadata =
                    std::fs::symlink_metadata("/").map_err(|e| self.fail_io(path, &e))?;
                return Ok(info("/".to_owned(), &metadata, None));
            }
            _ => {
                let (dir, name) = self.parent(path)?;
                let metadata = metadata_at(&dir, &name).map_err(|e| self.fail(path, e))?;
                (metadata, name, dir)
            }
        };
        let etag = if metadata.is_file() {
            Some(etag_at(&dir, &name).map_err(|e| self.fail(path, e))?)
        } else {
            None
        };
        Ok(info(name, &metadata, etag))
    }

    fn mkdir(&self, path: &str, parents: bool) -> Result<(), Failure> {
        let mode = Mode::from(0o755);
        match self {
            Scope::Anywhere => {
                let path_ref = absolute(path)?;
                let made = if parents {
                    std::fs::create_dir_all(path_ref)
                } else {
                    std::fs::create_dir(path_ref)
                };
                made.map_err(|e| self.fail_io(path, &e))
            }
            Scope::Beneath(root) => {
                let parts = components(path)?;
                if parts.is_empty() {
                    return Err((
                        FileErrorKind::AlreadyExists,
                        "the workspace root exists".to_owned(),
                    ));
                }
                let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
                let first = if parents { 0 } else { parts.len() - 1 };
                for depth in first..parts.len() {
                    let parent = open_beneath(root, &parts[..depth], dir_flags, Mode::empty())
                        .map_err(|e| self.fail(path, e))?;
                    match rustix::fs::mkdirat(&parent, parts[depth], mode) {
                        Ok(()) => {}
                        // An existing directory on the way is fine with `parents`; a file
                        // there fails at the next step's O_DIRECTORY.
                        Err(Errno::EXIST) if parents => {}
                        Err(err) => return Err(self.fail(path, err)),
                    }
                }
                open_beneath(root, &parts, dir_flags, Mode::empty())
                    .map(drop)
                    .map_err(|e| self.fail(path, e))
            }
        }
    }

    fn commit(
        &self,
        temp: &str,
        path: &str,
        if_match: Option<&str>,
        create_only: bool,
    ) -> Result<FileInfo, Failure> {
        let _serialised = COMMIT_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let (temp_dir, temp_name) = self.parent(temp)?;
        let (dir, name) = self.parent(path)?;
        let refuse = |message: String| {
            // The caller's temp file is useless now; best effort, it removes it too.
            let _ = rustix::fs::unlinkat(&temp_dir, temp_name.as_str(), AtFlags::empty());
            (FileErrorKind::PreconditionFailed, message)
        };
        if create_only {
            rustix::fs::renameat_with(
                &temp_dir,
                temp_name.as_str(),
                &dir,
                name.as_str(),
                RenameFlags::NOREPLACE,
            )
            .map_err(|e| self.fail(path, e))?;
        } else {
            let current = match metadata_at(&dir, &name) {
                Ok(metadata) => Some(metadata),
                Err(Errno::NOENT) => None,
                Err(err) => return Err(self.fail(path, err)),
            };
            if let Some(expected) = if_match {
                match &current {
                    None => return Err(refuse(format!("{path}: no longer exists"))),
                    Some(metadata) if !metadata.is_file() => {
                        return Err(refuse(format!("{path}: is not a regular file")));
                    }
                    Some(_) => {
                        let actual = etag_at(&dir, &name).map_err(|e| self.fail(path, e))?;
                        if actual != expected {
                            return Err(refuse(format!(
                                "{path}: changed since it was read (etag {actual}, expected {expected})"
                            )));
                        }
                    }
                }
            }
            // The replacement keeps the file's permission bits (an edited script stays
            // executable).
            if let Some(metadata) = current.as_ref().filter(|m| m.is_file()) {
                let temp_fd = rustix::fs::openat(
                    &temp_dir,
                    temp_name.as_str(),
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| self.fail(temp, e))?;
                rustix::fs::fchmod(&temp_fd, Mode::from(metadata.mode() & 0o7777))
                    .map_err(|e| self.fail(temp, e))?;
            }
            rustix::fs::renameat(&temp_dir, temp_name.as_str(), &dir, name.as_str())
                .map_err(|e| self.fail(path, e))?;
        }
        let metadata = metadata_at(&dir, &name).map_err(|e| self.fail(path, e))?;
        let etag = etag_at(&dir, &name).map_err(|e| self.fail(path, e))?;
        Ok(info(name, &metadata, Some(etag)))
    }

    fn fail(&self, path: &str, err: Errno) -> Failure {
        let kind = match err {
            Errno::NOENT => FileErrorKind::NotFound,
            Errno::ACCESS | Errno::PERM | Errno::ROFS => FileErrorKind::PermissionDenied,
            Errno::EXIST => FileErrorKind::AlreadyExists,
            Errno::NOTDIR => FileErrorKind::NotADirectory,
            Errno::ISDIR => FileErrorKind::IsADirectory,
            Errno::NOTEMPTY => FileErrorKind::DirectoryNotEmpty,
            Errno::NAMETOOLONG | Errno::INVAL => FileErrorKind::InvalidRequest,
            // RESOLVE_BENEATH answers EXDEV when resolution would leave the root, ELOOP for
            // a magic link (/proc/self/root…).
            Errno::XDEV | Errno::LOOP if matches!(self, Scope::Beneath(_)) => {
                return (
                    FileErrorKind::OutsideRoot,
                    format!("{path}: resolves outside the workspace (through a symlink)"),
                );
            }
            Errno::NOSYS => {
                return (
                    FileErrorKind::Other,
                    "openat2 is not available (Linux 5.6 or later and a seccomp profile that \
                     allows it are needed)"
                        .to_owned(),
                );
            }
            _ => FileErrorKind::Other,
        };
        (kind, format!("{path}: {}", std::io::Error::from(err)))
    }

    fn fail_io(&self, path: &str, err: &std::io::Error) -> Failure {
        match err.raw_os_error() {
            Some(code) => self.fail(path, Errno::from_raw_os_error(code)),
            None => (FileErrorKind::Other, format!("{path}: {err}")),
        }
    }
}

/// A confined request path as components: relative, no `..`, no NUL, bounded lengths. `.` and
/// empty components (`a//b`, a trailing `/`) are dropped; no component means the root itself.
fn components(path: &str) -> Result<Vec<&str>, Failure> {
    if path.contains('\0') {
        return Err(invalid("the path contains a NUL byte".to_owned()));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(invalid(format!(
            "the path is {} bytes long; the limit is {MAX_PATH_BYTES}",
            path.len()
        )));
    }
    if path.starts_with('/') {
        return Err(invalid(format!(
            "{path:?} is absolute; paths are relative to the workspace"
        )));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(invalid(format!(
                    "{path:?} contains `..`; paths may not leave their directory"
                )));
            }
            long if long.len() > MAX_NAME_BYTES => {
                return Err(invalid(format!(
                    "a path component is {} bytes long; the limit is {MAX_NAME_BYTES}",
                    long.len()
                )));
            }
            name => parts.push(name),
        }
    }
    Ok(parts)
}

/// The kernel resolves `parts` from `root` and fails (EXDEV) as soon as any step — a `..`
/// inside a symlink's target, an absolute symlink, a magic link — would leave it. This is
/// race-free: there is no window between a check and the use of the path.
fn open_beneath(
    root: &OwnedFd,
    parts: &[&str],
    flags: OFlags,
    mode: Mode,
) -> rustix::io::Result<OwnedFd> {
    let path = if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    };
    rustix::fs::openat2(
        root,
        path.as_str(),
        flags | OFlags::CLOEXEC,
        mode,
        ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
    )
}

/// Relative paths would depend on the agent's own working directory, which means nothing to
/// the controller.
fn absolute(path: &str) -> Result<&Path, Failure> {
    let p = Path::new(path);
    if path.contains('\0') {
        Err(invalid("the path contains a NUL byte".to_owned()))
    } else if p.is_absolute() {
        Ok(p)
    } else {
        Err(invalid(format!("path {path:?} is not absolute")))
    }
}

/// `name`'s metadata inside `dir`, not following a symlink (an `O_PATH | O_NOFOLLOW`
/// descriptor's fstat describes the link itself).
fn metadata_at(dir: &OwnedFd, name: &str) -> rustix::io::Result<std::fs::Metadata> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    std::fs::File::from(fd)
        .metadata()
        .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))
}

/// Lowercase hex SHA-256 of the regular file `name` in `dir` (not following a symlink).
fn etag_at(dir: &OwnedFd, name: &str) -> rustix::io::Result<String> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut file = std::fs::File::from(fd);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Empties the directory `dir` without following any symlink inside it.
fn remove_tree(dir: &OwnedFd) -> rustix::io::Result<()> {
    let mut names = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_owned();
        if name.as_bytes() != b"." && name.as_bytes() != b".." {
            names.push(name);
        }
    }
    for name in names {
        let stat = rustix::fs::statat(dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
            let sub = rustix::fs::openat(
                dir,
                name.as_c_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            remove_tree(&sub)?;
            rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::REMOVEDIR)?;
        } else {
            rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::empty())?;
        }
    }
    Ok(())
}

fn chunk_len(len: u32) -> Result<usize, Failure> {
    if len > MAX_CHUNK_BYTES {
        return Err(invalid(format!(
            "chunks are limited to {MAX_CHUNK_BYTES} bytes, got {len}"
        )));
    }
    usize::try_from(len).map_err(|_| invalid("bad length".to_owned()))
}

fn info(name: String, metadata: &std::fs::Metadata, etag: Option<String>) -> FileInfo {
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
        etag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confined_paths_refuse_escapes_before_touching_the_disk() {
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "a/../../x",
            "a/..",
            "..",
            "a\0b",
        ] {
            let err = components(bad).expect_err(bad);
            assert_eq!(err.0, FileErrorKind::InvalidRequest, "{bad}: {}", err.1);
        }
        let long = "x".repeat(256);
        assert!(components(&long).is_err());
        assert!(components(&"a/".repeat(2049)).is_err());
        assert_eq!(components("").expect("root"), Vec::<&str>::new());
        assert_eq!(components("./a//b/").expect("ok"), vec!["a", "b"]);
        // Percent-encoding is the HTTP layer's business: here it is a literal name.
        assert_eq!(components("%2e%2e/x").expect("ok"), vec!["%2e%2e", "x"]);
    }
}
