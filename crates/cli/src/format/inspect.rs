//! `inspect` output, as docker's `cli/command/inspect` writes it.
//!
//! The daemon's JSON is kept as received, so field order and values survive: without
//! `--format` the objects are joined into one array and indented with four spaces (Go's
//! `json.Indent`); `--format json` prints it compact; any other format is a Go template run
//! on each object with `missingkey=error` (docker's fallback for raw JSON), one line each.
//! [`run`] fetches every reference, prints what was found, then one error line per failure.

use std::future::Future;

use anyhow::anyhow;
use gotmpl::{MissingKey, Template};

/// Go's `json.Indent(dst, src, "", indent)`: one member per line, `"key": value`, empty
/// objects and arrays kept as `{}` and `[]`, strings copied verbatim.
pub fn indent_json(src: &[u8], indent: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut need_indent = false;
    let mut in_str = false;
    let mut esc = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(indent.as_bytes());
        }
    };
    for &b in src {
        if in_str {
            out.push(b);
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        }
        if need_indent && b != b']' && b != b'}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match b {
            b'"' => {
                in_str = true;
                out.push(b);
            }
            b'{' | b'[' => {
                out.push(b);
                need_indent = true;
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => {
                out.push(b);
                out.push(b' ');
            }
            b'}' | b']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(b);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `json.Compact`: the same JSON without insignificant whitespace.
pub fn compact_json(src: &[u8]) -> String {
    let mut out = Vec::with_capacity(src.len());
    let mut in_str = false;
    let mut esc = false;
    for &b in src {
        if in_str {
            out.push(b);
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            if b == b'"' {
                in_str = true;
            }
            out.push(b);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The object with the Go field names docker's typed structs add to the JSON keys: the
/// containers' and images' `Id` is the field `ID`, so `{{.ID}}` works in docker. Only used
/// when a template fails on the raw keys, so `{{json .}}` still prints the daemon's object.
fn go_field_aliases(v: &serde_json::Value) -> Option<serde_json::Value> {
    let m = v.as_object()?;
    if m.contains_key("ID") {
        return None;
    }
    let id = m.get("Id")?.clone();
    let mut m = m.clone();
    m.insert("ID".into(), id);
    Some(serde_json::Value::Object(m))
}

enum Mode {
    Indented,
    Compact,
    Template(Template),
}

/// Collects inspected objects and renders them at the end, as docker's inspectors do.
pub struct Inspector {
    mode: Mode,
    raws: Vec<Vec<u8>>,
    buf: String,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector").field("objects", &self.raws.len()).finish_non_exhaustive()
    }
}

impl Inspector {
    /// An inspector for `--format` (`None` or empty: indented JSON). A template that does not
    /// parse gives docker's `template parsing error: ...` message.
    pub fn new(format: Option<&str>) -> Result<Self, String> {
        let mode = match format.unwrap_or("") {
            "" => Mode::Indented,
            "json" => Mode::Compact,
            f => Mode::Template(
                Template::parse_plain(f)
                    .map_err(|e| format!("template parsing error: {e}"))?
                    .with_missing_key(MissingKey::Error),
            ),
        };
        Ok(Inspector { mode, raws: Vec::new(), buf: String::new() })
    }

    /// Adds one object, the daemon's raw JSON.
    pub fn add(&mut self, raw: Vec<u8>) -> anyhow::Result<()> {
        let value: serde_json::Value =
            serde_json::from_slice(&raw).map_err(|e| anyhow!("unable to read inspect data: {e}"))?;
        match &self.mode {
            Mode::Template(t) => {
                let out = match t.render(&value) {
                    Ok(out) => out,
                    Err(e) => go_field_aliases(&value)
                        .and_then(|v| t.render(&v).ok())
                        .ok_or_else(|| anyhow!("template parsing error: {e}"))?,
                };
                self.buf.push_str(&out);
                self.buf.push('\n');
            }
            Mode::Indented | Mode::Compact => self.raws.push(raw),
        }
        Ok(())
    }

    /// The output: `[]` when nothing was found, a lone newline for templates.
    pub fn finish(self) -> String {
        match self.mode {
            Mode::Template(_) if self.buf.is_empty() => "\n".to_owned(),
            Mode::Template(_) => self.buf,
            Mode::Indented | Mode::Compact if self.raws.is_empty() => "[]\n".to_owned(),
            mode => {
                let mut all = Vec::new();
                all.push(b'[');
                for (i, r) in self.raws.iter().enumerate() {
                    if i > 0 {
                        all.push(b',');
                    }
                    all.extend_from_slice(r);
                }
                all.push(b']');
                let mut s = match mode {
                    Mode::Compact => compact_json(&all),
                    _ => indent_json(&all, "    "),
                };
                s.push('\n');
                s
            }
        }
    }
}

/// Inspects each reference with `get`, prints the found objects, then each error on stderr.
/// Returns 1 if any reference failed, 64 for a bad template (docker's status codes).
pub async fn run<F, Fut>(refs: &[String], format: Option<&str>, mut get: F) -> anyhow::Result<i32>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = anyhow::Result<Vec<u8>>>,
{
    let mut insp = match Inspector::new(format) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return Ok(64);
        }
    };
    let mut errs = Vec::new();
    for r in refs {
        match get(r.clone()).await {
            Ok(raw) => {
                if let Err(e) = insp.add(raw) {
                    errs.push(e);
                }
            }
            Err(e) => errs.push(e),
        }
    }
    super::print(&insp.finish());
    for e in &errs {
        eprintln!("{e:#}");
    }
    Ok(i32::from(!errs.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indent_like_go() {
        let src = br#"{"Id":"abc","Args":[],"Config":{"Env":["A=1","B=\"2\""],"Labels":{}},"N":null,"S":"x:{y},z"}
"#;
        let want = r#"{
    "Id": "abc",
    "Args": [],
    "Config": {
        "Env": [
            "A=1",
            "B=\"2\""
        ],
        "Labels": {}
    },
    "N": null,
    "S": "x:{y},z"
}"#;
        assert_eq!(indent_json(src, "    "), want);
        assert_eq!(compact_json(b"[ {\"a\" : [1, 2]} ,\n{\"b\":\"c d\"} ]"), r#"[{"a":[1,2]},{"b":"c d"}]"#);
    }

    #[test]
    fn inspector_outputs() {
        let mut i = Inspector::new(None).unwrap();
        i.add(br#"{"Id":"a"}"#.to_vec()).unwrap();
        i.add(b"{\"Id\":\"b\"}\n".to_vec()).unwrap();
        assert_eq!(i.finish(), "[\n    {\n        \"Id\": \"a\"\n    },\n    {\n        \"Id\": \"b\"\n    }\n]\n");
        assert_eq!(Inspector::new(None).unwrap().finish(), "[]\n");
        assert_eq!(Inspector::new(Some("{{.Id}}")).unwrap().finish(), "\n");

        let mut i = Inspector::new(Some("json")).unwrap();
        i.add(br#"{"Id": "a"}"#.to_vec()).unwrap();
        assert_eq!(i.finish(), "[{\"Id\":\"a\"}]\n");

        let mut i = Inspector::new(Some("{{.Id}} {{json .State}}")).unwrap();
        i.add(br#"{"Id":"a","State":{"Running":true}}"#.to_vec()).unwrap();
        let err = i.add(br#"{"Id":"b"}"#.to_vec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "template parsing error: template: :1:15: executing \"\" at <.State>: map has no entry for key \"State\""
        );
        assert_eq!(i.finish(), "a {\"Running\":true}\n");

        let mut i = Inspector::new(Some("{{.ID}}")).unwrap();
        i.add(br#"{"Id":"a"}"#.to_vec()).unwrap();
        assert_eq!(i.finish(), "a\n");

        let err = Inspector::new(Some("{{.Id")).unwrap_err();
        assert!(err.starts_with("template parsing error: template: :1: "), "{err}");
    }
}
