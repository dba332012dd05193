//! Networks and container networking, Docker's model on the `net` crate.
//!
//! - Networks are records in `<root>/networks/<id>.json`. `bridge` (the default bridge, on the
//!   interface `berth0`), `host` and `none` always exist; user-defined ones use the `bridge`,
//!   `macvlan` or `ipvlan` driver.
//! - A container on a bridge or macvlan/ipvlan network gets a network namespace made by the
//!   daemon before the shim starts ([`Engine::net_setup`]): interfaces, addresses and routes are
//!   set there, and the runtime joins it by path. The daemon holds the namespace only until
//!   the container's first process is in it; the namespace then lives as long as the container.
//! - What a running container holds (addresses, veths, host ports, firewall rules, DNS names)
//!   is recorded in its state ([`crate::model::NetState`]) and released at its exit
//!   ([`Engine::net_teardown`]). At start-up the engine rebuilds the address allocators, the
//!   held host ports, the DNS tables and the firewall table from those records: nothing of it
//!   is kept in a file of its own, so nothing can disagree with the containers.
//! - Lock order: a container's `op` lock, then `Net::state` (a std mutex, never held across an
//!   await), then `Net::firewall` (serialises `nft` runs; the ruleset is read under it, so the
//!   last apply always has every change).

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use ipnet::Ipv4Net;
use net::firewall::{BridgeRules, PortRule, Proto, Ruleset};
use net::ipam::{Pool, Subnet};
use net::link::{Existing, Netlink, SubInterface};
use net::ports::{HostPort, PortRange};
use serde::{Deserialize, Serialize};

use crate::Unpoison;
use crate::model::{Container, Endpoint, EndpointConfig, NetState, PublishedPort};
use crate::{Ctr, Engine, EngineError};

/// Networking settings of the daemon.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// The default bridge's interface (`berth0`; `-b`).
    pub bridge: String,
    /// The default bridge's address and subnet (`--bip`).
    pub bip: Option<Ipv4Net>,
    /// Where subnets come from (`--default-address-pool`).
    pub pools: Vec<Pool>,
    /// berth's nftables table (`ip berth`).
    pub firewall_table: String,
    /// Name servers for containers (`--dns`): those of the default bridge's resolv.conf, and
    /// where the embedded DNS server forwards. Empty: the host's (`/etc/resolv.conf`).
    pub dns: Vec<std::net::IpAddr>,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            bridge: "berth0".into(),
            bip: None,
            pools: Pool::defaults(),
            firewall_table: "berth".into(),
            dns: Vec::new(),
        }
    }
}

/// A network as the engine keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    /// 64 hex digits.
    pub id: String,
    /// Name.
    pub name: String,
    /// `bridge`, `macvlan`, `ipvlan`, `host`, `null`.
    pub driver: String,
    /// Creation time.
    pub created: chrono::DateTime<chrono::Utc>,
    /// Subnet (bridge, macvlan, ipvlan).
    pub subnet: Option<Ipv4Net>,
    /// Gateway.
    pub gateway: Option<Ipv4Addr>,
    /// Sub-range for dynamic addresses.
    pub ip_range: Option<Ipv4Net>,
    /// Reserved addresses by name.
    #[serde(default)]
    pub aux_addresses: BTreeMap<String, Ipv4Addr>,
    /// No outside connectivity.
    pub internal: bool,
    /// Attachable (accepted for compose; every network is).
    pub attachable: bool,
    /// Driver options.
    pub options: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The interface: the bridge, or the parent of macvlan/ipvlan.
    pub ifname: String,
    /// The parent is an 802.1q interface berth created (deleted with the network).
    #[serde(default)]
    pub created_parent: bool,
    /// berth created the bridge (`ifname`): it is made again after a host reboot and deleted
    /// with the network. A user network's bridge always is (a name that exists is refused at
    /// create); the default bridge may be an admin's (`-b`). Records from before this field
    /// are settled at start-up ([`Net::open`]).
    #[serde(default)]
    pub created_bridge: bool,
}

impl Network {
    /// One of `bridge`, `host`, `none`.
    pub fn is_predefined(&self) -> bool {
        matches!(self.name.as_str(), "bridge" | "host" | "none")
    }

    fn has_dns(&self) -> bool {
        self.driver == "bridge" && self.name != "bridge"
    }

    /// A bridge berth uses: the default one, or a user network's bridge it created.
    fn is_our_bridge(&self) -> bool {
        self.driver == "bridge" && (self.name == "bridge" || self.created_bridge)
    }

    /// The gateway's address on the bridge.
    fn gateway_net(&self) -> Option<Ipv4Net> {
        Ipv4Net::new(self.gateway?, self.subnet?.prefix_len()).ok()
    }
}

/// What `network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct NetworkCreate {
    /// Name.
    pub name: String,
    /// Driver (empty: bridge).
    pub driver: String,
    /// Subnet, gateway, range (at most one IPv4 set).
    pub subnet: Option<String>,
    /// Gateway.
    pub gateway: Option<String>,
    /// Dynamic range.
    pub ip_range: Option<String>,
    /// Reserved addresses.
    pub aux_addresses: BTreeMap<String, String>,
    /// Internal.
    pub internal: bool,
    /// Attachable.
    pub attachable: bool,
    /// Driver options.
    pub options: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// A network with the containers on it, for inspect and list.
#[derive(Debug, Clone)]
pub struct NetworkView {
    /// The network.
    pub network: Network,
    /// Running containers on it: (container ID, name, endpoint).
    pub containers: Vec<(String, String, Endpoint)>,
}

/// The engine's networking state.
#[derive(Debug)]
pub(crate) struct Net {
    pub cfg: NetConfig,
    dir: PathBuf,
    nl: Netlink,
    state: Mutex<State>,
    firewall: tokio::sync::Mutex<()>,
    names: Arc<Names>,
    upstream: Vec<std::net::SocketAddr>,
}

#[derive(Debug, Default)]
struct State {
    networks: BTreeMap<String, Network>,
    ipam: HashMap<String, Subnet>,
    dns: HashMap<String, net::dns::Server>,
    /// Host ports held per container.
    held: HashMap<String, Vec<HostPort>>,
    /// The network namespace of each running container, held so that its interfaces can be
    /// deleted before the namespace goes (see [`Engine::net_release`]).
    netns: HashMap<String, OwnedFd>,
    /// Published ports' rules per container.
    rules: HashMap<String, Vec<PortRule>>,
    /// Bridge networks whose bridge is up with berth's address: only these get rules,
    /// `route_localnet` and endpoints.
    up: std::collections::HashSet<String>,
}

/// The DNS names of one endpoint and its address.
type NamedAddress = (Vec<String>, Ipv4Addr);

/// DNS names of containers per server address (a network's gateway).
#[derive(Debug, Default)]
struct Names {
    by_server: RwLock<HashMap<Ipv4Addr, Vec<NamedAddress>>>,
}

impl net::dns::Resolver for Names {
    fn lookup(&self, server: Ipv4Addr, name: &str) -> Option<Vec<Ipv4Addr>> {
        let map = self.by_server.read().unpoisoned();
        let ips: Vec<Ipv4Addr> = map
            .get(&server)?
            .iter()
            .filter(|(names, _)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
            .map(|(_, ip)| *ip)
            .collect();
        (!ips.is_empty()).then_some(ips)
    }

    fn reverse(&self, server: Ipv4Addr, ip: Ipv4Addr) -> Option<String> {
        let map = self.by_server.read().unpoisoned();
        map.get(&server)?.iter().find(|(_, a)| *a == ip).and_then(|(n, _)| n.first().cloned())
    }
}

fn net_err(e: net::NetError) -> EngineError {
    match e {
        net::NetError::Invalid(m) => EngineError::InvalidArgument(m),
        net::NetError::Conflict(m) | net::NetError::Exhausted(m) => EngineError::Conflict(m),
        e => EngineError::Network(e.to_string()),
    }
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    crate::random_bytes(&mut b);
    hex::encode(b)
}

/// The network name a network mode stands for (`default` is `bridge`).
pub(crate) fn mode_network(mode: &str) -> Option<&str> {
    match mode {
        "" | "default" | "bridge" => Some("bridge"),
        "none" | "host" => None,
        m if m.starts_with("container:") => None,
        m => Some(m),
    }
}

/// Holds a host-wide lock while subnets are chosen and bridges made, so that two daemons on
/// one host (tests run several) never take the same subnet.
fn host_lock() -> Result<std::fs::File, EngineError> {
    let p = "/run/berth-network.lock";
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(p)
        .map_err(|e| EngineError::io(format!("opening {p}"), e))?;
    f.lock().map_err(|e| EngineError::io(format!("locking {p}"), e))?;
    Ok(f)
}

impl Net {
    /// Loads the networks, makes the predefined ones and the default bridge.
    pub(crate) async fn open(root: &std::path::Path, cfg: NetConfig) -> Result<Net, EngineError> {
        let dir = root.join("networks");
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(format!("creating {}", dir.display()), e))?;
        let mut networks = BTreeMap::new();
        // User bridge networks recorded before berth noted which bridges it created.
        let mut legacy = std::collections::HashSet::new();
        for e in
            std::fs::read_dir(&dir).map_err(|e| EngineError::io(format!("reading {}", dir.display()), e))?.flatten()
        {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json")
                && let Ok(v) = std::fs::read(&p)
                    .map_err(|_| ())
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).map_err(|_| ()))
                && let Ok(n) = serde_json::from_value::<Network>(v.clone())
            {
                if n.driver == "bridge" && n.name != "bridge" && v.get("created_bridge").is_none() {
                    legacy.insert(n.id.clone());
                }
                networks.insert(n.id.clone(), n);
            }
        }
        let upstream =
            net::dns::upstream_from_resolv_conf(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default());
        let n = Net {
            nl: Netlink::host().map_err(net_err)?,
            cfg,
            dir,
            state: Mutex::new(State { networks, ..Default::default() }),
            firewall: tokio::sync::Mutex::new(()),
            names: Arc::new(Names::default()),
            upstream,
        };
        for (name, driver) in [("host", "host"), ("none", "null")] {
            if n.find(name).is_err() {
                let rec = n.record(name, driver);
                n.save(&rec)?;
                n.state().networks.insert(rec.id.clone(), rec);
            }
        }
        n.ensure_default_bridge().await?;
        // Bridges of user-defined networks (a host reboot removed them) and their DNS servers.
        // One that can't be brought up leaves its network without a bridge, not the daemon down.
        let nets: Vec<Network> = n.state().networks.values().cloned().collect();
        for mut rec in nets {
            n.init_ipam(&rec)?;
            let legacy = legacy.contains(&rec.id);
            if rec.driver == "bridge"
                && rec.name != "bridge"
                && let Err(e) = n.open_user_bridge(&mut rec, legacy).await
            {
                tracing::error!(network = %rec.name, "network {} has no bridge: {e}", rec.name);
            }
        }
        // The drop of loopback destinations from the bridges before they get route_localnet.
        // Without it (no nft), no bridge keeps route_localnet: published ports then don't
        // answer on 127.0.0.1, but containers don't reach the host's loopback either.
        if let Err(e) = n.guard().await {
            tracing::error!("writing the firewall's input chain: {e}; route_localnet stays off");
            localnet(&n.ruleset(), false);
        }
        Ok(n)
    }

    /// At start-up: the bridge of a user network, made again if a reboot removed it. `legacy`:
    /// the record is older than `created_bridge`; a bridge that is missing, or bare, or carries
    /// only the network's gateway is taken for berth's (as those versions made them), anything
    /// else is left alone for good.
    async fn open_user_bridge(&self, rec: &mut Network, legacy: bool) -> Result<(), EngineError> {
        if !legacy && !rec.created_bridge {
            return Err(EngineError::Conflict(format!(
                "its bridge {} is not one berth created: remove the network and create it again",
                rec.ifname
            )));
        }
        let up = {
            let _lock = host_lock()?;
            self.bring_up_bridge(rec, Existing::Adopt { ours: rec.gateway_net() }).await
        };
        // Settled for good when it was taken or refused; any other failure is tried again at
        // the next start.
        if legacy && matches!(up, Ok(_) | Err(EngineError::Conflict(_))) {
            rec.created_bridge = up.is_ok();
            self.save(rec)?;
            self.state().networks.insert(rec.id.clone(), rec.clone());
        }
        up.map(|_| ())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unpoisoned()
    }

    fn record(&self, name: &str, driver: &str) -> Network {
        Network {
            id: random_hex(32),
            name: name.into(),
            driver: driver.into(),
            created: chrono::Utc::now(),
            subnet: None,
            gateway: None,
            ip_range: None,
            aux_addresses: BTreeMap::new(),
            internal: false,
            attachable: false,
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
            ifname: String::new(),
            created_parent: false,
            created_bridge: false,
        }
    }

    fn save(&self, n: &Network) -> Result<(), EngineError> {
        let p = self.dir.join(format!("{}.json", n.id));
        let tmp = p.with_extension("tmp");
        let data = serde_json::to_vec_pretty(n).expect("network record serialises");
        std::fs::write(&tmp, data)
            .and_then(|()| std::fs::rename(&tmp, &p))
            .map_err(|e| EngineError::io(format!("writing {}", p.display()), e))
    }

    /// A network by name, full ID or unique ID prefix.
    pub(crate) fn find(&self, key: &str) -> Result<Network, EngineError> {
        let st = self.state();
        if let Some(n) = st.networks.values().find(|n| n.name == key || n.id == key) {
            return Ok(n.clone());
        }
        let mut m = st.networks.values().filter(|n| n.id.starts_with(key));
        match (m.next(), m.next()) {
            (Some(n), None) if !key.is_empty() => Ok(n.clone()),
            (Some(_), Some(_)) => Err(EngineError::InvalidArgument(format!("network {key} is ambiguous"))),
            _ => Err(EngineError::NotFound(format!("network {key} not found"))),
        }
    }

    /// Subnets in use: the host's routes (but those of our own bridges, and of `except`'s
    /// interface) and our networks' (but `except`'s own: it may keep it).
    fn taken_subnets(&self, except: Option<&Network>) -> Vec<Ipv4Net> {
        let st = self.state();
        let mut ours: Vec<&str> =
            st.networks.values().filter(|n| n.is_our_bridge()).map(|n| n.ifname.as_str()).collect();
        ours.extend(except.map(|n| n.ifname.as_str()));
        let mut taken: Vec<Ipv4Net> = net::ipam::host_routes()
            .into_iter()
            .filter(|(dev, _)| !ours.contains(&dev.as_str()))
            .map(|(_, n)| n)
            .collect();
        taken.extend(st.networks.values().filter(|n| except.is_none_or(|e| e.id != n.id)).filter_map(|n| n.subnet));
        taken
    }

    /// The default bridge (`-b`, `--bip`): made, or an existing bridge that carries no address
    /// or only this daemon's from its last run on the same interface. Never a second address on
    /// a bridge that carries another (another daemon's `-b`, or this root's after a restart with
    /// other `-b`/`--bip` flags): that is refused, and the daemon doesn't start.
    async fn ensure_default_bridge(&self) -> Result<(), EngineError> {
        let _lock = host_lock()?;
        let prev = self.find("bridge").ok();
        let ifname = self.cfg.bridge.clone();
        net::ifname::check_bridge(&ifname).map_err(net_err)?;
        // The interface of last time: the address found on it may be this daemon's own.
        let same = prev.as_ref().is_some_and(|r| r.ifname == ifname);
        let ours = prev.as_ref().filter(|_| same).and_then(Network::gateway_net);
        let mut rec = prev.clone().unwrap_or_else(|| {
            let mut r = self.record("bridge", "bridge");
            r.options.insert("com.docker.network.bridge.default_bridge".into(), "true".into());
            r
        });
        let (subnet, gateway) = match self.cfg.bip {
            Some(bip) => (bip.trunc(), bip.addr()),
            None => {
                let taken = self.taken_subnets(same.then_some(&rec));
                match rec.subnet.filter(|s| same && !taken.iter().any(|t| net::ipam::overlaps(s, t))) {
                    // Its subnet from last time, still free.
                    Some(s) => (s, rec.gateway.unwrap_or_else(|| first_host(s))),
                    None => {
                        let s = net::ipam::free_subnet(&self.cfg.pools, &taken).ok_or_else(|| {
                            EngineError::Conflict(
                                "could not find a free subnet for the default bridge in the address pools (set one with --bip)".into(),
                            )
                        })?;
                        (s, first_host(s))
                    }
                }
            }
        };
        rec.ifname = ifname;
        rec.options.insert("com.docker.network.bridge.name".into(), rec.ifname.clone());
        rec.subnet = Some(subnet);
        rec.gateway = Some(gateway);
        let created = self.bring_up_bridge(&rec, Existing::Adopt { ours }).await.map_err(|e| match e {
            EngineError::Conflict(m) => EngineError::Conflict(format!("the default bridge (-b {}): {m}", rec.ifname)),
            e => e,
        })?;
        rec.created_bridge = created || (same && prev.is_some_and(|p| p.created_bridge));
        self.save(&rec)?;
        self.state().networks.insert(rec.id.clone(), rec);
        Ok(())
    }

    /// Makes a bridge network's bridge carry its gateway address and be up (`existing` says
    /// what to do when its name is taken), sets the sysctls and starts its DNS server; returns
    /// whether the bridge was created now. A bridge created here is deleted again on failure.
    ///
    /// `route_localnet` is not set here: only once the firewall table that drops loopback
    /// destinations coming from the bridge is in place ([`Net::apply_firewall`]).
    async fn bring_up_bridge(&self, rec: &Network, existing: Existing) -> Result<bool, EngineError> {
        let (Some(gw), Some(addr)) = (rec.gateway, rec.gateway_net()) else { return Ok(false) };
        // Names from records: checked again (by the kernel's rule: older versions were laxer).
        net::ifname::check("bridge", &rec.ifname).map_err(net_err)?;
        let created = self.nl.ensure_bridge(&rec.ifname, addr, existing).await.map_err(net_err)?;
        let rest = async {
            net::link::sysctl("ipv4/ip_forward", "1").map_err(net_err)?;
            if rec.has_dns() && !self.state().dns.contains_key(&rec.id) {
                let names: Arc<dyn net::dns::Resolver> = self.names.clone();
                let server =
                    net::dns::Server::start(SocketAddrV4::new(gw, 53), names, self.upstream.clone()).await.map_err(
                        |e| EngineError::io(format!("starting the DNS server of network {} on {gw}:53", rec.name), e),
                    )?;
                self.state().dns.insert(rec.id.clone(), server);
            }
            Ok::<_, EngineError>(())
        }
        .await;
        if let Err(e) = rest {
            if created {
                let _ = self.nl.delete(&rec.ifname).await;
            }
            return Err(e);
        }
        self.state().up.insert(rec.id.clone());
        Ok(created)
    }

    fn init_ipam(&self, rec: &Network) -> Result<(), EngineError> {
        let Some(subnet) = rec.subnet else { return Ok(()) };
        let mut s = Subnet::new(subnet, rec.gateway, rec.ip_range).map_err(net_err)?;
        for ip in rec.aux_addresses.values() {
            let _ = s.reserve(*ip);
        }
        self.state().ipam.insert(rec.id.clone(), s);
        Ok(())
    }

    /// The firewall's view of the state.
    fn ruleset(&self) -> Ruleset {
        let st = self.state();
        let bridges = st
            .networks
            .values()
            .filter(|n| n.driver == "bridge" && st.up.contains(&n.id))
            .filter_map(|n| {
                Some(BridgeRules {
                    ifname: n.ifname.clone(),
                    subnet: n.subnet?,
                    gateway: n.gateway?,
                    internal: n.internal,
                })
            })
            .collect();
        let mut ids: Vec<&String> = st.rules.keys().collect();
        ids.sort();
        let ports = ids.into_iter().flat_map(|id| st.rules[id].iter().cloned()).collect();
        Ruleset { bridges, ports }
    }

    /// Rewrites berth's nftables table from the current state, then turns `route_localnet` on
    /// for the bridges in it (the table drops what they'd let in for 127.0.0.0/8).
    async fn apply_firewall(&self) -> Result<(), EngineError> {
        let _g = self.firewall.lock().await;
        let rules = self.ruleset();
        let table = self.cfg.firewall_table.clone();
        let rules = tokio::task::spawn_blocking(move || rules.apply(&table).map(|()| rules))
            .await
            .expect("firewall task")
            .map_err(net_err)?;
        localnet(&rules, true);
        Ok(())
    }

    /// At start-up, before anything else touches the firewall: only the table's `input` chain
    /// (the drop of loopback destinations from every bridge), then `route_localnet` on. The
    /// rest of the table (a previous daemon's, with the published ports of containers still
    /// running) stays until recovery rebuilds it whole.
    async fn guard(&self) -> Result<(), EngineError> {
        let _g = self.firewall.lock().await;
        let rules = self.ruleset();
        let table = self.cfg.firewall_table.clone();
        let rules = tokio::task::spawn_blocking(move || rules.apply_guard(&table).map(|()| rules))
            .await
            .expect("firewall task")
            .map_err(net_err)?;
        localnet(&rules, true);
        Ok(())
    }
}

/// Sets `route_localnet` of the bridges of `rules`: published ports on 127.0.0.1 are DNAT'ed
/// to a bridge, so loopback sources must be routable there. A bridge that vanished is skipped.
fn localnet(rules: &Ruleset, on: bool) {
    for b in &rules.bridges {
        if let Err(e) = net::link::sysctl(&format!("ipv4/conf/{}/route_localnet", b.ifname), if on { "1" } else { "0" })
        {
            tracing::warn!(bridge = %b.ifname, "{e}");
        }
    }
}

fn first_host(s: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(s.network()) + 1)
}

/// What [`Engine::net_setup`] made for a start: the namespace to join and what to record.
pub(crate) struct Sandbox {
    /// The network namespace (held until the container's process is in it).
    pub ns: OwnedFd,
    /// The state to record.
    pub state: NetState,
}

impl Sandbox {
    /// The path the runtime opens to join the namespace.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), self.ns.as_raw_fd()))
    }
}

impl Engine {
    pub(crate) fn net(&self) -> &Net {
        &self.inner.net
    }

    /// Checks a create request's networking: the networks exist, addresses and aliases fit
    /// them, ports parse and are free. Returns the container's networks.
    pub(crate) fn net_validate(
        &self,
        hc: &crate::HostConfig,
        endpoints: &BTreeMap<String, EndpointConfig>,
    ) -> Result<BTreeMap<String, EndpointConfig>, EngineError> {
        let mut out = BTreeMap::new();
        let primary = mode_network(&hc.network_mode);
        let has_ports = hc.port_bindings.values().any(|b| !b.is_empty()) || hc.publish_all_ports;
        if has_ports && (hc.network_mode == "none" || hc.network_mode.starts_with("container:")) {
            return Err(EngineError::InvalidArgument(
                "conflicting options: port publishing and the container type network mode".into(),
            ));
        }
        if let Some(name) = primary {
            let n = self.net().find(name)?;
            if n.name == "host" || n.name == "none" {
                return Err(EngineError::InvalidArgument(format!(
                    "network {} can only be used as --network {}",
                    n.name, n.name
                )));
            }
            let mut ep = EndpointConfig::default();
            for (k, v) in endpoints {
                let key = if k == "default" { "bridge" } else { k.as_str() };
                if key == n.name || key == n.id {
                    ep = v.clone();
                } else {
                    return Err(EngineError::InvalidArgument(format!(
                        "Container cannot be connected to network endpoints: {k}; only the network of --network at create"
                    )));
                }
            }
            self.check_endpoint(&n, &ep)?;
            out.insert(n.name.clone(), ep);
        } else if endpoints.values().any(|e| e != &EndpointConfig::default()) {
            return Err(EngineError::InvalidArgument(format!(
                "endpoint settings are not possible with network mode {}",
                hc.network_mode
            )));
        }
        // Ports parse, and fixed ones are free now (the start takes them for good).
        for (key, binds) in &hc.port_bindings {
            let (_, proto) = net::ports::parse_container_port(key).map_err(net_err)?;
            for b in binds {
                let ip = host_ip(&b.host_ip)?;
                let range = PortRange::parse(&b.host_port).map_err(net_err)?;
                if range.start != 0 && hc.network_mode != "host" {
                    drop(net::ports::reserve(proto, ip, range).map_err(net_err)?);
                }
            }
        }
        Ok(out)
    }

    fn check_endpoint(&self, n: &Network, ep: &EndpointConfig) -> Result<(), EngineError> {
        if !ep.aliases.is_empty() && n.name == "bridge" {
            return Err(EngineError::InvalidArgument(
                "network-scoped alias is supported only for containers in user defined networks".into(),
            ));
        }
        if let Some(ip) = ep.ipv4_address {
            let Some(subnet) = n.subnet else {
                return Err(EngineError::InvalidArgument(format!("network {} has no subnet for --ip", n.name)));
            };
            if !subnet.contains(&ip) {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid IP address {ip}: it does not belong to any of this network's subnets ({subnet})"
                )));
            }
            if self.net().state().ipam.get(&n.id).is_some_and(|s| s.is_used(ip)) {
                return Err(EngineError::Conflict(format!("Address already in use: {ip}")));
            }
        }
        if let Some(m) = &ep.mac_address {
            net::link::parse_mac(m).map_err(net_err)?;
        }
        Ok(())
    }

    /// Makes the network namespace of a starting container and everything in it. On failure
    /// nothing is left: addresses, ports, links and rules made so far are undone.
    pub(crate) async fn net_setup(&self, c: &Container) -> Result<Option<Sandbox>, EngineError> {
        let Some(primary) = mode_network(&c.host_config.network_mode) else { return Ok(None) };
        let mut order = vec![primary.to_owned()];
        order.extend(c.networks.keys().filter(|k| k.as_str() != primary).cloned());
        let mut sb = NetState { order: Vec::new(), ..Default::default() };
        let mut held = Vec::new();
        let t0 = std::time::Instant::now();
        let r = async {
            let (ns, inner) =
                tokio::task::spawn_blocking(Netlink::new_namespace).await.expect("netns task").map_err(net_err)?;
            tracing::trace!(container = %c.id, us = t0.elapsed().as_micros() as u64, "network: namespace");
            for (i, name) in order.iter().enumerate() {
                let n = self.net().find(name)?;
                let ep_cfg = c.networks.get(name).cloned().unwrap_or_default();
                let ep = self.attach_endpoint(c, &n, &ep_cfg, &format!("eth{i}"), ns.as_fd(), &inner, i == 0).await?;
                sb.endpoints.insert(n.name.clone(), ep);
                sb.order.push(n.name.clone());
                tracing::trace!(container = %c.id, us = t0.elapsed().as_micros() as u64, "network: endpoint");
            }
            // Ports, on the primary network's address.
            let primary_ip = sb.endpoints.get(&sb.order[0]).map(|e| e.ip);
            if let Some(ip) = primary_ip {
                let (ports, h) = self.bind_ports(c, &c.host_config.port_bindings, c.host_config.publish_all_ports)?;
                held = h;
                sb.ports = ports;
                if !sb.ports.is_empty() {
                    self.net().state().rules.insert(c.id.clone(), rules_for(&sb.ports, ip));
                    self.net().apply_firewall().await?;
                }
            }
            Ok::<_, EngineError>(ns)
        }
        .await;
        match r {
            Ok(ns) => {
                let kept = ns
                    .try_clone()
                    .map_err(|e| EngineError::io("duplicating a namespace descriptor", e))
                    .and_then(|k| self.write_hosts(c, &sb).map(|()| k));
                let kept = match kept {
                    Ok(k) => k,
                    Err(e) => {
                        drop(held);
                        self.net_release(&c.id, &sb, true).await;
                        return Err(e);
                    }
                };
                let mut s = self.net().state();
                s.netns.insert(c.id.clone(), kept);
                s.held.insert(c.id.clone(), held);
                drop(s);
                self.register_names(c, &sb);
                Ok(Some(Sandbox { ns, state: sb }))
            }
            Err(e) => {
                drop(held);
                self.net_release(&c.id, &sb, true).await;
                Err(e)
            }
        }
    }

    /// Creates one endpoint: an address, the interface in the namespace, its configuration.
    #[allow(clippy::too_many_arguments)]
    async fn attach_endpoint(
        &self,
        c: &Container,
        n: &Network,
        cfg: &EndpointConfig,
        ifname: &str,
        ns: std::os::fd::BorrowedFd<'_>,
        inner: &Netlink,
        primary: bool,
    ) -> Result<Endpoint, EngineError> {
        let subnet =
            n.subnet.ok_or_else(|| EngineError::InvalidArgument(format!("network {} has no subnet", n.name)))?;
        let ip = {
            let mut st = self.net().state();
            let s =
                st.ipam.get_mut(&n.id).ok_or_else(|| EngineError::NotFound(format!("network {} not found", n.name)))?;
            match cfg.ipv4_address {
                Some(ip) => {
                    s.reserve(ip).map_err(net_err)?;
                    ip
                }
                None => s.allocate().map_err(net_err)?,
            }
        };
        let mac = match &cfg.mac_address {
            Some(m) => net::link::parse_mac(m).map_err(net_err)?,
            None => net::link::mac_for(ip),
        };
        let mut ep = Endpoint {
            network_id: n.id.clone(),
            endpoint_id: random_hex(32),
            ifname: ifname.to_owned(),
            host_ifname: None,
            ip,
            prefix_len: subnet.prefix_len(),
            gateway: n.gateway,
            mac: net::link::format_mac(&mac),
        };
        let made = async {
            match n.driver.as_str() {
                "bridge" => {
                    if !self.net().state().up.contains(&n.id) {
                        return Err(EngineError::Network(format!(
                            "network {} has no bridge: {} could not be brought up when the daemon started (see its log)",
                            n.name, n.ifname
                        )));
                    }
                    let bridge = self.net().nl.index(&n.ifname).await.map_err(net_err)?.ok_or_else(|| {
                        EngineError::Network(format!("the bridge {} of network {} is gone", n.ifname, n.name))
                    })?;
                    let host = format!("veth{}", &random_hex(4)[..7]);
                    self.net().nl.add_veth(&host, bridge, ifname, ns, mac).await.map_err(net_err)?;
                    // No IPv6 on the host end either: a bridge port needs no address.
                    let _ = net::link::sysctl(&format!("ipv6/conf/{host}/disable_ipv6"), "1");
                    ep.host_ifname = Some(host);
                }
                "macvlan" | "ipvlan" => {
                    let parent = self.net().nl.index(&n.ifname).await.map_err(net_err)?.ok_or_else(|| {
                        EngineError::Network(format!("parent interface {} of network {} not found", n.ifname, n.name))
                    })?;
                    let kind = sub_interface(n)?;
                    let mac = (n.driver == "macvlan").then_some(mac);
                    self.net()
                        .nl
                        .add_sub_interface(kind, ifname, parent, ns, mac)
                        .await
                        .map_err(|e| unsupported_kernel(e, &n.driver))?;
                }
                d => return Err(EngineError::InvalidArgument(format!("network driver {d} has no endpoints"))),
            }
            let gw = if primary && !n.internal { n.gateway } else { None };
            inner
                .configure(ifname, Ipv4Net::new(ip, subnet.prefix_len()).expect("valid prefix"), gw)
                .await
                .map_err(net_err)?;
            Ok::<_, EngineError>(())
        }
        .await;
        if let Err(e) = made {
            if let Some(h) = &ep.host_ifname {
                let _ = self.net().nl.delete(h).await;
            }
            if let Some(s) = self.net().state().ipam.get_mut(&n.id) {
                s.release(ip);
            }
            tracing::debug!(container = %c.id, network = %n.name, "endpoint failed: {e}");
            return Err(e);
        }
        Ok(ep)
    }

    /// Binds the host ports of a container (fixed, ranges, any; `-P`'s exposed ports).
    fn bind_ports(
        &self,
        c: &Container,
        bindings: &BTreeMap<String, Vec<crate::model::PortBinding>>,
        publish_all: bool,
    ) -> Result<(Vec<PublishedPort>, Vec<HostPort>), EngineError> {
        let mut wanted: Vec<(String, crate::model::PortBinding)> = Vec::new();
        for (k, bs) in bindings {
            for b in bs {
                wanted.push((k.clone(), b.clone()));
            }
        }
        if publish_all {
            for k in &c.config.exposed_ports {
                if !bindings.contains_key(k) {
                    wanted.push((k.clone(), crate::model::PortBinding::default()));
                }
            }
        }
        let mut ports = Vec::new();
        let mut held = Vec::new();
        for (key, b) in wanted {
            let (cport, proto) = net::ports::parse_container_port(&key).map_err(net_err)?;
            let ip = host_ip(&b.host_ip)?;
            let range = PortRange::parse(&b.host_port).map_err(net_err)?;
            let hp = net::ports::reserve(proto, ip, range).map_err(net_err)?;
            ports.push(PublishedPort { proto, host_ip: ip, host_port: hp.port, container_port: cport });
            held.push(hp);
        }
        Ok((ports, held))
    }

    /// The endpoints of `st` on networks with an embedded DNS server, with that server's
    /// address (the network's gateway).
    fn dns_endpoints<'a>(&self, st: &'a NetState) -> Vec<(&'a String, &'a Endpoint, Ipv4Addr)> {
        let s = self.net().state();
        st.endpoints
            .iter()
            .filter_map(|(name, ep)| {
                let n = s.networks.get(&ep.network_id).filter(|n| n.has_dns())?;
                Some((name, ep, n.gateway?))
            })
            .collect()
    }

    fn register_names(&self, c: &Container, st: &NetState) {
        let eps = self.dns_endpoints(st);
        let mut map = self.net().names.by_server.write().unpoisoned();
        for (name, ep, gw) in eps {
            let mut names = vec![c.name.clone(), c.id[..12].to_owned()];
            if c.config.hostname != c.id[..12] {
                names.push(c.config.hostname.clone());
            }
            names.extend(c.networks.get(name).map(|e| e.aliases.clone()).unwrap_or_default());
            map.entry(gw).or_default().push((names, ep.ip));
        }
    }

    /// A running container was renamed: its DNS names follow.
    pub(crate) fn net_rename(&self, c: &Container) {
        self.unregister_names(&c.state.network);
        self.register_names(c, &c.state.network);
    }

    fn unregister_names(&self, st: &NetState) {
        let eps = self.dns_endpoints(st);
        let mut map = self.net().names.by_server.write().unpoisoned();
        for (_, ep, gw) in eps {
            if let Some(v) = map.get_mut(&gw) {
                v.retain(|(_, ip)| *ip != ep.ip);
            }
        }
    }

    /// /etc/hosts with the container's own addresses, written in place (the file is
    /// bind-mounted: a new inode would not be seen by a running container).
    fn write_hosts(&self, c: &Container, st: &NetState) -> Result<(), EngineError> {
        let mut s = crate::create::hosts_file(&c.host_config.extra_hosts)?;
        for name in &st.order {
            if let Some(ep) = st.endpoints.get(name) {
                let mut names = vec![c.config.hostname.clone()];
                if !c.config.domainname.is_empty() {
                    names.insert(0, format!("{}.{}", c.config.hostname, c.config.domainname));
                }
                s.push_str(&format!("{}\t{}\n", ep.ip, names.join(" ")));
            }
        }
        let p = self.container_dir(&c.id).join("hosts");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .create(true)
            .open(&p)
            .map_err(|e| EngineError::io(format!("writing {}", p.display()), e))?;
        std::io::Write::write_all(&mut f, s.as_bytes())
            .map_err(|e| EngineError::io(format!("writing {}", p.display()), e))
    }

    /// Frees what a container's networking held: interfaces, addresses, host ports, rules,
    /// names. `whole`: the container's networking ends (it stopped, or its start failed), so
    /// its namespace is let go too; else only the endpoints of `st` go (`network disconnect`).
    ///
    /// The interfaces are deleted *before* the namespace is let go. Left to the kernel, a veth
    /// would be dismantled with the namespace, and that dismantling holds RTNL for tens of
    /// milliseconds, during which the next container's veth can't be made; deleted here it
    /// costs about 50 µs and the namespace that remains is as cheap to dismantle as an empty one.
    /// Addresses are handed out next-fit, so one freed here is not reused at once.
    pub(crate) async fn net_release(&self, id: &str, st: &NetState, whole: bool) {
        let ns = {
            let mut s = self.net().state();
            if whole { s.netns.remove(id) } else { s.netns.get(id).and_then(|f| f.try_clone().ok()) }
        };
        // In the background: the container's exit need not wait for the kernel.
        let in_ns = ns.is_some();
        let names: Vec<String> = st
            .endpoints
            .values()
            .filter_map(|ep| if in_ns { Some(ep.ifname.clone()) } else { ep.host_ifname.clone() })
            .collect();
        let id2 = id.to_owned();
        net::link::delete_in_background(ns, names, move |errors| {
            for (name, e) in errors {
                tracing::warn!(container = %id2, "deleting interface {name}: {e}");
            }
        });
        self.unregister_names(st);
        let had_rules = {
            let mut s = self.net().state();
            for ep in st.endpoints.values() {
                if let Some(sub) = s.ipam.get_mut(&ep.network_id) {
                    sub.release(ep.ip);
                }
            }
            // Host ports and their rules belong to the container, not to one endpoint.
            whole && {
                s.held.remove(id);
                s.rules.remove(id).is_some()
            }
        };
        if had_rules && let Err(e) = self.net().apply_firewall().await {
            tracing::error!(container = %id, "removing the firewall rules: {e}");
        }
    }

    /// Releases a stopped container's networking and clears it from its record.
    pub(crate) async fn net_teardown(&self, ctr: &Ctr) {
        let st = ctr.snapshot().state.network;
        if st == NetState::default() {
            return;
        }
        self.net_release(&ctr.id, &st, true).await;
        let _ = ctr.update(|c| c.state.network = NetState::default());
    }

    /// After a daemon restart: takes back the addresses, ports, names and rules of running
    /// containers, and rebuilds the firewall table once.
    pub(crate) async fn net_recover(&self, running: &[Arc<Ctr>]) {
        for ctr in running {
            let c = ctr.snapshot();
            let st = &c.state.network;
            {
                let mut s = self.net().state();
                for ep in st.endpoints.values() {
                    if let Some(sub) = s.ipam.get_mut(&ep.network_id) {
                        let _ = sub.reserve(ep.ip);
                    }
                }
            }
            let mut held = Vec::new();
            for p in &st.ports {
                match net::ports::reserve(p.proto, p.host_ip, PortRange { start: p.host_port, end: p.host_port }) {
                    Ok(h) => held.push(h),
                    Err(e) => tracing::warn!(container = %c.id, "taking back host port {}: {e}", p.host_port),
                }
            }
            if let Some(ip) = st.order.first().and_then(|n| st.endpoints.get(n)).map(|e| e.ip)
                && !st.ports.is_empty()
            {
                self.net().state().rules.insert(c.id.clone(), rules_for(&st.ports, ip));
            }
            self.net().state().held.insert(c.id.clone(), held);
            if !st.endpoints.is_empty()
                && let Ok(ns) = net::link::open_ns(&format!("/proc/{}/ns/net", c.state.pid))
            {
                self.net().state().netns.insert(c.id.clone(), ns);
            }
            self.register_names(&c, st);
        }
        if let Err(e) = self.net().apply_firewall().await {
            tracing::error!("rebuilding the firewall table: {e}");
        }
    }

    /// The daemon stops: when no container runs, berth's firewall table goes too (the next
    /// daemon makes it again). Running containers keep theirs, and their published ports.
    pub async fn shutdown(&self) {
        self.flush_records();
        let running = self.inner.containers.read().unpoisoned().values().any(|c| c.snapshot().is_running());
        if !running {
            let _g = self.net().firewall.lock().await;
            // route_localnet goes before the table whose input chain guards it.
            localnet(&self.net().ruleset(), false);
            let table = self.net().cfg.firewall_table.clone();
            if let Err(e) =
                tokio::task::spawn_blocking(move || net::firewall::delete_table(&table)).await.expect("nft task")
            {
                tracing::warn!("removing the firewall table: {e}");
            }
        }
    }

    /// `network create`.
    pub async fn network_create(&self, req: NetworkCreate) -> Result<Network, EngineError> {
        let driver = if req.driver.is_empty() { "bridge".to_owned() } else { req.driver.clone() };
        if req.name.is_empty() {
            return Err(EngineError::InvalidArgument("network name is required".into()));
        }
        if !req.name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            || !req.name.starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            return Err(EngineError::InvalidArgument(format!(
                "invalid network name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                req.name
            )));
        }
        if self.net().find(&req.name).is_ok_and(|n| n.name == req.name) {
            return Err(EngineError::Conflict(format!("network with name {} already exists", req.name)));
        }
        if !matches!(driver.as_str(), "bridge" | "macvlan" | "ipvlan") {
            return Err(EngineError::NotFound(format!(
                "plugin \"{driver}\" not found: berth's network drivers are bridge, macvlan and ipvlan"
            )));
        }
        let parse_net = |s: &Option<String>, what: &str| -> Result<Option<Ipv4Net>, EngineError> {
            s.as_deref()
                .map(|v| {
                    v.parse::<Ipv4Net>().map_err(|_| {
                        EngineError::InvalidArgument(if v.contains(':') {
                            format!("invalid {what} {v}: IPv6 is not supported by this berth version")
                        } else {
                            format!("invalid {what} {v}")
                        })
                    })
                })
                .transpose()
        };
        let subnet = parse_net(&req.subnet, "subnet")?;
        let ip_range = parse_net(&req.ip_range, "ip-range")?;
        let gateway = req
            .gateway
            .as_deref()
            .map(|g| {
                g.parse::<Ipv4Addr>().map_err(|_| EngineError::InvalidArgument(format!("invalid gateway address {g}")))
            })
            .transpose()?;
        let mut rec = self.net().record(&req.name, &driver);
        rec.internal = req.internal;
        rec.attachable = req.attachable;
        rec.labels = req.labels.clone();
        rec.options = req.options.clone();
        for (k, v) in &req.aux_addresses {
            let ip =
                v.parse().map_err(|_| EngineError::InvalidArgument(format!("invalid auxiliary address {k}={v}")))?;
            rec.aux_addresses.insert(k.clone(), ip);
        }
        let _lock = host_lock()?;
        if driver == "bridge" {
            rec.ifname = match rec.options.get("com.docker.network.bridge.name") {
                Some(n) => n.clone(),
                None => format!("br-{}", &rec.id[..12]),
            };
            net::ifname::check_bridge(&rec.ifname).map_err(net_err)?;
            rec.created_bridge = true;
        } else {
            let parent = rec.options.get("parent").cloned().unwrap_or_default();
            if parent.is_empty() {
                return Err(EngineError::InvalidArgument(format!(
                    "{driver} networks need a parent interface: -o parent=IFNAME"
                )));
            }
            net::ifname::check("parent interface", &parent).map_err(net_err)?;
            sub_interface(&rec)?;
            rec.ifname = parent;
        }
        let subnet = match subnet {
            Some(s) => {
                let s = Subnet::new(s, None, None).map_err(net_err)?.net;
                if driver == "bridge"
                    && let Some(t) = self.net().taken_subnets(None).into_iter().find(|t| net::ipam::overlaps(&s, t))
                {
                    return Err(EngineError::Conflict(format!(
                        "Pool overlaps with other one on this address space ({t})"
                    )));
                }
                s
            }
            None if driver == "bridge" => {
                net::ipam::free_subnet(&self.net().cfg.pools, &self.net().taken_subnets(None)).ok_or_else(|| {
                    EngineError::Conflict("all predefined address pools have been fully subnetted".into())
                })?
            }
            None => {
                return Err(EngineError::InvalidArgument(format!(
                    "{driver} networks need --subnet: the addresses of the parent's LAN"
                )));
            }
        };
        rec.subnet = Some(subnet);
        rec.gateway = Some(gateway.unwrap_or_else(|| first_host(subnet)));
        rec.ip_range = ip_range;
        // Validates gateway and range against the subnet.
        Subnet::new(subnet, rec.gateway, ip_range).map_err(net_err)?;
        if driver != "bridge" {
            self.ensure_parent(&mut rec).await?;
        } else if self.net().nl.index(&rec.ifname).await.map_err(net_err)?.is_some() {
            // Only a bridge made now: a name that exists on the host is refused, untouched
            // (the bridge is also made with NLM_F_EXCL below).
            return Err(net_err(net::link::bridge_name_taken(&rec.ifname)));
        }
        let record_file = self.net().dir.join(format!("{}.json", rec.id));
        let undo = async |rec: &Network| {
            let _ = std::fs::remove_file(&record_file);
            if rec.driver == "bridge" {
                {
                    let mut s = self.net().state();
                    s.dns.remove(&rec.id);
                    s.up.remove(&rec.id);
                }
                let _ = self.net().nl.delete(&rec.ifname).await;
            } else if rec.created_parent {
                let _ = self.net().nl.delete(&rec.ifname).await;
            }
        };
        // The record before the bridge: a daemon killed in between brings the bridge up at its
        // next start (the record says berth makes it); the other order would leave a bridge no
        // record names, which no one would ever delete.
        if let Err(e) = self.net().save(&rec) {
            if rec.created_parent {
                let _ = self.net().nl.delete(&rec.ifname).await;
            }
            return Err(e);
        }
        crate::failpoint("network:record-saved");
        if driver == "bridge"
            && let Err(e) = self.net().bring_up_bridge(&rec, Existing::Refuse).await
        {
            // What it made it removed itself; a name taken meanwhile stays untouched.
            let _ = std::fs::remove_file(&record_file);
            return Err(e);
        }
        self.net().state().networks.insert(rec.id.clone(), rec.clone());
        self.net().init_ipam(&rec)?;
        if rec.driver == "bridge"
            && let Err(e) = self.net().apply_firewall().await
        {
            self.net().state().networks.remove(&rec.id);
            undo(&rec).await;
            return Err(e);
        }
        self.publish_network(&rec, "create", None);
        Ok(rec)
    }

    /// A macvlan/ipvlan parent `eth0.10` is created as VLAN 10 of `eth0` when missing.
    async fn ensure_parent(&self, rec: &mut Network) -> Result<(), EngineError> {
        let nl = &self.net().nl;
        if nl.index(&rec.ifname).await.map_err(net_err)?.is_some() {
            return Ok(());
        }
        let Some((base, vid)) = rec.ifname.rsplit_once('.') else {
            return Err(EngineError::InvalidArgument(format!("parent interface {} not found", rec.ifname)));
        };
        let vid: u16 = vid
            .parse()
            .ok()
            .filter(|v| (1..=4094).contains(v))
            .ok_or_else(|| EngineError::InvalidArgument(format!("invalid VLAN id in parent {}", rec.ifname)))?;
        let base_idx = nl
            .index(base)
            .await
            .map_err(net_err)?
            .ok_or_else(|| EngineError::InvalidArgument(format!("parent interface {base} not found")))?;
        nl.add_vlan(&rec.ifname, base_idx, vid).await.map_err(|e| unsupported_kernel(e, "802.1q VLAN"))?;
        rec.created_parent = true;
        Ok(())
    }

    /// Networks with their running containers.
    pub fn networks(&self) -> Vec<NetworkView> {
        let nets: Vec<Network> = self.net().state().networks.values().cloned().collect();
        let ctrs = self.containers();
        nets.into_iter().map(|n| view(n, &ctrs)).collect()
    }

    /// A network's ID by name or ID (cheap: no container is looked at).
    pub fn network_id(&self, key: &str) -> Option<String> {
        self.net().find(key).ok().map(|n| n.id)
    }

    /// One network.
    pub fn network(&self, key: &str) -> Result<NetworkView, EngineError> {
        let n = self.net().find(key)?;
        Ok(view(n, &self.containers()))
    }

    /// `network rm`: refused while a container is connected.
    pub async fn network_remove(&self, key: &str) -> Result<(), EngineError> {
        let n = self.net().find(key)?;
        if n.is_predefined() {
            return Err(EngineError::Forbidden(format!("{} is a pre-defined network and cannot be removed", n.name)));
        }
        let users: Vec<String> = self
            .containers()
            .into_iter()
            .filter(|c| c.networks.contains_key(&n.name) || c.host_config.network_mode == n.name)
            .map(|c| c.name)
            .collect();
        if !users.is_empty() {
            return Err(EngineError::Forbidden(format!(
                "error while removing network: network {} has active endpoints (name:{:?})",
                n.name,
                users.join(",")
            )));
        }
        {
            let mut s = self.net().state();
            s.networks.remove(&n.id);
            s.ipam.remove(&n.id);
            s.dns.remove(&n.id);
            s.up.remove(&n.id);
        }
        // The link before the record: a daemon killed in between finds the network again (and
        // makes its bridge anew); the other order would leave a link no record names.
        // Only a link berth made: never a bridge it did not create.
        if (n.driver == "bridge" && n.created_bridge) || n.created_parent {
            self.net().nl.delete(&n.ifname).await.map_err(net_err)?;
        }
        crate::failpoint("network:link-deleted");
        let _ = std::fs::remove_file(self.net().dir.join(format!("{}.json", n.id)));
        if n.driver == "bridge" {
            self.net().apply_firewall().await?;
        }
        self.publish_network(&n, "destroy", None);
        Ok(())
    }

    /// `network prune`: removes unused user-defined networks; returns their names.
    pub async fn network_prune(&self, keep: impl Fn(&Network) -> bool) -> Result<Vec<String>, EngineError> {
        let mut out = Vec::new();
        for v in self.networks() {
            let n = v.network;
            if n.is_predefined() || keep(&n) {
                continue;
            }
            if self.network_remove(&n.id).await.is_ok() {
                out.push(n.name);
            }
        }
        Ok(out)
    }

    /// `network connect`: adds the network to the container's, and attaches it now if the
    /// container runs.
    pub async fn network_connect(&self, key: &str, container: &str, cfg: EndpointConfig) -> Result<(), EngineError> {
        let n = self.net().find(key)?;
        let ctr = self.lookup(container)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        if mode_network(&c.host_config.network_mode).is_none() {
            return Err(EngineError::Forbidden(format!(
                "container cannot be disconnected from host network or connected to host network: network mode {}",
                c.host_config.network_mode
            )));
        }
        if n.is_predefined() && n.name != "bridge" {
            return Err(EngineError::Forbidden(format!(
                "container cannot be disconnected from host network or connected to host network: {}",
                n.name
            )));
        }
        if c.networks.contains_key(&n.name) {
            return Err(EngineError::Forbidden(format!(
                "endpoint with name {} already exists in network {}",
                c.name, n.name
            )));
        }
        self.check_endpoint(&n, &cfg)?;
        if c.is_running() {
            let ns = net::link::open_ns(&format!("/proc/{}/ns/net", c.state.pid)).map_err(net_err)?;
            // Entering a namespace and opening a socket there takes a few microseconds.
            let inner = Netlink::in_namespace(ns.as_fd()).map_err(net_err)?;
            let ifname = format!("eth{}", c.state.network.endpoints.len());
            let mut c2 = c.clone();
            c2.networks.insert(n.name.clone(), cfg.clone());
            let ep = self.attach_endpoint(&c2, &n, &cfg, &ifname, ns.as_fd(), &inner, false).await?;
            let mut st = c.state.network.clone();
            st.endpoints.insert(n.name.clone(), ep.clone());
            st.order.push(n.name.clone());
            let one = NetState { endpoints: [(n.name.clone(), ep)].into(), order: vec![n.name.clone()], ports: vec![] };
            self.register_names(&c2, &one);
            self.write_hosts(&c2, &st)?;
            ctr.update(|c| {
                c.networks.insert(n.name.clone(), cfg);
                c.state.network = st;
            })?;
        } else {
            ctr.update(|c| {
                c.networks.insert(n.name.clone(), cfg);
            })?;
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("container".to_owned(), c.id.clone());
        self.publish_network(&n, "connect", Some(attrs));
        Ok(())
    }

    /// `network disconnect`.
    pub async fn network_disconnect(&self, key: &str, container: &str, _force: bool) -> Result<(), EngineError> {
        let n = self.net().find(key)?;
        let ctr = self.lookup(container)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        if !c.networks.contains_key(&n.name) {
            return Err(EngineError::Forbidden(format!("container {} is not connected to network {}", c.name, n.name)));
        }
        if let Some(ep) = c.state.network.endpoints.get(&n.name) {
            let one = NetState { endpoints: [(n.name.clone(), ep.clone())].into(), order: vec![], ports: vec![] };
            let primary = c.state.network.order.first() == Some(&n.name);
            let mut st = c.state.network.clone();
            st.endpoints.remove(&n.name);
            st.order.retain(|x| x != &n.name);
            if primary {
                // The published ports went to this address: they go with it.
                st.ports.clear();
                let mut s = self.net().state();
                s.held.remove(&c.id);
                s.rules.remove(&c.id);
            }
            self.net_release(&c.id, &one, false).await;
            self.net().apply_firewall().await?;
            self.write_hosts(&c, &st)?;
            ctr.update(|c| {
                c.networks.remove(&n.name);
                c.state.network = st;
            })?;
        } else {
            ctr.update(|c| {
                c.networks.remove(&n.name);
            })?;
        }
        if mode_network(&c.host_config.network_mode) == Some(n.name.as_str()) {
            // Its primary network is gone: as Docker, the container keeps the mode but has no
            // endpoint there until connected again.
            tracing::debug!(container = %c.id, "disconnected from its primary network");
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("container".to_owned(), c.id.clone());
        self.publish_network(&n, "disconnect", Some(attrs));
        Ok(())
    }

    /// berth's `port add`: publishes more ports; on a running container at once. The bindings
    /// are kept in its configuration, so they are there after a restart too.
    pub async fn port_add(
        &self,
        container: &str,
        bindings: BTreeMap<String, Vec<crate::model::PortBinding>>,
    ) -> Result<Vec<PublishedPort>, EngineError> {
        let ctr = self.lookup(container)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        if mode_network(&c.host_config.network_mode).is_none() {
            return Err(EngineError::InvalidArgument(format!(
                "ports can't be published with network mode {}",
                c.host_config.network_mode
            )));
        }
        for k in bindings.keys() {
            net::ports::parse_container_port(k).map_err(net_err)?;
        }
        if c.is_running() {
            let ip = c
                .state
                .network
                .order
                .first()
                .and_then(|n| c.state.network.endpoints.get(n))
                .map(|e| e.ip)
                .ok_or_else(|| EngineError::Conflict(format!("container {} has no network address", c.name)))?;
            let (ports, held) = self.bind_ports(&c, &bindings, false)?;
            {
                let mut s = self.net().state();
                s.held.entry(c.id.clone()).or_default().extend(held);
                s.rules.entry(c.id.clone()).or_default().extend(rules_for(&ports, ip));
            }
            if let Err(e) = self.net().apply_firewall().await {
                // Take back exactly what was added.
                let mut s = self.net().state();
                if let Some(h) = s.held.get_mut(&c.id) {
                    h.retain(|h| !ports.iter().any(|p| p.host_port == h.port && p.proto == h.proto));
                }
                if let Some(r) = s.rules.get_mut(&c.id) {
                    r.retain(|r| !ports.iter().any(|p| p.host_port == r.host_port && p.proto == r.proto));
                }
                return Err(e);
            }
            ctr.update(|c| {
                c.state.network.ports.extend(ports.iter().cloned());
                for (k, bs) in &bindings {
                    c.host_config.port_bindings.entry(k.clone()).or_default().extend(bs.iter().cloned());
                }
                for p in &ports {
                    let key = format!("{}/{}", p.container_port, p.proto.as_str());
                    if !c.config.exposed_ports.contains(&key) {
                        c.config.exposed_ports.push(key);
                    }
                }
            })?;
            Ok(ports)
        } else {
            ctr.update(|c| {
                for (k, bs) in &bindings {
                    c.host_config.port_bindings.entry(k.clone()).or_default().extend(bs.iter().cloned());
                }
            })?;
            Ok(Vec::new())
        }
    }

    /// berth's `port rm`: unpublishes host port `port` (`proto`, `host_ip` narrow it down).
    pub async fn port_remove(
        &self,
        container: &str,
        port: u16,
        proto: Proto,
        host_ip: Option<Ipv4Addr>,
    ) -> Result<(), EngineError> {
        let ctr = self.lookup(container)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        // The host port `port rm` names: `port`/`proto` on `ip` (0.0.0.0 for all addresses).
        let named = |p: u16, pr: Proto, ip: Ipv4Addr| p == port && pr == proto && host_ip.is_none_or(|h| h == ip);
        let matches = |p: &PublishedPort| named(p.host_port, p.proto, p.host_ip);
        let running = c.state.network.ports.iter().any(matches);
        let configured = c.host_config.port_bindings.iter().any(|(k, bs)| {
            k.ends_with(&format!("/{}", proto.as_str())) && bs.iter().any(|b| b.host_port == port.to_string())
        });
        if !running && !configured {
            return Err(EngineError::NotFound(format!(
                "No published port {port}/{} on container {}",
                proto.as_str(),
                c.name
            )));
        }
        if running {
            {
                let mut s = self.net().state();
                if let Some(h) = s.held.get_mut(&c.id) {
                    h.retain(|h| !named(h.port, h.proto, h.ip));
                }
                if let Some(r) = s.rules.get_mut(&c.id) {
                    r.retain(|r| !named(r.host_port, r.proto, r.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED)));
                }
            }
            self.net().apply_firewall().await?;
        }
        ctr.update(|c| {
            c.state.network.ports.retain(|p| !matches(p));
            for (k, bs) in c.host_config.port_bindings.iter_mut() {
                if k.ends_with(&format!("/{}", proto.as_str())) {
                    bs.retain(|b| {
                        !(b.host_port == port.to_string()
                            && host_ip.is_none_or(|ip| b.host_ip.is_empty() || b.host_ip == ip.to_string()))
                    });
                }
            }
            c.host_config.port_bindings.retain(|_, bs| !bs.is_empty());
        })?;
        Ok(())
    }

    fn publish_network(&self, n: &Network, action: &str, extra: Option<BTreeMap<String, String>>) {
        let mut attrs = extra.unwrap_or_default();
        attrs.insert("name".into(), n.name.clone());
        attrs.insert("type".into(), n.driver.clone());
        self.events().publish("network", action, &n.id, attrs);
    }
}

/// A network with the running containers of `ctrs` that have an endpoint on it.
fn view(network: Network, ctrs: &[Container]) -> NetworkView {
    let containers = ctrs
        .iter()
        .filter_map(|c| {
            let ep = c.state.network.endpoints.values().find(|e| e.network_id == network.id)?;
            Some((c.id.clone(), c.name.clone(), ep.clone()))
        })
        .collect();
    NetworkView { network, containers }
}

fn sub_interface(n: &Network) -> Result<SubInterface, EngineError> {
    use net::link::{IpVlanMode, MacVlanMode};
    Ok(match n.driver.as_str() {
        "macvlan" => {
            SubInterface::MacVlan(match n.options.get("macvlan_mode").map(String::as_str).unwrap_or("bridge") {
                "bridge" => MacVlanMode::Bridge,
                "private" => MacVlanMode::Private,
                "vepa" => MacVlanMode::Vepa,
                "passthru" => MacVlanMode::Passthrough,
                m => {
                    return Err(EngineError::InvalidArgument(format!(
                        "unknown macvlan mode {m}: bridge, private, vepa or passthru"
                    )));
                }
            })
        }
        _ => SubInterface::IpVlan(match n.options.get("ipvlan_mode").map(String::as_str).unwrap_or("l2") {
            "l2" => IpVlanMode::L2,
            "l3" => IpVlanMode::L3,
            "l3s" => IpVlanMode::L3S,
            m => return Err(EngineError::InvalidArgument(format!("unknown ipvlan mode {m}: l2, l3 or l3s"))),
        }),
    })
}

/// A link type the kernel lacks says so (these kernels are often built without ipvlan or
/// 802.1q, and can't load modules).
fn unsupported_kernel(e: net::NetError, what: &str) -> EngineError {
    match &e {
        net::NetError::Netlink { errno, .. } if *errno == libc::EOPNOTSUPP => EngineError::InvalidArgument(format!(
            "this kernel has no {what} support (built without it, or its module can't be loaded): {e}"
        )),
        _ => net_err(e),
    }
}

fn host_ip(s: &str) -> Result<Ipv4Addr, EngineError> {
    if s.is_empty() {
        return Ok(Ipv4Addr::UNSPECIFIED);
    }
    s.parse().map_err(|_| {
        EngineError::InvalidArgument(if s.contains(':') {
            format!("invalid host IP {s}: IPv6 port bindings are not supported by this berth version")
        } else {
            format!("invalid host IP: {s}")
        })
    })
}

fn rules_for(ports: &[PublishedPort], ip: Ipv4Addr) -> Vec<PortRule> {
    ports
        .iter()
        .map(|p| PortRule {
            proto: p.proto,
            host_ip: (!p.host_ip.is_unspecified()).then_some(p.host_ip),
            host_port: p.host_port,
            container_ip: ip,
            container_port: p.container_port,
        })
        .collect()
}
