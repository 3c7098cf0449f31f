//! Random secrets shown once (API tokens, invitation links) and their stored hashes.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A freshly generated secret: the full value goes to the user once; only the hash is stored.
pub struct NewSecret {
    pub value: String,
    pub hash: Vec<u8>,
    /// Recognisable beginning, safe to display in listings.
    pub prefix: String,
}

/// 256 random bits, URL-safe, with a readable type prefix (`rct_` for API tokens) so leaked
/// tokens are easy to spot by secret scanners.
pub fn generate(kind: &str) -> NewSecret {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let value = format!(
        "{kind}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let prefix = value.chars().take(kind.len() + 8).collect();
    NewSecret {
        hash: hash(&value),
        value,
        prefix,
    }
}

/// SHA-256: the secrets carry 256 bits of entropy, so a slow password hash adds nothing.
pub fn hash(value: &str) -> Vec<u8> {
    Sha256::digest(value.as_bytes()).to_vec()
}

pub const API_TOKEN_KIND: &str = "rct_";
pub const INVITATION_KIND: &str = "rci_";
