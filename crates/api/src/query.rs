//! Query strings as Docker sends them: repeated keys (`names=a&names=b`) and Go's boolean forms.

/// A parsed query string.
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    /// Parses `a=1&b=x%20y`.
    pub fn parse(q: Option<&str>) -> Self {
        let Some(q) = q else { return Self::default() };
        Query(
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(p), String::new()),
                })
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }

    /// A boolean the Go way: `1`, `true`, `True` are true; absent or `0`/`false` false.
    pub fn bool(&self, key: &str) -> bool {
        matches!(self.get(key), Some("1" | "true" | "True" | "TRUE" | "t" | "T"))
    }

    /// A boolean with a default when absent.
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            None | Some("") => default,
            Some(_) => self.bool(key),
        }
    }

    /// An integer, if present and valid.
    pub fn int(&self, key: &str) -> Result<Option<i64>, crate::ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => {
                v.parse().map(Some).map_err(|_| crate::ApiError::bad_request(format!("invalid value for {key}: {v:?}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_queries() {
        let q = Query::parse(Some("names=a&names=b%2Fc&all=1&filters=%7B%22a%22%3A1%7D&x"));
        assert_eq!(q.all("names"), vec!["a", "b/c"]);
        assert!(q.bool("all"));
        assert!(!q.bool("x"));
        assert_eq!(q.get("filters"), Some("{\"a\":1}"));
        assert_eq!(Query::parse(Some("t=1+2")).get("t"), Some("1 2"));
        assert_eq!(Query::parse(Some("t=%")).get("t"), Some("%"));
    }
}
