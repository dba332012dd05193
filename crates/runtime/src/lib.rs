//! berth's container runtime: turns a [`Config`] into a process in its own namespaces, and runs
//! further processes inside an existing container (`exec`).
//!
//! It is written for the per-container shim, a single-threaded process: [`create`] and [`exec`]
//! `fork()` the caller, so they must never be called from a multi-threaded process (the daemon).
//!
//! Lifecycle, as `runc create` / `runc start`:
//!
//! ```text
//!   create(config, stdio) ──fork──▶ child: cgroup, namespaces, rootfs, mounts, /dev, pivot_root,
//!        │                                  masked paths, hostname, user, cwd, PATH lookup, stdio
//!        ◀──────────── "ready" ─────────────┘   (or an error: nothing is left running)
//!   Created::start() ── "go" ──▶ child: seccomp, setuid, capabilities, execve
//!        ◀──── EOF (exec succeeded) or error (exit status 126/127 as Docker) ┘
//! ```
//!
//! With [`Config::userns`] (`--userns-remap`) the container gets a user namespace of its own:
//! made before the fork, its mappings applied to the image layers (idmapped mounts), joined
//! by the process last, after the set-up done as the host's root. See [`userns`].
//!
//! The PID namespace is special: a process can't move itself into a new one, only its children.
//! [`create`] therefore unshares the *caller's* PID namespace for children before forking, which
//! also makes every later fork of the shim (the `exec`s) land in the container's namespace.
//!
//! Why not youki's libcontainer: its structural cost (double clone, state files, probing every
//! cgroup controller) is ~7 ms per container and it compiles seccomp on every start; berth's
//! budget for a whole `run` is about twice `crun run`. See ARCHITECTURE.md.
#![warn(missing_docs)]

mod channel;
pub mod config;
mod process;
mod rootfs;
pub mod user;
pub mod userns;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

pub use config::{Config, Device, IdMap, IdMapping, Mount, Namespace, NamespaceKind, Process, Rlimit, Rootfs};
pub use rootfs::remount as remount_bind;

use channel::{Channel, FromChild};

/// How the process's standard streams are connected.
#[derive(Debug)]
pub enum Stdio {
    /// Given descriptors (pipes, /dev/null, a log file ...).
    Pipes {
        /// Standard input.
        stdin: OwnedFd,
        /// Standard output.
        stdout: OwnedFd,
        /// Standard error.
        stderr: OwnedFd,
    },
    /// A new terminal from the container's devpts; its master is returned by
    /// [`Created::take_pty`].
    Tty,
}

/// Why a container or exec could not be created or started.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The process reported a failure during setup or exec.
    #[error("{message}")]
    Process {
        /// Docker-style exit status: 127 command not found, 126 can't run it, 125 anything else.
        code: u8,
        /// What failed, e.g. `exec: "foo": executable file not found in $PATH`.
        message: String,
    },
    /// The process vanished without saying why.
    #[error("container process exited during setup")]
    Vanished,
    /// A system call in the runtime itself failed.
    #[error("{what}")]
    Sys {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl RuntimeError {
    fn sys(what: impl Into<String>, e: impl Into<std::io::Error>) -> Self {
        RuntimeError::Sys { what: what.into(), source: e.into() }
    }

    /// The exit status Docker would report for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            RuntimeError::Process { code, .. } => *code,
            _ => 125,
        }
    }
}

/// A failure inside the child, sent to the parent.
#[derive(Debug)]
pub(crate) struct ChildError {
    pub code: u8,
    pub message: String,
}

impl ChildError {
    pub(crate) fn setup(message: String) -> Self {
        ChildError { code: 125, message }
    }
}

/// A process set up and waiting for [`Created::start`].
#[derive(Debug)]
pub struct Created {
    pid: i32,
    pty: Option<OwnedFd>,
    chan: Channel,
}

impl Created {
    /// The process's PID (in the caller's PID namespace).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The terminal's master side, for [`Stdio::Tty`].
    pub fn take_pty(&mut self) -> Option<OwnedFd> {
        self.pty.take()
    }

    /// Lets the process exec its command and waits until it has (or failed to). On failure the
    /// process has exited; the caller reaps it as usual.
    pub fn start(self) -> Result<(), RuntimeError> {
        self.chan.go().map_err(|e| RuntimeError::sys("starting the container process", e))?;
        match self.chan.recv().map_err(|e| RuntimeError::sys("waiting for exec", e))? {
            FromChild::Closed => Ok(()),
            FromChild::Error { code, message } => Err(RuntimeError::Process { code, message }),
            _ => Err(RuntimeError::Process {
                code: 125,
                message: "unexpected message from the container process".into(),
            }),
        }
    }
}

fn read_seccomp(p: &Process) -> Result<Option<Vec<u8>>, RuntimeError> {
    p.seccomp
        .as_deref()
        .map(|path| {
            std::fs::read(path).map_err(|e| RuntimeError::sys(format!("reading seccomp program {}", path.display()), e))
        })
        .transpose()
}

/// Creates the container's first process, set up and waiting for [`Created::start`].
///
/// Must be called at most once per (single-threaded) process: see the crate docs on PID
/// namespaces.
pub fn create(config: &Config, stdio: Stdio) -> Result<Created, RuntimeError> {
    let seccomp = read_seccomp(&config.process)?;
    let userns = config.userns.as_ref().map(userns::create).transpose()?;
    if let Some(ns) = config.namespaces.iter().find(|n| n.kind == NamespaceKind::Pid) {
        match &ns.path {
            Some(p) => join_ns(p, CloneFlags::CLONE_NEWPID)?,
            None => nix::sched::unshare(CloneFlags::CLONE_NEWPID)
                .map_err(|e| RuntimeError::sys("creating the PID namespace", e))?,
        }
    }
    spawn(stdio, |chan, stdio| child_create(config, userns.as_ref().map(AsFd::as_fd), seccomp.as_deref(), stdio, chan))
}

/// Starts `process` inside the running container whose first process is `container_pid`,
/// joining the namespaces `config` gave it and its cgroup. The caller must be the process that
/// called [`create`] for that container (its children are born in the container's PID namespace).
pub fn exec(container_pid: i32, config: &Config, process: &Process, stdio: Stdio) -> Result<Created, RuntimeError> {
    let seccomp = read_seccomp(process)?;
    // Open the namespaces before forking, so a failure is reported plainly.
    let mut nss = Vec::new();
    for ns in config.namespaces.iter().filter(|n| n.kind != NamespaceKind::Pid) {
        let path = format!("/proc/{container_pid}/ns/{}", ns.kind.proc_name());
        let fd = std::fs::File::open(&path).map_err(|e| RuntimeError::sys(format!("opening {path}"), e))?;
        nss.push((ns.kind, OwnedFd::from(fd)));
    }
    // The mount namespace last: after it, host paths are gone.
    nss.sort_by_key(|(k, _)| *k == NamespaceKind::Mount);
    // The user namespace is joined after everything else (process::run): setns into the
    // others needs the host's capabilities.
    let userns = match &config.userns {
        Some(_) => {
            let path = format!("/proc/{container_pid}/ns/user");
            Some(OwnedFd::from(
                std::fs::File::open(&path).map_err(|e| RuntimeError::sys(format!("opening {path}"), e))?,
            ))
        }
        None => None,
    };
    let userns = userns.as_ref().map(|fd| process::UserNs { fd: fd.as_fd(), map: config.userns.as_ref() });
    spawn(stdio, |chan, stdio| child_exec(config, process, &nss, userns, seccomp.as_deref(), stdio, chan))
}

fn spawn(stdio: Stdio, child: impl FnOnce(&Channel, Stdio) -> ChildError) -> Result<Created, RuntimeError> {
    let (parent_end, child_end) = channel::pair().map_err(|e| RuntimeError::sys("creating the sync socket", e))?;
    // SAFETY: the runtime is only used from the single-threaded shim (crate docs).
    match unsafe { sys::process::fork() }.map_err(|e| RuntimeError::sys("fork", e))? {
        sys::process::Fork::Child => {
            drop(parent_end);
            let e = child(&child_end, stdio);
            child_end.error(e.code, &e.message);
            sys::process::exit_now(i32::from(e.code));
        }
        sys::process::Fork::Parent(pid) => {
            drop(child_end);
            drop(stdio);
            let mut pty = None;
            loop {
                match parent_end.recv() {
                    Ok(FromChild::Ready) => return Ok(Created { pid, pty, chan: parent_end }),
                    Ok(FromChild::Tty(fd)) => pty = Some(fd),
                    Ok(FromChild::Error { code, message }) => {
                        let _ = waitpid(Pid::from_raw(pid), None);
                        return Err(RuntimeError::Process { code, message });
                    }
                    Ok(FromChild::Closed) => {
                        let _ = waitpid(Pid::from_raw(pid), None);
                        return Err(RuntimeError::Vanished);
                    }
                    Err(e) => {
                        let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::SIGKILL);
                        let _ = waitpid(Pid::from_raw(pid), None);
                        return Err(RuntimeError::sys("waiting for the container process", e));
                    }
                }
            }
        }
    }
}

fn join_ns(path: &Path, kind: CloneFlags) -> Result<(), RuntimeError> {
    let f =
        std::fs::File::open(path).map_err(|e| RuntimeError::sys(format!("opening namespace {}", path.display()), e))?;
    nix::sched::setns(f.as_fd(), kind)
        .map_err(|e| RuntimeError::sys(format!("joining namespace {}", path.display()), e))
}

fn join_cgroup(config: &Config) -> Result<(), ChildError> {
    for f in &config.cgroup_procs {
        std::fs::write(f, b"0").map_err(|e| ChildError::setup(format!("joining cgroup {}: {e}", f.display())))?;
    }
    Ok(())
}

fn child_create(
    config: &Config,
    userns: Option<BorrowedFd<'_>>,
    seccomp: Option<&[u8]>,
    stdio: Stdio,
    chan: &Channel,
) -> ChildError {
    match setup_container(config, userns, chan) {
        Ok(pty_slave) => {
            let userns = userns.map(|fd| process::UserNs { fd, map: config.userns.as_ref() });
            process::run(&config.process, userns, seccomp, stdio, pty_slave, chan)
        }
        Err(e) => e,
    }
}

fn setup_container(
    config: &Config,
    userns: Option<BorrowedFd<'_>>,
    chan: &Channel,
) -> Result<Option<OwnedFd>, ChildError> {
    nix::sys::prctl::set_dumpable(false).map_err(|e| ChildError::setup(format!("prctl(PR_SET_DUMPABLE): {e}")))?;
    sys::process::reset_signals().map_err(|e| ChildError::setup(format!("resetting signals: {e}")))?;
    join_cgroup(config)?;
    let mut new = CloneFlags::empty();
    for ns in config.namespaces.iter().filter(|n| n.kind != NamespaceKind::Pid) {
        match &ns.path {
            Some(p) => join_ns(p, ns.kind.clone_flag()).map_err(|e| ChildError::setup(e.to_string()))?,
            None => new |= ns.kind.clone_flag(),
        }
    }
    if !new.contains(CloneFlags::CLONE_NEWNS) {
        return Err(ChildError::setup("a container needs its own mount namespace".into()));
    }
    nix::sched::unshare(new).map_err(|e| ChildError::setup(format!("creating namespaces: {e}")))?;
    if new.contains(CloneFlags::CLONE_NEWNET) {
        sys::net::loopback_up().map_err(|e| ChildError::setup(format!("bringing up the loopback interface: {e}")))?;
    }
    sys::process::umask(0);
    rootfs::mount_root(&config.rootfs, userns)?;
    let target = config.rootfs.target();
    let root =
        std::fs::File::open(target).map_err(|e| ChildError::setup(format!("opening {}: {e}", target.display())))?;
    for d in &config.make_dirs {
        let rel: std::path::PathBuf = d.components().filter(|c| matches!(c, std::path::Component::Normal(_))).collect();
        rootfs::ensure_in_root_owned(root.as_fd(), &rel, true, config.userns.as_ref().map(|m| m.root()))
            .map_err(|e| ChildError::setup(format!("creating {}: {e}", d.display())))?;
    }
    rootfs::mount_all(config, root.as_fd())?;
    let pty_slave = if config.process.terminal {
        let (master, slave) = rootfs::open_pty(root.as_fd())?;
        chan.send_tty(&master).map_err(|e| ChildError::setup(format!("sending the terminal: {e}")))?;
        Some(slave)
    } else {
        None
    };
    drop(root);
    rootfs::pivot(target)?;
    rootfs::finish(config)?;
    if let Some(h) = &config.hostname {
        nix::unistd::sethostname(h).map_err(|e| ChildError::setup(format!("sethostname: {e}")))?;
    }
    if let Some(d) = &config.domainname {
        std::fs::write("/proc/sys/kernel/domainname", d)
            .map_err(|e| ChildError::setup(format!("setting domainname: {e}")))?;
    }
    for (k, v) in &config.sysctls {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v).map_err(|e| ChildError::setup(format!("setting sysctl {k}={v}: {e}")))?;
    }
    if let Some(adj) = config.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| ChildError::setup(format!("setting oom_score_adj: {e}")))?;
    }
    Ok(pty_slave)
}

fn child_exec(
    config: &Config,
    process: &Process,
    nss: &[(NamespaceKind, OwnedFd)],
    userns: Option<process::UserNs<'_>>,
    seccomp: Option<&[u8]>,
    stdio: Stdio,
    chan: &Channel,
) -> ChildError {
    let r = (|| {
        // Until it execs, this process is the shim's copy entering the container: not dumpable,
        // so container processes can't ptrace it or open its /proc files (CVE-2019-5736's
        // class of attacks). execve makes the new program dumpable again.
        nix::sys::prctl::set_dumpable(false).map_err(|e| ChildError::setup(format!("prctl(PR_SET_DUMPABLE): {e}")))?;
        sys::process::reset_signals().map_err(|e| ChildError::setup(format!("resetting signals: {e}")))?;
        join_cgroup(config)?;
        for (kind, fd) in nss {
            nix::sched::setns(fd.as_fd(), kind.clone_flag()).map_err(|e| {
                ChildError::setup(format!("joining the container's {} namespace: {e}", kind.proc_name()))
            })?;
        }
        if process.terminal {
            // setns into the mount namespace made its root this process's root.
            let (master, slave) = rootfs::new_pty(rustix::fs::CWD, "/dev/pts/ptmx")?;
            chan.send_tty(&master).map_err(|e| ChildError::setup(format!("sending the terminal: {e}")))?;
            Ok(Some(slave))
        } else {
            Ok(None)
        }
    })();
    match r {
        Ok(slave) => process::run(process, userns, seccomp, stdio, slave, chan),
        Err(e) => e,
    }
}
