//! The built-in supervisor end to end: berth's init as PID 1 running several programs and cron
//! jobs (`--program`, `--cron`, an image's supervisord configuration, docker CLI labels), with
//! restarts, prefixed logs, orphan reaping and an ordered, clean stop.

mod common;

use common::{Daemon, wait_until};
use support::setup;

mod support;

fn ps(d: &Daemon, name: &str) -> String {
    d.berth(&["exec", name, "ps", "-o", "pid,ppid,stat,args"]).ok().to_owned()
}

/// PIDs of the processes whose command line contains `needle` (PID 1 left out: its own
/// command line names every program).
fn pids_of(d: &Daemon, name: &str, needle: &str) -> Vec<String> {
    ps(d, name)
        .lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|p| p != "1")
        .collect()
}

#[test]
fn programs_cron_restarts_reaping_and_a_clean_stop() {
    let d = setup();
    d.berth(&[
        "run",
        "-d",
        "--name",
        "sv",
        "--program",
        "web=httpd -f -p 8080",
        "--program",
        r#"worker=sh -c "while true; do echo tick; sleep 1; done""#,
        "--program",
        r#"orphans=sh -c "for i in 1 2 3; do (sleep 0.1 &); done; exec sleep 1000""#,
        "--cron",
        "@every 1s echo cron-ran",
        "busybox",
    ])
    .ok();
    // All three run, as children of PID 1, and the cron job fires.
    wait_until(10, "the programs and the cron job", || {
        let logs = d.berth(&["logs", "sv"]).stdout;
        logs.contains("worker | tick") && logs.contains("cron.1 | cron-ran")
    });
    let table = ps(&d, "sv");
    assert!(table.lines().next().is_some(), "{table}");
    for needle in ["httpd -f -p 8080", "while true", "sleep 1000"] {
        let line = table.lines().find(|l| l.contains(needle) && !l.contains("docker-init")).expect(needle);
        assert_eq!(line.split_whitespace().nth(1), Some("1"), "{needle} is not a child of PID 1: {table}");
    }
    // The orphans were reaped by PID 1: no zombie is left.
    wait_until(5, "orphans to be reaped", || !ps(&d, "sv").lines().any(|l| l.split_whitespace().nth(2) == Some("Z")));
    // A killed program is started again.
    let worker = pids_of(&d, "sv", "while true");
    assert_eq!(worker.len(), 1, "{}", ps(&d, "sv"));
    d.berth(&["exec", "sv", "kill", "-9", &worker[0]]).ok();
    wait_until(10, "the worker to be restarted", || {
        let now = pids_of(&d, "sv", "while true");
        now.len() == 1 && now != worker
    });
    // The settings are in inspect (berth's extension of HostConfig).
    assert_eq!(
        d.berth(&[
            "inspect",
            "-f",
            "{{index .HostConfig.Supervise.Programs 0}} {{len .HostConfig.Supervise.Cron}}",
            "sv"
        ])
        .out(),
        "web=httpd -f -p 8080 1"
    );
    // Control: `berth supervise` from the host and `supervisorctl` inside agree.
    wait_until(5, "every program RUNNING", || {
        let st = d.berth(&["supervise", "sv", "status"]).stdout;
        st.lines().count() == 3 && st.lines().all(|l| l.contains("RUNNING"))
    });
    let outside: Vec<String> = d
        .berth(&["supervise", "sv", "status"])
        .ok()
        .lines()
        .map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" "))
        .collect();
    let inside = d.berth(&["exec", "sv", "supervisorctl", "status"]);
    assert_eq!(inside.code, 0, "{inside:?}");
    let inside: Vec<String> =
        inside.stdout.lines().map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(outside, inside);
    assert!(outside[0].starts_with("web RUNNING pid "), "{outside:?}");
    d.berth(&["supervise", "sv", "stop", "worker"]).ok();
    assert!(d.berth(&["supervise", "sv", "status", "worker"]).out().contains("STOPPED"));
    assert!(pids_of(&d, "sv", "while true").is_empty());
    d.berth(&["exec", "sv", "supervisorctl", "start", "worker"]).ok();
    assert!(d.berth(&["supervise", "sv", "status", "worker"]).out().contains("worker"));
    assert_eq!(pids_of(&d, "sv", "while true").len(), 1);
    assert!(d.berth(&["supervise", "sv", "tail", "worker"]).out().lines().all(|l| l == "tick"));
    let inside = d.berth(&["exec", "sv", "supervisorctl", "tail", "worker"]);
    assert!(inside.out().lines().count() >= 1 && inside.out().lines().all(|l| l == "tick"), "{inside:?}");
    // The states are in inspect too (berth's extension).
    let states = d.berth(&["inspect", "-f", "{{range .Supervisor}}{{.Name}}={{.State}} {{end}}", "sv"]);
    let states: Vec<&str> = states.out().split_whitespace().collect();
    assert_eq!(states.len(), 3, "{states:?}");
    assert!(
        states[0] == "web=RUNNING" && states[1].starts_with("worker=") && states[2] == "orphans=RUNNING",
        "{states:?}"
    );
    let r = d.berth(&["supervise", "sv", "stop", "nope"]);
    assert!(r.stderr.contains("no such process nope"), "{r:?}");
    // Stop: every program goes with its stop signal, and the container says all went well.
    d.berth(&["stop", "sv"]).ok();
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.ExitCode}}", "sv"]).out(), "0");
    d.rm_f_and_assert_clean(&["sv"]);
}

#[test]
fn an_image_built_for_supervisord_runs_unchanged_and_stops_in_reverse_priority() {
    let d = setup();
    // An image carrying a real supervisord configuration, with an include and a group.
    let script = r#"mkdir -p /etc/supervisor/conf.d && cat > /etc/supervisor/supervisord.conf <<'EOF'
[supervisord]
nodaemon=true
environment=GREETING="hello there"

[unix_http_server]
file=/var/run/supervisor.sock

[program:first]
command=sh -c 'trap "echo first stopping; exit 0" TERM; echo "$GREETING from %(program_name)s"; while true; do sleep 0.1; done'
priority=10

[include]
files = conf.d/*.conf
EOF
cat > /etc/supervisor/conf.d/second.conf <<'EOF'
[program:second]
command=sh -c 'trap "echo second stopping; exit 0" TERM; echo second up; while true; do sleep 0.1; done'
priority=20
stopsignal=TERM
EOF"#;
    d.berth(&["run", "--name", "builder", "busybox", "sh", "-c", script]).ok();
    d.berth(&["commit", "-c", r#"CMD ["/usr/bin/supervisord", "-n"]"#, "builder", "supervised:1"]).ok();
    // docker CLI users opt in with a label; the image's CMD (supervisord itself) is replaced.
    d.docker(&["run", "-d", "--name", "app", "--label", "berth.supervise=true", "supervised:1"]).ok();
    wait_until(10, "both programs", || {
        let logs = d.berth(&["logs", "app"]).stdout;
        logs.contains("first | hello there from first") && logs.contains("second | second up")
    });
    d.berth(&["stop", "app"]).ok();
    let logs = d.berth(&["logs", "app"]).stdout;
    let second = logs.find("second | second stopping").expect("second stopped");
    let first = logs.find("first | first stopping").expect("first stopped");
    assert!(second < first, "higher priority must stop first:\n{logs}");
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.ExitCode}}", "app"]).out(), "0");
    d.rm_f_and_assert_clean(&["app", "builder"]);
}

#[test]
fn exit_on_a_program_and_bad_supervisor_settings() {
    let d = setup();
    d.berth(&[
        "run",
        "-d",
        "--name",
        "once",
        "--program",
        "job=sh -c 'sleep 1.2; exit 0'",
        "--program",
        "bg=sleep 1000",
        "--exit-on",
        "job",
        "busybox",
    ])
    .ok();
    wait_until(15, "the container to stop with its job", || {
        d.berth(&["inspect", "-f", "{{.State.Status}}", "once"]).out() == "exited"
    });
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.ExitCode}}", "once"]).out(), "0");
    // A wrong flag is the container's error, named.
    let r = d.berth(&["run", "--name", "bad", "--program", "a=true", "--exit-on", "nope", "busybox"]);
    assert_eq!(r.code, 2, "{r:?}");
    let logs = d.berth(&["logs", "bad"]);
    assert!(logs.stderr.contains("--exit-on nope: no such program"), "{logs:?}");
    // A supervisor running as another user still answers; supervised containers get a longer
    // default stop timeout for their programs' ordered stop.
    d.berth(&["run", "-d", "--name", "asuser", "--user", "1000", "--program", "a=sleep 1000", "busybox"]).ok();
    wait_until(5, "the program to run", || d.berth(&["supervise", "asuser", "status"]).stdout.contains("RUNNING"));
    let table = d.berth(&["exec", "asuser", "ps", "-o", "user,args"]).ok().to_owned();
    assert!(table.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1000", "sleep", "1000"]), "{table}");
    assert_eq!(d.berth(&["inspect", "-f", "{{.Config.StopTimeout}}", "asuser"]).out(), "30");
    d.rm_f_and_assert_clean(&["once", "bad", "asuser"]);
}
