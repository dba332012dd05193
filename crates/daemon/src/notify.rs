//! `sd_notify(3)`: tells systemd (`Type=notify`) that the daemon is ready or stopping, with a
//! datagram to `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). Without that
//! variable nothing is sent.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Sends `state` (`READY=1`, `STOPPING=1`, …) if systemd asked for notifications.
pub fn notify(state: &str) {
    let Ok(target) = std::env::var("NOTIFY_SOCKET") else { return };
    if let Err(e) = send(&target, state) {
        tracing::warn!("telling systemd {state} through NOTIFY_SOCKET {target}: {e}");
    }
}

fn send(target: &str, state: &str) -> std::io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    let addr = match target.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes())?,
        None if target.starts_with('/') => SocketAddr::from_pathname(target)?,
        None => return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a path or @name")),
    };
    sock.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}
