//! Go's `strconv` quoting (`Quote`, `QuoteRune`, `CanBackquote`) and float formatting
//! (`FormatFloat`), shared by the `fmt` port, the lexer's messages and `json`.

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    quote_with(s, '"', false)
}

pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        u32::from(c),
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
            | 0x2060..=0x206F | 0xD800..=0xDFFF | 0xE000..=0xF8FF | 0xFEFF | 0xFFF9..=0xFFFB
            | 0xFFFE..=0xFFFF | 0xF0000..=0x10FFFF
    )
}

pub(crate) fn push_escaped(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if ascii_only {
        if c.is_ascii() && is_print(c) {
            out.push(c);
            return;
        }
    } else if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if c < ' ' || c == '\x7f' => out.push_str(&format!("\\x{:02x}", u32::from(c))),
        c if u32::from(c) < 0x10000 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
        c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
    }
}

pub(crate) fn quote_with(s: &str, quote: char, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        push_escaped(&mut out, c, quote, ascii_only);
    }
    out.push(quote);
    out
}

pub(crate) fn can_backquote(s: &str) -> bool {
    s.chars().all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
}

/// Decimal digits (no trailing zeros) and decimal point position of `v`, rounded to
/// `sig` significant digits, or the shortest representation that round-trips.
fn decimal(v: f64, sig: Option<usize>) -> (Vec<u8>, i64) {
    let s = match sig {
        None => format!("{:e}", v.abs()),
        Some(n) => format!("{:.*e}", n.max(1) - 1, v.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return (digits, 0);
    }
    (digits, exp.parse::<i64>().unwrap_or(0) + 1)
}

fn fmt_e(out: &mut String, d: &[u8], dp: i64, prec: i64, e: char) {
    out.push(char::from(d.first().copied().unwrap_or(b'0')));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let c = usize::try_from(i).ok().and_then(|i| d.get(i)).copied();
            out.push(char::from(c.unwrap_or(b'0')));
        }
    }
    out.push(e);
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
}

fn fmt_f(out: &mut String, d: &[u8], dp: i64, prec: i64) {
    if dp > 0 {
        for i in 0..dp {
            let c = usize::try_from(i).ok().and_then(|i| d.get(i)).copied();
            out.push(char::from(c.unwrap_or(b'0')));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = dp + i - 1;
            let c = usize::try_from(j).ok().and_then(|j| d.get(j)).copied();
            out.push(char::from(c.unwrap_or(b'0')));
        }
    }
}

/// Go's `strconv.FormatFloat(v, fmt, prec, 64)` for `fmt` in `e E f g G`; `None` is
/// precision -1 (shortest).
pub(crate) fn format_float(v: f64, fmt: char, prec: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    let wide = |p: usize| i64::try_from(p).unwrap_or(i64::MAX);
    match fmt {
        'f' | 'F' => match prec {
            Some(p) => out.push_str(&format!("{:.*}", p, v.abs())),
            None => {
                let (d, dp) = decimal(v, None);
                fmt_f(&mut out, &d, dp, (wide(d.len()) - dp).max(0));
            }
        },
        'e' | 'E' => {
            let (d, dp) = decimal(v, prec.map(|p| p + 1));
            let p = prec.map_or(wide(d.len()) - 1, wide);
            fmt_e(&mut out, &d, dp, p, fmt);
        }
        _ => {
            let (d, dp) = decimal(v, prec.map(|p| p.max(1)));
            let nd = wide(d.len());
            let mut p = prec.map_or(nd, |p| wide(p.max(1)));
            let mut eprec = p;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if prec.is_none() {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                p = p.min(nd);
                let e = if fmt == 'G' { 'E' } else { 'e' };
                fmt_e(&mut out, &d, dp, p - 1, e);
            } else {
                if p > dp {
                    p = nd;
                }
                fmt_f(&mut out, &d, dp, (p - dp).max(0));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        let v = |f: f64| format_float(f, 'g', None);
        assert_eq!(v(42.0), "42");
        assert_eq!(v(1.5), "1.5");
        assert_eq!(v(1234567.0), "1.234567e+06");
        assert_eq!(v(123456.0), "123456");
        assert_eq!(v(0.0001), "0.0001");
        assert_eq!(v(0.00001), "1e-05");
        assert_eq!(v(1e21), "1e+21");
        assert_eq!(v(0.0), "0");
        assert_eq!(v(-2.5), "-2.5");
        assert_eq!(format_float(1e21, 'f', None), "1000000000000000000000");
        assert_eq!(format_float(1.5e-7, 'e', None), "1.5e-07");
        assert_eq!(format_float(0.1, 'f', None), "0.1");
        assert_eq!(format_float(1234.0, 'g', Some(3)), "1.23e+03");
        assert_eq!(format_float(1.0, 'g', Some(3)), "1");
        assert_eq!(format_float(12345.678, 'e', Some(2)), "1.23e+04");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\tb\"c\\\u{1}é\u{a0}"), "\"a\\tb\\\"c\\\\\\x01é\\u00a0\"");
    }
}
