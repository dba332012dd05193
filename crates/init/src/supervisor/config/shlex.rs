//! The two Python `shlex` modes supervisord uses: `shlex.split` (POSIX) for `command`, and a
//! non-POSIX `shlex.shlex` tokenizer for `environment = KEY="val",KEY2=val2`.

use std::collections::BTreeMap;
use std::fmt;

/// Why a command could not be split into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// A `'` or `"` is never closed.
    NoClosingQuotation,
    /// The command ends with a lone `\`.
    NoEscapedCharacter,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SplitError::NoClosingQuotation => "no closing quotation",
            SplitError::NoEscapedCharacter => "no escaped character after a trailing backslash",
        })
    }
}

impl std::error::Error for SplitError {}

/// Splits `s` into words like Python's `shlex.split(s)`: whitespace separates words, `'...'` is
/// literal, `"..."` keeps everything but `\"` and `\\`, and a backslash outside quotes escapes the
/// next character. `''` makes an empty word.
pub fn split_command(s: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                word.push(chars.next().ok_or(SplitError::NoEscapedCharacter)?);
                in_word = true;
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next().ok_or(SplitError::NoClosingQuotation)? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next().ok_or(SplitError::NoClosingQuotation)? {
                        '"' => break,
                        '\\' => match chars.next().ok_or(SplitError::NoEscapedCharacter)? {
                            e @ ('"' | '\\') => word.push(e),
                            e => {
                                word.push('\\');
                                word.push(e);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn is_wordchar(c: char) -> bool {
    c.is_alphanumeric() || "_/.+-():".contains(c)
}

/// Tokens of Python's non-POSIX `shlex.shlex` with supervisord's extra word characters
/// `/.+-():`: words, quoted strings (quotes included), and single other characters. `#` starts a
/// comment to the end of the line.
fn tokens(s: &str) -> Result<Vec<String>, SplitError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '#' {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
        } else if c == '"' || c == '\'' {
            let mut t = String::from(c);
            loop {
                let n = chars.next().ok_or(SplitError::NoClosingQuotation)?;
                t.push(n);
                if n == c {
                    break;
                }
            }
            out.push(t);
        } else if is_wordchar(c) {
            // In non-POSIX mode quotes inside a word are just more word characters.
            let mut t = String::from(c);
            while let Some(&n) = chars.peek() {
                if is_wordchar(n) || n == '"' || n == '\'' {
                    t.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(t);
        } else {
            out.push(c.to_string());
        }
    }
    Ok(out)
}

/// Parses supervisord's `KEY=val,KEY2="val, with comma"` (its `dict_of_key_value_pairs`): tokens
/// come in `key = value ,` groups and quotes are stripped from both ends of the value. `None`
/// when the tokens don't form such groups or a group is not followed by a comma.
pub(super) fn key_value_pairs(s: &str) -> Option<BTreeMap<String, String>> {
    let tokens = tokens(s).ok()?;
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < tokens.len() {
        let group = tokens.get(i..i + 3)?;
        // supervisord skips the token after a value whatever it is, so `A=$HOME` silently
        // becomes `A=$`; we insist on a comma there instead.
        if group[1] != "=" || tokens.get(i + 3).is_some_and(|t| t != ",") {
            return None;
        }
        out.insert(group[0].clone(), group[2].trim_matches(['\'', '"']).to_string());
        i += 4;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_command(s).unwrap()
    }

    #[test]
    fn split_plain_words() {
        assert_eq!(split("  /usr/sbin/nginx -g 'daemon off;'  "), ["/usr/sbin/nginx", "-g", "daemon off;"]);
        assert_eq!(split("a\tb\nc"), ["a", "b", "c"]);
        assert!(split("").is_empty());
    }

    #[test]
    fn split_quotes_and_escapes() {
        assert_eq!(split(r#"sh -c "echo \"hi\" \$HOME \\ \n""#), ["sh", "-c", r#"echo "hi" \$HOME \ \n"#]);
        assert_eq!(split(r"a\ b c\'d"), ["a b", "c'd"]);
        assert_eq!(split(r#"'' "" x'y'"z""#), ["", "", "xyz"]);
        assert_eq!(split(r#"'a\b'"#), [r"a\b"]);
    }

    #[test]
    fn split_errors() {
        assert_eq!(split_command("echo 'x"), Err(SplitError::NoClosingQuotation));
        assert_eq!(split_command("echo \"x\\\""), Err(SplitError::NoClosingQuotation));
        assert_eq!(split_command("echo x\\"), Err(SplitError::NoEscapedCharacter));
        assert_eq!(split_command("echo \"x\\"), Err(SplitError::NoEscapedCharacter));
    }

    #[test]
    fn key_values_like_supervisord() {
        let kv = key_value_pairs("A=1,B=\"x, y\",C='z',URL=http://h:80/p").unwrap();
        assert_eq!(kv["A"], "1");
        assert_eq!(kv["B"], "x, y");
        assert_eq!(kv["C"], "z");
        assert_eq!(kv["URL"], "http://h:80/p");
        assert_eq!(key_value_pairs("").unwrap().len(), 0);
        assert_eq!(key_value_pairs("A=1,\n B=2").unwrap().len(), 2);
    }

    #[test]
    fn key_values_rejected_like_supervisord() {
        assert_eq!(key_value_pairs("A=1 B=2"), None);
        assert_eq!(key_value_pairs("A=$HOME"), None);
        assert_eq!(key_value_pairs("A"), None);
        assert_eq!(key_value_pairs("A=\"x"), None);
    }
}
