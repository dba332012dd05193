//! systemd socket activation: taking the listening sockets a service manager passed
//! (`sd_listen_fds(3)`: `LISTEN_PID`, `LISTEN_FDS`, descriptors from 3 on).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
pub const LISTEN_FDS_START: RawFd = 3;

static TAKEN: AtomicBool = AtomicBool::new(false);

/// Why the passed sockets could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// `LISTEN_FDS` is not a small number.
    #[error("invalid LISTEN_FDS {0:?}")]
    Count(String),
    /// The descriptors were already taken by this process.
    #[error("the socket-activation descriptors were already taken")]
    Taken,
    /// A passed descriptor is not open.
    #[error("socket-activation descriptor {fd}")]
    Fd {
        /// The descriptor.
        fd: RawFd,
        /// fcntl's error.
        #[source]
        source: io::Error,
    },
}

/// Which descriptors `LISTEN_PID`/`LISTEN_FDS` pass to the process `pid` (pure; `None` when
/// nothing is passed to it: unset variables, or `LISTEN_PID` naming another process, as it does
/// in every child that inherited the variables).
pub fn passed_fds(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    pid: u32,
) -> Result<Option<u32>, ActivationError> {
    let (Some(p), Some(n)) = (listen_pid, listen_fds) else { return Ok(None) };
    if p.trim().parse::<u32>().ok() != Some(pid) {
        return Ok(None);
    }
    // systemd passes at most a few hundred; a bound keeps a bogus value from walking every fd.
    match n.trim().parse::<u32>() {
        Ok(n) if n <= 4096 => Ok(Some(n)),
        _ => Err(ActivationError::Count(n.to_owned())),
    }
}

/// Takes the descriptors passed to this process by socket activation, marked close-on-exec
/// (systemd passes them inheritable; children such as the shims must not hold them). Empty
/// when nothing was passed. Only the first call takes them: a second one is an error, so a
/// descriptor is never owned twice. The variables stay in the environment (changing it is not
/// safe in a threaded process); `LISTEN_PID` names this process, so children ignore them.
pub fn take_listen_fds() -> Result<Vec<OwnedFd>, ActivationError> {
    let pid = std::env::var("LISTEN_PID").ok();
    let fds = std::env::var("LISTEN_FDS").ok();
    let Some(n) = passed_fds(pid.as_deref(), fds.as_deref(), std::process::id())? else {
        return Ok(Vec::new());
    };
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Err(ActivationError::Taken);
    }
    let mut out = Vec::new();
    for i in 0..n {
        let fd = LISTEN_FDS_START + i as RawFd;
        // SAFETY: F_GETFD/F_SETFD on an integer only read and set the descriptor's flags; an
        // unopened number fails with EBADF, which is reported.
        let r = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags < 0 { flags } else { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) }
        };
        if r < 0 {
            return Err(ActivationError::Fd { fd, source: io::Error::last_os_error() });
        }
        // SAFETY: the service manager passed descriptors 3..3+LISTEN_FDS to this process
        // (LISTEN_PID is ours) for it to own; they are open (checked above), and TAKEN makes
        // sure they are wrapped only once in this process.
        out.push(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed() {
        assert_eq!(passed_fds(None, None, 10).unwrap(), None);
        assert_eq!(passed_fds(Some("10"), None, 10).unwrap(), None);
        assert_eq!(passed_fds(Some("11"), Some("2"), 10).unwrap(), None);
        assert_eq!(passed_fds(Some("10"), Some("2"), 10).unwrap(), Some(2));
        assert_eq!(passed_fds(Some("10"), Some("0"), 10).unwrap(), Some(0));
        assert!(passed_fds(Some("10"), Some("x"), 10).is_err());
        assert!(passed_fds(Some("10"), Some("100000"), 10).is_err());
    }
}
