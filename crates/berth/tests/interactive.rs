//! Terminals, attach, detach keys and signals, driven through a real pseudo-terminal, with
//! berth's CLI and the docker CLI.

mod common;
mod support;

use common::pty::Pty;
use common::wait_until;
use support::{BOTH, Cli, cli_cmd, setup};

#[test]
fn run_it_gives_a_shell_on_a_real_tty() {
    let d = setup();
    for c in BOTH {
        let mut p = Pty::spawn(cli_cmd(&d, c, &["run", "-it", "--rm", "busybox", "sh"]), 30, 100);
        p.expect("# ", 10);
        p.send(b"tty; stty size; echo $TERM; echo pid=$$\r");
        p.expect("100", 10);
        p.expect("pid=1", 10);
        let text = p.text();
        assert!(text.contains("/dev/pts/0"), "{text}");
        assert!(text.contains("30 100"), "{text}");
        assert!(text.contains("xterm"), "{text}");
        p.send(b"exit 7\r");
        assert_eq!(p.wait(10), 7, "{c:?}: {}", p.text());
    }
    assert_eq!(d.berth(&["ps", "-aq"]).out(), "");
}

#[test]
fn ctrl_c_reaches_pid_1_through_the_tty() {
    let d = setup();
    for c in BOTH {
        let script = "trap 'echo got-int; exit 3' INT; echo ready; while true; do sleep 0.1; done";
        let mut p = Pty::spawn(cli_cmd(&d, c, &["run", "-it", "--rm", "busybox", "sh", "-c", script]), 24, 80);
        p.expect("ready", 10);
        p.send(b"\x03");
        p.expect("got-int", 10);
        assert_eq!(p.wait(10), 3, "{c:?}: {}", p.text());
    }
}

#[test]
fn detach_keys_leave_it_running_and_attach_gets_back() {
    let d = setup();
    for c in BOTH {
        let name = match c {
            Cli::Berth => "det-berth",
            Cli::Docker => "det-docker",
        };
        let mut p = Pty::spawn(cli_cmd(&d, c, &["run", "-it", "--name", name, "busybox", "sh"]), 24, 80);
        p.expect("# ", 10);
        p.send(b"echo one\r");
        p.expect("one", 10);
        p.send(b"\x10\x11");
        assert_eq!(p.wait(10), 0, "detach should exit 0: {}", p.text());
        assert_eq!(d.berth(&["inspect", "-f", "{{.State.Running}}", name]).out(), "true");

        let mut a = Pty::spawn(cli_cmd(&d, c, &["attach", name]), 24, 80);
        std::thread::sleep(std::time::Duration::from_millis(300));
        a.send(b"echo back-again\r");
        a.expect("back-again", 10);
        // Custom detach keys.
        a.send(b"exit 4\r");
        assert_eq!(a.wait(10), 4, "{}", a.text());
        assert_eq!(d.berth(&["inspect", "-f", "{{.State.ExitCode}}", name]).out(), "4");

        let mut p = Pty::spawn(cli_cmd(&d, c, &["start", "-ai", "--detach-keys", "ctrl-a,x", name]), 24, 80);
        p.expect("# ", 10);
        p.send(b"\x01x");
        assert_eq!(p.wait(10), 0, "{}", p.text());
        assert_eq!(d.berth(&["inspect", "-f", "{{.State.Running}}", name]).out(), "true");
        d.berth(&["rm", "-f", name]).ok();
    }
}

#[test]
fn exec_it_and_resize() {
    let d = setup();
    d.berth(&["run", "-d", "--name", "ex", "busybox", "sleep", "1000"]).ok();
    for c in BOTH {
        let mut p = Pty::spawn(cli_cmd(&d, c, &["exec", "-it", "ex", "sh"]), 33, 120);
        p.expect("# ", 10);
        p.send(b"stty size; tty\r");
        p.expect("33 120", 10);
        p.send(b"exit 6\r");
        assert_eq!(p.wait(10), 6, "{c:?}: {}", p.text());
    }
    d.berth(&["rm", "-f", "ex"]).ok();
}

#[test]
fn signals_are_proxied_without_a_tty() {
    let d = setup();
    for c in BOTH {
        let script = "trap 'echo got-term; exit 5' TERM; echo ready; while true; do sleep 0.1; done";
        let mut cmd = cli_cmd(&d, c, &["run", "--rm", "busybox", "sh", "-c", script]);
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut buf = [0u8; 64];
        let n = std::io::Read::read(&mut out, &mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("ready"));
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
            .unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        let st = child.wait().unwrap();
        assert!(rest.contains("got-term"), "{c:?}: {rest}");
        assert_eq!(st.code(), Some(5), "{c:?}");
    }
}

#[test]
fn attach_streams_output_of_a_running_container() {
    let d = setup();
    d.berth(&[
        "run",
        "-d",
        "--name",
        "tick",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.1; done",
    ])
    .ok();
    let mut c = d.berth_cmd(&["attach", "--no-stdin", "tick"]);
    c.stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 256];
    wait_until(10, "attached output", || {
        let n = std::io::Read::read(&mut out, &mut buf).unwrap_or(0);
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        got.matches("tick").count() >= 3
    });
    d.berth(&["stop", "-t", "0", "tick"]).ok();
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(137), "attach exits with the container's code");
    // Attaching to a stopped container is refused by the CLI, as docker's.
    let r = d.docker(&["attach", "tick"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("You cannot attach to a stopped container"), "{}", r.stderr);
    d.berth(&["rm", "tick"]).ok();
}
