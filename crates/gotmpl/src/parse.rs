//! Parser producing the template tree ([`crate::node`]), a port of Go's
//! `text/template/parse/parse.go`.
//!
//! The grammar and error messages follow Go's, as do node positions, so that errors
//! point where Go's do (for instance `.A.B` is positioned at `.B`, as in Go).

use std::fmt;

use crate::funcs;
use crate::gofmt;
use crate::lexer::{Item, ItemKind, lex};
use crate::literal::{parse_go_float, parse_go_int, unquote, unquote_char};
use crate::node::{Branch, Command, List, Node, Number, Operand, Pipe, TemplateCall, Tree};

/// Maximum nesting of parentheses and control structures, together. Go allows 10000
/// parenthesised levels; we recurse on the native stack, and a debug build needs about
/// 10 KiB per level, so stay well inside a 2 MiB thread stack.
const MAX_DEPTH: usize = 100;

/// A parse failure: the line Go would report and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseFailure {
    pub(crate) line: usize,
    pub(crate) message: String,
}

type PResult<T> = Result<T, ParseFailure>;

/// What `textOrAction` yields: a node, or one of the delimiters of a list.
enum Parsed {
    Node(Node),
    End,
    Else,
}

impl fmt::Display for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Parsed::Node(_) => f.write_str("node"),
            Parsed::End => f.write_str("{{end}}"),
            Parsed::Else => f.write_str("{{else}}"),
        }
    }
}

/// Parses template text. `name` only appears in error messages.
pub(crate) fn parse(name: &str, text: &str) -> PResult<Tree> {
    let mut items = lex(text);
    if items.is_empty() {
        items.push(Item { kind: ItemKind::Eof, pos: 0, val: String::new(), line: 1 });
    }
    let mut p = Parser {
        name,
        items,
        idx: 0,
        high: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
        depth: 0,
        action_line: 0,
        tree: Tree::default(),
    };
    p.tree.root = p.parse_top()?;
    Ok(p.tree)
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    idx: usize,
    /// Highest item index fetched so far; Go reports the line of the newest token.
    high: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    action_line: usize,
    tree: Tree,
}

fn is_empty_tree(list: &List) -> bool {
    list.iter().all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

impl Parser<'_> {
    fn next(&mut self) -> Item {
        let i = self.idx.min(self.items.len() - 1);
        self.idx += 1;
        self.high = self.high.max(i);
        self.items[i].clone()
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&mut self) -> Item {
        let t = self.next();
        self.backup();
        t
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.kind != ItemKind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf(&self, message: impl Into<String>) -> ParseFailure {
        ParseFailure { line: self.items[self.high].line, message: message.into() }
    }

    fn unexpected(&self, token: &Item, context: &str) -> ParseFailure {
        if token.kind == ItemKind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, kind: ItemKind, context: &str) -> PResult<Item> {
        let token = self.next_non_space();
        if token.kind != kind {
            return Err(self.unexpected(&token, context));
        }
        Ok(token)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.errorf("max expression depth exceeded"));
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<List> {
        let mut root = Vec::new();
        while self.peek().kind != ItemKind::Eof {
            if self.peek().kind == ItemKind::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().kind == ItemKind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                other => return Err(self.errorf(format!("unexpected {other}"))),
            }
        }
        Ok(root)
    }

    /// Parses a nested template body with a fresh variable scope, as Go's new `Tree`.
    fn parse_body(&mut self, context: &str) -> PResult<List> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = vars;
        self.range_depth = range_depth;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {end} in {context}")));
        }
        Ok(list)
    }

    fn add_definition(&mut self, name: String, list: List) -> PResult<()> {
        match self.tree.defs.get(&name) {
            Some(existing) if !is_empty_tree(existing) && !is_empty_tree(&list) => {
                Err(self.errorf(format!("template: multiple definition of template {}", gofmt::quote(&name))))
            }
            Some(_) if is_empty_tree(&list) => Ok(()),
            _ => {
                self.tree.defs.insert(name, list);
                Ok(())
            }
        }
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let token = self.next_non_space();
        if token.kind != ItemKind::String && token.kind != ItemKind::RawString {
            return Err(self.unexpected(&token, CONTEXT));
        }
        let name = unquote(&token.val).ok_or_else(|| self.errorf("invalid syntax"))?;
        self.expect(ItemKind::RightDelim, CONTEXT)?;
        let list = self.parse_body(CONTEXT)?;
        self.add_definition(name, list)
    }

    fn item_list(&mut self) -> PResult<(List, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != ItemKind::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.kind {
            ItemKind::Text => Ok(Parsed::Node(Node::Text(token.val))),
            ItemKind::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        let node = match token.kind {
            ItemKind::Block => self.block_control()?,
            ItemKind::Break | ItemKind::Continue => {
                let word = if token.kind == ItemKind::Break { "break" } else { "continue" };
                let t = self.next_non_space();
                if t.kind != ItemKind::RightDelim {
                    return Err(self.unexpected(&t, &format!("{{{{{word}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
                }
                if token.kind == ItemKind::Break { Node::Break } else { Node::Continue }
            }
            ItemKind::Else => {
                let peek = self.peek_non_space();
                if peek.kind != ItemKind::If && peek.kind != ItemKind::With {
                    self.expect(ItemKind::RightDelim, "else")?;
                }
                return Ok(Parsed::Else);
            }
            ItemKind::End => {
                self.expect(ItemKind::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemKind::If => Node::If(self.control("if")?),
            ItemKind::Range => Node::Range(self.control("range")?),
            ItemKind::With => Node::With(self.control("with")?),
            ItemKind::Template => self.template_control()?,
            _ => {
                self.backup();
                Node::Action(self.pipeline("command", ItemKind::RightDelim)?)
            }
        };
        Ok(Parsed::Node(node))
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        self.enter()?;
        let vars_len = self.vars.len();
        let pipe = self.pipeline(context, ItemKind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let else_list = match next {
            Parsed::Else => {
                let peek = self.peek().kind;
                if context == "if" && peek == ItemKind::If {
                    self.next();
                    Some(vec![Node::If(self.control("if")?)])
                } else if context == "with" && peek == ItemKind::With {
                    self.next();
                    Some(vec![Node::With(self.control("with")?)])
                } else {
                    let (list, next) = self.item_list()?;
                    if !matches!(next, Parsed::End) {
                        return Err(self.errorf(format!("expected end; found {next}")));
                    }
                    Some(list)
                }
            }
            _ => None,
        };
        self.vars.truncate(vars_len);
        self.depth -= 1;
        Ok(Branch { pipe, list, else_list })
    }

    fn template_name(&mut self, token: &Item, context: &str) -> PResult<String> {
        match token.kind {
            ItemKind::String | ItemKind::RawString => unquote(&token.val).ok_or_else(|| self.errorf("invalid syntax")),
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let pipe = if self.next_non_space().kind != ItemKind::RightDelim {
            self.backup();
            Some(self.pipeline(CONTEXT, ItemKind::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template(TemplateCall { pos: token.pos, name, pipe }))
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, ItemKind::RightDelim)?;
        self.enter()?;
        let list = self.parse_body(CONTEXT)?;
        self.depth -= 1;
        self.add_definition(name.clone(), list)?;
        Ok(Node::Template(TemplateCall { pos: token.pos, name, pipe: Some(pipe) }))
    }

    fn pipeline(&mut self, context: &str, end: ItemKind) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe { pos: token.pos, is_assign: false, decl: Vec::new(), cmds: Vec::new() };
        // Declarations need three tokens of look-ahead: `$x foo` is an argument, `$x :=` is not.
        loop {
            let v = self.peek_non_space();
            if v.kind != ItemKind::Variable {
                break;
            }
            let before = self.idx;
            self.next();
            let next = self.peek_non_space();
            match next.kind {
                ItemKind::Assign | ItemKind::Declare => {
                    pipe.is_assign = next.kind == ItemKind::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                }
                ItemKind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            ItemKind::Variable | ItemKind::RightDelim | ItemKind::RightParen => {
                                continue;
                            }
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => self.idx = before,
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            if token.kind == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match token.kind {
                ItemKind::Bool
                | ItemKind::CharConstant
                | ItemKind::Complex
                | ItemKind::Dot
                | ItemKind::Field
                | ItemKind::Identifier
                | ItemKind::Number
                | ItemKind::Nil
                | ItemKind::RawString
                | ItemKind::String
                | ItemKind::Variable
                | ItemKind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Operand::Bool { .. }
                    | Operand::Dot { .. }
                    | Operand::Nil { .. }
                    | Operand::Number { .. }
                    | Operand::String { .. }
            ) {
                return Err(self.errorf(format!("non executable command in pipeline stage {}", i + 1)));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let token = self.next();
            match token.kind {
                ItemKind::Space => continue,
                ItemKind::RightDelim | ItemKind::RightParen => self.backup(),
                ItemKind::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Operand>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != ItemKind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == ItemKind::Field {
            fields.push(self.next().val[1..].to_string());
        }
        Ok(Some(match node {
            Operand::Field { mut idents, .. } => {
                idents.extend(fields);
                Operand::Field { pos, idents }
            }
            Operand::Variable { mut idents, .. } => {
                idents.extend(fields);
                Operand::Variable { pos, idents }
            }
            Operand::Bool { .. }
            | Operand::String { .. }
            | Operand::Number { .. }
            | Operand::Nil { .. }
            | Operand::Dot { .. } => {
                return Err(self.errorf(format!("unexpected . after term {}", gofmt::quote(&node.to_string()))));
            }
            other => Operand::Chain { pos, node: Box::new(other), fields },
        }))
    }

    fn term(&mut self) -> PResult<Option<Operand>> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.kind {
            ItemKind::Identifier => {
                if !funcs::exists(&token.val) {
                    return Err(self.errorf(format!("function {} not defined", gofmt::quote(&token.val))));
                }
                Operand::Identifier { pos, name: token.val }
            }
            ItemKind::Dot => Operand::Dot { pos },
            ItemKind::Nil => Operand::Nil { pos },
            ItemKind::Variable => {
                if !self.vars.contains(&token.val) {
                    return Err(self.errorf(format!("undefined variable {}", gofmt::quote(&token.val))));
                }
                Operand::Variable { pos, idents: vec![token.val] }
            }
            ItemKind::Field => Operand::Field { pos, idents: vec![token.val[1..].to_string()] },
            ItemKind::Bool => Operand::Bool { pos, val: token.val == "true" },
            ItemKind::CharConstant | ItemKind::Complex | ItemKind::Number => {
                Operand::Number { pos, num: self.number(&token)? }
            }
            ItemKind::LeftParen => {
                self.enter()?;
                let pipe = self.pipeline("parenthesized pipeline", ItemKind::RightParen)?;
                self.depth -= 1;
                Operand::Pipe(Box::new(pipe))
            }
            ItemKind::String | ItemKind::RawString => {
                let text = unquote(&token.val).ok_or_else(|| self.errorf("invalid syntax"))?;
                Operand::String { pos, quoted: token.val, text }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn number(&self, token: &Item) -> PResult<Number> {
        let text = token.val.as_str();
        let mut n = Number { text: text.to_string(), int: None, uint: None, float: None, is_char: false };
        if token.kind == ItemKind::CharConstant {
            let inner = &text[1..];
            let (c, tail) = unquote_char(inner, '\'').ok_or_else(|| self.errorf("invalid syntax"))?;
            if tail != "'" {
                return Err(self.errorf(format!("malformed character constant: {text}")));
            }
            let v = u32::from(c);
            n.int = Some(i64::from(v));
            n.uint = Some(u64::from(v));
            n.float = Some(f64::from(v));
            n.is_char = true;
            return Ok(n);
        }
        if token.kind == ItemKind::Complex || text.ends_with('i') {
            return Err(self.errorf(format!("complex constant {text} is not supported")));
        }
        let int = parse_go_int(text);
        n.uint = int.and_then(|v| u64::try_from(v).ok());
        n.int = int.and_then(|v| i64::try_from(v).ok());
        if let Some(i) = n.int {
            n.float = Some(i as f64);
        } else if let Some(u) = n.uint {
            n.float = Some(u as f64);
        } else if let Some(f) = parse_go_float(text) {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(self.errorf(format!("integer overflow: {}", gofmt::quote(text))));
            }
            n.float = Some(f);
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                n.int = Some(f as i64);
            }
            if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) {
                n.uint = Some(f as u64);
            }
        }
        if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
            return Err(self.errorf(format!("illegal number syntax: {}", gofmt::quote(text))));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse("", text) {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("{}: {}", e.line, e.message),
        }
    }

    fn action_string(text: &str) -> String {
        match parse("", text).map(|t| t.root) {
            Ok(root) => match root.first() {
                Some(Node::Action(p)) => p.to_string(),
                other => format!("{other:?}"),
            },
            Err(e) => e.message,
        }
    }

    #[test]
    fn node_strings_match_go() {
        assert_eq!(action_string("{{.A.B}}"), ".A.B");
        assert_eq!(action_string("{{$x := index .M \"k\" 1}}"), "$x := index .M \"k\" 1");
        assert_eq!(action_string("{{ .X | printf `%s` }}"), ".X | printf `%s`");
        assert_eq!(action_string("{{(len .A).B}}"), "(len .A).B");
        assert_eq!(action_string("{{eq (len .) 0}}"), "eq (len .) 0");
        assert_eq!(action_string("{{'a'}}"), "'a'");
    }

    #[test]
    fn chain_positions_point_at_the_second_field() {
        let tree = parse("", "{{.Metadata.I}}").unwrap_or_default();
        let Some(Node::Action(p)) = tree.root.first() else { panic!("not an action") };
        assert_eq!(p.cmds[0].args[0].pos(), 11);
    }

    #[test]
    fn parse_errors_match_go() {
        assert_eq!(err("{{foo}}"), "1: function \"foo\" not defined");
        assert_eq!(err("{{end}}"), "1: unexpected {{end}}");
        assert_eq!(err("{{else}}"), "1: unexpected {{else}}");
        assert_eq!(err("{{if .X}}"), "1: unexpected EOF");
        assert_eq!(err("{{}}"), "1: missing value for command");
        assert_eq!(err("{{.Foo}"), "1: unexpected \"}\" in operand");
        assert_eq!(err("{{$x}}"), "1: undefined variable \"$x\"");
        assert_eq!(err("{{.X | 3}}"), "1: non executable command in pipeline stage 2");
        assert_eq!(err("{{break}}"), "1: {{break}} outside {{range}}");
        assert_eq!(err("{{range .}}{{else}}{{else}}{{end}}"), "1: expected end; found {{else}}");
        assert_eq!(err("a\n{{if .X}}\n{{.Y"), "3: unclosed action");
        assert_eq!(err("{{if\n.X}}{{(.Y\n}}"), "3: unclosed left paren in action started at :2");
        assert_eq!(err("{{\"a\".B}}"), "1: unexpected . after term \"\\\"a\\\"\"");
        assert_eq!(err("{{08}}"), "1: integer overflow: \"08\"");
        assert_eq!(err("{{\"\\q\"}}"), "1: invalid syntax");
        assert_eq!(err("{{range $a, $b, $c := .}}{{end}}"), "1: too many declarations in range");
        assert_eq!(err("{{range $a, 1}}{{end}}"), "1: range can only initialize variables");
        assert_eq!(err("{{if .}}{{else if .}}{{else with .}}{{end}}"), "1: unexpected <with> in input");
        assert_eq!(err("{{'ab'}}"), "1: malformed character constant: 'ab'");
        assert_eq!(err("{{$x=1}}"), "1: bad character U+003D '='");
        assert_eq!(err("{{ /* x */ }}"), "1: unexpected \"/\" in command");
        assert_eq!(err("{{with $a, $b := .}}{{end}}"), "1: too many declarations in with");
    }

    #[test]
    fn variables_scope_to_their_control_structure() {
        assert_eq!(err("{{if $x := .}}{{$x}}{{else}}{{$x}}{{end}}"), "ok");
        assert_eq!(err("{{if $x := .}}{{end}}{{$x}}"), "1: undefined variable \"$x\"");
        assert_eq!(err("{{$x := 1}}{{$x = 2}}{{$x}}"), "ok");
    }

    #[test]
    fn numbers() {
        let num = |t: &str| match parse("", t).map(|t| t.root) {
            Ok(root) => match root.first() {
                Some(Node::Action(p)) => match &p.cmds[0].args[0] {
                    Operand::Number { num, .. } => (num.int, num.float),
                    _ => (None, None),
                },
                _ => (None, None),
            },
            Err(_) => (None, None),
        };
        assert_eq!(num("{{0x1F}}"), (Some(31), Some(31.0)));
        assert_eq!(num("{{-0o17}}"), (Some(-15), Some(-15.0)));
        assert_eq!(num("{{1_000}}"), (Some(1000), Some(1000.0)));
        assert_eq!(num("{{1.5}}"), (None, Some(1.5)));
        assert_eq!(num("{{2.0}}"), (Some(2), Some(2.0)));
        assert_eq!(num("{{1e3}}"), (Some(1000), Some(1000.0)));
        assert_eq!(num("{{'\\n'}}"), (Some(10), Some(10.0)));
    }

    #[test]
    fn defines_and_blocks() {
        let tree = parse("", "{{define \"a\"}}x{{end}}{{block \"b\" .}}y{{end}}").unwrap_or_default();
        assert_eq!(tree.defs.len(), 2);
        assert_eq!(tree.root.len(), 1);
        assert_eq!(
            err("{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}"),
            "1: template: multiple definition of template \"a\""
        );
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed() {
        let text = "{{if .}}".repeat(MAX_DEPTH + 1);
        assert_eq!(err(&text), "1: max expression depth exceeded");
        let text = format!("{{{{{}1{}}}}}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert_eq!(err(&text), "1: max expression depth exceeded");
    }
}
