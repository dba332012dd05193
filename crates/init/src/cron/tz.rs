//! The container's local time zone for cron: a minimal TZif (RFC 8536) reader and POSIX `TZ`
//! rules, plus the civil-date arithmetic cron needs (Howard Hinnant's `days_from_civil` and
//! `civil_from_days`). No chrono: PID 1 must stay small.
//!
//! Supported: TZif v1, v2 and v3 files (the 64-bit block is used when present), including the
//! POSIX footer that covers times after the last transition (`-b slim` files rely on it), and
//! `TZ` values `UTC`/`UTC0`/`GMT`/`GMT0`/empty, zone names under `/usr/share/zoneinfo`,
//! `:`-prefixed forms of these, and POSIX rule strings such as `CET-1CEST,M3.5.0,M10.5.0/3`.
//! Leap-second ("right/") zones are read but their leap records are ignored: cron counts POSIX
//! seconds.

use std::fmt;
use std::path::{Component, Path};

/// Days since 1970-01-01 of the proleptic Gregorian date `y`-`m`-`d` (`m` 1-12, `d` 1-31).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1-12, day 1-31) of `z` days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Day of the week of `z` days since 1970-01-01: 0 = Sunday .. 6 = Saturday.
pub fn weekday(z: i64) -> u32 {
    (z + 4).rem_euclid(7) as u32
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Why a time zone could not be loaded.
#[derive(Debug)]
pub enum TzError {
    /// The zone file could not be read.
    Read {
        /// The file, relative to the root given to [`TimeZone::load`].
        path: String,
        /// What the read returned.
        source: std::io::Error,
    },
    /// The zone file is not valid TZif.
    Tzif {
        /// The file.
        path: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `TZ` is neither a known zone name nor a valid POSIX rule.
    BadTz(String),
}

impl fmt::Display for TzError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TzError::Read { path, .. } => write!(f, "reading time zone file {path}"),
            TzError::Tzif { path, problem } => write!(f, "time zone file {path}: {problem}"),
            TzError::BadTz(v) => write!(f, "TZ {v:?}: not a zone name under /usr/share/zoneinfo nor a POSIX TZ rule"),
        }
    }
}

impl std::error::Error for TzError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TzError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A POSIX `TZ` rule such as `CET-1CEST,M3.5.0,M10.5.0/3`: offsets are seconds east of UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PosixTz {
    std: i32,
    dst: Option<(i32, RuleDay, i32, RuleDay, i32)>,
}

/// A day of the year in a POSIX rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleDay {
    /// `Jn`: day 1-365, February 29 never counted.
    Julian1(u32),
    /// `n`: day 0-365, February 29 counted.
    Julian0(u32),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (1-5, 5 = last) of month `m`.
    Month(u32, u32, u32),
}

impl RuleDay {
    /// Days since the epoch of this day in year `y`.
    fn day(self, y: i64) -> i64 {
        let jan1 = days_from_civil(y, 1, 1);
        match self {
            RuleDay::Julian1(n) => jan1 + i64::from(n) - 1 + i64::from(is_leap(y) && n >= 60),
            RuleDay::Julian0(n) => jan1 + i64::from(n),
            RuleDay::Month(m, w, d) => {
                let first = days_from_civil(y, m, 1);
                let delta = (i64::from(d) - i64::from(weekday(first))).rem_euclid(7);
                let mut day = first + delta + 7 * (i64::from(w) - 1);
                let last = first + i64::from(days_in_month(y, m)) - 1;
                while day > last {
                    day -= 7;
                }
                day
            }
        }
    }
}

impl PosixTz {
    fn parse(s: &str) -> Option<PosixTz> {
        let mut p = Cursor { s: s.as_bytes(), i: 0 };
        p.name()?;
        let std = -p.offset()?;
        if p.done() {
            return Some(PosixTz { std, dst: None });
        }
        p.name()?;
        let dst_off = if p.peek().is_some_and(|c| c != b',') { -p.offset()? } else { std + 3600 };
        let (start, start_t, end, end_t) = if p.done() {
            // No rule: POSIX leaves it to the implementation; glibc and musl use the US rule.
            (RuleDay::Month(3, 2, 0), 7200, RuleDay::Month(11, 1, 0), 7200)
        } else {
            p.eat(b',')?;
            let (a, at) = p.rule()?;
            p.eat(b',')?;
            let (b, bt) = p.rule()?;
            (a, at, b, bt)
        };
        if !p.done() {
            return None;
        }
        Some(PosixTz { std, dst: Some((dst_off, start, start_t, end, end_t)) })
    }

    fn offset_at(&self, t: i64) -> i32 {
        let Some((dst, start, start_t, end, end_t)) = self.dst else { return self.std };
        let (y, _, _) = civil_from_days((t + i64::from(self.std)).div_euclid(86_400));
        // Transition times are local wall-clock times in the offset in force before them.
        let on = start.day(y) * 86_400 + i64::from(start_t) - i64::from(self.std);
        let off = end.day(y) * 86_400 + i64::from(end_t) - i64::from(dst);
        let in_dst = if on < off { on <= t && t < off } else { !(off <= t && t < on) };
        if in_dst { dst } else { self.std }
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }
    fn name(&mut self) -> Option<()> {
        let start = self.i;
        if self.eat(b'<').is_some() {
            while self.peek()? != b'>' {
                self.i += 1;
            }
            self.i += 1;
            return (self.i - start >= 5).then_some(());
        }
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        (self.i - start >= 3).then_some(())
    }
    fn num(&mut self) -> Option<i32> {
        let start = self.i;
        let mut n: i32 = 0;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            n = n.checked_mul(10)?.checked_add(i32::from(c - b'0'))?;
            self.i += 1;
        }
        (self.i > start).then_some(n)
    }
    /// `[+-]hh[:mm[:ss]]` in seconds, as written (POSIX offsets are positive west of UTC).
    fn offset(&mut self) -> Option<i32> {
        let sign = match self.peek() {
            Some(b'-') => {
                self.i += 1;
                -1
            }
            Some(b'+') => {
                self.i += 1;
                1
            }
            _ => 1,
        };
        let h = self.num().filter(|&h| h <= 167)?;
        let mut secs = h * 3600;
        if self.eat(b':').is_some() {
            secs += self.num().filter(|&m| m <= 59)? * 60;
            if self.eat(b':').is_some() {
                secs += self.num().filter(|&s| s <= 59)?;
            }
        }
        Some(sign * secs)
    }
    fn rule(&mut self) -> Option<(RuleDay, i32)> {
        let day = if self.eat(b'J').is_some() {
            let n = self.num()?;
            (1..=365).contains(&n).then_some(RuleDay::Julian1(n as u32))?
        } else if self.eat(b'M').is_some() {
            let m = self.num()?;
            self.eat(b'.')?;
            let w = self.num()?;
            self.eat(b'.')?;
            let d = self.num()?;
            ((1..=12).contains(&m) && (1..=5).contains(&w) && (0..=6).contains(&d))
                .then_some(RuleDay::Month(m as u32, w as u32, d as u32))?
        } else {
            let n = self.num()?;
            (0..=365).contains(&n).then_some(RuleDay::Julian0(n as u32))?
        };
        let time = if self.eat(b'/').is_some() { self.offset()? } else { 7200 };
        Some((day, time))
    }
}

/// A time zone: the UTC offset in force at any instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone {
    /// Offset before the first transition (or always, with no transitions and no rule).
    initial: i32,
    /// (transition time, offset from then on), sorted by time.
    transitions: Vec<(i64, i32)>,
    /// Rule for times after the last transition (the TZif footer), or the whole `TZ` rule.
    rule: Option<PosixTz>,
}

impl TimeZone {
    /// Coordinated Universal Time.
    pub fn utc() -> TimeZone {
        TimeZone::fixed(0)
    }

    /// A fixed offset, in seconds east of UTC, with no daylight saving time.
    pub fn fixed(offset: i32) -> TimeZone {
        TimeZone { initial: offset, transitions: Vec::new(), rule: None }
    }

    /// A POSIX `TZ` rule such as `EST5EDT,M3.2.0,M11.1.0` (`None` if it doesn't parse).
    pub fn from_posix(rule: &str) -> Option<TimeZone> {
        let rule = PosixTz::parse(rule)?;
        Some(TimeZone { initial: rule.std, transitions: Vec::new(), rule: Some(rule) })
    }

    /// Parses a TZif file (RFC 8536, versions 1 to 4).
    pub fn from_tzif(data: &[u8]) -> Result<TimeZone, &'static str> {
        let (v1, rest) = Block::parse(data, 4)?;
        if data[4] == 0 {
            return v1.zone(None);
        }
        let (v2, footer) = Block::parse(rest, 8)?;
        let footer = footer.strip_prefix(b"\n").and_then(|f| f.split(|&c| c == b'\n').next()).unwrap_or(b"");
        let rule = match std::str::from_utf8(footer) {
            Ok("") | Err(_) => None,
            Ok(s) => Some(PosixTz::parse(s).ok_or("bad POSIX TZ string in the footer")?),
        };
        v2.zone(rule)
    }

    /// The local zone of the filesystem at `root` (a container's root, `/` inside it), as the C
    /// library would pick it: `tz` is the value of the `TZ` variable if set, else
    /// `root/etc/localtime`. A missing `/etc/localtime` means UTC, as in glibc and musl.
    pub fn load(root: &Path, tz: Option<&str>) -> Result<TimeZone, TzError> {
        let Some(tz) = tz else {
            return match std::fs::read(root.join("etc/localtime")) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TimeZone::utc()),
                Err(source) => Err(TzError::Read { path: "/etc/localtime".into(), source }),
                Ok(data) => TimeZone::from_tzif(&data)
                    .map_err(|problem| TzError::Tzif { path: "/etc/localtime".into(), problem }),
            };
        };
        let name = tz.strip_prefix(':').unwrap_or(tz);
        if matches!(name, "" | "UTC" | "UTC0" | "GMT" | "GMT0" | "UCT" | "Zulu") {
            return Ok(TimeZone::utc());
        }
        let path = Path::new(name);
        let safe = path.components().all(|c| matches!(c, Component::Normal(_) | Component::RootDir));
        if safe {
            let (shown, file) = if path.is_absolute() {
                (name.to_string(), root.join(path.strip_prefix("/").unwrap_or(path)))
            } else {
                (format!("/usr/share/zoneinfo/{name}"), root.join("usr/share/zoneinfo").join(path))
            };
            match std::fs::read(&file) {
                Ok(data) => {
                    return TimeZone::from_tzif(&data).map_err(|problem| TzError::Tzif { path: shown, problem });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(TzError::Read { path: shown, source }),
            }
        }
        TimeZone::from_posix(name).ok_or_else(|| TzError::BadTz(tz.to_string()))
    }

    /// The offset from UTC, in seconds east, in force at `t` (seconds since the epoch).
    pub fn offset_at(&self, t: i64) -> i32 {
        match self.transitions.partition_point(|&(at, _)| at <= t) {
            0 if self.transitions.is_empty() => self.rule.as_ref().map_or(self.initial, |r| r.offset_at(t)),
            0 => self.initial,
            n if n == self.transitions.len() && self.rule.is_some() => {
                self.rule.as_ref().expect("checked above").offset_at(t)
            }
            n => self.transitions[n - 1].1,
        }
    }

    /// The instants at which the local wall-clock time is `local` (seconds since the epoch as if
    /// the zone were UTC): one normally, two in a repeated hour (earlier first), none in a
    /// skipped one.
    pub(super) fn instants(&self, local: i64) -> Vec<i64> {
        let mut offs = [self.offset_at(local - 86_400), self.offset_at(local + 86_400)];
        offs.sort_unstable();
        let mut out: Vec<i64> = Vec::with_capacity(2);
        for o in offs.iter().rev() {
            let u = local - i64::from(*o);
            if self.offset_at(u) == *o && !out.contains(&u) {
                out.push(u);
            }
        }
        out
    }

    /// The first instant in `(lo, hi]` whose offset differs from the offset at `lo`; `hi` if
    /// there is none. Used to find where a skipped hour ends.
    pub(super) fn transition_in(&self, lo: i64, hi: i64) -> i64 {
        let before = self.offset_at(lo);
        let (mut lo, mut hi) = (lo, hi);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.offset_at(mid) == before { lo = mid } else { hi = mid }
        }
        hi
    }
}

/// One data block of a TZif file, with `w`-byte transition times.
struct Block<'a> {
    times: &'a [u8],
    idx: &'a [u8],
    types: &'a [u8],
    w: usize,
}

impl<'a> Block<'a> {
    fn parse(data: &'a [u8], w: usize) -> Result<(Block<'a>, &'a [u8]), &'static str> {
        if data.len() < 44 || &data[..4] != b"TZif" {
            return Err("not a TZif file");
        }
        let count = |i: usize| u32::from_be_bytes(data[20 + 4 * i..24 + 4 * i].try_into().expect("4 bytes")) as usize;
        let (isut, isstd, leap, time, typ, chars) = (count(0), count(1), count(2), count(3), count(4), count(5));
        if typ == 0 {
            return Err("no local time types");
        }
        let len = time * w + time + typ * 6 + chars + leap * (w + 4) + isstd + isut;
        let body = data.get(44..44 + len).ok_or("truncated")?;
        let (times, body) = body.split_at(time * w);
        let (idx, body) = body.split_at(time);
        let types = &body[..typ * 6];
        if idx.iter().any(|&i| usize::from(i) >= typ) {
            return Err("transition to an undefined local time type");
        }
        Ok((Block { times, idx, types, w }, &data[44 + len..]))
    }

    fn offset(&self, ty: usize) -> i32 {
        i32::from_be_bytes(self.types[ty * 6..ty * 6 + 4].try_into().expect("4 bytes"))
    }

    fn zone(&self, rule: Option<PosixTz>) -> Result<TimeZone, &'static str> {
        let transitions = self
            .times
            .chunks_exact(self.w)
            .zip(self.idx)
            .map(|(t, &i)| {
                let t = match self.w {
                    4 => i64::from(i32::from_be_bytes(t.try_into().expect("4 bytes"))),
                    _ => i64::from_be_bytes(t.try_into().expect("8 bytes")),
                };
                (t, self.offset(usize::from(i)))
            })
            .collect::<Vec<_>>();
        if transitions.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err("transition times not ascending");
        }
        Ok(TimeZone { initial: self.offset(0), transitions, rule })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for z in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(weekday(0), 4); // a Thursday
        assert_eq!(weekday(days_from_civil(2024, 2, 29)), 4);
    }

    #[test]
    fn posix_rule_europe() {
        let tz = TimeZone::from_posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        // 2050-03-27 is the last Sunday of March; the switch is at 01:00 UTC.
        let on = days_from_civil(2050, 3, 27) * 86_400 + 3600;
        assert_eq!(tz.offset_at(on - 1), 3600);
        assert_eq!(tz.offset_at(on), 7200);
        let off = days_from_civil(2050, 10, 30) * 86_400 + 3600;
        assert_eq!(tz.offset_at(off - 1), 7200);
        assert_eq!(tz.offset_at(off), 3600);
    }

    #[test]
    fn posix_rule_southern_and_quoted() {
        // Australia/Sydney: DST from the first Sunday of October to the first Sunday of April.
        let tz = TimeZone::from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(tz.offset_at(days_from_civil(2040, 1, 15) * 86_400), 11 * 3600);
        assert_eq!(tz.offset_at(days_from_civil(2040, 7, 15) * 86_400), 10 * 3600);
        let tz = TimeZone::from_posix("<-03>3").unwrap();
        assert_eq!(tz.offset_at(0), -3 * 3600);
        assert!(TimeZone::from_posix("Europe/Berlin").is_none());
        assert!(TimeZone::from_posix("CET-1CEST,M3.5.0").is_none());
        assert!(TimeZone::from_posix("CET-1:99999999999").is_none());
        assert!(TimeZone::from_posix("CET-999").is_none());
    }

    #[test]
    fn load_falls_back_to_utc_and_rejects_junk() {
        let dir = std::env::temp_dir().join(format!("berth-cron-tz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        assert_eq!(TimeZone::load(&dir, None).unwrap(), TimeZone::utc());
        assert_eq!(TimeZone::load(&dir, Some("UTC0")).unwrap(), TimeZone::utc());
        assert!(matches!(TimeZone::load(&dir, Some("Nowhere/Special")), Err(TzError::BadTz(_))));
        assert!(matches!(TimeZone::load(&dir, Some("../../etc/passwd")), Err(TzError::BadTz(_))));
        std::fs::write(dir.join("etc/localtime"), b"garbage").unwrap();
        let err = TimeZone::load(&dir, None).unwrap_err();
        assert_eq!(err.to_string(), "time zone file /etc/localtime: not a TZif file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Europe/Berlin from the host's tzdata (installed by scripts/deps.sh).
    pub(crate) fn berlin() -> Option<TimeZone> {
        let data = std::fs::read("/usr/share/zoneinfo/Europe/Berlin")
            .expect("/usr/share/zoneinfo/Europe/Berlin: install tzdata (scripts/deps.sh does)");
        Some(TimeZone::from_tzif(&data).unwrap())
    }

    #[test]
    fn tzif_berlin_dst() {
        let Some(tz) = berlin() else { return };
        // 2026-03-29 01:00 UTC: CET -> CEST; 2026-10-25 01:00 UTC: CEST -> CET.
        let on = days_from_civil(2026, 3, 29) * 86_400 + 3600;
        assert_eq!(tz.offset_at(on - 1), 3600);
        assert_eq!(tz.offset_at(on), 7200);
        let off = days_from_civil(2026, 10, 25) * 86_400 + 3600;
        assert_eq!(tz.offset_at(off - 1), 7200);
        assert_eq!(tz.offset_at(off), 3600);
        // Past the last transition of a fat file, the footer rule takes over.
        let on = days_from_civil(2090, 3, 26) * 86_400 + 3600;
        assert_eq!(tz.offset_at(on - 1), 3600);
        assert_eq!(tz.offset_at(on), 7200);
        // The same zone by TZ name, with or without the leading colon.
        let root = Path::new("/");
        assert_eq!(TimeZone::load(root, Some("Europe/Berlin")).unwrap(), tz);
        assert_eq!(TimeZone::load(root, Some(":Europe/Berlin")).unwrap(), tz);
        // 1970 had no DST in Germany.
        assert_eq!(tz.offset_at(days_from_civil(1970, 7, 1) * 86_400), 3600);
        // The v1 block alone (32-bit times) agrees for 2026.
        let data = std::fs::read("/usr/share/zoneinfo/Europe/Berlin").unwrap();
        let mut v1 = data.clone();
        v1[4] = 0;
        let tz1 = TimeZone::from_tzif(&v1).unwrap();
        assert_eq!(tz1.offset_at(on - 1), 3600);
        assert_eq!(tz1.offset_at(days_from_civil(2026, 7, 1) * 86_400), 7200);
    }

    #[test]
    fn instants_in_gaps_and_overlaps() {
        let Some(tz) = berlin() else { return };
        // 02:30 local on 2026-03-29 does not exist; it is in the skipped hour.
        let gap = days_from_civil(2026, 3, 29) * 86_400 + 2 * 3600 + 1800;
        assert!(tz.instants(gap).is_empty());
        let end = days_from_civil(2026, 3, 29) * 86_400 + 3600;
        assert_eq!(tz.transition_in(gap - 7200, gap - 3600), end);
        // 02:30 local on 2026-10-25 happens twice: 00:30 and 01:30 UTC.
        let rep = days_from_civil(2026, 10, 25) * 86_400 + 2 * 3600 + 1800;
        let day = days_from_civil(2026, 10, 25) * 86_400;
        assert_eq!(tz.instants(rep), vec![day + 1800, day + 3600 + 1800]);
    }
}
