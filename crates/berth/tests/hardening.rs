//! Issue 10: the holes an attack review found, each proved closed from the attacker's side: an
//! unprivileged host user against the store, a container against the daemon, an API caller
//! against the kernel, a crash in the middle of an operation.

mod common;
mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::{Daemon, Run};
use support::{BOTH, cli, setup};

/// Runs `args` as `nobody` (uid and gid 65534, no supplementary groups): an ordinary host user.
/// Through a shell: setpriv keeps its capabilities up to its own execve (which would then see
/// through directory modes); the shell has none.
fn as_nobody(args: &[&str]) -> Run {
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c", "exec \"$@\"", "sh"])
        .args(args)
        .output()
        .expect("running setpriv (util-linux)");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The test daemon's directory is a private temp dir (0700): open it up, so that what keeps
/// a host user out is berth's own modes and nothing else.
fn open_test_dir(d: &Daemon) {
    std::fs::set_permissions(d.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o7777
}

/// Asserts that `nobody` can't reach `p` (stat, read, run it).
#[track_caller]
fn assert_unreachable(p: &Path) {
    let s = p.to_str().unwrap();
    for args in [&["stat", s][..], &["cat", s], &[s, "id", "-u"]] {
        let r = as_nobody(args);
        assert_ne!(r.code, 0, "nobody could {args:?}: {r:?}");
        assert!(r.stderr.contains("Permission denied"), "{args:?}: {r:?}");
    }
}

/// Hole 1: a host user could run a setuid-root file from a container's upper dir or an image
/// layer, and read a container's record (its environment) and log.
#[test]
fn host_users_cannot_reach_the_store() {
    let mut d = setup();
    open_test_dir(&d);
    // A setuid-root copy of busybox in the writable layer, a secret in the environment.
    let r = d.berth(&[
        "run",
        "--name",
        "suid",
        "-e",
        "SECRET=hunter2",
        "busybox",
        "sh",
        "-c",
        "cp /bin/busybox /suid && chmod 4755 /suid && echo logged",
    ]);
    assert_eq!(r.out(), "logged", "{r:?}");
    let id = d.berth(&["inspect", "-f", "{{.Id}}", "suid"]).ok().trim().to_owned();
    let cdir = d.root.join("containers").join(&id);
    let suid = cdir.join("upper/suid");
    assert_eq!(mode(&suid), 0o4755, "the setuid file is there, as root left it");
    // A layer's files: busybox of the image.
    let layer_busybox = support::find_named(&d.root.join("image"), "busybox")
        .into_iter()
        .find(|p| p.to_string_lossy().contains("/diff/"))
        .expect("busybox in an image layer");
    // A supervised container's control directory.
    d.berth(&["run", "-d", "--name", "sv", "--supervise", "--program", "idle=sleep 1d", "busybox"]).ok();
    let sv = d.berth(&["inspect", "-f", "{{.Id}}", "sv"]).ok().trim().to_owned();
    let control = d.root.join("containers").join(&sv).join("supervisor");
    common::wait_until(10, "the control socket", || control.join("control.sock").exists());
    assert_eq!(mode(&control), 0o700, "the control directory is PID 1's alone");
    assert_eq!(std::fs::metadata(&control).unwrap().uid(), 0, "PID 1 runs as root here");

    let check = |d: &Daemon| {
        for p in [&suid, &cdir.join("container.json"), &cdir.join("container.log"), &layer_busybox] {
            assert_unreachable(p);
        }
        let r = as_nobody(&["touch", control.join("planted").to_str().unwrap()]);
        assert_ne!(r.code, 0, "nobody wrote into a control directory: {r:?}");
        for dir in [d.root.join("volumes"), d.root.join("persistent"), d.exec_root.join("containers")] {
            let r = as_nobody(&["ls", dir.to_str().unwrap()]);
            assert_ne!(r.code, 0, "nobody listed {}: {r:?}", dir.display());
        }
    };
    check(&d);
    assert_eq!(mode(&d.root), 0o711);
    assert_eq!(mode(&d.root.join("containers")), 0o710);
    assert_eq!(mode(&d.root.join("image")), 0o700);

    // A root made by an older berth (everything 0755) is fixed at start-up.
    d.stop();
    for p in [d.root.clone(), d.root.join("containers"), d.root.join("image"), d.root.join("volumes"), control.clone()]
    {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    d.restart();
    check(&d);
    d.berth(&["rm", "-f", "suid", "sv"]).ok();
}

/// Hole 2: `--user 4294967295` is -1 to setresuid ("unchanged"): the process stayed root.
#[test]
fn user_ids_above_2_31_are_refused() {
    let d = setup();
    const RANGE: &str = "uids and gids must be in range 0-2147483647";
    for c in BOTH {
        for user in ["4294967295", "2147483648", "0:4294967295", "99999999999999999999"] {
            let r = cli(&d, c, &["run", "--rm", "--user", user, "busybox", "id", "-u"]);
            assert_eq!(r.code, 125, "{c:?} --user {user}: {r:?}");
            assert!(r.stderr.contains(RANGE), "{c:?} --user {user}: {r:?}");
            assert!(r.stdout.is_empty(), "{c:?} --user {user}: it ran: {r:?}");
        }
        let r = cli(&d, c, &["run", "--rm", "--group-add", "4294967295", "busybox", "id", "-G"]);
        assert_eq!(r.code, 125, "{c:?}: {r:?}");
        assert!(r.stderr.contains(RANGE), "{c:?}: {r:?}");
        // The largest id is fine.
        let r = cli(&d, c, &["run", "--rm", "--user", "2147483647:2147483647", "busybox", "id", "-u"]);
        assert_eq!(r.out(), "2147483647", "{c:?}: {r:?}");
    }
    // exec.
    d.berth(&["run", "-d", "--name", "ux", "busybox", "sleep", "1d"]).ok();
    for c in BOTH {
        let r = cli(&d, c, &["exec", "-u", "4294967295", "ux", "id", "-u"]);
        assert_ne!(r.code, 0, "{c:?}: {r:?}");
        assert!(r.stderr.contains(RANGE), "{c:?}: {r:?}");
        assert!(r.stdout.is_empty(), "{c:?}: {r:?}");
    }
    // A user of the image's own /etc/passwd with such an id: caught in the container, before
    // the switch.
    d.berth(&["exec", "ux", "sh", "-c", "echo evil:x:4294967295:0::/:/bin/sh >> /etc/passwd"]).ok();
    d.berth(&["commit", "ux", "evil:1"]).ok();
    for c in BOTH {
        let r = cli(&d, c, &["run", "--rm", "--user", "evil", "evil:1", "id", "-u"]);
        assert_ne!(r.code, 0, "{c:?}: {r:?}");
        assert!(r.stderr.contains(RANGE), "{c:?}: {r:?}");
        assert!(r.stdout.is_empty(), "{c:?}: it ran: {r:?}");
        // As dockerd, a failed exec start is written into the exec's output stream.
        let r = cli(&d, c, &["exec", "-u", "evil", "ux", "id", "-u"]);
        assert_eq!(r.code, 126, "{c:?}: {r:?}");
        assert!(r.stdout.contains(RANGE), "{c:?}: {r:?}");
        assert!(!r.stdout.lines().any(|l| l.trim() == "0"), "{c:?}: it ran as root: {r:?}");
    }
    d.berth(&["rm", "-f", "ux"]).ok();
}

/// A daemon's peak resident memory (kB).
fn daemon_hwm_kb(d: &Daemon) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap();
    let l = s.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Hole 5: the daemon connected to a supervised container's `control.sock` by path, as root,
/// following a symlink the container planted (to any host socket), and read the answer without
/// a bound.
#[test]
fn supervisor_control_socket_is_not_a_confused_deputy() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    let d = setup();
    d.berth(&["run", "-d", "--name", "sv", "--supervise", "--program", "idle=sleep 1d", "busybox"]).ok();
    let id = d.berth(&["inspect", "-f", "{{.Id}}", "sv"]).ok().trim().to_owned();
    let control = d.root.join("containers").join(&id).join("supervisor");
    common::wait_until(10, "the control socket", || control.join("control.sock").exists());
    assert!(d.berth(&["supervise", "sv", "status"]).ok().contains("idle"), "works before the attack");

    // A host socket the container must not reach through the daemon.
    let host_sock = d.dir.path().join("host-service.sock");
    let l = UnixListener::bind(&host_sock).unwrap();
    l.set_nonblocking(true).unwrap();
    // The container (root in it) replaces its socket with a symlink to the host's.
    d.berth(&[
        "exec",
        "sv",
        "sh",
        "-c",
        &format!("rm /run/berth/control.sock && ln -s {} /run/berth/control.sock", host_sock.display()),
    ])
    .ok();
    for args in [&["supervise", "sv", "status"][..], &["inspect", "sv"]] {
        let r = d.berth(args);
        assert!(l.accept().is_err(), "{args:?}: the daemon connected to the host socket the container pointed at");
        if args[0] == "supervise" {
            assert_ne!(r.code, 0, "{r:?}");
            assert!(r.stderr.contains("symlink"), "{r:?}");
        }
    }
    drop(l);

    // Whatever listens there (the container's own program) answers without end, fast or slow:
    // the daemon reads a bounded answer within a bounded time.
    let sock = control.join("control.sock");
    let _ = std::fs::remove_file(&sock);
    // (Bound through the directory's descriptor: the full path is longer than a socket address.)
    let dirfd = std::fs::File::open(&control).unwrap();
    let l =
        UnixListener::bind(format!("/proc/self/fd/{}/control.sock", std::os::fd::AsRawFd::as_raw_fd(&dirfd))).unwrap();
    let flood = std::thread::spawn(move || {
        // First connection: 600 MB as fast as the daemon reads; second: a byte a second.
        for slow in [false, true] {
            let Ok((mut c, _)) = l.accept() else { return };
            let mut req = [0u8; 64];
            let _ = c.read(&mut req);
            let chunk = vec![b'x'; 1 << 16];
            let t = std::time::Instant::now();
            let mut sent = 0u64;
            while sent < 600 << 20 && t.elapsed() < std::time::Duration::from_secs(40) {
                let n = if slow { 1 } else { chunk.len() };
                if c.write_all(&chunk[..n]).is_err() {
                    break;
                }
                sent += n as u64;
                if slow {
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
            }
        }
    });
    let before = daemon_hwm_kb(&d);
    let r = d.berth(&["supervise", "sv", "status"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("larger than"), "{r:?}");
    let grown = daemon_hwm_kb(&d).saturating_sub(before);
    assert!(grown < 64 << 10, "the daemon grew by {grown} kB reading a container's answer");
    let t = std::time::Instant::now();
    let r = d.berth(&["supervise", "sv", "status"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("did not answer in time"), "{r:?}");
    assert!(t.elapsed() < std::time::Duration::from_secs(20), "a trickling answer held the daemon {:?}", t.elapsed());
    let _ = std::fs::remove_file(&sock);
    d.berth(&["rm", "-f", "sv"]).ok();
    let _ = flood.join();
}
