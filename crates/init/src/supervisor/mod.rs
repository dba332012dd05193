//! berth's built-in supervisor: runs the programs of a supervisord configuration found in the
//! image, so images built for supervisord run without Python.
//!
//! - [`config`]: finds and parses supervisord's configuration into typed programs (no process
//!   handling).
//! - [`run`]: the event loop that runs them, with cron jobs, as PID 1.
//!
//! The init becomes the supervisor with `--supervise` (the engine passes it for `run
//! --supervise`): `docker-init --supervise [--program NAME=COMMAND]... [--cron 'SCHEDULE
//! COMMAND']... [--exit-on NAME]... [-- COMMAND...]`. Programs come from the image's supervisord
//! configuration and the `--program` flags; cron jobs from the image's crontabs and the `--cron`
//! flags. The container's command runs as program `main` only when nothing else is configured
//! (an image's `CMD` is usually `supervisord` itself, which berth replaces).

pub mod config;
pub mod run;

use std::collections::BTreeMap;
use std::path::Path;

use crate::cron::crontab;

/// The supervisor's command line, after `--supervise`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// `--program NAME=COMMAND`.
    pub programs: Vec<(String, String)>,
    /// `--cron 'SCHEDULE COMMAND'`.
    pub cron: Vec<String>,
    /// `--exit-on NAME`.
    pub exit_on: Vec<String>,
    /// The container's command (after `--`).
    pub command: Vec<String>,
}

/// Parses the arguments after `--supervise`.
pub fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--program" => {
                let v = value("--program")?;
                let (name, cmd) = v
                    .split_once('=')
                    .filter(|(n, c)| !n.is_empty() && !c.trim().is_empty())
                    .ok_or_else(|| format!("--program {v:?}: expected NAME=COMMAND"))?;
                if name == "all" || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-:".contains(&b)) {
                    return Err(format!(
                        "--program {v:?}: a program's name is letters, digits, '_', '.', '-' or ':', and not \"all\""
                    ));
                }
                a.programs.push((name.to_owned(), cmd.to_owned()));
            }
            "--cron" => a.cron.push(value("--cron")?),
            "--exit-on" => a.exit_on.push(value("--exit-on")?),
            "--" => {
                a.command = it.cloned().collect();
                break;
            }
            other => return Err(format!("unknown supervisor flag {other:?}")),
        }
    }
    Ok(a)
}

fn is_supervisord(cmd: &[String]) -> bool {
    cmd.iter().take(2).any(|w| Path::new(w).file_name().is_some_and(|n| n == "supervisord" || n == "supervisord.py"))
}

/// Builds the plan from the image (root `/`) and the flags, then runs it. Returns the exit
/// status of PID 1.
pub fn main(args: &[String]) -> i32 {
    let a = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("berth-init: {e}");
            return 2;
        }
    };
    match plan(Path::new("/"), a, std::env::vars().collect()) {
        Ok(mut plan) => {
            // The engine mounts a directory of its own here: the daemon reaches the socket there.
            if Path::new(CONTROL_DIR).is_dir() {
                plan.control = Some(Path::new(CONTROL_DIR).join(CONTROL_SOCKET));
            }
            run::run(plan)
        }
        Err(e) => {
            eprintln!("berth-init: {e}");
            2
        }
    }
}

/// The directory in the container where the engine mounts the supervisor's control socket's
/// directory.
pub const CONTROL_DIR: &str = "/run/berth";
/// The control socket's name in [`CONTROL_DIR`].
pub const CONTROL_SOCKET: &str = "control.sock";

/// The most an answer may hold (the status of a few thousand programs, or a 4 KiB tail): the
/// daemon reads answers from containers, which must not be able to make it allocate at will.
pub const MAX_ANSWER: u64 = 1 << 20;

/// How long a request may take from connect to the answer's end, in all.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends one control request to the supervisor listening on `socket`; returns its answer
/// (`ok` then data, or an `error: ...` line).
pub fn request(socket: &Path, req: &str) -> std::io::Result<String> {
    request_on(std::os::unix::net::UnixStream::connect(socket)?, req)
}

/// Sends one control request over a connected stream and reads the answer, at most
/// [`MAX_ANSWER`] bytes within [`REQUEST_TIMEOUT`] (a peer that trickles bytes can't hold the
/// caller longer).
pub fn request_on(mut c: std::os::unix::net::UnixStream, req: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + REQUEST_TIMEOUT;
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "the supervisor did not answer in time");
    c.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    c.write_all(format!("{req}\n").as_bytes())?;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.checked_duration_since(std::time::Instant::now()).filter(|d| !d.is_zero());
        c.set_read_timeout(Some(left.ok_or_else(timed_out)?))?;
        let n = match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(timed_out());
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if (out.len() + n) as u64 > MAX_ANSWER {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the supervisor's answer is larger than {MAX_ANSWER} bytes"),
            ));
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(out).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "the answer is not UTF-8"))
}

/// One program's line of `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramStatus {
    /// Name.
    pub name: String,
    /// supervisord's state name (`RUNNING`, `FATAL`, ...).
    pub state: String,
    /// PID (in the container's namespace), 0 when not running.
    pub pid: i32,
    /// Seconds since it started, 0 when not running.
    pub uptime: u64,
    /// `exit status 3`, `Not started`, ...
    pub description: String,
}

/// Parses the answer of `status`.
pub fn parse_status(answer: &str) -> Result<Vec<ProgramStatus>, String> {
    let mut lines = answer.lines();
    match lines.next() {
        Some("ok") => {}
        Some(e) => return Err(e.trim_start_matches("error: ").to_owned()),
        None => return Err("no answer from the supervisor".into()),
    }
    Ok(lines
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(5, '\t').collect();
            (f.len() == 5).then(|| ProgramStatus {
                name: f[0].to_owned(),
                state: f[1].to_owned(),
                pid: f[2].parse().unwrap_or(0),
                uptime: f[3].parse().unwrap_or(0),
                description: f[4].to_owned(),
            })
        })
        .collect())
}

/// supervisorctl's status line: `web    RUNNING   pid 7, uptime 0:00:05`.
pub fn status_line(p: &ProgramStatus) -> String {
    let detail = if p.state == "RUNNING" {
        let u = p.uptime;
        format!("pid {}, uptime {}:{:02}:{:02}", p.pid, u / 3600, (u / 60) % 60, u % 60)
    } else {
        p.description.clone()
    };
    format!("{:<33}{:<10}{detail}", p.name, p.state).trim_end().to_owned()
}

/// `supervisorctl` in the container (the berth binary under that name): `status [NAME...]`,
/// `start|stop|restart NAME...|all`, `signal SIG NAME...|all`, `tail NAME` (the last 4 KiB of
/// its output); supervisorctl's options (`-c
/// FILE`, `-s URL`, ...) are accepted and ignored. Exits 0; `status` 3 when a program isn't
/// RUNNING (as supervisorctl); 1 with the supervisor's error; 2 when it can't be reached.
pub fn ctl_main(args: &[String]) -> i32 {
    let mut words: Vec<&str> = Vec::new();
    let mut it = args.iter().skip(1).map(String::as_str);
    while let Some(a) = it.next() {
        match a {
            "-c" | "--configuration" | "-s" | "--serverurl" | "-u" | "--username" | "-p" | "--password" | "-r"
            | "--history-file" => {
                it.next();
            }
            _ if a.starts_with('-') => {}
            _ => words.push(a),
        }
    }
    let socket = Path::new(CONTROL_DIR).join(CONTROL_SOCKET);
    let ask = |req: &str| -> Result<String, i32> {
        request(&socket, req).map_err(|e| {
            eprintln!("supervisorctl: can't reach berth's supervisor at {}: {e}", socket.display());
            2
        })
    };
    let (verb, names) = words.split_first().map_or(("status", &[][..]), |(v, n)| (*v, n));
    if verb == "status" {
        let answer = match ask("status") {
            Ok(a) => a,
            Err(code) => return code,
        };
        return match parse_status(&answer) {
            Ok(list) => {
                let shown: Vec<&ProgramStatus> = list
                    .iter()
                    .filter(|p| names.is_empty() || names.iter().any(|n| *n == p.name || *n == "all"))
                    .collect();
                for p in &shown {
                    println!("{}", status_line(p));
                }
                if shown.iter().any(|p| p.state != "RUNNING") { 3 } else { 0 }
            }
            Err(e) => {
                eprintln!("supervisorctl: {e}");
                1
            }
        };
    }
    if verb == "tail" {
        let [name] = names else {
            eprintln!("supervisorctl: usage: tail NAME");
            return 2;
        };
        let answer = match ask(&format!("tail {name}")) {
            Ok(a) => a,
            Err(c) => return c,
        };
        return match answer.split_once('\n') {
            Some(("ok", text)) => {
                print!("{text}");
                0
            }
            _ => {
                eprintln!(
                    "{name}: ERROR ({})",
                    answer.lines().next().unwrap_or("no answer").trim_start_matches("error: ")
                );
                1
            }
        };
    }
    let (prefix, names) = match (verb, names) {
        ("signal", [sig, rest @ ..]) if !rest.is_empty() => (format!("signal {sig}"), rest),
        ("start" | "stop" | "restart", n) if !n.is_empty() => (verb.to_owned(), n),
        _ => {
            eprintln!(
                "supervisorctl: usage: status [NAME...] | start|stop|restart NAME...|all | signal SIG NAME...|all"
            );
            return 2;
        }
    };
    let mut code = 0;
    for name in names {
        let answer = match ask(&format!("{prefix} {name}")) {
            Ok(a) => a,
            Err(c) => return c,
        };
        match answer.lines().next() {
            Some("ok") => {
                let done = match verb {
                    "start" => "started",
                    "stop" => "stopped",
                    "restart" => "restarted",
                    _ => "signalled",
                };
                println!("{name}: {done}");
            }
            other => {
                eprintln!("{name}: ERROR ({})", other.unwrap_or("no answer").trim_start_matches("error: "));
                code = 1;
            }
        }
    }
    code
}

/// What to run, from the image under `root`, the flags and the container's environment.
pub fn plan(root: &Path, a: Args, env: BTreeMap<String, String>) -> Result<run::Plan, String> {
    let host_node_name =
        std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    let ctx = config::Context { env: env.clone(), host_node_name };
    let mut p = run::Plan { env, exit_on: a.exit_on, ..Default::default() };
    match config::load(root, &ctx) {
        Ok(cfg) => {
            for w in &cfg.warnings {
                eprintln!("berth-init: {w}");
            }
            p.env.extend(cfg.environment);
            p.programs = cfg.programs;
        }
        Err(e) if matches!(*e.kind, config::ConfigErrorKind::NotFound) => {}
        Err(e) => return Err(e.to_string()),
    }
    for (name, cmd) in a.programs {
        if p.programs.iter().any(|x| x.name == name) {
            return Err(format!("program {name:?} is defined twice"));
        }
        let prog = run::flag_program(&name, &cmd);
        prog.argv().map_err(|e| format!("--program {name}: {e}"))?;
        p.programs.push(prog);
    }
    if p.programs.is_empty() && !a.command.is_empty() && !is_supervisord(&a.command) {
        let words: Vec<String> = a.command.iter().map(|w| shell_quote(w)).collect();
        p.programs.push(run::flag_program("main", &words.join(" ")));
    }
    for name in &p.exit_on {
        if !p.programs.iter().any(|x| &x.name == name) {
            return Err(format!("--exit-on {name}: no such program"));
        }
    }
    let found = crontab::find_crontabs(root);
    for e in &found.errors {
        eprintln!("berth-init: cron: {e}");
    }
    p.jobs = found.jobs;
    for c in &a.cron {
        p.jobs.push(crontab::parse_flag(c).map_err(|e| e.to_string())?);
    }
    if p.programs.is_empty() && p.jobs.is_empty() {
        return Err("nothing to supervise: no supervisord configuration, --program, crontab or --cron".into());
    }
    let tz = std::env::var("TZ").ok();
    p.tz = Some(crate::cron::tz::TimeZone::load(root, tz.as_deref()).unwrap_or_else(|e| {
        eprintln!("berth-init: time zone: {e}; cron uses UTC");
        crate::cron::tz::TimeZone::utc()
    }));
    Ok(p)
}

/// Quotes a word for [`config::split_command`] (POSIX shell rules).
fn shell_quote(w: &str) -> String {
    if !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b)) {
        w.to_owned()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn args() {
        let a =
            parse_args(&s(&["--program", "web=httpd -f", "--cron", "@every 5s date", "--exit-on", "web", "--", "sh"]))
                .unwrap();
        assert_eq!(a.programs, vec![("web".to_owned(), "httpd -f".to_owned())]);
        assert_eq!((a.cron.len(), a.exit_on.len(), a.command.len()), (1, 1, 1));
        assert!(parse_args(&s(&["--program", "noequals"])).is_err());
        assert!(parse_args(&s(&["--bogus"])).is_err());
        assert!(parse_args(&s(&["--program", "a b=true"])).is_err());
        assert!(parse_args(&s(&["--program", "all=true"])).is_err());
    }

    #[test]
    fn plans_from_flags_config_and_command() {
        let root = tempfile_dir();
        let a = parse_args(&s(&["--program", "b=sleep 1", "--", "supervisord", "-n"])).unwrap();
        let p = plan(&root, a, BTreeMap::new()).unwrap();
        assert_eq!(p.programs.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ["b"]);
        let a = parse_args(&s(&["--", "sh", "-c", "echo 'a b'"])).unwrap();
        let p = plan(&root, a, BTreeMap::new()).unwrap();
        assert_eq!(p.programs[0].argv().unwrap(), ["sh", "-c", "echo 'a b'"]);
        assert!(plan(&root, Args::default(), BTreeMap::new()).unwrap_err().contains("nothing to supervise"));
        let a = parse_args(&s(&["--program", "x=true", "--exit-on", "y"])).unwrap();
        assert!(plan(&root, a, BTreeMap::new()).unwrap_err().contains("no such program"));
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/supervisord.conf"), "[program:cfg]\ncommand=sleep 5\npriority=5\n").unwrap();
        let a = parse_args(&s(&["--program", "flag=true"])).unwrap();
        let p = plan(&root, a, BTreeMap::new()).unwrap();
        assert_eq!(p.programs.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ["cfg", "flag"]);
        let _ = std::fs::remove_dir_all(&root);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("berth-sv-{}-{}", std::process::id(), line!()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
