//! Root tests against the real cgroup file systems of the host running `cargo test`.
//!
//! They fail (never skip) when not run as root. Each test works under its own
//! `berth-test-<pid>-<n>-<tag>/ctr` cgroup and a [`Fixture`] guard that, even when the test
//! panics, thaws the cgroup, moves leftover child processes back to the root cgroups,
//! kills and reaps them, detaches device programs, and removes both directories.
//!
//! Besides the host's own layout (hybrid on the CI host), two derived managers are used:
//! one that sees only the cgroup2 mount (to exercise the v2 code paths: eBPF device filter,
//! `cgroup.freeze`, `cgroup.kill`) and one that sees only the v1 hierarchies (to exercise
//! the freeze-and-signal kill loop).

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sys::signal::Signal;

use crate::cgroup::Cgroup;
use crate::devices::{DeviceAccess, DeviceRule, default_device_rules};
use crate::error::{CgroupError, ErrorKind};
use crate::manager::{Manager, Mode};
use crate::mountinfo::{Controller, Version};
use crate::resources::{HugetlbLimit, Limit, Resources};
use crate::{bpf, file};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "cgroup host tests must run as root (they create cgroups under the host's mounts)"
    );
}

fn unique(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("berth-test-{}-{}-{tag}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn host_mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo")
}

/// A manager that sees only the host's cgroup2 mount, so v2 code paths run on a hybrid host.
fn unified_only() -> Manager {
    let lines: String =
        host_mountinfo().lines().filter(|l| l.contains(" - cgroup2 ")).map(|l| format!("{l}\n")).collect();
    assert!(!lines.is_empty(), "these tests need a cgroup2 mount on the host");
    let m = Manager::from_mountinfo(&lines).expect("cgroup2-only manager");
    assert_eq!(m.mode(), Mode::V2);
    m
}

/// A manager that sees only the host's v1 hierarchies.
fn v1_only() -> Manager {
    let lines: String =
        host_mountinfo().lines().filter(|l| !l.contains(" - cgroup2 ")).map(|l| format!("{l}\n")).collect();
    let m = Manager::from_mountinfo(&lines).expect("v1-only manager");
    assert_eq!(m.mode(), Mode::V1, "these tests need cgroup v1 hierarchies on the host");
    m
}

/// Owns a test cgroup (and its parent) and the processes put into it.
struct Fixture {
    manager: Manager,
    parent: Cgroup,
    cg: Cgroup,
    children: Vec<Child>,
}

impl Fixture {
    fn new(manager: &Manager, tag: &str) -> Self {
        require_root();
        let name = unique(tag);
        Self {
            manager: manager.clone(),
            parent: manager.cgroup(&name).expect("valid name"),
            cg: manager.cgroup(format!("{name}/ctr")).expect("valid name"),
            children: Vec::new(),
        }
    }

    fn spawn(&mut self, cmd: &mut Command) -> i32 {
        let child = cmd.spawn().expect("spawn test child");
        let pid = i32::try_from(child.id()).expect("pid fits in i32");
        self.children.push(child);
        pid
    }

    fn spawn_sleep(&mut self) -> i32 {
        self.spawn(Command::new("sleep").arg("1000").stdin(Stdio::null()))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.cg.thaw();
        for child in &mut self.children {
            if let Ok(None) = child.try_wait() {
                for mount in self.manager.mount_points() {
                    let _ = file::write(&mount.join("cgroup.procs"), &child.id().to_string());
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = self.cg.detach_device_filters();
        let _ = self.cg.destroy();
        let _ = self.parent.destroy();
    }
}

fn read_trim(path: &Path) -> String {
    file::read(path).expect("read cgroup file").trim().to_owned()
}

#[test]
fn detects_host_layout() {
    let m = Manager::detect().expect("detect");
    for mount in m.mount_points() {
        assert!(mount.join("cgroup.procs").is_file(), "{} is a cgroup mount", mount.display());
    }
    // The CI host is hybrid: v1 controllers plus cgroup2 at .../unified.
    let hybrid = host_mountinfo().lines().any(|l| l.contains(" - cgroup2 "))
        && host_mountinfo().lines().any(|l| l.contains(" - cgroup ") && l.ends_with(",memory"));
    if hybrid {
        assert_eq!(m.mode(), Mode::Hybrid);
        assert_eq!(m.mode().version(), 1);
        assert!(m.has_controller(Controller::Memory));
    }
}

#[test]
fn create_apply_and_read_back_on_host() {
    let m = Manager::detect().expect("detect");
    let f = Fixture::new(&m, "apply");
    f.cg.create().expect("create");
    f.cg.create().expect("create is idempotent");
    for path in f.cg.paths() {
        assert!(path.is_dir(), "{} created", path.display());
    }

    // v1 cpuset: the new levels got the root's cpus and mems.
    if let Some(cpuset) = f.cg.dir_for(Controller::Cpuset).filter(|d| d.version == Version::V1) {
        for name in ["cpuset.cpus", "cpuset.mems"] {
            let root = read_trim(&cpuset.mount.join(name));
            assert_eq!(read_trim(&cpuset.path.join(name)), root, "{name} copied down");
            assert_eq!(read_trim(&cpuset.path.parent().expect("has parent").join(name)), root);
        }
    }

    let mut res = Resources {
        memory_limit: Some(Limit::Value(64 << 20)),
        memory_swap: Some(Limit::Value(96 << 20)),
        memory_reservation: Some(Limit::Value(32 << 20)),
        pids_limit: Some(Limit::Value(100)),
        cpu_shares: Some(512),
        cpu_quota: Some(Limit::Value(50_000)),
        cpu_period: Some(100_000),
        ..Resources::default()
    };
    let huge_2mb = Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").is_dir();
    if huge_2mb && m.has_controller(Controller::Hugetlb) {
        res.hugetlb.push(HugetlbLimit { page_size: "2MB".to_owned(), limit: 8 << 20 });
    }
    f.cg.apply(&res).expect("apply");

    let memory = f.cg.dir_for(Controller::Memory).expect("memory controller");
    let pids = f.cg.dir_for(Controller::Pids).expect("pids controller");
    match memory.version {
        Version::V1 => {
            assert_eq!(read_trim(&memory.path.join("memory.limit_in_bytes")), "67108864");
            assert_eq!(read_trim(&memory.path.join("memory.soft_limit_in_bytes")), "33554432");
            if memory.path.join("memory.memsw.limit_in_bytes").exists() {
                assert_eq!(read_trim(&memory.path.join("memory.memsw.limit_in_bytes")), "100663296");
            }
        }
        Version::V2 => {
            assert_eq!(read_trim(&memory.path.join("memory.max")), "67108864");
            assert_eq!(read_trim(&memory.path.join("memory.swap.max")), "33554432");
        }
    }
    assert_eq!(read_trim(&pids.path.join("pids.max")), "100");
    let cpu = f.cg.dir_for(Controller::Cpu).expect("cpu controller");
    if cpu.version == Version::V1 {
        assert_eq!(read_trim(&cpu.path.join("cpu.shares")), "512");
        assert_eq!(read_trim(&cpu.path.join("cpu.cfs_quota_us")), "50000");
    }
    if let Some(h) = res.hugetlb.first() {
        let dir = f.cg.dir_for(Controller::Hugetlb).expect("hugetlb controller");
        let name = match dir.version {
            Version::V1 => "hugetlb.2MB.limit_in_bytes",
            Version::V2 => "hugetlb.2MB.max",
        };
        assert_eq!(read_trim(&dir.path.join(name)), h.limit.to_string());
    }

    // Lower the limit (memory first), then raise it above the old memsw (memsw first).
    let lower = Resources {
        memory_limit: Some(Limit::Value(16 << 20)),
        memory_swap: Some(Limit::Value(32 << 20)),
        ..Resources::default()
    };
    f.cg.apply(&lower).expect("lower memory");
    let raise = Resources {
        memory_limit: Some(Limit::Value(256 << 20)),
        memory_swap: Some(Limit::Value(512 << 20)),
        ..Resources::default()
    };
    f.cg.apply(&raise).expect("raise memory above the old memory+swap");

    let stats = f.cg.stats().expect("stats");
    let mem = stats.memory.expect("memory stats");
    assert_eq!(mem.limit, Some(256 << 20));
    assert_eq!(stats.pids.expect("pids stats").limit, Some(100));
    assert!(stats.cpu.is_some());
    assert!(stats.io.is_some());

    // A page size the kernel lacks is reported by setting name, not dropped.
    if m.has_controller(Controller::Hugetlb) {
        let res =
            Resources { hugetlb: vec![HugetlbLimit { page_size: "3MB".to_owned(), limit: 1 }], ..Resources::default() };
        let err = f.cg.apply(&res).unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported { setting: "hugetlb.limit", .. }), "{err}");
        assert!(err.to_string().contains("hugetlb.3MB"), "{err}");
    }

    f.cg.destroy().expect("destroy");
    for path in f.cg.paths() {
        assert!(!path.exists(), "{} removed", path.display());
    }
    f.cg.destroy().expect("destroy again is fine");
}

#[test]
fn processes_freeze_and_kill_on_host() {
    let m = Manager::detect().expect("detect");
    let mut f = Fixture::new(&m, "procs");
    f.cg.create().expect("create");
    // A shell that execs sleep once it is in the cgroup: v1 memory charges don't move with a
    // task, so the exec is what puts memory on the cgroup's account.
    let flag = std::env::temp_dir().join(format!("berth-cg-procs-{}", std::process::id()));
    let _ = std::fs::remove_file(&flag);
    let script = format!("while [ ! -e {} ]; do sleep 0.01; done; exec sleep 1000", flag.display());
    let pid = f.spawn(Command::new("sh").args(["-c", &script]).stdin(Stdio::null()));
    f.cg.add_pid(pid).expect("add pid");
    std::fs::write(&flag, b"").expect("flag");
    for _ in 0..400 {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "sleep" && f.cg.pids().expect("pids").len() == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = std::fs::remove_file(&flag);
    assert_eq!(f.cg.pids().expect("pids"), [pid]);
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("read /proc/pid/cgroup");
    let rel = f.cg.rel_path().display().to_string();
    assert_eq!(
        own.lines().filter(|l| l.ends_with(&format!("/{rel}"))).count(),
        m.mount_points().count(),
        "in every hierarchy: {own}"
    );

    assert!(!f.cg.is_frozen().expect("state"));
    f.cg.freeze().expect("freeze");
    assert!(f.cg.is_frozen().expect("state"));
    // A non-fatal signal to a paused cgroup leaves it paused.
    f.cg.kill_all(Signal::SIGCONT).expect("signal while frozen");
    assert!(f.cg.is_frozen().expect("state"));
    f.cg.thaw().expect("thaw");
    assert!(!f.cg.is_frozen().expect("state"));

    let stats = f.cg.stats().expect("stats");
    assert_eq!(stats.pids.expect("pids stats").current, 1);
    assert!(stats.memory.expect("memory stats").usage > 0);

    f.cg.kill_all(Signal::SIGKILL).expect("kill all");
    assert!(f.cg.pids().expect("pids").is_empty());
    let status = f.children[0].wait().expect("reap");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
    f.cg.destroy().expect("destroy after kill");
}

#[test]
fn kill_loop_with_v1_freezer_catches_forks() {
    let m = v1_only();
    let mut f = Fixture::new(&m, "v1kill");
    f.cg.create().expect("create");
    // The shell forks only once it is in the cgroup (signalled by a flag file), so its children
    // are born inside it.
    let flag = std::env::temp_dir().join(format!("berth-cg-flag-{}", std::process::id()));
    let _ = std::fs::remove_file(&flag);
    let script = format!("while [ ! -e {} ]; do sleep 0.01; done; sleep 1000 & sleep 1000 & wait", flag.display());
    let pid = f.spawn(Command::new("sh").args(["-c", &script]).stdin(Stdio::null()));
    f.cg.add_pid(pid).expect("add pid");
    std::fs::write(&flag, b"").expect("flag");
    // Wait for the shell's two children to appear (they inherit the cgroup).
    for _ in 0..200 {
        if f.cg.pids().expect("pids").len() == 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = std::fs::remove_file(&flag);
    assert_eq!(f.cg.pids().expect("pids").len(), 3);
    f.cg.freeze().expect("freeze");
    f.cg.kill_all(Signal::SIGKILL).expect("kill all from frozen");
    assert!(f.cg.pids().expect("pids").is_empty());
    assert!(!f.cg.is_frozen().expect("state"), "left thawed");
    f.cg.destroy().expect("destroy");
}

#[test]
fn destroy_with_processes_reports_busy() {
    let m = Manager::detect().expect("detect");
    let mut f = Fixture::new(&m, "busy");
    f.cg.create().expect("create");
    let pid = f.spawn_sleep();
    f.cg.add_pid(pid).expect("add pid");
    let err = f.cg.destroy().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let text = err.to_string();
    assert!(text.contains(&pid.to_string()) && text.contains("still busy"), "{text}");
    let first = f.cg.paths().next().expect("a path").display().to_string();
    assert!(text.contains(&first), "names the path: {text}");
}

#[test]
fn procs_files_let_a_child_join_itself() {
    let m = Manager::detect().expect("detect");
    let mut f = Fixture::new(&m, "join");
    f.cg.create().expect("create");
    let files: Vec<PathBuf> = f.cg.procs_files();
    let pid = f.spawn(
        Command::new("sh")
            .arg("-c")
            .arg(r#"for f in "$@"; do echo 0 > "$f" || exit 1; done; echo joined; exec sleep 1000"#)
            .arg("sh")
            .args(&files)
            .stdin(Stdio::null())
            .stdout(Stdio::piped()),
    );
    let mut out = f.children[0].stdout.take().expect("stdout piped");
    let mut buf = [0u8; 7];
    out.read_exact(&mut buf).expect("child reports joining");
    assert_eq!(&buf, b"joined\n");
    assert_eq!(f.cg.pids().expect("pids"), [pid]);
}

/// Runs a shell in the cgroup that opens /dev/null and /dev/zero and reports the results.
fn probe_devices(f: &mut Fixture) -> String {
    let script = "read _; (: </dev/null) && echo null-ok; (: </dev/zero) 2>&1 || echo zero-denied";
    f.spawn(
        Command::new("sh").args(["-c", script]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()),
    );
    let child = f.children.last_mut().expect("just spawned");
    let pid = i32::try_from(child.id()).expect("pid fits in i32");
    f.cg.add_pid(pid).expect("add pid");
    let mut stdin = child.stdin.take().expect("stdin piped");
    stdin.write_all(b"go\n").expect("release the child");
    drop(stdin);
    let mut out = String::new();
    child.stdout.take().expect("stdout piped").read_to_string(&mut out).expect("read child output");
    let status = child.wait().expect("reap");
    assert!(status.success(), "probe exited with {status}: {out}");
    out
}

fn only_null() -> [DeviceRule; 2] {
    [DeviceRule::DENY_ALL, DeviceRule::allow_char(Some(1), Some(3), DeviceAccess::RWM)]
}

#[test]
fn v2_device_filter_on_cgroup2_mount() {
    let m = unified_only();
    let mut f = Fixture::new(&m, "bpf");
    f.cg.create().expect("create");
    f.cg.set_devices(&only_null()).expect("attach device filter");
    let out = probe_devices(&mut f);
    assert!(out.contains("null-ok"), "{out}");
    assert!(out.contains("Operation not permitted") && out.contains("zero-denied"), "{out}");

    // Replacing the rules leaves exactly one program attached, and it is the new one.
    f.cg.set_devices(&default_device_rules()).expect("replace device filter");
    let dir = std::fs::File::open(f.cg.paths().next().expect("one dir")).expect("open cgroup dir");
    let ids = bpf::query_device_programs(std::os::fd::AsFd::as_fd(&dir)).expect("query");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let out = probe_devices(&mut f);
    assert!(!out.contains("zero-denied"), "{out}");
}

#[test]
fn v1_device_rules_on_host() {
    let m = Manager::detect().expect("detect");
    let mut f = Fixture::new(&m, "dev1");
    f.cg.create().expect("create");
    let Some(devices) = f.cg.dir_for(Controller::Devices).cloned() else {
        panic!("this host has no v1 devices controller; run the v2 test instead");
    };
    f.cg.set_devices(&default_device_rules()).expect("default rules");
    let list = read_trim(&devices.path.join("devices.list"));
    assert!(list.contains("c 1:3 rwm") && list.contains("c 136:* rwm"), "{list}");
    assert!(!list.contains("a *:*"), "{list}");

    f.cg.set_devices(&only_null()).expect("only null");
    let out = probe_devices(&mut f);
    assert!(out.contains("null-ok"), "{out}");
    assert!(out.contains("Operation not permitted") && out.contains("zero-denied"), "{out}");
}

#[test]
fn v2_freeze_and_kill_on_cgroup2_mount() {
    let m = unified_only();
    let mut f = Fixture::new(&m, "v2kill");
    f.cg.create().expect("create");
    let dir = f.cg.paths().next().expect("one dir").to_owned();
    let a = f.spawn_sleep();
    let b = f.spawn_sleep();
    f.cg.add_pid(a).expect("add pid");
    f.cg.add_pid(b).expect("add pid");
    let mut want = vec![a, b];
    want.sort_unstable();
    assert_eq!(f.cg.pids().expect("pids"), want);

    f.cg.freeze().expect("freeze");
    assert!(f.cg.is_frozen().expect("state"));
    assert_eq!(read_trim(&dir.join("cgroup.freeze")), "1");
    f.cg.thaw().expect("thaw");
    assert!(!f.cg.is_frozen().expect("state"));

    // SIGTERM goes to every process (sleep dies of it).
    f.cg.kill_all(Signal::SIGTERM).expect("terminate");
    let status = f.children[0].wait().expect("reap");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(15));

    f.cg.kill_all(Signal::SIGKILL).expect("kill via cgroup.kill");
    assert!(f.cg.pids().expect("pids").is_empty());
    f.cg.destroy().expect("destroy");
}

#[test]
fn unsupported_controller_on_cgroup2_mount_is_named() {
    let m = unified_only();
    if m.has_controller(Controller::Pids) {
        return; // a full v2 host: nothing is missing to report
    }
    let f = Fixture::new(&m, "unsup");
    f.cg.create().expect("create");
    let err = f.cg.apply(&Resources { pids_limit: Some(Limit::Value(10)), ..Resources::default() }).unwrap_err();
    assert!(matches!(err, CgroupError::Unsupported { setting: "pids.limit", .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
}
