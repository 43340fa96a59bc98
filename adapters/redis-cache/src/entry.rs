//! A verdict as Redis stores it, and what a stored value means when read.
//!
//! Redis is not trusted: whoever can write to it could otherwise choose the
//! service's decisions. A value larger than any verdict is refused unread.
//! With a signing key every value carries an HMAC-SHA256 of its Redis key
//! and its verdict, `{"mac":"<hex>","verdict":{…}}`, and a value without a
//! valid one is refused: a verdict copied from another key fails too. (The
//! flow then checks what remains against the model's card.) Without a key a
//! value is the verdict's JSON.

use std::fmt;

use domain::{CacheEntry, Verdict};
use fred::prelude::Value;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Sha256;

/// The largest value read as a verdict: four reasons with their
/// descriptions take well under 1 KiB.
pub const LARGEST_ENTRY: usize = 4 * 1024;

/// The secret the entries are signed with. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self(secret.into())
    }

    fn mac(&self, redis_key: &str, verdict: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(redis_key.as_bytes());
        mac.update(b"\n");
        mac.update(verdict.as_bytes());
        mac
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// The value stored under `redis_key` for `verdict`.
pub fn stored_value(verdict: &Verdict, redis_key: &str, signing: Option<&SigningKey>) -> String {
    let verdict = serde_json::to_string(verdict).expect("a verdict serializes");
    match signing {
        None => verdict,
        Some(key) => {
            let mac = key.mac(redis_key, &verdict).finalize().into_bytes();
            format!(r#"{{"mac":"{}","verdict":{verdict}}}"#, hex(&mac))
        }
    }
}

/// What a stored value means for the flow: nothing, a verdict, or something
/// that is not to be served.
pub fn entry_of(value: Value, redis_key: &str, signing: Option<&SigningKey>) -> CacheEntry {
    let bytes = match value {
        Value::Null => return CacheEntry::Missing,
        Value::String(text) => text.into_inner(),
        Value::Bytes(bytes) => bytes,
        other => return CacheEntry::Unreadable(format!("a {:?} value", other.kind())),
    };
    if bytes.len() > LARGEST_ENTRY {
        return CacheEntry::Unreadable(format!(
            "{} bytes, more than any verdict ({LARGEST_ENTRY})",
            bytes.len()
        ));
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return CacheEntry::Unreadable("not UTF-8".to_owned());
    };
    let verdict = match signing {
        None => text,
        Some(key) => match verified(text, redis_key, key) {
            Ok(verdict) => verdict,
            Err(why) => return CacheEntry::Unreadable(why),
        },
    };
    // An entry written before verdicts carried reasons is not served: a
    // decline from it would give no reason. The flow scores and overwrites it.
    let stored: serde_json::Value = match serde_json::from_str(verdict) {
        Ok(stored) => stored,
        Err(error) => return CacheEntry::Unreadable(format!("not JSON: {error}")),
    };
    if stored.get("reasons").is_none() {
        return CacheEntry::Unreadable("a verdict written before reasons existed".to_owned());
    }
    match serde_json::from_value::<Verdict>(stored) {
        Ok(verdict) => CacheEntry::Found(verdict),
        Err(error) => CacheEntry::Unreadable(format!("not a verdict: {error}")),
    }
}

#[derive(Deserialize)]
struct Signed<'a> {
    mac: &'a str,
    #[serde(borrow)]
    verdict: &'a RawValue,
}

/// The verdict's text of a signed value whose MAC is right, compared in
/// constant time.
fn verified<'a>(text: &'a str, redis_key: &str, key: &SigningKey) -> Result<&'a str, String> {
    let signed: Signed<'a> =
        serde_json::from_str(text).map_err(|_| "not a signed verdict".to_owned())?;
    let given = unhex(signed.mac).ok_or_else(|| "its MAC is not hex".to_owned())?;
    key.mac(redis_key, signed.verdict.get())
        .verify_slice(&given)
        .map_err(|_| "its MAC is wrong".to_owned())?;
    Ok(signed.verdict.get())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ns:verdict:abc";

    fn decline() -> Verdict {
        let mut verdict = Verdict::from_model(0.7, 0.5, "v1");
        verdict.reasons = vec![domain::Reason {
            code: "R01".to_owned(),
            feature: "checking_account".to_owned(),
            description: "Checking account balance is low or negative".to_owned(),
        }];
        verdict
    }

    fn read(value: &str, signing: Option<&SigningKey>) -> CacheEntry {
        entry_of(Value::from(value), KEY, signing)
    }

    #[test]
    fn garbage_is_unreadable_and_nil_is_missing() {
        assert_eq!(entry_of(Value::Null, KEY, None), CacheEntry::Missing);
        assert!(matches!(read("{oops", None), CacheEntry::Unreadable(_)));
        assert!(matches!(
            entry_of(Value::Integer(4), KEY, None),
            CacheEntry::Unreadable(_)
        ));
        let verdict = decline();
        let stored = stored_value(&verdict, KEY, None);
        assert_eq!(read(&stored, None), CacheEntry::Found(verdict));
        // Written before reasons existed: unreadable, so scored again.
        let older = r#"{"decision":"decline","probability_of_default":0.7,"model_version":"v1"}"#;
        assert!(matches!(read(older, None), CacheEntry::Unreadable(_)));
    }

    #[test]
    fn a_value_larger_than_any_verdict_is_not_read() {
        let mut verdict = decline();
        verdict.reasons[0].description = "x".repeat(LARGEST_ENTRY);
        let stored = stored_value(&verdict, KEY, None);
        assert_eq!(
            read(&stored, None),
            CacheEntry::Unreadable(format!(
                "{} bytes, more than any verdict (4096)",
                stored.len()
            ))
        );
        verdict.reasons[0].description = "x".repeat(3_900);
        let largest = stored_value(&verdict, KEY, None);
        assert!(largest.len() <= LARGEST_ENTRY, "{}", largest.len());
        assert_eq!(read(&largest, None), CacheEntry::Found(verdict.clone()));
        // The bound itself is read: JSON allows the padding.
        let padded = format!("{largest}{}", " ".repeat(LARGEST_ENTRY - largest.len()));
        assert_eq!(padded.len(), LARGEST_ENTRY);
        assert_eq!(read(&padded, None), CacheEntry::Found(verdict));
    }

    #[test]
    fn with_a_signing_key_only_a_value_signed_for_its_key_is_read() {
        let key = SigningKey::new("s3cret");
        let verdict = decline();
        let signed = stored_value(&verdict, KEY, Some(&key));
        assert_eq!(
            read(&signed, Some(&key)),
            CacheEntry::Found(verdict.clone())
        );

        let unsigned = stored_value(&verdict, KEY, None);
        assert_eq!(
            read(&unsigned, Some(&key)),
            CacheEntry::Unreadable("not a signed verdict".to_owned())
        );
        // Signed under another key (another application's entry copied over).
        let elsewhere = stored_value(&verdict, "ns:verdict:other", Some(&key));
        assert_eq!(
            read(&elsewhere, Some(&key)),
            CacheEntry::Unreadable("its MAC is wrong".to_owned())
        );
        // Signed with another secret.
        let forged = stored_value(&verdict, KEY, Some(&SigningKey::new("guess")));
        assert_eq!(
            read(&forged, Some(&key)),
            CacheEntry::Unreadable("its MAC is wrong".to_owned())
        );
        // The verdict changed after signing.
        let tampered = signed.replace("0.7", "0.1");
        assert_ne!(tampered, signed);
        assert_eq!(
            read(&tampered, Some(&key)),
            CacheEntry::Unreadable("its MAC is wrong".to_owned())
        );
        let not_hex = signed.replacen(r#""mac":""#, r#""mac":"zz"#, 1);
        assert_eq!(
            read(&not_hex, Some(&key)),
            CacheEntry::Unreadable("its MAC is not hex".to_owned())
        );
    }

    #[test]
    fn a_signing_key_is_never_printed() {
        let shown = format!("{:?}", SigningKey::new("s3cret"));
        assert_eq!(shown, "SigningKey(<redacted>)");
    }

    #[test]
    fn hex_reads_back() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(unhex("000fff"), Some(vec![0, 15, 255]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("é0"), None);
    }
}
