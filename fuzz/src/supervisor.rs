//! supervisord's configuration (`init::supervisor::config::load`) and the supervisor's control
//! answers (`parse_status`, which the engine reads from a container).
//!
//! The input is `/etc/supervisord.conf` of a scratch root that also has
//! `/etc/supervisor/conf.d/extra.conf` (one program) for `[include]` to find.
//!
//! Properties of a configuration that loads: every program has a name without blanks, `:` or
//! `/`, unique in its group; its command splits into a non-empty first word; `numprocs` stays
//! within its bound; the main file is listed first among the files read. No panic, no hang, no
//! unbounded allocation (`%(x)999999999s`, `numprocs=4000000000`).

use std::collections::BTreeSet;
use std::fs;

use init::supervisor::config::{Context, load, signal, split_command};
use init::supervisor::{parse_status, status_line};

/// The target.
pub fn run(data: &[u8]) {
    let dir = crate::scratch();
    let root = dir.path();
    fs::create_dir_all(root.join("etc/supervisor/conf.d")).unwrap();
    fs::write(root.join("etc/supervisord.conf"), data).unwrap();
    fs::write(root.join("etc/supervisor/conf.d/extra.conf"), "[program:extra]\ncommand=/bin/true %(here)s\n").unwrap();
    let ctx = Context {
        env: [("HOME".to_owned(), "/root".to_owned()), ("N".to_owned(), "3".to_owned())].into(),
        host_node_name: "box".into(),
    };
    if let Ok(cfg) = load(root, &ctx) {
        assert_eq!(cfg.files.first().map(String::as_str), Some("/etc/supervisord.conf"));
        assert!(cfg.programs.len() <= init::supervisor::config::MAX_PROGRAMS, "{} programs", cfg.programs.len());
        let mut seen = BTreeSet::new();
        for p in &cfg.programs {
            assert!(!p.name.is_empty() && !p.name.contains([' ', ':', '/']), "bad name {:?}", p.name);
            assert!(seen.insert((p.group.clone(), p.name.clone())), "{}:{} twice", p.group, p.name);
            let argv = p.argv().expect("a loaded program's command splits");
            assert!(argv.first().is_some_and(|a| !a.is_empty()), "empty command {:?}", p.command);
        }
    }
    let text = String::from_utf8_lossy(data);
    for line in text.lines().take(64) {
        let _ = signal(line);
        let _ = split_command(line);
    }
    if let Ok(st) = parse_status(&text) {
        for p in &st {
            let _ = status_line(p);
        }
    }
}
