//! The one response body type the proxy's HTTP service returns, whether it answers itself or
//! relays the upstream.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Unsync because the relayed upstream stream is `Send` but not `Sync`; hyper needs only `Send`.
pub(crate) type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}
