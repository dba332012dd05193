//! The engine's side of the built-in supervisor: the control socket's directory of a
//! supervised container, and requests to its init (`berth supervise`, the API).
//!
//! The init listens on `control.sock` in a directory of the container's own
//! (`<root>/containers/<id>/supervisor`, mounted at `/run/berth` in the container), so the
//! daemon reaches it without entering any namespace. The socket is opened through
//! `/proc/self/fd/N/control.sock` of the directory: its full path can exceed the 108 bytes
//! of a unix socket address.

use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

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
            let d = std::fs::File::open(&dir)?;
            let socket = PathBuf::from(format!("/proc/self/fd/{}/{}", d.as_raw_fd(), init::supervisor::CONTROL_SOCKET));
            init::supervisor::request(&socket, &req)
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
