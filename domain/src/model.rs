//! What the service knows of a model version: its card's facts, and the
//! rules its verdicts follow, so that a verdict from anywhere but the model
//! (a cache entry) can be checked against them before it is served.

use thiserror::Error;

use crate::application::Application;
use crate::decision::{Outcome, Reason, Verdict};
use crate::monitoring::Baseline;

/// What the service tells about a model version it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub version: String,
    /// Applications with a probability of default below it are approved.
    pub threshold: f32,
    /// The model card, served as it is.
    pub card: serde_json::Value,
    /// The training population, from the card, for monitoring.
    pub baseline: Baseline,
    /// The reasons the model may give for a decline, from the card.
    pub reasons: ReasonRules,
}

/// How a model version gives the reasons of a decline.
#[derive(Debug, Clone, PartialEq)]
pub struct ReasonRules {
    /// The reason of each field, in the order of [`Application::FIELDS`].
    pub of_field: Vec<Reason>,
    /// The most reasons one decline gives.
    pub at_most: usize,
    /// From this age on, age is never a reason (Regulation B
    /// §1002.6(b)(2)(ii)).
    pub age_never_a_reason_from: u8,
}

/// Why a verdict is not one a model version could have given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not a verdict of {version}: {why}")]
pub struct UntrustedVerdict {
    pub version: String,
    pub why: String,
}

impl ModelInfo {
    /// Whether this version could have given `verdict` for `application`:
    /// its version, a probability, the decision the probability and the
    /// threshold make, and for a decline at most the allowed number of
    /// distinct reasons from the card, never age from the elderly age on.
    /// An entry that fails is not served, whoever wrote it.
    pub fn check(
        &self,
        verdict: &Verdict,
        application: &Application,
    ) -> Result<(), UntrustedVerdict> {
        let untrusted = |why: String| UntrustedVerdict {
            version: self.version.clone(),
            why,
        };
        if verdict.model_version != self.version {
            return Err(untrusted(format!(
                "it names the version '{}'",
                shortened(&verdict.model_version)
            )));
        }
        let probability = verdict.probability_of_default;
        if !(0.0..=1.0).contains(&probability) {
            return Err(untrusted(format!("{probability} is not a probability")));
        }
        // The model's output is an f32, carried as the f64 of its shortest
        // decimal form: narrowing it back gives the very number it decided on.
        let follows = Outcome::at_threshold(probability as f32, self.threshold);
        if verdict.outcome != follows {
            return Err(untrusted(format!(
                "{} does not follow from {probability} and the threshold {}",
                verdict.outcome.as_str(),
                self.threshold
            )));
        }
        self.reasons.check(verdict, application).map_err(untrusted)
    }
}

impl ReasonRules {
    fn check(&self, verdict: &Verdict, application: &Application) -> Result<(), String> {
        let reasons = &verdict.reasons;
        if verdict.outcome == Outcome::Approve && !reasons.is_empty() {
            return Err("an approval gives no reasons".to_owned());
        }
        if reasons.len() > self.at_most {
            return Err(format!(
                "{} reasons, at most {} are given",
                reasons.len(),
                self.at_most
            ));
        }
        let elderly = application.age_years.get() >= self.age_never_a_reason_from;
        for (k, reason) in reasons.iter().enumerate() {
            if !self.of_field.contains(reason) {
                return Err(format!("reason {k} is not one of the card's"));
            }
            if reasons[..k].contains(reason) {
                return Err(format!("reason {} is given twice", reason.code));
            }
            if elderly && reason.feature == "age_years" {
                return Err(format!(
                    "age is a reason for an applicant of {}",
                    application.age_years.get()
                ));
            }
        }
        Ok(())
    }
}

/// A stored string as an error message quotes it.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::monitoring::tests::test_baseline;
    use pretty_assertions::assert_eq;
    use serde_json::Value;

    pub(crate) const VERSION: &str = "test-model-1";
    pub(crate) const THRESHOLD: f32 = 0.2;

    /// One reason per field, `R01`… in field order.
    pub(crate) fn test_reasons() -> ReasonRules {
        ReasonRules {
            of_field: Application::FIELDS
                .iter()
                .enumerate()
                .map(|(k, field)| Reason {
                    code: format!("R{:02}", k + 1),
                    feature: field.name.to_owned(),
                    description: format!("{} counts against", field.name),
                })
                .collect(),
            at_most: 4,
            age_never_a_reason_from: 62,
        }
    }

    pub(crate) fn test_model() -> ModelInfo {
        ModelInfo {
            version: VERSION.to_owned(),
            threshold: THRESHOLD,
            card: Value::Null,
            baseline: test_baseline(),
            reasons: test_reasons(),
        }
    }

    fn application(age: i64) -> Application {
        let mut body: Value =
            serde_json::from_str(include_str!("../testdata/example-application.json")).unwrap();
        body["age_years"] = age.into();
        Application::from_json(body.as_object().unwrap()).unwrap()
    }

    fn reason(field: &str) -> Reason {
        test_reasons()
            .of_field
            .into_iter()
            .find(|reason| reason.feature == field)
            .unwrap()
    }

    fn decline(reasons: &[&str]) -> Verdict {
        let mut verdict = Verdict::from_model(0.6, THRESHOLD, VERSION);
        verdict.reasons = reasons.iter().map(|field| reason(field)).collect();
        verdict
    }

    fn why(verdict: &Verdict, age: i64) -> String {
        test_model()
            .check(verdict, &application(age))
            .unwrap_err()
            .why
    }

    #[test]
    fn what_the_model_gives_is_trusted() {
        let model = test_model();
        let approval = Verdict::from_model(0.1, THRESHOLD, VERSION);
        assert_eq!(model.check(&approval, &application(30)), Ok(()));
        let four = decline(&[
            "checking_account",
            "duration_months",
            "savings",
            "age_years",
        ]);
        assert_eq!(model.check(&four, &application(30)), Ok(()));
        assert_eq!(model.check(&decline(&[]), &application(70)), Ok(()));
        // At the threshold itself the model declines.
        let at = Verdict::from_model(THRESHOLD, THRESHOLD, VERSION);
        assert_eq!(model.check(&at, &application(30)), Ok(()));
    }

    #[test]
    fn a_verdict_of_another_version_is_refused() {
        let mut verdict = decline(&["savings"]);
        verdict.model_version = "evil-model-9".to_owned();
        assert_eq!(why(&verdict, 30), "it names the version 'evil-model-9'");
    }

    #[test]
    fn a_decision_must_follow_from_the_probability() {
        let mut approval = Verdict::from_model(0.999, THRESHOLD, VERSION);
        approval.outcome = Outcome::Approve;
        assert_eq!(
            why(&approval, 30),
            "approve does not follow from 0.999 and the threshold 0.2"
        );
        let mut decline = Verdict::from_model(0.1, THRESHOLD, VERSION);
        decline.outcome = Outcome::Decline;
        assert!(why(&decline, 30).starts_with("decline does not follow"));
    }

    #[test]
    fn a_probability_outside_zero_to_one_is_refused() {
        for bad in [7.0, -0.1, f64::NAN, f64::INFINITY] {
            let mut verdict = decline(&["savings"]);
            verdict.probability_of_default = bad;
            assert!(why(&verdict, 30).ends_with("is not a probability"), "{bad}");
        }
    }

    #[test]
    fn reasons_must_be_the_cards_few_and_distinct() {
        let ten = decline(&[
            "checking_account",
            "duration_months",
            "credit_history",
            "purpose",
            "credit_amount",
            "savings",
            "employment_since",
            "installment_rate",
            "other_debtors",
            "residence_since",
        ]);
        assert_eq!(why(&ten, 30), "10 reasons, at most 4 are given");

        let mut made_up = decline(&["savings"]);
        made_up.reasons[0].description = "x".repeat(1_000_000);
        assert_eq!(why(&made_up, 30), "reason 0 is not one of the card's");

        let twice = decline(&["savings", "savings"]);
        assert_eq!(why(&twice, 30), "reason R06 is given twice");

        let mut approval = Verdict::from_model(0.1, THRESHOLD, VERSION);
        approval.reasons = vec![reason("savings")];
        assert_eq!(why(&approval, 30), "an approval gives no reasons");
    }

    #[test]
    fn age_is_never_a_reason_from_the_elderly_age() {
        let age = decline(&["age_years"]);
        assert_eq!(why(&age, 67), "age is a reason for an applicant of 67");
        assert_eq!(why(&age, 62), "age is a reason for an applicant of 62");
        assert_eq!(test_model().check(&age, &application(61)), Ok(()));
    }
}
