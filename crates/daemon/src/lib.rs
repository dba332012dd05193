//! `berth daemon`: wiring. Parses nothing itself (the CLI does), sets up logging, opens the
//! engine on its roots, listens where `-H` says and serves until SIGTERM/SIGINT. Stopping the
//! daemon leaves containers running (their shims are separate processes); the next daemon on
//! the same root finds them again.
//!
//! - [`listen`]: `-H` addresses (unix, TCP, systemd's `fd://`), the sockets' group, binding.
//! - [`tls`]: dockerd's TLS flags, and the rule that TCP without client certificates needs an
//!   explicit flag.
//! - [`log`]: the log on stderr, with journald's priorities under systemd.
//! - [`notify`]: `sd_notify` readiness for `Type=notify`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod listen;
pub mod log;
pub mod notify;
pub mod tls;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

pub mod userns;

use listen::{Host, Listener};

/// The daemon's settings (from `berth daemon` flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// Persistent state.
    pub root: PathBuf,
    /// Runtime state.
    pub exec_root: PathBuf,
    /// Where to listen (`-H`, repeatable); empty: the default unix socket
    /// (`unix:///run/berth/berth.sock`).
    pub hosts: Vec<String>,
    /// The group of the unix sockets berth creates (`-G`; dockerd's default `docker`).
    pub group: String,
    /// TLS of TCP listeners.
    pub tls: tls::TlsOptions,
    /// How long an API connection may stay idle (see [`api::Server`]).
    pub idle_timeout: Duration,
    /// `error`, `warn`, `info`, `debug`, `trace`.
    pub log_level: String,
    /// Parent cgroup of containers (`--cgroup-parent`), relative to each hierarchy's root.
    pub cgroup_parent: String,
    /// Networking.
    pub net: NetOptions,
    /// `--userns-remap default|USER[:GROUP]`: containers' user namespaces.
    pub userns_remap: Option<String>,
}

/// The daemon's networking flags, unparsed.
#[derive(Debug, Clone, Default)]
pub struct NetOptions {
    /// The default bridge's interface (`-b`).
    pub bridge: String,
    /// `--bip CIDR`.
    pub bip: Option<String>,
    /// `--default-address-pool base=CIDR,size=N`.
    pub pools: Vec<String>,
    /// berth's nftables table.
    pub firewall_table: String,
    /// `--dns IP`: name servers for containers and the embedded DNS server.
    pub dns: Vec<String>,
}

impl NetOptions {
    fn parse(&self) -> anyhow::Result<engine::NetConfig> {
        let mut cfg = engine::NetConfig::default();
        if !self.bridge.is_empty() {
            net::ifname::check_bridge(&self.bridge).map_err(|e| anyhow::anyhow!("--bridge: {e}"))?;
            cfg.bridge = self.bridge.clone();
        }
        if let Some(b) = &self.bip {
            let net: ipnet::Ipv4Net = b.parse().map_err(|_| {
                anyhow::anyhow!("invalid --bip {b:?}: want the bridge's address in CIDR form, as 172.17.0.1/16")
            })?;
            if net.addr() == net.network() || net.prefix_len() > 30 {
                bail!("invalid --bip {b}: give the gateway's address (not the network's) and a prefix of at most /30");
            }
            cfg.bip = Some(net);
        }
        if !self.pools.is_empty() {
            cfg.pools = self
                .pools
                .iter()
                .map(|p| net::ipam::Pool::parse(p).map_err(|e| anyhow::anyhow!("--default-address-pool: {e}")))
                .collect::<anyhow::Result<_>>()?;
        }
        for d in &self.dns {
            cfg.dns.push(d.parse().map_err(|_| anyhow::anyhow!("invalid --dns {d:?}: want an IP address"))?);
        }
        if !self.firewall_table.is_empty() {
            if !self.firewall_table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                bail!("invalid --firewall-table {:?}", self.firewall_table);
            }
            cfg.firewall_table = self.firewall_table.clone();
        }
        Ok(cfg)
    }
}

/// `--cgroup-parent`: a relative cgroup path (a leading `/` is dropped, as dockerd's is the
/// hierarchy's root), of plain names.
fn cgroup_parent(p: &str) -> anyhow::Result<String> {
    let rel = p.trim_start_matches('/').trim_end_matches('/');
    let ok = !rel.is_empty()
        && rel.split('/').all(|c| {
            !c.is_empty() && c != "." && c != ".." && c.chars().all(|x| x.is_ascii_alphanumeric() || "_.-".contains(x))
        });
    if !ok {
        bail!(
            "invalid --cgroup-parent {p:?}: want a cgroup path of names made of [A-Za-z0-9_.-], as berth or system.slice/berth"
        );
    }
    Ok(rel.to_owned())
}

/// The daemon's persistent ID (for `info`).
fn daemon_id(root: &std::path::Path) -> String {
    let p = root.join("engine-id");
    if let Ok(s) = std::fs::read_to_string(&p) {
        return s.trim().to_owned();
    }
    let mut b = [0u8; 16];
    engine::random_bytes(&mut b);
    let id: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let id = format!("{}-{}-{}-{}-{}", &id[..8], &id[8..12], &id[12..16], &id[16..20], &id[20..]);
    let _ = std::fs::write(&p, &id);
    id
}

/// A TLS handshake must be over within this (or the idle bound, if shorter).
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything about where and how to listen, checked before the engine opens: bad addresses,
/// an insecure TCP listener without the explicit flag, unreadable certificates and a missing
/// socket group fail the start with a message, before any state is touched.
struct Plan {
    hosts: Vec<Host>,
    tls: tls::Resolved,
    tls_config: Option<Arc<rustls::ServerConfig>>,
    gid: u32,
    /// Sockets passed by systemd, taken before any thread starts.
    activated: Vec<Listener>,
}

impl Plan {
    fn new(opts: &Options) -> anyhow::Result<Plan> {
        let default_unix = api_types::DEFAULT_HOST.strip_prefix("unix://").unwrap_or(api_types::DEFAULT_HOST);
        let default_unix = std::path::Path::new(default_unix);
        let hosts: Vec<Host> = if opts.hosts.is_empty() {
            vec![Host::Unix(default_unix.to_owned())]
        } else {
            opts.hosts.iter().map(|h| Host::parse(h, default_unix)).collect::<anyhow::Result<_>>()?
        };
        let tls = opts.tls.resolve(&tls::default_cert_dir(|k| std::env::var(k).ok()));
        let wanted: Vec<Option<i32>> =
            hosts.iter().filter_map(|h| if let Host::Fd(n) = h { Some(*n) } else { None }).collect();
        let activated = if wanted.is_empty() {
            Vec::new()
        } else {
            listen::activated(sys::activation::take_listen_fds()?, &wanted)?
        };
        let mut tcp = hosts
            .iter()
            .filter(|h| matches!(h, Host::Tcp(_)))
            .map(ToString::to_string)
            .chain(activated.iter().filter(|l| matches!(l, Listener::Tcp { .. })).map(|l| l.name().to_owned()));
        if tls.tcp_policy() == tls::TcpPolicy::Refused
            && let Some(first) = tcp.next()
        {
            return Err(tls.refusal(&first));
        }
        let tls_config = if tls.tls { Some(tls.server_config().context("invalid TLS configuration")?) } else { None };
        let gid = if hosts.iter().any(|h| matches!(h, Host::Unix(_))) { listen::socket_gid(&opts.group)? } else { 0 };
        Ok(Plan { hosts, tls, tls_config, gid, activated })
    }

    /// Binds the sockets berth makes itself, after the activated ones. If one fails, the
    /// socket files made before it are removed.
    fn bind(self) -> anyhow::Result<Vec<Listener>> {
        let mut out = self.activated;
        for h in &self.hosts {
            let l = match h {
                Host::Unix(p) => listen::bind_unix(p, self.gid),
                Host::Tcp(a) => listen::bind_tcp(a),
                Host::Fd(_) => continue,
            };
            match l {
                Ok(l) => out.push(l),
                Err(e) => {
                    for l in &out {
                        if let Listener::Unix { remove: Some(p), .. } = l {
                            let _ = std::fs::remove_file(p);
                        }
                    }
                    return Err(e);
                }
            }
        }
        Ok(out)
    }
}

/// Accepts on `l` and serves each connection in its own task; TCP connections go through TLS
/// first when it is configured. A failed handshake (no client certificate, one from another
/// CA, plain HTTP) is a refusal, logged at info.
async fn accept_loop(l: Listener, server: api::Server, tls: Option<tokio_rustls::TlsAcceptor>, handshake: Duration) {
    match l {
        Listener::Unix { listener, name, .. } => {
            let listener =
                match listener.set_nonblocking(true).and_then(|()| tokio::net::UnixListener::from_std(listener)) {
                    Ok(l) => l,
                    Err(e) => return tracing::error!("{name}: {e}"),
                };
            loop {
                match listener.accept().await {
                    Ok((s, _)) => {
                        let peer = match s.peer_cred() {
                            Ok(c) => format!("unix:uid={},pid={}", c.uid(), c.pid().unwrap_or(0)),
                            Err(_) => "unix".to_owned(),
                        };
                        let server = server.clone();
                        tokio::spawn(async move { server.serve_connection(s, peer.into()).await });
                    }
                    Err(e) => accept_failed(&name, &e).await,
                }
            }
        }
        Listener::Tcp { listener, name } => {
            let listener =
                match listener.set_nonblocking(true).and_then(|()| tokio::net::TcpListener::from_std(listener)) {
                    Ok(l) => l,
                    Err(e) => return tracing::error!("{name}: {e}"),
                };
            loop {
                let (s, addr) = match listener.accept().await {
                    Ok(a) => a,
                    Err(e) => {
                        accept_failed(&name, &e).await;
                        continue;
                    }
                };
                let _ = s.set_nodelay(true);
                let server = server.clone();
                let tls = tls.clone();
                let name = name.clone();
                tokio::spawn(async move {
                    let peer: Arc<str> = format!("tcp:{addr}").into();
                    let Some(acceptor) = tls else { return server.serve_connection(s, peer).await };
                    match tokio::time::timeout(handshake, handshake_tls(acceptor, s)).await {
                        Ok(Ok(t)) => server.serve_connection(t, peer).await,
                        Ok(Err(e)) => tracing::info!(peer = %peer, listener = %name, "refused a connection: {e:#}"),
                        Err(_) => tracing::info!(
                            peer = %peer,
                            listener = %name,
                            "refused a connection: no TLS handshake within {handshake:?}"
                        ),
                    }
                });
            }
        }
    }
}

/// The server side of a TLS handshake. A client speaking plain HTTP gets Go's answer (so the
/// docker CLI without `DOCKER_TLS_VERIFY` shows why), not a TLS alert it can't read.
async fn handshake_tls(
    acceptor: tokio_rustls::TlsAcceptor,
    mut s: tokio::net::TcpStream,
) -> anyhow::Result<tokio_rustls::server::TlsStream<tokio::net::TcpStream>> {
    let mut first = [0u8; 1];
    // A TLS connection starts with a handshake record (22); HTTP with a method's capital letter.
    if s.peek(&mut first).await? == 1 && first[0].is_ascii_uppercase() {
        use tokio::io::AsyncWriteExt;
        let _ = s.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n").await;
        let _ = s.shutdown().await;
        bail!("plain HTTP on a TLS listener");
    }
    acceptor.accept(s).await.context("TLS handshake")
}

/// Out of descriptors and the like: say so and don't spin.
async fn accept_failed(name: &str, e: &std::io::Error) {
    tracing::warn!("accept on {name}: {e}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The warnings for a TCP listener without client authentication (dockerd's words).
fn warn_insecure(name: &str, tls: bool) {
    let how = if tls { "TLS without client certificates (--tlsverify=false)" } else { "plain TCP (--tls=false)" };
    tracing::warn!(host = %name, "Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network.");
    tracing::warn!(host = %name, "Binding to an IP address, even on localhost, can also give access to scripts run in a browser. Be safe out there!");
    tracing::warn!(host = %name, "listening with {how} because it was asked for explicitly; use --tlsverify with client certificates instead");
}

/// Every crate of berth's that logs: `--log-level` applies to all of them, other crates' logs
/// (hyper, rustls, netlink) stay at `warn`.
const LOGGING_CRATES: &[&str] = &[
    "berth", "daemon", "api", "engine", "image", "net", "seccomp", "cgroups", "runtime", "shim", "init", "sys", "oci",
];

/// The env-filter directive of a `--log-level`.
fn log_directive(level: &str) -> String {
    let mut d = String::from("warn");
    for c in LOGGING_CRATES {
        d.push_str(&format!(",{c}={level}"));
    }
    d
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(log_directive(&opts.log_level))
        .with_context(|| format!("invalid --log-level {:?}", opts.log_level))?;
    log::init(filter);
    if !nix::unistd::Uid::effective().is_root() {
        bail!("berth daemon needs to run as root");
    }
    let plan = Plan::new(&opts)?;
    let exe = std::env::current_exe().context("finding berth's own executable")?;
    let debug = matches!(opts.log_level.as_str(), "debug" | "trace");
    let net_cfg = opts.net.parse()?;
    let cgroup_parent = cgroup_parent(&opts.cgroup_parent)?;
    // Before any thread exists: the probe forks.
    let userns_remap = match opts.userns_remap.as_deref().filter(|s| !s.is_empty()) {
        Some(spec) => match userns::resolve(spec)? {
            Some((who, map)) => {
                userns::probe(&opts.root, &map)?;
                // Kept for the engine, which can't make one once threads exist.
                let ns = runtime::userns::create(&map).map_err(|e| anyhow::anyhow!("{e:#}"))?;
                tracing::info!(
                    "user namespaces: ID ranges will be mapped to subuid/subgid ranges of: {who} (root is {}:{})",
                    map.root().0,
                    map.root().1
                );
                Some(engine::userns::Remap { map, ns: std::sync::Arc::new(ns) })
            }
            None => None,
        },
        None => None,
    };
    // Small and steady at idle: few malloc arenas, a bounded blocking pool, and a periodic trim
    // (after a burst of requests, freed memory would otherwise stay with the process).
    sys::process::limit_malloc_arenas(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(16)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let engine = engine::Engine::open(engine::EngineConfig {
            root: opts.root.clone(),
            exec_root: opts.exec_root.clone(),
            exe,
            cgroup_parent,
            debug,
            net: net_cfg,
            userns: userns_remap,
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let host_list = plan.hosts.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        let (tls, tls_config) = (plan.tls.clone(), plan.tls_config.clone());
        let listeners = plan.bind()?;
        let meta = Arc::new(api::DaemonMeta { id: daemon_id(&opts.root), host: host_list, debug });
        let server = api::Server::new(api::Api { engine: engine.clone(), meta }, opts.idle_timeout);
        let acceptor = tls_config.map(tokio_rustls::TlsAcceptor::from);
        let handshake = opts.idle_timeout.min(TLS_HANDSHAKE_TIMEOUT);
        let mut remove = Vec::new();
        let mut tasks = Vec::new();
        for l in listeners {
            match &l {
                Listener::Unix { remove: r, .. } => remove.extend(r.clone()),
                Listener::Tcp { name, .. } if !tls.verify => warn_insecure(name, tls.tls),
                Listener::Tcp { .. } => {}
            }
            tracing::info!("API listen on {}", l.name());
            let tls = if matches!(l, Listener::Tcp { .. }) { acceptor.clone() } else { None };
            tasks.push(tokio::spawn(accept_loop(l, server.clone(), tls, handshake)));
        }
        tracing::info!(root = %opts.root.display(), "berth daemon ready");
        notify::notify("READY=1");
        tokio::spawn(async {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            let (mut last, mut trimmed) = (api::requests_begun(), false);
            loop {
                tick.tick().await;
                sys::process::trim_heap();
                // Idle for a whole tick: drop the page-table entries of the code it ran (a burst
                // of requests touches much of the binary); they fault back in from the page
                // cache at the next request. Once per idle spell.
                let now = api::requests_begun();
                if now != last {
                    (last, trimmed) = (now, false);
                } else if !trimmed {
                    sys::process::trim_file_pages();
                    trimmed = true;
                }
            }
        });
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        notify::notify("STOPPING=1");
        tracing::info!("shutting down; containers keep running");
        for t in tasks {
            t.abort();
        }
        engine.shutdown().await;
        for p in remove {
            let _ = std::fs::remove_file(&p);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge(b: &str) -> anyhow::Result<engine::NetConfig> {
        NetOptions { bridge: b.into(), ..Default::default() }.parse()
    }

    #[test]
    fn bridge_and_table_names_are_checked() {
        assert_eq!(bridge("docker0").unwrap().bridge, "docker0");
        for bad in ["x\"}", "a b", "a\nb", "0123456789abcdef", "..", "a/b", "eth%d", "a;b"] {
            let e = format!("{:#}", bridge(bad).unwrap_err());
            assert!(e.starts_with("--bridge: invalid bridge name"), "{bad:?}: {e}");
        }
        let table = |t: &str| NetOptions { firewall_table: t.into(), ..Default::default() }.parse();
        assert_eq!(table("berth_2").unwrap().firewall_table, "berth_2");
        assert!(table("x; flush ruleset").is_err());
    }
}
