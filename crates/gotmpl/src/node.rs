//! The template tree. `Display` impls reproduce Go's `Node.String()`, which execution
//! errors quote as `at <...>`.

use std::collections::BTreeMap;
use std::fmt;

use crate::gofmt;

/// A sequence of nodes.
pub(crate) type List = Vec<Node>;

/// A parsed template: the main list plus the `{{define}}`d and `{{block}}` templates.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    pub(crate) root: List,
    pub(crate) defs: BTreeMap<String, List>,
}

/// A node of the template tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Break,
    Continue,
    Template(TemplateCall),
}

/// The shared shape of `if`, `with` and `range`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub(crate) pipe: Pipe,
    pub(crate) list: List,
    pub(crate) else_list: Option<List>,
}

/// `{{template "name" pipeline}}`.
#[derive(Debug, Clone)]
pub(crate) struct TemplateCall {
    pub(crate) pos: usize,
    pub(crate) name: String,
    pub(crate) pipe: Option<Pipe>,
}

/// A pipeline with optional variable declarations: `$x := a | b c`.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub(crate) pos: usize,
    pub(crate) is_assign: bool,
    pub(crate) decl: Vec<String>,
    pub(crate) cmds: Vec<Command>,
}

/// One command of a pipeline: a function or value followed by arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub(crate) pos: usize,
    pub(crate) args: Vec<Operand>,
}

/// A parsed number literal with every representation that fits, as Go's `NumberNode`.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub(crate) text: String,
    pub(crate) int: Option<i64>,
    pub(crate) uint: Option<u64>,
    pub(crate) float: Option<f64>,
    pub(crate) is_char: bool,
}

/// An argument or first word of a command.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    /// `.A.B`: field names without the dots.
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    /// `$x.A`: `idents[0]` is the variable name including `$`.
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    /// `(pipe).A.B` or `func.A`.
    Chain {
        pos: usize,
        node: Box<Operand>,
        fields: Vec<String>,
    },
    Identifier {
        pos: usize,
        name: String,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number {
        pos: usize,
        num: Number,
    },
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
    Pipe(Box<Pipe>),
}

impl Operand {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Operand::Field { pos, .. }
            | Operand::Variable { pos, .. }
            | Operand::Chain { pos, .. }
            | Operand::Identifier { pos, .. }
            | Operand::Dot { pos }
            | Operand::Nil { pos }
            | Operand::Bool { pos, .. }
            | Operand::Number { pos, .. }
            | Operand::String { pos, .. } => *pos,
            Operand::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field { idents, .. } => {
                for id in idents {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
            Operand::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Operand::Chain { node, fields, .. } => {
                match node.as_ref() {
                    Operand::Pipe(p) => write!(f, "({p})")?,
                    other => write!(f, "{other}")?,
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
            Operand::Identifier { name, .. } => f.write_str(name),
            Operand::Dot { .. } => f.write_str("."),
            Operand::Nil { .. } => f.write_str("nil"),
            Operand::Bool { val, .. } => write!(f, "{val}"),
            Operand::Number { num, .. } => f.write_str(&num.text),
            Operand::String { quoted, .. } => f.write_str(quoted),
            Operand::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match arg {
                Operand::Pipe(p) => write!(f, "({p})")?,
                other => write!(f, "{other}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for TemplateCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pipe {
            None => write!(f, "{{{{template {}}}}}", gofmt::quote(&self.name)),
            Some(p) => write!(f, "{{{{template {} {p}}}}}", gofmt::quote(&self.name)),
        }
    }
}
