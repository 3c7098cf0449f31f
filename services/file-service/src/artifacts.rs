//! Artifacts: one file of a session's workspace copied to S3
//! (`artifacts/<org_id>/<artifact_id>/<file name>`) and shared by presigned GET URLs that
//! expire. Anyone holding the URL can download until it expires; the api decides who may
//! create one.

use crate::caller::Caller;
use crate::routes::{normalise, open, split};
use crate::store::{describe, Upload};
use crate::AppState;
use actix_web::{web, HttpResponse};
use aws_sdk_s3::presigning::PresigningConfig;
use rc_agent_protocol::FileKind;
use rc_errors::AppError;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// Validity when the request names none.
const DEFAULT_EXPIRY_SECS: u64 = 3600;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/internal/v1/artifacts")
            .route("", web::post().to(create))
            .route("/{id}/url", web::post().to(url)),
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    path: String,
    expires_secs: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UrlBody {
    expires_secs: Option<u64>,
}

#[derive(Debug, Serialize)]
struct Shared {
    id: Uuid,
    name: String,
    size_bytes: u64,
    url: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

fn prefix(org_id: Uuid, id: Uuid) -> String {
    format!("artifacts/{org_id}/{id}/")
}

fn expiry(state: &AppState, asked: Option<u64>) -> Result<Duration, AppError> {
    let secs = asked.unwrap_or(DEFAULT_EXPIRY_SECS.min(state.settings.max_presign_secs));
    if secs == 0 || secs > state.settings.max_presign_secs {
        return Err(AppError::validation(
            "expires_secs",
            format!(
                "must be between 1 and {} seconds",
                state.settings.max_presign_secs
            ),
        ));
    }
    Ok(Duration::from_secs(secs))
}

async fn presign(state: &AppState, key: &str, expires: Duration) -> Result<String, AppError> {
    let config = PresigningConfig::expires_in(expires).map_err(AppError::internal)?;
    let request = state
        .s3
        .get_object()
        .bucket(&state.bucket)
        .key(key)
        .presigned(config)
        .await
        .map_err(|e| AppError::internal(describe(e)))?;
    Ok(request.uri().to_owned())
}

fn expires_at(expires: Duration) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::seconds(i64::try_from(expires.as_secs()).unwrap_or(0))
}

/// POST /internal/v1/artifacts {path, expires_secs?}: copies the file to S3 and answers 201
/// with a presigned URL (default validity 1 hour, at most `file_service.max_presign_secs`).
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let expires = expiry(&state, body.expires_secs)?;
    let mut files = open(&state, &caller, false).await?;
    let path = normalise(&body.path)?;
    let (_, name) = split(&path)?;
    let info = files.stat(&path).await?;
    if info.kind != FileKind::File {
        return Err(AppError::conflict(format!(
            "{path:?} is not a regular file"
        )));
    }
    if info.size > state.settings.max_upload_bytes {
        return Err(AppError::new(
            rc_errors::ErrorCode::PayloadTooLarge,
            format!(
                "the file is larger than the artifact limit of {} bytes",
                state.settings.max_upload_bytes
            ),
        ));
    }
    let id = Uuid::now_v7();
    let key = format!("{}{name}", prefix(caller.org_id, id));
    let mut upload = Upload::new(state.s3.clone(), &state.bucket, &key);
    let copied = async {
        let mut offset = 0u64;
        loop {
            let (data, eof) = files.read(&path, offset).await?;
            offset += data.len() as u64;
            upload
                .push(&data)
                .await
                .map_err(|e| AppError::unavailable("the object store", e))?;
            if eof {
                return Ok::<_, AppError>(());
            }
        }
    }
    .await;
    if let Err(err) = copied {
        upload.abort().await;
        return Err(err);
    }
    let size_bytes = upload
        .finish()
        .await
        .map_err(|e| AppError::unavailable("the object store", e))?;
    let url = presign(&state, &key, expires).await?;
    Ok(HttpResponse::Created().json(Shared {
        id,
        name,
        size_bytes,
        url,
        expires_at: expires_at(expires),
    }))
}

/// POST /internal/v1/artifacts/{id}/url {expires_secs?}: a new URL for an artifact of the
/// caller's organisation (404 for any other).
async fn url(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: Option<web::Json<UrlBody>>,
) -> Result<HttpResponse, AppError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let expires = expiry(&state, body.expires_secs)?;
    let listed = state
        .s3
        .list_objects_v2()
        .bucket(&state.bucket)
        .prefix(prefix(caller.org_id, *id))
        .max_keys(1)
        .send()
        .await
        .map_err(|e| AppError::unavailable("the object store", describe(e)))?;
    let Some(object) = listed.contents().first() else {
        return Err(AppError::not_found("artifact"));
    };
    let key = object.key().unwrap_or_default().to_owned();
    let name = key.rsplit('/').next().unwrap_or_default().to_owned();
    let url = presign(&state, &key, expires).await?;
    Ok(HttpResponse::Ok().json(Shared {
        id: *id,
        name,
        size_bytes: u64::try_from(object.size().unwrap_or(0)).unwrap_or(0),
        url,
        expires_at: expires_at(expires),
    }))
}
