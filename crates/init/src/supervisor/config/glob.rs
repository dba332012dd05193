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

/// One pass per pattern element over the name positions reachable so far: pattern length ×
/// name length, whatever the pattern. Backtracking took exponential time on `*a*a*a…` (the
/// supervisor fuzz target found an `[include]` line that held PID 1 for minutes).
fn matches(p: &[char], n: &[char]) -> bool {
    // reach[j]: the elements so far can match exactly n[..j].
    let mut reach = vec![false; n.len() + 1];
    reach[0] = true;
    let mut i = 0;
    while i < p.len() {
        if p[i] == '*' {
            let mut on = false;
            for r in reach.iter_mut() {
                on |= *r;
                *r = on;
            }
            i += 1;
            continue;
        }
        // An element that matches one char: `?`, a class, or a literal (an unclosed `[` too).
        let (len, one): (usize, Box<dyn Fn(char) -> bool>) = match p[i] {
            '?' => (1, Box::new(|_| true)),
            '[' => match class(&p[i + 1..]) {
                Some((set, negate, len)) => (1 + len, Box::new(move |c| set.contains(c) != negate)),
                None => (1, Box::new(|c| c == '[')),
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

    /// The backtracking matcher `matches` replaced: the meaning to keep, on small inputs.
    fn reference(p: &[char], n: &[char]) -> bool {
        let Some(&first) = p.first() else { return n.is_empty() };
        match first {
            '*' => (0..=n.len()).any(|i| reference(&p[1..], &n[i..])),
            '?' => !n.is_empty() && reference(&p[1..], &n[1..]),
            '[' => match class(&p[1..]) {
                Some((set, negate, len)) => {
                    let Some(&c) = n.first() else { return false };
                    set.contains(c) != negate && reference(&p[1 + len..], &n[1..])
                }
                None => n.first() == Some(&'[') && reference(&p[1..], &n[1..]),
            },
            c => n.first() == Some(&c) && reference(&p[1..], &n[1..]),
        }
    }

    #[test]
    fn fnmatch_agrees_with_backtracking_and_is_fast() {
        let alphabet = ["a", "b", "*", "?", "[a-b]", "[!a]", "[", "]"];
        let mut pats = vec![String::new()];
        for _ in 0..4 {
            let more: Vec<String> = pats.iter().flat_map(|p| alphabet.iter().map(move |e| format!("{p}{e}"))).collect();
            pats.extend(more);
        }
        let names: Vec<String> = (0..=5u32)
            .flat_map(|len| {
                (0..3u32.pow(len))
                    .map(move |k| (0..len).map(|d| ['a', 'b', '['][(k / 3u32.pow(d)) as usize % 3]).collect())
            })
            .collect();
        for p in &pats {
            for n in &names {
                let (pc, nc): (Vec<char>, Vec<char>) = (p.chars().collect(), n.chars().collect());
                assert_eq!(fnmatch(p, n), reference(&pc, &nc), "{p:?} {n:?}");
            }
        }
        let t = std::time::Instant::now();
        assert!(!fnmatch(&format!("super{}visor", "*".repeat(60)), &"s".repeat(200)));
        assert!(!fnmatch(&"*a".repeat(100), &"a".repeat(99)));
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}
