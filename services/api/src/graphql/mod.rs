//! GraphQL over the same domain functions as REST. Each resolver declares its permission with
//! a [`Require`] guard in its signature and obtains the matching `Granted` from the context.

mod schema;

pub use schema::{build_schema, ApiSchema};

use crate::auth::extract::{authenticate, request_meta, requested_org, Caller};
use crate::auth::live::LiveCaller;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextSubscribe,
};
use async_graphql::http::MultipartOptions;
use async_graphql::{ErrorExtensionValues, ParseRequestError, Response, ServerError};
use async_graphql_actix_web::GraphQLResponse;
use futures::stream::BoxStream;
use futures::StreamExt as _;
use rc_auth::RequestMeta;
use rc_errors::{AppError, ErrorCode};
use uuid::Uuid;

/// Per-request context: who is calling (authentication is done before execution; the
/// organisation and permission are resolved per resolver).
pub struct GqlCaller {
    pub caller: Result<Caller, AppError>,
    pub org: Option<Uuid>,
    pub meta: RequestMeta,
    /// Over a WebSocket: proves the caller again for every operation and ends subscriptions
    /// whose caller lost access (the connection may outlive their rights).
    pub live: Option<LiveCaller>,
}

pub async fn handler(
    req: HttpRequest,
    state: web::Data<AppState>,
    schema: web::Data<ApiSchema>,
    payload: web::Payload,
) -> Result<GraphQLResponse, AppError> {
    let mut request = read_request(&req, payload, state.settings().api.max_body_bytes).await?;
    let caller = authenticate(&req, &state).await;
    let org = requested_org(&req);
    let response = match org {
        Err(err) => Response::from_errors(vec![to_server_error(&err)]),
        Ok(org) => {
            request = request
                .data(GqlCaller {
                    caller,
                    org,
                    meta: request_meta(&req),
                    live: None,
                })
                .data(state.get_ref().clone());
            schema.execute(request).await
        }
    };
    Ok(with_error_codes(response).into())
}

/// The request body as a GraphQL request, held to the api's body limit like every REST body
/// (the extractor of async-graphql-actix-web reads any size), with the catalogue's errors.
async fn read_request(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<async_graphql::Request, AppError> {
    let too_large = || {
        AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body exceeds {limit} bytes"),
        )
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::new(
                ErrorCode::MalformedBody,
                format!("could not read the request body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    async_graphql::http::receive_body(
        content_type,
        futures::io::Cursor::new(body.freeze()),
        MultipartOptions::default().max_file_size(limit),
    )
    .await
    .map_err(|err| match err {
        ParseRequestError::PayloadTooLarge => too_large(),
        other => AppError::new(
            ErrorCode::MalformedBody,
            format!("not a GraphQL request: {other}"),
        ),
    })
}

/// The catalogue's code, status and field in every error's `extensions`. Resolvers return
/// `AppError` through `?`, which async-graphql keeps as the error's source. Applying it twice
/// changes nothing (and logs once).
fn with_error_codes(mut response: Response) -> Response {
    for err in &mut response.errors {
        if err.extensions.is_some() {
            continue;
        }
        if let Some(app) = err.source::<AppError>() {
            app.log();
            err.extensions = Some(extensions(app));
        }
    }
    response
}

/// [`with_error_codes`] for every transport: responses to HTTP requests, operations sent over
/// a WebSocket and each item of a subscription.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> std::sync::Arc<dyn Extension> {
        std::sync::Arc::new(ErrorCodes)
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        with_error_codes(next.run(ctx, operation_name).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream).map(with_error_codes).boxed()
    }
}

fn extensions(err: &AppError) -> ErrorExtensionValues {
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", err.code.as_str());
    ext.set("status", err.status());
    if let Some(field) = &err.field {
        ext.set("field", field.as_str());
    }
    ext
}

fn to_server_error(err: &AppError) -> ServerError {
    let mut server = ServerError::new(err.message.clone(), None);
    server.extensions = Some(extensions(err));
    server
}

/// GraphQL over WebSocket (graphql-ws / graphql-transport-ws) for subscriptions. The caller is
/// authenticated at upgrade time (cookie or bearer header) and again for every operation
/// (the connection may outlive their rights; see [`crate::auth::live`]), and a browser upgrade from a
/// foreign `Origin` is refused: WebSockets are not covered by CORS, so without this check any
/// site could open a socket with the user's cookie.
pub async fn websocket(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    schema: web::Data<ApiSchema>,
) -> actix_web::Result<HttpResponse> {
    crate::auth::extract::check_ws_origin(&req, &state)?;
    let caller = authenticate(&req, &state).await?;
    let org = requested_org(&req)?;
    let live = LiveCaller::new(&req, &state, &caller, org)?;
    let mut data = async_graphql::Data::default();
    data.insert(GqlCaller {
        caller: Ok(caller),
        org,
        meta: request_meta(&req),
        live: Some(live),
    });
    data.insert(state.get_ref().clone());
    async_graphql_actix_web::GraphQLSubscription::new(schema.get_ref().clone())
        .with_data(data)
        .start(&req, payload)
}

/// The built frontend's GraphiQL page (`graphiql.html`, bundled by Vite with no CDN), when the
/// frontend is built.
#[derive(Clone)]
pub struct GraphiqlPage(pub Option<std::path::PathBuf>);

/// `GET /graphql`: GraphiQL when the frontend is built, otherwise a small self-contained console
/// (the platform runs offline, so neither may load assets from a CDN).
pub async fn console(page: web::Data<GraphiqlPage>) -> actix_web::Result<HttpResponse> {
    let html = match &page.0 {
        Some(path) => tokio::fs::read(path).await?,
        None => include_str!("console.html").as_bytes().to_vec(),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}
