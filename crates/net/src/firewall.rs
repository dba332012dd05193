//! berth's firewall: one nftables table of its own (`ip berth`), never a rule in anyone else's.
//!
//! The whole table is generated from the engine's state ([`Ruleset`]) and replaced in one
//! `nft` transaction (`add table` + `delete table` + the new table): a change is atomic, a
//! daemon restart rebuilds it with no duplicates, and when nothing needs it the table is
//! deleted. One `nft` call costs about 3 ms, and only network changes and containers that
//! publish ports pay it; a plain `run` on a bridge doesn't touch the firewall.
//!
//! **The rules go to `nft` as JSON** (`nft -j -f -`), built with `serde_json`: an interface
//! name is a JSON string in a `meta iifname` match, never text pasted into nft's language, so
//! no name can end a string, close a block or add a command. Names are also checked where
//! they come in ([`crate::ifname`]), but a record written before that check, or a check that
//! misses a case, still can't change what a rule means. Quoting nft's text syntax would work
//! too, but its lexer (quotes, `;`, `}`, newlines, `$variables`, `include`) is a grammar to get
//! exactly right; JSON escaping is serde's. The expressions are written with `json!` rather
//! than the `nftables` crate's typed schema: a few dozen lines for the handful of statements
//! berth uses.
//!
//! Published ports are DNAT in the kernel, no proxy process: `prerouting` for traffic from
//! other hosts and containers, `output` for the host's own (`127.0.0.1:PORT` works with
//! `route_localnet` on the bridge and loopback sources rewritten to the bridge's address). A
//! container reaching a published port of its own network through the host gets the same
//! source rewrite (hairpin), so the replies come back the way the requests went.
//!
//! **`route_localnet` has a price** (CVE-2020-8558): with it a bridge accepts packets for
//! 127.0.0.0/8, so a container could send one to the host's loopback services through the
//! gateway's MAC. The `input` chain drops what comes in from a bridge for 127.0.0.0/8 unless
//! conntrack says it was DNAT'ed (the replies of the host's own connections to a published
//! port on 127.0.0.1, whose destination is rewritten back to 127.0.0.1), as kube-proxy does.
//! The engine turns `route_localnet` on only once a table with that drop is in place
//! ([`Ruleset::apply`], or [`Ruleset::apply_guard`] alone at start-up). The test is
//! `ct status & dnat == 0`: nft 1.0.6 compiles `ct status != dnat` to a comparison of the
//! whole status word, which would drop those replies too.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;
use serde_json::{Value, json};

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
    /// The commands that make table `table` (chains and rules); `None` when the table isn't
    /// needed.
    pub fn render(&self, table: &str) -> Option<Vec<Value>> {
        if self.bridges.is_empty() && self.ports.is_empty() {
            return None;
        }
        let t = table;
        let mut c = vec![json!({"add": {"table": table_obj(t)}})];
        c.push(add_chain(t, "publish", None));
        for p in &self.ports {
            let mut e = Vec::new();
            if let Some(ip) = p.host_ip {
                e.push(eq(ip_field("daddr"), json!(ip.to_string())));
            }
            e.push(eq(json!({"payload": {"protocol": p.proto.as_str(), "field": "dport"}}), json!(p.host_port)));
            e.push(json!({"dnat": {"addr": p.container_ip.to_string(), "port": p.container_port}}));
            c.push(add_rule(t, "publish", e));
        }
        let local = || eq(json!({"fib": {"result": "type", "flags": ["daddr"]}}), json!("local"));
        c.push(add_chain(t, "prerouting", Some(("nat", "prerouting", -100))));
        c.push(add_rule(t, "prerouting", vec![local(), json!({"jump": {"target": "publish"}})]));
        c.push(add_chain(t, "output", Some(("nat", "output", -100))));
        c.push(add_rule(t, "output", vec![local(), json!({"jump": {"target": "publish"}})]));
        c.push(add_chain(t, "postrouting", Some(("nat", "postrouting", 100))));
        for b in &self.bridges {
            let (i, n, g) = (&b.ifname, b.subnet, b.gateway.to_string());
            // A fixed source (no route lookup as masquerade does) for what went through DNAT.
            c.push(add_rule(
                t,
                "postrouting",
                vec![eq(meta("oifname"), json!(i)), eq(ip_field("saddr"), loopback()), json!({"snat": {"addr": g}})],
            ));
            c.push(add_rule(
                t,
                "postrouting",
                vec![
                    eq(meta("oifname"), json!(i)),
                    eq(ip_field("saddr"), prefix(n)),
                    json!({"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}),
                    json!({"snat": {"addr": g}}),
                ],
            ));
            if !b.internal {
                c.push(add_rule(
                    t,
                    "postrouting",
                    vec![eq(ip_field("saddr"), prefix(n)), ne(meta("oifname"), json!(i)), json!({"masquerade": null})],
                ));
            }
        }
        c.push(add_chain(t, "forward", Some(("filter", "forward", 0))));
        for b in &self.bridges {
            let i = &b.ifname;
            if b.internal {
                c.push(add_rule(
                    t,
                    "forward",
                    vec![eq(meta("iifname"), json!(i)), ne(meta("oifname"), json!(i)), drop()],
                ));
                c.push(add_rule(
                    t,
                    "forward",
                    vec![eq(meta("oifname"), json!(i)), ne(meta("iifname"), json!(i)), drop()],
                ));
            }
            // Networks are isolated from each other, as Docker's DOCKER-ISOLATION chains.
            for o in self.bridges.iter().filter(|o| o.ifname != b.ifname) {
                c.push(add_rule(
                    t,
                    "forward",
                    vec![eq(meta("iifname"), json!(i)), eq(meta("oifname"), json!(o.ifname)), drop()],
                ));
            }
        }
        c.extend(self.guard(t));
        Some(c)
    }

    /// The `input` chain: packets from a bridge for 127.0.0.0/8 that were not DNAT'ed are
    /// dropped (see the module's documentation).
    fn guard(&self, t: &str) -> Vec<Value> {
        let mut c = vec![add_chain(t, "input", Some(("filter", "input", 0)))];
        for b in &self.bridges {
            let not_dnat = json!({"match": {
                "op": "==",
                "left": {"&": [{"ct": {"key": "status"}}, "dnat"]},
                "right": 0,
            }});
            c.push(add_rule(
                t,
                "input",
                vec![eq(meta("iifname"), json!(b.ifname)), eq(ip_field("daddr"), loopback()), not_dnat, drop()],
            ));
        }
        c
    }

    /// Replaces table `table` with this ruleset (or deletes it when it isn't needed).
    pub fn apply(&self, table: &str) -> Result<(), NetError> {
        let mut cmds =
            vec![json!({"add": {"table": table_obj(table)}}), json!({"delete": {"table": table_obj(table)}})];
        cmds.extend(self.render(table).unwrap_or_default());
        nft(&cmds)
    }

    /// Writes only the `input` chain of table `table` (made if missing), leaving the rest of
    /// the table as it is: at start-up, before the bridges get `route_localnet`, while the
    /// published ports of running containers are not known yet (the table a previous daemon
    /// left has them, and keeps them until the full [`Ruleset::apply`]).
    pub fn apply_guard(&self, table: &str) -> Result<(), NetError> {
        let mut cmds = vec![json!({"add": {"table": table_obj(table)}})];
        let mut guard = self.guard(table).into_iter();
        cmds.extend(guard.next());
        cmds.push(json!({"flush": {"chain": {"family": "ip", "table": table, "name": "input"}}}));
        cmds.extend(guard);
        nft(&cmds)
    }
}

/// Deletes table `table` if it exists.
pub fn delete_table(table: &str) -> Result<(), NetError> {
    nft(&[json!({"add": {"table": table_obj(table)}}), json!({"delete": {"table": table_obj(table)}})])
}

fn table_obj(t: &str) -> Value {
    json!({"family": "ip", "name": t})
}

/// A chain; `hook`: (type, hook, priority) of a base chain, all with policy accept.
fn add_chain(t: &str, name: &str, hook: Option<(&str, &str, i32)>) -> Value {
    let mut chain = json!({"family": "ip", "table": t, "name": name});
    if let Some((ty, hook, prio)) = hook {
        chain["type"] = json!(ty);
        chain["hook"] = json!(hook);
        chain["prio"] = json!(prio);
        chain["policy"] = json!("accept");
    }
    json!({"add": {"chain": chain}})
}

fn add_rule(t: &str, chain: &str, expr: Vec<Value>) -> Value {
    json!({"add": {"rule": {"family": "ip", "table": t, "chain": chain, "expr": expr}}})
}

fn eq(left: Value, right: Value) -> Value {
    json!({"match": {"op": "==", "left": left, "right": right}})
}

fn ne(left: Value, right: Value) -> Value {
    json!({"match": {"op": "!=", "left": left, "right": right}})
}

fn meta(key: &str) -> Value {
    json!({"meta": {"key": key}})
}

fn ip_field(field: &str) -> Value {
    json!({"payload": {"protocol": "ip", "field": field}})
}

fn prefix(n: Ipv4Net) -> Value {
    json!({"prefix": {"addr": n.network().to_string(), "len": n.prefix_len()}})
}

fn loopback() -> Value {
    prefix(Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8).expect("valid prefix"))
}

fn drop() -> Value {
    json!({"drop": null})
}

/// Runs `nft -j -f -` with these commands, one transaction.
fn nft(cmds: &[Value]) -> Result<(), NetError> {
    let script = serde_json::to_vec(&json!({"nftables": cmds})).expect("JSON serialises");
    let mut child = Command::new("nft")
        .args(["-j", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetError::io("running nft (is the nftables package installed?)", e))?;
    child.stdin.take().expect("piped").write_all(&script).map_err(|e| NetError::io("writing to nft", e))?;
    let out = child.wait_with_output().map_err(|e| NetError::io("running nft", e))?;
    if !out.status.success() {
        return Err(NetError::Firewall(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules of `chain`, each as its expression list.
    fn rules(cmds: &[Value], chain: &str) -> Vec<Value> {
        cmds.iter()
            .filter_map(|c| c["add"]["rule"].as_object())
            .filter(|r| r["chain"] == chain)
            .map(|r| r["expr"].clone())
            .collect()
    }

    fn bridge(ifname: &str, subnet: &str, gateway: &str, internal: bool) -> BridgeRules {
        BridgeRules {
            ifname: ifname.into(),
            subnet: subnet.parse().unwrap(),
            gateway: gateway.parse().unwrap(),
            internal,
        }
    }

    #[test]
    fn empty_ruleset_has_no_table() {
        assert_eq!(Ruleset::default().render("berth"), None);
    }

    #[test]
    fn rules_for_bridges_and_ports() {
        let r = Ruleset {
            bridges: vec![
                bridge("berth0", "172.17.0.0/16", "172.17.0.1", false),
                bridge("br-1", "172.18.0.0/16", "172.18.0.1", true),
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
        let c = r.render("bt").unwrap();
        assert_eq!(c[0], json!({"add": {"table": {"family": "ip", "name": "bt"}}}));
        let publish = rules(&c, "publish");
        assert_eq!(
            publish[0],
            json!([
                {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}},
                {"dnat": {"addr": "172.17.0.2", "port": 80}},
            ])
        );
        assert_eq!(
            publish[1],
            json!([
                {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "127.0.0.1"}},
                {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 5353}},
                {"dnat": {"addr": "172.17.0.3", "port": 53}},
            ])
        );
        let post = rules(&c, "postrouting");
        let oif = |i: &str| json!({"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": i}});
        assert!(post.contains(&json!([
            oif("berth0"),
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}},
            {"snat": {"addr": "172.17.0.1"}},
        ])));
        let masq = |n: &str, i: &str| {
            json!([
                {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": n, "len": 16}}}},
                {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": i}},
                {"masquerade": null},
            ])
        };
        assert!(post.contains(&masq("172.17.0.0", "berth0")));
        // Internal networks get no outbound NAT, and drops both ways.
        assert!(!post.contains(&masq("172.18.0.0", "br-1")));
        let fwd = rules(&c, "forward");
        let m = |op: &str, k: &str, v: &str| json!({"match": {"op": op, "left": {"meta": {"key": k}}, "right": v}});
        assert!(fwd.contains(&json!([m("==", "iifname", "br-1"), m("!=", "oifname", "br-1"), {"drop": null}])));
        assert!(fwd.contains(&json!([m("==", "oifname", "br-1"), m("!=", "iifname", "br-1"), {"drop": null}])));
        assert!(fwd.contains(&json!([m("==", "iifname", "berth0"), m("==", "oifname", "br-1"), {"drop": null}])));
        assert!(fwd.contains(&json!([m("==", "iifname", "br-1"), m("==", "oifname", "berth0"), {"drop": null}])));
        // Every bridge: loopback destinations that were not DNAT'ed are dropped (CVE-2020-8558).
        let input = rules(&c, "input");
        assert_eq!(input.len(), 2);
        for (rule, i) in input.iter().zip(["berth0", "br-1"]) {
            assert_eq!(
                rule,
                &json!([
                    m("==", "iifname", i),
                    {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}},
                    {"match": {"op": "==", "left": {"&": [{"ct": {"key": "status"}}, "dnat"]}, "right": 0}},
                    {"drop": null},
                ])
            );
        }
    }

    #[test]
    fn the_guard_alone_rewrites_only_the_input_chain() {
        let r = Ruleset { bridges: vec![bridge("b0", "10.0.0.0/24", "10.0.0.1", false)], ports: vec![] };
        let g = r.guard("bt");
        assert_eq!(g.len(), 2);
        assert_eq!(g[0]["add"]["chain"]["name"], "input");
        assert_eq!(g[0]["add"]["chain"]["hook"], "input");
        assert_eq!(g[1]["add"]["rule"]["chain"], "input");
    }

    #[test]
    fn hostile_interface_names_stay_data() {
        // What nft's text syntax would have taken as the end of a string, a block, a command.
        let names = ["x\"}", "a\";flush ruleset;\"", "}\ndelete table ip filter\n", "$x", "a b", "\\"];
        let r = Ruleset {
            bridges: names.iter().map(|n| bridge(n, "10.0.0.0/24", "10.0.0.1", false)).collect(),
            ports: vec![],
        };
        let c = r.render("bt").unwrap();
        let text = serde_json::to_string(&json!({"nftables": c})).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        let back = back["nftables"].as_array().unwrap();
        assert_eq!(back, &c, "the JSON reads back as written");
        // One drop per name in input, each matching exactly that name; nothing else appeared.
        let input = rules(back, "input");
        assert_eq!(input.len(), names.len());
        for (rule, n) in input.iter().zip(names) {
            assert_eq!(rule[0]["match"]["right"], *n);
        }
        let verbs: Vec<&str> = back.iter().flat_map(|c| c.as_object().unwrap().keys()).map(String::as_str).collect();
        assert!(verbs.iter().all(|v| *v == "add"), "{verbs:?}");
    }

    #[test]
    fn protocols() {
        assert_eq!(Proto::parse("UDP").unwrap(), Proto::Udp);
        assert_eq!(Proto::parse("").unwrap(), Proto::Tcp);
        assert_eq!(Proto::parse("icmp").unwrap_err().to_string(), "invalid proto: icmp");
    }
}
