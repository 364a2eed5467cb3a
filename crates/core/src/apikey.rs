//! API keys: `wf_` + 40 base62 characters. Only their SHA-256 is ever stored — a key has
//! ~238 bits of entropy, so a fast hash is as safe as a slow one and keeps auth cheap.

use rand::RngExt;
use sha2::{Digest, Sha256};
use std::fmt;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters kept for display (`wf_` and the first 6 random characters).
const DISPLAY_PREFIX_LEN: usize = 9;

/// A plaintext API key. It is shown once, at creation, and never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A fresh random key.
    pub fn generate() -> ApiKey {
        let mut rng = rand::rng();
        let body: String = (0..40)
            .map(|_| BASE62[rng.random_range(0..BASE62.len())] as char)
            .collect();
        ApiKey(format!("wf_{body}"))
    }

    /// Wraps a key given by a client or an operator (`--bootstrap-key`).
    pub fn from_plaintext(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The plaintext, for the one moment it is shown to its owner.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256: what the store keeps and looks keys up by.
    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first characters, safe to display and log.
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(DISPLAY_PREFIX_LEN).collect()
    }

    /// Whether a `--bootstrap-key` is acceptable: 8–128 printable ASCII characters.
    pub fn valid_bootstrap(key: &str) -> bool {
        (8..=128).contains(&key.len()) && key.chars().all(|c| c.is_ascii_graphic())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}…)", self.display_prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape_and_hide_in_debug() {
        let key = ApiKey::generate();
        assert!(key.reveal().starts_with("wf_"));
        assert_eq!(key.reveal().len(), 43);
        assert!(key.reveal()[3..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(!format!("{key:?}").contains(&key.reveal()[9..]));
        assert_eq!(key.hash().len(), 64);
        assert_ne!(key.hash(), ApiKey::generate().hash());
    }

    #[test]
    fn bootstrap_keys_are_checked() {
        assert!(ApiKey::valid_bootstrap("abcdefgh"));
        assert!(!ApiKey::valid_bootstrap("short"));
        assert!(!ApiKey::valid_bootstrap("has a space"));
    }
}
