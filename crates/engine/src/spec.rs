//! From a container record to the runtime's [`runtime::Config`]: Docker's defaults (mounts,
//! devices, capabilities, masked and read-only paths, namespaces) with the user's settings
//! applied. Pure: every input is in [`SpecInputs`]; unit-tested below.

use std::path::{Path, PathBuf};

use runtime::{Config, Device, Mount, Namespace, NamespaceKind, Process, Rlimit, Rootfs};

use crate::EngineError;
use crate::model::Container;

/// Docker's masked paths (moby `oci/defaults.go`).
pub const MASKED_PATHS: &[&str] = &[
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

/// Docker's read-only paths.
pub const READONLY_PATHS: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// Where berth's init is mounted in containers run with `--init` (Docker's path).
pub const INIT_PATH: &str = "/sbin/docker-init";

/// Where berth's binary is mounted as `supervisorctl` in supervised containers.
pub const SUPERVISORCTL_PATH: &str = "/usr/bin/supervisorctl";

/// The default PATH when the image sets none (Docker's).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A host path a container reaches through a namespace file, for `container:<id>` modes.
#[derive(Debug, Clone, Default)]
pub struct JoinedNamespaces {
    /// Network namespace to join.
    pub net: Option<PathBuf>,
    /// PID namespace to join.
    pub pid: Option<PathBuf>,
    /// IPC namespace to join.
    pub ipc: Option<PathBuf>,
}

/// Everything [`build`] needs besides the container.
#[derive(Debug, Clone)]
pub struct SpecInputs {
    /// Image layers' diff dirs, bottom first.
    pub layers: Vec<PathBuf>,
    /// The init layer (mount points for hosts, hostname, ...), shared by all containers, above
    /// the image.
    pub init_layer: PathBuf,
    /// The writable layer.
    pub upper: PathBuf,
    /// overlayfs work dir.
    pub work: PathBuf,
    /// Mount point for the root filesystem.
    pub rootfs: PathBuf,
    /// The container's /etc/hosts, /etc/hostname, /etc/resolv.conf on the host.
    pub hosts: PathBuf,
    /// See `hosts`.
    pub hostname: PathBuf,
    /// See `hosts`.
    pub resolv_conf: PathBuf,
    /// `cgroup.procs` files to join.
    pub cgroup_procs: Vec<PathBuf>,
    /// cgroup filesystems to mount at /sys/fs/cgroup: (subdir or "" for cgroup2, fstype, options).
    pub cgroup_mounts: Vec<(String, String, String)>,
    /// The compiled seccomp program, or None for unconfined.
    pub seccomp: Option<PathBuf>,
    /// berth's own executable (bind-mounted as the init).
    pub init_binary: PathBuf,
    /// Namespaces shared with other containers.
    pub joined: JoinedNamespaces,
    /// Host devices for privileged containers.
    pub host_devices: Vec<Device>,
    /// The process's capabilities ([`capabilities`] of the container, computed once per start
    /// and shared with the seccomp program's compilation).
    pub capabilities: Vec<String>,
    /// Volumes, binds and `--mount` tmpfs mounts, parents first.
    pub user_mounts: Vec<Mount>,
    /// For a supervised container: the host directory mounted at `/run/berth`, where its init
    /// listens for control requests.
    pub supervisor_dir: PathBuf,
}

/// Docker's default device nodes.
pub fn default_devices() -> Vec<Device> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .map(|(p, major, minor)| Device { path: PathBuf::from(p), kind: 'c', major, minor, mode: 0o666, uid: 0, gid: 0 })
    .collect()
}

/// The capability set of a container: Docker's defaults (or all when privileged) with
/// `--cap-add`/`--cap-drop` applied (`ALL` allowed in both).
pub fn capabilities(c: &Container, last_cap: u8) -> Result<Vec<String>, EngineError> {
    use sys::caps::{self, CapSet};
    let bad = |e: caps::UnknownCapError| EngineError::InvalidArgument(e.to_string());
    if c.host_config.privileged {
        return Ok(CapSet::all(last_cap).names().into_iter().map(str::to_owned).collect());
    }
    let mut set = CapSet::from_names(&caps::DOCKER_DEFAULTS).map_err(bad)?;
    let is_all = |s: &str| s.eq_ignore_ascii_case("all");
    if c.host_config.cap_add.iter().any(|s| is_all(s)) {
        set = CapSet::all(last_cap);
    }
    for d in &c.host_config.cap_drop {
        if is_all(d) {
            set = CapSet::EMPTY;
        } else {
            set.remove(caps::from_name(d).map_err(bad)?);
        }
    }
    for a in c.host_config.cap_add.iter().filter(|s| !is_all(s)) {
        let n = caps::from_name(a).map_err(bad)?;
        if n > last_cap {
            return Err(EngineError::InvalidArgument(format!("capability {a} is not supported by this kernel")));
        }
        set.insert(n);
    }
    Ok(set.names().into_iter().map(str::to_owned).collect())
}

/// Whether `no-new-privileges` is set in the security options.
pub fn no_new_privileges(security_opt: &[String]) -> bool {
    security_opt
        .iter()
        .any(|o| matches!(o.as_str(), "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true"))
}

/// The overlay's lower dirs, top first: the init layer, then the image's layers (`layers` is
/// bottom first, as the image store lists them).
pub fn lower_dirs(init_layer: &Path, layers: &[PathBuf]) -> Vec<PathBuf> {
    std::iter::once(init_layer.to_owned()).chain(layers.iter().rev().cloned()).collect()
}

/// The environment of a container's process: PATH, HOSTNAME and, with a terminal, TERM, which
/// the container's own variables replace or follow (Docker's `CreateDaemonEnvironment`).
pub fn process_env(c: &Container, tty: bool) -> Vec<String> {
    let mut env = Vec::with_capacity(c.config.env.len() + 3);
    env.push(format!("PATH={DEFAULT_PATH}"));
    env.push(format!("HOSTNAME={}", c.config.hostname));
    if tty {
        env.push("TERM=xterm".to_owned());
    }
    replace_or_append_env(&mut env, &c.config.env);
    env
}

/// Docker's `ReplaceOrAppendEnvValues`: each `KEY=value` of `overrides` replaces the variable
/// of that name in `env`, in place, or is appended; a bare `KEY` removes it.
pub fn replace_or_append_env(env: &mut Vec<String>, overrides: &[String]) {
    fn key(e: &str) -> &str {
        e.split_once('=').map_or(e, |(k, _)| k)
    }
    for o in overrides {
        let k = key(o);
        match env.iter().position(|e| key(e) == k) {
            Some(_) if !o.contains('=') => env.retain(|e| key(e) != k),
            Some(i) => o.clone_into(&mut env[i]),
            None if o.contains('=') => env.push(o.clone()),
            None => {}
        }
    }
}

/// The container's `--ulimit`s; Docker's -1 is unlimited.
pub fn rlimits(c: &Container) -> Vec<Rlimit> {
    let limit = |v: i64| u64::try_from(v).unwrap_or(u64::MAX);
    c.host_config
        .ulimits
        .iter()
        .map(|u| Rlimit { kind: u.name.clone(), soft: limit(u.soft), hard: limit(u.hard) })
        .collect()
}

fn mount(dest: &str, kind: &str, source: &str, options: &[&str]) -> Mount {
    Mount {
        destination: PathBuf::from(dest),
        kind: kind.to_owned(),
        source: Some(PathBuf::from(source)),
        options: options.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn bind(dest: &str, source: &Path, options: &[&str]) -> Mount {
    Mount {
        destination: PathBuf::from(dest),
        kind: "bind".to_owned(),
        source: Some(source.to_owned()),
        options: options.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Parses a `--tmpfs` option string into mount options, with Docker's defaults.
fn tmpfs_options(opts: &str) -> Vec<String> {
    let mut out: Vec<String> = vec!["nosuid".into(), "nodev".into(), "noexec".into()];
    for o in opts.split(',').filter(|s| !s.is_empty()) {
        match o {
            "exec" => out.retain(|x| x != "noexec"),
            "suid" => out.retain(|x| x != "nosuid"),
            "dev" => out.retain(|x| x != "nodev"),
            _ => out.push(o.to_owned()),
        }
    }
    out
}

/// Builds the runtime configuration of `c`'s first process.
pub fn build(c: &Container, inp: &SpecInputs) -> Result<Config, EngineError> {
    let hc = &c.host_config;
    let privileged = hc.privileged;

    // Namespaces.
    let mut namespaces = vec![Namespace { kind: NamespaceKind::Mount, path: None }];
    match hc.pid_mode.as_str() {
        "host" => {}
        _ => namespaces.push(Namespace { kind: NamespaceKind::Pid, path: inp.joined.pid.clone() }),
    }
    if hc.uts_mode != "host" {
        namespaces.push(Namespace { kind: NamespaceKind::Uts, path: None });
    }
    if hc.ipc_mode != "host" {
        namespaces.push(Namespace { kind: NamespaceKind::Ipc, path: inp.joined.ipc.clone() });
    }
    if hc.network_mode != "host" {
        namespaces.push(Namespace { kind: NamespaceKind::Network, path: inp.joined.net.clone() });
    }
    if hc.cgroupns_mode != "host" {
        namespaces.push(Namespace { kind: NamespaceKind::Cgroup, path: None });
    }

    // Mounts, in Docker's order.
    let shm_size = if hc.shm_size > 0 { hc.shm_size } else { 64 << 20 };
    let shm_opt = format!("size={}k", shm_size / 1024);
    let sys_ro: &[&str] =
        if privileged { &["nosuid", "noexec", "nodev"] } else { &["nosuid", "noexec", "nodev", "ro"] };
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"]),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        ),
        mount("/sys", "sysfs", "sysfs", sys_ro),
    ];
    if hc.cgroupns_mode != "host" && !inp.cgroup_mounts.is_empty() {
        let ro: &str = if privileged { "rw" } else { "ro" };
        for (sub, fstype, data) in &inp.cgroup_mounts {
            let dest = if sub.is_empty() { "/sys/fs/cgroup".to_owned() } else { format!("/sys/fs/cgroup/{sub}") };
            let ro = if fstype == "tmpfs" { "rw" } else { ro };
            let mut opts = vec!["nosuid".to_owned(), "noexec".to_owned(), "nodev".to_owned(), ro.to_owned()];
            if !data.is_empty() {
                opts.push(data.clone());
            }
            mounts.push(Mount {
                destination: PathBuf::from(dest),
                kind: fstype.clone(),
                source: Some(PathBuf::from(fstype)),
                options: opts,
            });
        }
    }
    mounts.push(mount("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"]));
    mounts.push(mount("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", &shm_opt]));
    for (path, opts) in &hc.tmpfs {
        mounts.push(Mount {
            destination: PathBuf::from(path),
            kind: "tmpfs".into(),
            source: Some("tmpfs".into()),
            options: tmpfs_options(opts),
        });
    }
    mounts.extend(inp.user_mounts.iter().cloned());
    // The container's /etc files, unless the user mounts something of their own there.
    for (dest, src) in
        [("/etc/resolv.conf", &inp.resolv_conf), ("/etc/hostname", &inp.hostname), ("/etc/hosts", &inp.hosts)]
    {
        if !inp.user_mounts.iter().any(|m| m.destination == Path::new(dest)) {
            mounts.push(bind(dest, src, &["rbind", "rprivate"]));
        }
    }
    let init = hc.init.unwrap_or(false) || hc.supervise.is_some();
    if init {
        mounts.push(bind(INIT_PATH, &inp.init_binary, &["bind", "ro"]));
    }
    if hc.supervise.is_some() {
        // supervisorctl for the container's own use, and the control socket's directory.
        mounts.push(bind(SUPERVISORCTL_PATH, &inp.init_binary, &["bind", "ro"]));
        mounts.push(bind(init::supervisor::CONTROL_DIR, &inp.supervisor_dir, &["rbind", "rprivate"]));
    }

    // The command.
    let mut args: Vec<String> = Vec::new();
    if init {
        args.push(INIT_PATH.to_owned());
        if let Some(s) = &hc.supervise {
            args.push("--supervise".to_owned());
            for (flag, values) in [("--program", &s.programs), ("--cron", &s.cron), ("--exit-on", &s.exit_on)] {
                for v in values {
                    args.push(flag.to_owned());
                    args.push(v.clone());
                }
            }
        }
        args.push("--".to_owned());
    }
    if !c.path.is_empty() {
        args.push(c.path.clone());
        args.extend(c.args.iter().cloned());
    }

    let process = Process {
        args,
        env: process_env(c, c.config.tty),
        cwd: PathBuf::from(if c.config.working_dir.is_empty() { "/" } else { &c.config.working_dir }),
        user: c.config.user.clone(),
        additional_groups: hc.group_add.clone(),
        terminal: c.config.tty,
        console_size: hc.console_size,
        capabilities: inp.capabilities.clone(),
        rlimits: rlimits(c),
        no_new_privileges: no_new_privileges(&hc.security_opt),
        seccomp: if privileged { None } else { inp.seccomp.clone() },
        create_cwd: true,
        // The control socket's directory is PID 1's (which may run as any `--user`), private.
        owned_dirs: if hc.supervise.is_some() {
            vec![PathBuf::from(init::supervisor::CONTROL_DIR)]
        } else {
            Vec::new()
        },
    };

    let mut devices = default_devices();
    if privileged {
        for d in &inp.host_devices {
            if !devices.iter().any(|x| x.path == d.path) {
                devices.push(d.clone());
            }
        }
    }
    let masked = match (&hc.masked_paths, privileged) {
        (_, true) => Vec::new(),
        (Some(m), _) => m.iter().map(PathBuf::from).collect(),
        (None, _) => MASKED_PATHS.iter().map(PathBuf::from).collect(),
    };
    let mut readonly: Vec<PathBuf> = match (&hc.readonly_paths, privileged) {
        (_, true) => Vec::new(),
        (Some(m), _) => m.iter().map(PathBuf::from).collect(),
        (None, _) => READONLY_PATHS.iter().map(PathBuf::from).collect(),
    };
    if !privileged && mounts.iter().any(|m| m.destination == Path::new("/sys/fs/cgroup")) {
        // The cgroup tmpfs is mounted writable so its mount points can be made, then made
        // read-only here (each cgroup filesystem in it is read-only already).
        readonly.push(PathBuf::from("/sys/fs/cgroup"));
    }

    if let Some(map) = &hc.userns_remap {
        remap_mounts_and_devices(map, &mut mounts, &mut devices);
    }

    let lower = lower_dirs(&inp.init_layer, &inp.layers);
    let make_dirs =
        c.config.volumes.iter().map(PathBuf::from).filter(|p| !mounts.iter().any(|m| &m.destination == p)).collect();
    Ok(Config {
        id: c.id.clone(),
        rootfs: Rootfs::Overlay { lower, upper: inp.upper.clone(), work: inp.work.clone(), target: inp.rootfs.clone() },
        readonly_rootfs: hc.readonly_rootfs,
        hostname: (hc.uts_mode != "host").then(|| c.config.hostname.clone()),
        domainname: (hc.uts_mode != "host" && !c.config.domainname.is_empty()).then(|| c.config.domainname.clone()),
        namespaces,
        mounts,
        devices,
        masked_paths: masked,
        readonly_paths: readonly,
        cgroup_procs: inp.cgroup_procs.clone(),
        oom_score_adj: (hc.oom_score_adj != 0).then(|| i32::try_from(hc.oom_score_adj).unwrap_or(0)),
        sysctls: hc.sysctls.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        make_dirs,
        userns: hc.userns_remap.clone(),
        process,
    })
}

/// In a user namespace the runtime still mounts as the host's root, so ids in mount options
/// and device owners are host ids: the tmpfs mounts (/dev, /dev/shm, `--tmpfs`) belong to the
/// container's root (or to the host id of the `uid=`/`gid=` asked for), devpts gives new
/// terminals the container's `tty` group, device nodes are its root's.
pub(crate) fn remap_mounts_and_devices(map: &runtime::IdMapping, mounts: &mut [Mount], devices: &mut [Device]) {
    let uid = |id: u32| map.host_uid(id).unwrap_or(runtime::config::OVERFLOW_ID);
    let gid = |id: u32| map.host_gid(id).unwrap_or(runtime::config::OVERFLOW_ID);
    for m in mounts.iter_mut().filter(|m| m.kind == "tmpfs" || m.kind == "devpts") {
        let (mut has_uid, mut has_gid) = (false, false);
        for o in m.options.iter_mut() {
            if let Some(v) = o.strip_prefix("uid=").and_then(|v| v.parse::<u32>().ok()) {
                *o = format!("uid={}", uid(v));
                has_uid = true;
            } else if let Some(v) = o.strip_prefix("gid=").and_then(|v| v.parse::<u32>().ok()) {
                *o = format!("gid={}", gid(v));
                has_gid = true;
            }
        }
        if m.kind == "tmpfs" {
            if !has_uid {
                m.options.push(format!("uid={}", uid(0)));
            }
            if !has_gid {
                m.options.push(format!("gid={}", gid(0)));
            }
        }
    }
    for d in devices.iter_mut() {
        d.uid = uid(d.uid);
        d.gid = gid(d.gid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> Container {
        crate::model::test_container()
    }

    /// The inputs the engine would pass for `c` (its capabilities on a kernel whose last one is 40).
    fn inputs_for(c: &Container) -> SpecInputs {
        SpecInputs { capabilities: capabilities(c, 40).unwrap(), ..inputs() }
    }

    fn inputs() -> SpecInputs {
        SpecInputs {
            layers: vec!["/l/1".into(), "/l/2".into()],
            init_layer: "/c/init".into(),
            upper: "/c/upper".into(),
            work: "/c/work".into(),
            rootfs: "/r/rootfs".into(),
            hosts: "/c/hosts".into(),
            hostname: "/c/hostname".into(),
            resolv_conf: "/c/resolv.conf".into(),
            cgroup_procs: vec![],
            cgroup_mounts: vec![],
            seccomp: Some("/s/x.bpf".into()),
            init_binary: "/usr/bin/berth".into(),
            joined: JoinedNamespaces::default(),
            host_devices: vec![],
            capabilities: capabilities(&container(), 40).unwrap(),
            user_mounts: vec![],
            supervisor_dir: "/c/supervisor".into(),
        }
    }

    #[test]
    fn defaults_match_docker() {
        let cfg = build(&container(), &inputs()).unwrap();
        assert_eq!(cfg.process.capabilities.len(), 14);
        assert_eq!(cfg.process.args, vec!["sh", "-c", "true"]);
        // Docker's order: its defaults, replaced in place by the container's variables.
        assert_eq!(cfg.process.env, vec!["PATH=/bin", "HOSTNAME=aaaaaaaaaaaa", "A=1"]);
        assert_eq!(cfg.masked_paths.len(), MASKED_PATHS.len());
        assert_eq!(cfg.devices.len(), 6);
        let Rootfs::Overlay { lower, .. } = &cfg.rootfs else { panic!() };
        assert_eq!(lower, &vec![PathBuf::from("/c/init"), "/l/2".into(), "/l/1".into()]);
        assert!(cfg.namespaces.iter().any(|n| n.kind == NamespaceKind::Network));
        assert_eq!(cfg.process.seccomp.as_deref(), Some(Path::new("/s/x.bpf")));
        assert!(cfg.mounts.iter().any(|m| m.destination == Path::new("/etc/hosts")));
    }

    #[test]
    fn init_and_tty() {
        let mut c = container();
        c.host_config.init = Some(true);
        c.config.tty = true;
        let cfg = build(&c, &inputs_for(&c)).unwrap();
        assert_eq!(&cfg.process.args[..3], &["/sbin/docker-init", "--", "sh"]);
        assert!(cfg.process.env.contains(&"TERM=xterm".to_owned()));
        assert!(
            cfg.mounts.iter().any(|m| m.destination == Path::new(INIT_PATH) && m.options.contains(&"ro".to_owned()))
        );
    }

    #[test]
    fn caps_add_drop() {
        let mut c = container();
        c.host_config.cap_add = vec!["NET_ADMIN".into()];
        c.host_config.cap_drop = vec!["CAP_CHOWN".into(), "mknod".into()];
        let caps = capabilities(&c, 40).unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".to_owned()));
        assert!(!caps.contains(&"CAP_CHOWN".to_owned()));
        assert_eq!(caps.len(), 13);
        c.host_config.cap_drop = vec!["ALL".into()];
        c.host_config.cap_add = vec!["KILL".into()];
        assert_eq!(capabilities(&c, 40).unwrap(), vec!["CAP_KILL"]);
        c.host_config.cap_add = vec!["BOGUS".into()];
        assert!(capabilities(&c, 40).is_err());
    }

    #[test]
    fn privileged_and_host_modes() {
        let mut c = container();
        c.host_config.privileged = true;
        c.host_config.network_mode = "host".into();
        c.host_config.pid_mode = "host".into();
        let cfg = build(&c, &inputs_for(&c)).unwrap();
        assert_eq!(cfg.process.capabilities.len(), 41);
        assert!(cfg.masked_paths.is_empty());
        assert!(cfg.process.seccomp.is_none());
        assert!(!cfg.namespaces.iter().any(|n| matches!(n.kind, NamespaceKind::Network | NamespaceKind::Pid)));
    }

    #[test]
    fn remapped_container() {
        let mut c = container();
        let r = runtime::IdMap { container_id: 0, host_id: 100_000, size: 65_536 };
        c.host_config.userns_remap = Some(runtime::IdMapping { uids: vec![r], gids: vec![r] });
        c.host_config.tmpfs.insert("/run".into(), "uid=1000".into());
        let cfg = build(&c, &inputs_for(&c)).unwrap();
        assert_eq!(cfg.userns, c.host_config.userns_remap);
        let opts = |dest: &str| cfg.mounts.iter().find(|m| m.destination == Path::new(dest)).unwrap().options.clone();
        assert!(opts("/dev").ends_with(&["uid=100000".to_owned(), "gid=100000".to_owned()]));
        assert!(opts("/dev/shm").contains(&"uid=100000".to_owned()));
        assert!(opts("/run").ends_with(&["uid=101000".to_owned(), "gid=100000".to_owned()]));
        assert!(opts("/dev/pts").contains(&"gid=100005".to_owned()));
        assert!(cfg.devices.iter().all(|d| (d.uid, d.gid) == (100_000, 100_000)));
        // Without remapping nothing changes.
        let cfg = build(&container(), &inputs()).unwrap();
        assert!(cfg.userns.is_none());
        assert!(!opts_of(&cfg, "/dev").iter().any(|o| o.starts_with("uid=")));
    }

    fn opts_of(cfg: &Config, dest: &str) -> Vec<String> {
        cfg.mounts.iter().find(|m| m.destination == Path::new(dest)).unwrap().options.clone()
    }

    #[test]
    fn tmpfs_opts() {
        assert_eq!(tmpfs_options("size=1m,exec"), vec!["nosuid", "nodev", "size=1m"]);
    }

    #[test]
    fn env_overrides_replace_in_place_append_or_unset() {
        let mut env = vec!["PATH=/bin".to_owned(), "HOSTNAME=h".to_owned(), "TERM=xterm".to_owned()];
        let overrides: Vec<String> =
            ["HOSTNAME=mine", "NEW=1", "TERM", "GONE", "PATH=/usr/bin"].iter().map(|s| (*s).to_owned()).collect();
        replace_or_append_env(&mut env, &overrides);
        assert_eq!(env, ["PATH=/usr/bin", "HOSTNAME=mine", "NEW=1"]);
    }

    #[test]
    fn unlimited_ulimits() {
        let mut c = container();
        c.host_config.ulimits = vec![
            crate::model::Ulimit { name: "memlock".into(), soft: -1, hard: -1 },
            crate::model::Ulimit { name: "nofile".into(), soft: 1024, hard: 4096 },
        ];
        let r: Vec<(String, u64, u64)> = rlimits(&c).into_iter().map(|r| (r.kind, r.soft, r.hard)).collect();
        assert_eq!(r, [("memlock".to_owned(), u64::MAX, u64::MAX), ("nofile".to_owned(), 1024, 4096)]);
    }
}
