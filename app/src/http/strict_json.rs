//! Parsing a request body into JSON more strictly than `serde_json` does, so
//! that what the service decides is exactly what every reader of the body
//! sees, and so that no body costs more than its size:
//!
//! - a key repeated in one object is refused (a proxy that reads the first
//!   of two `age_years` would see another application than the one decided);
//! - a number beyond f64 (`1e400`) is refused naming its member, as the
//!   field's validation would (422), not as broken JSON (400);
//! - an object with more than [`Limits::members`] members, or an array with
//!   more than [`Limits::items`] items, is refused after counting the rest
//!   without keeping them;
//! - a member name longer than [`Limits::name_bytes`] is refused (no field
//!   has such a name, and long names are what would make the parsed body
//!   larger than the body).
//!
//! Each refusal names the member's path (`applications[3].age_years`), as
//! validation errors do.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The most an object or an array may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub members: usize,
    pub name_bytes: usize,
    pub items: usize,
}

/// A body that is JSON but refused, with the path of the member at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub path: String,
    pub message: String,
}

#[derive(Debug)]
pub enum ParseError {
    /// Not JSON (400).
    Syntax(serde_json::Error),
    /// JSON, but refused (422).
    Refused(Refusal),
}

pub fn parse(bytes: &[u8], limits: Limits) -> Result<Value, ParseError> {
    let refusal = RefCell::new(None);
    let seed = Seed {
        at: &Path::Root,
        limits,
        refusal: &refusal,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = seed
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, refusal.into_inner()) {
        (_, Some(refusal)) => Err(ParseError::Refused(refusal)),
        (Ok(value), None) => Ok(value),
        (Err(error), None) => Err(ParseError::Syntax(error)),
    }
}

/// Where a value stands, rendered only when a refusal needs it.
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Member(Path::Root, key) => f.write_str(key),
            Path::Member(parent, key) => write!(f, "{parent}.{key}"),
            Path::Item(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

#[derive(Clone, Copy)]
struct Seed<'a> {
    at: &'a Path<'a>,
    limits: Limits,
    refusal: &'a RefCell<Option<Refusal>>,
}

impl Seed<'_> {
    /// Records the refusal and stops the parse with an error that says so.
    fn refuse<E: serde::de::Error>(&self, path: String, message: String) -> E {
        let error = E::custom(&message);
        self.refusal
            .borrow_mut()
            .get_or_insert(Refusal { path, message });
        error
    }

    fn child<'b>(&self, at: &'b Path<'b>) -> Seed<'b>
    where
        Self: 'b,
    {
        Seed {
            at,
            limits: self.limits,
            refusal: self.refusal,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let at = self.at;
        deserializer
            .deserialize_any(self)
            .map_err(|error: D::Error| {
                // serde_json says so before any visitor sees the number.
                if error.to_string().starts_with("number out of range") {
                    return self.refuse(at.to_string(), "is a number out of range".to_owned());
                }
                error
            })
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let at = Path::Item(self.at, items.len());
            let Some(item) = seq.next_element_seed(self.child(&at))? else {
                return Ok(Value::Array(items));
            };
            items.push(item);
            if items.len() == self.limits.items {
                let mut count = items.len();
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                if count > self.limits.items {
                    return Err(self.refuse(
                        self.at.to_string(),
                        format!("must hold at most {} items, not {count}", self.limits.items),
                    ));
                }
                return Ok(Value::Array(items));
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key.len() > self.limits.name_bytes {
                let shown: String = key.chars().take(32).collect();
                let at = Path::Member(self.at, &shown);
                return Err(self.refuse(
                    format!("{at}…"),
                    format!(
                        "is not a field: a member name is at most {} bytes",
                        self.limits.name_bytes
                    ),
                ));
            }
            if object.contains_key(&key) {
                let at = Path::Member(self.at, &key);
                return Err(self.refuse(at.to_string(), "appears more than once".to_owned()));
            }
            if object.len() == self.limits.members {
                let mut count = object.len() + 1;
                map.next_value::<IgnoredAny>()?;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    count += 1;
                }
                // Named by the first member past the limit: a path even at the root.
                let at = Path::Member(self.at, &key);
                return Err(self.refuse(
                    at.to_string(),
                    format!(
                        "is past the {} members an object may have ({count} were sent)",
                        self.limits.members
                    ),
                ));
            }
            let at = Path::Member(self.at, &key);
            let value = map.next_value_seed(self.child(&at))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    const LIMITS: Limits = Limits {
        members: 4,
        name_bytes: 16,
        items: 3,
    };

    fn refusal(body: &str) -> Refusal {
        match parse(body.as_bytes(), LIMITS) {
            Err(ParseError::Refused(refusal)) => refusal,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn json_within_the_limits_parses_as_serde_json_would() {
        let body = r#"{"a": [1, -2, 3.5], "b": {"c": null, "d": "e", "f": true}}"#;
        assert_eq!(
            parse(body.as_bytes(), LIMITS).unwrap(),
            serde_json::from_str::<Value>(body).unwrap()
        );
    }

    #[test]
    fn a_repeated_key_is_refused_with_its_path() {
        assert_eq!(
            refusal(r#"{"age_years": 30, "age_years": 70}"#),
            Refusal {
                path: "age_years".to_owned(),
                message: "appears more than once".to_owned()
            }
        );
        assert_eq!(
            refusal(r#"{"applications": [{}, {"job": "a", "job": "b"}]}"#).path,
            "applications[1].job"
        );
    }

    #[test]
    fn a_number_beyond_f64_is_refused_with_its_path() {
        assert_eq!(
            refusal(r#"{"applications": [{"credit_amount": 1e400}]}"#),
            Refusal {
                path: "applications[0].credit_amount".to_owned(),
                message: "is a number out of range".to_owned()
            }
        );
    }

    #[test]
    fn oversized_objects_and_arrays_are_counted_not_kept() {
        assert_eq!(
            refusal(r#"{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}"#),
            Refusal {
                path: "e".to_owned(),
                message: "is past the 4 members an object may have (6 were sent)".to_owned()
            }
        );
        assert_eq!(
            refusal(r#"{"applications": [1, 2, 3, 4, [5]]}"#),
            Refusal {
                path: "applications".to_owned(),
                message: "must hold at most 3 items, not 5".to_owned()
            }
        );
        assert_eq!(parse(b"[1, 2, 3]", LIMITS).unwrap(), json!([1, 2, 3]));
    }

    #[test]
    fn a_long_member_name_is_refused() {
        let refusal = refusal(r#"{"applications": [{"abcdefghijklmnopq": 1}]}"#);
        assert_eq!(refusal.path, "applications[0].abcdefghijklmnopq…");
        assert_eq!(
            refusal.message,
            "is not a field: a member name is at most 16 bytes"
        );
        // A name of exactly the limit is read, for the domain to name it.
        let body = r#"{"applications": [{"abcdefghijklmnop": 1}]}"#;
        assert_eq!(
            parse(body.as_bytes(), LIMITS).unwrap(),
            json!({"applications": [{"abcdefghijklmnop": 1}]})
        );
    }

    #[test]
    fn broken_json_is_a_syntax_error() {
        for body in ["{", r#"{"a": 1} x"#, "", "[1,]"] {
            assert!(
                matches!(parse(body.as_bytes(), LIMITS), Err(ParseError::Syntax(_))),
                "{body}"
            );
        }
    }
}
