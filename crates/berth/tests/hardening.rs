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
    Run::from(o)
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

/// Hole 7: on a full disk, `kill`/`stop`/`rm -f` failed ("No space left on device") and the
/// process kept running. Signals and removal work whatever the disk; what could not be saved
/// is kept pending and recovered by the next daemon.
#[test]
fn a_full_disk_does_not_make_containers_unstoppable() {
    let mut d = Daemon::new_with(&[]);
    std::fs::create_dir_all(&d.root).unwrap();
    let st = Command::new("mount").args(["-t", "tmpfs", "-o", "size=48m", "tmpfs"]).arg(&d.root).status().unwrap();
    assert!(st.success(), "mounting a small tmpfs as the root");
    d.try_spawn().unwrap_or_else(|l| panic!("{l}"));
    d.busybox();
    for (name, policy) in [("always", "unless-stopped"), ("killed", "no"), ("removed", "no")] {
        d.berth(&["run", "-d", "--name", name, "--restart", policy, "busybox", "sleep", "1d"]).ok();
    }
    // Fill the disk.
    let filler = d.root.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 1 << 20];
        while f.write_all(&block).is_ok() {}
    }
    assert!(std::fs::write(d.root.join("probe"), b"x").is_err(), "the disk is full");
    let running = |d: &Daemon, n: &str| d.berth(&["inspect", "-f", "{{.State.Running}}", n]).ok().trim() == "true";
    d.berth(&["stop", "-t", "1", "always"]).ok();
    d.berth(&["kill", "killed"]).ok();
    d.berth(&["rm", "-f", "removed"]).ok();
    common::wait_until(10, "the kill to land", || !running(&d, "killed"));
    assert!(!running(&d, "always"));
    assert_eq!(d.berth(&["inspect", "removed"]).code, 1, "removed");
    assert!(d.shims().is_empty(), "shims left: {:?}", d.shims());
    // A daemon killed now, on the still-full disk: the stop stands (`unless-stopped` doesn't
    // bring it back; with `always`, a daemon restart would, as Docker's).
    d.kill9();
    d.restart();
    for n in ["always", "killed"] {
        assert_eq!(d.berth(&["inspect", "-f", "{{.State.Status}}", n]).ok().trim(), "exited", "{n}");
    }
    assert!(d.log().contains("kept in"), "the failed saves were reported:\n{}", d.log());
    // Room again: the pending records are written and go.
    std::fs::remove_file(&filler).unwrap();
    let pending = d.exec_root.join("pending");
    common::wait_until(20, "the pending records to be saved", || {
        std::fs::read_dir(&pending).map(|r| r.count() == 0).unwrap_or(true)
    });
    d.restart();
    for n in ["always", "killed"] {
        assert_eq!(d.berth(&["inspect", "-f", "{{.State.Status}}", n]).ok().trim(), "exited", "{n}");
    }
    d.berth(&["rm", "-f", "always", "killed"]).ok();
}

/// Hole 9: a record that did not parse (a newer berth's, after a downgrade; a torn file) made
/// the daemon delete the container's directory, writable layer included. It is set aside whole;
/// likewise an image record that doesn't parse no longer stops the daemon nor loses layers.
#[test]
fn unreadable_records_are_set_aside_not_deleted() {
    let mut d = setup();
    d.berth(&["run", "--name", "torn", "busybox", "sh", "-c", "echo precious > /data"]).ok();
    d.berth(&["run", "--name", "newer", "busybox", "sh", "-c", "echo mine > /data"]).ok();
    d.berth(&["run", "-d", "--name", "fine", "busybox", "sleep", "1d"]).ok();
    let id = |n: &str| d.berth(&["inspect", "-f", "{{.Id}}", n]).ok().trim().to_owned();
    let (torn, newer) = (id("torn"), id("newer"));
    let image_id = d.berth(&["image", "inspect", "-f", "{{.Id}}", "busybox"]).ok().trim().to_owned();
    d.stop();
    let rec = |id: &str| d.root.join("containers").join(id).join("container.json");
    std::fs::write(rec(&torn), b"{\"version\":1,\"id\":").unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(rec(&newer)).unwrap()).unwrap();
    v["version"] = 999.into();
    std::fs::write(rec(&newer), serde_json::to_vec(&v).unwrap()).unwrap();
    // A second image's record that doesn't parse (the first is in use by `fine`).
    let images = d.root.join("image/images");
    let bogus = images.join(format!("{}.json", "b".repeat(64)));
    std::fs::write(&bogus, b"not json").unwrap();
    let layers = std::fs::read_dir(d.root.join("image/layers")).unwrap().count();
    d.restart();
    // Gone from the list, kept whole aside, reported.
    let ps = d.berth(&["ps", "-a", "--format", "{{.Names}}"]).ok().to_owned();
    assert_eq!(ps.trim(), "fine", "{ps}");
    for (id, content) in [(&torn, "precious"), (&newer, "mine")] {
        let kept = d.root.join("unreadable").join(id).join("upper/data");
        assert_eq!(std::fs::read_to_string(&kept).unwrap_or_default().trim(), content, "{}", kept.display());
        assert!(d.log().contains(&format!("container directory {}", d.root.join("containers").join(id).display())));
    }
    assert!(d.log().contains("newer than this berth's"), "{}", d.log());
    assert!(!bogus.exists() && bogus.with_extension("unreadable").exists(), "the image record is set aside");
    assert_eq!(std::fs::read_dir(d.root.join("image/layers")).unwrap().count(), layers, "layers kept");
    // And the daemon goes on: everything else works.
    assert_eq!(d.berth(&["image", "inspect", "-f", "{{.Id}}", "busybox"]).ok().trim(), image_id);
    assert_eq!(d.berth(&["run", "--rm", "busybox", "echo", "ok"]).out(), "ok");
    d.berth(&["rm", "-f", "fine"]).ok();
}

/// Sends `n` exec-create requests on one connection; returns the exec IDs.
fn exec_creates(d: &Daemon, id: &str, n: usize) -> Vec<String> {
    use std::io::{BufRead, BufReader, Read, Write};
    let s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let body = r#"{"Cmd":["true"],"AttachStdout":true}"#;
    let mut codes = Vec::new();
    for _ in 0..n {
        write!(
            w,
            "POST /containers/{id}/exec HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut status = String::new();
        r.read_line(&mut status).unwrap();
        assert!(status.contains(" 201 "), "{status}");
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut b = vec![0u8; len];
        r.read_exact(&mut b).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        codes.push(v["Id"].as_str().unwrap().to_owned());
    }
    codes
}

/// Hole 10: exec instances created and never started piled up forever (and each one rewrote,
/// and grew, the container's record). Those that ended or never started are also forgotten
/// after 5 minutes (not waited for here).
#[test]
fn unstarted_execs_are_bounded_and_not_stored() {
    let d = setup();
    d.berth(&["run", "-d", "--name", "ex", "busybox", "sleep", "1d"]).ok();
    let id = d.berth(&["inspect", "-f", "{{.Id}}", "ex"]).ok().trim().to_owned();
    let ids = exec_creates(&d, &id, 1100);
    // At most 1024 are kept, the oldest go.
    let n = d.berth(&["inspect", "-f", "{{len .ExecIDs}}", "ex"]).ok().trim().to_owned();
    assert_eq!(n, "1024");
    let api = |path: &str| {
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", d.socket.to_str().unwrap()])
            .arg(format!("http://x{path}"))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap()
    };
    assert_eq!(api(&format!("/exec/{}/json", ids[0])), "404", "the oldest is forgotten");
    assert_eq!(api(&format!("/exec/{}/json", ids[1099])), "200", "the newest is kept");
    let rec = std::fs::read_to_string(d.root.join("containers").join(&id).join("container.json")).unwrap();
    assert!(rec.len() < 16 << 10 && !rec.contains("exec_ids"), "the record holds exec IDs: {} bytes", rec.len());
    // An exec that runs still works.
    assert_eq!(d.berth(&["exec", "ex", "echo", "hi"]).out(), "hi");
    d.berth(&["rm", "-f", "ex"]).ok();
}

/// Hole 10: `cp CONTAINER:/ -` returned a single bogus entry (a link to `//`).
#[test]
fn cp_of_the_root_is_the_whole_tree() {
    let d = setup();
    d.berth(&["create", "--name", "stopped", "busybox"]).ok();
    d.berth(&["run", "-d", "--name", "running", "busybox", "sleep", "1d"]).ok();
    for c in BOTH {
        for name in ["stopped", "running"] {
            let o = support::cli_cmd(&d, c, &["cp", &format!("{name}:/"), "-"]).output().unwrap();
            assert!(o.status.success(), "{c:?} {name}: {}", String::from_utf8_lossy(&o.stderr));
            let names: Vec<String> =
                support::tar_names(&o.stdout).iter().map(|n| n.trim_end_matches('/').to_owned()).collect();
            for want in [".", "./bin/busybox", "./etc/passwd", "./proc"] {
                assert!(
                    names.iter().any(|n| n == want),
                    "{c:?} {name}: no {want} in {:?}",
                    &names[..names.len().min(5)]
                );
            }
            // The kernel's views are empty directories, as Docker shows them.
            assert!(!names.iter().any(|n| n.starts_with("./proc/")), "{c:?} {name}: /proc content");
            assert!(!names.iter().any(|n| n.starts_with("./sys/")), "{c:?} {name}: /sys content");
        }
    }
    d.berth(&["rm", "-f", "stopped", "running"]).ok();
}
