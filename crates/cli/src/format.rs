//! Output helpers shared by the commands, reproducing the docker CLI's formatting byte for byte.
//!
//! - Units: [`human_size`] / [`human_size_prec`] (go-units `HumanSize`, decimal `kB`/`MB`),
//!   [`bytes_size`] (`BytesSize`, binary `KiB`/`GiB`), [`ago`] (go-units `HumanDuration`, from
//!   `api_types::units`, shared with the daemon's `Status` strings) for the
//!   CREATED columns. Numbers go through [`go_g`], Go's `%.*g`, so `1e+03kB` comes out as docker
//!   prints it.
//! - Columns: [`truncate_id`], [`ellipsis`] (with East Asian widths), [`go_quote`] (Go's
//!   `strconv.Quote` for `ps`'s COMMAND), [`go_time`] / [`rfc3339_local`] for CREATED AT.
//! - [`render_list`]: `--format` for list commands (`table ...`, `json`, raw templates) through
//!   `gotmpl`, aligned by docker's tabwriter.
//! - [`query`]: query strings and `--filter` flags; [`inspect`]: `inspect` output (JSON indent,
//!   templates); [`output`]: atomic output files, response bodies, prompts.

pub mod inspect;
pub mod output;
pub mod query;

use anyhow::anyhow;
use api_types::units::human_duration;
use gotmpl::Template;
use serde_json::Value;

const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// Go's `fmt.Sprintf("%.*g", prec, x)`: `prec` significant digits, trailing zeros dropped,
/// exponent form (`1e+03`) when the exponent is below -4 or at least `prec`.
pub fn go_g(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let prec = prec.max(1);
    // Rust's `{:e}` rounds exactly (half to even on the binary value), as Go's strconv does.
    let sci = format!("{:.*e}", prec - 1, x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let mut digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let sign = if neg { "-" } else { "" };
    let prec_i = i64::try_from(prec).unwrap_or(i64::MAX);
    if exp < -4 || exp >= prec_i {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.unsigned_abs());
    }
    // Fixed notation: the decimal point goes after `exp + 1` digits.
    let dp = exp + 1;
    let n = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let body = if dp <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-dp).unwrap_or(0)))
    } else if dp >= n {
        format!("{digits}{}", "0".repeat(usize::try_from(dp - n).unwrap_or(0)))
    } else {
        let at = usize::try_from(dp).unwrap_or(0);
        format!("{}.{}", &digits[..at], &digits[at..])
    };
    format!("{sign}{body}")
}

fn size_and_unit(mut size: f64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// go-units `HumanSizeWithPrecision`: decimal units, `prec` significant digits (`4.26MB`).
pub fn human_size_prec(size: f64, prec: usize) -> String {
    let (s, unit) = size_and_unit(size, 1000.0, &DECIMAL_UNITS);
    format!("{}{unit}", go_g(s, prec))
}

/// go-units `HumanSize`: four significant digits (`Total reclaimed space: 1.234MB`).
pub fn human_size(size: f64) -> String {
    human_size_prec(size, 4)
}

/// go-units `BytesSize`: binary units, four significant digits (`23.46GiB`).
pub fn bytes_size(size: f64) -> String {
    let (s, unit) = size_and_unit(size, 1024.0, &BINARY_UNITS);
    format!("{}{unit}", go_g(s, 4))
}

/// Converts an integer byte count for the size helpers (exact below 2^53, as in Go).
#[allow(clippy::cast_precision_loss)]
pub fn as_f64(n: i64) -> f64 {
    n as f64
}

/// Seconds since the Unix epoch, with sub-second precision.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// `HumanDuration(now - created) + " ago"`, docker's CREATED column.
pub fn ago(created_unix: i64, now: f64) -> String {
    format!("{} ago", human_duration(now - as_f64(created_unix)))
}

/// docker's `TruncateID`: drops an algorithm prefix (`sha256:`) and keeps 12 characters.
pub fn truncate_id(id: &str) -> &str {
    let id = id.split_once(':').map_or(id, |(_, rest)| rest);
    match id.char_indices().nth(12) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

/// Terminal width of a character as docker's `charWidth` measures it: 2 for East Asian wide
/// and fullwidth characters, 1 otherwise.
fn char_width(c: char) -> usize {
    let u = u32::from(c);
    let wide = matches!(u,
        0x1100..=0x115F | 0x231A..=0x231B | 0x2329..=0x232A | 0x23E9..=0x23EC | 0x23F0 | 0x23F3
        | 0x25FD..=0x25FE | 0x2614..=0x2615 | 0x2648..=0x2653 | 0x267F | 0x2693 | 0x26A1
        | 0x26AA..=0x26AB | 0x26BD..=0x26BE | 0x26C4..=0x26C5 | 0x26CE | 0x26D4 | 0x26EA
        | 0x26F2..=0x26F3 | 0x26F5 | 0x26FA | 0x26FD | 0x2705 | 0x270A..=0x270B | 0x2728 | 0x274C
        | 0x274E | 0x2753..=0x2755 | 0x2757 | 0x2795..=0x2797 | 0x27B0 | 0x27BF | 0x2B1B..=0x2B1C
        | 0x2B50 | 0x2B55 | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xA960..=0xA97F | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE10..=0xFE19
        | 0xFE30..=0xFE6F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x16FE0..=0x18AFF | 0x1B000..=0x1B2FF
        | 0x1F004 | 0x1F0CF | 0x1F18E | 0x1F191..=0x1F19A | 0x1F200..=0x1F251 | 0x1F300..=0x1F64F
        | 0x1F680..=0x1F6FF | 0x1F7E0..=0x1F7EB | 0x1F90C..=0x1F9FF | 0x1FA70..=0x1FAFF
        | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// docker's `formatter.Ellipsis`: cuts `s` to `max` terminal columns, the last one an `…`.
pub fn ellipsis(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let chars: Vec<char> = s.chars().collect();
    if max == 1 {
        return chars.first().map(char::to_string).unwrap_or_default();
    }
    if s.len() == chars.len() {
        if s.len() <= max {
            return s.to_owned();
        }
        return chars[..max - 1].iter().collect::<String>() + "…";
    }
    let mut display = Vec::with_capacity(chars.len());
    let mut width = 0;
    for c in &chars {
        width += char_width(*c);
        display.push(width);
    }
    if width <= max {
        return s.to_owned();
    }
    for i in 0..display.len().saturating_sub(1) {
        if display[i] < max && display[i + 1] >= max {
            return chars[..=i].iter().collect::<String>() + "…";
        }
    }
    s.to_owned()
}

/// Whether Go's `strconv.IsPrint` would print `c` as is.
fn go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    // Format characters (Unicode category Cf) and private use / noncharacters are escaped.
    !matches!(u32::from(c),
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xFDD0..=0xFDEF
        | 0xFFFE..=0xFFFF | 0xE0001..=0xE007F | 0xF0000..=0x10FFFF)
}

/// Go's `strconv.Quote`: double quotes, `\"` and `\\`, C escapes, and `\x`/`\u`/`\U` for
/// characters that are not printable.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_printable(c) => out.push(c),
            c if u32::from(c) < 0x80 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if u32::from(c) <= 0xFFFF => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

fn local(unix: i64) -> Option<chrono::DateTime<chrono::Local>> {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.with_timezone(&chrono::Local))
}

/// Go's `time.Unix(unix, 0).String()` in local time: `2024-05-01 10:00:00 +0000 UTC`.
///
/// Go prints the zone's abbreviation from the tz database; we print `UTC` for a zero offset
/// and the numeric offset otherwise.
pub fn go_time(unix: i64) -> String {
    let Some(t) = local(unix) else {
        return String::new();
    };
    let offset = t.offset().local_minus_utc();
    let zone = if offset == 0 { "UTC".to_owned() } else { t.format("%z").to_string() };
    format!("{} {zone}", t.format("%Y-%m-%d %H:%M:%S %z"))
}

/// Go's `time.Unix(unix, 0).Format(time.RFC3339)` in local time (`Z` for UTC).
pub fn rfc3339_local(unix: i64) -> String {
    local(unix).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()
}

/// Go's `net.JoinHostPort`: `[::1]:80` for IPv6 hosts, `host:80` otherwise.
pub fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// The natural order docker sorts names and port lines in (`fvbommel/sortorder.NaturalLess`):
/// runs of digits compare as numbers (`net2` < `net10`, fewer leading zeros first), everything
/// else bytewise, and digits before other bytes.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da != db {
            return if da { Ordering::Less } else { Ordering::Greater };
        }
        if !da {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        let skip = |s: &[u8], mut k: usize, digit: fn(&u8) -> bool| {
            while k < s.len() && digit(&s[k]) {
                k += 1;
            }
            k
        };
        let (za, zb) = (skip(a, i, |c| *c == b'0'), skip(b, j, |c| *c == b'0'));
        let (ea, eb) = (skip(a, za, u8::is_ascii_digit), skip(b, zb, u8::is_ascii_digit));
        let by_number = (ea - za).cmp(&(eb - zb)).then_with(|| a[za..ea].cmp(&b[zb..eb]));
        if by_number != Ordering::Equal {
            return by_number;
        }
        if za != zb {
            return za.cmp(&zb);
        }
        (i, j) = (ea, eb);
    }
    (a.len() - i).cmp(&(b.len() - j))
}

/// Renders a listing the way docker's `formatter.Context.Write` does: `format` is the final
/// docker format (`table {{.ID}}\t...`, `json`, or a raw template), `header` maps field names
/// to column titles, and each row is the object the template sees.
pub fn render_list(format: &str, header: &Value, rows: &[Value]) -> anyhow::Result<String> {
    // `json` and a bare `{{json .}}` marshal the row object itself (see [`go_marshal`]).
    let compact: String = format.chars().filter(|c| !c.is_whitespace()).collect();
    if format == "json" || compact == "{{json.}}" {
        return Ok(rows.iter().map(|r| go_marshal(r) + "\n").collect());
    }
    let t = Template::parse(format).map_err(|e| anyhow!("template parsing error: {e}"))?;
    t.render_rows(header, rows).map_err(|e| anyhow!("template parsing error: {e}"))
}

/// Go's `json.Marshal` of a row: docker's formatter contexts marshal themselves with it, so
/// `--format json` escapes `<`, `>` and `&` (`\u003e`) where a template's `json` does not.
pub fn go_marshal(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    // These characters only ever occur inside strings, so plain replacement is safe.
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Writes `s` to stdout, ignoring a closed pipe (`berth ps | head`).
pub fn print(s: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn go_g_matches_go() {
        let cases: &[(f64, usize, &str)] = &[
            (0.0, 3, "0"),
            (4.26, 3, "4.26"),
            (4.2649, 3, "4.26"),
            (4.265001, 3, "4.27"),
            (1.0, 3, "1"),
            (100.0, 3, "100"),
            (999.0, 3, "999"),
            (999.9, 3, "1e+03"),
            (1000.0, 3, "1e+03"),
            (1234.0, 4, "1234"),
            (12345.0, 4, "1.234e+04"),
            (0.5, 3, "0.5"),
            (0.0001234, 3, "0.000123"),
            (0.00001234, 3, "1.23e-05"),
            (-2.5, 3, "-2.5"),
            (23.4567, 4, "23.46"),
            (2.0, 4, "2"),
            (10.0, 4, "10"),
        ];
        for (x, p, want) in cases {
            assert_eq!(go_g(*x, *p), *want, "%.{p}g of {x}");
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size_prec(0.0, 3), "0B");
        assert_eq!(human_size_prec(4_264_960.0, 3), "4.26MB");
        assert_eq!(human_size_prec(2560.0, 3), "2.56kB");
        assert_eq!(human_size_prec(999.0, 3), "999B");
        assert_eq!(human_size_prec(999_500.0, 3), "1e+03kB");
        assert_eq!(human_size_prec(1_000_000.0, 3), "1MB");
        assert_eq!(human_size(1_234_567.0), "1.235MB");
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(bytes_size(25_190_000_000.0), "23.46GiB");
        assert_eq!(bytes_size(1024.0), "1KiB");
        assert_eq!(bytes_size(512.0), "512B");
    }

    #[test]
    fn ago_uses_go_units() {
        assert_eq!(ago(100, 160.5), "About a minute ago");
    }

    #[test]
    fn ids() {
        let id = "sha256:4c01db0b339cdbd6f0d2c7d4b0b3bb8b4e7f3e7a5c1a9d57b7c0f1f6e44f5d4a";
        assert_eq!(truncate_id(id), "4c01db0b339c");
        assert_eq!(truncate_id("4c01db0b339cdbd6f0"), "4c01db0b339c");
        assert_eq!(truncate_id("<missing>"), "<missing>");
        assert_eq!(truncate_id(""), "");
    }

    #[test]
    fn ellipsis_like_docker() {
        assert_eq!(ellipsis("sh -c 'sleep 1000; echo done'", 20), "sh -c 'sleep 1000; …");
        assert_eq!(ellipsis("short", 20), "short");
        assert_eq!(ellipsis("12345678901234567890", 20), "12345678901234567890");
        assert_eq!(ellipsis("abc", 1), "a");
        assert_eq!(ellipsis("abc", 0), "");
        assert_eq!(ellipsis("你好你好你好", 5), "你好…");
        assert_eq!(ellipsis("你好", 4), "你好");
        assert_eq!(ellipsis("é1234", 3), "é1…");
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("sh -c 'sleep 1…"), "\"sh -c 'sleep 1…\"");
        assert_eq!(go_quote("a\"b\\c\td\n"), "\"a\\\"b\\\\c\\td\\n\"");
        assert_eq!(go_quote("\u{1}\u{7f}"), "\"\\x01\\x7f\"");
        assert_eq!(go_quote("\u{a0}\u{feff}"), "\"\\u00a0\\ufeff\"");
        assert_eq!(go_quote(""), "\"\"");
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["net10", "net2", "Net", "net02", "a", "80/tcp -> :1", "443/tcp -> :1", "net", "1"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["1", "80/tcp -> :1", "443/tcp -> :1", "Net", "a", "net", "net2", "net02", "net10"]);
        assert_eq!(join_host_port("::", "80"), "[::]:80");
        assert_eq!(join_host_port("0.0.0.0", "80"), "0.0.0.0:80");
    }

    #[test]
    fn tables_match_docker_headers() {
        let header = json!({"ID": "CONTAINER ID", "Image": "IMAGE", "Names": "NAMES"});
        let rows = vec![json!({"ID": "4c01db0b339c", "Image": "busybox", "Names": "web"})];
        let out = render_list("table {{.ID}}\t{{.Image}}\t{{.Names}}", &header, &rows).unwrap();
        assert_eq!(out, "CONTAINER ID   IMAGE     NAMES\n4c01db0b339c   busybox   web\n");
        let out = render_list("{{.Names}}", &header, &rows).unwrap();
        assert_eq!(out, "web\n");
        let out = render_list("json", &header, &rows).unwrap();
        assert_eq!(out, "{\"ID\":\"4c01db0b339c\",\"Image\":\"busybox\",\"Names\":\"web\"}\n");
        let rows = vec![json!({"Command": "\"a > b && c\u{2028}\"", "Platform": null})];
        let out = render_list("json", &header, &rows).unwrap();
        assert_eq!(out, "{\"Command\":\"\\\"a \\u003e b \\u0026\\u0026 c\\u2028\\\"\",\"Platform\":null}\n");
        let err = render_list("{{.Foo", &header, &rows).unwrap_err();
        assert!(err.to_string().starts_with("template parsing error: template: :1:"), "{err}");
    }
}
