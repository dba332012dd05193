//! Pure checks on tar entry paths and link targets: the "describe" half of a safe unpack.
//!
//! Entry names are bytes (Linux file names need not be UTF-8). A name is normalised to
//! `/`-separated components without empty or `.` components; absolute names and `..` are
//! refused rather than rewritten, because an archive that contains them was not made by
//! `docker save`/`tar -C dir .` and is most likely an attack.

/// Why an entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeReason {
    /// The name starts with `/`.
    #[error("absolute path")]
    Absolute,
    /// The name has a `..` component.
    #[error("path contains a '..' component")]
    DotDot,
    /// A parent directory of the entry is a symlink.
    #[error("parent path goes through a symlink")]
    ThroughSymlink,
    /// The entry would be resolved outside the root.
    #[error("path escapes the root")]
    Escapes,
    /// A relative symlink whose target leaves the root.
    #[error("symlink target {0:?} escapes the root")]
    SymlinkEscapes(String),
    /// A hard link with an absolute target.
    #[error("hard link target {0:?} is absolute")]
    HardLinkAbsolute(String),
    /// A hard link whose target has a `..` component.
    #[error("hard link target {0:?} contains a '..' component")]
    HardLinkDotDot(String),
    /// A hard link to something that was not unpacked before it.
    #[error("hard link target {0:?} does not exist earlier in the archive")]
    HardLinkMissing(String),
    /// A whiteout that names `.` or `..` or nothing.
    #[error("invalid whiteout name")]
    BadWhiteout,
    /// A non-directory entry for the root itself.
    #[error("entry replaces the root directory")]
    ReplacesRoot,
}

/// Normalises an entry name: `./a//b/` → `a/b`; `.` or `./` → `` (the root itself).
pub(crate) fn clean(raw: &[u8]) -> Result<Vec<u8>, UnsafeReason> {
    if raw.first() == Some(&b'/') {
        return Err(UnsafeReason::Absolute);
    }
    let mut out = Vec::with_capacity(raw.len());
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err(UnsafeReason::DotDot),
            c => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    Ok(out)
}

/// Splits a cleaned, non-empty path into its parent (possibly empty) and its last component.
pub(crate) fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// Joins two cleaned paths.
pub(crate) fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_vec(),
        (_, true) => a.to_vec(),
        _ => [a, b"/", b].concat(),
    }
}

/// Docker's breakout check for symlinks: a relative `target` of the symlink at `entry` (a
/// cleaned path) must lexically stay inside the root, i.e. `clean(join(dir(entry), target))`
/// must not start with `..`. Absolute targets are fine: they are resolved inside the
/// container's root at run time.
pub(crate) fn symlink_escapes(entry: &[u8], target: &[u8]) -> bool {
    if target.first() == Some(&b'/') {
        return false;
    }
    let (parent, _) = split(entry);
    let mut depth: usize = parent.split(|&b| b == b'/').filter(|c| !c.is_empty()).count();
    for comp in target.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

/// Checks a hard link target and cleans it.
pub(crate) fn clean_link_target(raw: &[u8]) -> Result<Vec<u8>, UnsafeReason> {
    let shown = || String::from_utf8_lossy(raw).into_owned();
    match clean(raw) {
        Ok(p) if p.is_empty() => Err(UnsafeReason::HardLinkMissing(shown())),
        Ok(p) => Ok(p),
        Err(UnsafeReason::Absolute) => Err(UnsafeReason::HardLinkAbsolute(shown())),
        Err(_) => Err(UnsafeReason::HardLinkDotDot(shown())),
    }
}

/// What a layer entry's last component says about overlay whiteouts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout<'a> {
    /// Not a whiteout: a normal entry.
    None,
    /// `.wh..wh..opq`: the parent directory hides everything below it.
    Opaque,
    /// `.wh..wh.*` other than the opaque marker: AUFS bookkeeping, ignored.
    Meta,
    /// `.wh.NAME`: NAME is deleted.
    File(&'a [u8]),
}

pub(crate) const WHITEOUT_PREFIX: &[u8] = b".wh.";
pub(crate) const WHITEOUT_OPAQUE: &[u8] = b".wh..wh..opq";
const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";

/// Classifies the last component of a layer entry.
pub(crate) fn whiteout(name: &[u8]) -> Result<Whiteout<'_>, UnsafeReason> {
    if name == WHITEOUT_OPAQUE {
        Ok(Whiteout::Opaque)
    } else if name.starts_with(WHITEOUT_META_PREFIX) {
        Ok(Whiteout::Meta)
    } else if let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) {
        match target {
            b"" | b"." | b".." => Err(UnsafeReason::BadWhiteout),
            t => Ok(Whiteout::File(t)),
        }
    } else {
        Ok(Whiteout::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_names() {
        assert_eq!(clean(b"./a//b/").unwrap(), b"a/b");
        assert_eq!(clean(b"a/./b").unwrap(), b"a/b");
        assert_eq!(clean(b"./").unwrap(), b"");
        assert_eq!(clean(b".").unwrap(), b"");
        assert_eq!(clean(b"/etc/passwd"), Err(UnsafeReason::Absolute));
        assert_eq!(clean(b"a/../../b"), Err(UnsafeReason::DotDot));
        assert_eq!(clean(b".."), Err(UnsafeReason::DotDot));
        assert_eq!(clean(b"a/..b").unwrap(), b"a/..b");
    }

    #[test]
    fn splits_and_joins() {
        assert_eq!(split(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split(b"c"), (&b""[..], &b"c"[..]));
        assert_eq!(join(b"", b"x"), b"x");
        assert_eq!(join(b"a", b""), b"a");
        assert_eq!(join(b"a", b"x/y"), b"a/x/y");
    }

    #[test]
    fn symlink_breakout_is_lexical() {
        assert!(!symlink_escapes(b"a/link", b"/etc/passwd"));
        assert!(!symlink_escapes(b"a/link", b"../b"));
        assert!(!symlink_escapes(b"a/b/link", b"../../c"));
        assert!(symlink_escapes(b"a/link", b"../../etc"));
        assert!(symlink_escapes(b"link", b".."));
        assert!(symlink_escapes(b"link", b"x/../../y"));
        assert!(!symlink_escapes(b"link", b"x/../y"));
        assert!(!symlink_escapes(b"a/link", b"./../a/./b"));
    }

    #[test]
    fn hard_link_targets() {
        assert_eq!(clean_link_target(b"./bin/sh").unwrap(), b"bin/sh");
        assert!(matches!(clean_link_target(b"/bin/sh"), Err(UnsafeReason::HardLinkAbsolute(_))));
        assert!(matches!(clean_link_target(b"../x"), Err(UnsafeReason::HardLinkDotDot(_))));
        assert!(matches!(clean_link_target(b"."), Err(UnsafeReason::HardLinkMissing(_))));
    }

    #[test]
    fn whiteouts() {
        assert_eq!(whiteout(b".wh..wh..opq").unwrap(), Whiteout::Opaque);
        assert_eq!(whiteout(b".wh..wh.plnk").unwrap(), Whiteout::Meta);
        assert_eq!(whiteout(b".wh.foo").unwrap(), Whiteout::File(b"foo"));
        assert_eq!(whiteout(b"foo").unwrap(), Whiteout::None);
        assert_eq!(whiteout(b".wh..."), Err(UnsafeReason::BadWhiteout));
        assert_eq!(whiteout(b".wh."), Err(UnsafeReason::BadWhiteout));
    }
}
