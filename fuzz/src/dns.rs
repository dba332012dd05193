//! The embedded DNS server's message handling (`net::dns`), without sockets.
//!
//! The input is used twice: as a query from a container (over UDP and over TCP), and as an
//! upstream server's reply to a query the server forwards (`example.org`); its text also feeds
//! `upstream_from_resolv_conf`. The resolver answers `web` (one address), `many` (2000
//! addresses: more than any UDP reply holds), names under `.empty` (ours, no address), and PTR
//! names for 172.17.0.0/24 (one of them with a name no DNS label can hold).
//!
//! Properties: every reply is at least a header, echoes the query's ID, has QR set and fits:
//! a UDP reply is at most the query's limit (512, or its EDNS0 size up to 4096), a TCP reply at
//! most 65535 bytes; a reply to a well-formed standard query echoes its question; no panic.

use std::net::Ipv4Addr;
use std::sync::Arc;

use net::dns::fuzzing::{exchange, udp_limit};
use net::dns::{Resolver, upstream_from_resolv_conf};

struct Fake;

impl Resolver for Fake {
    fn lookup(&self, _server: Ipv4Addr, name: &str) -> Option<Vec<Ipv4Addr>> {
        match name {
            "web" | "web.net1" => Some(vec![Ipv4Addr::new(172, 17, 0, 2)]),
            "many" => Some((0..2000u32).map(|i| Ipv4Addr::from(0x0a00_0000 + i)).collect()),
            n if n.ends_with(".empty") => Some(Vec::new()),
            _ => None,
        }
    }

    fn reverse(&self, _server: Ipv4Addr, ip: Ipv4Addr) -> Option<String> {
        let [a, b, c, d] = ip.octets();
        match (a, b, c, d) {
            (172, 17, 0, 9) => Some("x".repeat(300)),
            (172, 17, 0, _) => Some(format!("c{d}.net1")),
            _ => None,
        }
    }
}

/// A query for `example.org` A (forwarded: not a name of ours), with an EDNS0 size of 1232.
fn forwarded_query() -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    q.extend_from_slice(b"\x07example\x03org\x00\x00\x01\x00\x01");
    q.extend_from_slice(&[0, 0x00, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    q
}

fn check(query: &[u8], reply: &[u8], tcp: bool) {
    assert!(reply.len() >= 12, "reply shorter than a header: {reply:?}");
    assert_eq!(reply[..2], query[..2], "reply ID differs from the query's");
    assert!(reply[2] & 0x80 != 0, "reply without QR");
    let limit = if tcp { 65535 } else { udp_limit(query).unwrap_or(512) };
    assert!(reply.len() <= limit, "reply of {} bytes over the limit {limit} (tcp: {tcp})", reply.len());
}

/// The target.
pub fn run(data: &[u8]) {
    let resolver: Arc<dyn Resolver> = Arc::new(Fake);
    let server = Ipv4Addr::new(127, 0, 0, 11);
    let forwarded = forwarded_query();
    // The upstream answers a forwarded query with the query itself turned into a reply.
    let mut echo = data.to_vec();
    if let Some(f) = echo.get_mut(2) {
        *f |= 0x80;
    }
    for tcp in [false, true] {
        // As a query.
        if let Some(reply) = exchange(resolver.clone(), server, data, tcp, &echo) {
            check(data, &reply, tcp);
            // A standard query (opcode 0) that parses gets its question back; other opcodes a
            // header-only NOTIMP.
            if udp_limit(data).is_some() && data[2] & 0x78 == 0 {
                assert_eq!(reply[4..6], [0, 1], "a reply to a query has its one question");
            }
        }
        // As an upstream's reply to a forwarded query.
        let reply = exchange(resolver.clone(), server, &forwarded, tcp, data).expect("a query is answered");
        check(&forwarded, &reply, tcp);
    }
    let _ = upstream_from_resolv_conf(&String::from_utf8_lossy(data));
}
