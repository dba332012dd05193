//! Container confinement, end to end and checked from inside real containers: capabilities,
//! seccomp (default, unconfined, a profile file), no-new-privileges, masked and read-only
//! paths, a read-only root, /dev and the device cgroup, and the PID, UTS and network
//! namespaces. Docker's defaults are the reference (moby `oci/defaults.go`,
//! `oci/caps/defaults.go`, runc's default devices).

mod common;
mod support;

use common::Daemon;
use support::{BOTH, Cli, cli, setup};

/// Docker's default capability set (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
/// SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP).
const DEFAULT_CAPS: &str = "00000000a80425fb";

/// `Field:\tvalue` of /proc/self/status inside a container.
fn status(d: &Daemon, c: Cli, args: &[&str], field: &str) -> String {
    let mut a: Vec<&str> = vec!["run", "--rm"];
    a.extend_from_slice(args);
    let pat = format!("^{field}:");
    a.extend(["busybox", "grep", &pat, "/proc/self/status"]);
    let r = cli(d, c, &a);
    r.ok().trim_end().to_owned()
}

/// This (root) process's own /proc/self/status field.
fn host_status(field: &str) -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap_or_default().to_owned()
}

/// Mount options (field 6) of the mount at `target` in a container's mountinfo output (the
/// last, i.e. top-most, when several are stacked).
fn mount_opts(mountinfo: &str, target: &str) -> Option<String> {
    mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(target))
        .and_then(|l| l.split(' ').nth(5))
        .map(str::to_owned)
}

#[test]
fn default_capabilities() {
    let d = setup();
    for c in BOTH {
        let r = cli(&d, c, &["run", "--rm", "busybox", "grep", "-E", "^Cap(Prm|Eff|Bnd|Amb)", "/proc/self/status"]);
        let want = format!(
            "CapPrm:\t{DEFAULT_CAPS}\nCapEff:\t{DEFAULT_CAPS}\nCapBnd:\t{DEFAULT_CAPS}\nCapAmb:\t0000000000000000"
        );
        assert_eq!(r.out(), want, "{c:?}: {r:?}");
        // A non-root user has no effective capabilities but the same bounding set.
        let r = cli(
            &d,
            c,
            &["run", "--rm", "-u", "nobody", "busybox", "grep", "-E", "^Cap(Eff|Prm|Bnd)", "/proc/self/status"],
        );
        assert_eq!(
            r.out(),
            format!("CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t{DEFAULT_CAPS}"),
            "{c:?}: {r:?}"
        );
        // What the caps allow: chown and mknod work, changing a link does not.
        let r =
            cli(&d, c, &["run", "--rm", "busybox", "sh", "-c", "chown nobody /tmp && mknod /tmp/n c 1 3 && echo ok"]);
        assert_eq!(r.out(), "ok", "{c:?}: {r:?}");
        // (lo is already up: bringing it down is a real change, which needs CAP_NET_ADMIN.)
        let r = cli(&d, c, &["run", "--rm", "busybox", "ip", "link", "set", "lo", "down"]);
        assert_ne!(r.code, 0, "{c:?}: NET_ADMIN is not a default capability: {r:?}");
        assert!(r.stderr.contains("Operation not permitted"), "{c:?}: {r:?}");
    }
}

#[test]
fn inheritable_capabilities_are_empty() {
    // Docker 20.10.14 (CVE-2022-24769): the inheritable set is empty, also when privileged,
    // so that a file with inheritable file capabilities gains nothing through execve.
    let d = setup();
    for c in BOTH {
        for extra in [&[][..], &["--privileged"], &["--cap-add", "NET_ADMIN"], &["-u", "nobody"]] {
            assert_eq!(status(&d, c, extra, "CapInh"), "CapInh:\t0000000000000000", "{c:?} {extra:?}");
        }
    }
}

#[test]
fn cap_drop_and_cap_add() {
    let d = setup();
    for c in BOTH {
        let r = cli(
            &d,
            c,
            &["run", "--rm", "--cap-drop", "ALL", "busybox", "grep", "-E", "^Cap(Prm|Eff|Bnd)", "/proc/self/status"],
        );
        assert_eq!(
            r.out(),
            "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000",
            "{c:?}: {r:?}"
        );
        let r = cli(&d, c, &["run", "--rm", "--cap-drop", "ALL", "busybox", "chown", "nobody", "/tmp"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert!(r.stderr.contains("Operation not permitted"), "{c:?}: {r:?}");
        // Dropping one, with or without the CAP_ prefix, in any case.
        for cap in ["CHOWN", "cap_chown"] {
            let r = cli(&d, c, &["run", "--rm", "--cap-drop", cap, "busybox", "chown", "nobody", "/tmp"]);
            assert_eq!(r.code, 1, "{c:?} {cap}: {r:?}");
            assert_eq!(status(&d, c, &["--cap-drop", cap], "CapEff"), "CapEff:\t00000000a80425fa", "{c:?} {cap}");
        }
        // NET_ADMIN is bit 12.
        assert_eq!(status(&d, c, &["--cap-add", "NET_ADMIN"], "CapEff"), "CapEff:\t00000000a80435fb", "{c:?}");
        let r = cli(
            &d,
            c,
            &["run", "--rm", "--cap-add", "NET_ADMIN", "busybox", "sh", "-c", "ip link set lo up && echo up"],
        );
        assert_eq!(r.out(), "up", "{c:?}: {r:?}");
        // ALL then one back.
        assert_eq!(
            status(&d, c, &["--cap-drop", "ALL", "--cap-add", "KILL"], "CapEff"),
            "CapEff:\t0000000000000020",
            "{c:?}"
        );
        let r = cli(&d, c, &["run", "--rm", "--cap-add", "BOGUS", "busybox", "true"]);
        assert_eq!(r.code, 125, "{c:?}: {r:?}");
        assert!(r.stderr.contains("unknown capability: \"CAP_BOGUS\""), "{c:?}: {}", r.stderr);
    }
}

#[test]
fn privileged_gets_everything() {
    let d = setup();
    let host_bnd = host_status("CapBnd");
    let host_caps = host_bnd.split('\t').nth(1).unwrap().to_owned();
    for c in BOTH {
        let r = cli(
            &d,
            c,
            &[
                "run",
                "--rm",
                "--privileged",
                "busybox",
                "grep",
                "-E",
                "^(Cap(Prm|Eff|Bnd|Amb)|Seccomp:|NoNewPrivs)",
                "/proc/self/status",
            ],
        );
        let want = format!(
            "CapPrm:\t{host_caps}\nCapEff:\t{host_caps}\nCapBnd:\t{host_caps}\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0"
        );
        assert_eq!(r.out(), want, "{c:?}: all the capabilities the host has, no seccomp: {r:?}");
        // /dev shows the host's devices.
        let r = cli(&d, c, &["run", "--rm", "--privileged", "busybox", "ls", "-1A", "/dev"]);
        let inside: Vec<&str> = r.ok().lines().collect();
        for e in std::fs::read_dir("/dev").unwrap().flatten() {
            let ft = e.file_type().unwrap();
            use std::os::unix::fs::FileTypeExt;
            if ft.is_char_device() || ft.is_block_device() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "console" {
                    continue; // a terminal of its own, only with -t
                }
                assert!(inside.contains(&name.as_str()), "{c:?}: host device /dev/{name} missing: {inside:?}");
            }
        }
        // /sys and the cgroup hierarchies are writable (moby clears their read-only flag).
        let r = cli(&d, c, &["run", "--rm", "--privileged", "busybox", "cat", "/proc/self/mountinfo"]);
        let mi = r.ok();
        assert!(mount_opts(mi, "/sys").is_some_and(|o| o.starts_with("rw")), "{c:?}: /sys is rw: {mi}");
        assert!(mount_opts(mi, "/proc/sys").is_none(), "{c:?}: /proc/sys is not read-only: {mi}");
        assert!(mount_opts(mi, "/proc/keys").is_none(), "{c:?}: nothing is masked: {mi}");
        assert!(
            mount_opts(mi, "/sys/fs/cgroup/memory").is_some_and(|o| o.starts_with("rw")),
            "{c:?}: cgroups are rw: {mi}"
        );
    }
}

#[test]
fn seccomp_default_and_unconfined() {
    let d = setup();
    for c in BOTH {
        assert_eq!(status(&d, c, &[], "Seccomp"), "Seccomp:\t2", "{c:?}");
        // unshare(CLONE_NEWUSER) is allowed to an unprivileged host process but not by
        // Docker's profile.
        let r = cli(&d, c, &["run", "--rm", "busybox", "unshare", "-U", "true"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert!(r.stderr.contains("Operation not permitted"), "{c:?}: {r:?}");
        assert_eq!(status(&d, c, &["--security-opt", "seccomp=unconfined"], "Seccomp"), "Seccomp:\t0", "{c:?}");
        let r =
            cli(&d, c, &["run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "unshare", "-U", "true"]);
        assert_eq!(r.code, 0, "{c:?}: {r:?}");
        // Without CAP_SYS_ADMIN mount still fails.
        let r = cli(&d, c, &["run", "--rm", "busybox", "sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt"]);
        assert_ne!(r.code, 0, "{c:?}: {r:?}");
    }
}

#[test]
fn seccomp_profile_from_a_file() {
    let d = setup();
    let profile = d.dir.path().join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    for c in BOTH {
        let r = cli(&d, c, &["run", "--rm", "--security-opt", &opt, "busybox", "mkdir", "/x"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert_eq!(r.stderr.trim_end(), "mkdir: can't create directory '/x': Operation not permitted", "{c:?}");
        assert_eq!(status(&d, c, &["--security-opt", &opt], "Seccomp"), "Seccomp:\t2", "{c:?}");
        // Everything else is allowed by that profile, also what Docker's default denies.
        let r = cli(&d, c, &["run", "--rm", "--security-opt", &opt, "busybox", "unshare", "-U", "true"]);
        assert_eq!(r.code, 0, "{c:?}: {r:?}");
        // The default profile allows mkdir.
        let r = cli(&d, c, &["run", "--rm", "busybox", "sh", "-c", "mkdir /x && echo made"]);
        assert_eq!(r.out(), "made", "{c:?}: {r:?}");
        let r = cli(&d, c, &["run", "--rm", "--security-opt", "seccomp=/nonexistent/profile.json", "busybox", "true"]);
        assert_eq!(r.code, 125, "{c:?}: {r:?}");
        assert!(r.stderr.contains("opening seccomp profile (/nonexistent/profile.json) failed"), "{c:?}: {}", r.stderr);
    }
    let bad = d.dir.path().join("bad.json");
    std::fs::write(&bad, "{bad").unwrap();
    for c in BOTH {
        let r =
            cli(&d, c, &["run", "--rm", "--security-opt", &format!("seccomp={}", bad.display()), "busybox", "true"]);
        assert_eq!(r.code, 125, "{c:?}: {r:?}");
    }
    assert!(d.berth(&["ps", "-aq"]).out().is_empty(), "a refused run left a container");
}

#[test]
fn no_new_privileges() {
    let d = setup();
    for c in BOTH {
        assert_eq!(status(&d, c, &[], "NoNewPrivs"), "NoNewPrivs:\t0", "{c:?}");
        assert_eq!(status(&d, c, &["--security-opt", "no-new-privileges"], "NoNewPrivs"), "NoNewPrivs:\t1", "{c:?}");
        assert_eq!(
            status(&d, c, &["--security-opt", "no-new-privileges=true"], "NoNewPrivs"),
            "NoNewPrivs:\t1",
            "{c:?}"
        );
        assert_eq!(
            status(&d, c, &["--security-opt", "no-new-privileges=false"], "NoNewPrivs"),
            "NoNewPrivs:\t0",
            "{c:?}"
        );
    }
}

/// moby `oci/defaults.go`.
const MASKED: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
const READONLY: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

#[test]
fn masked_and_read_only_paths() {
    let d = setup();
    d.berth(&["run", "-d", "--name", "masks", "busybox", "sleep", "1000"]).ok();
    for c in BOTH {
        let r = cli(
            &d,
            c,
            &["inspect", "-f", "{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}", "masks"],
        );
        assert_eq!(
            r.out(),
            format!("{} {}", serde_json::to_string(&MASKED).unwrap(), serde_json::to_string(&READONLY).unwrap()),
            "{c:?}"
        );
        for p in MASKED {
            let host = std::path::Path::new(p);
            // Masked paths read empty (files) or list nothing (directories); a path the host
            // does not have reads nothing either.
            let r = if host.is_dir() {
                cli(&d, c, &["exec", "masks", "ls", "-A", p])
            } else {
                cli(&d, c, &["exec", "masks", "sh", "-c", &format!("cat {p} 2>/dev/null | wc -c")])
            };
            assert_eq!(r.out().trim(), if host.is_dir() { "" } else { "0" }, "{c:?}: {p} is not masked: {r:?}");
        }
        let r = cli(&d, c, &["exec", "masks", "sh", "-c", "echo 1 > /proc/sys/kernel/domainname"]);
        assert_ne!(r.code, 0, "{c:?}: {r:?}");
        assert!(r.stderr.contains("Read-only file system"), "{c:?}: {r:?}");
        let r = cli(&d, c, &["exec", "masks", "cat", "/proc/self/mountinfo"]);
        let mi = r.ok();
        for p in READONLY {
            if std::path::Path::new(p).exists() {
                assert!(mount_opts(mi, p).is_some_and(|o| o.starts_with("ro")), "{c:?}: {p} is not read-only: {mi}");
            }
        }
        // /sys is read-only, and so is the cgroup tmpfs on top of it (runc remounts it ro).
        assert!(mount_opts(mi, "/sys").is_some_and(|o| o.starts_with("ro")), "{c:?}: {mi}");
        let r = cli(&d, c, &["exec", "masks", "touch", "/sys/x"]);
        assert!(r.code != 0 && r.stderr.contains("Read-only file system"), "{c:?}: {r:?}");
        let r = cli(&d, c, &["exec", "masks", "mkdir", "/sys/fs/cgroup/x"]);
        assert!(r.code != 0 && r.stderr.contains("Read-only file system"), "{c:?}: {r:?}");
        let r = cli(&d, c, &["exec", "masks", "mkdir", "/sys/fs/cgroup/memory/x"]);
        assert!(r.code != 0 && r.stderr.contains("Read-only file system"), "{c:?}: {r:?}");
    }
}

#[test]
fn read_only_root() {
    let d = setup();
    for c in BOTH {
        let r = cli(&d, c, &["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
        assert_eq!((r.code, r.stderr.trim_end()), (1, "touch: /x: Read-only file system"), "{c:?}: {r:?}");
        let r = cli(&d, c, &["run", "--rm", "--read-only", "busybox", "touch", "/tmp/x"]);
        assert_eq!((r.code, r.stderr.trim_end()), (1, "touch: /tmp/x: Read-only file system"), "{c:?}: {r:?}");
        let r = cli(
            &d,
            c,
            &[
                "run",
                "--rm",
                "--read-only",
                "--tmpfs",
                "/tmp",
                "busybox",
                "sh",
                "-c",
                "touch /tmp/x && echo tmp-ok && grep ' /tmp ' /proc/self/mountinfo",
            ],
        );
        let out = r.ok();
        assert!(out.starts_with("tmp-ok\n"), "{c:?}: {r:?}");
        // Docker's --tmpfs defaults: rw,nosuid,nodev,noexec.
        let opts = mount_opts(out.lines().nth(1).unwrap_or_default(), "/tmp").unwrap_or_default();
        for o in ["rw", "nosuid", "nodev", "noexec"] {
            assert!(opts.split(',').any(|x| x == o), "{c:?}: /tmp lacks {o}: {out}");
        }
        // /dev/shm and /dev stay writable.
        let r = cli(
            &d,
            c,
            &["run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /dev/shm/x && echo x > /dev/null && echo ok"],
        );
        assert_eq!(r.out(), "ok", "{c:?}: {r:?}");
        // Without --read-only the root is writable.
        let r = cli(&d, c, &["run", "--rm", "busybox", "sh", "-c", "touch /x && echo ok"]);
        assert_eq!(r.out(), "ok", "{c:?}: {r:?}");
    }
    d.berth(&["create", "--name", "ro", "--read-only", "busybox"]).ok();
    assert_eq!(d.docker(&["inspect", "-f", "{{.HostConfig.ReadonlyRootfs}}", "ro"]).out(), "true");
}

#[test]
fn dev_has_only_the_default_nodes() {
    let d = setup();
    let base = "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero";
    for c in BOTH {
        let r = cli(&d, c, &["run", "--rm", "busybox", "ls", "-1A", "/dev"]);
        assert_eq!(r.ok().split_whitespace().collect::<Vec<_>>().join(" "), base, "{c:?}: {r:?}");
        // With a terminal, /dev/console is the container's pty.
        let r = cli(&d, c, &["run", "--rm", "-t", "busybox", "ls", "-1A", "/dev"]);
        assert_eq!(r.ok().split_whitespace().collect::<Vec<_>>().join(" "), format!("console {base}"), "{c:?}: {r:?}");
        let r = cli(
            &d,
            c,
            &[
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "for n in null zero full random urandom tty; do stat -c '%n %t:%T %a' /dev/$n; done; for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done",
            ],
        );
        assert_eq!(
            r.out(),
            "/dev/null 1:3 666\n/dev/zero 1:5 666\n/dev/full 1:7 666\n/dev/random 1:8 666\n/dev/urandom 1:9 666\n/dev/tty 5:0 666\n\
             pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2",
            "{c:?}: {r:?}"
        );
    }
}

#[test]
fn device_cgroup_denies_new_block_devices() {
    let d = setup();
    for c in BOTH {
        // CAP_MKNOD lets root make the node; the device cgroup refuses to open it.
        let r =
            cli(&d, c, &["run", "--rm", "busybox", "sh", "-c", "mknod /dev/sda b 8 0 && echo made; head -c1 /dev/sda"]);
        assert_eq!((r.code, r.out()), (1, "made"), "{c:?}: {r:?}");
        assert!(r.stderr.contains("/dev/sda: Operation not permitted"), "{c:?}: {r:?}");
        // A node for a device the default rules allow works.
        let r = cli(&d, c, &["run", "--rm", "busybox", "sh", "-c", "mknod /tmp/z c 1 5 && head -c3 /tmp/z | wc -c"]);
        assert_eq!(r.out().trim(), "3", "{c:?}: {r:?}");
        // /dev/mem and friends: char 1:1 is not in the allow list.
        let r = cli(&d, c, &["run", "--rm", "busybox", "sh", "-c", "mknod /tmp/mem c 1 1 && head -c1 /tmp/mem"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert!(r.stderr.contains("Operation not permitted"), "{c:?}: {r:?}");
    }
}

#[test]
fn pid_and_uts_namespaces() {
    let d = setup();
    let host_name = nix::unistd::gethostname().unwrap().to_string_lossy().into_owned();
    let id = d.berth(&["run", "-d", "--name", "ns", "busybox", "sleep", "1000"]).ok().trim().to_owned();
    for c in BOTH {
        // The hostname is the short container ID.
        let r = cli(&d, c, &["exec", "ns", "hostname"]);
        assert_eq!(r.out(), &id[..12], "{c:?}");
        assert_ne!(r.out(), host_name);
        // PID 1 is the command; ps sees only the container's processes.
        let r = cli(&d, c, &["exec", "ns", "cat", "/proc/1/cmdline"]);
        assert_eq!(r.stdout, "sleep\u{0}1000\u{0}", "{c:?}");
        let r = cli(&d, c, &["exec", "ns", "ps", "-o", "pid,comm"]);
        let rows: Vec<Vec<&str>> = r.ok().lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
        assert!(rows.len() == 2 && rows[0] == ["1", "sleep"] && rows[1].get(1) == Some(&"ps"), "{c:?}: {r:?}");
        let r = cli(&d, c, &["exec", "ns", "sh", "-c", "ls /proc | grep -c '^[0-9]'"]);
        // sleep, sh, ls, grep.
        assert!(r.out().parse::<u32>().unwrap() <= 5, "{c:?}: host processes visible: {r:?}");
        // --pid host: the host's processes, the daemon among them.
        let probe = format!("cat /proc/{}/cmdline | tr '\\0' ' '; echo; cat /proc/1/cmdline | tr '\\0' ' '", d.pid());
        let r = cli(&d, c, &["run", "--rm", "--pid", "host", "busybox", "sh", "-c", &probe]);
        let out = r.ok().to_owned();
        let mut lines = out.lines();
        assert!(lines.next().unwrap_or_default().contains(" daemon --root "), "{c:?}: daemon not visible: {r:?}");
        assert!(!lines.next().unwrap_or_default().starts_with("sh "), "{c:?}: PID 1 is the host's init: {r:?}");
        let host_procs = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
            .count();
        let r = cli(&d, c, &["run", "--rm", "--pid", "host", "busybox", "sh", "-c", "ls /proc | grep -c '^[0-9]'"]);
        assert!(r.out().parse::<usize>().unwrap() * 2 > host_procs, "{c:?}: {r:?} vs {host_procs} on the host");
        // -h sets it; --uts host shares the host's.
        let r = cli(&d, c, &["run", "--rm", "--uts", "host", "busybox", "hostname"]);
        assert_eq!(r.out(), host_name, "{c:?}: {r:?}");
    }
}

/// Interface names in /proc/net/dev text.
fn interfaces(net_dev: &str) -> Vec<String> {
    let mut v: Vec<String> =
        net_dev.lines().skip(2).filter_map(|l| l.split(':').next()).map(|s| s.trim().to_owned()).collect();
    v.sort();
    v
}

#[test]
fn network_none_has_only_an_up_loopback() {
    let d = setup();
    for c in BOTH {
        let r = cli(&d, c, &["run", "--rm", "--network", "none", "busybox", "cat", "/proc/net/dev"]);
        assert_eq!(interfaces(r.ok()), ["lo"], "{c:?}: {r:?}");
        let r = cli(&d, c, &["run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"]);
        let out = r.ok();
        assert_eq!(out.lines().count(), 1, "{c:?}: {r:?}");
        // The runtime brings lo up: 127.0.0.1 works in every container.
        assert!(out.starts_with("1: lo: <LOOPBACK,UP,LOWER_UP>"), "{c:?}: lo is down: {r:?}");
        let r = cli(&d, c, &["run", "--rm", "--network", "none", "busybox", "ping", "-c1", "-W2", "127.0.0.1"]);
        assert_eq!(r.code, 0, "{c:?}: {r:?}");
    }
}

#[test]
fn network_host_sees_the_host_interfaces() {
    let d = setup();
    let host_name = nix::unistd::gethostname().unwrap().to_string_lossy().into_owned();
    for c in BOTH {
        // Other tests add and remove links meanwhile: every link there both before and after
        // must be seen (this daemon's own bridge among them).
        let before = interfaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
        let r = cli(&d, c, &["run", "--rm", "--network", "host", "busybox", "cat", "/proc/net/dev"]);
        let seen = interfaces(r.ok());
        let after = interfaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
        let missing: Vec<&String> = before.iter().filter(|i| after.contains(i) && !seen.contains(i)).collect();
        assert!(seen.contains(&d.bridge) && missing.is_empty(), "{c:?}: host links not visible: {missing:?} {r:?}");
        // With the host's network the container takes the host's name (moby sets
        // Config.Hostname from os.Hostname()).
        let r = cli(&d, c, &["run", "--rm", "--network", "host", "busybox", "hostname"]);
        assert_eq!(r.out(), host_name, "{c:?}: {r:?}");
        // And a private one does not see them.
        let r = cli(&d, c, &["run", "--rm", "--network", "none", "busybox", "cat", "/proc/net/dev"]);
        assert_eq!(interfaces(r.ok()), ["lo"], "{c:?}");
    }
}
