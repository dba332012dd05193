//! Container lifecycle, end to end: each scenario runs through berth's own CLI and through the
//! real docker CLI against the same berth daemon, and checks outputs and exit codes.

mod common;
mod support;

use common::wait_until;
use support::{BOTH, cli, cli_stdin, setup};

#[test]
fn run_output_and_exit_codes() {
    let d = setup();
    for c in BOTH {
        let r = cli(&d, c, &["run", "--rm", "busybox", "echo", "hello", "world"]);
        assert_eq!((r.code, r.out()), (0, "hello world"), "{c:?}: {r:?}");

        let r = cli(&d, c, &["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]);
        assert_eq!(r.code, 3, "{c:?}: {r:?}");
        assert_eq!(r.out(), "out");
        assert!(r.stderr.contains("err"), "{c:?}: stderr {:?}", r.stderr);

        let r = cli(&d, c, &["run", "--rm", "busybox", "no-such-command"]);
        assert_eq!(r.code, 127, "{c:?}: {r:?}");
        assert!(r.stderr.contains("executable file not found"), "{c:?}: {}", r.stderr);

        let r = cli(&d, c, &["run", "--rm", "busybox", "/etc/passwd"]);
        assert_eq!(r.code, 126, "{c:?}: {r:?}");
        assert!(r.stderr.contains("permission denied"), "{c:?}: {}", r.stderr);

        let r = cli(&d, c, &["run", "--rm", "no-such-image:1"]);
        assert_eq!(r.code, 125, "{c:?}: {r:?}");
        assert!(r.stderr.contains("Unable to find image 'no-such-image:1' locally"), "{c:?}: {}", r.stderr);
    }
    // --rm left nothing behind.
    assert_eq!(d.berth(&["ps", "-aq"]).out(), "");
    d.assert_clean(&[]);
}

#[test]
fn the_command_is_pid_1() {
    let d = setup();
    for c in BOTH {
        // (A trailing `true` keeps sh from exec'ing its last command.)
        let r = cli(&d, c, &["run", "--rm", "busybox", "sh", "-c", "echo $$; ps -o pid,comm; true"]);
        let out = r.ok();
        assert!(out.starts_with("1\n"), "{c:?}: {out}");
        assert!(out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sh"]), "{c:?}: {out}");
        let r = cli(&d, c, &["run", "--rm", "busybox", "ps", "-o", "pid,comm"]);
        assert!(r.ok().lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "ps"]), "{c:?}: {r:?}");
        // busybox's CMD is `sh`: without -i it reads EOF and exits at once.
        let r = cli(&d, c, &["run", "--rm", "busybox"]);
        assert_eq!(r.code, 0, "{c:?}: {r:?}");
    }
}

#[test]
fn stdin_is_piped_with_dash_i() {
    let d = setup();
    let input: String = (1..=20000).map(|i| format!("line {i}\n")).collect();
    for c in BOTH {
        let r = cli_stdin(&d, c, &["run", "--rm", "-i", "busybox", "cat"], b"piped\n");
        assert_eq!(r.out(), "piped", "{c:?}: {r:?}");
        let r = cli_stdin(&d, c, &["run", "--rm", "-i", "busybox", "wc", "-l"], input.as_bytes());
        assert_eq!(r.out().trim(), "20000", "{c:?}: {r:?}");
        // Without -i the container's stdin is empty.
        let r = cli_stdin(&d, c, &["run", "--rm", "busybox", "cat"], b"ignored\n");
        assert_eq!(r.out(), "", "{c:?}: {r:?}");
    }
}

#[test]
fn user_env_workdir_hostname_entrypoint() {
    let d = setup();
    for c in BOTH {
        let r = cli(&d, c, &["run", "--rm", "-u", "nobody", "busybox", "id"]);
        assert_eq!(r.out(), "uid=65534(nobody) gid=65534(nogroup)", "{c:?}");
        let r = cli(&d, c, &["run", "--rm", "-u", "1234:5678", "busybox", "id"]);
        assert_eq!(r.out(), "uid=1234 gid=5678", "{c:?}");
        let r = cli(&d, c, &["run", "--rm", "-u", "ghost", "busybox", "id"]);
        assert_eq!(r.code, 125, "{c:?}: {r:?}");
        assert!(r.stderr.contains("unable to find user ghost"), "{c:?}: {}", r.stderr);
        let r =
            cli(&d, c, &["run", "--rm", "-e", "A=1", "-e", "B=two words", "busybox", "sh", "-c", "echo $A-$B-$HOME"]);
        assert_eq!(r.out(), "1-two words-/root", "{c:?}");
        let r = cli(&d, c, &["run", "--rm", "-w", "/made/for/you", "busybox", "pwd"]);
        assert_eq!(r.out(), "/made/for/you", "{c:?}");
        let r = cli(&d, c, &["run", "--rm", "-h", "myhost", "busybox", "sh", "-c", "hostname; cat /etc/hostname"]);
        assert_eq!(r.out(), "myhost\nmyhost", "{c:?}");
        let r = cli(&d, c, &["run", "--rm", "--entrypoint", "/bin/echo", "busybox", "via", "entrypoint"]);
        assert_eq!(r.out(), "via entrypoint", "{c:?}");
    }
    let envf = d.dir.path().join("env");
    std::fs::write(&envf, "# comment\nFROM_FILE=yes\n\n").unwrap();
    let r = d.berth(&["run", "--rm", "--env-file", envf.to_str().unwrap(), "busybox", "sh", "-c", "echo $FROM_FILE"]);
    assert_eq!(r.out(), "yes");
}

#[test]
fn detached_lifecycle() {
    let d = setup();
    for c in BOTH {
        let name = format!("life-{c:?}").to_lowercase();
        let id = cli(&d, c, &["run", "-d", "--name", &name, "busybox", "sleep", "1000"]).ok().trim().to_owned();
        assert_eq!(id.len(), 64, "{c:?}: {id}");
        let st = cli(&d, c, &["ps", "--filter", &format!("name={name}"), "--format", "{{.Names}} {{.Status}}"]);
        assert!(st.out().starts_with(&format!("{name} Up")), "{c:?}: {st:?}");
        // PID 1 ignores SIGTERM without a handler: stop kills it after the timeout.
        assert_eq!(cli(&d, c, &["stop", "-t", "1", &name]).out(), name);
        assert_eq!(cli(&d, c, &["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", &name]).out(), "exited 137");
        assert_eq!(cli(&d, c, &["start", &name]).out(), name);
        assert_eq!(cli(&d, c, &["inspect", "-f", "{{.State.Running}}", &name]).out(), "true");
        assert_eq!(cli(&d, c, &["restart", "-t", "0", &name]).out(), name);
        assert_eq!(cli(&d, c, &["kill", &name]).out(), name);
        assert_eq!(cli(&d, c, &["wait", &name]).out(), "137");
        let r = cli(&d, c, &["rm", &name]);
        assert_eq!(r.out(), name, "{c:?}: {r:?}");
        let r = cli(&d, c, &["inspect", &name]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
    }
    d.assert_clean(&[]);
}

#[test]
fn stop_uses_the_stop_signal_and_rm_needs_force() {
    let d = setup();
    let trap = "trap 'echo got-term; exit 0' TERM; while true; do sleep 0.1; done";
    d.berth(&["run", "-d", "--name", "trap", "busybox", "sh", "-c", trap]).ok();
    let r = d.berth(&["rm", "trap"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot remove container \"/trap\": container is running"), "{}", r.stderr);
    let t = std::time::Instant::now();
    d.docker(&["stop", "trap"]).ok();
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "stop waited for the timeout despite the handler");
    assert_eq!(d.berth(&["logs", "trap"]).out(), "got-term");
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.ExitCode}}", "trap"]).out(), "0");
    // A custom stop signal.
    d.berth(&[
        "run",
        "-d",
        "--name",
        "usr1",
        "--stop-signal",
        "USR1",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 5' USR1; while true; do sleep 0.1; done",
    ])
    .ok();
    d.berth(&["stop", "usr1"]).ok();
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.ExitCode}}", "usr1"]).out(), "5");
    d.rm_f_and_assert_clean(&["trap", "usr1"]);
}

#[test]
fn logs_follow_tail_timestamps() {
    let d = setup();
    d.berth(&[
        "run",
        "-d",
        "--name",
        "lg",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo late",
    ])
    .ok();
    wait_until(10, "first lines", || d.berth(&["logs", "lg"]).stdout.contains("line5"));
    for c in BOTH {
        let r = cli(&d, c, &["logs", "--tail", "2", "lg"]);
        assert_eq!(r.out(), "line4\nline5", "{c:?}: {r:?}");
        let r = cli(&d, c, &["logs", "-t", "lg"]);
        let first = r.stdout.lines().next().unwrap_or_default().to_owned();
        let (ts, rest) = first.split_once(' ').expect("timestamp then text");
        assert_eq!(rest, "line1");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{c:?}: bad timestamp {ts}");
        assert_eq!(ts.len(), "2006-01-02T15:04:05.000000000Z".len(), "{c:?}: timestamps have 9 digits: {ts}");
    }
    // -f follows until the container exits.
    let r = d.berth(&["logs", "-f", "lg"]);
    assert_eq!(r.out(), "line1\nline2\nline3\nline4\nline5\nlate");
    let r = d.docker(&["logs", "--since", "1h", "--until", "2099-01-01T00:00:00Z", "lg"]);
    assert!(r.ok().contains("line1"), "{r:?}");
    let r = d.docker(&["logs", "--since", "2099-01-01T00:00:00Z", "lg"]);
    assert_eq!(r.out(), "", "{r:?}");
    d.berth(&["rm", "lg"]).ok();
}

#[test]
fn exec_in_running_container() {
    let d = setup();
    d.berth(&["run", "-d", "--name", "ex", "busybox", "sleep", "1000"]).ok();
    for c in BOTH {
        let r = cli(
            &d,
            c,
            &["exec", "-e", "X=1", "-w", "/tmp", "-u", "nobody", "ex", "sh", "-c", "echo $X $(pwd) $(id -u); exit 4"],
        );
        assert_eq!((r.code, r.out()), (4, "1 /tmp 65534"), "{c:?}: {r:?}");
        let r = cli_stdin(&d, c, &["exec", "-i", "ex", "cat"], b"through exec\n");
        assert_eq!(r.out(), "through exec", "{c:?}: {r:?}");
        let r = cli(&d, c, &["exec", "ex", "no-such-command"]);
        assert_eq!(r.code, 126, "{c:?}: {r:?}");
        assert!(
            r.stdout.contains("executable file not found") || r.stderr.contains("executable file not found"),
            "{c:?}: {r:?}"
        );
        // The exec'd process is in the container's PID namespace.
        let r = cli(&d, c, &["exec", "ex", "ps", "-o", "pid,comm"]);
        assert!(r.ok().lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep"]), "{c:?}: {r:?}");
    }
    d.berth(&["exec", "-d", "ex", "sh", "-c", "echo detached > /tmp/d"]).ok();
    wait_until(5, "detached exec", || d.berth(&["exec", "ex", "cat", "/tmp/d"]).out() == "detached");
    d.berth(&["stop", "-t", "0", "ex"]).ok();
    let r = d.docker(&["exec", "ex", "true"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("is not running"), "{}", r.stderr);
    d.berth(&["rm", "ex"]).ok();
}

#[test]
fn pause_unpause_top_rename() {
    let d = setup();
    d.berth(&["run", "-d", "--name", "pz", "busybox", "sh", "-c", "while true; do sleep 0.2; done"]).ok();
    d.docker(&["pause", "pz"]).ok();
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.Status}}", "pz"]).out(), "paused");
    assert!(d.berth(&["ps", "--format", "{{.Status}}"]).out().ends_with("(Paused)"));
    let r = d.berth(&["exec", "pz", "true"]);
    assert_ne!(r.code, 0, "exec into a paused container must fail");
    d.berth(&["unpause", "pz"]).ok();
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.Status}}", "pz"]).out(), "running");
    let top = d.docker(&["top", "pz"]);
    assert!(top.ok().contains("while true"), "{top:?}");
    assert!(top.stdout.starts_with("UID"), "{top:?}");
    d.berth(&["rename", "pz", "pz2"]).ok();
    assert_eq!(d.docker(&["inspect", "-f", "{{.Name}}", "pz2"]).out(), "/pz2");
    d.berth(&["run", "-d", "--name", "other", "busybox", "sleep", "100"]).ok();
    let r = d.berth(&["rename", "other", "pz2"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is already in use"), "{}", r.stderr);
    let r = d.docker(&["run", "--name", "other", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("The container name \"/other\" is already in use"), "{}", r.stderr);
    d.rm_f_and_assert_clean(&["pz2", "other"]);
}

#[test]
fn restart_policies() {
    let d = setup();
    d.berth(&["run", "-d", "--name", "onf", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1"]).ok();
    wait_until(20, "two restarts", || {
        let s = d.berth(&["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "onf"]).out().to_owned();
        assert!(!s.starts_with('3'), "restarted more than twice: {s}\n{}", d.log());
        s == "2 exited"
    });
    d.berth(&["run", "-d", "--name", "alw", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 3"]).ok();
    wait_until(20, "always restarts", || {
        d.berth(&["inspect", "-f", "{{.RestartCount}}", "alw"]).out().parse::<u32>().unwrap_or(0) >= 2
    });
    // A manual stop ends the loop.
    d.berth(&["stop", "alw"]).ok();
    let n = d.berth(&["inspect", "-f", "{{.RestartCount}}", "alw"]).out().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(d.berth(&["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "alw"]).out(), format!("{n} exited"));
    let r = d.docker(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert_eq!(r.code, 125, "{r:?}");
}

#[test]
fn containers_survive_a_killed_daemon() {
    let mut d = setup();
    d.berth(&["run", "-d", "--name", "long", "busybox", "sleep", "1000"]).ok();
    d.berth(&["run", "-d", "--name", "short", "busybox", "sh", "-c", "echo before; sleep 2; echo after; exit 9"]).ok();
    d.berth(&["run", "-d", "--name", "back", "--restart", "always", "busybox", "sleep", "1000"]).ok();
    let pid = d.berth(&["inspect", "-f", "{{.State.Pid}}", "long"]).out().to_owned();
    d.kill9();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "the container died with the daemon");
    d.restart();
    // The running one is still running and reachable; the other's exit was learned.
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", "long"]).out(), format!("running {pid}"));
    assert_eq!(d.docker(&["exec", "long", "echo", "still here"]).out(), "still here");
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "short"]).out(), "exited 9");
    assert_eq!(d.berth(&["logs", "short"]).out(), "before\nafter");
    // A clean daemon stop leaves containers running too, and `always` ones are started again
    // if they were stopped while no daemon ran.
    let back_pid = d.berth(&["inspect", "-f", "{{.State.Pid}}", "back"]).out().to_owned();
    d.stop();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(back_pid.parse().unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    d.restart();
    wait_until(10, "the always container to come back", || {
        d.berth(&["inspect", "-f", "{{.State.Status}}", "back"]).out() == "running"
    });
    d.rm_f_and_assert_clean(&["long", "short", "back"]);
}

#[test]
fn init_reaps_and_forwards() {
    let d = setup();
    for c in BOTH {
        let r = cli(&d, c, &["run", "--rm", "--init", "busybox", "ps", "-o", "pid,comm"]);
        assert!(
            r.ok().lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "docker-init"]),
            "{c:?}: {r:?}"
        );
        let r = cli(&d, c, &["run", "--rm", "--init", "busybox", "sh", "-c", "kill -TERM $$"]);
        assert_eq!(r.code, 143, "{c:?}: {r:?}");
    }
    // Orphans are reaped: no zombie stays behind.
    d.berth(&["run", "-d", "--name", "zr", "--init", "busybox", "sh", "-c", "(sleep 0.1 &); sleep 1000"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(600));
    let ps = d.berth(&["exec", "zr", "ps", "-o", "stat,comm"]);
    assert!(!ps.ok().lines().any(|l| l.trim_start().starts_with('Z')), "zombie: {ps:?}");
    // With --init, SIGTERM reaches a shell that has no handler: stop is quick.
    let t = std::time::Instant::now();
    d.berth(&["stop", "zr"]).ok();
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    d.berth(&["rm", "zr"]).ok();
}

#[test]
fn create_then_start_and_ps_filters() {
    let d = setup();
    let id =
        d.docker(&["create", "--name", "cr", "-l", "tier=web", "busybox", "echo", "created"]).ok().trim().to_owned();
    assert_eq!(d.berth(&["ps", "-a", "--filter", "status=created", "--format", "{{.ID}}"]).out(), &id[..12]);
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.Status}}", "cr"]).out(), "created");
    let r = d.docker(&["start", "-a", "cr"]);
    assert_eq!(r.out(), "created", "{r:?}");
    assert_eq!(d.docker(&["ps", "-a", "--filter", "exited=0", "--format", "{{.Names}}"]).out(), "cr");
    assert_eq!(d.docker(&["ps", "-a", "--filter", "label=tier=web", "--format", "{{.Names}}"]).out(), "cr");
    assert_eq!(d.berth(&["ps", "-a", "--filter", "ancestor=busybox", "-q"]).out(), &id[..12]);
    let r = d.docker(&["ps", "--filter", "bogus=1"]);
    assert_ne!(r.code, 0);
    // Both CLIs print the same table.
    let b = d.berth(&["ps", "-a", "--format", "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Names}}"]);
    let k = d.docker(&["ps", "-a", "--format", "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Names}}"]);
    assert_eq!(b.out(), k.out());
    d.berth(&["container", "prune", "-f"]).ok();
    assert_eq!(d.berth(&["ps", "-aq"]).out(), "");
}
