//! Serves the built single-page app: static files from `frontend_dir`, and `index.html` for
//! every other non-API GET so client-side routes survive a reload. Without a built frontend,
//! unknown routes answer a JSON 404.

use actix_web::{web, HttpRequest, HttpResponse};
use std::path::{Path, PathBuf};

pub fn configure(cfg: &mut web::ServiceConfig, dir: &str) {
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
