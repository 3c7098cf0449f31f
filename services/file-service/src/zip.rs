//! GET /internal/v1/files/zip?path=<dir>: the folder as a zip, streamed while it is read from
//! the sandbox (entries use data descriptors, so nothing is buffered whole). Regular files and
//! directories are included; symlinks and special files are left out, so an archive never
//! carries a link that could point outside the workspace when unpacked.

use crate::caller::Caller;
use crate::files::Files;
use crate::routes::{join, normalise, open};
use crate::AppState;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipEntryBuilder};
use futures::AsyncWriteExt as _;
use rc_agent_protocol::FileKind;
use rc_errors::AppError;
use serde::Deserialize;
use tokio::io::AsyncWrite;

#[derive(Debug, Deserialize)]
pub struct ZipQuery {
    #[serde(default)]
    path: String,
}

pub async fn download_zip(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ZipQuery>,
) -> Result<HttpResponse, AppError> {
    let mut files = open(&state, &caller, false).await?;
    let dir = normalise(&query.path)?;
    // Fails early (404, 409 "not a directory") before the 200 is sent.
    files.list(&dir).await?;
    let name = match dir.rsplit('/').next() {
        Some(last) if !last.is_empty() => format!("{last}.zip"),
        _ => "workspace.zip".to_owned(),
    };
    let (writer, reader) = tokio::io::duplex(256 * 1024);
    tokio::spawn(async move {
        if let Err(err) = write_zip(&mut files, &dir, writer).await {
            // The client sees a truncated archive (the stream ends early).
            tracing::warn!(%dir, error = %err, "zip download interrupted");
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            header::ContentDisposition::attachment(name),
        ))
        .streaming(tokio_util::io::ReaderStream::new(reader)))
}

/// Writes every file below `dir` (paths inside the zip are relative to `dir`).
pub async fn write_zip<W>(files: &mut Files, dir: &str, out: W) -> anyhow::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut zip = ZipFileWriter::with_tokio(out);
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        let entries = files.list(&join_rel(dir, &rel)).await?;
        for info in entries {
            let rel_path = join(&rel, &info.name);
            match info.kind {
                FileKind::Dir => {
                    let entry =
                        ZipEntryBuilder::new(format!("{rel_path}/").into(), Compression::Stored)
                            .unix_permissions(0o755);
                    zip.write_entry_whole(entry, &[]).await?;
                    pending.push(rel_path);
                }
                FileKind::File => {
                    let entry = ZipEntryBuilder::new(rel_path.clone().into(), Compression::Deflate)
                        .unix_permissions(u16::try_from(info.mode & 0o777).unwrap_or(0o644));
                    let mut stream = zip.write_entry_stream(entry).await?;
                    let source = join_rel(dir, &rel_path);
                    let mut offset = 0u64;
                    loop {
                        let (data, eof) = files.read(&source, offset).await?;
                        offset += data.len() as u64;
                        stream.write_all(&data).await?;
                        if eof {
                            break;
                        }
                    }
                    stream.close().await?;
                }
                FileKind::Symlink | FileKind::Other => {}
            }
        }
    }
    let mut out = zip.close().await?;
    futures::AsyncWriteExt::close(&mut out).await?;
    Ok(())
}

fn join_rel(dir: &str, rel: &str) -> String {
    match (dir.is_empty(), rel.is_empty()) {
        (_, true) => dir.to_owned(),
        (true, false) => rel.to_owned(),
        (false, false) => format!("{dir}/{rel}"),
    }
}
