//! docker's time arguments (`--since`, `--until`): dates, Unix times and Go durations.

use anyhow::{anyhow, bail};

/// Turns docker's `--since`/`--until` forms (RFC 3339 dates, Unix timestamps, Go durations like
/// `10m`, `1h30m`) into the `seconds.nanoseconds` the API takes.
pub fn timestamp_arg(s: &str, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<String> {
    if s.is_empty() {
        return Ok(String::new());
    }
    if let Ok(d) = parse_go_duration(s) {
        let t = now - d;
        return Ok(format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos()));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Ok(s.to_owned());
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos()));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt)
            .or_else(|_| chrono::NaiveDate::parse_from_str(s, fmt).map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default()))
        {
            let t = t.and_utc();
            return Ok(format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos()));
        }
    }
    bail!("invalid value for time: {s:?}")
}

/// Parses Go durations: `300ms`, `1.5h`, `2h45m`, `10s`.
pub fn parse_go_duration(s: &str) -> anyhow::Result<chrono::Duration> {
    let mut total_ns: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_end == 0 {
            bail!("invalid duration {s:?}");
        }
        let num: f64 = rest[..num_end].parse().map_err(|_| anyhow!("invalid duration {s:?}"))?;
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => bail!("invalid duration {s:?}"),
        };
        total_ns += num * mult;
        rest = &rest[unit_end..];
    }
    Ok(chrono::Duration::nanoseconds(total_ns as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_go_duration("1h30m").unwrap(), chrono::Duration::minutes(90));
        assert_eq!(parse_go_duration("250ms").unwrap(), chrono::Duration::milliseconds(250));
        assert!(parse_go_duration("5x").is_err());
        let now = chrono::DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert_eq!(timestamp_arg("10s", now).unwrap(), "999990.000000000");
        assert_eq!(timestamp_arg("1700000000", now).unwrap(), "1700000000");
        assert_eq!(timestamp_arg("2023-11-14T22:13:20Z", now).unwrap(), "1700000000.000000000");
    }
}
