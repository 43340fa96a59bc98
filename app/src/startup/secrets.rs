//! Secrets in the configuration (passwords in URLs, API keys) never appear in
//! a message, a log line or `Debug` output: URLs are shown with their
//! password replaced, keys not at all.

use std::fmt;

/// What stands where a secret was.
const REDACTED: &str = "***";

/// A URL that may carry a password. `Debug` and `Display` show it redacted;
/// only [`SecretUrl::expose`] gives the real one, to the driver.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `message` with every occurrence of this URL's password redacted (a
    /// driver's error may quote the URL it was given).
    pub fn scrub(&self, message: &str) -> String {
        match password_of(&self.0) {
            Some(password) if !password.is_empty() => message.replace(password, REDACTED),
            _ => message.to_owned(),
        }
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({self})")
    }
}

/// The password of `scheme://user:password@host…`, found by hand so that a
/// URL too broken to parse is redacted all the same. In a list of hosts
/// (`redis-cluster://a:p@h1,h2`) the userinfo is the part before the last `@`
/// of the authority.
fn password_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let (userinfo, _) = authority.rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, password)| password)
}

/// `url` with its password, if any, replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match password_of(url) {
        Some(password) if !password.is_empty() => {
            // Replace only the userinfo's occurrence, not the same text elsewhere.
            let start = password.as_ptr() as usize - url.as_ptr() as usize;
            format!(
                "{}{REDACTED}{}",
                &url[..start],
                &url[start + password.len()..]
            )
        }
        _ => url.to_owned(),
    }
}

/// The configured API keys: `Debug` says how many, never which.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKeys(pub Vec<String>);

impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKeys({} keys)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_wherever_they_stand() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db:5432/log",
                "postgres://app:***@db:5432/log",
            ),
            ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
            (
                "redis-cluster://u:s3cret@h1:7000,h2:7001",
                "redis-cluster://u:***@h1:7000,h2:7001",
            ),
            (
                "postgres://app:s3cret@db:port",
                "postgres://app:***@db:port",
            ),
            ("postgres://db/log", "postgres://db/log"),
            ("postgres://app@db/log", "postgres://app@db/log"),
            ("not a url:s3cret@x", "not a url:***@x"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
            let secret = SecretUrl::new(url);
            assert_eq!(format!("{secret}"), shown);
            assert_eq!(format!("{secret:?}"), format!("SecretUrl({shown})"));
            assert_eq!(secret.expose(), url, "the driver gets the real one");
        }
    }

    #[test]
    fn a_message_quoting_the_password_is_scrubbed() {
        let url = SecretUrl::new("postgres://app:s3cret@db/log");
        assert_eq!(
            url.scrub("cannot connect: password s3cret rejected"),
            "cannot connect: password *** rejected"
        );
    }

    #[test]
    fn an_empty_or_absent_password_leaves_a_message_as_it_was() {
        let message = "cannot connect to db: refused";
        for url in [
            "postgres://app:@db/log",
            "postgres://app@db/log",
            "postgres://db/log",
        ] {
            assert_eq!(SecretUrl::new(url).scrub(message), message, "{url}");
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn keys_are_never_shown() {
        let keys = SecretKeys(vec!["alpha".to_owned(), "beta".to_owned()]);
        assert_eq!(format!("{keys:?}"), "SecretKeys(2 keys)");
    }
}
