use super::resource;
use super::PageParams;
use crate::auth::Authz;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use rc_auth::perm;
use rc_domain::audit::{AuditFilter, AuditPage};
use rc_errors::{AppError, AppResult, ErrorBody};
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/audit-logs").get(list))
        .service(resource("/audit-logs/export").get(export));
}

/// The organisation's audit log, newest first.
#[utoipa::path(operation_id = "audit_list", get, path = "/api/v1/audit-logs", tag = "audit", params(AuditFilter, PageParams),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::AuditRead>,
    filter: web::Query<AuditFilter>,
    page: web::Query<PageParams>,
) -> AppResult<HttpResponse> {
    let page = rc_domain::audit::list(
        &state.domain.db,
        &g,
        &filter,
        page.cursor.as_deref(),
        page.limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportFormat {
    /// `csv` (default) or `json`.
    pub format: Option<String>,
}

/// Downloads the filtered audit log (up to 100,000 rows) as CSV or JSON.
#[utoipa::path(operation_id = "audit_export", get, path = "/api/v1/audit-logs/export", tag = "audit", params(AuditFilter, ExportFormat),
    responses((status = 200, description = "CSV or JSON file"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn export(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::AuditRead>,
    filter: web::Query<AuditFilter>,
    format: web::Query<ExportFormat>,
) -> AppResult<HttpResponse> {
    let format = format.format.as_deref().unwrap_or("csv");
    if !matches!(format, "csv" | "json") {
        return Err(AppError::validation("format", "must be csv or json"));
    }
    let rows = rc_domain::audit::export(&state.domain.db, &g, &filter).await?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let (body, content_type) = if format == "csv" {
        (rc_domain::audit::to_csv(&rows)?, "text/csv; charset=utf-8")
    } else {
        (
            serde_json::to_vec(&rows).map_err(AppError::internal)?,
            "application/json",
        )
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"audit-{stamp}.{format}\""),
        ))
        .body(body))
}
