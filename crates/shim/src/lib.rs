//! The per-container monitor ("shim"): the parent of the container's first process.
//!
//! The daemon starts one shim per container start (`berth shim RUNDIR`, from the same binary)
//! and may die or restart at any time without the container noticing. The shim:
//! - creates the container with the [`runtime`] crate (it is single-threaded, as the runtime
//!   requires) and starts it when asked;
//! - holds the container's stdio (pipes, or a terminal's master), writes the log file
//!   ([`log`]) and forwards output to attached clients;
//! - reaps the first process and tells waiters its exit (see "Exit records" below);
//! - runs `exec` processes in the container and streams their stdio;
//! - answers on a unix socket in the run directory ([`proto`]), so a restarted daemon finds it.
//!
//! Start-up contract: the daemon runs the shim with the [`ShimConfig`] as JSON on stdin and
//! stdout on a pipe. The shim prints one JSON line ([`StartReport`]): the container's PID once it
//! is created and the socket listens, or an error; then it detaches from both pipes.
//!
//! Exit records: the shim sends the first process's exit to `wait` clients; the daemon answers
//! with `ACK` once it has recorded it. Only when no daemon acknowledged it (none was running)
//! does the shim write `exit.json` in the run directory for the next daemon to find.
#![warn(missing_docs)]

pub mod log;
pub mod proto;
mod server;

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the daemon tells the shim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShimConfig {
    /// Container ID.
    pub id: String,
    /// The container.
    pub runtime: runtime::Config,
    /// Keep the first process's stdin open (`-i`): fed by attach clients.
    pub open_stdin: bool,
    /// The log file.
    pub log_path: PathBuf,
    /// The control socket.
    pub socket: PathBuf,
    /// Where the exit record goes.
    pub exit_file: PathBuf,
    /// Write the shim's own diagnostics to `shim.log` in the run directory (else they are
    /// dropped: one file less to create per container).
    #[serde(default)]
    pub debug: bool,
}

/// The one line the shim prints at start-up.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StartReport {
    /// The container's first process, created and waiting for `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Why the container could not be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Docker-style exit status for that failure (126, 127, 125).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
}

/// Reads an exit record written by a shim.
pub fn read_exit_file(path: &Path) -> std::io::Result<proto::Exit> {
    let data = std::fs::read(path)?;
    serde_json::from_slice(&data).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn report(r: &StartReport) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(r).expect("reports serialise");
    line.push(b'\n');
    let mut out = std::io::stdout().lock();
    out.write_all(&line)?;
    out.flush()
}

/// Runs the shim for the container in `rundir`; returns the process exit status.
pub fn main(rundir: &Path) -> i32 {
    // Our own session: the daemon's terminal signals must not reach us or the container.
    let _ = sys::process::setsid();
    match setup(rundir) {
        Ok((server, pid, debug)) => {
            if let Err(e) = report(&StartReport { pid: Some(pid), ..Default::default() }) {
                // The daemon that started us is gone: no one will ever start the container or
                // know of it. Don't leave it behind (the next daemon also kills what it finds).
                eprintln!("berth-shim: reporting to the daemon: {e}; killing the unstarted container");
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
                return 1;
            }
            detach_stdio(rundir, debug);
            // Set-up code (config parsing, the runtime) won't run again here; let its pages go
            // so the shim's resident memory is the event loop's.
            sys::process::trim_file_pages();
            match server.run() {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("berth-shim: {e}");
                    1
                }
            }
        }
        Err((msg, code)) => {
            let _ = report(&StartReport { error: Some(msg), code: Some(code), ..Default::default() });
            1
        }
    }
}

fn setup(rundir: &Path) -> Result<(server::Server, i32, bool), (String, u8)> {
    let fail = |what: &str, e: &dyn std::fmt::Display| (format!("{what}: {e}"), 125u8);
    let mut data = Vec::with_capacity(16 * 1024);
    std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut data)
        .map_err(|e| fail("reading the configuration on stdin", &e))?;
    let cfg: ShimConfig = serde_json::from_slice(&data).map_err(|e| fail("parsing the configuration on stdin", &e))?;
    drop(data);
    let sigfd = sys::process::signalfd(&[
        libc::SIGCHLD,
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGPIPE,
    ])
    .map_err(|e| fail("creating the signalfd", &e))?;
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&cfg.log_path)
        .map_err(|e| fail(&format!("opening log {}", cfg.log_path.display()), &e))?;
    let terminal = cfg.runtime.process.terminal;
    let (stdio, mut io) = server::make_stdio(terminal, cfg.open_stdin).map_err(|e| fail("creating stdio pipes", &e))?;
    let mut created = runtime::create(&cfg.runtime, stdio).map_err(|e| (e.to_string(), e.exit_code()))?;
    if terminal {
        let master = created.take_pty().ok_or_else(|| ("the container's terminal was not created".to_owned(), 125))?;
        io = server::tty_io(master, cfg.open_stdin).map_err(|e| fail("terminal", &e))?;
    }
    // Socket paths are limited to 107 bytes; binding relative to the run directory lifts the
    // limit for long exec roots (clients connect through /proc/self/fd, see the engine).
    std::env::set_current_dir(rundir).map_err(|e| fail(&format!("chdir {}", rundir.display()), &e))?;
    let sock_name =
        cfg.socket.file_name().map(PathBuf::from).ok_or_else(|| fail("socket path", &"has no file name"))?;
    let _ = std::fs::remove_file(&sock_name);
    let listener =
        UnixListener::bind(&sock_name).map_err(|e| fail(&format!("listening on {}", cfg.socket.display()), &e))?;
    let _ = std::fs::set_permissions(&sock_name, std::fs::Permissions::from_mode(0o600));
    listener.set_nonblocking(true).map_err(|e| fail("socket", &e))?;
    let pid = created.pid();
    let debug = cfg.debug;
    let server = server::Server::new(cfg, listener, sigfd, Some(log::Writer::new(log)), created, io);
    Ok((server, pid, debug))
}

/// Points stdin and stdout at /dev/null (the daemon's pipes must not stay open), and stderr at
/// the run directory's `shim.log` when debugging, else at /dev/null too.
fn detach_stdio(rundir: &Path, debug: bool) {
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        let null = OwnedFd::from(null);
        let _ = sys::process::dup_onto(null.as_fd(), 0);
        let _ = sys::process::dup_onto(null.as_fd(), 1);
        if !debug {
            let _ = sys::process::dup_onto(null.as_fd(), 2);
        }
    }
    if debug && let Ok(f) = std::fs::OpenOptions::new().append(true).create(true).open(rundir.join("shim.log")) {
        let f = OwnedFd::from(f);
        let _ = sys::process::dup_onto(f.as_fd(), 2);
    }
}
