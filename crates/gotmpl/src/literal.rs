//! Go literal syntax: integer and float literals and quoted strings and characters, as
//! `strconv.ParseInt`, `ParseFloat`, `Unquote` and `UnquoteChar` accept them.

/// Parses a Go integer literal (`strconv.ParseInt(s, 0, 64)` syntax, widened).
pub(crate) fn parse_go_int(text: &str) -> Option<i128> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    if digits.contains('_') && !prefixed && !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() || clean.starts_with('+') || clean.starts_with('-') {
        return None;
    }
    let v = i128::from_str_radix(&clean, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// Parses a decimal Go float literal. Hexadecimal floats are not supported.
pub(crate) fn parse_go_float(text: &str) -> Option<f64> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let body = clean.trim_start_matches(['+', '-']);
    if body.is_empty() || !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    clean.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Decodes one character of a Go quoted literal, returning it and the rest of the input
/// (Go's `strconv.UnquoteChar`). Bytes from `\x` and octal escapes become chars 0..=255.
pub(crate) fn unquote_char(s: &str, quote: char) -> Option<(char, &str)> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if c == quote && (quote == '\'' || quote == '"') {
        return None;
    }
    if c != '\\' {
        return Some((c, chars.as_str()));
    }
    let e = chars.next()?;
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        '\'' | '"' if e == quote => Some(e),
        _ => None,
    };
    if let Some(c) = simple {
        return Some((c, rest));
    }
    let (len, radix) = match e {
        'x' => (2, 16),
        'u' => (4, 16),
        'U' => (8, 16),
        '0'..='7' => (2, 8),
        _ => return None,
    };
    let digits = if radix == 8 {
        let d = rest.get(..len)?;
        format!("{e}{d}")
    } else {
        rest.get(..len)?.to_string()
    };
    let v = u32::from_str_radix(&digits, radix).ok()?;
    if radix == 8 && v > 255 {
        return None;
    }
    Some((char::from_u32(v)?, &rest[len..]))
}

/// Go's `strconv.Unquote` for `"..."` and `` `...` `` literals. `\x` and octal escapes
/// name bytes; sequences that are not valid UTF-8 come out as U+FFFD.
pub(crate) fn unquote(quoted: &str) -> Option<String> {
    if let Some(raw) = quoted.strip_prefix('`') {
        let body = raw.strip_suffix('`')?;
        if body.contains('`') {
            return None;
        }
        return Some(body.replace('\r', ""));
    }
    let mut s = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut bytes = Vec::with_capacity(s.len());
    while !s.is_empty() {
        let b = s.as_bytes();
        let byte_escape = b.len() > 1 && b[0] == b'\\' && (b[1] == b'x' || (b'0'..=b'7').contains(&b[1]));
        let (c, rest) = unquote_char(s, '"')?;
        if byte_escape {
            bytes.push(u8::try_from(u32::from(c)).ok()?);
        } else {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        s = rest;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_go_strings() {
        assert_eq!(unquote(r#""a\tb\"c\x41\101\u00e9""#).as_deref(), Some("a\tb\"cAAé"));
        assert_eq!(unquote("`a\\n\r`").as_deref(), Some("a\\n"));
        assert_eq!(unquote(r#""\'""#), None);
        assert_eq!(unquote(r#""\xff""#).as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn integers() {
        assert_eq!(parse_go_int("0x1F"), Some(31));
        assert_eq!(parse_go_int("-0o17"), Some(-15));
        assert_eq!(parse_go_int("0755"), Some(493));
        assert_eq!(parse_go_int("08"), None);
        assert_eq!(parse_go_int("1_000"), Some(1000));
        assert_eq!(parse_go_float("1."), Some(1.0));
        assert_eq!(parse_go_float(".5"), Some(0.5));
        assert_eq!(parse_go_float("inf"), None);
    }
}
