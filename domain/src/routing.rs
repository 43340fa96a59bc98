//! Which model version decides: the champion, and an optional challenger
//! that takes a share of the applications, in shadow (scored beside the
//! champion, never served) or split (deciding them).
//!
//! An application is in the share by its own bytes, so it is always in or
//! always out, on every replica and after restarts, and raising the share
//! only adds applications:
//!
//! > let `u` be the first 8 bytes of SHA-256 of `"credit-decisions-arm\0"`
//! > followed by the canonical application, read as a big-endian unsigned
//! > integer and divided by 2^64; the application is in the share when
//! > `u < s`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::application::FieldError;
use crate::decision::CanonicalRequest;

/// What the hash of the arm is salted with.
const ARM_SALT: &[u8] = b"credit-decisions-arm\0";
/// The longest reason a change may give.
pub const REASON_MAX_CHARS: usize = 500;

/// How a challenger takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Scores its share beside the champion; the champion is served.
    Shadow,
    /// Decides its share.
    Split,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Shadow => "shadow",
            Mode::Split => "split",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "shadow" => Some(Mode::Shadow),
            "split" => Some(Mode::Split),
            _ => None,
        }
    }
}

/// A challenger: a version, how it takes part, and its share (0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Challenger {
    pub version: String,
    pub mode: Mode,
    pub share: f64,
}

impl Challenger {
    /// Whether `application` is in this challenger's share.
    pub fn takes(&self, application: &CanonicalRequest) -> bool {
        // A share of 1 takes all, even a point rounded up to 1.0.
        self.share >= 1.0 || share_point(application) < self.share
    }
}

/// `u` of the contract: where an application falls in [0, 1).
pub fn share_point(application: &CanonicalRequest) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(ARM_SALT);
    hasher.update(application.as_str().as_bytes());
    let digest = hasher.finalize();
    let first = u64::from_be_bytes(digest[..8].try_into().expect("SHA-256 has 32 bytes"));
    // Dividing by a power of two is exact; converting `first` rounds it to
    // 53 bits, which can round a point within 2^-54 of 1 up to 1.0 itself
    // (`takes` keeps such a point in a share of 1).
    first as f64 / 18_446_744_073_709_551_616.0
}

/// A routing, as set by a change (or built in: generation 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    pub generation: u64,
    pub champion: String,
    pub challenger: Option<Challenger>,
    /// `None` for the built-in routing.
    #[serde(with = "optional_timestamp")]
    pub changed_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

impl Routing {
    /// The routing a service starts with until the first change: the
    /// configured model as champion, no challenger.
    pub fn built_in(champion: &str) -> Self {
        Self {
            generation: 0,
            champion: champion.to_owned(),
            challenger: None,
            changed_at: None,
            reason: None,
        }
    }

    /// The routing a change sets.
    pub fn of(change: &Change) -> Self {
        Self {
            generation: change.generation,
            champion: change.champion.clone(),
            challenger: change.challenger.clone(),
            changed_at: Some(change.changed_at),
            reason: Some(change.reason.clone()),
        }
    }

    /// The versions it routes to.
    pub fn versions(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.champion.as_str()).chain(
            self.challenger
                .iter()
                .map(|challenger| challenger.version.as_str()),
        )
    }
}

/// One change of the routing, as its append-only history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub generation: u64,
    #[serde(with = "timestamp")]
    pub changed_at: DateTime<Utc>,
    /// Who made it: the first 8 hex digits of the SHA-256 of the admin key,
    /// never the key.
    pub by: String,
    pub champion: String,
    pub challenger: Option<Challenger>,
    pub reason: String,
}

/// A page of the history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangePage {
    pub items: Vec<Change>,
    /// The generation to ask for the next (older) page with, if any.
    pub next: Option<u64>,
}

/// A routing asked for: `PUT /v1/models/routing`'s body, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingRequest {
    pub champion: String,
    pub challenger: Option<Challenger>,
    pub reason: String,
}

impl RoutingRequest {
    /// The body, or every member that is wrong: an unknown version, a
    /// challenger equal to the champion, a share outside (0, 1], an unknown
    /// mode, a reason that is empty or longer than 500 characters, a member
    /// of no routing.
    pub fn parse(
        body: &Map<String, Value>,
        available: &dyn Fn(&str) -> bool,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let version = |field: &str, value: Option<&Value>, errors: &mut Vec<FieldError>| match value
        {
            None => {
                errors.push(FieldError::new(field, "is required"));
                None
            }
            Some(Value::String(name)) if available(name) => Some(name.clone()),
            Some(Value::String(name)) => {
                errors.push(FieldError::new(
                    field,
                    format!("'{}' is not an available model version", shortened(name)),
                ));
                None
            }
            Some(_) => {
                errors.push(FieldError::new(field, "must be a string"));
                None
            }
        };
        let champion = version("champion", body.get("champion"), &mut errors);
        let challenger = match body.get("challenger") {
            None => {
                errors.push(FieldError::new("challenger", "is required (null for none)"));
                None
            }
            Some(Value::Null) => None,
            Some(Value::Object(challenger)) => {
                let chosen = version("challenger.version", challenger.get("version"), &mut errors);
                let mode = match challenger.get("mode") {
                    None => {
                        errors.push(FieldError::new("challenger.mode", "is required"));
                        None
                    }
                    Some(Value::String(mode)) => Mode::parse(mode).or_else(|| {
                        errors.push(FieldError::new(
                            "challenger.mode",
                            format!(
                                "unknown mode '{}'; expected shadow or split",
                                shortened(mode)
                            ),
                        ));
                        None
                    }),
                    Some(_) => {
                        errors.push(FieldError::new("challenger.mode", "must be a string"));
                        None
                    }
                };
                let share = match challenger.get("share").map(Value::as_f64) {
                    None => {
                        errors.push(FieldError::new("challenger.share", "is required"));
                        None
                    }
                    Some(Some(share)) if share > 0.0 && share <= 1.0 => Some(share),
                    Some(_) => {
                        errors.push(FieldError::new(
                            "challenger.share",
                            "must be a number above 0 and at most 1",
                        ));
                        None
                    }
                };
                for name in challenger.keys() {
                    if !["version", "mode", "share"].contains(&name.as_str()) {
                        errors.push(FieldError::new(
                            format!("challenger.{}", shortened(name)),
                            "is not a member of a challenger",
                        ));
                    }
                }
                if let (Some(chosen), Some(champion)) = (&chosen, &champion)
                    && chosen == champion
                {
                    errors.push(FieldError::new(
                        "challenger.version",
                        "is the champion; a challenger is another version",
                    ));
                }
                match (chosen, mode, share) {
                    (Some(version), Some(mode), Some(share)) => Some(Challenger {
                        version,
                        mode,
                        share,
                    }),
                    _ => None,
                }
            }
            Some(_) => {
                errors.push(FieldError::new("challenger", "must be an object or null"));
                None
            }
        };
        let reason = match body.get("reason") {
            None => {
                errors.push(FieldError::new("reason", "is required"));
                None
            }
            Some(Value::String(reason))
                if !reason.trim().is_empty() && reason.chars().count() <= REASON_MAX_CHARS =>
            {
                Some(reason.clone())
            }
            Some(Value::String(_)) => {
                errors.push(FieldError::new(
                    "reason",
                    format!("must hold 1 to {REASON_MAX_CHARS} characters"),
                ));
                None
            }
            Some(_) => {
                errors.push(FieldError::new("reason", "must be a string"));
                None
            }
        };
        for name in body.keys() {
            if !["champion", "challenger", "reason"].contains(&name.as_str()) {
                errors.push(FieldError::new(
                    shortened(name),
                    "is not a member of a routing",
                ));
            }
        }
        match (champion, reason) {
            (Some(champion), Some(reason)) if errors.is_empty() => Ok(Self {
                champion,
                challenger,
                reason,
            }),
            _ => Err(errors),
        }
    }
}

/// Who made a change, from the key they made it with: the first 8 hex
/// digits of its SHA-256; `anonymous` when the service runs without keys.
pub fn changed_by(admin_key: Option<&[u8]>) -> String {
    match admin_key {
        None => "anonymous".to_owned(),
        Some(key) => Sha256::digest(key)[..4]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect(),
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn shortened(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

mod optional_timestamp {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::timestamp::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|at| at.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn canonical(text: &str) -> CanonicalRequest {
        CanonicalRequest::from_logged(text.to_owned()).unwrap()
    }

    /// The contract's formula, worked by hand for one application: SHA-256
    /// of the salt and `{"a":1}` is computed by `sha256sum`, its first eight
    /// bytes read big-endian and divided by 2^64.
    #[test]
    fn the_share_point_is_the_contracts_formula() {
        // printf 'credit-decisions-arm\0{"a":1}' | sha256sum
        let expected_first_bytes: u64 = u64::from_str_radix(EXPECTED_PREFIX, 16).unwrap();
        let point = share_point(&canonical(r#"{"a":1}"#));
        assert_eq!(point, expected_first_bytes as f64 / 2f64.powi(64));
        // 0x450235c3804f331e / 2^64, by hand (Python's float division).
        assert!((point - 0.269_564_972_142_970_3).abs() < 1e-15, "{point}");
        assert!((0.0..1.0).contains(&point));
    }

    // `printf 'credit-decisions-arm\0{"a":1}' | sha256sum`, its first 16 hex digits.
    const EXPECTED_PREFIX: &str = "450235c3804f331e";

    #[test]
    fn an_application_is_always_in_or_out_and_a_larger_share_only_adds() {
        let applications: Vec<CanonicalRequest> = (0..2_000)
            .map(|n| canonical(&format!(r#"{{"n":{n}}}"#)))
            .collect();
        let taken = |share: f64| -> Vec<bool> {
            let challenger = Challenger {
                version: "v2".to_owned(),
                mode: Mode::Split,
                share,
            };
            applications.iter().map(|a| challenger.takes(a)).collect()
        };
        assert_eq!(taken(0.3), taken(0.3), "stable");
        let (small, large) = (taken(0.1), taken(0.5));
        assert!(small.iter().zip(&large).all(|(s, l)| !s || *l), "monotone");
        let in_large = large.iter().filter(|t| **t).count();
        assert!((850..1150).contains(&in_large), "about half: {in_large}");
        assert!(
            taken(1.0).iter().all(|t| *t),
            "a share of 1 takes every one"
        );
    }

    fn available(name: &str) -> bool {
        ["v1", "v2"].contains(&name)
    }

    fn parse(body: Value) -> Result<RoutingRequest, Vec<FieldError>> {
        RoutingRequest::parse(body.as_object().unwrap(), &available)
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_routing_names_available_versions_a_mode_a_share_and_a_reason() {
        assert_eq!(
            parse(
                json!({"champion": "v1", "challenger": {"version": "v2", "mode": "shadow", "share": 0.25},
                         "reason": "try it"})
            ),
            Ok(RoutingRequest {
                champion: "v1".to_owned(),
                challenger: Some(Challenger {
                    version: "v2".to_owned(),
                    mode: Mode::Shadow,
                    share: 0.25
                }),
                reason: "try it".to_owned()
            })
        );
        assert!(parse(json!({"champion": "v2", "challenger": null, "reason": "promote"})).is_ok());
    }

    #[test]
    fn every_bad_member_is_named() {
        let errors = parse(json!({
            "champion": "v9",
            "challenger": {"version": "v8", "mode": "canary", "share": 0, "extra": 1},
            "reason": "",
            "when": "now"
        }))
        .unwrap_err();
        assert_eq!(
            fields(errors),
            [
                "champion",
                "challenger.version",
                "challenger.mode",
                "challenger.share",
                "challenger.extra",
                "reason",
                "when"
            ]
        );
        let same = parse(
            json!({"champion": "v1", "challenger": {"version": "v1", "mode": "split", "share": 1},
                                "reason": "x"}),
        )
        .unwrap_err();
        assert_eq!(
            same[0].message,
            "is the champion; a challenger is another version"
        );
        for share in [json!(1.0001), json!(-0.5), json!("half"), json!(null)] {
            let errors = parse(json!({"champion": "v1", "challenger": {"version": "v2", "mode": "split", "share": share},
                                      "reason": "x"}))
            .unwrap_err();
            assert_eq!(fields(errors), ["challenger.share"], "{share}");
        }
        let long = "x".repeat(REASON_MAX_CHARS + 1);
        assert_eq!(
            fields(
                parse(json!({"champion": "v1", "challenger": null, "reason": long})).unwrap_err()
            ),
            ["reason"]
        );
        assert_eq!(
            fields(parse(json!({})).unwrap_err()),
            ["champion", "challenger", "reason"]
        );
    }

    #[test]
    fn a_change_names_its_key_by_a_digest_never_the_key() {
        let by = changed_by(Some(b"admin-secret"));
        assert_eq!(by.len(), 8);
        assert!(by.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(by, changed_by(Some(b"admin-secret2")));
        assert_eq!(changed_by(None), "anonymous");
    }

    #[test]
    fn arms_and_modes_are_the_contracts_words() {
        for arm in [
            crate::decision::Arm::Champion,
            crate::decision::Arm::Challenger,
        ] {
            assert_eq!(json!(arm), json!(arm.as_str()));
            assert_eq!(crate::decision::Arm::parse(arm.as_str()), Some(arm));
        }
        for mode in [Mode::Shadow, Mode::Split] {
            assert_eq!(json!(mode), json!(mode.as_str()));
            assert_eq!(Mode::parse(mode.as_str()), Some(mode));
        }
    }
}
