//! Cron for berth's init: schedules, crontab files and a small scheduler, as a pure library.
//! The init's poll loop drives it: it asks [`Jobs::next_wake`] how long to sleep, starts the
//! jobs [`Jobs::due`] returns and reports their exits with [`Jobs::finished`].
//!
//! # Schedules ([`Schedule::parse`])
//!
//! - Five fields, `minute hour day-of-month month day-of-week`, each a comma list of `*`, `N`,
//!   `A-B`, optionally with a step: `*/5`, `1-10/2`, and `5/15` for "from 5 to the end, every
//!   15" (as cronie and robfig/cron read it). Months may be `jan`..`dec` and weekdays `sun`..`sat`
//!   (any case); weekday 7 is Sunday too.
//! - Vixie cron's day rule: when both day fields are restricted a day matches if *either* does
//!   (`0 0 1,15 * 5` is the 1st, the 15th and every Friday). As in Vixie cron, a field counts as
//!   unrestricted when it starts with `*`, so `*/2` in one day field still ANDs with the other.
//! - Macros: `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`,
//!   `@reboot` (once, when the init starts).
//! - `@every DURATION` with Go-style durations (`10s`, `1m30s`, `1.5h`, `500ms`). Cron counts
//!   whole seconds, so a duration is rounded *up* to whole seconds (`500ms` is `1s`); zero is an
//!   error. The first run is one period after the init starts, then every period after that.
//!
//! # Time
//!
//! Five-field schedules run in the container's local time ([`TimeZone`], from `TZ` or
//! `/etc/localtime`, else UTC). Around daylight saving changes we do what cronie does: a time in
//! a skipped hour fires when the hour is skipped (at the transition instant); a time in a
//! repeated hour fires once, at its first occurrence, unless the job runs every hour anyway
//! (hour field covering all 24), in which case it fires in both.
//!
//! # Crontabs ([`crontab`])
//!
//! `/etc/crontab` and `/etc/cron.d/*` (with a user field), and busybox's `/etc/crontabs/USER`
//! (without one: the user is the file name). See [`crontab`] for the details.
//!
//! # Not supported, and why
//!
//! - `MAILTO`/`MAILFROM`: a container has no mailer; job output goes to the init's stdout/stderr
//!   (so `docker logs`). The variables are kept as ordinary environment.
//! - `CRON_TZ`/`TZ` per job: one zone for all jobs keeps the init small. `CRON_TZ` is kept as
//!   ordinary environment and has no effect on schedules.
//! - Seconds fields, `L`, `W`, `#` and `?` (Quartz/cronie extensions), `@every` below one second.
//! - Catching up: a run missed because the container was stopped or the clock jumped is dropped,
//!   as in cron.

#![warn(missing_docs)]

pub mod crontab;
pub mod tz;

use std::fmt;

pub use tz::TimeZone;
use tz::{civil_from_days, days_from_civil, weekday};

/// Farthest a local clock can differ between two nearby instants (DST changes are at most 2 h).
const MAX_SHIFT: i64 = 3 * 3600;
/// How far ahead to look for a fire time: `0 0 29 2 *` can wait 8 years (2096 to 2104).
const HORIZON_DAYS: i64 = 30 * 366;

/// When a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Five cron fields, in local time.
    Cron(Fields),
    /// Every so many seconds, counted from the init's start.
    Every(u64),
    /// Once, when the init starts.
    Reboot,
}

/// The five fields of a cron schedule, as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    minute: u64,
    hour: u32,
    dom: u32,
    month: u16,
    dow: u8,
    dom_star: bool,
    dow_star: bool,
}

/// Why a schedule does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    /// Empty schedule.
    Empty,
    /// Not five fields.
    FieldCount(usize),
    /// One field is wrong.
    Field {
        /// `minute`, `hour`, `day-of-month`, `month` or `day-of-week`.
        field: &'static str,
        /// The offending part of the field.
        value: String,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// An `@name` that isn't a known macro.
    UnknownMacro(String),
    /// A bad `@every` duration.
    Duration {
        /// The duration as written.
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// What is wrong with a cron field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    /// A number outside the field's range.
    OutOfRange {
        /// Smallest value allowed.
        min: u32,
        /// Largest value allowed.
        max: u32,
    },
    /// Neither a number nor a name the field knows.
    NotANumber,
    /// A range whose start is after its end.
    Backwards,
    /// A step of zero or a bad step.
    BadStep,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleError::Empty => write!(f, "empty schedule"),
            ScheduleError::FieldCount(n) => write!(
                f,
                "expected 5 fields (minute hour day-of-month month day-of-week) or an @macro, found {n} field{}",
                if *n == 1 { "" } else { "s" }
            ),
            ScheduleError::Field { field, value, problem } => {
                write!(f, "{field} field {value:?}: ")?;
                match problem {
                    FieldProblem::OutOfRange { min, max } => write!(f, "out of range {min}-{max}"),
                    FieldProblem::NotANumber => write!(f, "not a number or name"),
                    FieldProblem::Backwards => write!(f, "range start is after its end"),
                    FieldProblem::BadStep => write!(f, "step must be a number of at least 1"),
                }
            }
            ScheduleError::UnknownMacro(m) => write!(
                f,
                "unknown macro {m:?} (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot or @every)"
            ),
            ScheduleError::Duration { value, problem } => write!(f, "@every duration {value:?}: {problem}"),
        }
    }
}

impl std::error::Error for ScheduleError {}

struct Spec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Spec = Spec { name: "minute", min: 0, max: 59, names: &[] };
const HOUR: Spec = Spec { name: "hour", min: 0, max: 23, names: &[] };
const DOM: Spec = Spec { name: "day-of-month", min: 1, max: 31, names: &[] };
const MONTH: Spec = Spec {
    name: "month",
    min: 1,
    max: 12,
    names: &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
};
// 7 is Sunday as well; it is folded into bit 0 after parsing.
const DOW: Spec =
    Spec { name: "day-of-week", min: 0, max: 7, names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"] };

impl Spec {
    fn err(&self, value: &str, problem: FieldProblem) -> ScheduleError {
        ScheduleError::Field { field: self.name, value: value.to_string(), problem }
    }

    /// One value of `part`: a number or a name.
    fn value(&self, s: &str, part: &str) -> Result<u32, ScheduleError> {
        if s.is_empty() {
            return Err(self.err(part, FieldProblem::NotANumber));
        }
        let lower = s.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            return Ok(self.min + i as u32);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err(s, FieldProblem::NotANumber));
        }
        match s.parse::<u32>() {
            Ok(n) if (self.min..=self.max).contains(&n) => Ok(n),
            _ => Err(self.err(s, FieldProblem::OutOfRange { min: self.min, max: self.max })),
        }
    }

    /// The field as a bit set (bit N = value N), and whether it starts with `*`.
    fn parse(&self, field: &str) -> Result<(u64, bool), ScheduleError> {
        let mut bits = 0u64;
        for part in field.split(',') {
            let (base, step) = match part.split_once('/') {
                Some((b, s)) => {
                    let step = s
                        .parse::<u32>()
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| self.err(part, FieldProblem::BadStep))?;
                    (b, Some(step))
                }
                None => (part, None),
            };
            let (lo, hi) = if base == "*" {
                // `*` in the weekday field is 0-6: 7 would only repeat Sunday.
                (self.min, if self.name == DOW.name { 6 } else { self.max })
            } else if let Some((a, b)) = base.split_once('-') {
                let (a, b) = (self.value(a, part)?, self.value(b, part)?);
                if a > b {
                    return Err(self.err(part, FieldProblem::Backwards));
                }
                (a, b)
            } else {
                let a = self.value(base, part)?;
                (a, if step.is_some() { self.max } else { a })
            };
            let step = step.unwrap_or(1) as usize;
            for v in (lo..=hi).step_by(step) {
                bits |= 1 << v;
            }
        }
        Ok((bits, field.starts_with('*')))
    }
}

impl Schedule {
    /// Parses a schedule: five fields, an `@macro`, or `@every DURATION`.
    pub fn parse(s: &str) -> Result<Schedule, ScheduleError> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let Some(first) = words.first() else { return Err(ScheduleError::Empty) };
        if first.starts_with('@') {
            let name = first.to_ascii_lowercase();
            let expect = if name == "@every" { 2 } else { 1 };
            if name == "@every" && words.len() == 1 {
                return Err(ScheduleError::Duration { value: String::new(), problem: "missing" });
            }
            if words.len() != expect {
                return Err(ScheduleError::FieldCount(words.len()));
            }
            let fields = match name.as_str() {
                "@yearly" | "@annually" => "0 0 1 1 *",
                "@monthly" => "0 0 1 * *",
                "@weekly" => "0 0 * * 0",
                "@daily" | "@midnight" => "0 0 * * *",
                "@hourly" => "0 * * * *",
                "@reboot" => return Ok(Schedule::Reboot),
                "@every" => return parse_duration(words[1]).map(Schedule::Every),
                _ => return Err(ScheduleError::UnknownMacro(first.to_string())),
            };
            return Schedule::parse(fields);
        }
        let [mi, h, dom, mo, dow] = words[..] else { return Err(ScheduleError::FieldCount(words.len())) };
        let (minute, _) = MINUTE.parse(mi)?;
        let (hour, _) = HOUR.parse(h)?;
        let (dom, dom_star) = DOM.parse(dom)?;
        let (month, _) = MONTH.parse(mo)?;
        let (mut dow, dow_star) = DOW.parse(dow)?;
        if dow & (1 << 7) != 0 {
            dow = (dow | 1) & 0x7f;
        }
        Ok(Schedule::Cron(Fields {
            minute,
            hour: hour as u32,
            dom: dom as u32,
            month: month as u16,
            dow: dow as u8,
            dom_star,
            dow_star,
        }))
    }

    /// The first fire time after `t` (seconds since the epoch; strictly later), or `None` for
    /// `@reboot` and for five-field schedules that never match (`0 0 30 2 *`). `@every` returns
    /// `t` plus the period: the caller passes the previous fire time.
    pub fn next_after(&self, t: u64, tz: &TimeZone) -> Option<u64> {
        match self {
            Schedule::Reboot => None,
            Schedule::Every(p) => t.checked_add(*p),
            Schedule::Cron(f) => f.next_after(i64::try_from(t).ok()?, tz).and_then(|n| u64::try_from(n).ok()),
        }
    }
}

/// Parses a Go duration (`1h30m`, `1.5s`, `500ms`), rounded up to whole seconds.
fn parse_duration(s: &str) -> Result<u64, ScheduleError> {
    let err = |problem| ScheduleError::Duration { value: s.to_string(), problem };
    let mut rest = s;
    let mut nanos: u128 = 0;
    if rest.is_empty() {
        return Err(err("missing"));
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(err("missing unit (ns, us, ms, s, m or h)")),
            _ => return Err(err("unknown unit (expected ns, us, ms, s, m or h)")),
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(err("not a number"));
        }
        let int: u128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| err("too large"))? };
        let mut part = int.checked_mul(scale).ok_or_else(|| err("too large"))?;
        let mut div = 1u128;
        for c in frac.bytes().take(18) {
            div *= 10;
            part += (u128::from(c - b'0') * scale).div_ceil(div);
        }
        nanos = nanos.checked_add(part).ok_or_else(|| err("too large"))?;
        rest = tail;
    }
    let secs = nanos.div_ceil(1_000_000_000);
    if secs == 0 {
        return Err(err("must be more than zero"));
    }
    u64::try_from(secs).map_err(|_| err("too large"))
}

impl Fields {
    fn day_matches(&self, days: i64) -> bool {
        let (_, _, d) = civil_from_days(days);
        let dom = self.dom & (1 << d) != 0;
        let dow = self.dow & (1 << weekday(days)) != 0;
        if self.dom_star || self.dow_star { dom && dow } else { dom || dow }
    }

    /// The first local minute at or after `from` (local seconds) that matches, before `limit`.
    fn next_local(&self, from: i64, limit: i64) -> Option<i64> {
        let mut l = from.div_euclid(60) * 60 + if from.rem_euclid(60) == 0 { 0 } else { 60 };
        while l < limit {
            let days = l.div_euclid(86_400);
            let secs = l.rem_euclid(86_400);
            let (y, m, _) = civil_from_days(days);
            if self.month & (1 << m) == 0 {
                l = if m == 12 { days_from_civil(y + 1, 1, 1) } else { days_from_civil(y, m + 1, 1) } * 86_400;
                continue;
            }
            if !self.day_matches(days) {
                l = (days + 1) * 86_400;
                continue;
            }
            let h = secs / 3600;
            if self.hour & (1 << h) == 0 {
                l = days * 86_400 + (h + 1) * 3600;
                continue;
            }
            if self.minute & (1 << ((secs % 3600) / 60)) == 0 {
                l += 60;
                continue;
            }
            return Some(l);
        }
        None
    }

    fn next_after(&self, t: i64, tz: &TimeZone) -> Option<i64> {
        let local_now = t + i64::from(tz.offset_at(t));
        let limit = local_now + HORIZON_DAYS * 86_400;
        let every_hour = self.hour == (1 << 24) - 1;
        let mut from = local_now - MAX_SHIFT;
        let mut best: Option<i64> = None;
        while let Some(l) = self.next_local(from, limit) {
            if best.is_some_and(|b| l > b + i64::from(tz.offset_at(b)) + MAX_SHIFT) {
                break;
            }
            let instants = tz.instants(l);
            let fire = match instants[..] {
                [] => {
                    // In a skipped hour: fire when the clock jumps over it.
                    let (lo, hi) = (l - i64::from(tz.offset_at(l + 86_400)), l - i64::from(tz.offset_at(l - 86_400)));
                    vec![tz.transition_in(lo.min(hi), lo.max(hi))]
                }
                [first, _] if !every_hour => vec![first],
                _ => instants,
            };
            for u in fire.into_iter().filter(|&u| u > t) {
                best = Some(best.map_or(u, |b| b.min(u)));
            }
            from = l + 60;
        }
        best
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Running,
}

#[derive(Debug)]
struct Slot {
    schedule: Schedule,
    next: Option<u64>,
    state: State,
}

/// The scheduler: jobs with their next fire times.
///
/// A job returned by [`Jobs::due`] is running until [`Jobs::finished`]; a fire time that comes
/// while it runs is dropped, not queued, so runs of one job never overlap.
#[derive(Debug)]
pub struct Jobs {
    slots: Vec<Slot>,
    tz: TimeZone,
    last: u64,
}

impl Jobs {
    /// Jobs with `schedules` (indices follow the iterator), starting at `start` (seconds since
    /// the epoch): `@reboot` jobs are due at once, `@every` jobs one period later.
    pub fn new(schedules: impl IntoIterator<Item = Schedule>, start: u64, tz: TimeZone) -> Jobs {
        let slots = schedules
            .into_iter()
            .map(|schedule| {
                let next = match schedule {
                    Schedule::Reboot => Some(start),
                    _ => schedule.next_after(start, &tz),
                };
                Slot { schedule, next, state: State::Idle }
            })
            .collect();
        Jobs { slots, tz, last: start }
    }

    /// The jobs due at `now`, which are now marked running. Fire times of jobs still running
    /// are dropped.
    pub fn due(&mut self, now: u64) -> Vec<usize> {
        if now + 60 < self.last {
            // The clock went back: recompute rather than wait out the gap.
            for s in &mut self.slots {
                if s.schedule != Schedule::Reboot {
                    s.next = s.schedule.next_after(now, &self.tz);
                }
            }
        }
        self.last = now;
        let mut due = Vec::new();
        for (i, s) in self.slots.iter_mut().enumerate() {
            let Some(at) = s.next.filter(|&at| at <= now) else { continue };
            s.next = match s.schedule {
                Schedule::Reboot => None,
                // Keep the period's phase: skip whole periods that passed.
                Schedule::Every(p) => p.checked_mul((now - at) / p + 1).and_then(|d| at.checked_add(d)),
                Schedule::Cron(_) => s.schedule.next_after(now, &self.tz),
            };
            if s.state == State::Idle {
                s.state = State::Running;
                due.push(i);
            }
        }
        due
    }

    /// Marks job `i` as no longer running (its process exited, or could not be started).
    pub fn finished(&mut self, i: usize) {
        if let Some(s) = self.slots.get_mut(i) {
            s.state = State::Idle;
        }
    }

    /// Whether job `i` is running.
    pub fn is_running(&self, i: usize) -> bool {
        self.slots.get(i).is_some_and(|s| s.state == State::Running)
    }

    /// When to call [`Jobs::due`] next (`now` if something is already due), or
    /// `None` if no job will ever fire again.
    pub fn next_wake(&self, now: u64) -> Option<u64> {
        self.slots.iter().filter_map(|s| s.next).min().map(|at| at.max(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds since the epoch of a UTC date and time.
    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> u64 {
        (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60) as u64
    }

    fn next(s: &str, t: u64) -> Option<u64> {
        Schedule::parse(s).unwrap().next_after(t, &TimeZone::utc())
    }

    /// The next `n` fire times after `t`, in UTC.
    fn series(s: &str, t: u64, n: usize) -> Vec<u64> {
        let sched = Schedule::parse(s).unwrap();
        let mut out = Vec::new();
        let mut t = t;
        for _ in 0..n {
            t = sched.next_after(t, &TimeZone::utc()).unwrap();
            out.push(t);
        }
        out
    }

    #[test]
    fn every_fifteen_minutes() {
        assert_eq!(next("*/15 * * * *", at(2026, 11, 27, 1, 40) + 26), Some(at(2026, 11, 27, 1, 45)));
        // Strictly after: a fire time is not its own successor.
        assert_eq!(next("*/15 * * * *", at(2026, 11, 27, 1, 45)), Some(at(2026, 11, 27, 2, 0)));
        assert_eq!(next("* * * * *", at(2026, 11, 27, 1, 45) + 59), Some(at(2026, 11, 27, 1, 46)));
    }

    #[test]
    fn office_hours() {
        // Friday 2026-11-27 after the last run goes to Monday 09:00.
        assert_eq!(next("0 9-17 * * mon-fri", at(2026, 11, 27, 17, 30)), Some(at(2026, 11, 30, 9, 0)));
        assert_eq!(next("0 9-17 * * MON-FRI", at(2026, 11, 27, 9, 0)), Some(at(2026, 11, 27, 10, 0)));
    }

    #[test]
    fn vixie_day_or_rule() {
        // Both day fields restricted: the 1st, the 15th, and every Friday.
        let got = series("0 0 1,15 * 5", at(2026, 11, 28, 0, 0), 5);
        let want = [at(2026, 12, 1, 0, 0), at(2026, 12, 4, 0, 0), at(2026, 12, 11, 0, 0), at(2026, 12, 15, 0, 0)];
        assert_eq!(got[..4], want);
        assert_eq!(got[4], at(2026, 12, 18, 0, 0));
        // A day field starting with `*` counts as unrestricted: odd days AND Mondays.
        assert_eq!(
            series("0 0 */2 * 1", at(2026, 5, 31, 0, 0), 3),
            [at(2026, 6, 1, 0, 0), at(2026, 6, 15, 0, 0), at(2026, 6, 29, 0, 0)]
        );
    }

    #[test]
    fn leap_days_and_rollovers() {
        assert_eq!(next("0 0 29 2 *", at(2026, 1, 1, 0, 0)), Some(at(2028, 2, 29, 0, 0)));
        // 2100 is not a leap year.
        assert_eq!(next("0 0 29 2 *", at(2096, 3, 1, 0, 0)), Some(at(2104, 2, 29, 0, 0)));
        assert_eq!(next("59 23 31 12 *", at(2026, 12, 31, 23, 59)), Some(at(2027, 12, 31, 23, 59)));
        assert_eq!(next("0 0 31 * *", at(2026, 1, 31, 0, 0)), Some(at(2026, 3, 31, 0, 0)));
        assert_eq!(next("0 0 1 * *", at(2026, 12, 15, 0, 0)), Some(at(2027, 1, 1, 0, 0)));
        assert_eq!(next("30 23 * * *", at(2026, 2, 28, 23, 30)), Some(at(2026, 3, 1, 23, 30)));
        // Never: there is no February 30.
        assert_eq!(next("0 0 30 2 *", at(2026, 1, 1, 0, 0)), None);
    }

    #[test]
    fn lists_ranges_steps_and_names() {
        assert_eq!(
            series("5/15 * * * *", at(2026, 1, 1, 0, 0), 5),
            [
                at(2026, 1, 1, 0, 5),
                at(2026, 1, 1, 0, 20),
                at(2026, 1, 1, 0, 35),
                at(2026, 1, 1, 0, 50),
                at(2026, 1, 1, 1, 5)
            ]
        );
        assert_eq!(
            series("1-10/4,30 * * * *", at(2026, 1, 1, 0, 0), 4),
            [at(2026, 1, 1, 0, 1), at(2026, 1, 1, 0, 5), at(2026, 1, 1, 0, 9), at(2026, 1, 1, 0, 30)]
        );
        assert_eq!(next("0 0 1 JUN *", at(2026, 1, 1, 0, 0)), Some(at(2026, 6, 1, 0, 0)));
        assert_eq!(Schedule::parse("0 0 * * 7"), Schedule::parse("0 0 * * 0"));
        assert_eq!(Schedule::parse("0 0 * * sun"), Schedule::parse("0 0 * * 0"));
        assert_eq!(Schedule::parse("0 0 * * fri-7"), Schedule::parse("0 0 * * 0,5,6"));
        assert_eq!(Schedule::parse("0 0 * 1-12 *"), Schedule::parse("0 0 * * *"));
    }

    #[test]
    fn macros() {
        for (m, f) in [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@HOURLY", "0 * * * *"),
        ] {
            assert_eq!(Schedule::parse(m), Schedule::parse(f), "{m}");
        }
        assert_eq!(Schedule::parse("@reboot"), Ok(Schedule::Reboot));
        assert_eq!(Schedule::Reboot.next_after(0, &TimeZone::utc()), None);
        assert_eq!(next("@weekly", at(2026, 11, 27, 0, 0)), Some(at(2026, 11, 29, 0, 0)));
    }

    #[test]
    fn every_durations() {
        for (d, secs) in
            [("10s", 10), ("1m30s", 90), ("2h", 7200), ("1.5h", 5400), ("500ms", 1), ("1001ms", 2), ("2h45m0.5s", 9901)]
        {
            assert_eq!(Schedule::parse(&format!("@every {d}")), Ok(Schedule::Every(secs)), "{d}");
        }
        assert_eq!(Schedule::Every(10).next_after(100, &TimeZone::utc()), Some(110));
        for (d, msg) in [
            ("0s", "@every duration \"0s\": must be more than zero"),
            ("10", "@every duration \"10\": missing unit (ns, us, ms, s, m or h)"),
            ("10d", "@every duration \"10d\": unknown unit (expected ns, us, ms, s, m or h)"),
            ("s", "@every duration \"s\": not a number"),
        ] {
            assert_eq!(Schedule::parse(&format!("@every {d}")).unwrap_err().to_string(), msg);
        }
        assert!(Schedule::parse("@every").is_err());
        assert!(Schedule::parse("@every 1s 2s").is_err());
    }

    #[test]
    fn errors_name_field_and_value() {
        for (s, msg) in [
            ("61 * * * *", "minute field \"61\": out of range 0-59"),
            ("* 24 * * *", "hour field \"24\": out of range 0-23"),
            ("* * 0 * *", "day-of-month field \"0\": out of range 1-31"),
            ("* * * foo *", "month field \"foo\": not a number or name"),
            ("* * * * 8", "day-of-week field \"8\": out of range 0-7"),
            ("*/0 * * * *", "minute field \"*/0\": step must be a number of at least 1"),
            ("5-1 * * * *", "minute field \"5-1\": range start is after its end"),
            ("1,,2 * * * *", "minute field \"\": not a number or name"),
            ("-1 * * * *", "minute field \"-1\": not a number or name"),
            ("1-61 * * * *", "minute field \"61\": out of range 0-59"),
            ("*/x * * * *", "minute field \"*/x\": step must be a number of at least 1"),
            ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week) or an @macro, found 4 fields"),
            ("", "empty schedule"),
        ] {
            assert_eq!(Schedule::parse(s).unwrap_err().to_string(), msg, "{s}");
        }
        assert_eq!(Schedule::parse("@fortnightly"), Err(ScheduleError::UnknownMacro("@fortnightly".into())));
        assert_eq!(Schedule::parse("@daily now"), Err(ScheduleError::FieldCount(2)));
    }

    #[test]
    fn fixed_offset() {
        let s = Schedule::parse("0 0 * * *").unwrap();
        // Midnight at UTC-5 is 05:00 UTC.
        assert_eq!(s.next_after(at(2026, 1, 1, 0, 0), &TimeZone::fixed(-5 * 3600)), Some(at(2026, 1, 1, 5, 0)));
        assert_eq!(s.next_after(at(2026, 1, 1, 0, 0), &TimeZone::fixed(5 * 3600 + 1800)), Some(at(2026, 1, 1, 18, 30)));
    }

    use super::tz::tests::berlin;

    #[test]
    fn local_time_across_dst() {
        let Some(tz) = berlin() else { return };
        let nine = Schedule::parse("0 9 * * *").unwrap();
        assert_eq!(nine.next_after(at(2026, 7, 1, 0, 0), &tz), Some(at(2026, 7, 1, 7, 0)));
        assert_eq!(nine.next_after(at(2026, 12, 1, 0, 0), &tz), Some(at(2026, 12, 1, 8, 0)));
        // Spring forward, 2026-03-29 02:00 -> 03:00 local: 02:30 is skipped, so it fires at the
        // jump (01:00 UTC), then normally the next day.
        let half_two = Schedule::parse("30 2 * * *").unwrap();
        assert_eq!(half_two.next_after(at(2026, 3, 28, 12, 0), &tz), Some(at(2026, 3, 29, 1, 0)));
        assert_eq!(half_two.next_after(at(2026, 3, 29, 1, 0), &tz), Some(at(2026, 3, 30, 0, 30)));
        // Fall back, 2026-10-25 03:00 -> 02:00 local: 02:30 happens twice, the job runs once.
        assert_eq!(half_two.next_after(at(2026, 10, 24, 12, 0), &tz), Some(at(2026, 10, 25, 0, 30)));
        assert_eq!(half_two.next_after(at(2026, 10, 25, 0, 30), &tz), Some(at(2026, 10, 26, 1, 30)));
        // A job that runs every hour keeps running through the repeated hour.
        let halves = Schedule::parse("*/30 * * * *").unwrap();
        let mut t = at(2026, 10, 25, 0, 0);
        let mut got = Vec::new();
        for _ in 0..4 {
            t = halves.next_after(t, &tz).unwrap();
            got.push(t);
        }
        assert_eq!(
            got,
            [at(2026, 10, 25, 0, 30), at(2026, 10, 25, 1, 0), at(2026, 10, 25, 1, 30), at(2026, 10, 25, 2, 0)]
        );
        // And through the skipped one, with no duplicate at the jump.
        let mut t = at(2026, 3, 29, 0, 0);
        let mut got = Vec::new();
        for _ in 0..3 {
            t = halves.next_after(t, &tz).unwrap();
            got.push(t);
        }
        assert_eq!(got, [at(2026, 3, 29, 0, 30), at(2026, 3, 29, 1, 0), at(2026, 3, 29, 1, 30)]);
    }

    /// Whether `f` matches the minute starting at local time `l`, the slow way.
    fn matches(f: &Fields, l: i64) -> bool {
        let days = l.div_euclid(86_400);
        let (_, m, _) = civil_from_days(days);
        let secs = l.rem_euclid(86_400);
        f.month & (1 << m) != 0
            && f.day_matches(days)
            && f.hour & (1 << (secs / 3600)) != 0
            && f.minute & (1 << ((secs % 3600) / 60)) != 0
    }

    #[test]
    fn agrees_with_a_minute_by_minute_scan() {
        let pieces: [&[&str]; 5] = [
            &["*", "0", "*/7", "5/15", "1-10/3,40", "59"],
            &["*", "0", "9-17", "*/5", "23", "3,4"],
            &["*", "1", "31", "1,15", "*/10", "29", "10-12"],
            &["*", "2", "feb", "*/3", "dec", "4-6"],
            &["*", "0", "5", "mon-fri", "*/2", "7", "sat"],
        ];
        let mut seed = 0x2545_f491_u64;
        let mut pick = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n
        };
        for _ in 0..60 {
            let text: Vec<&str> = pieces.iter().map(|p| p[pick(p.len())]).collect();
            let text = text.join(" ");
            let Schedule::Cron(f) = Schedule::parse(&text).unwrap() else { unreachable!() };
            let offset = [0, 3600, -5 * 3600 - 1800][pick(3)];
            let tz = TimeZone::fixed(offset);
            let start = at(2026, 1 + pick(12) as u32, 1 + pick(28) as u32, pick(24) as i64, pick(60) as i64) + 17;
            let window = 400 * 86_400;
            let mut t = start;
            for _ in 0..3 {
                let got = Schedule::Cron(f.clone()).next_after(t, &tz);
                let first = (t / 60 + 1) * 60;
                let want = (first..t + window).step_by(60).find(|&u| matches(&f, u as i64 + i64::from(offset)));
                match want {
                    Some(w) => assert_eq!(got, Some(w), "{text} offset {offset} after {t}"),
                    None => assert!(got.is_none_or(|g| g >= t + window), "{text} after {t}: {got:?}"),
                }
                let Some(g) = got else { break };
                t = g;
            }
        }
    }

    #[test]
    fn jobs_do_not_overlap() {
        let start = at(2026, 1, 1, 0, 0) + 10;
        let mut jobs = Jobs::new([Schedule::parse("* * * * *").unwrap()], start, TimeZone::utc());
        let m1 = at(2026, 1, 1, 0, 1);
        assert_eq!(jobs.next_wake(start), Some(m1));
        assert_eq!(jobs.due(m1 - 1), Vec::<usize>::new());
        assert_eq!(jobs.due(m1), [0]);
        assert!(jobs.is_running(0));
        // Still running at the next minute: that run is dropped, not queued.
        assert_eq!(jobs.next_wake(m1), Some(m1 + 60));
        assert_eq!(jobs.due(m1 + 60), Vec::<usize>::new());
        jobs.finished(0);
        assert_eq!(jobs.due(m1 + 90), Vec::<usize>::new());
        assert_eq!(jobs.due(m1 + 120), [0]);
    }

    #[test]
    fn jobs_reboot_every_and_late_wakeups() {
        let start = 1_000_000;
        let mut jobs = Jobs::new(
            [Schedule::Reboot, Schedule::Every(10), Schedule::parse("0 * * * *").unwrap()],
            start,
            TimeZone::utc(),
        );
        assert_eq!(jobs.next_wake(start), Some(start));
        assert_eq!(jobs.due(start), [0]);
        jobs.finished(0);
        assert_eq!(jobs.next_wake(start), Some(start + 10));
        assert_eq!(jobs.due(start + 10), [1]);
        jobs.finished(1);
        // Woken late: one run, and the period keeps its phase.
        assert_eq!(jobs.due(start + 25), [1]);
        jobs.finished(1);
        assert_eq!(jobs.next_wake(start + 25), Some(start + 30));
        // The hourly job: 1_000_000 is 13:46:40 UTC, so 14:00 is 1_000_800.
        assert_eq!(jobs.due(1_000_800), [1, 2]);
        // A wake-up with something overdue is due now.
        assert_eq!(jobs.next_wake(1_000_900), Some(1_000_900));
        // @reboot never comes back.
        jobs.finished(0);
        assert!(!jobs.due(2_000_000).contains(&0));
    }

    #[test]
    fn jobs_recover_when_the_clock_goes_back() {
        let start = at(2026, 1, 1, 12, 0);
        let mut jobs = Jobs::new([Schedule::parse("0 * * * *").unwrap()], start, TimeZone::utc());
        assert_eq!(jobs.due(at(2026, 1, 1, 13, 0)), [0]);
        jobs.finished(0);
        // The clock is set back a day: the next run is an hour away, not a day.
        assert_eq!(jobs.due(at(2025, 12, 31, 13, 30)), Vec::<usize>::new());
        assert_eq!(jobs.next_wake(at(2025, 12, 31, 13, 30)), Some(at(2025, 12, 31, 14, 0)));
    }
}
