//! Embedded DNS server for container networks (what Docker runs at 127.0.0.11).
//!
//! Names of containers come from a [`Resolver`]; every other query is relayed to the host's
//! upstream nameservers. The wire format (RFC 1035) is handled by hand and defensively: only the
//! header, the single question and an EDNS0 OPT record of a query are parsed, every read is
//! bounds-checked, and compression pointers must point strictly backwards, so they cannot loop.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;
use tracing::debug;

const TTL: u32 = 600;
const FORWARD_TIMEOUT: Duration = Duration::from_secs(2);
const TCP_IDLE: Duration = Duration::from_secs(10);
const MAX_TCP_CONNS: usize = 64;
/// Forwarded UDP queries in flight at once; past this the server answers SERVFAIL.
const MAX_FORWARDS: usize = 1024;
const MIN_UDP: usize = 512;
/// Cap on the EDNS0-advertised UDP size we honour.
const MAX_UDP: usize = 4096;
const MAX_JUMPS: usize = 64;

const QR: u16 = 0x8000;
const OPCODE: u16 = 0x7800;
const AA: u16 = 0x0400;
const TC: u16 = 0x0200;
const RD: u16 = 0x0100;
const RA: u16 = 0x0080;
const FORMERR: u16 = 1;
const SERVFAIL: u16 = 2;
const NOTIMP: u16 = 4;
const T_A: u16 = 1;
const T_PTR: u16 = 12;
const T_AAAA: u16 = 28;
const T_OPT: u16 = 41;
const T_ANY: u16 = 255;
const C_IN: u16 = 1;

/// A resource record of a reply: (type, rdata); its name is always the question's.
type Record = (u16, Vec<u8>);

/// The names a server answers for itself; everything else is forwarded upstream.
pub trait Resolver: Send + Sync + 'static {
    /// IPv4 addresses of `name` (lower-case, no trailing dot) for a query that reached the
    /// server listening on `server`. `None`: not a name of ours (forward it). `Some(vec![])`: ours but no IPv4.
    fn lookup(&self, server: Ipv4Addr, name: &str) -> Option<Vec<Ipv4Addr>>;
    /// The name of `ip` for PTR queries (`2.0.17.172.in-addr.arpa`), `None`: forward.
    fn reverse(&self, server: Ipv4Addr, ip: Ipv4Addr) -> Option<String>;
}

/// A running server on one address (UDP and TCP). Dropping it stops it (aborts its tasks, closes the
/// sockets).
pub struct Server {
    addr: SocketAddrV4,
    ctx: Arc<Ctx>,
    tasks: [JoinHandle<()>; 2],
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Server {
    /// Binds UDP and TCP on `addr` (port 0 allowed: both then use the same kernel-chosen port; retry if TCP
    /// can't get the UDP port) and serves on the current tokio runtime.
    pub async fn start(
        addr: SocketAddrV4,
        resolver: Arc<dyn Resolver>,
        upstream: Vec<SocketAddr>,
    ) -> io::Result<Server> {
        let (udp, tcp) = bind_pair(addr).await?;
        let addr = SocketAddrV4::new(*addr.ip(), udp.local_addr()?.port());
        let ctx = Arc::new(Ctx { resolver, server: *addr.ip(), upstream: RwLock::new(Arc::new(upstream)) });
        let tasks = [tokio::spawn(udp_loop(Arc::new(udp), ctx.clone())), tokio::spawn(tcp_loop(tcp, ctx.clone()))];
        debug!(%addr, "dns: serving");
        Ok(Server { addr, ctx, tasks })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.addr
    }

    /// Replaces the upstream servers (host resolv.conf changed).
    pub fn set_upstream(&self, upstream: Vec<SocketAddr>) {
        debug!(addr = %self.addr, ?upstream, "dns: upstream replaced");
        *self.ctx.upstream.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(upstream);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The loops own the sockets and, in their JoinSets, the per-query and per-connection tasks.
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

/// The nameservers of a resolv.conf text, as socket addresses on port 53 (IPv4 and IPv6; malformed lines
/// skipped).
pub fn upstream_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let parse = |line: &str| -> Option<SocketAddr> {
        let mut words = line.split_whitespace();
        if words.next()? != "nameserver" {
            return None;
        }
        let word = words.next()?;
        let (ip, zone) = word.split_once('%').map_or((word, None), |(ip, zone)| (ip, Some(zone)));
        match (ip.parse::<IpAddr>().ok()?, zone) {
            (IpAddr::V4(ip), None) => Some(SocketAddr::from((ip, 53))),
            (IpAddr::V6(ip), zone) => {
                let scope = zone.map_or(Some(0), |z| z.parse().ok())?;
                Some(SocketAddrV6::new(ip, 53, 0, scope).into())
            }
            (IpAddr::V4(_), Some(_)) => None,
        }
    };
    text.lines().filter_map(parse).collect()
}

/// Binds UDP then TCP on the same port, retrying with a new kernel-chosen port when `addr` has port 0.
async fn bind_pair(addr: SocketAddrV4) -> io::Result<(UdpSocket, TcpListener)> {
    let mut attempts = 0;
    loop {
        let udp = UdpSocket::bind(addr).await?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddrV4::new(*addr.ip(), port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() == 0 && attempts < 16 => {
                attempts += 1;
                debug!(port, "dns: tcp could not take the udp port, retrying: {e}");
            }
            Err(e) => return Err(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum ParseError {
    #[error("message truncated")]
    Truncated,
    #[error("{0} questions, expected 1")]
    QuestionCount(u16),
    #[error("label longer than 63 bytes or of an unknown type")]
    BadLabel,
    #[error("name longer than 255 bytes")]
    NameTooLong,
    #[error("compression pointer points forward or loops")]
    BadPointer,
}

/// The parts of a query the server needs, owned so a forwarding task can keep them.
#[derive(Debug)]
struct Query {
    id: u16,
    flags: u16,
    /// The question name in uncompressed wire form, case as asked.
    qname: Vec<u8>,
    /// Lower-case dotted form; `None` when a label holds a dot or a non-printable byte.
    name: Option<String>,
    qtype: u16,
    qclass: u16,
    /// Largest UDP reply the client takes: 512 or its EDNS0 size (capped at 4096).
    udp_size: usize,
}

fn be16(msg: &[u8], pos: usize) -> Result<u16, ParseError> {
    let bytes = msg.get(pos..pos.saturating_add(2)).and_then(|b| b.try_into().ok()).ok_or(ParseError::Truncated)?;
    Ok(u16::from_be_bytes(bytes))
}

/// Reads the name at `pos`: (uncompressed wire form, position after the name as stored).
fn read_name(msg: &[u8], mut pos: usize) -> Result<(Vec<u8>, usize), ParseError> {
    let (mut out, mut end, mut jumps, mut segment) = (Vec::new(), None, 0, pos);
    loop {
        let len = *msg.get(pos).ok_or(ParseError::Truncated)?;
        match len & 0xC0 {
            0x00 if len == 0 => {
                out.push(0);
                return Ok((out, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                let label = msg.get(pos + 1..pos + 1 + usize::from(len)).ok_or(ParseError::Truncated)?;
                out.push(len);
                out.extend_from_slice(label);
                if out.len() >= 255 {
                    return Err(ParseError::NameTooLong); // the terminating zero would make it 256+
                }
                pos += 1 + usize::from(len);
            }
            0xC0 => {
                let target = usize::from(be16(msg, pos)? & 0x3FFF);
                end.get_or_insert(pos + 2);
                jumps += 1;
                // Strictly before the segment we jumped to last: positions decrease, so no loop.
                if target >= segment || jumps > MAX_JUMPS {
                    return Err(ParseError::BadPointer);
                }
                (pos, segment) = (target, target);
            }
            _ => return Err(ParseError::BadLabel),
        }
    }
}

/// `3www7example3com0` → `www.example.com`, lower-cased; `None` for labels no host name has.
fn name_string(wire: &[u8]) -> Option<String> {
    let (mut out, mut pos) = (String::new(), 0);
    while let Some(&len) = wire.get(pos).filter(|&&len| len != 0) {
        let label = wire.get(pos + 1..pos + 1 + usize::from(len))?;
        if !label.iter().all(|b| b.is_ascii_graphic() && *b != b'.') {
            return None;
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
        pos += 1 + usize::from(len);
    }
    Some(out)
}

/// `web.net1` (a trailing dot allowed) → uncompressed wire form; `None` if not a valid name.
fn encode_name(name: &str) -> Option<Vec<u8>> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.split('.').filter(|_| !name.is_empty()) {
        out.push(u8::try_from(label.len()).ok().filter(|l| (1..=63).contains(l))?);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    (out.len() <= 255).then_some(out)
}

/// `2.0.17.172.in-addr.arpa` → 172.17.0.2; `None` for anything but exactly four octets.
fn parse_reverse(name: &str) -> Option<Ipv4Addr> {
    let mut parts = name.strip_suffix(".in-addr.arpa")?.split('.');
    let mut octets = [0u8; 4];
    for slot in octets.iter_mut().rev() {
        let part = parts.next().filter(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))?;
        *slot = part.parse().ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

fn parse_query(msg: &[u8]) -> Result<Query, ParseError> {
    let (id, flags, qdcount) = (be16(msg, 0)?, be16(msg, 2)?, be16(msg, 4)?);
    if qdcount != 1 {
        return Err(ParseError::QuestionCount(qdcount));
    }
    let (qname, pos) = read_name(msg, 12)?;
    let (qtype, qclass) = (be16(msg, pos)?, be16(msg, pos + 2)?);
    let udp_size = edns_size(msg, pos + 4).unwrap_or(MIN_UDP);
    Ok(Query { id, flags, name: name_string(&qname), qname, qtype, qclass, udp_size })
}

/// The UDP size of an OPT record in the additional section; `None` if absent or unreadable.
fn edns_size(msg: &[u8], mut pos: usize) -> Option<usize> {
    let counts = [be16(msg, 6).ok()?, be16(msg, 8).ok()?, be16(msg, 10).ok()?].map(usize::from);
    for i in 0..counts.iter().sum::<usize>() {
        let (_, p) = read_name(msg, pos).ok()?;
        let (rtype, class, rdlen) = (be16(msg, p).ok()?, be16(msg, p + 2).ok()?, be16(msg, p + 8).ok()?);
        pos = p + 10 + usize::from(rdlen);
        if pos > msg.len() {
            return None;
        }
        if i >= counts[0] + counts[1] && rtype == T_OPT {
            return Some(usize::from(class).clamp(MIN_UDP, MAX_UDP));
        }
    }
    None
}

/// A reply echoing the question; over `limit` bytes it is cut to the question with TC set.
fn response(q: &Query, rcode: u16, aa: bool, answers: &[Record], limit: usize) -> Vec<u8> {
    let flags = QR | (q.flags & (OPCODE | RD)) | RA | if aa { AA } else { 0 } | rcode;
    let ancount = u16::try_from(answers.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(16 + q.qname.len() + answers.len() * 16);
    [q.id, flags, 1, ancount, 0, 0].iter().for_each(|w| out.extend_from_slice(&w.to_be_bytes()));
    out.extend_from_slice(&q.qname);
    [q.qtype, q.qclass].iter().for_each(|w| out.extend_from_slice(&w.to_be_bytes()));
    let question_end = out.len();
    for (rtype, rdata) in answers {
        out.extend_from_slice(&[0xC0, 0x0C]); // the question name, always at offset 12
        [*rtype, C_IN].iter().for_each(|w| out.extend_from_slice(&w.to_be_bytes()));
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes()); // A: 4, PTR: at most 255
        out.extend_from_slice(rdata);
    }
    if out.len() > limit || answers.len() > usize::from(u16::MAX) {
        out.truncate(question_end);
        out[2..4].copy_from_slice(&(flags | TC).to_be_bytes());
        out[6..8].fill(0);
    }
    out
}

/// A header-only reply (FORMERR, NOTIMP) to a message of at least 12 bytes.
fn header_reply(msg: &[u8], rcode: u16) -> Vec<u8> {
    let flags = QR | (be16(msg, 2).unwrap_or(0) & (OPCODE | RD)) | RA | rcode;
    let mut out = msg.get(..2).unwrap_or(&[0, 0]).to_vec();
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    out
}

/// A relayed reply that fits the client's UDP size, else the question with the reply's flags and TC.
fn fit_udp(reply: Vec<u8>, q: &Query) -> Vec<u8> {
    if reply.len() <= q.udp_size {
        return reply;
    }
    let mut out = response(q, 0, false, &[], usize::MAX);
    out[2..4].copy_from_slice(&(be16(&reply, 2).unwrap_or(QR | RA | SERVFAIL) | TC).to_be_bytes());
    out
}

fn is_reply_to(reply: &[u8], id: u16) -> bool {
    be16(reply, 0) == Ok(id) && be16(reply, 2).is_ok_and(|f| f & QR != 0) && reply.len() >= 12
}

enum Outcome {
    Reply(Vec<u8>),
    Forward(Query),
    Drop,
}

struct Ctx {
    resolver: Arc<dyn Resolver>,
    server: Ipv4Addr,
    upstream: RwLock<Arc<Vec<SocketAddr>>>,
}

impl Ctx {
    fn process(&self, msg: &[u8], tcp: bool) -> Outcome {
        let Some(&[_, _, hi, lo, ..]) = msg.get(..12) else {
            debug!(len = msg.len(), "dns: dropping message shorter than a header");
            return Outcome::Drop;
        };
        let flags = u16::from_be_bytes([hi, lo]);
        if flags & QR != 0 {
            debug!("dns: dropping a response");
            return Outcome::Drop;
        }
        if flags & OPCODE != 0 {
            debug!(opcode = (flags & OPCODE) >> 11, "dns: opcode not implemented");
            return Outcome::Reply(header_reply(msg, NOTIMP));
        }
        let q = match parse_query(msg) {
            Ok(q) => q,
            Err(e) => {
                debug!("dns: malformed query: {e}");
                return Outcome::Reply(header_reply(msg, FORMERR));
            }
        };
        match self.local_answers(&q) {
            Some(answers) => {
                debug!(name = ?q.name, qtype = q.qtype, n = answers.len(), "dns: answering");
                Outcome::Reply(response(&q, 0, true, &answers, if tcp { usize::from(u16::MAX) } else { q.udp_size }))
            }
            None => Outcome::Forward(q),
        }
    }

    /// Our records for `q`, or `None` if it is not ours to answer.
    fn local_answers(&self, q: &Query) -> Option<Vec<Record>> {
        if q.qclass != C_IN {
            return None;
        }
        let name = q.name.as_deref().filter(|n| !n.is_empty())?;
        match q.qtype {
            T_A | T_AAAA | T_ANY => {
                let ips = self.resolver.lookup(self.server, name)?;
                let ips = if q.qtype == T_AAAA { Vec::new() } else { ips };
                Some(ips.iter().map(|ip| (T_A, ip.octets().to_vec())).collect())
            }
            T_PTR => {
                let target = self.resolver.reverse(self.server, parse_reverse(name)?)?;
                let wire = encode_name(&target);
                if wire.is_none() {
                    debug!(name, target, "dns: resolver gave an invalid PTR name, forwarding");
                }
                Some(vec![(T_PTR, wire?)])
            }
            _ => None,
        }
    }

    /// Relays `msg` to each upstream in turn; the first reply, or SERVFAIL.
    async fn forward(&self, msg: &[u8], q: &Query, tcp: bool) -> Vec<u8> {
        let upstream = self.upstream.read().unwrap_or_else(|e| e.into_inner()).clone();
        for &up in upstream.iter() {
            let result = match tcp {
                true => timeout(FORWARD_TIMEOUT, exchange_tcp(up, msg, q.id)).await,
                false => timeout(FORWARD_TIMEOUT, exchange_udp(up, msg, q.id)).await,
            };
            match result {
                Ok(Ok(reply)) => return if tcp { reply } else { fit_udp(reply, q) },
                Ok(Err(e)) => debug!(%up, tcp, "dns: forwarding failed: {e}"),
                Err(_) => debug!(%up, tcp, "dns: forwarding timed out"),
            }
        }
        debug!(name = ?q.name, "dns: no upstream answered, SERVFAIL");
        response(q, SERVFAIL, false, &[], usize::MAX)
    }
}

async fn exchange_udp(up: SocketAddr, msg: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let any: IpAddr = if up.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
    let sock = UdpSocket::bind((any, 0)).await?;
    sock.connect(up).await?; // the kernel then drops datagrams from other sources
    sock.send(msg).await?;
    let mut buf = vec![0; 65535];
    loop {
        let n = sock.recv(&mut buf).await?;
        if is_reply_to(&buf[..n], id) {
            buf.truncate(n);
            return Ok(buf);
        }
        debug!(%up, "dns: ignoring a datagram that is not the reply");
    }
}

async fn exchange_tcp(up: SocketAddr, msg: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(up).await?;
    write_framed(&mut stream, msg).await?;
    let reply = read_framed(&mut stream).await?;
    match is_reply_to(&reply, id) {
        true => Ok(reply),
        false => Err(io::Error::new(io::ErrorKind::InvalidData, "reply ID does not match")),
    }
}

async fn read_framed<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; usize::from(stream.read_u16().await?)];
    stream.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_framed<S: AsyncWrite + Unpin>(stream: &mut S, msg: &[u8]) -> io::Result<()> {
    let len = u16::try_from(msg.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "message too long"))?;
    stream.write_all(&[&len.to_be_bytes()[..], msg].concat()).await
}

async fn udp_loop(sock: Arc<UdpSocket>, ctx: Arc<Ctx>) {
    let mut buf = vec![0u8; 65535];
    let mut forwards = JoinSet::new(); // dropped with this task: in-flight forwards are aborted
    loop {
        let (n, peer) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok(r) => r,
                Err(e) => {
                    debug!("dns: udp receive failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            Some(_) = forwards.join_next(), if !forwards.is_empty() => continue,
        };
        let msg = &buf[..n];
        match ctx.process(msg, false) {
            Outcome::Drop => {}
            Outcome::Reply(reply) => send_udp(&sock, &reply, peer).await,
            Outcome::Forward(q) if forwards.len() >= MAX_FORWARDS => {
                debug!(%peer, "dns: too many queries in flight, SERVFAIL");
                send_udp(&sock, &response(&q, SERVFAIL, false, &[], usize::MAX), peer).await;
            }
            Outcome::Forward(q) => {
                let (sock, ctx, msg) = (sock.clone(), ctx.clone(), msg.to_vec());
                forwards.spawn(async move { send_udp(&sock, &ctx.forward(&msg, &q, false).await, peer).await });
            }
        }
    }
}

async fn send_udp(sock: &UdpSocket, reply: &[u8], peer: SocketAddr) {
    if let Err(e) = sock.send_to(reply, peer).await {
        debug!(%peer, "dns: udp send failed: {e}");
    }
}

async fn tcp_loop(listener: TcpListener, ctx: Arc<Ctx>) {
    let mut conns = JoinSet::new(); // dropped with this task: open connections are aborted
    loop {
        tokio::select! {
            r = listener.accept(), if conns.len() < MAX_TCP_CONNS => match r {
                Ok((stream, _)) => {
                    conns.spawn(serve_tcp(stream, ctx.clone()));
                }
                Err(e) => {
                    debug!("dns: tcp accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve_tcp(mut stream: TcpStream, ctx: Arc<Ctx>) {
    while let Ok(Ok(msg)) = timeout(TCP_IDLE, read_framed(&mut stream)).await {
        let reply = match ctx.process(&msg, true) {
            Outcome::Drop => return,
            Outcome::Reply(reply) => reply,
            Outcome::Forward(q) => ctx.forward(&msg, &q, true).await,
        };
        if !matches!(timeout(TCP_IDLE, write_framed(&mut stream, &reply)).await, Ok(Ok(()))) {
            return;
        }
    }
}

/// Entry points for the fuzz targets in `/fuzz` (feature `fuzzing`); not an API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// What the server sends back for `msg` (`None`: it drops it): its own answer, or for a
    /// query it forwards, `upstream` as the upstream's reply, relayed as the server relays it.
    pub fn exchange(
        resolver: Arc<dyn Resolver>,
        server: Ipv4Addr,
        msg: &[u8],
        tcp: bool,
        upstream: &[u8],
    ) -> Option<Vec<u8>> {
        let ctx = Ctx { resolver, server, upstream: RwLock::new(Arc::new(Vec::new())) };
        match ctx.process(msg, tcp) {
            Outcome::Drop => None,
            Outcome::Reply(r) => Some(r),
            Outcome::Forward(q) if !is_reply_to(upstream, q.id) => Some(response(&q, SERVFAIL, false, &[], usize::MAX)),
            Outcome::Forward(_) if tcp => Some(upstream.to_vec()),
            Outcome::Forward(q) => Some(fit_udp(upstream.to_vec(), &q)),
        }
    }

    /// The largest UDP reply a query allows (512, or its EDNS0 size capped at 4096), if it parses.
    pub fn udp_limit(msg: &[u8]) -> Option<usize> {
        parse_query(msg).ok().map(|q| q.udp_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: [Ipv4Addr; 2] = [Ipv4Addr::new(172, 17, 0, 2), Ipv4Addr::new(172, 17, 0, 3)];

    struct Fake;
    impl Resolver for Fake {
        fn lookup(&self, server: Ipv4Addr, name: &str) -> Option<Vec<Ipv4Addr>> {
            match name {
                "web" => Some(WEB.to_vec()),
                "db" => Some(vec![]),
                "whoami" => Some(vec![server]),
                "many" => Some((1..=40).map(|i| Ipv4Addr::new(172, 17, 1, i)).collect()),
                _ => None,
            }
        }
        fn reverse(&self, _: Ipv4Addr, ip: Ipv4Addr) -> Option<String> {
            (ip == WEB[0]).then(|| "web.net1.".into())
        }
    }

    fn query(id: u16, name: &str, qtype: u16, edns: Option<u16>) -> Vec<u8> {
        let mut m =
            [&id.to_be_bytes()[..], &RD.to_be_bytes(), &[0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]].concat();
        m.extend(encode_name(name).unwrap());
        m.extend([qtype.to_be_bytes(), C_IN.to_be_bytes()].concat());
        if let Some(size) = edns {
            m.extend([&[0, 0, 41][..], &size.to_be_bytes(), &[0; 6]].concat());
        }
        m
    }

    /// (flags, question bytes, answers as (type, rdata)) of a reply with one question.
    fn parse_reply(m: &[u8]) -> (u16, Vec<u8>, Vec<Record>) {
        let (_, mut pos) = read_name(m, 12).unwrap();
        let question = m[12..pos + 4].to_vec();
        pos += 4;
        let answers = (0..be16(m, 6).unwrap())
            .map(|_| {
                let (_, p) = read_name(m, pos).unwrap();
                let len = usize::from(be16(m, p + 8).unwrap());
                pos = p + 10 + len;
                (be16(m, p).unwrap(), m[p + 10..pos].to_vec())
            })
            .collect();
        assert_eq!(pos, m.len(), "trailing bytes");
        (be16(m, 2).unwrap(), question, answers)
    }

    fn ctx() -> Ctx {
        Ctx { resolver: Arc::new(Fake), server: Ipv4Addr::LOCALHOST, upstream: RwLock::new(Arc::new(vec![])) }
    }

    #[test]
    fn parses_query_and_edns() {
        let q = parse_query(&query(7, "WeB.Example", T_AAAA, Some(1232))).unwrap();
        assert_eq!((q.id, q.qtype, q.qclass, q.udp_size), (7, T_AAAA, C_IN, 1232));
        assert_eq!((q.name.as_deref(), &q.qname[..4]), (Some("web.example"), &b"\x03WeB"[..]));
        assert_eq!(parse_query(&query(1, "a", T_A, Some(100))).unwrap().udp_size, MIN_UDP);
        assert_eq!(parse_query(&query(1, "a", T_A, Some(65000))).unwrap().udp_size, MAX_UDP);
        assert_eq!(parse_query(&query(1, "a", T_A, None)).unwrap().udp_size, MIN_UDP);
        let weird = [&[0u8; 12][..], b"\x03a.b\x00\x00\x01\x00\x01"].concat();
        assert_eq!(parse_query(&[&[0, 0, 0, 0, 0, 1], &weird[6..]].concat()).unwrap().name, None);
        // "a.b" at 12, then "x" + pointer to 12 at 17.
        let m = [&[0u8; 12][..], b"\x01a\x01b\x00", b"\x01x\xC0\x0C", b"\xC0\x11"].concat();
        assert_eq!(read_name(&m, 17).unwrap(), (b"\x01x\x01a\x01b\x00".to_vec(), 21));
        assert_eq!(read_name(&m, 21).unwrap(), (b"\x01x\x01a\x01b\x00".to_vec(), 23));
        assert_eq!(name_string(b"\x01x\x01A\x01b\x00").as_deref(), Some("x.a.b"));
    }

    #[test]
    fn malformed_names() {
        let hdr = [0u8; 12];
        let err = |tail: &[u8]| read_name(&[&hdr[..], tail].concat(), 12).unwrap_err();
        assert_eq!(err(b"\xC0\x0C"), ParseError::BadPointer); // points at itself
        assert_eq!(err(b"\x01a\xC0\x0C"), ParseError::BadPointer); // loops back through a label
        assert_eq!(err(b"\xC0\x20"), ParseError::BadPointer); // forward / past the end
        assert_eq!(err(b"\xC0"), ParseError::Truncated);
        assert_eq!(err(b"\x05abc"), ParseError::Truncated);
        assert_eq!(err(b"\x01a"), ParseError::Truncated); // no terminator
        assert_eq!(err(b"\x40abc"), ParseError::BadLabel); // 64: label > 63
        assert_eq!(err(b"\x80abc"), ParseError::BadLabel);
        let long = [b"\x3f".as_slice(), &[b'a'; 63]].concat().repeat(4);
        assert_eq!(err(&[&long[..], b"\x00"].concat()), ParseError::NameTooLong); // 257 bytes
        let ok = [&long[..192], b"\x3d", &[b'a'; 61], b"\x00"].concat(); // 3*64 + 62 + 1 = 255
        assert_eq!(read_name(&[&hdr[..], &ok[..]].concat(), 12).unwrap().0.len(), 255);
        // Pointer chain 16 -> 14 -> 12, each strictly backwards, is fine; 12 -> 16 is not.
        let chain = [&hdr[..], b"\x00\x00\xC0\x0C\xC0\x0E"].concat();
        assert_eq!(read_name(&chain, 16).unwrap(), (vec![0], 18));
        assert_eq!(encode_name(&"a".repeat(64)), None);
        assert_eq!(encode_name(&["a"; 128].join(".")), None);
        assert_eq!(encode_name("a..b"), None);
        assert_eq!(encode_name("web.net1.").unwrap(), b"\x03web\x04net1\x00");
    }

    #[test]
    fn malformed_queries() {
        let ctx = ctx();
        assert!(matches!(ctx.process(&[0; 11], false), Outcome::Drop)); // truncated header
        let good = query(0x1234, "web", T_A, None);
        for len in 12..good.len() {
            let Outcome::Reply(r) = ctx.process(&good[..len], false) else { panic!("no reply at {len}") };
            assert_eq!((&r[..2], be16(&r, 2).unwrap() & 0x800F, r.len()), (&good[..2], QR | FORMERR, 12));
        }
        for qd in [0u8, 2] {
            let mut m = good.clone();
            m[5] = qd;
            assert!(matches!(ctx.process(&m, false), Outcome::Reply(r) if be16(&r, 2).unwrap() & 0xF == FORMERR));
        }
        let mut m = good.clone();
        m[2] |= 0x80; // a response: dropped, never answered
        assert!(matches!(ctx.process(&m, false), Outcome::Drop));
        m[2] = 0x28; // opcode 5 (UPDATE)
        assert!(matches!(ctx.process(&m, false), Outcome::Reply(r) if be16(&r, 2).unwrap() & 0xF == NOTIMP));
        // Random mutations of valid queries must never panic.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let bases = [good, query(9, "2.0.17.172.in-addr.arpa", T_PTR, Some(4096)), query(3, "many", T_ANY, None)];
        for i in 0..20_000 {
            let mut m = bases[i % 3].clone();
            for _ in 0..1 + i % 4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed >> 8) as usize % m.len();
                m[at] = if seed & 1 == 0 { seed as u8 } else { [0, 0xC0, 0x3F, 0x40, 0xFF][(seed >> 3) as usize % 5] };
            }
            m.truncate(m.len() - (seed >> 40) as usize % 3);
            let _ = ctx.process(&m, i % 2 == 0);
        }
    }

    #[test]
    fn answers_and_truncation() {
        let ctx = ctx();
        let reply = |m: &[u8], tcp| match ctx.process(m, tcp) {
            Outcome::Reply(r) => parse_reply(&r),
            _ => panic!("not answered locally"),
        };
        let (flags, _, answers) = reply(&query(1, "many", T_A, None), false);
        assert_eq!((flags & (TC | AA), answers.len()), (TC | AA, 0));
        assert_eq!(reply(&query(1, "many", T_A, Some(1232)), false).2.len(), 40);
        assert_eq!(reply(&query(1, "many", T_A, None), true).2.len(), 40);
        let q = parse_query(&query(5, "big", 16, None)).unwrap();
        let fitted = fit_udp([&[0, 5, 0x81, 0x83][..], &[0; 600]].concat(), &q);
        assert_eq!((be16(&fitted, 2).unwrap(), parse_reply(&fitted).2.len()), (0x8383, 0));
        assert_eq!(parse_reverse("2.0.17.172.in-addr.arpa"), Some(WEB[0]));
        for bad in
            ["17.172.in-addr.arpa", "1.2.0.17.172.in-addr.arpa", "+2.0.17.172.in-addr.arpa", "256.0.0.1.in-addr.arpa"]
        {
            assert_eq!(parse_reverse(bad), None, "{bad}");
        }
    }

    #[test]
    fn resolv_conf() {
        let text = "# comment\nnameserver 10.0.0.1\nnameserver  2001:db8::1 # x\nnameserver fe80::1%2\n\
                    nameserver fe80::1%eth0\nnameserver bogus\nnameserver\nsearch example.com\nnameserver 1.2.3.4%1\n";
        let want: Vec<SocketAddr> = vec![
            "10.0.0.1:53".parse().unwrap(),
            "[2001:db8::1]:53".parse().unwrap(),
            SocketAddrV6::new("fe80::1".parse().unwrap(), 53, 0, 2).into(),
        ];
        assert_eq!(upstream_from_resolv_conf(text), want);
    }

    // --- Real sockets: every address below is on 127.0.0.1 and bound by the test itself. ---

    fn upstream_answer(q: &[u8]) -> Vec<u8> {
        // The question echoed with QR|RA and A 127.0.0.99 (×40 for "big"), the mark of a forwarded reply.
        let (name, end) = read_name(q, 12).unwrap();
        let n: u8 = if name.starts_with(b"\x03big") { 40 } else { 1 };
        let mut r = [&q[..4], &[0, 1, 0, n, 0, 0, 0, 0], &q[12..end + 4]].concat();
        r[2] |= 0x80;
        r[3] |= 0x80;
        (0..n).for_each(|_| r.extend([0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 127, 0, 0, 99]));
        r
    }

    async fn fake_upstream() -> SocketAddr {
        let (udp, tcp) = bind_pair(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = udp.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0; 65535];
            while let Ok((n, peer)) = udp.recv_from(&mut buf).await {
                let reply = upstream_answer(&buf[..n]);
                let decoy = [&[reply[0] ^ 0xFF][..], &reply[1..]].concat(); // wrong ID first
                let _ = udp.send_to(&decoy, peer).await;
                let _ = udp.send_to(&reply, peer).await;
            }
        });
        tokio::spawn(async move {
            while let Ok((mut s, _)) = tcp.accept().await {
                tokio::spawn(async move {
                    while let Ok(m) = read_framed(&mut s).await {
                        let _ = write_framed(&mut s, &upstream_answer(&m)).await;
                    }
                });
            }
        });
        addr
    }

    async fn start(upstream: Vec<SocketAddr>) -> Server {
        Server::start(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), Arc::new(Fake), upstream).await.unwrap()
    }

    async fn udp_try(server: SocketAddrV4, msg: &[u8], wait: Duration) -> Option<Vec<u8>> {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sock.send_to(msg, server).await.unwrap();
        let mut buf = vec![0; 65535];
        let (n, _) = timeout(wait, sock.recv_from(&mut buf)).await.ok()?.unwrap();
        Some(buf[..n].to_vec())
    }

    async fn udp(server: SocketAddrV4, msg: &[u8]) -> (u16, Vec<u8>, Vec<Record>) {
        let reply = udp_try(server, msg, Duration::from_secs(8)).await.expect("no reply");
        assert_eq!(reply[..2], msg[..2], "id");
        parse_reply(&reply)
    }

    fn mark() -> Vec<Record> {
        vec![(T_A, vec![127, 0, 0, 99])] // the one answer of a forwarded reply
    }
    fn a(ips: &[Ipv4Addr]) -> Vec<Record> {
        ips.iter().map(|ip| (T_A, ip.octets().to_vec())).collect()
    }

    #[tokio::test]
    async fn udp_own_names() {
        let server = start(vec![]).await;
        let addr = server.local_addr();
        assert_eq!((addr.ip(), addr.port() != 0), (&Ipv4Addr::LOCALHOST, true));
        let q = query(0xBEEF, "wEb", T_A, None);
        let (flags, question, answers) = udp(addr, &q).await;
        assert_eq!((flags, &question[..], answers), (QR | AA | RD | RA, &q[12..], a(&WEB)));
        assert_eq!(udp(addr, &query(2, "WEB", T_ANY, None)).await.2, a(&WEB));
        assert_eq!(udp(addr, &query(3, "whoami", T_A, None)).await.2, a(&[Ipv4Addr::LOCALHOST]));
        for (name, qtype) in [("web", T_AAAA), ("db", T_A), ("DB", T_AAAA)] {
            let (flags, _, answers) = udp(addr, &query(4, name, qtype, None)).await;
            assert_eq!((flags & (AA | 0xF), answers.len()), (AA, 0), "{name} {qtype}");
        }
        let (flags, _, answers) = udp(addr, &query(5, "2.0.17.172.in-addr.arpa", T_PTR, None)).await;
        assert_eq!((flags & 0xF, answers), (0, vec![(T_PTR, b"\x03web\x04net1\x00".to_vec())]));
        // Not ours, no upstream: SERVFAIL with the question echoed.
        for q in [query(6, "example.com", T_A, None), query(7, "3.0.17.172.in-addr.arpa", T_PTR, None)] {
            let (flags, question, answers) = udp(addr, &q).await;
            assert_eq!((flags & (0xF | AA), &question[..], answers.len()), (SERVFAIL, &q[12..], 0));
        }
        let m = [&query(8, "web", T_A, None)[..4], &[0, 2, 0, 0, 0, 0, 0, 0]].concat();
        assert_eq!(
            udp_try(addr, &m, Duration::from_secs(8)).await.unwrap(),
            [0, 8, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(udp_try(addr, &[1, 2, 3], Duration::from_millis(300)).await, None); // dropped
        assert_eq!(udp(addr, &query(9, "many", T_A, None)).await.0 & TC, TC);
    }

    #[tokio::test]
    async fn udp_forwarding() {
        let upstream = fake_upstream().await;
        let dead = UdpSocket::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap(); // closed at once
        let server = start(vec![dead, upstream]).await;
        let addr = server.local_addr();
        let mut ch = query(3, "web", T_A, None);
        *ch.last_mut().unwrap() = 3; // class CH
        for q in [query(1, "Example.COM", T_A, None), query(2, "web", 15, None), ch] {
            let (flags, question, answers) = udp(addr, &q).await;
            assert_eq!((flags & (QR | AA | 0xF), &question[..], answers), (QR, &q[12..], mark()));
        }
        let (flags, _, answers) = udp(addr, &query(4, "big", T_A, None)).await;
        assert_eq!((flags & TC, answers.len()), (TC, 0));
        assert_eq!(udp(addr, &query(5, "big", T_A, Some(4096))).await.2.len(), 40);
        server.set_upstream(vec![]);
        assert_eq!(udp(addr, &query(6, "example.com", T_A, None)).await.0 & 0xF, SERVFAIL);
        server.set_upstream(vec![upstream]);
        assert_eq!(udp(addr, &query(7, "example.com", T_A, None)).await.2.len(), 1);
    }

    #[tokio::test]
    async fn tcp_queries() {
        let server = start(vec![fake_upstream().await]).await;
        let mut s = TcpStream::connect(server.local_addr()).await.unwrap();
        let mut ask = async |q: Vec<u8>| {
            write_framed(&mut s, &q).await.unwrap();
            let reply = timeout(Duration::from_secs(8), read_framed(&mut s)).await.unwrap().unwrap();
            assert_eq!(reply[..2], q[..2]);
            parse_reply(&reply)
        };
        assert_eq!(ask(query(1, "Web", T_A, None)).await.2, a(&WEB));
        assert_eq!(ask(query(2, "example.com", T_A, None)).await.2, mark());
        let (flags, _, answers) = ask(query(3, "many", T_A, None)).await;
        assert_eq!((flags & TC, answers.len()), (0, 40));
        assert_eq!(ask(query(4, "big", T_A, None)).await.2.len(), 40);
        assert_eq!(ask(query(5, "db", T_AAAA, None)).await.2.len(), 0);
    }

    #[tokio::test]
    async fn drop_closes_sockets() {
        let addr = start(vec![]).await.local_addr();
        for _ in 0..100 {
            if UdpSocket::bind(addr).await.is_ok() && TcpListener::bind(addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("sockets still bound after drop");
    }
}
