//! The cache key of an application: a hash, so no personal data is ever
//! part of a key.

use sha2::{Digest, Sha256};

use crate::application::Application;
use crate::decision::CanonicalRequest;

/// SHA-256 (hex) of the model version and the application's canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    /// The canonical form is the application serialized with its fields in
    /// contract order and whole credit amounts as integers: two bodies that
    /// differ only in key order or in `2` against `2.0` share a key. The model
    /// version is part of the hash, so a new model never serves old verdicts.
    pub fn for_application(model_version: &str, application: &Application) -> Self {
        Self::for_canonical(model_version, &CanonicalRequest::of(application))
    }

    /// The key of an application already in its canonical form.
    pub fn for_canonical(model_version: &str, canonical: &CanonicalRequest) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(model_version.as_bytes());
        hasher.update(b"\n");
        hasher.update(canonical.as_str().as_bytes());
        Self(format!("{:x}", hasher.finalize()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn key_of(body: &str, version: &str) -> CacheKey {
        let value: Value = serde_json::from_str(body).unwrap();
        let application = Application::from_json(value.as_object().unwrap()).unwrap();
        CacheKey::for_application(version, &application)
    }

    const EXAMPLE: &str = include_str!("../testdata/example-application.json");

    #[test]
    fn key_order_and_number_format_do_not_change_the_key() {
        let reordered: Value = serde_json::from_str(EXAMPLE).unwrap();
        // serde_json's map sorts keys, so the text below has a different order.
        let reordered = serde_json::to_string(&reordered).unwrap();
        let as_float = EXAMPLE.replace("\"credit_amount\": 1169", "\"credit_amount\": 1169.0");
        assert_ne!(as_float, EXAMPLE);
        assert_eq!(key_of(EXAMPLE, "v1"), key_of(&reordered, "v1"));
        assert_eq!(key_of(EXAMPLE, "v1"), key_of(&as_float, "v1"));
    }

    #[test]
    fn a_different_application_or_model_changes_the_key() {
        let older = EXAMPLE.replace("\"age_years\": 67", "\"age_years\": 68");
        assert_ne!(key_of(EXAMPLE, "v1"), key_of(&older, "v1"));
        assert_ne!(key_of(EXAMPLE, "v1"), key_of(EXAMPLE, "v2"));
    }

    #[test]
    fn the_key_is_a_hash_without_application_data() {
        let key = key_of(EXAMPLE, "v1");
        assert_eq!(key.as_str().len(), 64);
        assert!(key.as_str().chars().all(|c| c.is_ascii_hexdigit()));
    }
}
