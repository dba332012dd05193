//! Go `text/template`, as `docker ... --format` users write it, over JSON data.
//!
//! berth's CLI accepts the same `--format` templates as docker. This crate parses and
//! renders them with Go's semantics and error messages, against a [`serde_json::Value`]
//! standing in for the Go structs docker formats:
//!
//! - [`Template`] parses a format ([`Template::parse`] with docker's `table`/`json`
//!   conventions, [`Template::parse_plain`] for raw Go templates such as
//!   `inspect --format`) and renders it ([`Template::render`], and for listings
//!   [`Template::render_header`] / [`Template::render_rows`]).
//! - [`TabWriter`] aligns table output exactly like docker's tabwriter.
//! - [`TemplateError`] carries Go's messages, e.g. `template: :1:2: executing "" at
//!   <.Foo>: can't evaluate field Foo in type string`.
//!
//! ```
//! use gotmpl::Template;
//! use serde_json::json;
//!
//! let t = Template::parse("{{.Name}}: {{if eq .State \"running\"}}up{{else}}down{{end}}").unwrap();
//! let out = t.render(&json!({"Name": "web", "State": "running"})).unwrap();
//! assert_eq!(out, "web: up");
//! ```
//!
//! # Language
//!
//! All of Go 1.24's template language: text and actions with `{{-`/`-}}` trimming,
//! comments, fields and chains (`.A.B`, `$x.A`, `(pipe).A`), variables (`:=`, `=`,
//! `$`), pipelines, parentheses, string/raw-string/char/number/bool/nil literals,
//! `if`/`else if`/`with`/`else with`/`range` (arrays, objects, integers, with `else`,
//! `break`, `continue`), `define`/`template`/`block`; the builtins `and or not len index
//! slice print printf println html js urlquery eq ne lt le gt ge`; and docker's
//! `json split join title lower upper pad truncate`.
//!
//! Not supported: complex and hexadecimal-float literals (parse error); `call` (JSON
//! holds no functions, so it always fails, as Go does on non-functions); the `printf`
//! verbs `%x %X %b` on floats and `%p`, and the `#` flag on floats. Nesting is capped
//! (100 levels of parentheses and control structures per template, 300 levels of
//! execution including `{{template}}` calls) to stay within the native stack.
//!
//! # Values
//!
//! JSON integers behave as Go `int`, other numbers as `float64` (printed the way Go
//! prints them: `1.5`, `1e+06`), strings, booleans, arrays (`[a b]`) and objects
//! (`map[k:v]`, sorted by key) as their Go counterparts, and `null` as a nil
//! `interface{}`. A missing key renders as `<no value>` (or fails with
//! [`MissingKey::Error`], which `docker inspect` uses).
//!
//! Where Go over a decoded `map[string]interface{}` and Go over docker's typed structs
//! disagree, we follow the structs, which is what `ps`/`images` users see: `eq`/`lt`/...
//! compare integers with floats by value instead of failing with "incompatible types",
//! `join` accepts arrays of strings, and "can't evaluate field X in type T" names the
//! value's own type (`string`) rather than `interface {}`. Smaller differences: indexing
//! a string yields an `int` (Go: `uint8`); `slice`/`truncate` cutting through a UTF-8
//! sequence yield U+FFFD where Go yields the raw bytes; `upper`/`lower`/`title` keep a
//! character whose case mapping is not a single character (`ß`), as Go does, but use
//! Rust's Unicode tables.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod exec;
mod funcs;
mod gofmt;
mod json;
mod lexer;
mod literal;
mod node;
mod parse;
mod strconv;
mod tabwriter;
mod value;
mod width;

#[cfg(test)]
mod tests;

use serde_json::Value;

pub use tabwriter::{TabConfig, TabWriter};

/// The prefix docker uses to ask for table output.
const TABLE_KEY: &str = "table";
/// The format docker expands to `{{json .}}`.
const JSON_KEY: &str = "json";

/// A template parse or execution error, worded as Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text is malformed.
    #[error("template: {name}:{line}: {message}")]
    Parse {
        /// Template name; empty for docker's anonymous templates.
        name: String,
        /// 1-based line of the offending token.
        line: usize,
        /// Go's message, e.g. `function "foo" not defined`.
        message: String,
    },
    /// Evaluating the template against the data failed.
    #[error(
        "template: {name}:{line}:{column}: executing {} at <{context}>: {message}",
        gofmt::quote(.template)
    )]
    Exec {
        /// Name of the parsed template; empty for docker's anonymous templates.
        name: String,
        /// Name of the template executing: `name`, or a `{{define}}`d one.
        template: String,
        /// 1-based line of the node being evaluated.
        line: usize,
        /// 0-based byte offset of the node in its line, as Go reports it.
        column: usize,
        /// The node's text, e.g. `.State.Status` or `index .Args 5`.
        context: String,
        /// Go's message, e.g. `can't evaluate field Foo in type string`.
        message: String,
    },
}

/// What a missing map key evaluates to (Go's `missingkey` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// The missing value: prints `<no value>` and is false (`missingkey=default`).
    #[default]
    Default,
    /// Execution fails with `map has no entry for key "X"` (`missingkey=error`).
    Error,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    text: String,
    tree: node::Tree,
    table: bool,
    json: bool,
    missing_key: MissingKey,
}

impl Template {
    /// Parses a `--format` value the way docker's `formatter.Context` does for `ps`,
    /// `images` and the other list commands.
    ///
    /// - `json` means `{{json .}}`.
    /// - A leading `table` asks for table output ([`Template::is_table`]); it is removed
    ///   and the rest is the row template. A bare `table` leaves an empty template: the
    ///   caller substitutes its default columns, as docker does.
    /// - Surrounding spaces are trimmed and the two-character sequences `\t` and `\n`
    ///   become a tab and a newline, so shells need no `$'...'` quoting.
    pub fn parse(format: &str) -> Result<Self, TemplateError> {
        let (table, json, text) = if format == JSON_KEY {
            (false, true, "{{json .}}".to_string())
        } else {
            let table = format.starts_with(TABLE_KEY);
            let body = if table { &format[TABLE_KEY.len()..] } else { format };
            let body = body.trim_matches(' ').replace("\\t", "\t").replace("\\n", "\n");
            (table, false, body)
        };
        let mut t = Template::parse_named("", &text)?;
        t.table = table;
        t.json = json;
        Ok(t)
    }

    /// Parses a Go template as is: no `table`/`json` handling, no escape replacement.
    /// This is what `docker inspect --format` and `docker info --format` do.
    pub fn parse_plain(text: &str) -> Result<Self, TemplateError> {
        Template::parse_named("", text)
    }

    /// Like [`Template::parse_plain`], naming the template in error messages
    /// (`docker version` names its template `version`).
    pub fn parse_named(name: &str, text: &str) -> Result<Self, TemplateError> {
        let tree = parse::parse(name, text).map_err(|e| TemplateError::Parse {
            name: name.to_string(),
            line: e.line,
            message: e.message,
        })?;
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            tree,
            table: false,
            json: false,
            missing_key: MissingKey::Default,
        })
    }

    /// Sets what a missing map key does. docker's `inspect` fallback uses
    /// [`MissingKey::Error`].
    pub fn with_missing_key(mut self, mode: MissingKey) -> Self {
        self.missing_key = mode;
        self
    }

    /// Whether the format started with `table` (see [`Template::parse`]).
    pub fn is_table(&self) -> bool {
        self.table
    }

    /// Whether the format was `json` (see [`Template::parse`]).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// The template text that was parsed, without any `table` prefix.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The template's name, as it appears in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn source(&self) -> exec::Source<'_> {
        exec::Source { name: &self.name, text: &self.text, tree: &self.tree }
    }

    fn options(&self, header: bool) -> exec::Options {
        exec::Options { missing_key_error: self.missing_key == MissingKey::Error, header }
    }

    /// Renders the template against `data`.
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        let (out, result) = exec::execute(&self.source(), data, self.options(false));
        result.map(|()| out)
    }

    /// Renders a table header: `header` maps each field to its column title (e.g.
    /// `{"ID": "CONTAINER ID"}`), and `json split join title lower upper truncate`
    /// return their first argument so titles survive, as docker's `HeaderFunctions`.
    pub fn render_header(&self, header: &Value) -> Result<String, TemplateError> {
        let (out, result) = exec::execute(&self.source(), header, self.options(true));
        result.map(|()| out)
    }

    /// Renders a whole listing as docker's `formatter.Context.Write` does: each row
    /// followed by a newline and, for table formats, the header first and everything
    /// aligned by a docker [`TabWriter`]. Like docker, a header that fails to render
    /// contributes whatever it produced before failing; a failing row fails the whole
    /// listing.
    pub fn render_rows<'a>(
        &self,
        header: &Value,
        rows: impl IntoIterator<Item = &'a Value>,
    ) -> Result<String, TemplateError> {
        let mut body = String::new();
        for row in rows {
            body.push_str(&self.render(row)?);
            body.push('\n');
        }
        if !self.table {
            return Ok(body);
        }
        let (head, _) = exec::execute(&self.source(), header, self.options(true));
        let mut tw = TabWriter::default();
        tw.write_str(&head);
        tw.write_str("\n");
        tw.write_str(&body);
        Ok(tw.finish())
    }
}
