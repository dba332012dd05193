//! Python's `s % mapping`, which supervisord applies to option values: `%(name)s`, `%(name)d`
//! with flags (`-`, `0`, `+`, space), width and precision, and `%%` for a literal `%`.

use std::collections::BTreeMap;

/// A value a name expands to: `process_num` and `numprocs` are numbers, the rest strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Arg {
    Str(String),
    Int(i64),
}

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FormatError {
    /// `%(name)...` with a name not in the mapping.
    UnknownName(String),
    /// Anything else Python would reject: a stray `%`, a bad conversion, `%d` of a string.
    Bad(String),
}

fn bad(s: &str) -> FormatError {
    FormatError::Bad(s.to_string())
}

/// Longest expansion of one value, and so the largest width or precision: Python would build a
/// string of any size (`%(program_name)999999999s` is a gigabyte of blanks); a value of a
/// configuration has no use for more than this.
pub(super) const MAX_EXPANSION: usize = 1 << 20;

/// Expands `s` with `args`.
pub(super) fn format(s: &str, args: &BTreeMap<String, Arg>) -> Result<String, FormatError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => {
                out.push('%');
                continue;
            }
            Some('(') => {}
            Some(_) | None => return Err(bad("a \"%\" must be \"%%\" or start \"%(name)s\"")),
        }
        // Python allows nested parentheses in the name.
        let mut name = String::new();
        let mut depth = 1;
        loop {
            let n = chars.next().ok_or_else(|| bad("unclosed \"%(\""))?;
            match n {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            name.push(n);
        }
        // Python looks the name up before it reads the rest of the spec.
        let arg = args.get(&name).ok_or_else(|| FormatError::UnknownName(name.clone()))?;
        let mut flags = String::new();
        while let Some(&f) = chars.peek()
            && "-0+ #".contains(f)
        {
            flags.push(f);
            chars.next();
        }
        let width = digits(&mut chars);
        let precision = if chars.peek() == Some(&'.') {
            chars.next();
            Some(digits(&mut chars).unwrap_or(0))
        } else {
            None
        };
        if width.max(precision).is_some_and(|n| n > MAX_EXPANSION) {
            return Err(FormatError::Bad(format!("a width or precision over {MAX_EXPANSION}")));
        }
        while chars.peek().is_some_and(|c| "hlL".contains(*c)) {
            chars.next();
        }
        let conv = chars.next().ok_or_else(|| bad("incomplete format"))?;
        let body = match (conv, arg) {
            ('s' | 'r' | 'a', Arg::Str(v)) => match precision {
                Some(p) => v.chars().take(p).collect(),
                None => v.clone(),
            },
            ('s' | 'r' | 'a', Arg::Int(v)) => v.to_string(),
            ('d' | 'i' | 'u', Arg::Int(v)) => int(*v, 10, &flags, precision),
            ('x', Arg::Int(v)) => int(*v, 16, &flags, precision),
            ('o', Arg::Int(v)) => int(*v, 8, &flags, precision),
            ('d' | 'i' | 'u' | 'x' | 'o', Arg::Str(_)) => {
                return Err(FormatError::Bad(format!("%{conv} needs a number but \"{name}\" is a string")));
            }
            _ => return Err(FormatError::Bad(format!("unsupported format character {conv:?}"))),
        };
        let width = width.unwrap_or(0);
        let len = body.chars().count();
        if len >= width {
            out.push_str(&body);
        } else if flags.contains('-') {
            out.push_str(&body);
            out.extend(std::iter::repeat_n(' ', width - len));
        } else if flags.contains('0') && matches!(arg, Arg::Int(_)) && conv != 's' {
            let (sign, digits) = match body.chars().next() {
                Some(c @ ('-' | '+' | ' ')) => (Some(c), &body[1..]),
                _ => (None, &body[..]),
            };
            out.extend(sign);
            out.extend(std::iter::repeat_n('0', width - len));
            out.push_str(digits);
        } else {
            out.extend(std::iter::repeat_n(' ', width - len));
            out.push_str(&body);
        }
        if out.len() > MAX_EXPANSION {
            return Err(FormatError::Bad(format!("the value expands to more than {MAX_EXPANSION} bytes")));
        }
    }
    Ok(out)
}

fn digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    n
}

fn int(v: i64, radix: u32, flags: &str, precision: Option<usize>) -> String {
    let mut digits = match radix {
        16 => format!("{:x}", v.unsigned_abs()),
        8 => format!("{:o}", v.unsigned_abs()),
        _ => v.unsigned_abs().to_string(),
    };
    if let Some(p) = precision
        && digits.len() < p
    {
        digits = "0".repeat(p - digits.len()) + &digits;
    }
    let sign = if v < 0 {
        "-"
    } else if flags.contains('+') {
        "+"
    } else if flags.contains(' ') {
        " "
    } else {
        ""
    };
    format!("{sign}{digits}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> BTreeMap<String, Arg> {
        BTreeMap::from([
            ("program_name".to_string(), Arg::Str("web".into())),
            ("process_num".to_string(), Arg::Int(3)),
            ("neg".to_string(), Arg::Int(-7)),
        ])
    }

    fn f(s: &str) -> Result<String, FormatError> {
        format(s, &args())
    }

    #[test]
    fn names_and_percent() {
        assert_eq!(f("%(program_name)s_%(process_num)s 100%%").unwrap(), "web_3 100%");
        assert_eq!(f("no format").unwrap(), "no format");
    }

    #[test]
    fn python_widths_and_flags() {
        assert_eq!(f("%(process_num)02d").unwrap(), "03");
        assert_eq!(f("%(process_num)3d|%(process_num)-3d|").unwrap(), "  3|3  |");
        assert_eq!(f("%(process_num)+d %(neg)05d %(neg)d").unwrap(), "+3 -0007 -7");
        assert_eq!(f("%(process_num).3d %(program_name).2s %(program_name)5s").unwrap(), "003 we   web");
        assert_eq!(f("%(process_num)x %(process_num)o %(process_num)ld").unwrap(), "3 3 3");
    }

    #[test]
    fn errors() {
        assert_eq!(f("%(nope)s"), Err(FormatError::UnknownName("nope".into())));
        assert_eq!(f("%(nope)q"), Err(FormatError::UnknownName("nope".into())));
        assert!(matches!(f("date +%s"), Err(FormatError::Bad(_))));
        assert!(matches!(f("50%"), Err(FormatError::Bad(_))));
        assert!(matches!(f("%(program_name"), Err(FormatError::Bad(_))));
        assert!(matches!(f("%(program_name)d"), Err(FormatError::Bad(_))));
        assert!(matches!(f("%(program_name)q"), Err(FormatError::Bad(_))));
        assert!(matches!(f("%(program_name)"), Err(FormatError::Bad(_))));
    }

    #[test]
    fn huge_widths_are_refused_not_allocated() {
        // Each of these asked for gigabytes of blanks or zeros.
        for s in ["%(program_name)999999999999s", "%(process_num).99999999999d", "%(process_num)-4000000000d"] {
            assert!(matches!(f(s), Err(FormatError::Bad(_))), "{s}");
        }
        assert_eq!(f(&format!("%(program_name){MAX_EXPANSION}s")).unwrap().len(), MAX_EXPANSION);
        let many = "%(program_name)60000s".repeat(20);
        assert!(matches!(f(&many), Err(FormatError::Bad(_))));
    }
}
