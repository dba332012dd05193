//! Links, addresses and routes over rtnetlink, in the host's network namespace and in a
//! container's.
//!
//! A netlink socket works in the namespace it was created in, so a socket for a container's
//! namespace is made by a short-lived thread that enters that namespace (or creates it), opens
//! the socket and exits: the daemon's threads never change namespace.
//!
//! Every netlink socket is driven by one thread of its own ([`netlink_runtime`]): a request
//! that waits for the kernel's RTNL lock (held for tens of milliseconds while the kernel
//! dismantles a dead container's namespace) blocks in `sendto`, and must never do that on one
//! of the daemon's two API worker threads.
//!
//! A veth pair is made by one `RTM_NEWLINK` whose peer carries `IFLA_NET_NS_FD`: the container
//! end is born inside the container's namespace as `eth0` (no name clash in the host, no
//! separate move), and the host end is enslaved to the bridge and up in the same message.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use futures_util::TryStreamExt;
use ipnet::{IpNet, Ipv4Net};
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo};
pub use netlink_packet_route::link::{IpVlanMode, MacVlanMode};
use rtnetlink::{
    Handle, LinkBridge, LinkIpVlan, LinkMacVlan, LinkMessageBuilder, LinkUnspec, LinkVeth, LinkVlan,
    RouteMessageBuilder,
};

use crate::NetError;

/// A route-netlink connection bound to one network namespace.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: Handle,
}

fn nl_err(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> NetError {
    let what = what.into();
    move |e| NetError::Netlink { what, errno: errno_of(&e), message: e.to_string() }
}

/// The errno of a netlink error reply (positive), 0 for other errors.
fn errno_of(e: &rtnetlink::Error) -> i32 {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()).unwrap_or(0),
        _ => 0,
    }
}

/// The refusal of a user network's bridge name that a host interface already has.
pub fn bridge_name_taken(name: &str) -> NetError {
    NetError::Conflict(format!(
        "interface {name} already exists on the host: berth only uses a bridge it creates \
         (choose another com.docker.network.bridge.name)"
    ))
}

/// What [`Netlink::ensure_bridge`] does with a bridge name that is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse it: a user network's bridge is always one berth creates.
    Refuse,
    /// Use it if it is a bridge that carries no address, or only `ours`: the address this
    /// daemon's records say it put there (the default bridge after a daemon restart, or an
    /// admin-made bridge given with `-b`, as dockerd's).
    Adopt {
        /// This daemon's address on it from its last run, if its records have one.
        ours: Option<Ipv4Net>,
    },
}

/// Whether an existing link may carry `gateway` (`Ok(true)`: add it; `Ok(false)`: it has it).
///
/// Never a second address on a bridge that carries another: that is another daemon's bridge
/// (adding ours would break its routes and published ports), or this daemon's from a run with
/// other `-b`/`--bip` flags, and either way the admin must choose.
pub fn adopt(
    name: &str,
    is_bridge: bool,
    addresses: &[IpNet],
    gateway: Ipv4Net,
    ours: Option<Ipv4Net>,
) -> Result<bool, NetError> {
    if !is_bridge {
        return Err(NetError::Conflict(format!(
            "interface {name} already exists on the host and is not a bridge: berth won't use it"
        )));
    }
    match addresses {
        [] => Ok(true),
        [IpNet::V4(a)] if Some(*a) == ours && *a == gateway => Ok(false),
        _ => {
            let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            Err(NetError::Conflict(format!(
                "bridge {name} already carries {}, not this daemon's address: it is another daemon's \
                 bridge, or this daemon's from a run with other -b/--bip settings; berth won't add {gateway} \
                 to it (start with other -b/--bip flags, or remove the bridge or its addresses)",
                list.join(", ")
            )))
        }
    }
}

/// How a macvlan or ipvlan interface is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubInterface {
    /// macvlan in this mode.
    MacVlan(MacVlanMode),
    /// ipvlan in this mode.
    IpVlan(IpVlanMode),
}

/// The single-threaded runtime that drives every netlink connection, started on first use.
fn netlink_runtime() -> &'static tokio::runtime::Handle {
    static RT: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().expect("netlink runtime");
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name("netlink".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))
            .expect("netlink thread");
        handle
    })
}

/// A connection in the calling thread's network namespace, driven by the netlink thread.
fn connect() -> Result<Netlink, NetError> {
    let rt = netlink_runtime();
    let _g = rt.enter();
    let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| NetError::io("opening a netlink socket", e))?;
    rt.spawn(conn);
    Ok(Netlink { handle })
}

impl Netlink {
    /// A connection in the calling thread's namespace (the daemon's: the host's).
    pub fn host() -> Result<Netlink, NetError> {
        connect()
    }

    /// A new network namespace, and a connection inside it. The namespace lives as long as the
    /// returned descriptor (or a process in it).
    pub fn new_namespace() -> Result<(OwnedFd, Netlink), NetError> {
        Self::in_thread(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| NetError::io("creating a network namespace", e.into()))?;
            // IPv4 only (as Docker on a network without IPv6): interfaces made from now on in
            // this namespace get no IPv6 (no link-local address, DAD or MLD), which also makes
            // the kernel's teardown of the namespace much cheaper. `lo` keeps ::1. /proc/sys/net
            // is the namespace of the thread that opens it: this one.
            let _ = std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
            open_ns("/proc/thread-self/ns/net")
        })
    }

    /// A connection inside the namespace of `ns` (a `/proc/PID/ns/net` descriptor).
    pub fn in_namespace(ns: BorrowedFd<'_>) -> Result<Netlink, NetError> {
        let raw = ns.as_raw_fd();
        Self::in_thread(move || {
            // SAFETY: `raw` stays open: the caller's borrow outlives this call, which joins the
            // thread before returning.
            let fd = unsafe { BorrowedFd::borrow_raw(raw) };
            nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| NetError::io("entering a network namespace", e.into()))?;
            Ok(())
        })
        .map(|((), nl)| nl)
    }

    /// Runs `enter` in a new thread, opens a netlink socket there, and ends the thread.
    fn in_thread<T: Send + 'static>(
        enter: impl FnOnce() -> Result<T, NetError> + Send,
    ) -> Result<(T, Netlink), NetError> {
        std::thread::scope(|s| {
            s.spawn(move || {
                let t = enter()?;
                Ok((t, connect()?))
            })
            .join()
            .unwrap_or_else(|_| Err(NetError::io("netlink thread", std::io::Error::other("panicked"))))
        })
    }

    /// The index of link `name`, `None` when there is none.
    pub async fn index(&self, name: &str) -> Result<Option<u32>, NetError> {
        let mut s = self.handle.link().get().match_name(name.to_owned()).execute();
        match s.try_next().await {
            Ok(m) => Ok(m.map(|m| m.header.index)),
            Err(e) if errno_of(&e) == libc::ENODEV => Ok(None),
            Err(e) => Err(nl_err(format!("looking up link {name}"))(e)),
        }
    }

    /// Makes bridge `name` carry `gateway` and be up; returns whether it was created now.
    ///
    /// The bridge is created with `NLM_F_EXCL`, so a link of that name that exists (or appears
    /// meanwhile) is never taken for one berth made. What happens then is `existing`'s call.
    pub async fn ensure_bridge(&self, name: &str, gateway: Ipv4Net, existing: Existing) -> Result<bool, NetError> {
        let created = match self.handle.link().add(LinkBridge::new(name).build()).execute().await {
            Ok(()) => true,
            Err(e) if errno_of(&e) == libc::EEXIST => false,
            Err(e) => return Err(nl_err(format!("creating bridge {name}"))(e)),
        };
        if created {
            let made = async {
                let index = self.index(name).await?.ok_or_else(|| NetError::Gone(name.to_owned()))?;
                self.add_address(index, gateway).await?;
                self.up(index).await
            };
            if let Err(e) = made.await {
                let _ = self.delete(name).await;
                return Err(e);
            }
        } else {
            let Existing::Adopt { ours } = existing else {
                return Err(bridge_name_taken(name));
            };
            let index = self.index(name).await?.ok_or_else(|| NetError::Gone(name.to_owned()))?;
            let is_bridge = self.kind(index).await?.is_some_and(|k| k == InfoKind::Bridge);
            let addresses = self.addresses(index).await?;
            if adopt(name, is_bridge, &addresses, gateway, ours)? {
                self.add_address(index, gateway).await?;
            }
            self.up(index).await?;
        }
        Ok(created)
    }

    /// The kind of link `index` (`bridge`, `veth`...), `None` for a plain device.
    async fn kind(&self, index: u32) -> Result<Option<InfoKind>, NetError> {
        let what = || format!("looking up link {index}");
        let mut s = self.handle.link().get().match_index(index).execute();
        let m = s.try_next().await.map_err(nl_err(what()))?.ok_or_else(|| NetError::Gone(index.to_string()))?;
        Ok(m.attributes.into_iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.into_iter().find_map(|i| match i {
                LinkInfo::Kind(k) => Some(k),
                _ => None,
            }),
            _ => None,
        }))
    }

    /// The addresses of link `index` but IPv6 link-local ones (every link that is up gets one).
    pub async fn addresses(&self, index: u32) -> Result<Vec<IpNet>, NetError> {
        let mut s = self.handle.address().get().set_link_index_filter(index).execute();
        let mut out = Vec::new();
        while let Some(m) = s.try_next().await.map_err(nl_err(format!("listing the addresses of link {index}")))? {
            let plen = m.header.prefix_len;
            let addr = m.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            });
            let addr = addr.or_else(|| {
                m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })
            });
            match addr {
                Some(IpAddr::V6(a)) if a.segments()[0] & 0xffc0 == 0xfe80 => {}
                Some(a) => out.extend(IpNet::new(a, plen).ok()),
                None => {}
            }
        }
        Ok(out)
    }

    /// Adds an address (already present is fine).
    pub async fn add_address(&self, index: u32, addr: Ipv4Net) -> Result<(), NetError> {
        match self.handle.address().add(index, IpAddr::V4(addr.addr()), addr.prefix_len()).execute().await {
            Ok(()) => Ok(()),
            Err(e) if errno_of(&e) == libc::EEXIST => Ok(()),
            Err(e) => Err(nl_err(format!("adding address {addr}"))(e)),
        }
    }

    /// Sets a link up.
    pub async fn up(&self, index: u32) -> Result<(), NetError> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(nl_err(format!("setting link {index} up")))
    }

    /// Creates a veth pair: `host` enslaved to bridge `bridge` and up, its peer `peer` with MAC
    /// `mac` inside the namespace `ns`.
    pub async fn add_veth(
        &self,
        host: &str,
        bridge: u32,
        peer: &str,
        ns: BorrowedFd<'_>,
        mac: [u8; 6],
    ) -> Result<(), NetError> {
        let peer_msg = LinkMessageBuilder::<LinkUnspec>::new()
            .name(peer.to_owned())
            .address(mac.to_vec())
            .setns_by_fd(ns.as_raw_fd())
            .build();
        let msg = LinkVeth::new(host, peer)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_msg)))
            .controller(bridge)
            .up()
            .build();
        self.handle.link().add(msg).execute().await.map_err(nl_err(format!("creating veth pair {host}")))
    }

    /// Creates a macvlan or ipvlan interface `name` on `parent`, inside the namespace `ns`.
    pub async fn add_sub_interface(
        &self,
        kind: SubInterface,
        name: &str,
        parent: u32,
        ns: BorrowedFd<'_>,
        mac: Option<[u8; 6]>,
    ) -> Result<(), NetError> {
        let msg = match kind {
            SubInterface::MacVlan(mode) => {
                let b = LinkMacVlan::new(name, parent, mode).setns_by_fd(ns.as_raw_fd());
                match mac {
                    Some(m) => b.address(m.to_vec()).build(),
                    None => b.build(),
                }
            }
            SubInterface::IpVlan(mode) => LinkIpVlan::new(name, parent, mode).setns_by_fd(ns.as_raw_fd()).build(),
        };
        self.handle.link().add(msg).execute().await.map_err(nl_err(format!("creating {name} on link {parent}")))
    }

    /// Creates the 802.1q interface `name` (`eth0.10`) on `parent` with VLAN `id`, up.
    pub async fn add_vlan(&self, name: &str, parent: u32, id: u16) -> Result<u32, NetError> {
        self.handle
            .link()
            .add(LinkVlan::new(name, parent, id).up().build())
            .execute()
            .await
            .map_err(nl_err(format!("creating VLAN interface {name}")))?;
        self.index(name).await?.ok_or_else(|| NetError::Gone(name.to_owned()))
    }

    /// Deletes link `name`; a missing one is not an error.
    pub async fn delete(&self, name: &str) -> Result<(), NetError> {
        let msg = LinkUnspec::new_with_name(name).build();
        match self.handle.link().del_with_message(msg).execute().await {
            Ok(()) => Ok(()),
            Err(e) if errno_of(&e) == libc::ENODEV => Ok(()),
            Err(e) => Err(nl_err(format!("deleting link {name}"))(e)),
        }
    }

    /// Inside a container's namespace: `lo` up; `ifname` gets `addr`, goes up, and when
    /// `gateway` is given the default route goes through it.
    pub async fn configure(&self, ifname: &str, addr: Ipv4Net, gateway: Option<Ipv4Addr>) -> Result<u32, NetError> {
        if let Some(lo) = self.index("lo").await? {
            self.up(lo).await?;
        }
        let index = self.index(ifname).await?.ok_or_else(|| NetError::Gone(ifname.to_owned()))?;
        self.add_address(index, addr).await?;
        self.up(index).await?;
        if let Some(gw) = gateway {
            let route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw).output_interface(index).build();
            match self.handle.route().add(route).execute().await {
                Ok(()) => {}
                // A default route exists already (a second network): the first one keeps it.
                Err(e) if errno_of(&e) == libc::EEXIST => {}
                Err(e) => return Err(nl_err(format!("adding the default route via {gw}"))(e)),
            }
        }
        Ok(index)
    }
}

/// Deletes links in a thread of its own, inside `ns` when given (else in the caller's
/// namespace, the host's), then lets `ns` go; `done` gets each failure.
///
/// A deletion returns only after an RCU barrier (a grace period: 10–30 ms on busy VMs), and a
/// netlink request is processed inside the requester's `sendto`: on the shared netlink thread
/// it would hold up every other request (the next container's veth) for that long.
pub fn delete_in_background(
    ns: Option<OwnedFd>,
    names: Vec<String>,
    done: impl FnOnce(Vec<(String, NetError)>) + Send + 'static,
) {
    let spawned = std::thread::Builder::new().name("netlink-delete".into()).spawn(move || {
        let mut errors = Vec::new();
        if let Some(ns) = &ns
            && let Err(e) = nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
        {
            done(vec![(String::new(), NetError::io("entering a network namespace", e.into()))]);
            return;
        }
        let rt = match tokio::runtime::Builder::new_current_thread().enable_io().build() {
            Ok(rt) => rt,
            Err(e) => return done(vec![(String::new(), NetError::io("netlink runtime", e))]),
        };
        rt.block_on(async {
            let (conn, handle, _) = match rtnetlink::new_connection() {
                Ok(c) => c,
                Err(e) => return errors.push((String::new(), NetError::io("opening a netlink socket", e))),
            };
            tokio::spawn(conn);
            let nl = Netlink { handle };
            for n in names {
                if let Err(e) = nl.delete(&n).await {
                    errors.push((n, e));
                }
            }
        });
        // The namespace goes with this thread: it held it since setns.
        drop(ns);
        done(errors);
    });
    if let Err(e) = spawned {
        tracing::warn!("starting a thread to delete links: {e}");
    }
}

/// Opens a namespace file.
pub fn open_ns(path: &str) -> Result<OwnedFd, NetError> {
    std::fs::File::open(path).map(OwnedFd::from).map_err(|e| NetError::io(format!("opening {path}"), e))
}

/// Docker's MAC for an address: `02:42` and the four bytes of the IPv4 address.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(m: &[u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff` (a unicast address).
pub fn parse_mac(s: &str) -> Result<[u8; 6], NetError> {
    let bad = || NetError::Invalid(format!("invalid MAC address: {s}"));
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut m = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.len() != 2 {
            return Err(bad());
        }
        m[i] = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if m[0] & 1 == 1 {
        return Err(NetError::Invalid(format!("invalid MAC address: {s} is a multicast address")));
    }
    Ok(m)
}

/// Writes a sysctl under `/proc/sys/net/...`, as `ipv4/ip_forward`.
pub fn sysctl(key: &str, value: &str) -> Result<(), NetError> {
    let path = format!("/proc/sys/net/{key}");
    if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    std::fs::write(&path, value).map_err(|e| NetError::io(format!("writing {path}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridge_is_adopted_only_bare_or_with_our_own_address() {
        let gw: Ipv4Net = "172.18.0.1/16".parse().unwrap();
        let other: IpNet = "172.17.0.1/16".parse().unwrap();
        // Bare (an admin's, as dockerd's -b): our address goes on it.
        assert!(adopt("b", true, &[], gw, None).unwrap());
        // Ours from the last run: nothing to add.
        assert!(!adopt("b", true, &[IpNet::V4(gw)], gw, Some(gw)).unwrap());
        // The same address but no record of it: another daemon's with the same --bip.
        assert!(adopt("b", true, &[IpNet::V4(gw)], gw, None).is_err());
        // Another daemon's, or ours with other flags: refused, named.
        let e = adopt("b", true, &[other], gw, Some(gw)).unwrap_err().to_string();
        assert!(e.contains("bridge b already carries 172.17.0.1/16") && e.contains("won't add 172.18.0.1/16"), "{e}");
        let old: Ipv4Net = "10.1.0.1/24".parse().unwrap();
        assert!(adopt("b", true, &[IpNet::V4(old)], gw, Some(old)).is_err(), "--bip changed");
        assert!(adopt("b", true, &[IpNet::V4(gw), other], gw, Some(gw)).is_err());
        // Not a bridge (a host's NIC, a dummy).
        let e = adopt("eth0", false, &[], gw, None).unwrap_err().to_string();
        assert!(e.contains("not a bridge"), "{e}");
    }

    #[test]
    fn macs() {
        assert_eq!(format_mac(&mac_for(Ipv4Addr::new(172, 17, 0, 2))), "02:42:ac:11:00:02");
        assert_eq!(parse_mac("02:42:AC:11:00:02").unwrap(), mac_for(Ipv4Addr::new(172, 17, 0, 2)));
        assert!(parse_mac("02:42:ac:11:00").is_err());
        assert!(parse_mac("02:42:ac:11:00:zz").is_err());
        assert!(parse_mac("01:00:5e:00:00:01").unwrap_err().to_string().contains("multicast"));
    }
}
