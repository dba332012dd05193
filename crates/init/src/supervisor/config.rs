//! supervisord's configuration, read the way supervisord reads it, into typed [`Program`]s.
//!
//! The reference is the "Configuration File" section of supervisord's documentation
//! (supervisord.org, `configuration.html`) and, where it is silent, supervisord 4's
//! `supervisor/options.py` and `supervisor/datatypes.py`. This module is pure: it reads files
//! under a root directory but starts nothing.
//!
//! # Finding the file
//!
//! [`load`] reads the first existing of [`CONFIG_PATHS`] (the two of supervisord's search paths
//! that mean something in a container) and then its `[include] files = ...`: space-separated
//! globs relative to the main file's directory, `*`, `?` and `[...]` in any component, each
//! pattern's matches sorted. As in supervisord only the main file's `[include]` counts, and an
//! included file that cannot be read is skipped (with a warning). When there is no main file
//! but [`CONF_D_PATTERN`] matches, those files are read as if included: images that only drop a
//! file into `/etc/supervisor/conf.d` expect the distribution's main file to include them.
//!
//! # Syntax
//!
//! Python's `RawConfigParser` as supervisord configures it: `;`/`#` comments on their own line or
//! after whitespace, `key = value` or `key: value`, case-insensitive keys, case-sensitive section
//! names, indented continuation lines, repeated sections merged with later keys winning.
//!
//! Values go through Python's `%` formatting: `%(ENV_X)s` (from [`Context::env`]),
//! `%(program_name)s`, `%(group_name)s`, `%(host_node_name)s`, `%(here)s` (the directory of the
//! file the value is in), and in `command`, `process_name`, `directory`, `environment`,
//! `stdout_logfile` and `stderr_logfile` also `%(process_num)d` and `%(numprocs)d`; widths and
//! flags work (`%(process_num)02d`) and `%%` is a literal `%`. A stray `%` or an unknown name
//! is an error, as in supervisord.
//!
//! # Sections
//!
//! - `[program:x]`: every key below with supervisord's default; each of `numprocs` instances
//!   becomes its own [`Program`]. `command` is required.
//! - `[group:g]`: `programs` (required) and `priority`; its programs take the group's name.
//! - `[supervisord]`: `nodaemon` and `environment`; the other keys (log files, pid file,
//!   `user`, `minfds`...) concern the daemon itself and are ignored.
//! - `[include]`: see above.
//! - `[unix_http_server]`, `[inet_http_server]`, `[supervisorctl]`, `[rpcinterface:*]`,
//!   `[ctlplugin:*]`: ignored silently; they configure supervisorctl's control channel, which
//!   berth doesn't offer.
//! - `[eventlistener:*]`, `[fcgi-program:*]` and unknown sections: ignored with a warning in
//!   [`Config::warnings`]; event listeners need supervisord's event protocol.
//!
//! Program keys kept: `command`, `process_name`, `numprocs`, `numprocs_start`, `priority`,
//! `autostart`, `autorestart`, `startsecs`, `startretries`, `exitcodes`, `stopsignal`,
//! `stopwaitsecs`, `stopasgroup`, `killasgroup`, `user`, `directory`, `umask`, `environment`,
//! `redirect_stderr`, `stdout_logfile`, `stderr_logfile`. Log rotation, capture mode, events,
//! syslog and `serverurl` keys are accepted and ignored; other keys give a warning (supervisord
//! ignores them silently).
//!
//! # Where we are stricter than supervisord
//!
//! - `environment = A=$HOME` is an error; supervisord silently sets `A=$` (its tokenizer stops
//!   at `$` and it skips the next token without checking it is a comma).
//! - `numprocs` must be at least 1, the seconds and retry counts must not be negative, and a
//!   `command` that `shlex` cannot split or that is empty is an error at load time rather than
//!   when the program starts.
//! - Two instances with the same name in one group are an error.
//! - At most [`MAX_PROGRAMS`] (1024) processes in all, `numprocs` included, and `%` widths,
//!   precisions and expanded values of at most 1 MiB: supervisord would try to build whatever
//!   the file asks for, and PID 1 should not run out of memory over a typo.

mod format;
mod glob;
mod ini;
mod shlex;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use nix::sys::signal::Signal;

use format::{Arg, FormatError};
use ini::{Ini, Section, Value};
pub use shlex::{SplitError, split_command};

/// Main configuration files, in the order supervisord tries them (paths inside the container).
pub const CONFIG_PATHS: [&str; 2] = ["/etc/supervisord.conf", "/etc/supervisor/supervisord.conf"];

/// Read, sorted, when no main configuration file exists.
pub const CONF_D_PATTERN: &str = "/etc/supervisor/conf.d/*.conf";

/// Most processes a configuration may define, counting every `numprocs` instance (and a program
/// listed twice in groups twice). supervisord has no limit, but `numprocs=4000000000` would
/// make PID 1 build four billion entries; no container runs more than a few hundred.
pub const MAX_PROGRAMS: usize = 1024;

/// What expansions need from outside the file.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The environment supervisord would have started with: `%(ENV_X)s` expands to `env["X"]`.
    pub env: BTreeMap<String, String>,
    /// `%(host_node_name)s`: the container's hostname.
    pub host_node_name: String,
}

/// When a program is restarted after it exits (`autorestart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRestart {
    /// `false`: never.
    Never,
    /// `unexpected` (the default): when the exit code is not in `exitcodes`.
    Unexpected,
    /// `true`: always.
    Always,
}

/// Where a program's output goes (`stdout_logfile`, `stderr_logfile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFile {
    /// `AUTO` (the default): supervisord picks a file in its log directory; the supervisor
    /// decides what that means in a container.
    Auto,
    /// `NONE`: discarded.
    None,
    /// `syslog`.
    Syslog,
    /// A path inside the container, e.g. `/dev/stdout`.
    Path(String),
}

/// One process to run: a `[program:x]` instance (one per `numprocs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The process name (`process_name` expanded), unique in its group.
    pub name: String,
    /// The `x` of `[program:x]`.
    pub program: String,
    /// The `[group:g]` it belongs to, or its program name.
    pub group: String,
    /// This instance's number, `numprocs_start` upwards.
    pub process_num: u32,
    /// The command line, expanded but not split: see [`Program::argv`].
    pub command: String,
    /// Lower starts first and stops last (default 999).
    pub priority: i32,
    /// Start with the supervisor (default true).
    pub autostart: bool,
    /// Restart policy (default `unexpected`).
    pub autorestart: AutoRestart,
    /// Seconds a start must last to count as started (default 1).
    pub startsecs: u32,
    /// Failed starts retried before giving up (default 3).
    pub startretries: u32,
    /// Exit codes that are expected (default `0`).
    pub exitcodes: Vec<u8>,
    /// Signal that stops it (default TERM).
    pub stopsignal: Signal,
    /// Seconds from the stop signal to SIGKILL (default 10).
    pub stopwaitsecs: u32,
    /// Send the stop signal to the process group (default false).
    pub stopasgroup: bool,
    /// Send SIGKILL to the process group (default: `stopasgroup`).
    pub killasgroup: bool,
    /// User to run as, name or uid, resolved when it starts.
    pub user: Option<String>,
    /// Working directory.
    pub directory: Option<String>,
    /// Umask (octal in the file).
    pub umask: Option<u32>,
    /// Added to the environment (over `[supervisord] environment`).
    pub environment: BTreeMap<String, String>,
    /// Send stderr to stdout's destination (default false).
    pub redirect_stderr: bool,
    /// Where stdout goes (default `AUTO`).
    pub stdout_logfile: LogFile,
    /// Where stderr goes (default `AUTO`).
    pub stderr_logfile: LogFile,
    /// The file that opened `[program:x]`.
    pub file: String,
}

impl Program {
    /// A `[program:NAME]` with `command` and every other key at supervisord's default
    /// (`file` says where it came from).
    pub fn with_defaults(name: &str, command: &str, file: &str) -> Program {
        Program {
            name: name.to_owned(),
            program: name.to_owned(),
            group: name.to_owned(),
            process_num: 0,
            command: command.to_owned(),
            priority: 999,
            autostart: true,
            autorestart: AutoRestart::Unexpected,
            startsecs: 1,
            startretries: 3,
            exitcodes: vec![0],
            stopsignal: Signal::SIGTERM,
            stopwaitsecs: 10,
            stopasgroup: false,
            killasgroup: false,
            user: None,
            directory: None,
            umask: None,
            environment: BTreeMap::new(),
            redirect_stderr: false,
            stdout_logfile: LogFile::Auto,
            stderr_logfile: LogFile::Auto,
            file: file.to_owned(),
        }
    }

    /// The command split like supervisord's `shlex.split`; the first word is looked up in PATH
    /// unless it contains a `/`. Never empty and the first word is never empty: [`load`] checks.
    pub fn argv(&self) -> Result<Vec<String>, SplitError> {
        split_command(&self.command)
    }
}

/// A `[group:g]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `g`.
    pub name: String,
    /// Program names, as listed.
    pub programs: Vec<String>,
    /// Lower starts first (default 999).
    pub priority: i32,
}

/// A whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Every instance, in start order: group priority, group name, priority, name.
    pub programs: Vec<Program>,
    /// `[group:*]` sections, by priority then name.
    pub groups: Vec<Group>,
    /// `[supervisord] nodaemon`.
    pub nodaemon: bool,
    /// `[supervisord] environment`: added to the environment of every program.
    pub environment: BTreeMap<String, String>,
    /// Files read, in order.
    pub files: Vec<String>,
    /// What was ignored and why.
    pub warnings: Vec<String>,
}

/// A configuration that can't be used, with where.
#[derive(Debug)]
pub struct ConfigError {
    /// The file (inside the container); empty for [`ConfigErrorKind::NotFound`].
    pub file: String,
    /// The line, when it is known.
    pub line: Option<usize>,
    /// The section, e.g. `program:web`.
    pub section: Option<String>,
    /// What is wrong (boxed to keep `Result`s small).
    pub kind: Box<ConfigErrorKind>,
}

/// What is wrong with a configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// None of [`CONFIG_PATHS`] exists and nothing matches [`CONF_D_PATTERN`].
    NotFound,
    /// The main file could not be read.
    Read(std::io::Error),
    /// A line that is not a comment, header, key or continuation.
    Syntax(&'static str),
    /// A required key is absent.
    MissingKey(&'static str),
    /// A key's value is not valid.
    Invalid {
        /// The key.
        key: String,
        /// The value, expanded.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// `%(name)s` with a name that has no value.
    UnknownName {
        /// The key.
        key: String,
        /// The name.
        name: String,
    },
    /// A value Python's `%` would reject, e.g. a stray `%`.
    BadFormat {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
    /// A program, process or group name with a space, `:` or `/`.
    BadName {
        /// The name.
        name: String,
    },
    /// `numprocs` > 1 but `process_name` has no `%(process_num)`.
    ProcessNameWithoutNum,
    /// `stopasgroup=true` with `killasgroup=false`.
    StopAsGroupWithoutKillAsGroup,
    /// A group lists a program without a `[program:x]`.
    UnknownProgram(String),
    /// Two instances with the same name in a group.
    DuplicateProcess(String),
    /// `command` can't be split into words.
    BadCommand(SplitError),
    /// `command` has no words, or its first word is empty.
    EmptyCommand,
    /// `[include]` without `files`.
    IncludeWithoutFiles,
    /// More than [`MAX_PROGRAMS`] processes.
    TooManyPrograms,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ConfigErrorKind::NotFound = *self.kind {
            return write!(
                f,
                "no supervisord configuration: none of {} exists and nothing matches {CONF_D_PATTERN}",
                CONFIG_PATHS.join(", ")
            );
        }
        if let Some(s) = &self.section {
            write!(f, "[{s}] in ")?;
        }
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        f.write_str(": ")?;
        match &*self.kind {
            ConfigErrorKind::NotFound => Ok(()),
            ConfigErrorKind::Read(_) => f.write_str("cannot read the file"),
            ConfigErrorKind::Syntax(m) => f.write_str(m),
            ConfigErrorKind::MissingKey(k) => write!(f, "missing {k:?}"),
            ConfigErrorKind::Invalid { key, value, expected } => write!(f, "{key} = {value:?}: expected {expected}"),
            ConfigErrorKind::UnknownName { key, name } => {
                write!(f, "{key}: unknown name {name:?} in %(...)")
            }
            ConfigErrorKind::BadFormat { key, reason } => write!(f, "{key}: {reason}"),
            ConfigErrorKind::BadName { name } => {
                write!(f, "invalid name {name:?}: names cannot contain spaces, \":\" or \"/\"")
            }
            ConfigErrorKind::ProcessNameWithoutNum => {
                f.write_str("process_name must contain %(process_num) when numprocs > 1")
            }
            ConfigErrorKind::StopAsGroupWithoutKillAsGroup => {
                f.write_str("stopasgroup = true needs killasgroup = true")
            }
            ConfigErrorKind::UnknownProgram(p) => write!(f, "programs names {p:?} but there is no [program:{p}]"),
            ConfigErrorKind::DuplicateProcess(n) => write!(f, "two processes named {n:?}"),
            ConfigErrorKind::BadCommand(e) => write!(f, "command: {e}"),
            ConfigErrorKind::EmptyCommand => f.write_str("command is empty"),
            ConfigErrorKind::IncludeWithoutFiles => f.write_str("[include] has no \"files\""),
            ConfigErrorKind::TooManyPrograms => {
                write!(f, "more than {MAX_PROGRAMS} processes (each numprocs instance counts)")
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ConfigErrorKind::Read(e) => Some(e),
            _ => None,
        }
    }
}

fn host(root: &Path, path: &str) -> std::path::PathBuf {
    root.join(path.trim_start_matches('/'))
}

fn dir_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    }
}

/// Finds and reads the configuration under `root` (the container's root; `/` in the container)
/// and builds the programs. Paths in the result and in errors are paths inside the container.
///
/// Paths are joined to `root` and opened normally, so absolute symlinks resolve against the
/// real `/`: that is right in the container, where `root` is `/`; other roots are for tests and
/// must not hold untrusted symlinks.
pub fn load(root: &Path, ctx: &Context) -> Result<Config, ConfigError> {
    let mut ini = Ini::default();
    let mut warnings = Vec::new();
    let mut files = Vec::new();
    let read = |ini: &mut Ini, file: &str| -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(host(root, file)).map_err(|e| ConfigError {
            file: file.to_string(),
            line: None,
            section: None,
            kind: Box::new(ConfigErrorKind::Read(e)),
        })?;
        ini.read(&text, file).map_err(|e| ConfigError {
            file: file.to_string(),
            line: Some(e.line),
            section: None,
            kind: Box::new(ConfigErrorKind::Syntax(e.message)),
        })
    };
    let included = match CONFIG_PATHS.iter().find(|p| host(root, p).is_file()) {
        Some(main) => {
            read(&mut ini, main)?;
            files.push(main.to_string());
            let mut included = Vec::new();
            if let Some(inc) = ini.section("include") {
                let err = |line, kind| ConfigError {
                    file: main.to_string(),
                    line,
                    section: Some("include".into()),
                    kind: Box::new(kind),
                };
                let v = inc.get("files").ok_or_else(|| err(Some(inc.line), ConfigErrorKind::IncludeWithoutFiles))?;
                let args = common_args(ctx, v);
                let patterns = format::format(&v.text, &args).map_err(|e| format_error(e, "files", v, "include"))?;
                let here = dir_of(main);
                for pattern in patterns.split_whitespace() {
                    let full = if pattern.starts_with('/') { pattern.to_string() } else { format!("{here}/{pattern}") };
                    let found = glob::glob(root, &full);
                    if found.is_empty() {
                        warnings.push(format!("[include] in {main}: no file matches {full:?}"));
                    }
                    included.extend(found);
                }
            }
            included
        }
        None => {
            let found = glob::glob(root, CONF_D_PATTERN);
            if found.is_empty() {
                return Err(ConfigError {
                    file: String::new(),
                    line: None,
                    section: None,
                    kind: Box::new(ConfigErrorKind::NotFound),
                });
            }
            warnings.push(format!("no {} or {}: reading {CONF_D_PATTERN}", CONFIG_PATHS[0], CONFIG_PATHS[1]));
            found
        }
    };
    for file in included {
        match read(&mut ini, &file) {
            Ok(()) => files.push(file),
            // supervisord (RawConfigParser.read) skips files it cannot open.
            Err(e) => match *e.kind {
                ConfigErrorKind::Read(io) => warnings.push(format!("{file}: cannot read the file, skipped: {io}")),
                _ => return Err(e),
            },
        }
    }
    build(&ini, ctx, files, warnings)
}

/// `ENV_*`, `here` (the directory of `v`'s file) and `host_node_name`.
fn common_args(ctx: &Context, v: &Value) -> BTreeMap<String, Arg> {
    let mut args: BTreeMap<String, Arg> =
        ctx.env.iter().map(|(k, v)| (format!("ENV_{k}"), Arg::Str(v.clone()))).collect();
    args.insert("here".into(), Arg::Str(dir_of(&v.file).to_string()));
    args.insert("host_node_name".into(), Arg::Str(ctx.host_node_name.clone()));
    args
}

fn format_error(e: FormatError, key: &str, v: &Value, section: &str) -> ConfigError {
    let kind = match e {
        FormatError::UnknownName(name) => ConfigErrorKind::UnknownName { key: key.into(), name },
        FormatError::Bad(reason) => ConfigErrorKind::BadFormat { key: key.into(), reason },
    };
    ConfigError { file: v.file.clone(), line: Some(v.line), section: Some(section.into()), kind: Box::new(kind) }
}

/// Reads one section's values with expansions.
struct Reader<'a> {
    section: &'a Section,
    ctx: &'a Context,
    /// Names besides `ENV_*`, `here` and `host_node_name`.
    extra: BTreeMap<String, Arg>,
}

impl Reader<'_> {
    fn err(&self, v: Option<&Value>, kind: ConfigErrorKind) -> ConfigError {
        ConfigError {
            file: v.map_or(&self.section.file, |v| &v.file).clone(),
            line: Some(v.map_or(self.section.line, |v| v.line)),
            section: Some(self.section.name.clone()),
            kind: Box::new(kind),
        }
    }

    /// The expanded value of `key`, if set.
    fn get(&self, key: &str) -> Result<Option<(String, &Value)>, ConfigError> {
        let Some(v) = self.section.get(key) else { return Ok(None) };
        let mut args = common_args(self.ctx, v);
        args.extend(self.extra.iter().map(|(k, a)| (k.clone(), a.clone())));
        let s = format::format(&v.text, &args).map_err(|e| format_error(e, key, v, &self.section.name))?;
        Ok(Some((s, v)))
    }

    /// The value of `key` converted by `parse`, or `default`.
    fn parse<T>(
        &self,
        key: &str,
        default: T,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ConfigError> {
        match self.get(key)? {
            None => Ok(default),
            Some((s, v)) => parse(&s).ok_or_else(|| {
                self.err(Some(v), ConfigErrorKind::Invalid { key: key.into(), value: s.clone(), expected })
            }),
        }
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        self.parse(key, default, "true or false", boolean)
    }

    fn int<T: std::str::FromStr>(&self, key: &str, default: T, expected: &'static str) -> Result<T, ConfigError> {
        self.parse(key, default, expected, |s| s.trim().parse().ok())
    }

    fn name(&self, name: &str, v: Option<&Value>) -> Result<String, ConfigError> {
        let name = name.trim();
        if name.contains([' ', ':', '/']) || name.is_empty() {
            return Err(self.err(v, ConfigErrorKind::BadName { name: name.into() }));
        }
        Ok(name.to_string())
    }
}

fn boolean(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn auto_restart(s: &str) -> Option<AutoRestart> {
    match s.to_lowercase().as_str() {
        "unexpected" => Some(AutoRestart::Unexpected),
        l => boolean(l).map(|b| if b { AutoRestart::Always } else { AutoRestart::Never }),
    }
}

/// A signal as supervisord reads one: a number, or a name with or without `SIG`, any case.
pub fn signal(s: &str) -> Option<Signal> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let up = s.to_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    name.parse().ok()
}

fn exitcodes(s: &str) -> Option<Vec<u8>> {
    s.split(',').map(|c| c.trim().parse::<u8>().ok()).collect()
}

fn octal(s: &str) -> Option<u32> {
    let s = s.trim();
    let s = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")).unwrap_or(s);
    u32::from_str_radix(s, 8).ok()
}

fn logfile(s: &str) -> Option<LogFile> {
    Some(match s.to_lowercase().as_str() {
        "auto" => LogFile::Auto,
        "none" => LogFile::None,
        "syslog" => LogFile::Syslog,
        _ => LogFile::Path(s.to_string()),
    })
}

fn list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()
}

/// Keys of `[program:x]` that are read.
const PROGRAM_KEYS: [&str; 21] = [
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "autorestart",
    "startsecs",
    "startretries",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "directory",
    "umask",
    "environment",
    "redirect_stderr",
    "stdout_logfile",
    "stderr_logfile",
];

/// Keys of `[program:x]` that supervisord knows and berth ignores: log rotation, capture mode,
/// events, syslog and the XML-RPC URL.
const IGNORED_PROGRAM_KEYS: [&str; 11] = [
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "serverurl",
];

fn build(ini: &Ini, ctx: &Context, files: Vec<String>, mut warnings: Vec<String>) -> Result<Config, ConfigError> {
    let mut config = Config { files, ..Config::default() };
    if let Some(s) = ini.section("supervisord") {
        let r = Reader { section: s, ctx, extra: BTreeMap::new() };
        config.nodaemon = r.boolean("nodaemon", false)?;
        config.environment =
            r.parse("environment", BTreeMap::new(), "KEY=value pairs separated by commas", shlex::key_value_pairs)?;
    }
    let mut programs: Vec<&Section> = Vec::new();
    let mut groups: Vec<(Group, &Section)> = Vec::new();
    for s in &ini.sections {
        // Typed sections need their colon: supervisord ignores a bare `[program]`.
        let (kind, name) = match s.name.split_once(':') {
            Some((k, n)) => (k, Some(n)),
            None => (s.name.as_str(), None),
        };
        match (kind, name) {
            ("supervisord" | "include" | "unix_http_server" | "inet_http_server" | "supervisorctl", None)
            | ("rpcinterface" | "ctlplugin", Some(_)) => {}
            ("program", Some(_)) => programs.push(s),
            ("group", Some(name)) => {
                let r = Reader { section: s, ctx, extra: BTreeMap::new() };
                let name = r.name(name, None)?;
                let (list_s, _) =
                    r.get("programs")?.ok_or_else(|| r.err(None, ConfigErrorKind::MissingKey("programs")))?;
                let priority = r.int("priority", 999, "an integer")?;
                groups.push((Group { name, programs: list(&list_s), priority }, s));
            }
            ("eventlistener", Some(_)) => {
                warnings.push(format!("[{}] in {}: ignored: event listeners are not supported", s.name, s.file))
            }
            ("fcgi-program", Some(_)) => {
                warnings.push(format!("[{}] in {}: ignored: fcgi programs are not supported", s.name, s.file))
            }
            _ => warnings.push(format!("[{}] in {}: ignored: unknown section", s.name, s.file)),
        }
    }
    let section_of =
        |p: &str| programs.iter().copied().find(|s| s.name.split_once(':').map(|(_, n)| n.trim()) == Some(p));
    // (group priority, group name, program) in supervisord's start order.
    let mut out: Vec<(i32, Program)> = Vec::new();
    let mut grouped: Vec<&str> = Vec::new();
    for (g, s) in &groups {
        for p in &g.programs {
            let Some(ps) = section_of(p) else {
                let r = Reader { section: s, ctx, extra: BTreeMap::new() };
                return Err(r.err(s.get("programs"), ConfigErrorKind::UnknownProgram(p.clone())));
            };
            grouped.push(&ps.name);
            for prog in instances(ps, &g.name, ctx, &mut warnings)? {
                out.push((g.priority, prog));
            }
            too_many(&out, ps)?;
        }
    }
    for ps in &programs {
        if grouped.contains(&ps.name.as_str()) {
            continue;
        }
        let r = Reader { section: ps, ctx, extra: BTreeMap::new() };
        let name = r.name(ps.name.split_once(':').map_or("", |(_, n)| n), None)?;
        for prog in instances(ps, &name, ctx, &mut warnings)? {
            out.push((prog.priority, prog));
        }
        too_many(&out, ps)?;
    }
    out.sort_by(|(ga, a), (gb, b)| (ga, &a.group, a.priority, &a.name).cmp(&(gb, &b.group, b.priority, &b.name)));
    let mut seen = std::collections::BTreeSet::new();
    for (_, p) in &out {
        if !seen.insert((&p.group, &p.name)) {
            return Err(ConfigError {
                file: p.file.clone(),
                line: None,
                section: Some(format!("program:{}", p.program)),
                kind: Box::new(ConfigErrorKind::DuplicateProcess(p.name.clone())),
            });
        }
    }
    config.programs = out.into_iter().map(|(_, p)| p).collect();
    let mut groups: Vec<Group> = groups.into_iter().map(|(g, _)| g).collect();
    groups.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
    config.groups = groups;
    config.warnings = warnings;
    Ok(config)
}

fn too_many(out: &[(i32, Program)], s: &Section) -> Result<(), ConfigError> {
    if out.len() <= MAX_PROGRAMS {
        return Ok(());
    }
    Err(ConfigError {
        file: s.file.clone(),
        line: Some(s.line),
        section: Some(s.name.clone()),
        kind: Box::new(ConfigErrorKind::TooManyPrograms),
    })
}

/// The instances of one `[program:x]` section in group `group`.
fn instances(s: &Section, group: &str, ctx: &Context, warnings: &mut Vec<String>) -> Result<Vec<Program>, ConfigError> {
    let mut r = Reader { section: s, ctx, extra: BTreeMap::new() };
    let program = r.name(s.name.split_once(':').map_or("", |(_, n)| n), None)?;
    r.extra.insert("program_name".into(), Arg::Str(program.clone()));
    r.extra.insert("group_name".into(), Arg::Str(group.to_string()));
    for (k, _) in &s.keys {
        if !PROGRAM_KEYS.contains(&k.as_str()) && !IGNORED_PROGRAM_KEYS.contains(&k.as_str()) {
            warnings.push(format!("[{}] in {}: unknown key {k:?} ignored", s.name, s.file));
        }
    }
    let priority = r.int("priority", 999, "an integer")?;
    let autostart = r.boolean("autostart", true)?;
    let autorestart = r.parse("autorestart", AutoRestart::Unexpected, "true, false or unexpected", auto_restart)?;
    let startsecs = r.int("startsecs", 1, "a number of seconds")?;
    let startretries = r.int("startretries", 3, "a number of retries")?;
    let stopsignal = r.parse("stopsignal", Signal::SIGTERM, "a signal name or number", signal)?;
    let stopwaitsecs = r.int("stopwaitsecs", 10, "a number of seconds")?;
    let stopasgroup = r.boolean("stopasgroup", false)?;
    let killasgroup = r.boolean("killasgroup", stopasgroup)?;
    let exitcodes = r.parse("exitcodes", vec![0], "exit codes 0-255 separated by commas", exitcodes)?;
    let redirect_stderr = r.boolean("redirect_stderr", false)?;
    let numprocs: u32 = r.parse("numprocs", 1, "a number of processes, 1 to 1024", |s| {
        s.trim().parse().ok().filter(|n| (1..=MAX_PROGRAMS as u32).contains(n))
    })?;
    let numprocs_start: u32 = r.int("numprocs_start", 0, "a non-negative integer")?;
    let user = r.get("user")?.map(|(s, _)| s);
    let umask = r.parse("umask", None, "an octal number", |s| octal(s).map(Some))?;
    // process_name and the keys below see process_num; supervisord expands them per instance.
    let process_name = s.get("process_name");
    if numprocs > 1 && !process_name.is_some_and(|v| v.text.contains("%(process_num)")) {
        return Err(r.err(process_name, ConfigErrorKind::ProcessNameWithoutNum));
    }
    if stopasgroup && !killasgroup {
        return Err(r.err(s.get("killasgroup"), ConfigErrorKind::StopAsGroupWithoutKillAsGroup));
    }
    if s.get("command").is_none() {
        return Err(r.err(None, ConfigErrorKind::MissingKey("command")));
    }
    let mut out = Vec::new();
    for process_num in numprocs_start..numprocs_start.saturating_add(numprocs) {
        r.extra.insert("process_num".into(), Arg::Int(process_num.into()));
        r.extra.insert("numprocs".into(), Arg::Int(numprocs.into()));
        let name = match r.get("process_name")? {
            Some((n, v)) => r.name(&n, Some(v))?,
            None => program.clone(),
        };
        let (command, cv) = r.get("command")?.expect("checked above");
        match split_command(&command) {
            Ok(words) if words.first().is_none_or(String::is_empty) => {
                return Err(r.err(Some(cv), ConfigErrorKind::EmptyCommand));
            }
            Ok(_) => {}
            Err(e) => return Err(r.err(Some(cv), ConfigErrorKind::BadCommand(e))),
        }
        let environment =
            r.parse("environment", BTreeMap::new(), "KEY=value pairs separated by commas", shlex::key_value_pairs)?;
        out.push(Program {
            name,
            program: program.clone(),
            group: group.to_string(),
            process_num,
            command,
            priority,
            autostart,
            autorestart,
            startsecs,
            startretries,
            exitcodes: exitcodes.clone(),
            stopsignal,
            stopwaitsecs,
            stopasgroup,
            killasgroup,
            user: user.clone(),
            directory: r.get("directory")?.map(|(d, _)| d),
            umask,
            environment,
            redirect_stderr,
            stdout_logfile: r.parse("stdout_logfile", LogFile::Auto, "a path, AUTO or NONE", logfile)?,
            stderr_logfile: r.parse("stderr_logfile", LogFile::Auto, "a path, AUTO or NONE", logfile)?,
            file: s.file.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A container root in a fresh temporary directory, removed on drop.
    struct Root(PathBuf);

    impl Root {
        fn new() -> Root {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "berth-sv-config-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Root(dir)
        }

        fn write(&self, path: &str, text: &str) -> &Root {
            let p = host(&self.0, path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
            self
        }

        fn load(&self) -> Result<Config, ConfigError> {
            load(&self.0, &ctx())
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn ctx() -> Context {
        Context {
            env: BTreeMap::from([("HOME".into(), "/root".into()), ("APP".into(), "shop".into())]),
            host_node_name: "box1".into(),
        }
    }

    /// Loads `text` as `/etc/supervisord.conf`.
    fn parse(text: &str) -> Result<Config, ConfigError> {
        Root::new().write("/etc/supervisord.conf", text).load()
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const MAIN: &str = "\
; supervisor config file (Debian's, trimmed)
[unix_http_server]
file=/var/run/supervisor.sock   ; (the path to the socket file)
chmod=0700

[supervisord]
nodaemon=true
logfile=/var/log/supervisor/supervisord.log
environment=APP_ENV=\"prod, eu\",TZ=UTC

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix:///var/run/supervisor.sock

[group:web]
programs=nginx,php-fpm
priority=10

[include]
files = /etc/supervisor/conf.d/*.conf
";

    fn realistic() -> Root {
        let r = Root::new();
        r.write("/etc/supervisor/supervisord.conf", MAIN)
            .write(
                "/etc/supervisor/conf.d/nginx.conf",
                "[program:nginx]\ncommand=/usr/sbin/nginx -g 'daemon off;'\n\
                 stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nredirect_stderr=true\n\
                 priority=20\n",
            )
            .write(
                "/etc/supervisor/conf.d/php-fpm.conf",
                "[program:php-fpm]\ncommand=php-fpm8.2 -F\npriority=5\nautorestart=true\n\
                 stopsignal=QUIT\n",
            )
            .write(
                "/etc/supervisor/conf.d/worker.conf",
                "[program:worker]\n\
                 command=php /var/www/artisan queue:work\n\
                 \x20   --sleep=3 --name=%(program_name)s-%(process_num)d ; two lines\n\
                 process_name=%(program_name)s_%(process_num)02d\n\
                 numprocs=2\n\
                 directory=%(here)s/../app\n\
                 user=www-data\n\
                 environment=HOME=\"%(ENV_HOME)s\",QUEUE='jobs, high',NODE=%(host_node_name)s\n\
                 stopwaitsecs=60\n\
                 stopasgroup=true\n",
            );
        r
    }

    #[test]
    fn realistic_debian_layout() {
        let c = realistic().load().unwrap();
        assert_eq!(
            c.files,
            [
                "/etc/supervisor/supervisord.conf",
                "/etc/supervisor/conf.d/nginx.conf",
                "/etc/supervisor/conf.d/php-fpm.conf",
                "/etc/supervisor/conf.d/worker.conf",
            ]
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert!(c.nodaemon);
        assert_eq!(c.environment, BTreeMap::from([("APP_ENV".into(), "prod, eu".into()), ("TZ".into(), "UTC".into())]));
        assert_eq!(
            c.groups,
            [Group { name: "web".into(), programs: vec!["nginx".into(), "php-fpm".into()], priority: 10 }]
        );
        let order: Vec<(&str, &str)> = c.programs.iter().map(|p| (p.group.as_str(), p.name.as_str())).collect();
        // The web group (priority 10) first, php-fpm (5) before nginx (20) inside it; then worker (999).
        assert_eq!(order, [("web", "php-fpm"), ("web", "nginx"), ("worker", "worker_00"), ("worker", "worker_01")]);

        let nginx = &c.programs[1];
        assert_eq!(nginx.argv().unwrap(), ["/usr/sbin/nginx", "-g", "daemon off;"]);
        assert_eq!(nginx.stdout_logfile, LogFile::Path("/dev/stdout".into()));
        assert_eq!(nginx.stderr_logfile, LogFile::Auto);
        assert!(nginx.redirect_stderr);
        assert_eq!(nginx.file, "/etc/supervisor/conf.d/nginx.conf");
        let fpm = &c.programs[0];
        assert_eq!(fpm.autorestart, AutoRestart::Always);
        assert_eq!(fpm.stopsignal, Signal::SIGQUIT);

        let w = &c.programs[3];
        assert_eq!(w.program, "worker");
        assert_eq!(w.process_num, 1);
        assert_eq!(w.command, "php /var/www/artisan queue:work\n--sleep=3 --name=worker-1");
        assert_eq!(w.argv().unwrap(), ["php", "/var/www/artisan", "queue:work", "--sleep=3", "--name=worker-1"]);
        assert_eq!(w.directory.as_deref(), Some("/etc/supervisor/conf.d/../app"));
        assert_eq!(w.user.as_deref(), Some("www-data"));
        assert_eq!(
            w.environment,
            BTreeMap::from([
                ("HOME".into(), "/root".into()),
                ("QUEUE".into(), "jobs, high".into()),
                ("NODE".into(), "box1".into()),
            ])
        );
        assert_eq!(w.stopwaitsecs, 60);
        assert!(w.stopasgroup && w.killasgroup);
        assert_eq!(c.programs[2].command, "php /var/www/artisan queue:work\n--sleep=3 --name=worker-0");
    }

    #[test]
    fn defaults() {
        let c = parse("[program:app]\ncommand = app\n").unwrap();
        assert_eq!(c.programs, [Program::with_defaults("app", "app", "/etc/supervisord.conf")]);
        assert!(!c.nodaemon);
        assert!(c.environment.is_empty() && c.groups.is_empty() && c.warnings.is_empty());
    }

    #[test]
    fn values_are_converted() {
        let c = parse(
            "[program:a]\ncommand=a\nautostart=Off\nautorestart=FALSE\nstartsecs=0\nstartretries=10\n\
             exitcodes=0, 2,255\nstopsignal=sigusr1\nkillasgroup=yes\numask=022\npriority=-5\n\
             stdout_logfile=NONE\nstderr_logfile=syslog\nnumprocs=3\nnumprocs_start=7\n\
             process_name=%(program_name)s-%(process_num)s-of-%(numprocs)d\n\
             [program:b]\ncommand=b\nstopsignal=9\numask=0o7\n",
        )
        .unwrap();
        let a = &c.programs[0];
        assert!(!a.autostart);
        assert_eq!(a.autorestart, AutoRestart::Never);
        assert_eq!((a.startsecs, a.startretries, a.priority), (0, 10, -5));
        assert_eq!(a.exitcodes, [0, 2, 255]);
        assert_eq!(a.stopsignal, Signal::SIGUSR1);
        assert!(!a.stopasgroup && a.killasgroup);
        assert_eq!(a.umask, Some(0o22));
        assert_eq!((a.stdout_logfile.clone(), a.stderr_logfile.clone()), (LogFile::None, LogFile::Syslog));
        let names: Vec<&str> = c.programs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a-7-of-3", "a-8-of-3", "a-9-of-3", "b"]);
        assert_eq!(c.programs[3].stopsignal, Signal::SIGKILL);
        assert_eq!(c.programs[3].umask, Some(0o7));
    }

    #[test]
    fn booleans_accept_supervisords_spellings() {
        for (s, b) in [
            ("true", true),
            ("YES", true),
            ("on", true),
            ("1", true),
            ("False", false),
            ("no", false),
            ("OFF", false),
            ("0", false),
        ] {
            assert_eq!(boolean(s), Some(b), "{s}");
        }
        assert_eq!(boolean("y"), None);
        assert_eq!(boolean(""), None);
    }

    #[test]
    fn comments_and_continuations() {
        let c = parse(
            "# top\n[program:a]   ; trailing\n; whole line\ncommand = sh -c 'echo a;b'  ; comment\n\
             environment = A=1,\n   B=\"two words\" ; end\n  # indented comment inside\n   ,C=3\n",
        )
        .unwrap();
        assert_eq!(c.programs[0].argv().unwrap(), ["sh", "-c", "echo a;b"]);
        assert_eq!(c.programs[0].environment.len(), 3);
        assert_eq!(c.programs[0].environment["B"], "two words");
    }

    #[test]
    fn expansions() {
        let c = parse(
            "[program:a]\ncommand=run %(ENV_APP)s %(group_name)s %(host_node_name)s %(here)s 100%%\n\
             [group:g]\nprograms=a\n",
        )
        .unwrap();
        assert_eq!(c.programs[0].command, "run shop g box1 /etc 100%");
    }

    #[test]
    fn validation_errors() {
        let f = "/etc/supervisord.conf";
        let cases = [
            ("[program:web]\nuser=x\n", format!("[program:web] in {f}:1: missing \"command\"")),
            ("[group:g]\npriority=1\n", format!("[group:g] in {f}:1: missing \"programs\"")),
            (
                "[group:g]\nprograms=a,b\n[program:a]\ncommand=a\n",
                format!("[group:g] in {f}:2: programs names \"b\" but there is no [program:b]"),
            ),
            (
                "[program:w]\ncommand=w\nnumprocs=2\n",
                format!("[program:w] in {f}:1: process_name must contain %(process_num) when numprocs > 1"),
            ),
            (
                "[program:w]\ncommand=w\nnumprocs=2\nprocess_name=%(program_name)s\n",
                format!("[program:w] in {f}:4: process_name must contain %(process_num) when numprocs > 1"),
            ),
            (
                "[program:w]\ncommand=w\nnumprocs=4000000000\nprocess_name=%(process_num)d\n",
                format!("[program:w] in {f}:3: numprocs = \"4000000000\": expected a number of processes, 1 to 1024"),
            ),
            (
                "[program:w]\ncommand=w\nnumprocs=1000\nprocess_name=%(process_num)d\n\
                 [group:g]\nprograms=w,w\n",
                format!("[program:w] in {f}:1: more than 1024 processes (each numprocs instance counts)"),
            ),
            (
                "[program:w]\ncommand=w\nprocess_name=%(program_name)9999999999s\n",
                format!("[program:w] in {f}:3: process_name: a width or precision over 1048576"),
            ),
            (
                "[program:w]\ncommand=w\nstopasgroup=true\nkillasgroup=false\n",
                format!("[program:w] in {f}:4: stopasgroup = true needs killasgroup = true"),
            ),
            (
                "[program:w]\ncommand=w\nautostart=maybe\n",
                format!("[program:w] in {f}:3: autostart = \"maybe\": expected true or false"),
            ),
            (
                "[program:w]\ncommand=w\nautorestart=sometimes\n",
                format!("[program:w] in {f}:3: autorestart = \"sometimes\": expected true, false or unexpected"),
            ),
            (
                "[program:w]\ncommand=w\npriority=high\n",
                format!("[program:w] in {f}:3: priority = \"high\": expected an integer"),
            ),
            (
                "[program:w]\ncommand=w\nstartsecs=-1\n",
                format!("[program:w] in {f}:3: startsecs = \"-1\": expected a number of seconds"),
            ),
            (
                "[program:w]\ncommand=w\nnumprocs=0\n",
                format!("[program:w] in {f}:3: numprocs = \"0\": expected a number of processes, 1 to 1024"),
            ),
            (
                "[program:w]\ncommand=w\nexitcodes=0,256\n",
                format!("[program:w] in {f}:3: exitcodes = \"0,256\": expected exit codes 0-255 separated by commas"),
            ),
            (
                "[program:w]\ncommand=w\nstopsignal=FOO\n",
                format!("[program:w] in {f}:3: stopsignal = \"FOO\": expected a signal name or number"),
            ),
            (
                "[program:w]\ncommand=w\nstopsignal=99\n",
                format!("[program:w] in {f}:3: stopsignal = \"99\": expected a signal name or number"),
            ),
            (
                "[program:w]\ncommand=w\numask=8\n",
                format!("[program:w] in {f}:3: umask = \"8\": expected an octal number"),
            ),
            (
                "[program:w]\ncommand=w\nenvironment=A=$HOME\n",
                format!(
                    "[program:w] in {f}:3: environment = \"A=$HOME\": expected KEY=value pairs separated by commas"
                ),
            ),
            (
                "[program:w]\ncommand=w %(ENV_NOPE)s\n",
                format!("[program:w] in {f}:2: command: unknown name \"ENV_NOPE\" in %(...)"),
            ),
            (
                "[program:w]\ncommand=date +%s\n",
                format!("[program:w] in {f}:2: command: a \"%\" must be \"%%\" or start \"%(name)s\""),
            ),
            (
                "[program:w]\ncommand=w\npriority=%(process_num)d\n",
                format!("[program:w] in {f}:3: priority: unknown name \"process_num\" in %(...)"),
            ),
            ("[program:w]\ncommand=echo 'x\n", format!("[program:w] in {f}:2: command: no closing quotation")),
            ("[program:w]\ncommand=''\n", format!("[program:w] in {f}:2: command is empty")),
            ("[program:w]\ncommand=  ; nothing\n", format!("[program:w] in {f}:2: command is empty")),
            (
                "[program:a b]\ncommand=w\n",
                format!("[program:a b] in {f}:1: invalid name \"a b\": names cannot contain spaces, \":\" or \"/\""),
            ),
            (
                "[program:w]\ncommand=w\nprocess_name=x/%(process_num)d\n",
                format!("[program:w] in {f}:3: invalid name \"x/0\": names cannot contain spaces, \":\" or \"/\""),
            ),
            (
                "[program:a]\ncommand=a\nprocess_name=same\n[program:b]\ncommand=b\nprocess_name=same\n[group:g]\nprograms=a,b\n",
                format!("[program:b] in {f}: two processes named \"same\""),
            ),
            // Not adjacent in start order: c's priority sits between a's and b's.
            (
                "[program:a]\ncommand=a\nprocess_name=same\npriority=1\n[program:b]\ncommand=b\nprocess_name=same\n\
                 priority=3\n[program:c]\ncommand=c\npriority=2\n[group:g]\nprograms=a,b,c\n",
                format!("[program:b] in {f}: two processes named \"same\""),
            ),
            (
                "[supervisord]\nnodaemon=sure\n",
                format!("[supervisord] in {f}:2: nodaemon = \"sure\": expected true or false"),
            ),
            ("[include]\nfile=x\n", format!("[include] in {f}:1: [include] has no \"files\"")),
            ("command=x\n", format!("{f}:1: line before the first [section] header")),
            ("[program:w]\ncommand\n", format!("{f}:2: expected \"key = value\"")),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), want, "{text}");
        }
    }

    #[test]
    fn ignored_and_unknown_sections_warn() {
        let c = parse(
            "[program:a]\ncommand=a\nstdout_logfile_maxbytes=0\nfoo=1\n[eventlistener:x]\ncommand=x\n\
             [fcgi-program:y]\ncommand=y\n[whatever]\n[program]\ncommand=p\n[inet_http_server]\nport=9001\n[ctlplugin:z]\n",
        )
        .unwrap();
        assert_eq!(c.programs.len(), 1);
        assert_eq!(
            c.warnings,
            [
                "[eventlistener:x] in /etc/supervisord.conf: ignored: event listeners are not supported",
                "[fcgi-program:y] in /etc/supervisord.conf: ignored: fcgi programs are not supported",
                "[whatever] in /etc/supervisord.conf: ignored: unknown section",
                "[program] in /etc/supervisord.conf: ignored: unknown section",
                "[program:a] in /etc/supervisord.conf: unknown key \"foo\" ignored",
            ]
        );
    }

    #[test]
    fn include_globs_in_pattern_order_each_sorted() {
        let r = Root::new();
        r.write("/etc/supervisord.conf", "[include]\nfiles = sv/*/*.conf single.ini missing/*.conf %(ENV_APP)s.conf\n")
            .write("/etc/sv/b/z.conf", "[program:z]\ncommand=z\n")
            .write("/etc/sv/b/a.conf", "[program:a]\ncommand=a\n")
            .write("/etc/sv/a/m.conf", "[program:m]\ncommand=m\n")
            .write("/etc/sv/a/.hidden.conf", "[program:h]\ncommand=h\n")
            .write("/etc/sv/a/m.conf.bak", "[program:bak]\ncommand=bak\n")
            .write("/etc/sv/file.conf", "not read: sv/*/ needs a directory\n")
            .write("/etc/single.ini", "[program:m]\ncommand=m2\n")
            .write("/etc/shop.conf", "[program:s]\ncommand=s\n");
        let c = r.load().unwrap();
        assert_eq!(
            c.files,
            [
                "/etc/supervisord.conf",
                "/etc/sv/a/m.conf",
                "/etc/sv/b/a.conf",
                "/etc/sv/b/z.conf",
                "/etc/single.ini",
                "/etc/shop.conf",
            ]
        );
        assert_eq!(c.warnings, ["[include] in /etc/supervisord.conf: no file matches \"/etc/missing/*.conf\""]);
        let cmds: Vec<&str> = c.programs.iter().map(|p| p.command.as_str()).collect();
        // Later files override keys of the same section.
        assert_eq!(cmds, ["a", "m2", "s", "z"]);
    }

    #[test]
    fn unreadable_include_is_skipped() {
        let r = Root::new();
        r.write("/etc/supervisord.conf", "[include]\nfiles=conf.d/*.conf\n")
            .write("/etc/conf.d/dir.conf/x", "")
            .write("/etc/conf.d/ok.conf", "[program:ok]\ncommand=ok\n");
        let c = r.load().unwrap();
        assert_eq!(c.programs.len(), 1);
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].starts_with("/etc/conf.d/dir.conf: cannot read the file, skipped"), "{:?}", c.warnings);
    }

    #[test]
    fn first_main_file_wins_and_includes_are_not_recursive() {
        let r = Root::new();
        r.write("/etc/supervisord.conf", "[include]\nfiles=a.conf\n")
            .write("/etc/supervisor/supervisord.conf", "[program:other]\ncommand=other\n")
            .write("/etc/a.conf", "[program:a]\ncommand=a\n[include]\nfiles=b.conf\n")
            .write("/etc/b.conf", "[program:b]\ncommand=b\n");
        let c = r.load().unwrap();
        assert_eq!(c.files, ["/etc/supervisord.conf", "/etc/a.conf"]);
        assert_eq!(c.programs.len(), 1);
        assert_eq!(c.programs[0].name, "a");
    }

    #[test]
    fn conf_d_without_main_file() {
        let r = Root::new();
        r.write("/etc/supervisor/conf.d/b.conf", "[program:b]\ncommand=b\n")
            .write("/etc/supervisor/conf.d/a.conf", "[program:a]\ncommand=a\ndirectory=%(here)s\n");
        let c = r.load().unwrap();
        assert_eq!(c.files, ["/etc/supervisor/conf.d/a.conf", "/etc/supervisor/conf.d/b.conf"]);
        assert_eq!(c.programs[0].directory.as_deref(), Some("/etc/supervisor/conf.d"));
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn nothing_found() {
        let e = Root::new().load().unwrap_err();
        assert!(matches!(*e.kind, ConfigErrorKind::NotFound));
        assert_eq!(
            e.to_string(),
            "no supervisord configuration: none of /etc/supervisord.conf, /etc/supervisor/supervisord.conf \
             exists and nothing matches /etc/supervisor/conf.d/*.conf"
        );
    }

    #[test]
    fn syntax_error_in_an_included_file_names_it() {
        let r = Root::new();
        r.write("/etc/supervisord.conf", "[include]\nfiles=x.conf\n").write("/etc/x.conf", "[program:x]\n\njunk\n");
        assert_eq!(r.load().unwrap_err().to_string(), "/etc/x.conf:3: expected \"key = value\"");
    }
}
