//! Address management: subnets for networks from a pool, addresses for endpoints in a subnet.
//!
//! As Docker: the default bridge takes 172.17.0.0/16 unless that overlaps a host route or
//! another network; then, like every user-defined network without `--subnet`, it takes the
//! first free subnet of the pools 172.17–31.0.0/16, then 192.168.0.0/16 split into /20s.
//!
//! Addresses are handed out next-fit (after the last one given, wrapping), so a released
//! address is not reused at once: a peer's ARP cache may still point at the old owner. The
//! allocator keeps no file of its own: the engine rebuilds it from the containers' records
//! when it starts ([`Subnet::reserve`]).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::NetError;

/// An address pool: subnets of `size` bits carved from `base` (`--default-address-pool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    /// The range.
    pub base: Ipv4Net,
    /// Prefix length of each subnet.
    pub size: u8,
}

impl Pool {
    /// Docker's default pools: 172.17.0.0/16 to 172.31.0.0/16, then 192.168.0.0/16 in /20s.
    pub fn defaults() -> Vec<Pool> {
        let mut v: Vec<Pool> = (17..=31)
            .map(|b| Pool { base: Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16).expect("valid"), size: 16 })
            .collect();
        v.push(Pool { base: "192.168.0.0/16".parse().expect("valid"), size: 20 });
        v
    }

    /// Parses `base=10.10.0.0/16,size=24`.
    pub fn parse(s: &str) -> Result<Pool, NetError> {
        let mut base = None;
        let mut size = None;
        for kv in s.split(',') {
            match kv.split_once('=') {
                Some(("base", v)) => {
                    base = Some(
                        v.parse::<Ipv4Net>()
                            .map_err(|_| NetError::Invalid(format!("invalid address pool base {v:?}")))?
                            .trunc(),
                    )
                }
                Some(("size", v)) => {
                    size = Some(v.parse::<u8>().map_err(|_| NetError::Invalid(format!("invalid pool size {v:?}")))?)
                }
                _ => return Err(NetError::Invalid(format!("invalid address pool {s:?}: want base=CIDR,size=N"))),
            }
        }
        let (Some(base), Some(size)) = (base, size) else {
            return Err(NetError::Invalid(format!("invalid address pool {s:?}: want base=CIDR,size=N")));
        };
        if size < base.prefix_len() || size > 30 {
            return Err(NetError::Invalid(format!(
                "invalid address pool {s:?}: size must be between {} and 30",
                base.prefix_len()
            )));
        }
        Ok(Pool { base, size })
    }
}

/// The first subnet of `pools` that overlaps none of `taken`.
pub fn free_subnet(pools: &[Pool], taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    pools
        .iter()
        .flat_map(|p| p.base.subnets(p.size).into_iter().flatten())
        .find(|s| !taken.iter().any(|t| overlaps(s, t)))
}

/// Whether two subnets share an address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The IPv4 routes of the host's main table (`/proc/net/route`) with their interface, except
/// default routes.
pub fn host_routes() -> Vec<(String, Ipv4Net)> {
    let Ok(text) = std::fs::read_to_string("/proc/net/route") else { return Vec::new() };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dst = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            if mask == 0 {
                return None;
            }
            // The file prints the kernel's little-endian words.
            let dst = Ipv4Addr::from(u32::from_be(dst.to_le()));
            let prefix = u32::from_be(mask.to_le()).leading_ones() as u8;
            Some(((*f.first()?).to_owned(), Ipv4Net::new(dst, prefix).ok()?))
        })
        .collect()
}

/// One network's addresses: which are handed out.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// The subnet.
    pub net: Ipv4Net,
    /// The gateway (the bridge's address), never handed out.
    pub gateway: Option<Ipv4Addr>,
    /// Where dynamic addresses come from (`--ip-range`), within `net`.
    pub range: Ipv4Net,
    used: BTreeSet<Ipv4Addr>,
    last: Option<Ipv4Addr>,
}

impl Subnet {
    /// A subnet with nothing handed out; `range` defaults to the whole subnet.
    pub fn new(net: Ipv4Net, gateway: Option<Ipv4Addr>, range: Option<Ipv4Net>) -> Result<Subnet, NetError> {
        if net.prefix_len() > 30 {
            return Err(NetError::Invalid(format!("subnet {net} is too small: at most /30")));
        }
        if net.network() != net.addr() {
            return Err(NetError::Invalid(format!(
                "invalid subnet {net}: it has host bits set (did you mean {}?)",
                net.trunc()
            )));
        }
        if let Some(g) = gateway
            && !net.contains(&g)
        {
            return Err(NetError::Invalid(format!("gateway {g} is not in subnet {net}")));
        }
        let range = range.unwrap_or(net);
        if !net.contains(&range.network()) || range.prefix_len() < net.prefix_len() {
            return Err(NetError::Invalid(format!("ip-range {range} is not within subnet {net}")));
        }
        Ok(Subnet { net, gateway, range, used: BTreeSet::new(), last: None })
    }

    fn assignable(&self, ip: Ipv4Addr) -> bool {
        ip != self.net.network() && ip != self.net.broadcast() && Some(ip) != self.gateway
    }

    /// Marks `ip` as handed out (a static `--ip`, or one found in a record at start-up).
    pub fn reserve(&mut self, ip: Ipv4Addr) -> Result<(), NetError> {
        if !self.net.contains(&ip) {
            return Err(NetError::Invalid(format!("address {ip} is not in subnet {}", self.net)));
        }
        if !self.assignable(ip) {
            return Err(NetError::Invalid(format!(
                "address {ip} is the subnet's network, broadcast or gateway address"
            )));
        }
        if !self.used.insert(ip) {
            return Err(NetError::Conflict(format!("Address already in use: {ip}")));
        }
        Ok(())
    }

    /// Hands out the next free address of the range.
    pub fn allocate(&mut self) -> Result<Ipv4Addr, NetError> {
        let first = u32::from(self.range.network());
        let last = u32::from(self.range.broadcast());
        let n = u64::from(last - first) + 1;
        let start =
            self.last.map(|l| u32::from(l).wrapping_add(1)).filter(|s| (first..=last).contains(s)).unwrap_or(first);
        for i in 0..n {
            let cand = first + ((u64::from(start - first) + i) % n) as u32;
            let ip = Ipv4Addr::from(cand);
            if self.assignable(ip) && !self.used.contains(&ip) {
                self.used.insert(ip);
                self.last = Some(ip);
                return Ok(ip);
            }
        }
        Err(NetError::Exhausted(format!("no available IPv4 addresses on this network's address pools: {}", self.range)))
    }

    /// Returns an address.
    pub fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&ip);
    }

    /// Whether `ip` is handed out.
    pub fn is_used(&self, ip: Ipv4Addr) -> bool {
        self.used.contains(&ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn pools_skip_taken_subnets() {
        let pools = Pool::defaults();
        assert_eq!(free_subnet(&pools, &[]), Some(net("172.17.0.0/16")));
        assert_eq!(free_subnet(&pools, &[net("172.17.0.0/16")]), Some(net("172.18.0.0/16")));
        // A host route inside a pool subnet takes the whole subnet.
        assert_eq!(free_subnet(&pools, &[net("172.17.5.0/24"), net("172.18.0.0/16")]), Some(net("172.19.0.0/16")));
        let all172: Vec<Ipv4Net> = (16..32).map(|b| net(&format!("172.{b}.0.0/16"))).collect();
        assert_eq!(free_subnet(&pools, &all172), Some(net("192.168.0.0/20")));
        // A default-less /8 covering everything leaves nothing.
        assert_eq!(free_subnet(&pools, &[net("172.0.0.0/8"), net("192.0.0.0/8")]), None);
    }

    #[test]
    fn pool_parsing() {
        assert_eq!(Pool::parse("base=10.10.0.0/16,size=24").unwrap(), Pool { base: net("10.10.0.0/16"), size: 24 });
        assert!(Pool::parse("base=10.10.0.0/16").is_err());
        assert!(Pool::parse("base=10.10.0.0/16,size=8").is_err());
        assert!(Pool::parse("base=nonsense,size=24").is_err());
    }

    #[test]
    fn allocation_is_next_fit_and_never_doubles() {
        let mut s = Subnet::new(net("10.0.0.0/29"), Some("10.0.0.1".parse().unwrap()), None).unwrap();
        let a: Vec<Ipv4Addr> = (0..5).map(|_| s.allocate().unwrap()).collect();
        assert_eq!(
            a.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
            ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
        );
        assert!(s.allocate().is_err());
        s.release("10.0.0.3".parse().unwrap());
        s.release("10.0.0.5".parse().unwrap());
        // Next-fit: after .6, wrapping, the first free is .3.
        assert_eq!(s.allocate().unwrap().to_string(), "10.0.0.3");
        assert_eq!(s.allocate().unwrap().to_string(), "10.0.0.5");
        assert!(s.reserve("10.0.0.3".parse().unwrap()).unwrap_err().to_string().contains("in use"));
        assert!(s.reserve("10.0.0.1".parse().unwrap()).is_err());
        assert!(s.reserve("10.0.1.1".parse().unwrap()).is_err());
    }

    #[test]
    fn ip_range_and_validation() {
        let mut s =
            Subnet::new(net("10.1.0.0/16"), Some("10.1.0.1".parse().unwrap()), Some(net("10.1.5.0/24"))).unwrap();
        assert_eq!(s.allocate().unwrap().to_string(), "10.1.5.0");
        assert!(Subnet::new(net("10.1.0.0/16"), Some("10.2.0.1".parse().unwrap()), None).is_err());
        assert!(Subnet::new(net("10.1.0.0/16"), None, Some(net("10.2.0.0/24"))).is_err());
        assert!(Subnet::new(net("10.1.0.5/16"), None, None).unwrap_err().to_string().contains("10.1.0.0/16"));
    }

    #[test]
    fn routes_file_parses() {
        // Whatever the host has, parsing must not panic and yields valid prefixes.
        for (dev, r) in host_routes() {
            assert!(r.prefix_len() <= 32 && !dev.is_empty());
        }
    }
}
