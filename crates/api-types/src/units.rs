//! go-units formatting that Docker's wire strings and its CLI share: the `Status` of a
//! container list entry ("Up 3 hours") is made by dockerd with it, `docker images` and
//! `docker ps` make their CREATED columns with it. The one piece of logic in this crate, kept
//! here so the daemon and the CLI print the same words.

/// go-units `HumanDuration` of a duration in seconds: "Less than a second", "About a minute",
/// "3 hours", "2 weeks".
#[allow(clippy::cast_possible_truncation)]
pub fn human_duration(secs: f64) -> String {
    // Go truncates `d.Seconds()` and `d.Minutes()` toward zero and rounds hours.
    let seconds = secs as i64;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = (secs / 60.0) as i64;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (secs / 3600.0 + 0.5) as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", (secs / 3600.0) as i64 / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(-3.0), "Less than a second");
        assert_eq!(human_duration(0.9), "Less than a second");
        assert_eq!(human_duration(1.5), "1 second");
        assert_eq!(human_duration(59.9), "59 seconds");
        assert_eq!(human_duration(60.0), "About a minute");
        assert_eq!(human_duration(119.0), "About a minute");
        assert_eq!(human_duration(120.0), "2 minutes");
        assert_eq!(human_duration(3599.0), "59 minutes");
        assert_eq!(human_duration(3600.0), "About an hour");
        assert_eq!(human_duration(5400.0), "2 hours");
        assert_eq!(human_duration(47.0 * 3600.0), "47 hours");
        assert_eq!(human_duration(48.0 * 3600.0), "2 days");
        assert_eq!(human_duration(14.0 * 86400.0), "2 weeks");
        assert_eq!(human_duration(60.0 * 86400.0), "2 months");
        assert_eq!(human_duration(730.0 * 86400.0), "2 years");
    }
}
