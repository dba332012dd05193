//! Image references, normalised as Docker's `distribution/reference` does.
//!
//! Grammar: `[domain[:port]/]path[:tag][@digest]`. The first `/`-separated component is a
//! domain when it contains `.` or `:` or is `localhost`; otherwise the domain is `docker.io` and
//! single-component paths get the `library/` prefix. Without tag and digest the tag is `latest`.

use std::fmt;
use std::str::FromStr;

use crate::Digest;

const DEFAULT_DOMAIN: &str = "docker.io";
const OFFICIAL_PREFIX: &str = "library/";
/// The tag an untagged reference means.
pub const DEFAULT_TAG: &str = "latest";

/// A normalised image reference: always a domain and a path, a tag and/or a digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a string is not an image reference.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// Empty input.
    #[error("invalid reference format: empty reference")]
    Empty,
    /// Upper-case letters in the repository path (Docker's own wording).
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    /// Anything else that does not match the grammar.
    #[error("invalid reference format: {0:?}")]
    Invalid(String),
    /// A bad tag.
    #[error("invalid tag format: {0:?}")]
    Tag(String),
    /// A bad digest part.
    #[error("invalid reference format: {0}")]
    Digest(#[from] crate::DigestError),
}

fn valid_component(c: &str) -> bool {
    // [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        // a separator run
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Whether `t` is a valid tag: `[\w][\w.-]{0,127}`.
pub fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => (h, Some(p)),
        _ => (d, None),
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    if host.starts_with('[') {
        return host.ends_with(']') && host.len() > 2;
    }
    !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

impl Reference {
    /// Parses and normalises a reference.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (name, digest) = match s.split_once('@') {
            Some((n, d)) => (n, Some(d.parse::<Digest>()?)),
            None => (s, None),
        };
        // A tag is after the last ':' that comes after the last '/'.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (repo, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        if let Some(t) = tag
            && !valid_tag(t)
        {
            return Err(ReferenceError::Tag(t.to_owned()));
        }
        if repo.is_empty() {
            return Err(ReferenceError::Invalid(s.to_owned()));
        }
        let (domain, path) = match repo.split_once('/') {
            Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                if !valid_domain(first) {
                    return Err(ReferenceError::Invalid(s.to_owned()));
                }
                (first.to_owned(), rest.to_owned())
            }
            _ => (DEFAULT_DOMAIN.to_owned(), repo.to_owned()),
        };
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase(repo.to_owned()));
        }
        if path.is_empty() || !path.split('/').all(valid_component) {
            return Err(ReferenceError::Invalid(s.to_owned()));
        }
        let path =
            if domain == DEFAULT_DOMAIN && !path.contains('/') { format!("{OFFICIAL_PREFIX}{path}") } else { path };
        if domain.len() + 1 + path.len() > 255 {
            return Err(ReferenceError::Invalid(s.to_owned()));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_owned()),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_TAG.to_owned()),
        };
        Ok(Self { domain, path, tag, digest })
    }

    /// A reference made of a repository name (normalised like [`Reference::parse`]) and a tag.
    pub fn with_tag(repo: &str, tag: &str) -> Result<Self, ReferenceError> {
        if !valid_tag(tag) {
            return Err(ReferenceError::Tag(tag.to_owned()));
        }
        let mut r = Self::parse(repo)?;
        if r.digest.is_some() || repo.rsplit('/').next().is_some_and(|l| l.contains(':')) {
            return Err(ReferenceError::Invalid(repo.to_owned()));
        }
        r.tag = Some(tag.to_owned());
        Ok(r)
    }

    /// The registry host (and port).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The full repository name: `docker.io/library/busybox`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository name as Docker prints it: `busybox`, `user/app`, `localhost:5000/app`.
    pub fn familiar_repository(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path.strip_prefix(OFFICIAL_PREFIX).unwrap_or(&self.path).to_owned()
        } else {
            self.repository()
        }
    }

    /// The short form with tag and digest: `busybox:latest`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_repository();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
        s
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Reference {
    /// The canonical form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(canon("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(canon("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(canon("user/app"), "docker.io/user/app:latest");
        assert_eq!(canon("localhost:5000/app:v1"), "localhost:5000/app:v1");
        assert_eq!(canon("localhost/app"), "localhost/app:latest");
        assert_eq!(canon("127.0.0.1:5000/a/b/c:x"), "127.0.0.1:5000/a/b/c:x");
        assert_eq!(canon("docker.io/library/busybox"), "docker.io/library/busybox:latest");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(canon(&format!("busybox@{d}")), format!("docker.io/library/busybox@{d}"));
        assert_eq!(canon(&format!("busybox:1@{d}")), format!("docker.io/library/busybox:1@{d}"));
    }

    #[test]
    fn familiar_forms() {
        assert_eq!(Reference::parse("busybox").unwrap().familiar(), "busybox:latest");
        assert_eq!(Reference::parse("docker.io/library/busybox:1").unwrap().familiar(), "busybox:1");
        assert_eq!(Reference::parse("docker.io/u/a").unwrap().familiar_repository(), "u/a");
        assert_eq!(Reference::parse("localhost:5000/a").unwrap().familiar_repository(), "localhost:5000/a");
    }

    #[test]
    fn rejects_invalid() {
        assert!(matches!(Reference::parse("BusyBox"), Err(ReferenceError::Uppercase(_))));
        assert!(Reference::parse("").is_err());
        assert!(Reference::parse("a:b:c").is_err());
        assert!(Reference::parse("busy box").is_err());
        assert!(Reference::parse("-abc").is_err());
        assert!(Reference::parse("abc-").is_err());
        assert!(Reference::parse("a//b").is_err());
        assert!(Reference::parse("a:").is_err());
        assert!(Reference::parse("a:-x").is_err());
        assert!(Reference::parse("a@sha256:xyz").is_err());
        assert!(Reference::parse(&format!("a:{}", "t".repeat(129))).is_err());
        assert!(Reference::parse("a..b").is_err());
    }

    #[test]
    fn separators() {
        assert!(Reference::parse("a_b").is_ok());
        assert!(Reference::parse("a__b").is_ok());
        assert!(Reference::parse("a---b").is_ok());
        assert!(Reference::parse("a.b").is_ok());
        assert!(Reference::parse("a___b").is_err());
    }

    #[test]
    fn with_tag() {
        assert_eq!(Reference::with_tag("busybox", "v2").unwrap().familiar(), "busybox:v2");
        assert!(Reference::with_tag("busybox", "bad tag").is_err());
        assert!(Reference::with_tag("busybox:1", "v2").is_err());
    }
}
