//! The INI dialect supervisord reads: Python 3's `RawConfigParser` as supervisord configures it
//! (`inline_comment_prefixes=(";", "#")`, `strict=False`).
//!
//! - Whole-line comments start with `;` or `#` after optional indentation.
//! - Inline comments start at a `;` or `#` preceded by whitespace (so `a;b` and `a#b` are values).
//! - `key = value` or `key: value`, split at the first `=` or `:`; keys are lowercased, section
//!   names are kept as written.
//! - A line indented deeper than its key line continues the value (joined with `\n`); blank lines
//!   inside a value are kept, trailing ones dropped.
//! - Sections and keys may repeat, also across files: the later key wins (`strict=False`).

/// One value with where it came from, for `%(here)s` and error messages.
#[derive(Debug, Clone)]
pub(super) struct Value {
    pub text: String,
    pub file: String,
    pub line: usize,
}

/// One section: its keys in first-seen order.
#[derive(Debug, Clone)]
pub(super) struct Section {
    pub name: String,
    /// The first file that opened this section (supervisord's `section_to_file`).
    pub file: String,
    pub line: usize,
    pub keys: Vec<(String, Value)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// A syntax error: the line number and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub line: usize,
    pub message: &'static str,
}

/// Sections of every file read so far, in first-seen order.
#[derive(Debug, Default)]
pub(super) struct Ini {
    pub sections: Vec<Section>,
}

fn strip_comment(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed.starts_with(';') || trimmed.starts_with('#') {
        return "";
    }
    let mut prev_space = false;
    for (i, c) in line.char_indices() {
        if (c == ';' || c == '#') && prev_space {
            return &line[..i];
        }
        prev_space = c.is_whitespace();
    }
    line
}

impl Ini {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Reads `text` (from `file`, a path inside the container) into the sections.
    pub fn read(&mut self, text: &str, file: &str) -> Result<(), SyntaxError> {
        // (section index, key index, indent of the key line) of the value being continued.
        let mut cur: Option<usize> = None;
        let mut opt: Option<(usize, usize)> = None;
        // Lines of the current value, joined when it ends.
        let mut pending: Vec<String> = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let lineno = n + 1;
            let is_comment = {
                let t = raw.trim_start();
                t.starts_with(';') || t.starts_with('#')
            };
            let value = strip_comment(raw).trim();
            if value.is_empty() {
                if !is_comment && opt.is_some() {
                    pending.push(String::new());
                }
                continue;
            }
            let indent = raw.len() - raw.trim_start().len();
            if let Some((_, key_indent)) = opt
                && indent > key_indent
            {
                pending.push(value.to_string());
                continue;
            }
            self.finish(cur, opt, &mut pending);
            opt = None;
            if let Some(rest) = value.strip_prefix('[')
                && let Some(end) = rest.rfind(']')
                && end > 0
            {
                let name = &rest[..end];
                let idx = match self.sections.iter().position(|s| s.name == name) {
                    Some(i) => i,
                    None => {
                        self.sections.push(Section {
                            name: name.to_string(),
                            file: file.to_string(),
                            line: lineno,
                            keys: Vec::new(),
                        });
                        self.sections.len() - 1
                    }
                };
                cur = Some(idx);
                continue;
            }
            let Some(si) = cur else {
                return Err(SyntaxError { line: lineno, message: "line before the first [section] header" });
            };
            let Some(at) = value.find(['=', ':']) else {
                return Err(SyntaxError { line: lineno, message: "expected \"key = value\"" });
            };
            let key = value[..at].trim().to_lowercase();
            if key.is_empty() {
                return Err(SyntaxError { line: lineno, message: "empty key" });
            }
            let text = value[at + 1..].trim().to_string();
            let v = Value { text: String::new(), file: file.to_string(), line: lineno };
            let keys = &mut self.sections[si].keys;
            let ki = match keys.iter().position(|(k, _)| *k == key) {
                Some(i) => {
                    keys[i].1 = v;
                    i
                }
                None => {
                    keys.push((key, v));
                    keys.len() - 1
                }
            };
            pending.push(text);
            opt = Some((ki, indent));
        }
        self.finish(cur, opt, &mut pending);
        Ok(())
    }

    fn finish(&mut self, cur: Option<usize>, opt: Option<(usize, usize)>, pending: &mut Vec<String>) {
        if let (Some(si), Some((ki, _))) = (cur, opt) {
            let joined = pending.join("\n");
            self.sections[si].keys[ki].1.text = joined.trim_end().to_string();
        }
        pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Ini {
        let mut ini = Ini::default();
        ini.read(text, "/etc/supervisord.conf").unwrap();
        ini
    }

    fn get<'a>(ini: &'a Ini, s: &str, k: &str) -> &'a str {
        &ini.section(s).unwrap().get(k).unwrap().text
    }

    #[test]
    fn comments_and_delimiters() {
        let ini = read(
            "; comment\n# comment\n[program:a]\nCommand = /bin/a ; inline\nuser: www ;x\n\
             path=a;b#c\n  ; indented comment\nhash = x # y\n",
        );
        assert_eq!(get(&ini, "program:a", "command"), "/bin/a");
        assert_eq!(get(&ini, "program:a", "user"), "www");
        assert_eq!(get(&ini, "program:a", "path"), "a;b#c");
        assert_eq!(get(&ini, "program:a", "hash"), "x");
    }

    #[test]
    fn first_delimiter_wins() {
        let ini = read("[s]\nurl = http://x:80/\nk: a=b\n");
        assert_eq!(get(&ini, "s", "url"), "http://x:80/");
        assert_eq!(get(&ini, "s", "k"), "a=b");
    }

    #[test]
    fn continuation_lines() {
        let ini = read("[s]\nenv = A=1,\n  B=2\n\n   C=3\n\nnext = x\n  [not a header]\n");
        assert_eq!(get(&ini, "s", "env"), "A=1,\nB=2\n\nC=3");
        assert_eq!(get(&ini, "s", "next"), "x\n[not a header]");
    }

    #[test]
    fn indented_key_after_header_is_a_key() {
        let ini = read("[s]\n  a = 1\n  b = 2\n");
        assert_eq!(get(&ini, "s", "a"), "1");
        assert_eq!(get(&ini, "s", "b"), "2");
    }

    #[test]
    fn sections_merge_and_later_keys_win() {
        let mut ini = read("[Program:A]\nx = 1\n[s]\nx = 1\ny = 1\n");
        ini.read("[s]\ny = 2\n", "/etc/b.conf").unwrap();
        assert_eq!(get(&ini, "s", "x"), "1");
        assert_eq!(get(&ini, "s", "y"), "2");
        assert_eq!(ini.section("s").unwrap().file, "/etc/supervisord.conf");
        assert!(ini.section("program:a").is_none(), "section names are case-sensitive");
    }

    #[test]
    fn syntax_errors() {
        let mut ini = Ini::default();
        assert_eq!(ini.read("x = 1\n", "f").unwrap_err().line, 1);
        assert_eq!(
            ini.read("[s]\n\njunk\n", "f").unwrap_err(),
            SyntaxError { line: 3, message: "expected \"key = value\"" }
        );
        assert_eq!(ini.read("[s]\n= 1\n", "f").unwrap_err().message, "empty key");
    }
}
