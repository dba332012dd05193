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
        Ok(plan) => run::run(plan),
        Err(e) => {
            eprintln!("berth-init: {e}");
            2
        }
    }
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
    p.programs.sort_by_key(|x| x.priority);
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
