//! API keys: with `CREDIT_DECISIONS_API_KEYS` set, every request the router
//! sends into the `/v1` scope needs `Authorization: Bearer <key>` (the scheme
//! in any case, RFC 9110 §11.1). Health, metrics and the API description stay
//! open. The check is middleware on the scope, never a test of the raw path.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};
use subtle::ConstantTimeEq;

use crate::problem::Problem;

/// The configured keys; `None` when authentication is off.
#[derive(Clone, Default)]
pub struct ApiKeys(Option<Vec<Vec<u8>>>);

impl ApiKeys {
    pub fn new(keys: Option<&[String]>) -> Self {
        Self(keys.map(|keys| keys.iter().map(|key| key.as_bytes().to_vec()).collect()))
    }

    /// Whether an `Authorization` header value grants access. Every key is
    /// compared in constant time, and all of them every time, so timing says
    /// nothing about which key, or how much of one, was right.
    fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(keys) = &self.0 else {
            return true;
        };
        let Some(presented) = authorization.and_then(bearer_token) else {
            return false;
        };
        keys.iter().fold(0u8, |found, key| {
            found | key.as_slice().ct_eq(presented).unwrap_u8()
        }) == 1
    }
}

/// The token of a `Bearer` credential: the scheme is case-insensitive and
/// separated from the token by one or more spaces.
fn bearer_token(authorization: &[u8]) -> Option<&[u8]> {
    let space = authorization.iter().position(|&byte| byte == b' ')?;
    let (scheme, rest) = authorization.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let token = rest.trim_ascii_start();
    (!token.is_empty()).then_some(token)
}

pub async fn require_key(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let keys = request
        .app_data::<web::Data<ApiKeys>>()
        .expect("the API keys are app data")
        .clone();
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.as_bytes());
    if !keys.admits(header) {
        return Ok(request.into_response(Problem::Unauthorized.error_response()));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_configured_bearer_key_is_admitted() {
        let keys = ApiKeys::new(Some(&["alpha".to_owned(), "beta-key".to_owned()]));
        assert!(keys.admits(Some(b"Bearer alpha")));
        assert!(keys.admits(Some(b"Bearer beta-key")));
        assert!(keys.admits(Some(b"bearer alpha")));
        assert!(keys.admits(Some(b"BEARER  alpha")));
        assert!(!keys.admits(Some(b"Bearer ")));
        assert!(!keys.admits(Some(b"Bearer")));
        assert!(!keys.admits(Some(b"Bearerx alpha")));
        assert!(!keys.admits(Some(b"Bearer alph")));
        assert!(!keys.admits(Some(b"Bearer alphaa")));
        assert!(!keys.admits(Some(b"alpha")));
        assert!(!keys.admits(Some(b"Basic alpha")));
        assert!(!keys.admits(None));
    }

    /// A key listed twice (say, while keys are being rotated) still admits:
    /// the matches are or-ed, never toggled.
    #[test]
    fn a_key_listed_twice_still_admits() {
        let keys = ApiKeys::new(Some(&["alpha".to_owned(), "alpha".to_owned()]));
        assert!(keys.admits(Some(b"Bearer alpha")));
    }

    #[test]
    fn without_keys_everything_is_admitted() {
        assert!(ApiKeys::new(None).admits(None));
    }
}
