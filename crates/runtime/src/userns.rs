//! User namespaces for `--userns-remap`: the container's root is a subordinate id of the host.
//!
//! How a remapped container is made (see also ARCHITECTURE.md, "User namespaces"):
//!
//! 1. [`create`] (in the shim, before forking the container's process) makes the container's
//!    user namespace: a short-lived holder process unshares `CLONE_NEWUSER`, the shim writes
//!    its `uid_map` and `gid_map` (as runc's parent does: only a process outside the namespace
//!    with `CAP_SETUID` there may write arbitrary mappings), keeps a descriptor of the
//!    namespace and lets the holder exit. The namespace lives on through the descriptor.
//! 2. The container's process sets everything up as the host's root, as for any container:
//!    its mount namespace, the overlay root, mounts, /dev, pivot_root, hostname, sysctls. The
//!    image's layers (and the init layer) are *idmapped* first ([`idmap_in_place`]): each one
//!    is cloned (`open_tree`), given the namespace's mappings (`mount_setattr`,
//!    `MOUNT_ATTR_IDMAP`) and put over its own path, in the container's private mount
//!    namespace only. overlayfs then sees a file stored as uid 0 as owned by the subordinate
//!    id that uid 0 maps to: image files keep their owners *inside* the container, and the
//!    layers on disk are shared, unchanged, by every container (dockerd instead keeps a
//!    chowned copy of every layer per remapping). What the container writes lands in its
//!    upper dir owned by the subordinate ids.
//! 3. Last, after resource limits (raising one needs the host's `CAP_SYS_RESOURCE`), the
//!    process joins the user namespace (`setns`), which gives it every capability there and
//!    none on the host; the usual user switch, capability trim, seccomp and exec follow.
//!
//! The other namespaces (mount, PID, UTS, IPC, cgroup, and the network namespace the daemon
//! made) stay owned by the host's user namespace, as Docker's network namespace is: the
//! container's root can't remount, unmount (so can't reveal masked paths) or change the
//! hostname, whatever its capabilities. `exec` joins the namespaces as the host's root and the
//! user namespace last.

use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use rustix::mount::{MoveMountFlags, OpenTreeFlags};

use crate::RuntimeError;
use crate::config::IdMapping;

/// Creates a user namespace with `map`'s mappings; returns a descriptor of it.
///
/// Forks: the caller must be single-threaded (the shim; the daemon before it starts threads).
pub fn create(map: &IdMapping) -> Result<OwnedFd, RuntimeError> {
    map.check().map_err(|e| RuntimeError::sys(format!("user namespace mappings: {e}"), io::ErrorKind::InvalidInput))?;
    let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| RuntimeError::sys(format!("creating the user namespace's pipe: {e}"), e))?;
    let (done_r, done_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| RuntimeError::sys(format!("creating the user namespace's pipe: {e}"), e))?;
    // SAFETY: the child only makes system calls (unshare, write, read, _exit), all
    // async-signal-safe, so this is sound even from a multi-threaded caller.
    match unsafe { sys::process::fork() }.map_err(|e| RuntimeError::sys(format!("fork: {e}"), e))? {
        sys::process::Fork::Child => {
            // Only the parent's end may keep `done` open: its closing is the signal to go.
            drop(done_w);
            drop(ready_r);
            // "1", or "0" and the errno's four bytes.
            let mut msg = [b'1', 0, 0, 0, 0];
            let n = match nix::sched::unshare(CloneFlags::CLONE_NEWUSER) {
                Ok(()) => 1,
                Err(e) => {
                    msg[0] = b'0';
                    msg[1..].copy_from_slice(&(e as i32).to_ne_bytes());
                    5
                }
            };
            let _ = nix::unistd::write(&ready_w, &msg[..n]);
            // Until the parent has opened the namespace and closed its end.
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(&done_r, &mut b);
            sys::process::exit_now(0);
        }
        sys::process::Fork::Parent(pid) => {
            drop(ready_w);
            drop(done_r);
            let r = map_holder(pid, &ready_r, map);
            drop(done_w);
            let _ = waitpid(Pid::from_raw(pid), None);
            r
        }
    }
}

fn map_holder(pid: i32, ready: &OwnedFd, map: &IdMapping) -> Result<OwnedFd, RuntimeError> {
    let mut b = [0u8; 5];
    loop {
        match nix::unistd::read(ready, &mut b) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(1) if b[0] == b'1' => break,
            Ok(5) if b[0] == b'0' => {
                let errno = i32::from_ne_bytes([b[1], b[2], b[3], b[4]]);
                let e = io::Error::from_raw_os_error(errno);
                return Err(RuntimeError::sys(format!("creating the user namespace: {e}"), e));
            }
            _ => return Err(RuntimeError::sys("creating the user namespace", io::ErrorKind::UnexpectedEof)),
        }
    }
    // Each file takes its whole mapping in one write.
    for (file, text) in [("uid_map", map.uid_map()), ("gid_map", map.gid_map())] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::OpenOptions::new().write(true).open(&path).and_then(|mut f| f.write_all(text.as_bytes())).map_err(
            |e| RuntimeError::sys(format!("writing {file} of the user namespace ({}): {e}", text.trim()), e),
        )?;
    }
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/user"))
        .map_err(|e| RuntimeError::sys(format!("opening the user namespace: {e}"), e))?;
    Ok(OwnedFd::from(ns))
}

/// Puts an idmapped clone of the mount at `path` (a layer's directory) over `path` itself, in
/// the caller's mount namespace, which must be a private one (the container's own, or a
/// thread's made for the purpose) whose mounts don't propagate to the host.
pub fn idmap_in_place(path: &Path, userns: BorrowedFd<'_>) -> io::Result<()> {
    let tree = rustix::mount::open_tree(
        rustix::fs::CWD,
        path,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )?;
    sys::mount::idmap(tree.as_fd(), userns)?;
    rustix::mount::move_mount(tree.as_fd(), "", rustix::fs::CWD, path, MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)?;
    Ok(())
}

/// Checks that idmapped layers work under `dir` (on the filesystem of the image store) as
/// [`create`] and the container's process use them: a file owned by 0 in an idmapped lower
/// layer of an overlay must show as owned by the host uid of the container's root. Needs an
/// empty scratch directory `dir`, which it fills and empties.
///
/// Forks: the caller must be single-threaded.
pub fn probe(dir: &Path, map: &IdMapping) -> Result<(), String> {
    let r = probe_in(dir, map);
    let _ = std::fs::remove_dir_all(dir);
    r
}

fn probe_in(dir: &Path, map: &IdMapping) -> Result<(), String> {
    for d in ["lower", "upper", "work", "merged"] {
        std::fs::create_dir_all(dir.join(d)).map_err(|e| format!("creating {}: {e}", dir.join(d).display()))?;
    }
    let file = dir.join("lower/owned-by-root");
    std::fs::write(&file, b"").map_err(|e| format!("creating {}: {e}", file.display()))?;
    std::os::unix::fs::lchown(&file, Some(0), Some(0)).map_err(|e| format!("chown {}: {e}", file.display()))?;
    let userns = create(map).map_err(|e| format!("{e:#}"))?;
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: the caller is single-threaded (documented above).
    match unsafe { sys::process::fork() }.map_err(|e| format!("fork: {e}"))? {
        sys::process::Fork::Child => {
            drop(r);
            let msg = match probe_child(dir, userns.as_fd(), map) {
                Ok(()) => String::new(),
                Err(e) => e,
            };
            let _ = nix::unistd::write(&w, msg.as_bytes());
            sys::process::exit_now(i32::from(!msg.is_empty()));
        }
        sys::process::Fork::Parent(pid) => {
            drop(w);
            let mut msg = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::fs::File::from(r), &mut msg);
            let st = waitpid(Pid::from_raw(pid), None).map_err(|e| format!("waiting for the probe: {e}"))?;
            match st {
                nix::sys::wait::WaitStatus::Exited(_, 0) => Ok(()),
                _ if !msg.is_empty() => Err(String::from_utf8_lossy(&msg).into_owned()),
                other => Err(format!("the probe process ended with {other:?}")),
            }
        }
    }
}

/// The probe's child: its own mount namespace (gone when it exits), an idmapped lower layer,
/// an overlay over it.
fn probe_child(dir: &Path, userns: BorrowedFd<'_>, map: &IdMapping) -> Result<(), String> {
    use nix::mount::{MsFlags, mount};
    nix::sched::unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("creating a mount namespace: {e}"))?;
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_SLAVE, None::<&str>)
        .map_err(|e| format!("making / a slave mount: {e}"))?;
    let lower = dir.join("lower");
    idmap_in_place(&lower, userns).map_err(|e| format!("idmapping a mount of {}: {e}", lower.display()))?;
    let data = format!(
        "redirect_dir=off,metacopy=off,lowerdir={},upperdir={},workdir={}",
        lower.display(),
        dir.join("upper").display(),
        dir.join("work").display()
    );
    let merged = dir.join("merged");
    mount(Some("overlay"), &merged, Some("overlay"), MsFlags::empty(), Some(data.as_str()))
        .map_err(|e| format!("mounting an overlay on an idmapped lower layer: {e}"))?;
    let st =
        nix::sys::stat::lstat(&merged.join("owned-by-root")).map_err(|e| format!("stat through the overlay: {e}"))?;
    let (uid, gid) = map.root();
    if (st.st_uid, st.st_gid) != (uid, gid) {
        return Err(format!(
            "a file of an idmapped lower layer shows as owned by {}:{} through overlayfs, not {uid}:{gid}",
            st.st_uid, st.st_gid
        ));
    }
    Ok(())
}
