//! Docker's `filters` query parameter: `{"key":["value",...]}` (or the legacy
//! `{"key":{"value":true}}`), validated against the keys an endpoint accepts.

use std::collections::BTreeMap;

use crate::ApiError;

/// Parsed filters.
#[derive(Debug, Clone, Default)]
pub struct Filters(pub BTreeMap<String, Vec<String>>);

impl Filters {
    /// Parses the JSON and checks every key is one of `allowed`.
    pub fn parse(json: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let Some(json) = json.filter(|s| !s.is_empty()) else { return Ok(Self::default()) };
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| ApiError::bad_request(format!("invalid filter: {e}")))?;
        let obj = v.as_object().ok_or_else(|| ApiError::bad_request("invalid filter: not an object"))?;
        let mut out = BTreeMap::new();
        for (k, vals) in obj {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad_request(format!("invalid filter '{k}'")));
            }
            let list: Vec<String> = match vals {
                serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
                serde_json::Value::Object(m) => {
                    m.iter().filter(|(_, b)| b.as_bool() == Some(true)).map(|(k, _)| k.clone()).collect()
                }
                serde_json::Value::String(s) => vec![s.clone()],
                _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
            };
            out.insert(k.clone(), list);
        }
        Ok(Filters(out))
    }

    /// The values of `key` (empty when not given).
    pub fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `key` was given.
    pub fn has(&self, key: &str) -> bool {
        self.0.get(key).is_some_and(|v| !v.is_empty())
    }

    /// Label filters: each value is `key`, `key=value` or `key!=value`; all must match.
    pub fn match_labels(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        self.get(key).iter().all(|f| {
            if let Some((k, v)) = f.split_once("!=") {
                labels.get(k).is_none_or(|x| x != v)
            } else if let Some((k, v)) = f.split_once('=') {
                labels.get(k).is_some_and(|x| x == v)
            } else {
                labels.contains_key(f.as_str())
            }
        })
    }

    /// A boolean filter (`dangling=true`).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key).first().map(String::as_str) {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(v) => Err(ApiError::bad_request(format!("invalid filter '{key}={v}'"))),
        }
    }
}

/// The `name` filter: dockerd matches a regular expression against `/name`. berth supports the
/// forms people use with it: a substring, and `^`/`$` anchors (`^web$`, `^/web`).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let full = format!("/{name}");
    let (anchored_start, p) = match pattern.strip_prefix('^') {
        Some(p) => (true, p),
        None => (false, pattern),
    };
    let (anchored_end, p) = match p.strip_suffix('$') {
        Some(p) => (true, p),
        None => (false, p),
    };
    let candidates: [&str; 2] = [&full, name];
    candidates.iter().any(|n| match (anchored_start, anchored_end) {
        (true, true) => *n == p,
        (true, false) => n.starts_with(p),
        (false, true) => n.ends_with(p),
        (false, false) => n.contains(p),
    })
}

/// Matches `name` against a glob with `*`, `?` and `[...]` (Go's `path.Match`, for the image
/// `reference` filter): `*` and `?` don't match `/`; an unclosed `[` matches nothing.
///
/// One pass per pattern element over the set of name positions reachable so far, so time is
/// pattern length × name length whatever the pattern: a backtracking matcher takes exponential
/// time on `*a*a*a…b` (the API fuzz target found a filter that held a request for minutes).
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    // reach[j]: the elements so far can match exactly name[..j].
    let mut reach = vec![false; n.len() + 1];
    reach[0] = true;
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'*' {
            let mut on = false;
            for (j, r) in reach.iter_mut().enumerate() {
                on |= *r;
                *r = on;
                if n.get(j) == Some(&b'/') {
                    on = false;
                }
            }
            i += 1;
            continue;
        }
        // An element that matches one byte: `?`, a class, or a literal.
        let (len, one): (usize, Box<dyn Fn(u8) -> bool>) = match p[i] {
            b'?' => (1, Box::new(|c| c != b'/')),
            b'[' => match p[i..].iter().position(|&x| x == b']') {
                Some(end) => {
                    let set = &p[i + 1..i + end];
                    let (neg, set) = if set.first() == Some(&b'^') { (true, &set[1..]) } else { (false, set) };
                    (end + 1, Box::new(move |c| in_class(set, c) != neg))
                }
                None => (p.len() - i, Box::new(|_| false)),
            },
            lit => (1, Box::new(move |c| c == lit)),
        };
        for j in (0..n.len()).rev() {
            reach[j + 1] = reach[j] && one(n[j]);
        }
        reach[0] = false;
        if !reach.contains(&true) {
            return false;
        }
        i += len;
    }
    reach[n.len()]
}

/// Whether `c` is in a class body (`a-z0`).
fn in_class(set: &[u8], c: u8) -> bool {
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == b'-' {
            if set[i] <= c && c <= set[i + 2] {
                return true;
            }
            i += 3;
        } else {
            if set[i] == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let f = Filters::parse(Some(r#"{"status":["exited"],"label":{"a=b":true}}"#), &["status", "label"]).unwrap();
        assert_eq!(f.get("status"), &["exited".to_owned()]);
        assert_eq!(f.get("label"), &["a=b".to_owned()]);
        assert!(Filters::parse(Some(r#"{"bogus":["x"]}"#), &["status"]).is_err());
        assert!(Filters::parse(Some("not json"), &["status"]).is_err());
        assert!(Filters::parse(None, &[]).unwrap().0.is_empty());
    }

    #[test]
    fn labels() {
        let l: BTreeMap<String, String> = [("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())].into();
        let f = Filters::parse(Some(r#"{"label":["a","b=2"]}"#), &["label"]).unwrap();
        assert!(f.match_labels("label", &l));
        let f = Filters::parse(Some(r#"{"label":["a=2"]}"#), &["label"]).unwrap();
        assert!(!f.match_labels("label", &l));
        let f = Filters::parse(Some(r#"{"label":["a!=2"]}"#), &["label"]).unwrap();
        assert!(f.match_labels("label", &l));
    }

    #[test]
    fn names() {
        assert!(name_matches("web", "my-web-1"));
        assert!(name_matches("^web", "web-1"));
        assert!(name_matches("^/web", "web-1"));
        assert!(!name_matches("^web", "my-web"));
        assert!(name_matches("^web$", "web"));
        assert!(!name_matches("^web$", "web2"));
        assert!(name_matches("1$", "web-1"));
    }

    #[test]
    fn globs() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("busybox:*", "busybox:latest"));
        assert!(!glob("busy*", "a/busybox"));
        assert!(glob("*/app", "user/app"));
        assert!(glob("b?sybox", "busybox"));
        assert!(glob("[a-c]usybox", "busybox"));
        assert!(!glob("[^a-c]usybox", "busybox"));
        assert!(glob("*", "") && !glob("?", "") && glob("", "") && !glob("", "a"));
        assert!(!glob("[abc", "a") && !glob("a[", "a"));
    }

    /// The backtracking matcher `glob` replaced: the meaning to keep, on inputs small enough.
    fn reference(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => reference(&p[1..], n) || (!n.is_empty() && n[0] != b'/' && reference(p, &n[1..])),
            (Some(b'?'), Some(c)) if *c != b'/' => reference(&p[1..], &n[1..]),
            (Some(b'['), Some(c)) => match p.iter().position(|&x| x == b']') {
                Some(end) => {
                    let set = &p[1..end];
                    let (neg, set) = if set.first() == Some(&b'^') { (true, &set[1..]) } else { (false, set) };
                    in_class(set, *c) != neg && reference(&p[end + 1..], &n[1..])
                }
                None => false,
            },
            (Some(a), Some(b)) if a == b => reference(&p[1..], &n[1..]),
            _ => false,
        }
    }

    #[test]
    fn glob_agrees_with_backtracking_and_is_fast() {
        // Every pattern of up to 4 elements from a small alphabet against names of up to 5 bytes.
        let alphabet: [&[u8]; 7] = [b"a", b"/", b"*", b"?", b"[a-b]", b"[^a]", b"["];
        let names: Vec<Vec<u8>> = (0..=5)
            .flat_map(|len| {
                (0..3usize.pow(len))
                    .map(move |k| (0..len).map(|d| b"ab/"[(k / 3usize.pow(d)) % 3]).collect::<Vec<u8>>())
            })
            .collect();
        let mut pats: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..4 {
            let more: Vec<Vec<u8>> =
                pats.iter().flat_map(|p| alphabet.iter().map(move |e| [p.as_slice(), e].concat())).collect();
            pats.extend(more);
        }
        for p in &pats {
            for n in &names {
                let (ps, ns) = (std::str::from_utf8(p).unwrap(), std::str::from_utf8(n).unwrap());
                assert_eq!(glob(ps, ns), reference(p, n), "{ps:?} {ns:?}");
            }
        }
        let t = std::time::Instant::now();
        assert!(!glob(&"*a".repeat(200), &"a".repeat(199)));
        assert!(!glob("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &"a".repeat(60)));
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}
