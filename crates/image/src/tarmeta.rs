//! The metadata of one tar entry: mode, numeric owner, mtime and xattrs, with PAX records
//! (`uid`, `gid`, `mtime`, `SCHILY.xattr.*`) overriding the header fields.

use std::io::Read;

use rustix::fs::Timespec;

use crate::unpack::{UnpackError, show};

/// Metadata of one entry.
pub(crate) struct Meta {
    /// Permission bits including setuid/setgid/sticky.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: Timespec,
    pub(crate) xattrs: Vec<(String, Vec<u8>)>,
}

/// Reads an entry's metadata; `entries` (entries read so far) is for error messages.
pub(crate) fn read<R: Read>(e: &mut tar::Entry<'_, R>, raw: &[u8], entries: u64) -> Result<Meta, UnpackError> {
    let bad = |field| UnpackError::Header { entry: show(raw), field };
    let corrupt = |source| UnpackError::Corrupt { entries, source };
    let h = e.header();
    let mode = h.mode().map_err(|_| bad("mode"))? & 0o7777;
    let mut uid = h.uid().map_err(|_| bad("uid"))?;
    let mut gid = h.gid().map_err(|_| bad("gid"))?;
    let secs = i64::try_from(h.mtime().map_err(|_| bad("mtime"))?).map_err(|_| bad("mtime"))?;
    let mut mtime = Timespec { tv_sec: secs, tv_nsec: 0 };
    let mut xattrs = Vec::new();
    if let Some(exts) = e.pax_extensions().map_err(corrupt)? {
        for ext in exts {
            let ext = ext.map_err(corrupt)?;
            let Ok(key) = ext.key() else { continue };
            let value = ext.value_bytes();
            let number = || std::str::from_utf8(value).ok().and_then(|v| v.parse::<u64>().ok());
            match key {
                "uid" => uid = number().ok_or_else(|| bad("uid"))?,
                "gid" => gid = number().ok_or_else(|| bad("gid"))?,
                "mtime" => mtime = parse_pax_time(value).ok_or_else(|| bad("mtime"))?,
                _ => {
                    if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                        xattrs.push((name.to_owned(), value.to_vec()));
                    }
                }
            }
        }
    }
    // -1 means "unchanged" to chown(2); it cannot be a real owner.
    let id = |v: u64, field| u32::try_from(v).ok().filter(|&v| v != u32::MAX).ok_or_else(|| bad(field));
    Ok(Meta { mode, uid: id(uid, "uid")?, gid: id(gid, "gid")?, mtime, xattrs })
}

/// Parses a PAX time (`1700000000.5`, `-1.5`).
pub(crate) fn parse_pax_time(value: &[u8]) -> Option<Timespec> {
    let s = std::str::from_utf8(value).ok()?;
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = secs.parse::<i64>().ok()?;
    let digits: String = frac.chars().take(9).collect();
    let nanos = if digits.is_empty() { 0 } else { format!("{digits:0<9}").parse::<i64>().ok()? };
    Some(match (negative, nanos) {
        (false, n) => Timespec { tv_sec: secs, tv_nsec: n },
        (true, 0) => Timespec { tv_sec: -secs, tv_nsec: 0 },
        // -1.5 s is 2 s before the epoch plus 0.5 s.
        (true, n) => Timespec { tv_sec: -secs - 1, tv_nsec: 1_000_000_000 - n },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times_parse() {
        let t = |s, n| Some(Timespec { tv_sec: s, tv_nsec: n });
        assert_eq!(parse_pax_time(b"12.5"), t(12, 500_000_000));
        assert_eq!(parse_pax_time(b"12"), t(12, 0));
        assert_eq!(parse_pax_time(b"1.123456789123"), t(1, 123_456_789));
        assert_eq!(parse_pax_time(b"-1.5"), t(-2, 500_000_000));
        assert_eq!(parse_pax_time(b"-0.25"), t(-1, 750_000_000));
        assert_eq!(parse_pax_time(b"-3"), t(-3, 0));
        assert_eq!(parse_pax_time(b"x"), None);
        assert_eq!(parse_pax_time(b"1.x"), None);
        assert_eq!(parse_pax_time(b""), None);
    }
}
