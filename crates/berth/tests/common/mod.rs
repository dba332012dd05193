//! Test harness: a private berth daemon per test (own root, exec root and socket in a temp
//! dir), the berth CLI and the real docker CLI pointed at it, a busybox image built from Debian's
//! busybox-static, and cleanup that runs even when the test fails (Drop).
//!
//! These tests need root (namespaces, mounts, cgroups); run as another user they fail with a
//! clear message instead of skipping.
#![allow(dead_code)]

pub mod pty;

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The berth binary under test.
pub fn berth_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_berth"))
}

/// The docker CLI used for the end-to-end checks.
pub fn docker_bin() -> PathBuf {
    for p in ["/usr/local/bin/docker", "/usr/bin/docker"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("the docker CLI is needed for the end-to-end tests (apt-get install docker.io, or /usr/local/bin/docker)");
}

/// Fails the test unless running as root.
pub fn require_root() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "berth's integration tests create real containers and must run as root"
    );
}

/// A busybox rootfs tarball, built once per machine by tests/make-busybox.sh.
pub fn busybox_tar() -> PathBuf {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let out = dir.join("busybox-rootfs.tar");
        if out.exists() {
            return out;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/make-busybox.sh");
        let tmp = dir.join(format!("busybox-rootfs.tar.{}", std::process::id()));
        let st = Command::new("sh").arg(&script).arg(&tmp).status().expect("running make-busybox.sh");
        assert!(st.success(), "make-busybox.sh failed (is busybox-static installed?)");
        std::fs::rename(&tmp, &out).expect("placing the busybox tarball");
        out
    })
    .clone()
}

/// The result of a CLI run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "command failed: stdout={:?} stderr={:?}", self.stdout, self.stderr);
        &self.stdout
    }

    /// stdout without the trailing newline.
    pub fn out(&self) -> &str {
        self.stdout.trim_end_matches('\n')
    }
}

/// A private daemon.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub exec_root: PathBuf,
    pub socket: PathBuf,
    /// The default bridge's interface, unique to this daemon (tests run in parallel).
    pub bridge: String,
    /// berth's nftables table of this daemon.
    pub table: String,
    /// Extra daemon flags (`--bip`, `--default-address-pool`, more `-H`).
    pub extra: Vec<String>,
    /// The parent cgroup of its containers (`--cgroup-parent`), its own: tests can list it.
    pub cgroup_parent: String,
    /// The failpoint (`BERTH_FAILPOINT`) the daemon is started with next.
    pub failpoint: Option<String>,
    /// How it is started beyond the flags.
    pub setup: Setup,
    child: Option<Child>,
}

/// How to start a daemon beyond the defaults ([`Daemon::start_setup`]).
#[derive(Debug, Default, Clone)]
pub struct Setup {
    /// Extra daemon flags.
    pub extra: Vec<String>,
    /// Extra environment of the daemon.
    pub env: Vec<(String, String)>,
    /// A command the daemon runs under (`{socket}` in it is replaced by [`Daemon::socket`]).
    /// The daemon then gets no `-H unix://SOCKET` of its own: the wrapper listens there and
    /// passes the socket (`systemd-socket-activate -l {socket}` with `-H fd://` in `extra`).
    pub wrapper: Vec<String>,
    /// Sets `JOURNAL_STREAM` to the log file's `DEVICE:INODE`, as systemd does for a service
    /// whose stderr goes to journald.
    pub journal: bool,
}

impl Daemon {
    /// Starts a daemon and waits until it answers.
    pub fn start() -> Daemon {
        Self::start_with(&[])
    }

    /// Starts a daemon with extra flags.
    pub fn start_with(extra: &[&str]) -> Daemon {
        Self::start_setup(Setup { extra: extra.iter().map(|s| (*s).to_owned()).collect(), ..Setup::default() })
    }

    /// Starts a daemon as `setup` says.
    pub fn start_setup(setup: Setup) -> Daemon {
        let mut d = Self::new_setup(setup);
        d.spawn();
        d
    }

    /// A daemon with its own directories, bridge and table names, not started yet (see
    /// [`Daemon::try_spawn`]). A `-b`/`--bridge` among `extra` replaces its own bridge's name
    /// in the flags; [`Daemon::bridge`] stays the one its Drop removes.
    pub fn new_with(extra: &[&str]) -> Daemon {
        Self::new_setup(Setup { extra: extra.iter().map(|s| (*s).to_owned()).collect(), ..Setup::default() })
    }

    /// [`Daemon::new_with`] as `setup` says.
    pub fn new_setup(setup: Setup) -> Daemon {
        require_root();
        let dir = tempfile::Builder::new().prefix("berth-test-").tempdir_in("/tmp").expect("temp dir");
        let root = dir.path().join("root");
        let exec_root = dir.path().join("run");
        let socket = dir.path().join("berth.sock");
        // "berth-test-XXXXXX": the random tail names this daemon's bridge and table.
        let tag: String = dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().rsplit('-').next().unwrap_or("x").to_ascii_lowercase())
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let bridge = format!("bt{tag}");
        let table = format!("bt_{tag}");
        let extra = setup.extra.clone();
        let cgroup_parent = format!("berth-test-{tag}");
        Daemon {
            root,
            exec_root,
            socket,
            bridge,
            table,
            extra,
            cgroup_parent,
            failpoint: None,
            setup,
            child: None,
            dir,
        }
    }

    fn spawn(&mut self) {
        if let Err(log) = self.try_spawn() {
            panic!("{log}");
        }
    }

    /// Starts the daemon (again) and waits until it answers; `Err`: it exited or did not
    /// answer, with what it logged this time.
    pub fn try_spawn(&mut self) -> Result<(), String> {
        let logged = self.log().len();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("daemon.log"))
            .expect("daemon log");
        let wrapped = !self.setup.wrapper.is_empty();
        let mut cmd = if wrapped {
            let sock = self.socket.to_string_lossy().into_owned();
            let mut c = Command::new(&self.setup.wrapper[0]);
            c.args(self.setup.wrapper[1..].iter().map(|a| a.replace("{socket}", &sock))).arg(berth_bin());
            c
        } else {
            Command::new(berth_bin())
        };
        if self.setup.journal {
            use std::os::unix::fs::MetadataExt;
            let m = log.metadata().expect("log file");
            cmd.env("JOURNAL_STREAM", format!("{}:{}", m.dev(), m.ino()));
        }
        cmd.envs(self.setup.env.iter().map(|(k, v)| (k, v)));
        cmd.env_remove("BERTH_FAILPOINT").envs(self.failpoint.iter().map(|f| ("BERTH_FAILPOINT", f.as_str())));
        cmd.arg("daemon").arg("--root").arg(&self.root).arg("--exec-root").arg(&self.exec_root);
        if !wrapped {
            cmd.arg("-H").arg(format!("unix://{}", self.socket.display()));
        }
        let child = cmd
            .arg("--log-level")
            .arg("debug")
            .arg("--cgroup-parent")
            .arg(&self.cgroup_parent)
            .args(
                (!self.extra.iter().any(|a| a == "-b" || a.starts_with("--bridge")))
                    .then_some(["--bridge", self.bridge.as_str()])
                    .into_iter()
                    .flatten(),
            )
            .arg("--firewall-table")
            .arg(&self.table)
            // Network safety: names that aren't containers' go to a loopback address where
            // nothing answers, never to the host's real resolvers.
            .args(["--dns", "127.0.0.2"])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("starting berth daemon");
        self.child = Some(child);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            // A wrapper's socket accepts before the daemon runs: wait for an answer.
            if if wrapped { self.ping() } else { UnixStream::connect(&self.socket).is_ok() } {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                self.child = None;
                let log = self.log();
                return Err(format!("berth daemon exited at start ({st}); log:\n{}", &log[logged.min(log.len())..]));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("berth daemon did not answer on {} within 20 s; log:\n{}", self.socket.display(), self.log()))
    }

    /// Whether the daemon answers `GET /_ping` on its socket.
    pub fn ping(&self) -> bool {
        use std::io::Write;
        let Ok(mut s) = UnixStream::connect(&self.socket) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        if s.write_all(b"GET /_ping HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n").is_err() {
            return false;
        }
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200")
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// The `-H` value.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The daemon's PID.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).expect("daemon running")
    }

    /// Runs the berth CLI.
    pub fn berth(&self, args: &[&str]) -> Run {
        Run::from(self.berth_cmd(args).output().expect("running berth"))
    }

    /// Runs the berth CLI with `input` on stdin.
    pub fn berth_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        run_with_stdin(self.berth_cmd(args), input)
    }

    /// A berth command to customise.
    pub fn berth_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(berth_bin());
        c.env("BERTH_HOST", self.host()).args(args).stdin(Stdio::null());
        c
    }

    /// Runs the docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Run {
        Run::from(self.docker_cmd(args).output().expect("running docker"))
    }

    /// Runs the docker CLI with `input` on stdin.
    pub fn docker_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        run_with_stdin(self.docker_cmd(args), input)
    }

    /// A docker command to customise.
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(docker_bin());
        let cfg = self.dir.path().join("docker-config");
        c.env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", cfg)
            .env_remove("DOCKER_API_VERSION")
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Imports the busybox image as `busybox:latest` (CMD sh).
    pub fn busybox(&self) {
        let tar = busybox_tar();
        let r = self.berth(&["import", tar.to_str().expect("utf-8 path"), "busybox:latest", "-c", "CMD [\"sh\"]"]);
        assert_eq!(r.code, 0, "import failed: {r:?}");
    }

    /// Kills the daemon with SIGKILL (containers keep running).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the daemon again on the same root.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Stops the daemon with SIGTERM.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), nix::sys::signal::Signal::SIGTERM);
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// IDs of this daemon's containers (from its state directory).
    pub fn container_ids(&self) -> Vec<String> {
        std::fs::read_dir(self.root.join("containers"))
            .map(|rd| {
                rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.len() == 64).collect()
            })
            .unwrap_or_default()
    }

    /// Shims of this daemon still running.
    pub fn shims(&self) -> Vec<i32> {
        let needle = self.exec_root.to_string_lossy().into_owned();
        processes_with(&needle).into_iter().filter(|(_, cmd)| cmd.contains(" shim ")).map(|(p, _)| p).collect()
    }

    /// Asserts nothing of this daemon's containers is left: mounts under its directories,
    /// cgroups, shims, container directories.
    #[track_caller]
    pub fn assert_clean(&self, ids: &[String]) {
        self.assert_no_mounts("mounts left behind");
        let cgroups = cgroups::Manager::detect().expect("detecting the host's cgroup hierarchies");
        for id in ids {
            let cg = self.container_cgroup(&cgroups, id).expect("a container's cgroup path");
            for p in cg.paths() {
                assert!(!p.exists(), "cgroup left behind: {}", p.display());
            }
            assert!(!self.root.join("containers").join(id).exists(), "container directory left behind: {id}");
            assert!(!self.exec_root.join("containers").join(id).exists(), "run directory left behind: {id}");
        }
        let shims = self.shims();
        assert!(shims.is_empty(), "shims left running: {shims:?}");
    }

    /// Removes the named containers with `rm -f` (which must succeed), then asserts that
    /// nothing of any container this daemon had is left (see [`Daemon::assert_clean`]).
    #[track_caller]
    pub fn rm_f_and_assert_clean(&self, names: &[&str]) {
        let ids = self.container_ids();
        let mut args = vec!["rm", "-f"];
        args.extend_from_slice(names);
        self.berth(&args).ok();
        self.assert_clean(&ids);
    }

    /// Mounts (lines of this process's mountinfo) that mention the daemon's directory: mounted
    /// under it, or from it.
    pub fn mounts(&self) -> Vec<String> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&dir))
            .map(str::to_owned)
            .collect()
    }

    /// Asserts [`Daemon::mounts`] is empty; `what` starts the failure message.
    #[track_caller]
    pub fn assert_no_mounts(&self, what: &str) {
        let leaked = self.mounts();
        assert!(leaked.is_empty(), "{what}: {leaked:#?}");
    }
}

impl Daemon {
    /// A container's cgroup, `<cgroup parent>/<id>`, in every hierarchy berth uses (named as
    /// the engine names it). `None` for an invalid id.
    pub fn container_cgroup(&self, m: &cgroups::Manager, id: &str) -> Option<cgroups::Cgroup> {
        m.cgroup(format!("{}/{id}", self.cgroup_parent)).ok()
    }

    /// The container cgroups under this daemon's parent (from the pids hierarchy, or the v2
    /// tree), by ID.
    pub fn cgroup_ids(&self) -> Vec<String> {
        let m = cgroups::Manager::detect().expect("detecting the host's cgroup hierarchies");
        let Ok(parent) = m.cgroup(self.cgroup_parent.clone()) else { return Vec::new() };
        let mut ids: Vec<String> = parent
            .paths()
            .flat_map(|p| std::fs::read_dir(p).into_iter().flatten().flatten())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Waits for the daemon to die (a failpoint) and starts it again without one.
    pub fn respawn_after_crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let t = Instant::now();
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => break,
                    _ if t.elapsed() > Duration::from_secs(20) => {
                        let _ = c.kill();
                        let _ = c.wait();
                        panic!("the daemon did not die at failpoint {:?}; log:\n{}", self.failpoint, self.log());
                    }
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        self.failpoint = None;
        self.spawn();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Best effort, also after a failed test: remove every container (which stops them and
        // frees their cgroups), stop the daemon, kill stray shims and their containers.
        if self.child.is_none() && UnixStream::connect(&self.socket).is_err() {
            self.spawn_quietly();
        }
        let ids = self.container_ids();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = self.berth(&args);
        }
        self.stop();
        for pid in self.shims() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        // A container whose shim is gone keeps running: kill what is left in its cgroup (its
        // PID 1 too), then remove the cgroup in every hierarchy.
        if let Ok(cgroups) = cgroups::Manager::detect() {
            let mut all = ids.clone();
            all.extend(self.cgroup_ids());
            for id in &all {
                if let Some(cg) = self.container_cgroup(&cgroups, id) {
                    let _ = cg.kill_all(nix::sys::signal::Signal::SIGKILL);
                    let _ = cg.destroy();
                }
            }
            // The daemon's own parent cgroup.
            if let Ok(parent) = cgroups.cgroup(self.cgroup_parent.clone()) {
                let _ = parent.destroy();
            }
        }
        // Mounts left under its directories (a tmpfs volume of a failed test), deepest first.
        let mut points: Vec<String> =
            self.mounts().iter().filter_map(|l| l.split(' ').nth(4).map(str::to_owned)).collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = nix::mount::umount2(p.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
        // Its bridges (the default one and those of networks it made) and its firewall table.
        for link in self.links() {
            let _ = Command::new("ip").args(["link", "del", &link]).stderr(Stdio::null()).status();
        }
        let _ = Command::new("nft").args(["delete", "table", "ip", &self.table]).stderr(Stdio::null()).status();
    }
}

impl Daemon {
    /// Host links this daemon made: its default bridge, the bridges of its networks and the
    /// 802.1q parents it created (from its network records).
    pub fn links(&self) -> Vec<String> {
        let mut out = vec![self.bridge.clone()];
        for e in std::fs::read_dir(self.root.join("networks")).into_iter().flatten().flatten() {
            let Ok(v) = std::fs::read(e.path()).map(|b| serde_json::from_slice::<serde_json::Value>(&b)) else {
                continue;
            };
            let Ok(v) = v else { continue };
            let ifname = v["ifname"].as_str().unwrap_or_default();
            let made = v["name"] != "bridge" && (v["created_bridge"] == true || v["created_parent"] == true);
            if !ifname.is_empty() && ifname != self.bridge && made {
                out.push(ifname.to_owned());
            }
        }
        out
    }

    /// Whether host link `name` exists.
    pub fn link_exists(name: &str) -> bool {
        Path::new("/sys/class/net").join(name).exists()
    }

    /// Whether this daemon's nftables table exists.
    pub fn table_exists(&self) -> bool {
        Command::new("nft")
            .args(["list", "table", "ip", &self.table])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Daemon {
    fn spawn_quietly(&mut self) {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.spawn()));
        if r.is_err() {
            self.child = None;
        }
    }
}

pub fn run_with_stdin(mut cmd: Command, input: &[u8]) -> Run {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("waiting");
    let _ = writer.join();
    Run::from(out)
}

/// (pid, command line) of processes whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(mut f) = std::fs::File::open(e.path().join("cmdline")) else { continue };
        let mut b = Vec::new();
        let _ = f.read_to_end(&mut b);
        let cmd = String::from_utf8_lossy(&b).replace('\0', " ");
        if cmd.contains(needle) {
            out.push((pid, cmd));
        }
    }
    out
}

/// Waits until `f` returns true (polling), or panics after `secs`.
#[track_caller]
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out after {secs} s waiting for {what}");
}

/// Runs `berth daemon ARGS` on a fresh root where it must refuse to start: exit status 1, no root
/// or socket made. Returns what it printed.
#[track_caller]
pub fn daemon_refuses(args: &[&str]) -> String {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut child = Command::new(berth_bin())
        .arg("daemon")
        .arg("--root")
        .arg(dir.path().join("root"))
        .arg("--exec-root")
        .arg(dir.path().join("run"))
        .arg("-H")
        .arg(format!("unix://{}", dir.path().join("s.sock").display()))
        // Never the host's defaults, should it start after all.
        .args(["--bridge", "btrefused0", "--firewall-table", "bt_refused", "--dns", "127.0.0.2"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("berth daemon {args:?} kept running: {}", std::fs::read_to_string(&log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = std::fs::read_to_string(&log).unwrap();
    assert_eq!(st.code(), Some(1), "{args:?}: {out}");
    // Refused before anything was set up.
    assert!(!dir.path().join("root").exists(), "{args:?} created the root: {out}");
    assert!(!dir.path().join("s.sock").exists(), "{args:?} created the socket: {out}");
    out
}
