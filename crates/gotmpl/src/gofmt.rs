//! Go's `fmt` printing (`Sprint`, `Sprintln`, `Sprintf`) over JSON values typed as
//! described in [`crate::value`]. Quoting and float digits come from [`crate::strconv`].
//!
//! This is a port of the parts of `fmt/print.go` and `fmt/format.go` a template can
//! reach: flags `#0+- `, width, precision, `*`, explicit argument indexes `[n]`, and the
//! verbs `v T t d b o O x X c q U e E f F g G s %`. Error forms match Go
//! (`%!d(string=x)`, `%!v(MISSING)`, `%!(EXTRA ...)`, `%!(NOVERB)`).
//! Not ported: `%x`/`%X`/`%b` on floats and `#` on floats (they print as bad verbs /
//! ignore the flag), and `%p`.

use serde_json::Value as Json;

use crate::strconv::{can_backquote, format_float, is_print, push_escaped, quote_with};
use crate::value::{sorted_entries, type_name};

pub(crate) use crate::strconv::quote;

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

#[derive(Debug, Default)]
struct Printer {
    buf: String,
    f: Flags,
}

impl Printer {
    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus { '0' } else { ' ' };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    fn pad(&mut self, s: &str) {
        let Some(wid) = self.f.wid.filter(|&w| w > 0) else {
            self.buf.push_str(s);
            return;
        };
        let n = wid.saturating_sub(s.chars().count());
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(n);
        } else {
            self.write_padding(n);
            self.buf.push_str(s);
        }
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        match self.f.prec.and_then(|p| s.char_indices().nth(p)) {
            Some((i, _)) => &s[..i],
            None => s,
        }
    }

    fn print_arg(&mut self, arg: Option<&Json>, verb: char) {
        match arg.filter(|j| !j.is_null()) {
            None if verb == 'T' || verb == 'v' => self.pad("<nil>"),
            None => self.bad_verb(None, verb),
            Some(j) if verb == 'T' => {
                let t = self.truncate(type_name(j)).to_string();
                self.pad(&t);
            }
            Some(j) => self.print_value(j, verb),
        }
    }

    fn bad_verb(&mut self, arg: Option<&Json>, verb: char) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match arg {
            Some(j) => {
                self.buf.push_str(type_name(j));
                self.buf.push('=');
                self.print_arg(Some(j), 'v');
            }
            None => self.buf.push_str("<nil>"),
        }
        self.buf.push(')');
    }

    fn print_nested(&mut self, j: &Json, verb: char) {
        if j.is_null() {
            self.buf.push_str(if self.f.sharp_v { "interface {}(nil)" } else { "<nil>" });
        } else {
            self.print_value(j, verb);
        }
    }

    fn print_value(&mut self, j: &Json, verb: char) {
        match j {
            Json::Null => self.print_nested(j, verb),
            Json::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(Some(j), verb),
            },
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    self.fmt_integer(j, i.unsigned_abs(), i < 0, verb);
                } else if let Some(u) = n.as_u64() {
                    self.fmt_integer(j, u, false, verb);
                } else {
                    self.fmt_float(j, n.as_f64().unwrap_or(0.0), verb);
                }
            }
            Json::String(s) => self.fmt_string(j, s, verb),
            Json::Array(items) => {
                self.buf.push_str(if self.f.sharp_v { "[]interface {}{" } else { "[" });
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    self.print_nested(item, verb);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Json::Object(m) => {
                self.buf.push_str(if self.f.sharp_v { "map[string]interface {}{" } else { "map[" });
                for (i, (k, v)) in sorted_entries(m).into_iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    self.fmt_string(&Json::String(k.clone()), k, verb);
                    self.buf.push(':');
                    self.print_nested(v, verb);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
        }
    }

    fn fmt_string(&mut self, j: &Json, s: &str, verb: char) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => {
                let t = self.truncate(s).to_string();
                self.pad(&t);
            }
            'x' | 'X' => self.fmt_sx(s, verb == 'X'),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(Some(j), verb),
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        let q = if self.f.sharp && can_backquote(s) { format!("`{s}`") } else { quote_with(s, '"', self.f.plus) };
        self.pad(&q);
    }

    fn fmt_sx(&mut self, s: &str, upper: bool) {
        let bytes = s.as_bytes();
        let len = self.f.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
        let x = if upper { "X" } else { "x" };
        let mut enc = String::new();
        if len == 0 {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        for (i, b) in bytes[..len].iter().enumerate() {
            if i == 0 || self.f.space {
                if i > 0 {
                    enc.push(' ');
                }
                if self.f.sharp {
                    enc.push('0');
                    enc.push_str(x);
                }
            }
            if upper {
                enc.push_str(&format!("{b:02X}"));
            } else {
                enc.push_str(&format!("{b:02x}"));
            }
        }
        self.pad(&enc);
    }

    fn fmt_integer(&mut self, j: &Json, abs: u64, negative: bool, verb: char) {
        let (base, upper) = match verb {
            'v' | 'd' => (10, false),
            'b' => (2, false),
            'o' | 'O' => (8, false),
            'x' => (16, false),
            'X' => (16, true),
            'c' | 'q' | 'U' => {
                let r = if negative { None } else { u32::try_from(abs).ok() };
                return self.fmt_rune(r, abs, verb);
            }
            _ => return self.bad_verb(Some(j), verb),
        };
        let mut prec = 0;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && abs == 0 {
                let zero = std::mem::replace(&mut self.f.zero, false);
                self.write_padding(self.f.wid.unwrap_or(0));
                self.f.zero = zero;
                return;
            }
        } else if let (true, false, Some(w)) = (self.f.zero, self.f.minus, self.f.wid) {
            prec = w;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut digits = match base {
            2 => format!("{abs:b}"),
            8 => format!("{abs:o}"),
            16 if upper => format!("{abs:X}"),
            16 => format!("{abs:x}"),
            _ => abs.to_string(),
        };
        if digits.len() < prec {
            digits = format!("{}{digits}", "0".repeat(prec - digits.len()));
        }
        let mut s = String::new();
        if negative {
            s.push('-');
        } else if self.f.plus {
            s.push('+');
        } else if self.f.space {
            s.push(' ');
        }
        if self.f.sharp {
            match base {
                2 => s.push_str("0b"),
                8 if !digits.starts_with('0') => s.push('0'),
                16 => s.push_str(if upper { "0X" } else { "0x" }),
                _ => {}
            }
        }
        if verb == 'O' {
            s.push_str("0o");
        }
        s.push_str(&digits);
        let zero = std::mem::replace(&mut self.f.zero, false);
        self.pad(&s);
        self.f.zero = zero;
    }

    fn fmt_rune(&mut self, r: Option<u32>, raw: u64, verb: char) {
        let c = r.and_then(char::from_u32).unwrap_or('\u{FFFD}');
        match verb {
            'c' => self.pad(&c.to_string()),
            'q' => {
                let mut q = String::from("'");
                push_escaped(&mut q, c, '\'', self.f.plus);
                q.push('\'');
                self.pad(&q);
            }
            _ => {
                let prec = self.f.prec.unwrap_or(4).max(4);
                let mut s = format!("U+{raw:0prec$X}");
                if self.f.sharp && r.is_some_and(|r| r <= 0x10FFFF) && is_print(c) {
                    s.push_str(&format!(" '{c}'"));
                }
                let zero = std::mem::replace(&mut self.f.zero, false);
                self.pad(&s);
                self.f.zero = zero;
            }
        }
    }

    fn fmt_float(&mut self, j: &Json, v: f64, verb: char) {
        let (fmt, default_prec) = match verb {
            'v' | 'g' => ('g', None),
            'G' => ('G', None),
            'e' | 'E' | 'f' | 'F' => (verb, Some(6)),
            _ => return self.bad_verb(Some(j), verb),
        };
        let num = format_float(v, fmt, self.f.prec.or(default_prec));
        let (mut sign, body) = match num.strip_prefix('-') {
            Some(rest) => ('-', rest.to_string()),
            None => ('+', num),
        };
        if self.f.space && sign == '+' && !self.f.plus {
            sign = ' ';
        }
        if self.f.plus || sign != '+' {
            let len = body.chars().count() + 1;
            // Zero padding goes between the sign and the digits.
            if let (true, false, Some(w)) = (self.f.zero, self.f.minus, self.f.wid)
                && w > len
            {
                self.buf.push(sign);
                self.write_padding(w - len);
                self.buf.push_str(&body);
                return;
            }
            self.pad(&format!("{sign}{body}"));
            return;
        }
        self.pad(&body);
    }
}

/// Go's `fmt.Sprint`: operands separated by a space when neither side is a string.
pub(crate) fn sprint(args: &[Option<&Json>]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Some(Json::String(_)));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(*arg, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// Go's `fmt.Sprintln`: operands always separated by a space, then a newline.
pub(crate) fn sprintln(args: &[Option<&Json>]) -> String {
    let mut p = Printer::default();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(*arg, 'v');
    }
    p.buf.push('\n');
    p.buf
}

fn too_large(n: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&n)
}

/// Parses decimal digits at `start`; returns the number (if any) and the new index.
fn parse_num(b: &[u8], start: usize) -> (Option<usize>, usize) {
    let mut i = start;
    let mut num: i64 = 0;
    let mut any = false;
    while i < b.len() && b[i].is_ascii_digit() {
        if too_large(num) {
            return (None, b.len());
        }
        num = num * 10 + i64::from(b[i] - b'0');
        any = true;
        i += 1;
    }
    (any.then(|| usize::try_from(num).unwrap_or(0)), i)
}

/// Go's `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Option<&Json>]) -> String {
    let b = format.as_bytes();
    let end = b.len();
    let mut p = Printer::default();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0;
    // Parses an explicit argument index `[n]` at `i`: (new arg_num, new i, found, good).
    let arg_number = |arg_num: usize, i: usize, reordered: &mut bool| -> (usize, usize, bool, bool) {
        if i >= end || b[i] != b'[' {
            return (arg_num, i, false, true);
        }
        *reordered = true;
        match b[i..].iter().position(|&c| c == b']') {
            Some(close) if close >= 2 => {
                let (n, ni) = parse_num(&b[i..i + close], 1);
                match n {
                    Some(n) if ni == close && n >= 1 && n <= args.len() => (n - 1, i + close + 1, true, true),
                    Some(_) if ni == close => (arg_num, i + close + 1, true, false),
                    _ => (arg_num, i + close + 1, false, false),
                }
            }
            Some(close) => (arg_num, i + close + 1, false, false),
            None => (arg_num, i + 1, false, false),
        }
    };
    let int_arg = |arg_num: usize| -> (Option<i64>, usize) {
        match args.get(arg_num) {
            Some(a) => {
                let n = a.and_then(Json::as_i64).filter(|n| !too_large(*n));
                (n, arg_num + 1)
            }
            None => (None, arg_num),
        }
    };
    while i < end {
        let mut good = true;
        let last = i;
        while i < end && b[i] != b'%' {
            i += 1;
        }
        p.buf.push_str(&format[last..i]);
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            match b[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => break,
            }
            i += 1;
        }
        let (an, ni, mut after_index, g) = arg_number(arg_num, i, &mut reordered);
        (arg_num, i, good) = (an, ni, good && g);
        if i < end && b[i] == b'*' {
            i += 1;
            let (w, an) = int_arg(arg_num);
            arg_num = an;
            match w {
                Some(w) if w < 0 => {
                    p.f.wid = usize::try_from(-w).ok();
                    p.f.minus = true;
                    p.f.zero = false;
                }
                Some(w) => p.f.wid = usize::try_from(w).ok(),
                None => p.buf.push_str("%!(BADWIDTH)"),
            }
            after_index = false;
        } else {
            let (w, ni) = parse_num(b, i);
            p.f.wid = w;
            i = ni;
            if after_index && w.is_some() {
                good = false;
            }
        }
        if i + 1 < end && b[i] == b'.' {
            i += 1;
            if after_index {
                good = false;
            }
            let (an, ni, ai, g) = arg_number(arg_num, i, &mut reordered);
            (arg_num, i, after_index, good) = (an, ni, ai, good && g);
            if i < end && b[i] == b'*' {
                i += 1;
                let (pr, an) = int_arg(arg_num);
                arg_num = an;
                match pr {
                    Some(pr) if pr < 0 => p.f.prec = None,
                    Some(pr) => p.f.prec = usize::try_from(pr).ok(),
                    None => p.buf.push_str("%!(BADPREC)"),
                }
                after_index = false;
            } else {
                let (pr, ni) = parse_num(b, i);
                p.f.prec = Some(pr.unwrap_or(0));
                i = ni;
            }
        }
        if !after_index {
            let (an, ni, _, g) = arg_number(arg_num, i, &mut reordered);
            (arg_num, i, good) = (an, ni, good && g);
        }
        let Some(verb) = format.get(i..).and_then(|s| s.chars().next()) else {
            p.buf.push_str("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            p.buf.push('%');
        } else if !good {
            p.buf.push_str(&format!("%!{verb}(BADINDEX)"));
        } else if arg_num >= args.len() {
            p.buf.push_str(&format!("%!{verb}(MISSING)"));
        } else {
            if verb == 'v' {
                p.f.sharp_v = p.f.sharp;
                p.f.sharp = false;
                p.f.plus = false;
            }
            p.print_arg(args[arg_num], verb);
            arg_num += 1;
        }
    }
    if !reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.buf.push_str("%!(EXTRA ");
        for (i, arg) in args[arg_num..].iter().enumerate() {
            if i > 0 {
                p.buf.push_str(", ");
            }
            match arg.filter(|j| !j.is_null()) {
                None => p.buf.push_str("<nil>"),
                Some(j) => {
                    p.buf.push_str(type_name(j));
                    p.buf.push('=');
                    p.print_arg(Some(j), 'v');
                }
            }
        }
        p.buf.push(')');
    }
    p.buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn printf(format: &str, args: &[Json]) -> String {
        let args: Vec<Option<&Json>> = args.iter().map(Some).collect();
        sprintf(format, &args)
    }

    // Expected strings come from Go 1.24 (docker 28's template engine).
    #[test]
    fn printf_flags_and_verbs() {
        let got = printf(
            "%05s|%-05s|%05q|%05v|%5t|%x|% x|%#x|%X|%.1x|%08.3f|%+d|% d|%+.2e|%g|%G|%.3g|%.3g|%10.4v|%c|%q|%U|%#U|%o|%#o|%O|%b|%5.1s|",
            &[
                json!("ab"),
                json!("ab"),
                json!("ab"),
                json!(true),
                json!(false),
                json!("hi"),
                json!("hi"),
                json!("hi"),
                json!("hi"),
                json!("hi"),
                json!(3.14169),
                json!(5),
                json!(5),
                json!(12345.678),
                json!(0.00001),
                json!(1e21),
                json!(1.0),
                json!(1234.0),
                json!(3.14169),
                json!(65),
                json!(65),
                json!(65),
                json!(65),
                json!(8),
                json!(8),
                json!(8),
                json!(5),
                json!("héllo"),
            ],
        );
        assert_eq!(
            got,
            "000ab|ab   |0\"ab\"|0true|false|6869|68 69|0x6869|6869|68|0003.142|+5| 5|+1.23e+04|1e-05|1E+21|1|1.23e+03|     3.142|A|'A'|U+0041|U+0041 'A'|10|010|0o10|101|    h|"
        );
    }

    #[test]
    fn printf_argument_errors() {
        assert_eq!(printf("%d %d", &[json!(1)]), "1 %!d(MISSING)");
        let extra = sprintf("%d", &[Some(&json!(1)), Some(&json!(2)), Some(&json!("x")), None]);
        assert_eq!(extra, "1%!(EXTRA int=2, string=x, <nil>)");
        assert_eq!(printf("%", &[]), "%!(NOVERB)");
        assert_eq!(printf("%!", &[]), "%!!(MISSING)");
        assert_eq!(printf("%[2]d %[1]d", &[json!(1), json!(2)]), "2 1");
        assert_eq!(printf("%[3]d", &[json!(1)]), "%!d(BADINDEX)");
        let stars = printf("%*d|%-*d|%.*f", &[json!(5), json!(1), json!(5), json!(1), json!(2), json!(3.14169)]);
        assert_eq!(stars, "    1|1    |3.14");
        assert_eq!(sprintf("%s", &[None]), "%!s(<nil>)");
        assert_eq!(printf("%d|%t|%z", &[json!(true), json!(1), json!(1)]), "%!d(bool=true)|%!t(int=1)|%!z(int=1)");
        assert_eq!(printf("%05d", &[json!(1.5)]), "%!d(float64=001.5)");
    }

    #[test]
    fn printf_composites() {
        assert_eq!(printf("%+q|%#q|%#q", &[json!("é"), json!("a\"b"), json!("a`b")]), "\"\\u00e9\"|`a\"b`|\"a`b\"");
        let a = json!(["a", "b", "c"]);
        let m = json!({"z": 1, "a": "x", "m": [1, "y", null]});
        assert_eq!(
            printf("%v|%d|%s", &[a.clone(), json!([1, 2]), m.clone()]),
            "[a b c]|[1 2]|map[a:x m:[%!s(int=1) y <nil>] z:%!s(int=1)]"
        );
        assert_eq!(
            printf("%#v|%#v|%#v", &[a.clone(), m, json!(1.5)]),
            "[]interface {}{\"a\", \"b\", \"c\"}|map[string]interface {}{\"a\":\"x\", \"m\":[]interface {}{1, \"y\", interface {}(nil)}, \"z\":1}|1.5"
        );
        assert_eq!(
            printf("%5v|%-4v|%q", &[a.clone(), json!([1, 2, 3]), a]),
            "[    a     b     c]|[1    2    3   ]|[\"a\" \"b\" \"c\"]"
        );
        assert_eq!(
            printf("%T %T %T %T %T %T", &[json!(1), json!(1.5), json!("s"), json!(true), json!([]), json!({})]),
            "int float64 string bool []interface {} map[string]interface {}"
        );
        let floats = printf(
            "%6.2f|%-8.3e|%08.2f|%+08.2f|%-08.2f",
            &[json!(-3.14169), json!(1234.5), json!(-3.14169), json!(3.14169), json!(3.14169)],
        );
        assert_eq!(floats, " -3.14|1.234e+03|-0003.14|+0003.14|3.14    ");
    }

    #[test]
    fn sprint_spacing() {
        let args = [
            None,
            Some(json!(null)),
            Some(json!(1)),
            Some(json!(2)),
            Some(json!("a")),
            Some(json!("b")),
            Some(json!(3)),
        ];
        let refs: Vec<Option<&Json>> = args.iter().map(Option::as_ref).collect();
        assert_eq!(sprint(&refs), "<nil> <nil> 1 2ab3");
        assert_eq!(sprintln(&refs), "<nil> <nil> 1 2 a b 3\n");
    }
}
