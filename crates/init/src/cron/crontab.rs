//! Crontab files and `--cron` flags.
//!
//! Three flavours, found by [`find_crontabs`] under a root directory:
//!
//! - `/etc/crontab` and `/etc/cron.d/NAME`: `SCHEDULE USER COMMAND` (Vixie/cronie/Debian). As in
//!   Debian's cron, `cron.d` files are read only if their name is made of letters, digits, `_`
//!   and `-`: this skips `foo.dpkg-old`, `foo~`, `.foo.swp`, `#foo#` and other leftovers.
//! - `/etc/crontabs/USER` (busybox crond, Alpine): `SCHEDULE COMMAND`, run as USER. Hidden
//!   files, names ending in `~` and busybox's `cron.update` are skipped.
//! - `--cron 'SCHEDULE COMMAND'` flags, through [`parse_flag`].
//!
//! All three use the same line syntax: blank lines and lines starting with `#` are skipped;
//! `NAME=value` lines (spaces around `=` allowed, the value optionally in single or double
//! quotes) set the environment of the jobs *below* them, as in Vixie cron; any other line is a
//! job. In the command an unescaped `%` ends the command and starts its standard input, where
//! each further unescaped `%` is a newline; `\%` is a literal `%`.
//!
//! A bad line does not stop the rest of the file: it is reported in [`Crontab::errors`] and
//! skipped, so one typo doesn't stop every job. `MAILTO`, `SHELL`, `CRON_TZ` and friends are
//! ordinary environment entries here: the runner decides what they mean (see the module docs of
//! [`crate::cron`]).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::{Schedule, ScheduleError};

/// One job from a crontab line or a `--cron` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// When it runs.
    pub schedule: Schedule,
    /// Whom it runs as; `None` for `--cron` flags (the init's own user).
    pub user: Option<String>,
    /// The command for `/bin/sh -c`.
    pub command: String,
    /// Standard input, from the `%` parts of the line.
    pub stdin: Option<String>,
    /// Environment assignments above the job in its file, in order; shared by the jobs of a
    /// file (a copy per job would make a crontab of n assignments and n jobs cost n² strings).
    pub env: Arc<[(String, String)]>,
    /// Where it came from, for messages: `/etc/crontab line 3`, `--cron`.
    pub origin: String,
}

/// What is wrong with a job line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryError {
    /// The schedule doesn't parse.
    Schedule(ScheduleError),
    /// The line ends before the user field.
    MissingUser,
    /// The line has no command.
    MissingCommand,
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryError::Schedule(e) => e.fmt(f),
            EntryError::MissingUser => write!(f, "no user field after the schedule"),
            EntryError::MissingCommand => write!(f, "no command after the schedule"),
        }
    }
}

impl std::error::Error for EntryError {}

/// A problem with one crontab line or file.
#[derive(Debug)]
pub enum CrontabError {
    /// A line that isn't a comment, an assignment or a valid job; it was skipped.
    Line {
        /// File and line: `/etc/cron.d/backup line 4`, or `--cron`.
        origin: String,
        /// What is wrong.
        problem: EntryError,
    },
    /// A file or directory that exists but could not be read.
    Read {
        /// Path relative to the root, e.g. `/etc/crontab`.
        path: String,
        /// What the read returned.
        source: std::io::Error,
    },
}

impl fmt::Display for CrontabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrontabError::Line { origin, problem } => write!(f, "{origin}: {problem}"),
            CrontabError::Read { path, .. } => write!(f, "reading {path}"),
        }
    }
}

impl std::error::Error for CrontabError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CrontabError::Read { source, .. } => Some(source),
            CrontabError::Line { .. } => None,
        }
    }
}

/// The jobs of one or more crontab files, and the lines or files that were skipped.
#[derive(Debug, Default)]
pub struct Crontab {
    /// Valid jobs, in file and line order.
    pub jobs: Vec<Job>,
    /// Skipped lines and unreadable files.
    pub errors: Vec<CrontabError>,
}

/// Parses a crontab. With `has_user_field` (`/etc/crontab`, `cron.d`) each job names its user
/// after the schedule; without it (`/etc/crontabs/USER`) `user` is `None` and the caller sets it.
/// Origins are `line N`.
pub fn parse_crontab(text: &str, has_user_field: bool) -> Crontab {
    let mut out = Crontab::default();
    let mut env: Vec<(String, String)> = Vec::new();
    // `env` as the jobs below it share it, made again after an assignment.
    let mut shared: Arc<[(String, String)]> = Arc::new([]);
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let origin = format!("line {}", n + 1);
        if let Some(kv) = assignment(trimmed) {
            env.push(kv);
            continue;
        }
        if shared.len() != env.len() {
            shared = env.as_slice().into();
        }
        match parse_entry(trimmed, has_user_field) {
            Ok((schedule, user, command, stdin)) => {
                out.jobs.push(Job { schedule, user, command, stdin, env: Arc::clone(&shared), origin });
            }
            Err(problem) => out.errors.push(CrontabError::Line { origin, problem }),
        }
    }
    out
}

/// Parses a `--cron 'SCHEDULE COMMAND'` flag.
pub fn parse_flag(flag: &str) -> Result<Job, CrontabError> {
    let origin = "--cron".to_string();
    match parse_entry(flag.trim_start(), false) {
        Ok((schedule, user, command, stdin)) => Ok(Job { schedule, user, command, stdin, env: Arc::new([]), origin }),
        Err(problem) => Err(CrontabError::Line { origin, problem }),
    }
}

/// Reads `/etc/crontab`, `/etc/cron.d/*` and `/etc/crontabs/*` under `root`, in that order (files
/// of a directory by name). Missing files and directories are not errors.
pub fn find_crontabs(root: &Path) -> Crontab {
    let mut out = Crontab::default();
    add_file(&mut out, root, "/etc/crontab", true, None);
    for name in dir_names(&mut out, root, "/etc/cron.d") {
        if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            add_file(&mut out, root, &format!("/etc/cron.d/{name}"), true, None);
        }
    }
    for name in dir_names(&mut out, root, "/etc/crontabs") {
        if !name.starts_with('.') && !name.ends_with('~') && name != "cron.update" {
            add_file(&mut out, root, &format!("/etc/crontabs/{name}"), false, Some(&name));
        }
    }
    out
}

fn dir_names(out: &mut Crontab, root: &Path, dir: &str) -> Vec<String> {
    let entries = match std::fs::read_dir(root.join(&dir[1..])) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(source) => {
            out.errors.push(CrontabError::Read { path: dir.to_string(), source });
            return Vec::new();
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

fn add_file(out: &mut Crontab, root: &Path, path: &str, has_user_field: bool, user: Option<&str>) {
    let text = match std::fs::read_to_string(root.join(&path[1..])) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(source) => {
            out.errors.push(CrontabError::Read { path: path.to_string(), source });
            return;
        }
    };
    let tab = parse_crontab(&text, has_user_field);
    out.jobs.extend(tab.jobs.into_iter().map(|mut j| {
        j.origin = format!("{path} {}", j.origin);
        if let Some(u) = user {
            j.user = Some(u.to_string());
        }
        j
    }));
    out.errors.extend(tab.errors.into_iter().map(|e| match e {
        CrontabError::Line { origin, problem } => CrontabError::Line { origin: format!("{path} {origin}"), problem },
        read => read,
    }));
}

/// `NAME=value` as Vixie cron reads it: the name has no blanks, blanks around `=` are allowed,
/// and a value wholly in matching quotes loses them.
fn assignment(line: &str) -> Option<(String, String)> {
    let (name, value) = line.split_once('=')?;
    let name = name.trim_end();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let value = value.trim();
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|&q| value.strip_prefix(q).and_then(|v| v.strip_suffix(q)).filter(|_| value.len() >= 2));
    Some((name.to_string(), unquoted.unwrap_or(value).to_string()))
}

type Entry = (Schedule, Option<String>, String, Option<String>);

/// Splits a job line into schedule, user (if `has_user_field`), command and stdin.
fn parse_entry(line: &str, has_user_field: bool) -> Result<Entry, EntryError> {
    let first = line.split_whitespace().next().unwrap_or("");
    let n = match first.to_ascii_lowercase().as_str() {
        "@every" => 2,
        f if f.starts_with('@') => 1,
        _ => 5,
    };
    let (words, rest) = take_words(line, n);
    let schedule = Schedule::parse(&words.join(" ")).map_err(EntryError::Schedule)?;
    let (user, rest) = if has_user_field {
        let (w, rest) = take_words(rest, 1);
        (Some(w.first().ok_or(EntryError::MissingUser)?.to_string()), rest)
    } else {
        (None, rest)
    };
    if rest.trim().is_empty() {
        return Err(EntryError::MissingCommand);
    }
    let (command, stdin) = split_percent(rest);
    Ok((schedule, user, command, stdin))
}

/// Up to `n` blank-separated words, and the rest of the line after the blanks that follow them.
fn take_words(s: &str, n: usize) -> (Vec<&str>, &str) {
    let mut words = Vec::new();
    let mut rest = s.trim_start();
    while words.len() < n && !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        words.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    (words, rest)
}

/// Cron's `%` rule: the command ends at the first unescaped `%`; the rest is stdin with each
/// unescaped `%` a newline. `\%` is `%` in both; other backslashes are kept.
fn split_percent(s: &str) -> (String, Option<String>) {
    let mut command = String::new();
    let mut stdin: Option<String> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let c = match c {
            '\\' if chars.peek() == Some(&'%') => {
                chars.next();
                '%'
            }
            '%' if stdin.is_none() => {
                stdin = Some(String::new());
                continue;
            }
            '%' => '\n',
            c => c,
        };
        stdin.as_mut().unwrap_or(&mut command).push(c);
    }
    (command, stdin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_crontab_with_users_env_and_comments() {
        let text = "\
# /etc/crontab: system-wide crontab
SHELL=/bin/sh
PATH = \"/usr/local/bin:/usr/bin:/bin\"

17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly
MAILTO='ops@example.com'
  @daily  www-data  /usr/bin/php   /srv/app/cron.php  # not a comment
@every 1m30s nobody echo tick
";
        let tab = parse_crontab(text, true);
        assert!(tab.errors.is_empty(), "{:?}", tab.errors);
        assert_eq!(tab.jobs.len(), 3);
        let j = &tab.jobs[0];
        assert_eq!(j.schedule, Schedule::parse("17 * * * *").unwrap());
        assert_eq!(j.user.as_deref(), Some("root"));
        assert_eq!(j.command, "cd / && run-parts --report /etc/cron.hourly");
        assert_eq!(j.stdin, None);
        assert_eq!(j.origin, "line 5");
        let path = ("PATH".to_string(), "/usr/local/bin:/usr/bin:/bin".to_string());
        assert_eq!(*j.env, [("SHELL".to_string(), "/bin/sh".to_string()), path.clone()]);
        // Assignments apply to the jobs below them only.
        let j = &tab.jobs[1];
        assert_eq!(j.schedule, Schedule::parse("0 0 * * *").unwrap());
        assert_eq!(j.user.as_deref(), Some("www-data"));
        assert_eq!(j.command, "/usr/bin/php   /srv/app/cron.php  # not a comment");
        assert_eq!(j.env.last(), Some(&("MAILTO".to_string(), "ops@example.com".to_string())));
        assert_eq!(tab.jobs[2].schedule, Schedule::Every(90));
        assert_eq!(tab.jobs[2].user.as_deref(), Some("nobody"));
    }

    #[test]
    fn busybox_crontab_has_no_user_field() {
        let tab = parse_crontab("*/5 * * * * /usr/bin/backup --quick\n@reboot echo up\n", false);
        assert!(tab.errors.is_empty());
        assert_eq!(tab.jobs[0].user, None);
        assert_eq!(tab.jobs[0].command, "/usr/bin/backup --quick");
        assert_eq!(tab.jobs[1].schedule, Schedule::Reboot);
        assert_eq!(tab.jobs[1].command, "echo up");
    }

    #[test]
    fn percent_is_stdin() {
        let tab = parse_crontab("0 0 * * * mail -s \"50\\% off\" root%Dear root,%%bye\\%\n", false);
        let j = &tab.jobs[0];
        assert_eq!(j.command, "mail -s \"50% off\" root");
        assert_eq!(j.stdin.as_deref(), Some("Dear root,\n\nbye%"));
        let j = parse_flag("* * * * * date +\\%s").unwrap();
        assert_eq!((j.command.as_str(), j.stdin), ("date +%s", None));
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let text = "61 * * * * root echo\n0 0 * * *\n@daily root\n* * * * * root ok\n* * * *\n";
        let tab = parse_crontab(text, true);
        assert_eq!(tab.jobs.len(), 1);
        assert_eq!(tab.jobs[0].command, "ok");
        let msgs: Vec<String> = tab.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "line 1: minute field \"61\": out of range 0-59",
                "line 2: no user field after the schedule",
                "line 3: no command after the schedule",
                "line 5: expected 5 fields (minute hour day-of-month month day-of-week) or an @macro, found 4 fields",
            ]
        );
    }

    #[test]
    fn cron_flags() {
        let j = parse_flag("@every 10s  echo hi").unwrap();
        assert_eq!(j.schedule, Schedule::Every(10));
        assert_eq!((j.user, j.command.as_str(), j.origin.as_str()), (None, "echo hi", "--cron"));
        let j = parse_flag("0 3 * * sun /backup.sh").unwrap();
        assert_eq!(j.command, "/backup.sh");
        let e = parse_flag("0 3 * * funday /backup.sh").unwrap_err();
        assert_eq!(e.to_string(), "--cron: day-of-week field \"funday\": not a number or name");
        assert_eq!(parse_flag("@hourly").unwrap_err().to_string(), "--cron: no command after the schedule");
    }

    #[test]
    fn finds_the_three_locations() {
        let root = std::env::temp_dir().join(format!("berth-cron-find-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("etc/cron.d")).unwrap();
        std::fs::create_dir_all(root.join("etc/crontabs")).unwrap();
        std::fs::write(root.join("etc/crontab"), "0 * * * * root hourly\n").unwrap();
        for name in ["b-job", "a_job", "x.dpkg-old", "y~", ".z.swp", "#w#", "v.conf"] {
            std::fs::write(root.join("etc/cron.d").join(name), format!("0 0 * * * root {name}\n")).unwrap();
        }
        std::fs::write(root.join("etc/crontabs/alice"), "* * * * * whoami\nbad line\n").unwrap();
        std::fs::write(root.join("etc/crontabs/cron.update"), "alice\n").unwrap();
        std::fs::write(root.join("etc/crontabs/.hidden"), "* * * * * nope\n").unwrap();
        std::fs::create_dir(root.join("etc/crontabs/subdir")).unwrap();
        let tab = find_crontabs(&root);
        let got: Vec<(&str, Option<&str>, &str)> =
            tab.jobs.iter().map(|j| (j.origin.as_str(), j.user.as_deref(), j.command.as_str())).collect();
        assert_eq!(
            got,
            [
                ("/etc/crontab line 1", Some("root"), "hourly"),
                ("/etc/cron.d/a_job line 1", Some("root"), "a_job"),
                ("/etc/cron.d/b-job line 1", Some("root"), "b-job"),
                ("/etc/crontabs/alice line 1", Some("alice"), "whoami"),
            ]
        );
        let msgs: Vec<String> = tab.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "/etc/crontabs/alice line 2: expected 5 fields (minute hour day-of-month month day-of-week) or an @macro, found 2 fields"
            ]
        );
        std::fs::remove_dir_all(&root).unwrap();
        // An empty root has no jobs and no errors.
        let tab = find_crontabs(&root);
        assert!(tab.jobs.is_empty() && tab.errors.is_empty());
    }

    #[test]
    fn jobs_share_the_environment_above_them() {
        // 20000 assignments then 20000 jobs: a copy of the environment per job would be 400
        // million strings.
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("V{i}=x\n"));
        }
        text.push_str(&"@reboot root true\n".repeat(20_000));
        let tab = parse_crontab(&text, true);
        assert_eq!(tab.jobs.len(), 20_000);
        assert!(tab.jobs.iter().all(|j| Arc::ptr_eq(&j.env, &tab.jobs[0].env) && j.env.len() == 20_000));
        let tab = parse_crontab("A=1\n@reboot root a\nB=2\n@reboot root b\n@reboot root c\n", true);
        let envs: Vec<usize> = tab.jobs.iter().map(|j| j.env.len()).collect();
        assert_eq!(envs, [1, 2, 2]);
    }
}
