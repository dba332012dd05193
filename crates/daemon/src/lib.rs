//! `berth daemon`: wiring. Parses nothing itself (the CLI does), sets up logging, opens the
//! engine on its roots, listens on the API socket and serves until SIGTERM/SIGINT. Stopping the
//! daemon leaves containers running (their shims are separate processes); the next daemon on
//! the same root finds them again.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};

pub mod userns;

/// The daemon's settings (from `berth daemon` flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// Persistent state.
    pub root: PathBuf,
    /// Runtime state.
    pub exec_root: PathBuf,
    /// Where to listen (`unix:///run/berth/berth.sock`).
    pub host: String,
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

fn socket_path(host: &str) -> anyhow::Result<PathBuf> {
    match host.strip_prefix("unix://") {
        Some(p) if p.starts_with('/') => Ok(PathBuf::from(p)),
        _ if host.starts_with('/') => Ok(PathBuf::from(host)),
        _ => bail!("invalid --host {host:?}: berth listens on a unix socket (unix:///path/to/socket)"),
    }
}

/// Binds the API socket: refuses when another daemon answers there, replaces a stale one.
async fn bind(path: &std::path::Path) -> anyhow::Result<tokio::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path.exists() {
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            bail!("another daemon is already listening on {}", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("removing stale socket {}", path.display()))?;
    }
    let l = tokio::net::UnixListener::bind(path).with_context(|| format!("listening on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("chmod {}", path.display()))?;
    Ok(l)
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
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    let id: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let id = format!("{}-{}-{}-{}-{}", &id[..8], &id[8..12], &id[12..16], &id[16..20], &id[20..]);
    let _ = std::fs::write(&p, &id);
    id
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_new(format!("warn,berth={0},engine={0},api={0},daemon={0}", opts.log_level))
            .with_context(|| format!("invalid --log-level {:?}", opts.log_level))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    if !nix::unistd::Uid::effective().is_root() {
        bail!("berth daemon needs to run as root");
    }
    let sock = socket_path(&opts.host)?;
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
        let listener = bind(&sock).await?;
        let meta = Arc::new(api::DaemonMeta { id: daemon_id(&opts.root), host: opts.host.clone(), debug });
        tracing::info!(root = %opts.root.display(), socket = %sock.display(), "berth daemon ready");
        let server = tokio::spawn(api::serve(listener, api::Api { engine: engine.clone(), meta }));
        tokio::spawn(async {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
            loop {
                tick.tick().await;
                sys::process::trim_heap();
            }
        });
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("shutting down; containers keep running");
        server.abort();
        engine.shutdown().await;
        let _ = std::fs::remove_file(&sock);
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
