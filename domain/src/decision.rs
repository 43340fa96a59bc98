//! What the service decides and what it logs.

use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use serde_json::value::RawValue;

use crate::application::Application;

/// Which routing arm decided a logged decision.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Arm {
    #[default]
    Champion,
    Challenger,
}

impl Arm {
    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Champion => "champion",
            Arm::Challenger => "challenger",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "champion" => Some(Arm::Champion),
            "challenger" => Some(Arm::Challenger),
            _ => None,
        }
    }
}

/// The id of one serving of a decision: a UUID v7, so ids sort by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DecisionId(Uuid);

impl DecisionId {
    /// Mints a new id. Ids minted by one process are strictly increasing.
    pub fn mint() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text).ok().map(Self)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for DecisionId {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl fmt::Display for DecisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approve,
    Decline,
}

impl Outcome {
    /// `approve` when the probability of default is below the threshold.
    pub fn at_threshold(probability_of_default: f32, threshold: f32) -> Self {
        if probability_of_default < threshold {
            Outcome::Approve
        } else {
            Outcome::Decline
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approve => "approve",
            Outcome::Decline => "decline",
        }
    }
}

/// One principal reason for a decline (ECOA / Regulation B §1002.9): a
/// feature of the application that raised its probability of default, with
/// the model card's stable code and plain-language description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub feature: String,
    pub description: String,
}

/// What the model concluded about an application: the part of a decision
/// that the cache keeps and that a cache hit serves again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Approve or decline: `decision` on the wire, as the contract names it.
    #[serde(rename = "decision")]
    pub outcome: Outcome,
    /// The model's f32 output, carried as the f64 of its shortest decimal
    /// form (see [`Verdict::from_model`]).
    pub probability_of_default: f64,
    pub model_version: String,
    /// The principal reasons of a decline, most important first, at most
    /// four; empty for an approval. A decision logged before reasons
    /// existed reads back with none.
    #[serde(default)]
    pub reasons: Vec<Reason>,
}

impl Verdict {
    /// The verdict for a model output. The probability is widened through its
    /// shortest decimal form, so clients read `0.1834` rather than the f32's
    /// exact binary expansion `0.18340000510215759`, and narrowing it back
    /// gives the model's very f32.
    pub fn from_model(probability_of_default: f32, threshold: f32, model_version: &str) -> Self {
        let shortest = probability_of_default.to_string();
        Self {
            outcome: Outcome::at_threshold(probability_of_default, threshold),
            probability_of_default: shortest
                .parse()
                .expect("an f32's decimal form parses as f64"),
            model_version: model_version.to_owned(),
            reasons: Vec::new(),
        }
    }
}

/// The answer to one application: a verdict with the id of this serving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub decision_id: DecisionId,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// Where a decision's verdict came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Model,
    Cache,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Model => "model",
            Source::Cache => "cache",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "model" => Some(Source::Model),
            "cache" => Some(Source::Cache),
            _ => None,
        }
    }
}

/// An application in its canonical form: the JSON text its cache key is the
/// hash of, and that the decision store keeps as the record's `request`.
///
/// It is made once per application. Read back from the store it is taken as
/// logged, never validated again: a record logged under older rules stays
/// readable.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CanonicalRequest(Box<RawValue>);

impl CanonicalRequest {
    /// The canonical form of a valid application: its fields in contract
    /// order, whole credit amounts as integers.
    pub fn of(application: &Application) -> Self {
        let text = serde_json::to_string(application).expect("an application always serializes");
        Self(RawValue::from_string(text).expect("an application serializes to JSON"))
    }

    /// A request as a log holds it: any JSON text, kept exactly.
    pub fn from_logged(text: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for CanonicalRequest {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for CanonicalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the decision store: a decision exactly as it was served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub decision_id: DecisionId,
    #[serde(with = "microsecond_timestamp")]
    pub created_at: DateTime<Utc>,
    pub source: Source,
    pub request: CanonicalRequest,
    pub response: Decision,
    /// The routing arm that decided; `champion` for a record logged before
    /// arms existed.
    #[serde(default)]
    pub arm: Arm,
    /// A shadow challenger's verdict on the same application, if one scored
    /// it.
    #[serde(default)]
    pub shadow: Option<Verdict>,
}

/// The current time at the precision the decision store keeps (PostgreSQL's
/// microseconds), so a record reads back equal to what was written.
pub fn now_for_store() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `2026-11-24T10:15:02.123456Z`: always six fractional digits and `Z`.
mod microsecond_timestamp {
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

/// A page of the decision store, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionPage {
    pub items: Vec<DecisionRecord>,
    /// The cursor for the next (older) page, when there is one.
    pub next: Option<DecisionId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    /// The words the store stores and the contract shows; a log reads them back.
    #[test]
    fn outcomes_and_sources_are_the_contracts_words() {
        for outcome in [Outcome::Approve, Outcome::Decline] {
            assert_eq!(json!(outcome), json!(outcome.as_str()));
        }
        for source in [Source::Model, Source::Cache] {
            assert_eq!(json!(source), json!(source.as_str()));
            assert_eq!(Source::parse(source.as_str()), Some(source));
        }
        assert_eq!(Source::parse("Model"), None);
        assert_eq!(Source::parse(""), None);
    }

    /// A decision id is written as the UUID clients send back as a cursor.
    #[test]
    fn a_decision_id_reads_back_from_its_text() {
        let id = DecisionId::mint();
        assert_eq!(DecisionId::parse(&id.to_string()), Some(id));
        assert_eq!(id.to_string(), id.as_uuid().to_string());
    }

    #[test]
    fn canonical_requests_differ_when_their_text_does() {
        let a = CanonicalRequest::from_logged(r#"{"a":1}"#.to_owned()).unwrap();
        let b = CanonicalRequest::from_logged(r#"{"a":2}"#.to_owned()).unwrap();
        assert_ne!(a, b);
        assert_eq!(a, a.clone());
        assert_eq!(format!("{a:?}"), r#"{"a":1}"#);
    }

    #[test]
    fn the_threshold_itself_declines() {
        assert_eq!(Outcome::at_threshold(0.1999, 0.2), Outcome::Approve);
        assert_eq!(Outcome::at_threshold(0.2, 0.2), Outcome::Decline);
    }

    #[test]
    fn a_decision_serializes_in_the_contract_shape() {
        let id = DecisionId::parse("0193a7c2-5d1e-7c4b-9a51-2f0e7d3c1b22").unwrap();
        let decision = Decision {
            decision_id: id,
            verdict: Verdict {
                outcome: Outcome::Approve,
                probability_of_default: 0.1834,
                model_version: "german-credit-2026.11.0".to_owned(),
                reasons: Vec::new(),
            },
        };
        assert_eq!(
            serde_json::to_value(&decision).unwrap(),
            json!({
                "decision_id": "0193a7c2-5d1e-7c4b-9a51-2f0e7d3c1b22",
                "decision": "approve",
                "probability_of_default": 0.1834,
                "model_version": "german-credit-2026.11.0",
                "reasons": []
            })
        );
    }

    #[test]
    fn a_model_probability_keeps_its_shortest_decimal_form() {
        let verdict = Verdict::from_model(0.1834, 0.2, "v1");
        assert_eq!(verdict.probability_of_default, 0.1834);
        assert_eq!(verdict.probability_of_default as f32, 0.1834f32);
        assert_eq!(verdict.outcome, Outcome::Approve);
    }

    #[test]
    fn minted_ids_increase() {
        let ids: Vec<DecisionId> = (0..1000).map(|_| DecisionId::mint()).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(ids[0].as_uuid().get_version_num(), 7);
    }

    #[test]
    fn log_timestamps_have_six_fractional_digits() {
        let at = DateTime::parse_from_rfc3339("2026-11-24T10:15:02.1Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = serde_json::to_value(DecisionRecordTime(at)).unwrap();
        assert_eq!(text, json!("2026-11-24T10:15:02.100000Z"));
    }

    #[derive(Serialize)]
    struct DecisionRecordTime(#[serde(with = "microsecond_timestamp")] DateTime<Utc>);
}
