//! Host ports: a published port is held by a socket bound (never listening) on the host, so the
//! kernel itself guarantees one owner per port, a host process already using the port is
//! detected, and `-p 80` gets a free port from the kernel's ephemeral range (bind to port 0).
//! The traffic itself never reaches the socket: it is DNAT'ed before the socket lookup.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, SockaddrIn, bind, getsockname, socket};

use crate::NetError;
use crate::firewall::Proto;

/// A host port held for a container.
#[derive(Debug)]
pub struct HostPort {
    /// Protocol.
    pub proto: Proto,
    /// Address bound (`0.0.0.0` for all).
    pub ip: Ipv4Addr,
    /// The port.
    pub port: u16,
    _socket: OwnedFd,
}

/// A host port range as in `HostPort` (`8080`, `8000-8010`, empty: any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port (0: any).
    pub start: u16,
    /// Last port.
    pub end: u16,
}

impl PortRange {
    /// Parses `8080`, `8000-8010` or `""` (any port).
    pub fn parse(s: &str) -> Result<PortRange, NetError> {
        let bad = || NetError::Invalid(format!("invalid hostPort: {s}"));
        if s.is_empty() {
            return Ok(PortRange { start: 0, end: 0 });
        }
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let start: u16 = a.parse().map_err(|_| bad())?;
        let end: u16 = b.parse().map_err(|_| bad())?;
        if end < start || (start == 0 && end != 0) {
            return Err(bad());
        }
        Ok(PortRange { start, end })
    }
}

/// Parses a container port key: `80/tcp`, `80` (tcp), `53/udp`.
pub fn parse_container_port(key: &str) -> Result<(u16, Proto), NetError> {
    let (p, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let port: u16 =
        p.parse().ok().filter(|p| *p != 0).ok_or_else(|| NetError::Invalid(format!("invalid containerPort: {p}")))?;
    Ok((port, Proto::parse(proto)?))
}

/// Holds a port of `range` on `ip` for `proto`: the first one free, or a kernel-chosen one
/// when the range is "any".
pub fn reserve(proto: Proto, ip: Ipv4Addr, range: PortRange) -> Result<HostPort, NetError> {
    let (ty, protocol) = match proto {
        Proto::Tcp => (SockType::Stream, SockProtocol::Tcp),
        Proto::Udp => (SockType::Datagram, SockProtocol::Udp),
        Proto::Sctp => (SockType::Stream, SockProtocol::Sctp),
    };
    let mut last_err = None;
    for port in range.start..=range.end {
        let fd = socket(AddressFamily::Inet, ty, SockFlag::SOCK_CLOEXEC, protocol)
            .map_err(|e| NetError::io(format!("creating a {} socket", proto.as_str()), e.into()))?;
        match bind(fd.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(ip, port))) {
            Ok(()) => {
                let got: SockaddrIn =
                    getsockname(fd.as_raw_fd()).map_err(|e| NetError::io("reading a bound port", e.into()))?;
                return Ok(HostPort { proto, ip, port: got.port(), _socket: fd });
            }
            Err(e) => last_err = Some(e),
        }
    }
    let what = if range.start == range.end {
        format!("{ip}:{}", range.start)
    } else {
        format!("{ip}:{}-{}", range.start, range.end)
    };
    Err(match last_err {
        Some(nix::errno::Errno::EADDRINUSE) | None => {
            NetError::Conflict(format!("Bind for {what} failed: port is already allocated"))
        }
        Some(nix::errno::Errno::EADDRNOTAVAIL) => {
            NetError::Invalid(format!("Bind for {what} failed: {ip} is not an address of this host"))
        }
        Some(e) => NetError::io(format!("binding {what}"), e.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_keys() {
        assert_eq!(PortRange::parse("").unwrap(), PortRange { start: 0, end: 0 });
        assert_eq!(PortRange::parse("8080").unwrap(), PortRange { start: 8080, end: 8080 });
        assert_eq!(PortRange::parse("8000-8010").unwrap(), PortRange { start: 8000, end: 8010 });
        assert_eq!(PortRange::parse("9-8").unwrap_err().to_string(), "invalid hostPort: 9-8");
        assert!(PortRange::parse("x").is_err());
        assert_eq!(parse_container_port("80/udp").unwrap(), (80, Proto::Udp));
        assert_eq!(parse_container_port("80").unwrap(), (80, Proto::Tcp));
        assert_eq!(parse_container_port("0/tcp").unwrap_err().to_string(), "invalid containerPort: 0");
        assert!(parse_container_port("80/icmp").is_err());
    }

    #[test]
    fn one_owner_per_port() {
        let lo = Ipv4Addr::LOCALHOST;
        let a = reserve(Proto::Tcp, lo, PortRange::parse("").unwrap()).unwrap();
        assert_ne!(a.port, 0);
        let r = PortRange { start: a.port, end: a.port };
        let e = reserve(Proto::Tcp, lo, r).unwrap_err();
        assert!(e.to_string().contains("port is already allocated"), "{e}");
        // UDP is a separate space.
        let u = reserve(Proto::Udp, lo, r).unwrap();
        // A range skips the taken port.
        let b = reserve(Proto::Tcp, lo, PortRange { start: a.port, end: a.port.saturating_add(20) }).unwrap();
        assert_ne!(b.port, a.port);
        drop((a, u, b));
        assert!(reserve(Proto::Tcp, lo, r).is_ok());
    }
}
