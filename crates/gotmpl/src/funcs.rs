//! The template functions: Go's builtins plus docker/cli's `templates.basicFunctions`.
//!
//! Each function has a Go-like signature ([`Sig`]) that the executor uses to check
//! argument counts and types before calling it, producing Go's messages
//! (`wrong number of args for upper: want 1 got 0`, `wrong type for value; expected
//! string; got int`). Errors returned here are wrapped by the executor as
//! `error calling NAME: MESSAGE`, as Go does.
//!
//! In header mode (see `Template::render_header`) `json split join title lower upper
//! truncate` return their first argument unchanged, as docker's `HeaderFunctions` do,
//! so a table header keeps the column names.

use std::cmp::Ordering;

use serde_json::Value as Json;

use crate::gofmt;
use crate::json;
use crate::value::{Kind, Val};

/// A function usable in templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Html,
    Js,
    UrlQuery,
    Call,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Json,
    Split,
    Join,
    Title,
    Lower,
    Upper,
    Pad,
    Truncate,
}

/// A parameter type, the Go types the functions above take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// `interface{}` or `reflect.Value`.
    Any,
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `[]string`.
    StrSlice,
}

impl Param {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Str => "string",
            Param::Int => "int",
            Param::StrSlice => "[]string",
        }
    }
}

/// Fixed parameters followed by an optional variadic one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sig {
    pub(crate) fixed: &'static [Param],
    pub(crate) variadic: Option<Param>,
}

/// Reports whether `name` is a defined function.
pub(crate) fn exists(name: &str) -> bool {
    Func::lookup(name).is_some()
}

impl Func {
    pub(crate) fn lookup(name: &str) -> Option<Func> {
        Some(match name {
            "and" => Func::And,
            "or" => Func::Or,
            "not" => Func::Not,
            "len" => Func::Len,
            "index" => Func::Index,
            "slice" => Func::Slice,
            "print" => Func::Print,
            "printf" => Func::Printf,
            "println" => Func::Println,
            "html" => Func::Html,
            "js" => Func::Js,
            "urlquery" => Func::UrlQuery,
            "call" => Func::Call,
            "eq" => Func::Eq,
            "ne" => Func::Ne,
            "lt" => Func::Lt,
            "le" => Func::Le,
            "gt" => Func::Gt,
            "ge" => Func::Ge,
            "json" => Func::Json,
            "split" => Func::Split,
            "join" => Func::Join,
            "title" => Func::Title,
            "lower" => Func::Lower,
            "upper" => Func::Upper,
            "pad" => Func::Pad,
            "truncate" => Func::Truncate,
            _ => return None,
        })
    }

    /// Whether `header` mode replaces this function with one returning its first argument.
    fn is_header_passthrough(self) -> bool {
        matches!(self, Func::Json | Func::Split | Func::Join | Func::Title | Func::Lower | Func::Upper | Func::Truncate)
    }

    pub(crate) fn sig(self, header: bool) -> Sig {
        use Param::*;
        let (fixed, variadic): (&'static [Param], Option<Param>) = match self {
            Func::And | Func::Or | Func::Index | Func::Slice | Func::Call | Func::Eq => (&[Any], Some(Any)),
            Func::Not | Func::Len => (&[Any], None),
            Func::Print | Func::Println | Func::Html | Func::Js | Func::UrlQuery => (&[], Some(Any)),
            Func::Printf => (&[Str], Some(Any)),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => (&[Any, Any], None),
            Func::Json if header => (&[Str], None),
            Func::Json => (&[Any], None),
            Func::Split => (&[Str, Str], None),
            Func::Join if header => (&[Str, Str], None),
            Func::Join => (&[StrSlice, Str], None),
            Func::Title | Func::Lower | Func::Upper => (&[Str], None),
            Func::Pad => (&[Str, Int, Int], None),
            Func::Truncate => (&[Str, Int], None),
        };
        Sig { fixed, variadic }
    }

    /// Calls the function on arguments already checked against [`Func::sig`]. `and`,
    /// `or` and `call` are evaluated by the executor and never reach here.
    pub(crate) fn call<'d>(self, mut args: Vec<Val<'d>>, header: bool) -> Result<Val<'d>, String> {
        if header && self.is_header_passthrough() {
            return Ok(args.swap_remove(0));
        }
        let s = |i: usize| args.get(i).and_then(Val::as_str).unwrap_or_default();
        let n = |i: usize| args.get(i).and_then(Val::as_int).unwrap_or_default();
        Ok(match self {
            Func::And | Func::Or | Func::Call => args.pop().unwrap_or(Val::Missing),
            Func::Not => Val::bool(!args.first().is_some_and(Val::truth)),
            Func::Len => length(args.first().unwrap_or(&Val::Missing))?,
            Func::Index => index(args)?,
            Func::Slice => slice(args)?,
            Func::Print => Val::str(gofmt::sprint(&fmt_args(&args))),
            Func::Println => Val::str(gofmt::sprintln(&fmt_args(&args))),
            Func::Printf => Val::str(gofmt::sprintf(s(0), &fmt_args(&args[1..]))),
            Func::Html => Val::str(html_escape(&eval_args(&args))),
            Func::Js => Val::str(js_escape(&eval_args(&args))),
            Func::UrlQuery => Val::str(query_escape(&eval_args(&args))),
            Func::Eq => Val::bool(eq(&args[0], &args[1..])?),
            Func::Ne => Val::bool(!eq(&args[0], &args[1..2])?),
            Func::Lt => Val::bool(lt(&args[0], &args[1])?),
            Func::Le => Val::bool(le(&args[0], &args[1])?),
            Func::Gt => Val::bool(!le(&args[0], &args[1])?),
            Func::Ge => Val::bool(!lt(&args[0], &args[1])?),
            Func::Json => Val::str(json::encode(args[0].json())),
            Func::Split => Val::owned(Json::Array(split(s(0), s(1)).into_iter().map(Json::String).collect())),
            Func::Join => {
                let parts: Vec<&str> = match args[0].json() {
                    Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
                    _ => Vec::new(),
                };
                Val::str(parts.join(s(1)))
            }
            Func::Title => Val::str(title(s(0))),
            Func::Lower => Val::str(map_simple(s(0), char::to_lowercase)),
            Func::Upper => Val::str(map_simple(s(0), char::to_uppercase)),
            Func::Pad => {
                let (prefix, suffix) = (n(1), n(2));
                if prefix < 0 || suffix < 0 {
                    return Err("strings: negative Repeat count".into());
                }
                if s(0).is_empty() {
                    Val::str("")
                } else {
                    let spaces = |k: i64| " ".repeat(usize::try_from(k).unwrap_or(0));
                    Val::str(format!("{}{}{}", spaces(prefix), s(0), spaces(suffix)))
                }
            }
            Func::Truncate => {
                let (text, len) = (s(0), n(1));
                match usize::try_from(len) {
                    Ok(len) if text.len() < len => Val::str(text),
                    Ok(len) => Val::str(String::from_utf8_lossy(&text.as_bytes()[..len])),
                    Err(_) => {
                        return Err(format!("runtime error: slice bounds out of range [:{len}]"));
                    }
                }
            }
        })
    }
}

/// Arguments as `fmt` sees them: invalid values and nil interfaces are both `nil`.
fn fmt_args<'a>(args: &'a [Val<'_>]) -> Vec<Option<&'a Json>> {
    args.iter().map(|a| a.json().filter(|j| !j.is_null())).collect()
}

/// Go's `evalArgs` for `html`, `js` and `urlquery`.
fn eval_args(args: &[Val<'_>]) -> String {
    if let [a] = args
        && let Some(s) = a.as_str()
    {
        return s.to_string();
    }
    let printable: Vec<Json> = args
        .iter()
        .map(|a| match a.json() {
            None | Some(Json::Null) => Json::String("<no value>".into()),
            Some(j) => j.clone(),
        })
        .collect();
    gofmt::sprint(&printable.iter().map(Some).collect::<Vec<_>>())
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if c < ' ' => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c if !c.is_ascii() && (c.is_control() || c.is_whitespace()) => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's `strings.Split`.
fn split(s: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return s.chars().map(String::from).collect();
    }
    s.split(sep).map(String::from).collect()
}

/// Applies a case mapping rune by rune, keeping runes whose mapping is not a single
/// rune, as Go's `unicode.ToUpper`/`ToLower` (simple case mapping) do.
fn map_simple<I: Iterator<Item = char>>(s: &str, f: impl Fn(char) -> I) -> String {
    s.chars()
        .map(|c| {
            let mut m = f(c);
            match (m.next(), m.next()) {
                (Some(one), None) => one,
                _ => c,
            }
        })
        .collect()
}

/// Go's deprecated `strings.Title`: upper-case the first letter of each word.
fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if c.is_alphanumeric() {
            return false;
        }
        c.is_whitespace()
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { map_simple(&c.to_string(), char::to_uppercase) } else { c.to_string() };
            prev = c;
            out
        })
        .collect()
}

fn length(v: &Val<'_>) -> Result<Val<'static>, String> {
    match v.json() {
        None => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Some(Json::Null) => Err("len of nil pointer".into()),
        Some(Json::String(s)) => Ok(Val::int(s.len() as i64)),
        Some(Json::Array(a)) => Ok(Val::int(a.len() as i64)),
        Some(Json::Object(o)) => Ok(Val::int(o.len() as i64)),
        Some(j) => Err(format!("len of type {}", crate::value::type_name(j))),
    }
}

/// Go's `indexArg`: an integer index in `0..=cap`.
fn index_arg(index: &Val<'_>, cap: usize) -> Result<usize, String> {
    let x: i128 = match index.json().and_then(|j| j.as_number()) {
        Some(n) if n.is_i64() || n.is_u64() => {
            n.as_i64().map_or_else(|| i128::from(n.as_u64().unwrap_or(0)), i128::from)
        }
        _ if index.kind() == Kind::Invalid => {
            return Err("cannot index slice/array with nil".into());
        }
        _ => {
            return Err(format!("cannot index slice/array with type {}", index.type_name()));
        }
    };
    match usize::try_from(x) {
        Ok(i) if i <= cap => Ok(i),
        _ => Err(format!("index out of range: {x}")),
    }
}

fn index(mut args: Vec<Val<'_>>) -> Result<Val<'_>, String> {
    let indexes = args.split_off(1);
    let mut item = args.pop().unwrap_or(Val::Missing).indirect();
    if matches!(item, Val::Missing) {
        return Err("index of untyped nil".into());
    }
    for idx in indexes {
        let idx = idx.indirect();
        item = match item.json() {
            None | Some(Json::Null) => return Err("index of nil pointer".into()),
            Some(Json::Array(a)) => {
                let x = index_arg(&idx, a.len())?;
                if x == a.len() {
                    return Err("reflect: slice index out of range".into());
                }
                item.child(|j| j.get(x)).unwrap_or(Val::Missing)
            }
            Some(Json::String(s)) => {
                let x = index_arg(&idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Val::int(i64::from(*b)),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Some(Json::Object(_)) => {
                let key = match idx.json() {
                    None => return Err("value is nil; should be of type string".into()),
                    Some(Json::String(k)) => k.clone(),
                    Some(j) => {
                        return Err(format!("value has type {}; should be string", crate::value::type_name(j)));
                    }
                };
                item.child(|j| j.get(&key)).unwrap_or(Val::owned(Json::Null))
            }
            Some(j) => {
                return Err(format!("can't index item of type {}", crate::value::type_name(j)));
            }
        };
    }
    Ok(item)
}

fn slice(mut args: Vec<Val<'_>>) -> Result<Val<'static>, String> {
    let indexes = args.split_off(1);
    let item = args.pop().unwrap_or(Val::Missing).indirect();
    let Some(j) = item.json() else {
        return Err("slice of untyped nil".into());
    };
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match j {
        Json::String(_) if indexes.len() == 3 => return Err("cannot 3-index slice a string".into()),
        Json::String(s) => s.len(),
        Json::Array(a) => a.len(),
        _ => return Err(format!("can't slice item of type {}", item.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(&index.clone().indirect(), len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match j {
        Json::String(s) => Val::str(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]])),
        Json::Array(a) => Val::owned(Json::Array(a[idx[0]..idx[1]].to_vec())),
        _ => Val::Missing,
    })
}

/// Go's `basicKind`: composite values have no basic kind.
fn basic_kind(v: &Val<'_>) -> Kind {
    match v.kind() {
        Kind::Array | Kind::Map => Kind::Invalid,
        k => k,
    }
}

fn is_number(k: Kind) -> bool {
    matches!(k, Kind::Int | Kind::Uint | Kind::Float)
}

/// Compares two numbers. Go refuses to compare an int with a float; we compare them by
/// value, since our data's integer/float split comes from JSON, not from Go types.
fn num_cmp(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    let (Some(Json::Number(x)), Some(Json::Number(y))) = (a.json(), b.json()) else {
        return None;
    };
    let exact = |n: &serde_json::Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (exact(x), exact(y)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

fn eq(a: &Val<'_>, rest: &[Val<'_>]) -> Result<bool, String> {
    let a = a.clone().indirect();
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(&a);
    for b in rest {
        let b = b.clone().indirect();
        let k2 = basic_kind(&b);
        let truth = if is_number(k1) && is_number(k2) {
            num_cmp(&a, &b) == Some(Ordering::Equal)
        } else if k1 != k2 {
            if a.json().is_some() && b.json().is_some() {
                return Err("incompatible types for comparison".into());
            }
            false
        } else {
            match (a.json(), b.json()) {
                (Some(Json::Bool(x)), Some(Json::Bool(y))) => x == y,
                (Some(Json::String(x)), Some(Json::String(y))) => x == y,
                (None, None) => true,
                (None, Some(_)) | (Some(_), None) => false,
                (Some(_), Some(y)) if a.kind() == b.kind() => {
                    return Err(format!("non-comparable type {}: {}", gofmt::sprintf("%s", &[Some(y)]), b.type_name()));
                }
                (Some(x), Some(y)) => {
                    return Err(format!(
                        "non-comparable types {}: {}, {}: {}",
                        gofmt::sprintf("%s", &[Some(x)]),
                        a.type_name(),
                        b.type_name(),
                        gofmt::sprintf("%v", &[Some(y)])
                    ));
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Val<'_>, b: &Val<'_>) -> Result<bool, String> {
    let (a, b) = (a.clone().indirect(), b.clone().indirect());
    let (k1, k2) = (basic_kind(&a), basic_kind(&b));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if is_number(k1) && is_number(k2) {
        return Ok(num_cmp(&a, &b) == Some(Ordering::Less));
    }
    if k1 != k2 {
        return Err("incompatible types for comparison".into());
    }
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => Ok(x < y),
        _ => Err("invalid type for comparison".into()),
    }
}

fn le(a: &Val<'_>, b: &Val<'_>) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(f: Func, args: &[Json]) -> Result<String, String> {
        let args = args.iter().map(|j| Val::owned(j.clone())).collect();
        f.call(args, false).map(|v| gofmt::sprint(&[v.json()]))
    }

    #[test]
    fn docker_string_functions() {
        assert_eq!(call(Func::Split, &[json!("a,b,,c"), json!(",")]), Ok("[a b  c]".into()));
        assert_eq!(call(Func::Split, &[json!("héj"), json!("")]), Ok("[h é j]".into()));
        assert_eq!(call(Func::Split, &[json!(""), json!(",")]), Ok("[]".into()));
        assert_eq!(call(Func::Join, &[json!(["a", "b"]), json!(", ")]), Ok("a, b".into()));
        assert_eq!(call(Func::Title, &[json!("hello wORLD foo_bar-baz")]), Ok("Hello WORLD Foo_bar-Baz".into()));
        assert_eq!(call(Func::Upper, &[json!("straße")]), Ok("STRAßE".into()));
        assert_eq!(call(Func::Lower, &[json!("ÀB")]), Ok("àb".into()));
        assert_eq!(call(Func::Pad, &[json!("x"), json!(2), json!(1)]), Ok("  x ".into()));
        assert_eq!(call(Func::Pad, &[json!(""), json!(2), json!(1)]), Ok("".into()));
        assert_eq!(call(Func::Truncate, &[json!("abcdef"), json!(3)]), Ok("abc".into()));
        assert_eq!(call(Func::Truncate, &[json!("ab"), json!(3)]), Ok("ab".into()));
        assert_eq!(
            call(Func::Truncate, &[json!("ab"), json!(-1)]),
            Err("runtime error: slice bounds out of range [:-1]".into())
        );
    }

    #[test]
    fn escapers() {
        assert_eq!(
            call(Func::Html, &[json!("<a href=\"x\">&'</a>")]),
            Ok("&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;".into())
        );
        assert_eq!(call(Func::Js, &[json!("a'b\"<=>\n")]), Ok("a\\'b\\\"\\u003C\\u003D\\u003E\\u000A".into()));
        assert_eq!(call(Func::UrlQuery, &[json!("a b&c=é")]), Ok("a+b%26c%3D%C3%A9".into()));
        assert_eq!(call(Func::Html, &[json!(1), json!(2)]), Ok("1 2".into()));
    }

    #[test]
    fn comparisons() {
        assert_eq!(call(Func::Eq, &[json!(1), json!(2), json!(1)]), Ok("true".into()));
        assert_eq!(call(Func::Eq, &[json!(1), json!(1.0)]), Ok("true".into()));
        assert_eq!(call(Func::Eq, &[json!("a"), json!(null)]), Ok("false".into()));
        assert_eq!(call(Func::Eq, &[json!(null), json!(null)]), Ok("true".into()));
        assert_eq!(call(Func::Eq, &[json!("a"), json!(1)]), Err("incompatible types for comparison".into()));
        assert_eq!(
            call(Func::Eq, &[json!(["a"]), json!(["a"])]),
            Err("non-comparable type [a]: []interface {}".into())
        );
        assert_eq!(call(Func::Eq, &[json!(1)]), Err("missing argument for comparison".into()));
        assert_eq!(call(Func::Lt, &[json!("a"), json!("b")]), Ok("true".into()));
        assert_eq!(call(Func::Le, &[json!(2), json!(2)]), Ok("true".into()));
        assert_eq!(call(Func::Gt, &[json!(3), json!(2.5)]), Ok("true".into()));
        assert_eq!(call(Func::Ge, &[json!(true), json!(true)]), Err("invalid type for comparison".into()));
        assert_eq!(call(Func::Lt, &[json!(null), json!(1)]), Err("invalid type for comparison".into()));
        assert_eq!(call(Func::Lt, &[json!("a"), json!(1)]), Err("incompatible types for comparison".into()));
    }

    #[test]
    fn index_and_slice() {
        let m = json!({"a": {"b": [10, 20]}, "n": null});
        assert_eq!(call(Func::Index, &[m.clone(), json!("a"), json!("b"), json!(1)]), Ok("20".into()));
        assert_eq!(call(Func::Index, &[m.clone(), json!("x")]), Ok("<nil>".into()));
        assert_eq!(call(Func::Index, &[m.clone(), json!("x"), json!("y")]), Err("index of nil pointer".into()));
        assert_eq!(call(Func::Index, &[m.clone(), json!(1)]), Err("value has type int; should be string".into()));
        assert_eq!(call(Func::Index, &[json!([1, 2]), json!(2)]), Err("reflect: slice index out of range".into()));
        assert_eq!(call(Func::Index, &[json!([1, 2]), json!(3)]), Err("index out of range: 3".into()));
        assert_eq!(call(Func::Index, &[json!([1, 2]), json!(-1)]), Err("index out of range: -1".into()));
        assert_eq!(
            call(Func::Index, &[json!([1]), json!(1.0)]),
            Err("cannot index slice/array with type float64".into())
        );
        assert_eq!(call(Func::Index, &[json!("abc"), json!(0)]), Ok("97".into()));
        assert_eq!(call(Func::Index, &[json!(null), json!(0)]), Err("index of untyped nil".into()));
        assert_eq!(call(Func::Index, &[json!(true), json!(0)]), Err("can't index item of type bool".into()));
        assert_eq!(call(Func::Slice, &[json!("hello"), json!(1), json!(3)]), Ok("el".into()));
        assert_eq!(call(Func::Slice, &[json!([1, 2, 3]), json!(1)]), Ok("[2 3]".into()));
        assert_eq!(
            call(Func::Slice, &[json!([1, 2, 3]), json!(2), json!(1)]),
            Err("invalid slice index: 2 > 1".into())
        );
        assert_eq!(
            call(Func::Slice, &[json!("abc"), json!(0), json!(1), json!(2)]),
            Err("cannot 3-index slice a string".into())
        );
        assert_eq!(call(Func::Slice, &[json!(1)]), Err("can't slice item of type int".into()));
    }

    #[test]
    fn len_of_things() {
        assert_eq!(call(Func::Len, &[json!("héllo")]), Ok("6".into()));
        assert_eq!(call(Func::Len, &[json!({"a": 1})]), Ok("1".into()));
        assert_eq!(call(Func::Len, &[json!(3)]), Err("len of type int".into()));
        assert_eq!(call(Func::Len, &[json!(null)]), Err("len of nil pointer".into()));
        assert_eq!(
            Func::Len.call(vec![Val::Missing], false).map(|_| ()),
            Err("reflect: call of reflect.Value.Type on zero Value".into())
        );
    }
}
