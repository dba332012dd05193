//! Where the API listens: `-H` addresses as dockerd takes them (`unix://PATH`, `tcp://HOST:PORT`,
//! `HOST:PORT`, `fd://` and `fd://N` for systemd socket activation), the unix socket's group
//! (`-G`), and the listeners themselves.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrLike, SockaddrStorage, UnixAddr, sockopt};

/// dockerd's default port for `tcp://` without one (IANA's 2375, also with TLS, as dockerd).
pub const DEFAULT_TCP_PORT: u16 = 2375;
/// The default socket group (dockerd's `-G` default): a missing `docker` group is only a
/// warning, any other missing group an error.
pub const DEFAULT_SOCKET_GROUP: &str = "docker";

/// One `-H` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A unix socket berth creates.
    Unix(PathBuf),
    /// `HOST:PORT` to bind.
    Tcp(String),
    /// Sockets passed by socket activation: all (`fd://`, `fd://*`) or one (`fd://3`).
    Fd(Option<i32>),
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Unix(p) => write!(f, "unix://{}", p.display()),
            Host::Tcp(a) => write!(f, "tcp://{a}"),
            Host::Fd(None) => f.write_str("fd://"),
            Host::Fd(Some(n)) => write!(f, "fd://{n}"),
        }
    }
}

impl Host {
    /// Parses a `-H` value as dockerd does (`opts.ParseHost`): no scheme means TCP; a missing
    /// TCP host is 127.0.0.1, a missing port 2375; `unix://` alone is `default_unix`.
    pub fn parse(s: &str, default_unix: &Path) -> anyhow::Result<Host> {
        let s = s.trim();
        let (proto, addr) = match s.split_once("://") {
            Some((p, a)) => (p, a),
            None => ("tcp", s),
        };
        match proto {
            "unix" => {
                if addr.is_empty() {
                    return Ok(Host::Unix(default_unix.to_owned()));
                }
                if !addr.starts_with('/') {
                    bail!("invalid bind address ({s}): a unix socket needs an absolute path (unix:///path/to/socket)");
                }
                Ok(Host::Unix(PathBuf::from(addr)))
            }
            "tcp" => parse_tcp(addr).with_context(|| format!("invalid bind address ({s})")).map(Host::Tcp),
            "fd" => match addr {
                "" | "*" => Ok(Host::Fd(None)),
                n => match n.parse::<i32>() {
                    Ok(n) if n >= sys::activation::LISTEN_FDS_START => Ok(Host::Fd(Some(n))),
                    _ => bail!(
                        "invalid bind address ({s}): failed to parse systemd fd address: should be a number from {}",
                        sys::activation::LISTEN_FDS_START
                    ),
                },
            },
            p => bail!("invalid bind address ({s}): unsupported proto '{p}'"),
        }
    }
}

/// `HOST:PORT`, `[V6]:PORT`, `HOST`, `:PORT` or empty, to `HOST:PORT`.
fn parse_tcp(addr: &str) -> anyhow::Result<String> {
    if addr.contains('/') {
        bail!("should not contain a path element");
    }
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (h, p) = rest.split_once(']').context("missing ']' after an IPv6 address")?;
        let p = match p {
            "" => "",
            p => p.strip_prefix(':').context("expected :PORT after the IPv6 address")?,
        };
        (format!("[{h}]"), p)
    } else {
        match addr.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => bail!("put an IPv6 address in brackets ([::1]:2376)"),
            Some((h, p)) => (h.to_owned(), p),
            None => (addr.to_owned(), ""),
        }
    };
    let host = if host.is_empty() { "127.0.0.1".to_owned() } else { host };
    let port = match port {
        "" => DEFAULT_TCP_PORT,
        p => match p.parse::<u16>() {
            Ok(n) if n != 0 => n,
            _ => bail!("invalid port: {p}"),
        },
    };
    Ok(format!("{host}:{port}"))
}

/// The group ID of `name`: a group of /etc/group, else of `getent group` (NSS databases such
/// as LDAP, which a static binary can't load; dockerd asks getent too), else a number (as
/// dockerd, which accepts a GID no group has). `None` if it is none of these.
pub fn lookup_gid(name: &str) -> Option<u32> {
    if let Some(gid) = std::fs::read_to_string("/etc/group").ok().and_then(|s| group_in(&s, name)) {
        return Some(gid);
    }
    let getent =
        std::process::Command::new("getent").args(["group", "--", name]).stderr(std::process::Stdio::null()).output();
    if let Ok(out) = getent
        && out.status.success()
        && let Some(gid) = group_in(&String::from_utf8_lossy(&out.stdout), name)
    {
        return Some(gid);
    }
    name.parse().ok()
}

/// The GID of group `name` in a group(5) file.
fn group_in(file: &str, name: &str) -> Option<u32> {
    file.lines().find_map(|l| {
        let mut f = l.split(':');
        let n = f.next()?;
        let gid = f.nth(1)?.trim().parse().ok()?;
        (n == name).then_some(gid)
    })
}

/// The group for the unix sockets berth creates, dockerd's way: `-G ""` keeps the daemon's
/// own group; the default `docker` group may be missing (a warning); another missing group is
/// an error.
pub fn socket_gid(group: &str) -> anyhow::Result<u32> {
    let own = nix::unistd::getgid().as_raw();
    if group.is_empty() {
        return Ok(own);
    }
    // No error value on the default path: anyhow would capture a backtrace under RUST_BACKTRACE.
    match lookup_gid(group) {
        Some(g) => Ok(g),
        None if group == DEFAULT_SOCKET_GROUP => {
            tracing::warn!(
                "could not change the API sockets' group to {group}: group {group} not found; they stay in the daemon's group"
            );
            Ok(own)
        }
        None => bail!("-G/--group: group {group} not found"),
    }
}

/// A bound listener of the API.
#[derive(Debug)]
pub enum Listener {
    /// A unix socket; `remove` is the path berth created (removed at exit), `None` for a
    /// socket the service manager owns.
    Unix {
        /// The socket.
        listener: std::os::unix::net::UnixListener,
        /// Its address, for the log.
        name: String,
        /// The file to remove when the daemon stops.
        remove: Option<PathBuf>,
    },
    /// A TCP socket.
    Tcp {
        /// The socket.
        listener: std::net::TcpListener,
        /// Its address, for the log.
        name: String,
    },
}

impl Listener {
    /// The address, for the log.
    pub fn name(&self) -> &str {
        match self {
            Listener::Unix { name, .. } | Listener::Tcp { name, .. } => name,
        }
    }
}

/// Creates the unix socket at `path`, owned by root:`gid`, mode 0660. A socket a daemon still
/// answers on is refused; a stale one replaced. The socket gets its owner and mode *before*
/// `listen(2)`: until then a connection is refused, so no client can get in through a looser
/// mode in between.
pub fn bind_unix(path: &Path, gid: u32) -> anyhow::Result<Listener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!("{} exists and is not a socket", path.display());
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("another daemon is already listening on {}", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("removing stale socket {}", path.display()))?;
    }
    let addr = UnixAddr::new(path).with_context(|| format!("invalid socket path {}", path.display()))?;
    let fd = socket::socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .context("creating a unix socket")?;
    socket::bind(fd.as_raw_fd(), &addr).with_context(|| format!("binding {}", path.display()))?;
    let ready = (|| -> anyhow::Result<()> {
        nix::unistd::chown(path, Some(nix::unistd::Uid::from_raw(0)), Some(nix::unistd::Gid::from_raw(gid)))
            .with_context(|| format!("chown {} to root:{gid}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
            .with_context(|| format!("chmod 0660 {}", path.display()))?;
        socket::listen(&fd, socket::Backlog::MAXCONN).with_context(|| format!("listening on {}", path.display()))?;
        Ok(())
    })();
    if let Err(e) = ready {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    let listener = std::os::unix::net::UnixListener::from(fd);
    Ok(Listener::Unix { listener, name: format!("unix://{}", path.display()), remove: Some(path.to_owned()) })
}

/// Binds `addr` (`HOST:PORT`; a name is resolved and the first address that binds is used).
pub fn bind_tcp(addr: &str) -> anyhow::Result<Listener> {
    let listener = std::net::TcpListener::bind(addr).with_context(|| format!("listening on tcp://{addr}"))?;
    let name = listener.local_addr().map_or_else(|_| format!("tcp://{addr}"), |a| format!("tcp://{a}"));
    Ok(Listener::Tcp { listener, name })
}

/// Turns the passed descriptors into listeners: those `wanted` names (`fd://N`), or all of
/// them if one is `fd://`; the others are closed, as dockerd does. Each must be a listening
/// stream socket, unix or TCP.
pub fn activated(fds: Vec<OwnedFd>, wanted: &[Option<i32>]) -> anyhow::Result<Vec<Listener>> {
    if fds.is_empty() {
        bail!("no sockets found via socket activation: make sure the service was started by systemd");
    }
    let all = wanted.contains(&None);
    for w in wanted.iter().flatten() {
        if !fds.iter().any(|f| f.as_raw_fd() == *w) {
            bail!("fd://{w}: too few socket activated files passed in by systemd ({})", fds.len());
        }
    }
    let mut out = Vec::new();
    for fd in fds {
        let n = fd.as_raw_fd();
        if all || wanted.contains(&Some(n)) {
            out.push(activated_one(fd).with_context(|| format!("socket-activation descriptor {n}"))?);
        }
    }
    Ok(out)
}

fn activated_one(fd: OwnedFd) -> anyhow::Result<Listener> {
    let n = fd.as_raw_fd();
    let st = socket::getsockopt(&fd, sockopt::SockType).context("not a socket")?;
    let listening = socket::getsockopt(&fd, sockopt::AcceptConn).unwrap_or(false);
    if st != SockType::Stream || !listening {
        bail!("not a listening stream socket");
    }
    let addr: SockaddrStorage = socket::getsockname(fd.as_fd().as_raw_fd()).context("getsockname")?;
    match addr.family() {
        Some(AddressFamily::Unix) => {
            let path = addr.as_unix_addr().and_then(|u| u.path()).map(Path::to_owned);
            let name =
                path.map_or_else(|| format!("fd://{n} (unix)"), |p| format!("fd://{n} (unix://{})", p.display()));
            Ok(Listener::Unix { listener: std::os::unix::net::UnixListener::from(fd), name, remove: None })
        }
        Some(AddressFamily::Inet | AddressFamily::Inet6) => {
            let listener = std::net::TcpListener::from(fd);
            let name =
                listener.local_addr().map_or_else(|_| format!("fd://{n} (tcp)"), |a| format!("fd://{n} (tcp://{a})"));
            Ok(Listener::Tcp { listener, name })
        }
        f => bail!("unsupported socket family {f:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> anyhow::Result<Host> {
        Host::parse(s, Path::new("/run/berth/berth.sock"))
    }

    #[test]
    fn hosts() {
        assert_eq!(p("unix:///x/y.sock").unwrap(), Host::Unix("/x/y.sock".into()));
        assert_eq!(p("unix://").unwrap(), Host::Unix("/run/berth/berth.sock".into()));
        assert_eq!(p("tcp://127.0.0.1:2376").unwrap(), Host::Tcp("127.0.0.1:2376".into()));
        assert_eq!(p("tcp://").unwrap(), Host::Tcp("127.0.0.1:2375".into()));
        assert_eq!(p("tcp://:2376").unwrap(), Host::Tcp("127.0.0.1:2376".into()));
        assert_eq!(p("tcp://0.0.0.0").unwrap(), Host::Tcp("0.0.0.0:2375".into()));
        assert_eq!(p("127.0.0.1:9").unwrap(), Host::Tcp("127.0.0.1:9".into()));
        assert_eq!(p("tcp://[::1]:2376").unwrap(), Host::Tcp("[::1]:2376".into()));
        assert_eq!(p("tcp://localhost:2376").unwrap(), Host::Tcp("localhost:2376".into()));
        assert_eq!(p("fd://").unwrap(), Host::Fd(None));
        assert_eq!(p("fd://*").unwrap(), Host::Fd(None));
        assert_eq!(p("fd://4").unwrap(), Host::Fd(Some(4)));
        for (bad, why) in [
            ("unix://rel.sock", "absolute path"),
            ("tcp://1.2.3.4:0", "invalid port: 0"),
            ("tcp://1.2.3.4:x", "invalid port: x"),
            ("tcp://1.2.3.4:2375/path", "path element"),
            ("tcp://::1:2375", "brackets"),
            ("http://1.2.3.4:2375", "unsupported proto 'http'"),
            ("fd://x", "should be a number"),
            ("fd://1", "should be a number"),
        ] {
            let e = format!("{:#}", p(bad).unwrap_err());
            assert!(e.contains(why) && e.contains(bad), "{bad}: {e}");
        }
        assert_eq!(p("tcp://127.0.0.1:2376").unwrap().to_string(), "tcp://127.0.0.1:2376");
    }

    #[test]
    fn groups() {
        let f = "root:x:0:\n#comment\ndocker:x:998:alice,bob\nbad line\nstaff:x:50:";
        assert_eq!(group_in(f, "docker"), Some(998));
        assert_eq!(group_in(f, "staff"), Some(50));
        assert_eq!(group_in(f, "dock"), None);
        assert_eq!(lookup_gid("root"), Some(0));
        assert_eq!(lookup_gid("0"), Some(0));
        assert_eq!(lookup_gid("4242"), Some(4242));
        assert_eq!(lookup_gid("berth-no-such-group"), None);
        let e = socket_gid("berth-no-such-group").unwrap_err().to_string();
        assert_eq!(e, "-G/--group: group berth-no-such-group not found");
        // The default group may be missing: the daemon's own group then.
        if lookup_gid(DEFAULT_SOCKET_GROUP).is_none() {
            assert_eq!(socket_gid(DEFAULT_SOCKET_GROUP).unwrap(), nix::unistd::getgid().as_raw());
        }
    }
}
