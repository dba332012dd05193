//! The child's last steps, shared by a container's first process and `exec`: user, working
//! directory, executable lookup, limits, stdio, then privileges and `execve`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::resource::{Resource, setrlimit};
use nix::unistd::{Gid, Uid};
use sys::caps::{self, CapSet};

use crate::channel::Channel;
use crate::config::{IdMapping, Process, Rlimit};
use crate::user::{self, ExecUser};
use crate::{ChildError, Stdio};

/// Exit status Docker uses when the command can't be found.
pub(crate) const NOT_FOUND: u8 = 127;
/// Exit status Docker uses when the command can't be run.
pub(crate) const CANNOT_RUN: u8 = 126;

/// The user namespace a process joins (`--userns-remap`), and its mappings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserNs<'a> {
    pub fd: BorrowedFd<'a>,
    pub map: Option<&'a IdMapping>,
}

/// Runs the common tail of process setup; returns only on failure.
pub(crate) fn run(
    p: &Process,
    userns: Option<UserNs<'_>>,
    seccomp: Option<&[u8]>,
    stdio: Stdio,
    pty_slave: Option<OwnedFd>,
    chan: &Channel,
) -> ChildError {
    match prepare_and_exec(p, userns, seccomp, stdio, pty_slave, chan) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn prepare_and_exec(
    p: &Process,
    userns: Option<UserNs<'_>>,
    seccomp: Option<&[u8]>,
    stdio: Stdio,
    pty_slave: Option<OwnedFd>,
    chan: &Channel,
) -> Result<std::convert::Infallible, ChildError> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let user =
        user::resolve(&p.user, &p.additional_groups, &passwd, &group).map_err(|e| ChildError::setup(e.to_string()))?;
    // Limits before the user namespace: raising a hard limit takes the host's
    // CAP_SYS_RESOURCE, which a process in its own user namespace doesn't have.
    for r in &p.rlimits {
        set_rlimit(r)?;
    }
    if let Some(ns) = userns {
        join_userns(ns, pty_slave.as_ref())?;
    }

    let mut env = p.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", user.home));
    }
    make_cwd(&p.cwd, p.create_cwd)?;
    for d in &p.owned_dirs {
        give_dir(d, &user)?;
    }

    let path_env = env.iter().find_map(|e| e.strip_prefix("PATH=")).unwrap_or("");
    let arg0 = p.args.first().ok_or_else(|| ChildError::setup("no command specified".into()))?;
    let exe = lookup(arg0, path_env)?;

    sys::process::setsid().map_err(|e| ChildError::setup(format!("setsid: {e}")))?;
    match (stdio, pty_slave) {
        (_, Some(slave)) => {
            for n in 0..3 {
                sys::process::dup_onto(slave.as_fd(), n)
                    .map_err(|e| ChildError::setup(format!("terminal as stdio: {e}")))?;
            }
            sys::process::set_controlling_tty(slave.as_fd())
                .map_err(|e| ChildError::setup(format!("controlling terminal: {e}")))?;
            if let Some((rows, cols)) = p.console_size.filter(|(r, c)| *r > 0 && *c > 0) {
                let _ = sys::process::set_winsize(slave.as_fd(), rows, cols);
            }
        }
        (Stdio::Pipes { stdin, stdout, stderr }, None) => {
            for (fd, n) in [(stdin, 0), (stdout, 1), (stderr, 2)] {
                sys::process::dup_onto(fd.as_fd(), n).map_err(|e| ChildError::setup(format!("stdio: {e}")))?;
            }
        }
        (Stdio::Tty, None) => return Err(ChildError::setup("terminal requested but none was created".into())),
    }

    let argv = cstrings(&p.args)?;
    let envp = cstrings(&env)?;
    let exe_c =
        CString::new(exe.as_os_str().as_bytes()).map_err(|_| ChildError::setup("NUL in executable path".into()))?;

    chan.ready().map_err(|e| ChildError::setup(format!("reporting ready: {e}")))?;
    if !chan.wait_go() {
        // The shim went away or the start was cancelled.
        sys::process::exit_now(1);
    }

    drop_privileges(p, &user, seccomp)?;
    sys::process::umask(0o022);
    sys::process::cloexec_from(3).map_err(|e| ChildError::setup(format!("closing descriptors: {e}")))?;
    let e = nix::unistd::execve(&exe_c, &argv, &envp).unwrap_err();
    let code = match e {
        nix::errno::Errno::ENOENT => NOT_FOUND,
        _ => CANNOT_RUN,
    };
    Err(ChildError {
        code,
        message: format!("exec: {:?}: {}", arg0, io::Error::from(e).to_string().to_lowercase_first()),
    })
}

/// Enters the container's user namespace: from here on the process is its root, with every
/// capability in it and none on the host. The terminal, opened by the host's root, is given
/// to the container's root first (its group is the devpts mount's: the container's `tty`).
fn join_userns(ns: UserNs<'_>, pty_slave: Option<&OwnedFd>) -> Result<(), ChildError> {
    if let (Some(slave), Some(map)) = (pty_slave, ns.map) {
        let (uid, _) = map.root();
        rustix::fs::fchown(slave, Some(rustix::fs::Uid::from_raw(uid)), None)
            .map_err(|e| ChildError::setup(format!("giving the terminal to the container's root: {e}")))?;
    }
    nix::sched::setns(ns.fd, nix::sched::CloneFlags::CLONE_NEWUSER)
        .map_err(|e| ChildError::setup(format!("joining the container's user namespace: {e}")))
}

trait LowerFirst {
    fn to_lowercase_first(&self) -> String;
}

impl LowerFirst for String {
    /// Go's errors read "permission denied", Rust's "Permission denied (os error 13)".
    fn to_lowercase_first(&self) -> String {
        let s = self.split(" (os error").next().unwrap_or(self);
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect(),
            None => String::new(),
        }
    }
}

fn errno_text(e: &io::Error) -> String {
    e.to_string().to_lowercase_first()
}

fn cstrings(v: &[String]) -> Result<Vec<CString>, ChildError> {
    v.iter().map(|s| CString::new(s.as_bytes()).map_err(|_| ChildError::setup(format!("NUL byte in {s:?}")))).collect()
}

/// A missing working directory of the first process is created, owned by root as Docker does
/// (an exec's must exist).
fn make_cwd(cwd: &Path, create: bool) -> Result<(), ChildError> {
    if create && !cwd.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true).mode(0o755);
        let _ = b.create(cwd);
    }
    std::env::set_current_dir(cwd).map_err(|e| {
        ChildError::setup(format!(
            "chdir to cwd ({:?}) set in config.json failed: {}",
            cwd.display().to_string(),
            errno_text(&e)
        ))
    })
}

/// Hands a directory to the process's user, private to it. Runs after pivot_root, so the path
/// can only lead into the container; a symlink there is changed itself, never followed.
fn give_dir(d: &Path, user: &ExecUser) -> Result<(), ChildError> {
    let fail = |e: std::io::Error| ChildError::setup(format!("giving {} to the user: {}", d.display(), errno_text(&e)));
    std::os::unix::fs::lchown(d, Some(user.uid), Some(user.gid)).map_err(fail)?;
    if !std::fs::symlink_metadata(d).map_err(fail)?.file_type().is_symlink() {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
    }
    Ok(())
}

/// Finds the executable as Go's `exec.LookPath` (what runc uses), with Docker's messages.
pub(crate) fn lookup(arg0: &str, path_env: &str) -> Result<PathBuf, ChildError> {
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => {
                Err(ChildError { code: CANNOT_RUN, message: format!("exec: {arg0:?}: is a directory") })
            }
            Ok(m) if m.mode() & 0o111 == 0 => {
                Err(ChildError { code: CANNOT_RUN, message: format!("exec: {arg0:?}: permission denied") })
            }
            Ok(_) => Ok(p),
            Err(e) => Err(ChildError {
                code: if e.kind() == io::ErrorKind::PermissionDenied { CANNOT_RUN } else { NOT_FOUND },
                message: format!("exec: {arg0:?}: stat {arg0}: {}", errno_text(&e)),
            }),
        };
    }
    let mut denied = false;
    for dir in path_env.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        if let Ok(m) = std::fs::metadata(&cand) {
            if !m.is_dir() && m.mode() & 0o111 != 0 {
                return Ok(cand);
            }
            denied = true;
        }
    }
    if denied {
        return Err(ChildError { code: CANNOT_RUN, message: format!("exec: {arg0:?}: permission denied") });
    }
    Err(ChildError { code: NOT_FOUND, message: format!("exec: {arg0:?}: executable file not found in $PATH") })
}

fn set_rlimit(r: &Rlimit) -> Result<(), ChildError> {
    let res = rlimit_resource(&r.kind).ok_or_else(|| ChildError::setup(format!("unknown rlimit {:?}", r.kind)))?;
    setrlimit(res, r.soft, r.hard).map_err(|e| ChildError::setup(format!("setting rlimit {}: {e}", r.kind)))
}

/// Maps `RLIMIT_NOFILE`, `nofile`, ... to the resource.
pub(crate) fn rlimit_resource(kind: &str) -> Option<Resource> {
    let k = kind.to_ascii_lowercase();
    let k = k.strip_prefix("rlimit_").unwrap_or(&k);
    Some(match k {
        "as" => Resource::RLIMIT_AS,
        "core" => Resource::RLIMIT_CORE,
        "cpu" => Resource::RLIMIT_CPU,
        "data" => Resource::RLIMIT_DATA,
        "fsize" => Resource::RLIMIT_FSIZE,
        "locks" => Resource::RLIMIT_LOCKS,
        "memlock" => Resource::RLIMIT_MEMLOCK,
        "msgqueue" => Resource::RLIMIT_MSGQUEUE,
        "nice" => Resource::RLIMIT_NICE,
        "nofile" => Resource::RLIMIT_NOFILE,
        "nproc" => Resource::RLIMIT_NPROC,
        "rss" => Resource::RLIMIT_RSS,
        "rtprio" => Resource::RLIMIT_RTPRIO,
        "rttime" => Resource::RLIMIT_RTTIME,
        "sigpending" => Resource::RLIMIT_SIGPENDING,
        "stack" => Resource::RLIMIT_STACK,
        _ => return None,
    })
}

/// Switches to the user, trims capabilities and installs seccomp, in the order that keeps each
/// step permitted: seccomp first while CAP_SYS_ADMIN is still held (unless no_new_privs makes it
/// unnecessary), the bounding set before setuid (PR_CAPBSET_DROP needs CAP_SETPCAP), keepcaps across
/// setuid so the permitted set survives it.
fn drop_privileges(p: &Process, user: &ExecUser, seccomp: Option<&[u8]>) -> Result<(), ChildError> {
    let caps = CapSet::from_names(&p.capabilities).map_err(|e| ChildError::setup(e.to_string()))?;
    // A capability the runtime itself lacks (a host or an outer container that dropped it) can't
    // be given; `--privileged` means "everything we have", as runc does.
    let held = caps::permitted().map_err(|e| ChildError::setup(format!("capget: {e}")))?;
    let caps = CapSet(caps.0 & held.0);
    if let Some(bpf) = seccomp
        && !p.no_new_privileges
    {
        sys::seccomp::load_filter(bpf).map_err(|e| ChildError::setup(format!("loading seccomp filter: {e}")))?;
    }
    caps::drop_bounding(caps).map_err(|e| ChildError::setup(format!("dropping bounding capabilities: {e}")))?;
    nix::sys::prctl::set_keepcaps(true).map_err(|e| ChildError::setup(format!("keepcaps: {e}")))?;
    let groups: Vec<Gid> = user.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    nix::unistd::setgroups(&groups).map_err(|e| ChildError::setup(format!("setgroups: {e}")))?;
    let (uid, gid) = (Uid::from_raw(user.uid), Gid::from_raw(user.gid));
    nix::unistd::setresgid(gid, gid, gid).map_err(|e| ChildError::setup(format!("setgid {}: {e}", user.gid)))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(|e| ChildError::setup(format!("setuid {}: {e}", user.uid)))?;
    // Docker gives non-root users the same sets; execve then leaves them none effective, as it
    // should, since the ambient set stays empty.
    // The inheritable set stays empty, as Docker's since 20.10.14 (CVE-2022-24769).
    caps::set(caps, caps, CapSet::EMPTY).map_err(|e| ChildError::setup(format!("capset: {e}")))?;
    nix::sys::prctl::set_keepcaps(false).map_err(|e| ChildError::setup(format!("keepcaps: {e}")))?;
    if p.no_new_privileges {
        nix::sys::prctl::set_no_new_privs().map_err(|e| ChildError::setup(format!("no_new_privs: {e}")))?;
        if let Some(bpf) = seccomp {
            sys::seccomp::load_filter(bpf).map_err(|e| ChildError::setup(format!("loading seccomp filter: {e}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_like_go() {
        let d = tempfile::tempdir().unwrap();
        let exe = d.path().join("tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let noexec = d.path().join("data");
        std::fs::write(&noexec, "x").unwrap();
        let path = format!("/nonexistent:{}", d.path().display());
        assert_eq!(lookup("tool", &path).unwrap(), exe);
        let e = lookup("nope", &path).unwrap_err();
        assert_eq!(e.code, NOT_FOUND);
        assert_eq!(e.message, "exec: \"nope\": executable file not found in $PATH");
        let e = lookup("data", &path).unwrap_err();
        assert_eq!(e.code, CANNOT_RUN);
        let e = lookup("/nonexistent/x", &path).unwrap_err();
        assert_eq!(e.code, NOT_FOUND);
        assert_eq!(e.message, "exec: \"/nonexistent/x\": stat /nonexistent/x: no such file or directory");
        let e = lookup(d.path().to_str().unwrap(), "").unwrap_err();
        assert!(e.message.ends_with("is a directory"), "{}", e.message);
    }

    #[test]
    fn rlimit_names() {
        assert_eq!(rlimit_resource("RLIMIT_NOFILE"), Some(Resource::RLIMIT_NOFILE));
        assert_eq!(rlimit_resource("nproc"), Some(Resource::RLIMIT_NPROC));
        assert_eq!(rlimit_resource("bogus"), None);
    }
}
