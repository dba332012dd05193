//! Request paths and query strings, and docker's `--filter key=value` flags.
//!
//! The client sends paths as given, so everything user-supplied is percent-encoded here:
//! [`Query`] builds `?a=1&b=x%20y` (RFC 3986 unreserved characters stay as they are), and
//! [`path_segment`] escapes a name placed in a path while keeping the `/`, `:` and `@` of image
//! references readable. [`Filters`] collects `--filter` flags into the `filters` JSON
//! (`{"status":["running","paused"]}`).

use std::fmt::Write as _;
use std::str::FromStr;

fn escape(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Percent-encodes a query key or value.
pub fn component(s: &str) -> String {
    escape(s, &[])
}

/// Percent-encodes a container or image name for use inside a request path.
pub fn path_segment(s: &str) -> String {
    escape(s, b"/:@")
}

/// A query string under construction.
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key=value`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.0.push((key.to_owned(), value.into()));
        self
    }

    /// Adds `key=1` when `on`, as the docker client sends booleans.
    pub fn flag(&mut self, key: &str, on: bool) -> &mut Self {
        if on {
            self.set(key, "1");
        }
        self
    }

    /// Adds `key=value` when `value` is non-empty.
    pub fn non_empty(&mut self, key: &str, value: &str) -> &mut Self {
        if !value.is_empty() {
            self.set(key, value);
        }
        self
    }

    /// Adds `filters=<json>` unless there are none.
    pub fn filters(&mut self, f: &Filters) -> &mut Self {
        if !f.is_empty() {
            self.set("filters", f.to_json());
        }
        self
    }

    /// `path` followed by `?query` (or just `path` when empty).
    pub fn to_path(&self, path: &str) -> String {
        if self.0.is_empty() {
            return path.to_owned();
        }
        let q: Vec<String> = self.0.iter().map(|(k, v)| format!("{}={}", component(k), component(v))).collect();
        format!("{path}?{}", q.join("&"))
    }
}

/// One `--filter key=value` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The key, lowercased (docker's filter keys are case-insensitive).
    pub key: String,
    /// The value.
    pub value: String,
}

impl FromStr for Filter {
    type Err = String;

    /// Parses `key=value` like docker's `FilterOpt.Set`: the key is trimmed and lowercased,
    /// the value trimmed. An empty flag (`--filter ""`) is accepted and ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Ok(Filter { key: String::new(), value: String::new() });
        }
        let (k, v) = s.split_once('=').ok_or_else(|| "bad format of filter (expected name=value)".to_owned())?;
        Ok(Filter { key: k.trim().to_lowercase(), value: v.trim().to_owned() })
    }
}

/// A set of filters, keys in first-seen order, each value once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filters(Vec<(String, Vec<String>)>);

impl Filters {
    /// Collects `--filter` flags.
    pub fn from_flags(flags: &[Filter]) -> Self {
        let mut f = Filters::default();
        for flag in flags.iter().filter(|f| !f.key.is_empty()) {
            f.add(&flag.key, &flag.value);
        }
        f
    }

    /// Adds a value to a key.
    pub fn add(&mut self, key: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, vals)) => {
                if !vals.iter().any(|v| v == value) {
                    vals.push(value.to_owned());
                }
            }
            None => self.0.push((key.to_owned(), vec![value.to_owned()])),
        }
    }

    /// Whether no filter was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `filters` query value: `{"key":["v1","v2"]}`.
    pub fn to_json(&self) -> String {
        let m: serde_json::Map<String, serde_json::Value> =
            self.0.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone()))).collect();
        serde_json::Value::Object(m).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding() {
        assert_eq!(component("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
        assert_eq!(component("CMD [\"sh\"]"), "CMD%20%5B%22sh%22%5D");
        assert_eq!(path_segment("localhost:5000/app:v1@sha256:ab"), "localhost:5000/app:v1@sha256:ab");
        assert_eq!(path_segment("a?b#c d"), "a%3Fb%23c%20d");
    }

    #[test]
    fn queries() {
        let mut q = Query::new();
        assert_eq!(q.to_path("/containers/json"), "/containers/json");
        q.flag("all", true).flag("size", false).non_empty("signal", "").set("t", "5");
        assert_eq!(q.to_path("/x"), "/x?all=1&t=5");
        let mut q = Query::new();
        q.set("names", "a:b").set("names", "c d");
        assert_eq!(q.to_path("/images/get"), "/images/get?names=a%3Ab&names=c%20d");
    }

    #[test]
    fn filter_flags_to_json() {
        let flags: Vec<Filter> = ["status=running", " Status = exited", "label=a=b", "status=running", ""]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let f = Filters::from_flags(&flags);
        assert_eq!(f.to_json(), r#"{"label":["a=b"],"status":["running","exited"]}"#);
        assert!(Filters::from_flags(&[]).is_empty());
        assert_eq!("nokey".parse::<Filter>().unwrap_err(), "bad format of filter (expected name=value)");
        let mut q = Query::new();
        q.filters(&f);
        assert_eq!(
            q.to_path("/containers/json"),
            "/containers/json?filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%2C%22status%22%3A%5B%22running%22%2C%22exited%22%5D%7D"
        );
    }
}
