//! Crontabs (`init::cron::crontab`), schedules (`init::cron::Schedule`) and time zones
//! (`init::cron::TimeZone`: POSIX `TZ` rules and TZif files, both read from the image).
//!
//! The input is parsed as a crontab with and without a user field, and each of its lines as a
//! `--cron` flag; a `TZ=` line sets the zone (a POSIX rule), and the input as bytes is also read
//! as a TZif file.
//!
//! Properties: a job's next fire time after `now` is later than `now` (`@every`: exactly one
//! period later), and in UTC and in a real zone's rule (Europe/Berlin's) it is the first one:
//! asking again from one second before it gives it again;
//! the scheduler's next wake-up is after `now`; no panic, no hang, no unbounded allocation.

use init::cron::crontab::{parse_crontab, parse_flag};
use init::cron::{Jobs, Schedule, TimeZone};

/// Instants to ask from: 2023-11-14, just before a European DST change (2024-03-31 01:00 UTC),
/// the epoch, and far ahead.
const NOWS: [u64; 4] = [1_700_000_000, 1_711_846_799, 0, 4_102_444_800];

/// Checks `s` in `tz`; `first`: also that each fire time is the first after `now`. That holds
/// for real zones (the scheduler assumes clock changes of at most 3 h, at least a day apart), not
/// for any zone a fuzzed `TZ` rule or TZif file makes: there only "later than now" is checked.
fn check(s: &Schedule, tz: &TimeZone, first: bool) {
    for now in NOWS {
        let Some(next) = s.next_after(now, tz) else { continue };
        assert!(next > now, "{s:?}: next fire time {next} is not after {now}");
        match s {
            Schedule::Every(p) => assert_eq!(next, now + p),
            _ if first => {
                assert_eq!(s.next_after(next - 1, tz), Some(next), "{s:?}: {next} is not the first after {now}")
            }
            _ => {}
        }
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let fuzzed = text.lines().find_map(|l| l.strip_prefix("TZ=")).and_then(TimeZone::from_posix);
    let berlin = TimeZone::from_posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("a valid rule");
    let zones = [(TimeZone::utc(), true), (berlin, true)].into_iter().chain(fuzzed.clone().map(|z| (z, false)));
    let zones: Vec<(TimeZone, bool)> = zones.collect();
    let mut schedules = Vec::new();
    for user in [true, false] {
        let tab = parse_crontab(&text, user);
        for j in tab.jobs.iter().take(32) {
            for (tz, first) in &zones {
                check(&j.schedule, tz, *first);
            }
            schedules.push(j.schedule.clone());
        }
        for e in &tab.errors {
            let _ = e.to_string();
        }
    }
    for line in text.lines().take(32) {
        if let Ok(j) = parse_flag(line) {
            check(&j.schedule, &zones[0].0, true);
        }
        let _ = Schedule::parse(line);
    }
    let mut jobs = Jobs::new(schedules, NOWS[0], fuzzed.unwrap_or_else(TimeZone::utc));
    if let Some(wake) = jobs.next_wake(NOWS[0]) {
        assert!(wake >= NOWS[0], "next wake-up {wake} is before {}", NOWS[0]);
        let _ = jobs.due(wake);
    }
    if let Ok(z) = TimeZone::from_tzif(data) {
        for t in [0i64, 1_700_000_000, -1_000_000_000, i64::from(i32::MAX) + 1] {
            let _ = z.offset_at(t);
        }
        if let Ok(s) = Schedule::parse("30 2 * * *") {
            check(&s, &z, false);
        }
    }
}
