//! Typed, layered configuration for every Remote Claude binary.
//!
//! Layers, later ones win:
//! 1. compiled-in defaults ([`Settings::default`]) — enough for local development with zero
//!    configuration;
//! 2. an optional TOML file (`RC_CONFIG_FILE`, or the path passed to [`Settings::load_from`]);
//! 3. `RC_`-prefixed environment variables, `__` separating nesting levels
//!    (`RC_DATABASE__URL`);
//! 4. `RC_…_FILE` variables whose value is a path: the file's trimmed content becomes the value of
//!    the key without the suffix (Docker/Kubernetes secrets).
//!
//! Every struct denies unknown fields, so a typo fails start-up with a message naming the key
//! instead of being silently ignored.

mod load;
mod secret;
mod settings;

pub use load::ConfigError;
pub use secret::Secret;
pub use settings::*;
