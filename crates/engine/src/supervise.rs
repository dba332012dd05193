//! The engine's side of the built-in supervisor: the control socket's directory of a
//! supervised container, and requests to its init (`berth supervise`, the API).
//!
//! The init listens on `control.sock` in a directory of the container's own
//! (`<root>/containers/<id>/supervisor`, mounted at `/run/berth` in the container), so the
//! daemon reaches it without entering any namespace.
//!
//! Everything in that directory is the container's: `control.sock` may be a symlink to a host
//! socket (the Docker socket, another daemon's), and whatever listens may answer anything. So
//! the daemon, which is root, never follows a path there: the socket's inode is opened with
//! `O_PATH`, beneath the directory and without symlinks, checked to be a socket, and connected
//! to through `/proc/self/fd/N` (which also keeps the address under a unix socket's 108
//! bytes); the answer is read with a size cap and one deadline for the whole request
//! (`init::supervisor::request_on`).

use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::model::Container;
use crate::{Engine, EngineError};

pub use init::supervisor::ProgramStatus;

impl Engine {
    /// The host directory mounted at `/run/berth` in a supervised container (made if missing).
    pub(crate) fn supervisor_dir(&self, c: &Container) -> Result<PathBuf, EngineError> {
        let dir = self.container_dir(&c.id).join("supervisor");
        if c.host_config.supervise.is_some() {
            // Root's and private until the container's first process hands it to its own user
            // (runtime `owned_dirs`, after the user is resolved in the container): PID 1 may run
            // as any `--user` and must make its socket here, and no one else may.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| EngineError::io(format!("creating {}", dir.display()), e))?;
            // In a user namespace, its root must own it to hand it on.
            if let Some(map) = &c.host_config.userns_remap {
                crate::userns::give_to_remapped_root(map, &[dir.as_path()])?;
            }
        }
        Ok(dir)
    }

    /// Sends a control request (`status`, `start NAME`, `stop NAME`, `restart NAME`, `signal
    /// SIG NAME`) to a running supervised container's init; returns its answer after `ok`.
    pub async fn supervise(&self, name_or_id: &str, request: &str) -> Result<String, EngineError> {
        let c = self.lookup(name_or_id)?.snapshot();
        if c.host_config.supervise.is_none() {
            return Err(EngineError::InvalidArgument(format!(
                "container {} is not supervised: create it with --supervise (or the label berth.supervise=true)",
                c.name
            )));
        }
        if !c.is_running() {
            return Err(EngineError::Conflict(format!("container {} is not running", c.name)));
        }
        let dir = self.container_dir(&c.id).join("supervisor");
        let req = request.to_owned();
        let answer = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            init::supervisor::request_on(connect_control(&dir)?, &req)
        })
        .await
        .expect("supervise task")
        .map_err(|e| EngineError::io(format!("reaching the supervisor of container {}", c.name), e))?;
        if answer.is_empty() {
            return Err(EngineError::Conflict(format!(
                "no answer from the supervisor of container {} (is it stopping?)",
                c.name
            )));
        }
        match answer.split_once('\n') {
            Some(("ok", rest)) => Ok(rest.to_owned()),
            _ if answer.trim() == "ok" => Ok(String::new()),
            _ => {
                let msg = answer.lines().next().unwrap_or("no answer").trim_start_matches("error: ").to_owned();
                if msg.starts_with("no such process") {
                    Err(EngineError::NotFound(msg))
                } else {
                    Err(EngineError::InvalidArgument(msg))
                }
            }
        }
    }

    /// The programs of a running supervised container and their states.
    pub async fn supervise_status(&self, name_or_id: &str) -> Result<Vec<ProgramStatus>, EngineError> {
        let rest = self.supervise(name_or_id, "status").await?;
        init::supervisor::parse_status(&format!("ok\n{rest}")).map_err(EngineError::InvalidArgument)
    }
}

/// Connects to `control.sock` in a container's control directory without following any
/// symlink the container put there (see the module's documentation).
pub(crate) fn connect_control(dir: &Path) -> std::io::Result<std::os::unix::net::UnixStream> {
    // The directory itself is berth's (its parents are root's, and it is a mount's source, which
    // the container can't replace); its content is the container's.
    let d =
        rustix::fs::open(dir, OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    let how = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_XDEV;
    let sock = rustix::fs::openat2(
        &d,
        init::supervisor::CONTROL_SOCKET,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        how,
    )
    .map_err(|e| {
        let e = std::io::Error::from(e);
        match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::EXDEV) => std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the control socket is a symlink or a mount (the container put it there): refused",
            ),
            _ => e,
        }
    })?;
    let refused = |what: &str| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("the control socket {what}: refused"))
    };
    match rustix::fs::FileType::from_raw_mode(rustix::fs::fstat(&sock)?.st_mode) {
        rustix::fs::FileType::Socket => {}
        rustix::fs::FileType::Symlink => return Err(refused("is a symlink (the container put it there)")),
        _ => return Err(refused("is not a socket")),
    }
    std::os::unix::net::UnixStream::connect(format!("/proc/self/fd/{}", sock.as_raw_fd()))
}
