//! Serves the built single-page app: static files from `frontend_dir`, and `index.html` for
//! every other non-API GET so client-side routes survive a reload, and the PWA's service worker
//! (`/sw.js`) and manifest (`/manifest.webmanifest`) from the build's root. Without a built
//! frontend, unknown routes answer a JSON 404.
//!
//! No Content-Security-Policy is set for the app (only the approval page has one), so nothing
//! here restricts the service worker (`worker-src`) or Monaco's same-origin and `blob:`
//! workers; a CSP added later must allow `worker-src 'self' blob:` (tests/api/contract.rs
//! checks this).

use actix_web::{web, HttpRequest, HttpResponse};
use std::path::{Path, PathBuf};

pub fn configure(cfg: &mut web::ServiceConfig, dir: &str) {
    // The PWA's files live at the root of the build (a service worker controls only the
    // paths below its own URL, so it cannot sit under `/assets`). Absent files answer the
    // JSON 404, never the app shell.
    let root = web::Data::new(Root(PathBuf::from(dir)));
    cfg.service(
        super::resource("/sw.js")
            .app_data(root.clone())
            .get(service_worker),
    )
    .service(
        super::resource("/manifest.webmanifest")
            .app_data(root)
            .get(manifest),
    );
    let index = Path::new(dir).join("index.html");
    if !dir.is_empty() && index.is_file() {
        let dir = PathBuf::from(dir);
        cfg.service(actix_files::Files::new("/assets", dir.join("assets")).prefer_utf8(true))
            .app_data(web::Data::new(Index(index)))
            .default_service(web::to(spa));
    } else {
        cfg.default_service(web::to(crate::errors::route_not_found));
    }
}

struct Index(PathBuf);

async fn spa(req: HttpRequest, index: web::Data<Index>) -> actix_web::Result<HttpResponse> {
    if req.method() != actix_web::http::Method::GET || req.path().starts_with("/api/") {
        return crate::errors::route_not_found(req).await;
    }
    let html = tokio::fs::read(&index.0).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

struct Root(PathBuf);

/// A file at the root of the built frontend, or the JSON 404 when there is none.
async fn root_file(
    req: &HttpRequest,
    root: &Root,
    name: &str,
) -> actix_web::Result<Option<Vec<u8>>> {
    if root.0.as_os_str().is_empty() {
        return Ok(None);
    }
    match tokio::fs::read(root.0.join(name)).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => {
            tracing::warn!(path = req.path(), %err, "frontend file unreadable");
            Err(err.into())
        }
    }
}

/// `GET /sw.js`: the service worker. `no-cache` so browsers check for a new version on every
/// navigation (they cap it at 24 h anyway); `Service-Worker-Allowed: /` lets it control the
/// whole origin.
async fn service_worker(
    req: HttpRequest,
    root: web::Data<Root>,
) -> actix_web::Result<HttpResponse> {
    match root_file(&req, &root, "sw.js").await? {
        Some(body) => Ok(HttpResponse::Ok()
            .content_type("text/javascript; charset=utf-8")
            .insert_header(("cache-control", "no-cache"))
            .insert_header(("service-worker-allowed", "/"))
            .body(body)),
        None => crate::errors::route_not_found(req).await,
    }
}

/// `GET /manifest.webmanifest`: the web app manifest (installable app: name, icons, start URL).
async fn manifest(req: HttpRequest, root: web::Data<Root>) -> actix_web::Result<HttpResponse> {
    match root_file(&req, &root, "manifest.webmanifest").await? {
        Some(body) => Ok(HttpResponse::Ok()
            .content_type("application/manifest+json")
            .insert_header(("cache-control", "no-cache"))
            .body(body)),
        None => crate::errors::route_not_found(req).await,
    }
}
