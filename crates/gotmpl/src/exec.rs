//! Template execution, a port of Go's `text/template/exec.go` over JSON data.
//!
//! The walk mirrors Go's closely, including which node is "current" when an error is
//! raised, so that `at <...>` contexts and `line:column` positions match Go's.

use std::borrow::Cow;

use serde_json::Value as Json;

use crate::TemplateError;
use crate::funcs::{Func, Param};
use crate::gofmt;
use crate::node::{Branch, Command, List, Node, Number, Operand, Pipe, TemplateCall, Tree};
use crate::value::Val;

/// Nesting limit for `{{template}}` calls and control structures together. Go limits
/// template calls to 100000 and grows its stacks; we recurse on the native stack, so
/// stop far earlier (a single template's nesting is already capped at 100 by the
/// parser) and report it the way Go reports deep template recursion.
const MAX_DEPTH: usize = 300;

/// Execution settings.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// Go's `missingkey=error`: a missing map key is an error instead of `<no value>`.
    pub(crate) missing_key_error: bool,
    /// Use docker's table-header functions (see `funcs`).
    pub(crate) header: bool,
}

/// The source of a template: what errors need to locate nodes.
pub(crate) struct Source<'t> {
    pub(crate) name: &'t str,
    pub(crate) text: &'t str,
    pub(crate) tree: &'t Tree,
}

/// Renders `src` against `data`. Like Go's `Execute`, output produced before an error is
/// kept (docker prints a partially rendered table header).
pub(crate) fn execute(src: &Source<'_>, data: &Json, opts: Options) -> (String, Result<(), TemplateError>) {
    let root = Val::Json(Cow::Borrowed(data)).indirect();
    let mut st = State {
        src,
        opts,
        out: String::new(),
        vars: vec![("$", root.clone())],
        template: src.name,
        node: None,
        depth: 0,
    };
    let result = st.walk(&root, &src.tree.root).map(|_| ());
    (st.out, result)
}

/// How a list finished: normally, or by `{{break}}`/`{{continue}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node an error is reported at.
#[derive(Debug, Clone, Copy)]
enum At<'t> {
    Operand(&'t Operand),
    Command(&'t Command),
    Pipe(&'t Pipe),
    Template(&'t TemplateCall),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::Operand(o) => o.pos(),
            At::Command(c) => c.pos,
            At::Pipe(p) => p.pos,
            At::Template(t) => t.pos,
        }
    }

    fn context(&self) -> String {
        match self {
            At::Operand(o) => o.to_string(),
            At::Command(c) => c.to_string(),
            At::Pipe(p) => p.to_string(),
            At::Template(t) => t.to_string(),
        }
    }
}

type R<T> = Result<T, TemplateError>;

struct State<'s, 't, 'd> {
    src: &'s Source<'t>,
    opts: Options,
    out: String,
    vars: Vec<(&'t str, Val<'d>)>,
    /// The template being executed, for error messages.
    template: &'t str,
    node: Option<At<'t>>,
    depth: usize,
}

fn is_hex_int(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') && !s.contains(['p', 'P'])
}

impl<'t, 'd> State<'_, 't, 'd> {
    fn at(&mut self, at: At<'t>) {
        self.node = Some(at);
    }

    /// Builds an execution error located at the current node, as Go's `state.errorf`.
    fn err(&self, message: impl Into<String>) -> TemplateError {
        let (pos, context) = self.node.map_or((0, String::new()), |n| (n.pos(), n.context()));
        let before = &self.src.text[..pos.min(self.src.text.len())];
        let line = 1 + before.matches('\n').count();
        let column = before.rfind('\n').map_or(pos, |i| pos - i - 1);
        TemplateError::Exec {
            name: self.src.name.to_string(),
            template: self.template.to_string(),
            line,
            column,
            context,
            message: message.into(),
        }
    }

    fn walk(&mut self, dot: &Val<'d>, list: &'t List) -> R<Flow> {
        for node in list {
            let flow = self.walk_node(dot, node)?;
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_node(&mut self, dot: &Val<'d>, node: &'t Node) -> R<Flow> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(pipe) => {
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    match val.json() {
                        None | Some(Json::Null) => self.out.push_str("<no value>"),
                        Some(j) => self.out.push_str(&gofmt::sprint(&[Some(j)])),
                    }
                }
            }
            Node::If(b) => return self.walk_if_or_with(dot, b, false),
            Node::With(b) => return self.walk_if_or_with(dot, b, true),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
            Node::Template(call) => self.walk_template(dot, call)?,
        }
        Ok(Flow::Normal)
    }

    /// Enters one level of nesting (a control structure or a template call).
    fn enter(&mut self) -> R<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("exceeded maximum template depth ({MAX_DEPTH})")));
        }
        self.depth += 1;
        Ok(())
    }

    fn walk_if_or_with(&mut self, dot: &Val<'d>, b: &'t Branch, with: bool) -> R<Flow> {
        self.enter()?;
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if val.truth() {
            self.walk(if with { &val } else { dot }, &b.list)?
        } else if let Some(else_list) = &b.else_list {
            self.walk(dot, else_list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(flow)
    }

    fn set_top_var(&mut self, n: usize, value: Val<'d>) {
        let len = self.vars.len();
        if let Some(slot) = len.checked_sub(n).and_then(|i| self.vars.get_mut(i)) {
            slot.1 = value;
        }
    }

    fn set_var(&mut self, name: &str, value: Val<'d>) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.err(format!("undefined variable: {name}"))),
        }
    }

    /// Runs one range iteration; `index` is `None` for range over an integer.
    fn iterate(&mut self, r: &'t Branch, mark: usize, index: Val<'d>, elem: Val<'d>) -> R<Flow> {
        let decl = &r.pipe.decl;
        if r.pipe.is_assign {
            match decl.as_slice() {
                [v] => self.set_var(v, elem.clone())?,
                [k, v, ..] => {
                    self.set_var(k, index)?;
                    self.set_var(v, elem.clone())?;
                }
                [] => {}
            }
        } else {
            if !decl.is_empty() {
                self.set_top_var(1, elem.clone());
            }
            if decl.len() > 1 {
                self.set_top_var(2, index);
            }
        }
        let flow = self.walk(&elem, &r.list)?;
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Val<'d>, r: &'t Branch) -> R<Flow> {
        self.enter()?;
        let outer = self.vars.len();
        let val = self.eval_pipeline(dot, &r.pipe)?;
        let mark = self.vars.len();
        let mut ran = false;
        match val.json() {
            None => {}
            Some(Json::Array(items)) => {
                for i in 0..items.len() {
                    ran = true;
                    let elem = val.child(|j| j.get(i)).unwrap_or(Val::Missing);
                    if self.iterate(r, mark, Val::int(i as i64), elem)? == Flow::Break {
                        break;
                    }
                }
            }
            Some(Json::Object(m)) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                for key in keys {
                    ran = true;
                    let elem = val.child(|j| j.get(key)).unwrap_or(Val::Missing);
                    if self.iterate(r, mark, Val::str(key.clone()), elem)? == Flow::Break {
                        break;
                    }
                }
            }
            Some(Json::Number(n)) if n.is_i64() || n.is_u64() => {
                if r.pipe.decl.len() > 1 {
                    let shown = gofmt::sprint(&[val.json()]);
                    return Err(self.err(format!("can't use {shown} to iterate over more than one variable")));
                }
                let count = n.as_i64().unwrap_or(i64::MAX);
                for i in 0..count {
                    ran = true;
                    if self.iterate(r, mark, Val::Missing, Val::int(i))? == Flow::Break {
                        break;
                    }
                }
            }
            Some(j) => {
                let shown = gofmt::sprint(&[Some(j)]);
                return Err(self.err(format!("range can't iterate over {shown}")));
            }
        }
        if !ran && let Some(else_list) = &r.else_list {
            self.walk(dot, else_list)?;
        }
        self.vars.truncate(outer);
        self.depth -= 1;
        Ok(Flow::Normal)
    }

    fn walk_template(&mut self, dot: &Val<'d>, call: &'t TemplateCall) -> R<()> {
        self.at(At::Template(call));
        let Some(list) = self.src.tree.defs.get(&call.name) else {
            return Err(self.err(format!("template {} not defined", gofmt::quote(&call.name))));
        };
        self.enter()?;
        let new_dot = match &call.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Val::Missing,
        };
        let saved = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        let caller = std::mem::replace(&mut self.template, &call.name);
        let result = self.walk(&new_dot, list);
        self.depth -= 1;
        self.template = caller;
        self.vars = saved;
        result.map(|_| ())
    }

    fn eval_pipeline(&mut self, dot: &Val<'d>, pipe: &'t Pipe) -> R<Val<'d>> {
        self.at(At::Pipe(pipe));
        let mut value = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value.take())?.indirect());
        }
        let value = value.unwrap_or(Val::Missing);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name, value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Operand], fin: &Option<Val<'d>>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.err(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Val<'d>, cmd: &'t Command, fin: Option<Val<'d>>) -> R<Val<'d>> {
        let first = &cmd.args[0];
        match first {
            Operand::Field { .. } => return self.eval_field_node(dot, first, &cmd.args, fin),
            Operand::Chain { .. } => return self.eval_chain_node(dot, first, &cmd.args, fin),
            Operand::Variable { .. } => return self.eval_variable_node(first, &cmd.args, fin),
            Operand::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Command(cmd), &cmd.args[1..], fin);
            }
            Operand::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            _ => {}
        }
        self.at(At::Operand(first));
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Operand::Bool { val, .. } => Ok(Val::bool(*val)),
            Operand::Dot { .. } => Ok(dot.clone()),
            Operand::Number { num, .. } => self.ideal_constant(first, num),
            Operand::String { text, .. } => Ok(Val::str(text.clone())),
            _ => Err(self.err("nil is not a command")),
        }
    }

    /// The value of a number literal where no type is expected, as Go's `idealConstant`.
    fn ideal_constant(&mut self, op: &'t Operand, num: &Number) -> R<Val<'d>> {
        self.at(At::Operand(op));
        match num.float {
            Some(f) if !num.is_char && !is_hex_int(&num.text) && num.text.contains(['.', 'e', 'E', 'p', 'P']) => {
                Ok(Val::float(f))
            }
            _ => match (num.int, num.uint) {
                (Some(i), _) => Ok(Val::int(i)),
                (None, Some(_)) => Err(self.err(format!("{} overflows int", num.text))),
                (None, None) => Ok(Val::Missing),
            },
        }
    }

    fn eval_field_node(
        &mut self,
        dot: &Val<'d>,
        op: &'t Operand,
        args: &'t [Operand],
        fin: Option<Val<'d>>,
    ) -> R<Val<'d>> {
        self.at(At::Operand(op));
        let Operand::Field { idents, .. } = op else {
            return Ok(Val::Missing);
        };
        self.eval_field_chain(dot.clone(), idents, args, fin)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Val<'d>,
        op: &'t Operand,
        args: &'t [Operand],
        fin: Option<Val<'d>>,
    ) -> R<Val<'d>> {
        self.at(At::Operand(op));
        let Operand::Chain { node, fields, .. } = op else {
            return Ok(Val::Missing);
        };
        if matches!(node.as_ref(), Operand::Nil { .. }) {
            return Err(self.err(format!("indirection through explicit nil in {op}")));
        }
        let receiver = self.eval_arg(dot, Param::Any, node)?;
        self.eval_field_chain(receiver, fields, args, fin)
    }

    fn eval_variable_node(&mut self, op: &'t Operand, args: &'t [Operand], fin: Option<Val<'d>>) -> R<Val<'d>> {
        self.at(At::Operand(op));
        let Operand::Variable { idents, .. } = op else {
            return Ok(Val::Missing);
        };
        let name = idents[0].as_str();
        let value = match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => v.clone(),
            None => return Err(self.err(format!("undefined variable: {name}"))),
        };
        if idents.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(value, &idents[1..], args, fin)
    }

    fn eval_field_chain(
        &mut self,
        receiver: Val<'d>,
        idents: &'t [String],
        args: &'t [Operand],
        fin: Option<Val<'d>>,
    ) -> R<Val<'d>> {
        let mut receiver = receiver;
        let last = idents.len().saturating_sub(1);
        for id in &idents[..last] {
            receiver = self.eval_field(id, &[], None, receiver)?;
        }
        match idents.get(last) {
            Some(id) => self.eval_field(id, args, fin, receiver),
            None => Ok(receiver),
        }
    }

    fn eval_field(&mut self, name: &str, args: &[Operand], fin: Option<Val<'d>>, receiver: Val<'d>) -> R<Val<'d>> {
        let missing_key_error = self.opts.missing_key_error;
        match receiver.json() {
            None if missing_key_error => Err(self.err(format!("nil data; no entry for key {}", gofmt::quote(name)))),
            None => Ok(Val::Missing),
            Some(Json::Null) => Err(self.err(format!("nil pointer evaluating interface {{}}.{name}"))),
            Some(Json::Object(_)) => {
                if args.len() > 1 || fin.is_some() {
                    return Err(self.err(format!("{name} is not a method but has arguments")));
                }
                match receiver.child(|j| j.get(name)) {
                    Some(v) => Ok(v),
                    None if missing_key_error => {
                        Err(self.err(format!("map has no entry for key {}", gofmt::quote(name))))
                    }
                    None => Ok(Val::Missing),
                }
            }
            Some(j) => Err(self.err(format!("can't evaluate field {name} in type {}", crate::value::type_name(j)))),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Val<'d>,
        ident: &'t Operand,
        name: &str,
        call_node: At<'t>,
        args: &'t [Operand],
        fin: Option<Val<'d>>,
    ) -> R<Val<'d>> {
        self.at(At::Operand(ident));
        let Some(f) = Func::lookup(name) else {
            return Err(self.err(format!("{} is not a defined function", gofmt::quote(name))));
        };
        let sig = f.sig(self.opts.header);
        let num_in = args.len() + usize::from(fin.is_some());
        match sig.variadic {
            Some(_) if num_in < sig.fixed.len() => {
                return Err(self.err(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    sig.fixed.len(),
                    args.len()
                )));
            }
            None if num_in != sig.fixed.len() => {
                return Err(self.err(format!("wrong number of args for {name}: want {} got {num_in}", sig.fixed.len())));
            }
            _ => {}
        }
        let param = |i: usize| sig.fixed.get(i).copied().or(sig.variadic).unwrap_or(Param::Any);
        if f == Func::And || f == Func::Or {
            // Short-circuit: stop at the first false (and) or true (or) argument.
            let mut v = Val::Missing;
            for arg in args {
                v = self.eval_arg(dot, Param::Any, arg)?;
                if v.truth() == (f == Func::Or) {
                    return Ok(v);
                }
            }
            return Ok(fin.unwrap_or(v));
        }
        let mut argv = Vec::with_capacity(num_in);
        for (i, arg) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, param(i), arg)?);
        }
        let callee = match (args.first(), &fin) {
            (Some(a), _) => a.to_string(),
            (None, Some(v)) => gofmt::sprint(&[v.json()]),
            (None, None) => String::new(),
        };
        if let Some(v) = fin {
            let v = self.validate_type(v, param(num_in - 1))?;
            argv.push(v);
        }
        let result = if f == Func::Call {
            match argv.first().map(|v| v.clone().indirect()) {
                Some(Val::Json(j)) => Err(format!("non-function {callee} of type {}", crate::value::type_name(&j))),
                _ => Err("call of nil".to_string()),
            }
        } else {
            f.call(argv, self.opts.header)
        };
        result.map_err(|msg| {
            self.at(call_node);
            self.err(format!("error calling {name}: {msg}"))
        })
    }

    fn eval_arg(&mut self, dot: &Val<'d>, param: Param, op: &'t Operand) -> R<Val<'d>> {
        self.at(At::Operand(op));
        let value = match op {
            Operand::Dot { .. } => dot.clone(),
            Operand::Nil { .. } if param == Param::Any => return Ok(Val::Missing),
            Operand::Nil { .. } => {
                return Err(self.err(format!("cannot assign nil to {}", param.go_name())));
            }
            Operand::Field { .. } => self.eval_field_node(dot, op, std::slice::from_ref(op), None)?,
            Operand::Variable { .. } => self.eval_variable_node(op, &[], None)?,
            Operand::Pipe(p) => self.eval_pipeline(dot, p)?,
            Operand::Identifier { name, .. } => self.eval_function(dot, op, name, At::Operand(op), &[], None)?,
            Operand::Chain { .. } => self.eval_chain_node(dot, op, &[], None)?,
            Operand::Bool { val, .. } if param == Param::Any => return Ok(Val::bool(*val)),
            Operand::Number { num, .. } if param == Param::Any => {
                return self.ideal_constant(op, num);
            }
            Operand::String { text, .. } if param == Param::Any || param == Param::Str => {
                return Ok(Val::str(text.clone()));
            }
            Operand::Number { num, .. } if param == Param::Int => {
                return match num.int {
                    Some(i) => Ok(Val::int(i)),
                    None => Err(self.err(format!("expected integer; found {op}"))),
                };
            }
            _ => {
                return Err(self.err(match param {
                    Param::Int => format!("expected integer; found {op}"),
                    Param::Str => format!("expected string; found {op}"),
                    _ => format!("can't handle {op} for arg of type {}", param.go_name()),
                }));
            }
        };
        self.validate_type(value, param)
    }

    /// Checks a computed value against a parameter type, as Go's `validateType`.
    fn validate_type(&self, value: Val<'d>, param: Param) -> R<Val<'d>> {
        let ok = match (param, value.json()) {
            (Param::Any, _) => true,
            (Param::StrSlice, None) => return Ok(Val::owned(Json::Array(Vec::new()))),
            (_, None) => {
                return Err(self.err(format!("invalid value; expected {}", param.go_name())));
            }
            (Param::Str, Some(j)) => j.is_string(),
            (Param::Int, Some(j)) => j.is_i64(),
            (Param::StrSlice, Some(Json::Array(items))) => items.iter().all(Json::is_string),
            (Param::StrSlice, Some(_)) => false,
        };
        if ok {
            return Ok(value);
        }
        let got = value.json().map_or("interface {}", crate::value::type_name);
        Err(self.err(format!("wrong type for value; expected {}; got {got}", param.go_name())))
    }
}
