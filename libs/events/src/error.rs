//! Errors of the stored form. Decoding CLI output has none: whatever the CLI prints becomes an
//! event (see [`crate::Decoder`]).

/// Converting an event to or from its stored row failed.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("could not encode a {kind} event")]
    Encode {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("stored {kind} event does not match its schema")]
    Decode {
        kind: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("stored {kind} event payload is a JSON {found}, not an object")]
    NotAnObject { kind: String, found: &'static str },
}
