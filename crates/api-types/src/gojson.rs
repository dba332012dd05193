//! serde helpers that reproduce Go `encoding/json` behaviour on Docker's wire types.
//!
//! Used through `#[serde(deserialize_with = ...)]` and `#[serde(skip_serializing_if = ...)]`;
//! see the crate docs for which field shape uses which helper.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// Reads `null` as the type's default, like Go decoding `null` into a non-pointer field.
pub(crate) fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads Docker's `strslice.StrSlice`: `null` is `None`, a string `"x"` is `Some(["x"])`, an
/// array is itself. `Cmd`, `Entrypoint`, `Shell`, `CapAdd` and `CapDrop` accept both forms.
pub(crate) fn str_slice<'de, D>(deserializer: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    struct StrSliceVisitor;

    impl<'de> Visitor<'de> for StrSliceVisitor {
        type Value = Option<Vec<String>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string, an array of strings, or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(vec![v.to_owned()]))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(s) = seq.next_element::<String>()? {
                out.push(s);
            }
            Ok(Some(out))
        }
    }

    deserializer.deserialize_option(StrSliceVisitor)
}

/// `omitempty` for scalars: skip `false`, `0` and `""`.
pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// `omitempty` for a nil-able Go slice kept as `Option<Vec<_>>`: skip `None` and `Some([])`.
pub(crate) fn is_none_or_empty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Probe {
        #[serde(deserialize_with = "str_slice")]
        cmd: Option<Vec<String>>,
        #[serde(deserialize_with = "null_default")]
        env: Vec<String>,
        #[serde(deserialize_with = "null_default")]
        tty: bool,
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).expect("probe JSON decodes")
    }

    #[test]
    fn str_slice_accepts_string_array_null_and_missing() {
        assert_eq!(probe(r#"{"cmd": "date"}"#).cmd, Some(vec!["date".to_owned()]));
        assert_eq!(probe(r#"{"cmd": ""}"#).cmd, Some(vec![String::new()]));
        assert_eq!(probe(r#"{"cmd": ["a", "b"]}"#).cmd, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(probe(r#"{"cmd": []}"#).cmd, Some(vec![]));
        assert_eq!(probe(r#"{"cmd": null}"#).cmd, None);
        assert_eq!(probe("{}").cmd, None);
        assert!(serde_json::from_str::<Probe>(r#"{"cmd": 1}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"cmd": [1]}"#).is_err());
    }

    #[test]
    fn null_default_reads_null_as_zero_value() {
        let p = probe(r#"{"env": null, "tty": null}"#);
        assert!(p.env.is_empty());
        assert!(!p.tty);
        assert!(probe(r#"{"tty": true}"#).tty);
    }

    #[test]
    fn omitempty_predicates() {
        assert!(is_default(&0_i64));
        assert!(is_default(&String::new()));
        assert!(!is_default(&true));
        assert!(is_none_or_empty::<String>(&None));
        assert!(is_none_or_empty::<String>(&Some(vec![])));
        assert!(!is_none_or_empty(&Some(vec![1])));
    }
}
