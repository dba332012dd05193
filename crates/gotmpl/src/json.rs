//! Compact JSON as docker's `json` template function writes it.
//!
//! docker/cli encodes with `json.NewEncoder` and `SetEscapeHTML(false)`, then trims the
//! trailing newline. That differs from `serde_json::to_string` in ways users see:
//! object keys are sorted (Go sorts map keys), U+2028/U+2029 are escaped, control
//! characters use `\u00XX` except `\b \f \n \r \t`, and floats use Go's shortest
//! formatting (`1` not `1.0`, `1e+21`, `1e-7`). `<`, `>` and `&` are left alone.

use serde_json::Value as Json;

use crate::strconv::format_float;
use crate::value::sorted_entries;

/// Encodes a value; `None` (Go's untyped nil) encodes as `null`.
pub(crate) fn encode(v: Option<&Json>) -> String {
    let mut out = String::new();
    match v {
        Some(j) => write_value(&mut out, j),
        None => out.push_str("null"),
    }
    out
}

fn write_value(out: &mut String, j: &Json) {
    match j {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => out.push_str(&i.to_string()),
            (None, Some(u)) => out.push_str(&u.to_string()),
            _ => write_float(out, n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => write_string(out, s),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Json::Object(m) => {
            out.push('{');
            for (i, (k, v)) in sorted_entries(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Go's `floatEncoder`: `%f` style between 1e-6 and 1e21, `%e` style outside, with the
/// exponent's leading zero dropped (`1e-07` becomes `1e-7`).
fn write_float(out: &mut String, f: f64) {
    let abs = f.abs();
    let exp_form = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    let mut s = format_float(f, if exp_form { 'e' } else { 'f' }, None);
    if exp_form {
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            s.remove(n - 2);
        }
    }
    out.push_str(&s);
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_like_go_without_html_escaping() {
        let v = json!({"b": [1, 1.5, 1e21, 1.5e-7, 0.000001, 100.0, -0.0], "a": "x<&>\u{1}\u{8}\u{2028}é\"\\", "c": null, "d": {}});
        assert_eq!(
            encode(Some(&v)),
            r#"{"a":"x<&>\u0001\b\u2028é\"\\","b":[1,1.5,1e+21,1.5e-7,0.000001,100,-0],"c":null,"d":{}}"#
        );
        assert_eq!(encode(None), "null");
        assert_eq!(encode(Some(&json!([]))), "[]");
    }
}
