//! berth's firewall: one nftables table of its own (`ip berth`), never a rule in anyone else's.
//!
//! The whole table is generated from the engine's state ([`Ruleset`]) and replaced in one
//! `nft -f -` transaction (`table` + `delete table` + the new table): a change is atomic, a
//! daemon restart rebuilds it with no duplicates, and when nothing needs it the table is
//! deleted. One `nft` call costs about 3 ms, and only network changes and containers that
//! publish ports pay it; a plain `run` on a bridge doesn't touch the firewall.
//!
//! Why nft's own language rather than the `nftables` crate's typed JSON: the ruleset is a
//! dozen lines of text that read like `nft list table`, and the typed schema would be several
//! times the code for the same `nft` invocation (the binary is needed either way).
//!
//! Published ports are DNAT in the kernel, no proxy process: `prerouting` for traffic from
//! other hosts and containers, `output` for the host's own (`127.0.0.1:PORT` works with
//! `route_localnet` on the bridge and loopback sources rewritten to the bridge's address). A
//! container reaching a published port of its own network through the host gets the same
//! source rewrite (hairpin), so the replies come back the way the requests went.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;

use crate::NetError;

/// A bridge network's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeRules {
    /// The bridge interface.
    pub ifname: String,
    /// Its subnet.
    pub subnet: Ipv4Net,
    /// Its address (the gateway): the source of loopback and hairpin traffic DNAT'ed to it.
    pub gateway: Ipv4Addr,
    /// No traffic in or out of the bridge but between its own members (`--internal`).
    pub internal: bool,
}

/// Transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Proto {
    /// `tcp`, `udp`, `sctp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }

    /// Parses `tcp`, `udp`, `sctp` (any case).
    pub fn parse(s: &str) -> Result<Proto, NetError> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" | "" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "sctp" => Ok(Proto::Sctp),
            _ => Err(NetError::Invalid(format!("invalid proto: {s}"))),
        }
    }
}

/// A published port: traffic to `host_ip:host_port` goes to `container_ip:container_port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRule {
    /// Protocol.
    pub proto: Proto,
    /// Only this host address; `None`: all of the host's addresses.
    pub host_ip: Option<Ipv4Addr>,
    /// Host port.
    pub host_port: u16,
    /// The container's address.
    pub container_ip: Ipv4Addr,
    /// The container's port.
    pub container_port: u16,
}

/// Everything the table holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    /// Bridge networks.
    pub bridges: Vec<BridgeRules>,
    /// Published ports.
    pub ports: Vec<PortRule>,
}

impl Ruleset {
    /// The table's body in nft syntax; `None` when the table isn't needed.
    pub fn render(&self, table: &str) -> Option<String> {
        if self.bridges.is_empty() && self.ports.is_empty() {
            return None;
        }
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(w, "table ip {table} {{");
        let _ = writeln!(w, "  chain publish {{");
        for p in &self.ports {
            let daddr = p.host_ip.map(|ip| format!("ip daddr {ip} ")).unwrap_or_default();
            let _ = writeln!(
                w,
                "    {daddr}{proto} dport {hp} dnat to {cip}:{cp}",
                proto = p.proto.as_str(),
                hp = p.host_port,
                cip = p.container_ip,
                cp = p.container_port
            );
        }
        let _ = writeln!(w, "  }}");
        let _ = writeln!(w, "  chain prerouting {{");
        let _ = writeln!(w, "    type nat hook prerouting priority -100; policy accept;");
        let _ = writeln!(w, "    fib daddr type local jump publish");
        let _ = writeln!(w, "  }}");
        let _ = writeln!(w, "  chain output {{");
        let _ = writeln!(w, "    type nat hook output priority -100; policy accept;");
        let _ = writeln!(w, "    fib daddr type local jump publish");
        let _ = writeln!(w, "  }}");
        let _ = writeln!(w, "  chain postrouting {{");
        let _ = writeln!(w, "    type nat hook postrouting priority 100; policy accept;");
        for b in &self.bridges {
            let (i, n, g) = (&b.ifname, &b.subnet, &b.gateway);
            // A fixed source (no route lookup as masquerade does) for what went through DNAT.
            let _ = writeln!(w, "    oifname \"{i}\" ip saddr 127.0.0.0/8 snat to {g}");
            let _ = writeln!(w, "    oifname \"{i}\" ip saddr {n} ct status dnat snat to {g}");
            if !b.internal {
                let _ = writeln!(w, "    ip saddr {n} oifname != \"{i}\" masquerade");
            }
        }
        let _ = writeln!(w, "  }}");
        let _ = writeln!(w, "  chain forward {{");
        let _ = writeln!(w, "    type filter hook forward priority 0; policy accept;");
        for b in &self.bridges {
            let i = &b.ifname;
            if b.internal {
                let _ = writeln!(w, "    iifname \"{i}\" oifname != \"{i}\" drop");
                let _ = writeln!(w, "    oifname \"{i}\" iifname != \"{i}\" drop");
            }
            // Networks are isolated from each other, as Docker's DOCKER-ISOLATION chains.
            for o in self.bridges.iter().filter(|o| o.ifname != b.ifname) {
                let _ = writeln!(w, "    iifname \"{i}\" oifname \"{}\" drop", o.ifname);
            }
        }
        let _ = writeln!(w, "  }}");
        let _ = writeln!(w, "}}");
        Some(s)
    }

    /// Replaces table `table` with this ruleset (or deletes it when it isn't needed).
    pub fn apply(&self, table: &str) -> Result<(), NetError> {
        let mut script = format!("table ip {table}\ndelete table ip {table}\n");
        if let Some(body) = self.render(table) {
            script.push_str(&body);
        }
        nft(&script)
    }
}

/// Deletes table `table` if it exists.
pub fn delete_table(table: &str) -> Result<(), NetError> {
    nft(&format!("table ip {table}\ndelete table ip {table}\n"))
}

fn nft(script: &str) -> Result<(), NetError> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetError::io("running nft (is the nftables package installed?)", e))?;
    child.stdin.take().expect("piped").write_all(script.as_bytes()).map_err(|e| NetError::io("writing to nft", e))?;
    let out = child.wait_with_output().map_err(|e| NetError::io("running nft", e))?;
    if !out.status.success() {
        return Err(NetError::Firewall(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_ruleset_has_no_table() {
        assert_eq!(Ruleset::default().render("berth"), None);
    }

    #[test]
    fn rules_for_bridges_and_ports() {
        let r = Ruleset {
            bridges: vec![
                BridgeRules {
                    ifname: "berth0".into(),
                    subnet: "172.17.0.0/16".parse().unwrap(),
                    gateway: "172.17.0.1".parse().unwrap(),
                    internal: false,
                },
                BridgeRules {
                    ifname: "br-1".into(),
                    subnet: "172.18.0.0/16".parse().unwrap(),
                    gateway: "172.18.0.1".parse().unwrap(),
                    internal: true,
                },
            ],
            ports: vec![
                PortRule {
                    proto: Proto::Tcp,
                    host_ip: None,
                    host_port: 8080,
                    container_ip: "172.17.0.2".parse().unwrap(),
                    container_port: 80,
                },
                PortRule {
                    proto: Proto::Udp,
                    host_ip: Some("127.0.0.1".parse().unwrap()),
                    host_port: 5353,
                    container_ip: "172.17.0.3".parse().unwrap(),
                    container_port: 53,
                },
            ],
        };
        let t = r.render("bt").unwrap();
        assert!(t.starts_with("table ip bt {"));
        assert!(t.contains("    tcp dport 8080 dnat to 172.17.0.2:80\n"));
        assert!(t.contains("    ip daddr 127.0.0.1 udp dport 5353 dnat to 172.17.0.3:53\n"));
        assert!(t.contains("ip saddr 172.17.0.0/16 oifname != \"berth0\" masquerade"));
        assert!(t.contains("oifname \"berth0\" ip saddr 127.0.0.0/8 snat to 172.17.0.1"));
        // Internal networks get no outbound NAT, and drops both ways.
        assert!(!t.contains("ip saddr 172.18.0.0/16 oifname != \"br-1\" masquerade"));
        assert!(t.contains("iifname \"br-1\" oifname != \"br-1\" drop"));
        assert!(t.contains("iifname \"berth0\" oifname \"br-1\" drop"));
        assert!(t.contains("iifname \"br-1\" oifname \"berth0\" drop"));
    }

    #[test]
    fn protocols() {
        assert_eq!(Proto::parse("UDP").unwrap(), Proto::Udp);
        assert_eq!(Proto::parse("").unwrap(), Proto::Tcp);
        assert_eq!(Proto::parse("icmp").unwrap_err().to_string(), "invalid proto: icmp");
    }
}
