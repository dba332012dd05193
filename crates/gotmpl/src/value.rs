//! The values templates compute with, and how they map onto Go's types.
//!
//! Data is a `serde_json::Value`, seen the way Go sees a decoded document whose numbers
//! were kept as their natural types: JSON integers are Go `int` (or `uint64` past
//! `i64::MAX`), other numbers `float64`, arrays `[]interface {}`, objects
//! `map[string]interface {}`. Borrowing the data (`Cow::Borrowed`) keeps field access
//! cheap; values computed by functions are owned.
//!
//! Go distinguishes an invalid `reflect.Value` (a missing map key, an absent argument)
//! from a nil `interface{}` stored in the data (JSON `null`). They print the same at the
//! top level (`<no value>`) but differ in a few places, e.g. `.Null.X` is an error while
//! `.Missing.X` is not, so both are modelled.

use std::borrow::Cow;

use serde_json::{Map, Number, Value as Json};

/// A template value.
#[derive(Debug, Clone)]
pub(crate) enum Val<'d> {
    /// Go's invalid `reflect.Value`: a missing key or an untyped nil.
    Missing,
    /// A JSON value, including `null` (a nil `interface{}`).
    Json(Cow<'d, Json>),
}

impl<'d> Val<'d> {
    pub(crate) fn owned(j: Json) -> Self {
        Val::Json(Cow::Owned(j))
    }

    pub(crate) fn str(s: impl Into<String>) -> Self {
        Val::owned(Json::String(s.into()))
    }

    pub(crate) fn int(i: i64) -> Self {
        Val::owned(Json::Number(Number::from(i)))
    }

    pub(crate) fn bool(b: bool) -> Self {
        Val::owned(Json::Bool(b))
    }

    pub(crate) fn float(f: f64) -> Self {
        Number::from_f64(f).map_or(Val::Missing, |n| Val::owned(Json::Number(n)))
    }

    pub(crate) fn json(&self) -> Option<&Json> {
        match self {
            Val::Missing => None,
            Val::Json(j) => Some(j),
        }
    }

    /// Like Go's `indirectInterface`: a nil interface becomes invalid.
    pub(crate) fn indirect(self) -> Self {
        match self {
            Val::Json(j) if j.is_null() => Val::Missing,
            v => v,
        }
    }

    /// Selects a child of a JSON value, borrowing from the data when the parent does.
    pub(crate) fn child(&self, pick: impl for<'a> FnOnce(&'a Json) -> Option<&'a Json>) -> Option<Self> {
        match self {
            Val::Missing => None,
            Val::Json(Cow::Borrowed(j)) => pick(j).map(|c| Val::Json(Cow::Borrowed(c))),
            Val::Json(Cow::Owned(j)) => pick(j).map(|c| Val::owned(c.clone())),
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        self.json().and_then(Json::as_str)
    }

    pub(crate) fn as_int(&self) -> Option<i64> {
        match self.json() {
            Some(Json::Number(n)) => n.as_i64(),
            _ => None,
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        match self.json() {
            None | Some(Json::Null) => Kind::Invalid,
            Some(j) => kind_of(j),
        }
    }

    /// Go's `isTrue`: the value is not the zero value of its type.
    pub(crate) fn truth(&self) -> bool {
        match self.json() {
            None | Some(Json::Null) => false,
            Some(Json::Bool(b)) => *b,
            Some(Json::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Some(Json::String(s)) => !s.is_empty(),
            Some(Json::Array(a)) => !a.is_empty(),
            Some(Json::Object(o)) => !o.is_empty(),
        }
    }

    /// The Go type name used in error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self.json() {
            None => "<nil>",
            Some(j) => type_name(j),
        }
    }
}

/// The basic kinds Go's comparison functions distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
    Array,
    Map,
}

pub(crate) fn kind_of(j: &Json) -> Kind {
    match j {
        Json::Null => Kind::Invalid,
        Json::Bool(_) => Kind::Bool,
        Json::Number(n) if n.is_i64() => Kind::Int,
        Json::Number(n) if n.is_u64() => Kind::Uint,
        Json::Number(_) => Kind::Float,
        Json::String(_) => Kind::String,
        Json::Array(_) => Kind::Array,
        Json::Object(_) => Kind::Map,
    }
}

/// The Go type a decoded JSON value has, as `reflect.Type.String()` spells it.
pub(crate) fn type_name(j: &Json) -> &'static str {
    match kind_of(j) {
        Kind::Invalid => "interface {}",
        Kind::Bool => "bool",
        Kind::Int => "int",
        Kind::Uint => "uint64",
        Kind::Float => "float64",
        Kind::String => "string",
        Kind::Array => "[]interface {}",
        Kind::Map => "map[string]interface {}",
    }
}

/// Object entries in Go's map iteration order for templates and fmt: sorted by key.
pub(crate) fn sorted_entries(m: &Map<String, Json>) -> Vec<(&String, &Json)> {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truth_follows_go_zero_values() {
        let cases = [
            (json!(null), false),
            (json!(false), false),
            (json!(0), false),
            (json!(0.0), false),
            (json!(-1), true),
            (json!(""), false),
            (json!("x"), true),
            (json!([]), false),
            (json!([0]), true),
            (json!({}), false),
            (json!({"a": null}), true),
        ];
        for (j, want) in cases {
            assert_eq!(Val::owned(j.clone()).truth(), want, "{j}");
        }
        assert!(!Val::Missing.truth());
    }

    #[test]
    fn type_names() {
        assert_eq!(type_name(&json!(1)), "int");
        assert_eq!(type_name(&json!(u64::MAX)), "uint64");
        assert_eq!(type_name(&json!(1.5)), "float64");
        assert_eq!(type_name(&json!([1])), "[]interface {}");
        assert_eq!(type_name(&json!({})), "map[string]interface {}");
        assert_eq!(type_name(&json!(null)), "interface {}");
    }
}
