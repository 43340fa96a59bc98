//! The model card: what the service reads from it, and the checks that a
//! card describes a model this service can feed.
//!
//! The whole card is served by `GET /v1/model`; only the fields below are
//! read. A card whose features, order or encodings differ from the
//! contract's would make the model score different inputs than it was
//! trained on, silently, so such a card is refused at load.

use std::collections::HashMap;

use domain::{Application, Baseline, monitoring::Bins};
use serde::Deserialize;
use serde_json::Value;

use crate::features::{ExpectedFeature, expected_features};

#[derive(Debug, Deserialize)]
pub struct Card {
    pub version: String,
    pub threshold: f32,
    pub model: CardModel,
    pub features: Vec<CardFeature>,
    /// How reasons are given; a card without it is refused.
    pub reasons: Option<ReasonRules>,
    /// The training population's bins, for monitoring; a card without it is
    /// refused.
    baseline: Option<CardBaseline>,
}

#[derive(Debug, Deserialize)]
struct CardBaseline {
    score: CardBins,
    features: HashMap<String, CardBins>,
}

#[derive(Debug, Deserialize)]
struct CardBins {
    /// Between numeric bins; absent for categories.
    edges: Option<Vec<f64>>,
    bins: Vec<CardBin>,
}

#[derive(Debug, Deserialize)]
struct CardBin {
    bin: String,
    expected: f64,
}

impl CardBins {
    fn to_bins(&self) -> Result<Bins, String> {
        let bins = self
            .bins
            .iter()
            .map(|bin| (bin.bin.clone(), bin.expected))
            .collect();
        match &self.edges {
            Some(edges) => Bins::numeric(edges.clone(), bins),
            None => Bins::categorical(bins),
        }
    }
}

/// How a decline's reasons are chosen (the training side's rules).
#[derive(Debug, Clone, Deserialize)]
pub struct ReasonRules {
    pub at_most: usize,
    /// A feature is a reason only if it raised the log-odds by more than this.
    pub min_logit: f32,
    /// From this age on, age is never a reason.
    pub age_never_a_reason_from: u8,
}

/// A feature's adverse-action reason.
#[derive(Debug, Clone, Deserialize)]
pub struct CardReason {
    pub code: String,
    pub description: String,
}

#[derive(Debug, Deserialize)]
pub struct CardModel {
    /// SHA-256 of the model file the card describes.
    pub sha256: String,
}

#[derive(Debug, Deserialize)]
pub struct CardFeature {
    pub name: String,
    pub kind: String,
    pub encoding: Value,
    pub reason: Option<CardReason>,
    /// The value reasons are measured from: the lowest probability of default.
    pub most_favourable: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct CardCode {
    value: Value,
    code: u8,
}

/// The smallest `reasons.min_logit` a card may set: ten times the rounding
/// of f32 log-odds near 20 (see `check_reasons`).
pub const MIN_LOGIT_FLOOR: f32 = 1e-5;

impl Card {
    /// Parses a card and checks it against the contract's features.
    pub fn parse(text: &str) -> Result<(Card, Value), String> {
        let whole: Value =
            serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
        let card: Card = serde_json::from_value(whole.clone())
            .map_err(|error| format!("not a model card: {error}"))?;
        if card.version.trim().is_empty() {
            return Err("the version is empty".to_owned());
        }
        if !(card.threshold > 0.0 && card.threshold < 1.0) {
            return Err(format!(
                "the threshold {} is not between 0 and 1",
                card.threshold
            ));
        }
        card.check_features(&expected_features())?;
        card.check_reasons()?;
        card.baseline()?;
        Ok((card, whole))
    }

    /// The training population's bins and shares, checked against the
    /// application's fields.
    pub fn baseline(&self) -> Result<Baseline, String> {
        let Some(baseline) = &self.baseline else {
            return Err(
                "it has no `baseline`: the population served could not be monitored".to_owned(),
            );
        };
        let score = baseline
            .score
            .to_bins()
            .map_err(|error| format!("the score's baseline: {error}"))?;
        if let Some(extra) = baseline
            .features
            .keys()
            .find(|name| !Application::has_field(name))
        {
            return Err(format!(
                "the baseline has a feature {extra} the application has not"
            ));
        }
        let features = Application::FIELDS
            .iter()
            .map(|field| {
                let bins = baseline
                    .features
                    .get(field.name)
                    .ok_or_else(|| format!("the baseline has no bins for {}", field.name))?
                    .to_bins()
                    .map_err(|error| format!("the baseline of {}: {error}", field.name))?;
                Ok((field.name.to_owned(), bins))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Baseline::new(score, features).map_err(|error| format!("the baseline: {error}"))
    }

    /// Every feature must have a reason and a most favourable value, and the
    /// card the rules of reasons: without them a decline cannot say why.
    fn check_reasons(&self) -> Result<(), String> {
        let Some(rules) = &self.reasons else {
            return Err("it has no `reasons` rules: a decline could not say why".to_owned());
        };
        if rules.at_most == 0 {
            return Err("its `reasons.at_most` is 0".to_owned());
        }
        // A reason is a feature that raised the log-odds; one that left them
        // as they were never is. f32 rounding moves log-odds by a unit in
        // the last place (5e-7 at 6, 2e-6 at 20), and the reasons' run
        // computes a row and its variants in one batch, which rounds
        // differently: below the floor, a feature that changed nothing
        // could be a reason.
        if rules.min_logit.is_nan() || rules.min_logit < MIN_LOGIT_FLOOR {
            return Err(format!(
                "its `reasons.min_logit` is {}, below {MIN_LOGIT_FLOOR}: a smaller rise may be \
                 f32 rounding",
                rules.min_logit
            ));
        }
        for feature in &self.features {
            match &feature.reason {
                Some(reason)
                    if !reason.code.trim().is_empty() && !reason.description.trim().is_empty() => {}
                _ => {
                    return Err(format!(
                        "feature {} has no reason code and description",
                        feature.name
                    ));
                }
            }
            if feature.most_favourable.is_none() {
                return Err(format!(
                    "feature {} has no most favourable value",
                    feature.name
                ));
            }
        }
        Ok(())
    }

    /// The feature numbers of the most favourable values, in input order.
    pub fn references(&self) -> Result<Vec<f32>, String> {
        self.features
            .iter()
            .map(|feature| {
                let value = feature.most_favourable.as_ref().expect("checked at parse");
                let unusable = || {
                    format!(
                        "feature {}'s most favourable value {value} is not one of its values",
                        feature.name
                    )
                };
                match feature.kind.as_str() {
                    "categorical" | "boolean" => {
                        let codes: Vec<CardCode> = serde_json::from_value(feature.encoding.clone())
                            .map_err(|e| e.to_string())?;
                        codes
                            .iter()
                            .find(|code| code.value == *value)
                            .map(|code| f32::from(code.code))
                            .ok_or_else(unusable)
                    }
                    _ => value
                        .as_f64()
                        .map(|number| number as f32)
                        .ok_or_else(unusable),
                }
            })
            .collect()
    }

    fn check_features(&self, expected: &[ExpectedFeature]) -> Result<(), String> {
        let names: Vec<&str> = self.features.iter().map(|f| f.name.as_str()).collect();
        let expected_names: Vec<&str> = expected.iter().map(|f| f.name).collect();
        if names != expected_names {
            return Err(format!(
                "its features are [{}], the contract's are [{}]",
                names.join(", "),
                expected_names.join(", ")
            ));
        }
        for (feature, want) in self.features.iter().zip(expected) {
            if feature.kind != want.kind {
                return Err(format!(
                    "feature {} is of kind {}, the contract's is {}",
                    want.name, feature.kind, want.kind
                ));
            }
            if want.codes.is_empty() {
                continue;
            }
            let codes: Vec<CardCode> = serde_json::from_value(feature.encoding.clone())
                .map_err(|error| format!("feature {} has no value codes: {error}", want.name))?;
            let codes: Vec<(Value, u8)> = codes.into_iter().map(|c| (c.value, c.code)).collect();
            if codes != want.codes {
                return Err(format!(
                    "feature {} encodes {} where the contract encodes {}",
                    want.name,
                    describe(&codes),
                    describe(&want.codes)
                ));
            }
        }
        Ok(())
    }
}

fn describe(codes: &[(Value, u8)]) -> String {
    let pairs: Vec<String> = codes
        .iter()
        .map(|(value, code)| format!("{value}={code}"))
        .collect();
    pairs.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BUILT_IN: &str = include_str!("../../../model/credit-model.card.json");

    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let mut card: Value = serde_json::from_str(BUILT_IN).unwrap();
        edit(&mut card);
        card.to_string()
    }

    #[test]
    fn the_built_in_card_matches_the_contract() {
        let (card, _) = Card::parse(BUILT_IN).unwrap();
        assert_eq!(card.version, "german-credit-2026.11.0");
    }

    #[test]
    fn swapped_codes_are_refused() {
        let text = edited(|card| {
            card["features"][0]["encoding"][0]["code"] = json!(1);
            card["features"][0]["encoding"][1]["code"] = json!(0);
        });
        let error = Card::parse(&text).unwrap_err();
        assert!(
            error.starts_with("feature checking_account encodes \"below_0\"=1, \"0_to_200\"=0"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_feature_is_refused() {
        let text = edited(|card| {
            card["features"].as_array_mut().unwrap().remove(17);
        });
        let error = Card::parse(&text).unwrap_err();
        assert!(error.starts_with("its features are ["), "{error}");
    }

    #[test]
    fn reordered_features_are_refused() {
        let text = edited(|card| card["features"].as_array_mut().unwrap().swap(1, 4));
        assert!(Card::parse(&text).is_err());
    }

    #[test]
    fn a_changed_kind_is_refused() {
        let text = edited(|card| card["features"][4]["kind"] = json!("integer"));
        assert_eq!(
            Card::parse(&text).unwrap_err(),
            "feature credit_amount is of kind integer, the contract's is number"
        );
    }

    #[test]
    fn a_card_without_reasons_is_refused_naming_what_is_missing() {
        let text = edited(|card| {
            card["features"][2]
                .as_object_mut()
                .unwrap()
                .remove("reason");
        });
        assert_eq!(
            Card::parse(&text).unwrap_err(),
            "feature credit_history has no reason code and description"
        );
        let text = edited(|card| {
            card["features"][11]
                .as_object_mut()
                .unwrap()
                .remove("most_favourable");
        });
        assert_eq!(
            Card::parse(&text).unwrap_err(),
            "feature age_years has no most favourable value"
        );
        let text = edited(|card| {
            card.as_object_mut().unwrap().remove("reasons");
        });
        assert!(
            Card::parse(&text)
                .unwrap_err()
                .starts_with("it has no `reasons` rules")
        );
    }

    #[test]
    fn references_are_feature_numbers() {
        let (card, _) = Card::parse(BUILT_IN).unwrap();
        let references = card.references().unwrap();
        assert_eq!(references[0], 3.0, "checking_account: none");
        assert_eq!(references[11], 75.0, "age_years: the oldest in training");
        assert_eq!(references[17], 1.0, "telephone: true");
    }

    #[test]
    fn a_card_whose_baseline_does_not_fit_the_application_is_refused() {
        let (card, _) = Card::parse(BUILT_IN).unwrap();
        let baseline = card.baseline().unwrap();
        assert_eq!(baseline.score().labels().len(), 10, "the score's deciles");
        assert_eq!(
            baseline.features()[0].labels(),
            ["below_0", "0_to_200", "200_or_more", "none"]
        );

        let text = edited(|card| {
            card.as_object_mut().unwrap().remove("baseline");
        });
        assert!(
            Card::parse(&text)
                .unwrap_err()
                .starts_with("it has no `baseline`")
        );
        let text = edited(|card| {
            card["baseline"]["features"]
                .as_object_mut()
                .unwrap()
                .remove("housing");
        });
        assert_eq!(
            Card::parse(&text).unwrap_err(),
            "the baseline has no bins for housing"
        );
        let text = edited(|card| card["baseline"]["features"]["age_years"]["edges"][0] = json!(99));
        assert_eq!(
            Card::parse(&text).unwrap_err(),
            "the baseline of age_years: the edges do not increase"
        );
        let text = edited(|card| card["baseline"]["score"]["bins"][0]["expected"] = json!(0.5));
        assert!(
            Card::parse(&text)
                .unwrap_err()
                .starts_with("the score's baseline: the training shares add up to 1.4")
        );
    }

    #[test]
    fn a_min_logit_below_the_rounding_floor_is_refused() {
        // Below it, a feature that changed nothing could be a reason.
        for min_logit in [-0.5, 0.0, 1e-6] {
            let text = edited(|card| card["reasons"]["min_logit"] = json!(min_logit));
            assert_eq!(
                Card::parse(&text).unwrap_err(),
                format!(
                    "its `reasons.min_logit` is {}, below 0.00001: a smaller rise may be f32 \
                     rounding",
                    min_logit as f32
                )
            );
        }
        let text = edited(|card| card["reasons"]["min_logit"] = json!(MIN_LOGIT_FLOOR));
        assert!(Card::parse(&text).is_ok());
    }

    #[test]
    fn a_threshold_out_of_range_is_refused() {
        // (0, 1) is open: a threshold of 0 declines everyone, 1 no one.
        for threshold in [1.5, 1.0, 0.0, -0.25] {
            let text = edited(|card| card["threshold"] = json!(threshold));
            assert_eq!(
                Card::parse(&text).unwrap_err(),
                format!("the threshold {threshold} is not between 0 and 1")
            );
        }
    }

    /// A reason read to an applicant must say something: a blank code or
    /// a blank description is as good as none.
    #[test]
    fn a_blank_reason_code_or_description_is_refused() {
        for member in ["code", "description"] {
            let text = edited(|card| card["features"][3]["reason"][member] = json!("  "));
            assert_eq!(
                Card::parse(&text).unwrap_err(),
                "feature purpose has no reason code and description",
                "{member}"
            );
        }
    }
}
