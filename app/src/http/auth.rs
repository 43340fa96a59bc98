//! API keys: with `CREDIT_DECISIONS_API_KEYS` set, every request the router
//! sends into the `/v1` scope needs `Authorization: Bearer <key>` (the scheme
//! in any case, RFC 9110 §11.1). The monitoring dashboard shows what
//! `/v1/monitoring` shows, so it needs a key too where it is served beside
//! the API; a browser asks for it as HTTP Basic's password (any user name).
//! Health, metrics and the API description stay open. The checks are
//! middleware on the scope or resource, never a test of the raw path.
//!
//! Admin operations (the routing, reloading models) need a key of
//! `CREDIT_DECISIONS_ADMIN_KEYS`, which is an API key too; another valid key
//! gets 403. A change names its maker by the key's digest, never the key.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, ResponseError, web};
use subtle::ConstantTimeEq;

use crate::http::problem::Problem;

/// The configured keys; `None` when authentication is off.
#[derive(Clone, Default)]
pub struct ApiKeys {
    /// Every key, the admin keys among them.
    any: Option<Vec<Vec<u8>>>,
    admin: Vec<Vec<u8>>,
}

impl ApiKeys {
    /// With neither API nor admin keys, authentication is off.
    pub fn new(keys: Option<&[String]>, admin: Option<&[String]>) -> Self {
        let bytes = |keys: &[String]| -> Vec<Vec<u8>> {
            keys.iter().map(|key| key.as_bytes().to_vec()).collect()
        };
        let admin = admin.map(bytes).unwrap_or_default();
        let any = match keys {
            None if admin.is_empty() => None,
            keys => Some([keys.map(bytes).unwrap_or_default(), admin.clone()].concat()),
        };
        Self { any, admin }
    }

    /// Who may do an admin operation with this `Authorization` header: the
    /// digest of an admin key, or `anonymous` with authentication off.
    fn admin(&self, authorization: Option<&[u8]>) -> Result<String, Problem> {
        if self.any.is_none() {
            return Ok(domain::changed_by(None));
        }
        let presented = authorization.and_then(bearer_token);
        if !self.admits_key(presented) {
            return Err(Problem::Unauthorized);
        }
        let presented = presented.expect("admitted keys are presented");
        if !contains(&self.admin, presented) {
            return Err(Problem::Forbidden(if self.admin.is_empty() {
                "no admin keys are configured (CREDIT_DECISIONS_ADMIN_KEYS): models cannot be \
                 changed while API keys are"
            } else {
                "this operation needs an admin key"
            }));
        }
        Ok(domain::changed_by(Some(presented)))
    }

    /// Whether an `Authorization` header value grants access. Every key is
    /// compared in constant time, and all of them every time, so timing says
    /// nothing about which key, or how much of one, was right.
    fn admits(&self, authorization: Option<&[u8]>) -> bool {
        self.admits_key(authorization.and_then(bearer_token))
    }

    /// Whether an `Authorization` header value grants a page: a bearer key,
    /// or a key as the password of HTTP Basic authentication.
    fn admits_page(&self, authorization: Option<&[u8]>) -> bool {
        let presented = authorization.and_then(|authorization| {
            bearer_token(authorization)
                .map(<[u8]>::to_vec)
                .or_else(|| basic_password(authorization))
        });
        self.admits_key(presented.as_deref())
    }

    fn admits_key(&self, presented: Option<&[u8]>) -> bool {
        let Some(keys) = &self.any else {
            return true;
        };
        presented.is_some_and(|presented| contains(keys, presented))
    }
}

/// Whether `presented` is one of `keys`, comparing with every key in
/// constant time.
fn contains(keys: &[Vec<u8>], presented: &[u8]) -> bool {
    keys.iter().fold(0u8, |found, key| {
        found | key.as_slice().ct_eq(presented).unwrap_u8()
    }) == 1
}

/// The maker of an admin operation (see [`ApiKeys`]), or its refusal.
pub fn admin(request: &HttpRequest) -> Result<String, Problem> {
    let keys = request
        .app_data::<web::Data<ApiKeys>>()
        .expect("the API keys are app data");
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.as_bytes());
    keys.admin(header)
}

/// The token of a `Bearer` credential: the scheme is case-insensitive and
/// separated from the token by one or more spaces.
fn bearer_token(authorization: &[u8]) -> Option<&[u8]> {
    credentials_of(authorization, b"bearer")
}

/// The password of a `Basic` credential (RFC 7617): base64 of
/// `user:password`; the user name is not looked at.
fn basic_password(authorization: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let encoded = credentials_of(authorization, b"basic")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let colon = decoded.iter().position(|&byte| byte == b':')?;
    let password = decoded[colon + 1..].to_vec();
    (!password.is_empty()).then_some(password)
}

/// What follows `scheme` (any case) and one or more spaces.
fn credentials_of<'a>(authorization: &'a [u8], scheme: &[u8]) -> Option<&'a [u8]> {
    let space = authorization.iter().position(|&byte| byte == b' ')?;
    let (given, rest) = authorization.split_at(space);
    if !given.eq_ignore_ascii_case(scheme) {
        return None;
    }
    let credentials = rest.trim_ascii_start();
    (!credentials.is_empty()).then_some(credentials)
}

pub async fn require_key(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let (keys, header) = keys_and_authorization(&request);
    if !keys.admits(header.as_deref()) {
        return Ok(request.into_response(Problem::Unauthorized.error_response()));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// The dashboard's check: a key as a bearer token or Basic's password.
pub async fn require_key_for_page(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let (keys, header) = keys_and_authorization(&request);
    if !keys.admits_page(header.as_deref()) {
        return Ok(request.into_response(Problem::UnauthorizedPage.error_response()));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

fn keys_and_authorization(request: &ServiceRequest) -> (web::Data<ApiKeys>, Option<Vec<u8>>) {
    let keys = request
        .app_data::<web::Data<ApiKeys>>()
        .expect("the API keys are app data")
        .clone();
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.as_bytes().to_vec());
    (keys, header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_configured_bearer_key_is_admitted() {
        let keys = ApiKeys::new(Some(&["alpha".to_owned(), "beta-key".to_owned()]), None);
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
        let keys = ApiKeys::new(Some(&["alpha".to_owned(), "alpha".to_owned()]), None);
        assert!(keys.admits(Some(b"Bearer alpha")));
    }

    #[test]
    fn a_page_takes_the_key_as_a_bearer_token_or_as_basics_password() {
        use base64::Engine;
        let basic = |credentials: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            )
            .into_bytes()
        };
        let keys = ApiKeys::new(Some(&["alpha".to_owned()]), None);
        assert!(keys.admits_page(Some(b"Bearer alpha")));
        assert!(keys.admits_page(Some(&basic("operator:alpha"))));
        assert!(keys.admits_page(Some(&basic(":alpha"))));
        assert!(keys.admits_page(Some(&basic("anyone:alpha")).map(|h| h.as_slice())));
        assert!(!keys.admits_page(Some(&basic("alpha:"))));
        assert!(!keys.admits_page(Some(&basic("alpha"))));
        assert!(!keys.admits_page(Some(&basic("operator:alph"))));
        assert!(!keys.admits_page(Some(b"Basic not-base64!")));
        assert!(!keys.admits_page(Some(b"Basic ")));
        assert!(!keys.admits_page(None));
        // The API itself takes bearer keys only.
        assert!(!keys.admits(Some(&basic("operator:alpha"))));
    }

    #[test]
    fn without_keys_everything_is_admitted() {
        let open = ApiKeys::new(None, None);
        assert!(open.admits(None));
        assert_eq!(open.admin(None).unwrap(), "anonymous");
    }

    #[test]
    fn an_admin_key_is_an_api_key_and_only_it_may_change_models() {
        let keys = ApiKeys::new(Some(&["user".to_owned()]), Some(&["boss".to_owned()]));
        assert!(keys.admits(Some(b"Bearer user")));
        assert!(keys.admits(Some(b"Bearer boss")));
        assert_eq!(
            keys.admin(Some(b"Bearer boss")).unwrap(),
            domain::changed_by(Some(b"boss"))
        );
        assert!(matches!(
            keys.admin(Some(b"Bearer user")),
            Err(Problem::Forbidden(_))
        ));
        assert!(matches!(
            keys.admin(Some(b"Bearer nobody")),
            Err(Problem::Unauthorized)
        ));
        assert!(matches!(keys.admin(None), Err(Problem::Unauthorized)));
        // Admin keys alone: every /v1 call needs one.
        let admin_only = ApiKeys::new(None, Some(&["boss".to_owned()]));
        assert!(!admin_only.admits(None));
        assert!(admin_only.admits(Some(b"Bearer boss")));
        // API keys without admin keys: nobody may change models.
        let no_admin = ApiKeys::new(Some(&["user".to_owned()]), None);
        assert!(matches!(
            no_admin.admin(Some(b"Bearer user")),
            Err(Problem::Forbidden(_))
        ));
    }
}
