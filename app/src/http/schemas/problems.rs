//! The problem answers each operation can give, described once: RFC 9457
//! `application/problem+json` with the `Problem` schema.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// What each problem status means, for every operation that can answer it.
const PROBLEMS: [(u16, &str); 11] = [
    (400, "The body is not JSON, or not a JSON object"),
    (
        401,
        "A bearer key is required (when the service is configured with API keys)",
    ),
    (
        403,
        "An admin operation with a key that is not an admin key (or with admin keys not configured while API keys are)",
    ),
    (404, "No such decision or model version"),
    (
        412,
        "If-Match names a routing generation that is no longer current: nothing changed",
    ),
    (
        408,
        "The body did not arrive within its time bound; the connection is closed",
    ),
    (
        413,
        "The body is over its limit: 64 KiB for one application, 8 MiB for a batch",
    ),
    (415, "The content type is not application/json"),
    (
        422,
        "The input is invalid: every failing field is listed (the first 100, with a count of all in `detail`; \
         in a batch each error's `index` is its application's position); \
         a repeated member, a number out of range, an object of more than 32 members or a member name over 64 bytes \
         is refused naming the member",
    ),
    (
        429,
        "Two monitoring reports are being computed already; Retry-After is set",
    ),
    (
        503,
        "The decision store or the model is unavailable; Retry-After is set",
    ),
];

/// The problem+json responses of `statuses`, described from [`PROBLEMS`].
fn problem_responses(statuses: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|status| {
            let (_, description) = PROBLEMS
                .iter()
                .find(|(known, _)| known == status)
                .expect("every problem status is described in PROBLEMS");
            let response = ResponseBuilder::new()
                .description(*description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// Declares a set of problem answers for `responses(...)` of a path.
macro_rules! problems {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal),+];)+) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problem_responses(&[$($status),+])
            }
        }
    )+};
}

problems! {
    /// Deciding: the body's checks, the key, validation, the log and the model.
    DecideProblems = [400, 401, 408, 413, 415, 422, 503];
    /// Reading one logged decision.
    RecordProblems = [401, 404, 503];
    /// Reading a page of the log.
    PageProblems = [401, 422, 503];
    /// The monitoring report: the key, the window, the reports at once, the log.
    MonitoringProblems = [401, 422, 429, 503];
    /// The monitoring dashboard: the key (a bearer token or Basic's
    /// password), the window, the reports at once, the log.
    DashboardProblems = [401, 422, 429, 503];
    /// Any other operation behind the key.
    KeyProblems = [401];
    /// One model version's card.
    VersionProblems = [401, 404];
    /// An admin operation: the key, an admin key, the routing store.
    AdminProblems = [401, 403, 503];
    /// Setting the routing: the body's checks, the keys, `If-Match`, the
    /// routing's rules, the routing store.
    RoutingProblems = [400, 401, 403, 408, 412, 413, 415, 422, 503];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_is_described_as_what_it_means() {
        let responses = problem_responses(&[413, 401, 503]);
        let described: Vec<(&str, &str)> = responses
            .iter()
            .map(|(status, response)| match response {
                RefOr::T(response) => (status.as_str(), response.description.as_str()),
                RefOr::Ref(_) => panic!("{status} is a reference"),
            })
            .collect();
        assert_eq!(
            described,
            [
                ("401", PROBLEMS[1].1),
                ("413", PROBLEMS[6].1),
                ("503", PROBLEMS[10].1)
            ]
        );
        assert!(PROBLEMS[6].1.starts_with("The body is over its limit"));
        let json = serde_json::to_value(&responses["413"]).unwrap();
        assert_eq!(
            json["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
    }
}
