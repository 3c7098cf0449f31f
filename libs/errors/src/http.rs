//! actix-web integration: `AppError` is a `ResponseError`.

use crate::AppError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        let mut response = response.json(self.body());
        // Tagged so the metrics middleware can count errors by code.
        response.extensions_mut().insert(self.code);
        response
    }
}
