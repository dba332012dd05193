//! Python's `glob.glob` as supervisord's `[include]` uses it: `*`, `?` and `[...]` (with `!`
//! negation and ranges) in any path component, hidden names matched only by a pattern that starts
//! with `.`, results sorted like `sorted(glob.glob(p))`.

use std::path::Path;

/// Whether `name` matches the shell pattern `pat` (`fnmatch` rules, case-sensitive).
pub(super) fn fnmatch(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches(&p, &n)
}

fn matches(p: &[char], n: &[char]) -> bool {
    let Some(&first) = p.first() else { return n.is_empty() };
    match first {
        '*' => (0..=n.len()).any(|i| matches(&p[1..], &n[i..])),
        '?' => !n.is_empty() && matches(&p[1..], &n[1..]),
        '[' => match class(&p[1..]) {
            Some((set, negate, len)) => {
                let Some(&c) = n.first() else { return false };
                set.contains(c) != negate && matches(&p[1 + len..], &n[1..])
            }
            // An unclosed `[` is a literal.
            None => n.first() == Some(&'[') && matches(&p[1..], &n[1..]),
        },
        c => n.first() == Some(&c) && matches(&p[1..], &n[1..]),
    }
}

struct Set(Vec<(char, char)>);

impl Set {
    fn contains(&self, c: char) -> bool {
        self.0.iter().any(|&(lo, hi)| lo <= c && c <= hi)
    }
}

/// Parses a class after its `[`: the set, whether it is negated, and how many chars it used
/// (including the closing `]`). `None` if it never closes.
fn class(p: &[char]) -> Option<(Set, bool, usize)> {
    let mut i = 0;
    let negate = p.first() == Some(&'!');
    if negate {
        i += 1;
    }
    let mut ranges = Vec::new();
    let start = i;
    loop {
        let c = *p.get(i)?;
        // A `]` right after `[` or `[!` is a member, not the end.
        if c == ']' && i > start {
            return Some((Set(ranges), negate, i + 1));
        }
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&h| h != ']') {
            ranges.push((c, p[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Paths (inside the container) matching `pattern`, an absolute path inside the container, with
/// the filesystem read under `root`. Sorted by byte order.
pub(super) fn glob(root: &Path, pattern: &str) -> Vec<String> {
    let host = |p: &str| root.join(p.trim_start_matches('/'));
    if !has_magic(pattern) {
        return if host(pattern).symlink_metadata().is_ok() { vec![pattern.to_string()] } else { Vec::new() };
    }
    // Walk component by component, listing directories only where a component has magic.
    let mut found = vec![String::new()];
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let mut next = Vec::new();
        for dir in &found {
            if has_magic(comp) {
                let Ok(entries) = std::fs::read_dir(host(if dir.is_empty() { "/" } else { dir })) else {
                    continue;
                };
                for e in entries.flatten() {
                    let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
                    if name.starts_with('.') && !comp.starts_with('.') {
                        continue;
                    }
                    if fnmatch(comp, &name) {
                        next.push(format!("{dir}/{name}"));
                    }
                }
            } else {
                let p = format!("{dir}/{comp}");
                let exists = if last { host(&p).symlink_metadata().is_ok() } else { host(&p).is_dir() };
                if exists {
                    next.push(p);
                }
            }
        }
        if !last {
            next.retain(|p| host(p).is_dir());
        }
        found = next;
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_cases() {
        assert!(fnmatch("*.conf", "a.conf"));
        assert!(fnmatch("*.conf", ".conf"));
        assert!(!fnmatch("*.conf", "a.conf.bak"));
        assert!(fnmatch("a?c", "abc"));
        assert!(!fnmatch("a?c", "ac"));
        assert!(fnmatch("[a-c]x", "bx"));
        assert!(!fnmatch("[!a-c]x", "bx"));
        assert!(fnmatch("[!a-c]x", "dx"));
        assert!(fnmatch("[]]", "]"));
        assert!(fnmatch("[a-]", "-"));
        assert!(fnmatch("[x", "[x"));
        assert!(fnmatch("*", ""));
        assert!(fnmatch("a*b*c", "aXbYbc"));
    }
}
