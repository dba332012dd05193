//! Networking, end to end: real bridges, veths, nftables rules, packets and DNS queries.
//!
//! Safety: traffic goes only to 127.0.0.0/8, to the test's own containers, and to network
//! namespaces the test makes itself (a "LAN host" behind a veth). Each daemon has its own
//! bridge and firewall table; [`Lan`] and the daemon's Drop remove what they made, also when a
//! test fails.

mod common;
mod support;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Daemon, wait_until};
use support::{BOTH, cli, setup};

/// A "LAN host": a network namespace behind a veth pair, `host_if` (in the host) with
/// `10.X.Y.1/24` and the namespace's end with `.2`, default route to the host.
struct Lan {
    ns: String,
    host_if: String,
    prefix: String,
}

impl Lan {
    /// Routed to the host (`routed`: the host end has the .1 address; else a bare L2 parent).
    fn new(tag: &str, third_octet: u8, routed: bool) -> Lan {
        let pid = std::process::id() % 10000;
        let lan = Lan {
            ns: format!("btlan-{tag}-{pid}"),
            host_if: format!("bl{tag}{pid}"),
            prefix: format!("10.{}.{third_octet}", 200 + (pid % 50)),
        };
        let peer = format!("{}p", lan.host_if);
        sh(&format!("ip netns add {}", lan.ns));
        sh(&format!("ip link add {} type veth peer name {peer} netns {}", lan.host_if, lan.ns));
        sh(&format!("ip -n {} link set lo up", lan.ns));
        sh(&format!("ip -n {} addr add {}.2/24 dev {peer}", lan.ns, lan.prefix));
        sh(&format!("ip -n {} link set {peer} up", lan.ns));
        sh(&format!("ip link set {} up", lan.host_if));
        if routed {
            sh(&format!("ip addr add {}.1/24 dev {}", lan.prefix, lan.host_if));
            sh(&format!("ip -n {} route add default via {}.1", lan.ns, lan.prefix));
        }
        lan
    }

    /// Runs a command in the namespace.
    fn exec(&self, cmd: &str) -> std::process::Output {
        Command::new("ip").args(["netns", "exec", &self.ns, "sh", "-c", cmd]).output().expect("ip netns exec")
    }

    /// HTTP GET from the namespace; the body, or None.
    fn get(&self, url: &str) -> Option<String> {
        let o = self.exec(&format!("curl -s -m 3 {url}"));
        o.status.success().then(|| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.host_if]).stderr(Stdio::null()).status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).stderr(Stdio::null()).status();
    }
}

#[track_caller]
fn sh(cmd: &str) {
    let o = Command::new("sh").args(["-c", cmd]).output().expect("sh");
    assert!(o.status.success(), "{cmd}: {}", String::from_utf8_lossy(&o.stderr));
}

/// HTTP/1.0 GET to `addr` (loopback only); the body, or None.
fn http_get(addr: &str) -> Option<String> {
    assert!(addr.starts_with("127."), "tests only talk to loopback from the host: {addr}");
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut b = String::new();
    s.read_to_string(&mut b).ok()?;
    b.split_once("\r\n\r\n").map(|(_, body)| body.trim().to_owned())
}

/// Starts busybox httpd serving `body` in a detached container; extra `run` flags first.
fn httpd(d: &Daemon, name: &str, flags: &[&str], body: &str) {
    let script = format!("echo {body} > /var/www/index.html; exec httpd -f -p 80 -h /var/www");
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sh", "-c", &script]);
    d.berth(&args).ok();
}

fn inspect(d: &Daemon, name: &str, format: &str) -> String {
    d.berth(&["inspect", "-f", format, name]).ok().trim().to_owned()
}

fn ip_of(d: &Daemon, name: &str) -> String {
    inspect(d, name, "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}").trim().to_owned()
}

/// Host links enslaved to `bridge` (the host ends of its containers' veths).
fn bridge_ports(bridge: &str) -> Vec<String> {
    std::fs::read_dir(format!("/sys/class/net/{bridge}/brif"))
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

fn nft_table(d: &Daemon) -> String {
    let o = Command::new("nft").args(["list", "table", "ip", &d.table]).output().expect("nft");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn default_bridge_address_route_hosts_and_cleanup() {
    let d = setup();
    let net = d.berth(&["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "bridge"]);
    let (subnet, gateway) =
        net.ok().trim().split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())).expect("subnet and gateway");
    assert!(Daemon::link_exists(&d.bridge), "bridge {} missing", d.bridge);
    let script = format!(
        "ip -4 -o addr show eth0; ip route; cat /etc/hosts /etc/resolv.conf; ping -c1 -W2 {gateway} >/dev/null && echo PING-OK"
    );
    let r = d.berth(&[
        "run",
        "--rm",
        "--hostname",
        "box1",
        "--add-host",
        "db:10.1.2.3",
        "--dns",
        "127.0.0.99",
        "--dns-search",
        "example.test",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    let out = r.ok();
    let prefix = subnet.split('/').nth(1).expect("prefix");
    let ip_line = out.lines().find(|l| l.contains("inet ")).expect("eth0 has an address");
    let ip = ip_line.split_whitespace().nth(3).expect("addr/prefix");
    let (addr, plen) = ip.split_once('/').expect("addr/prefix");
    assert_eq!(plen, prefix, "{out}");
    let net: ipnet_lite::Net = subnet.parse().expect("subnet");
    assert!(net.contains(addr.parse().expect("ip")), "{addr} not in {subnet}");
    assert!(out.contains(&format!("default via {gateway} dev eth0")), "{out}");
    assert!(out.contains(&format!("{addr}\tbox1")), "hosts lacks the container's address: {out}");
    assert!(out.contains("10.1.2.3\tdb"), "{out}");
    assert!(out.contains("nameserver 127.0.0.99") && out.contains("search example.test"), "{out}");
    assert!(out.contains("PING-OK"), "gateway unreachable: {out}");
    // The MAC asked for.
    let r = d.berth(&[
        "run",
        "--rm",
        "--mac-address",
        "02:42:de:ad:be:ef",
        "busybox",
        "cat",
        "/sys/class/net/eth0/address",
    ]);
    assert_eq!(r.ok().trim(), "02:42:de:ad:be:ef");
    // Outbound NAT for the subnet is in berth's table (and only there).
    let t = nft_table(&d);
    assert!(t.contains(&format!("ip saddr {subnet} oifname != \"{}\" masquerade", d.bridge)), "{t}");
    // --rm left no veth on the bridge.
    wait_until(5, "veths to go", || bridge_ports(&d.bridge).is_empty());
    d.assert_clean(&[]);
}

/// Minimal IPv4 subnet parsing for the checks (the tests don't link the `net` crate).
mod ipnet_lite {
    use std::net::Ipv4Addr;

    pub struct Net(u32, u32);

    impl std::str::FromStr for Net {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            let (a, p) = s.split_once('/').ok_or(())?;
            let a: Ipv4Addr = a.parse().map_err(|_| ())?;
            let p: u32 = p.parse().map_err(|_| ())?;
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            Ok(Net(u32::from(a) & mask, mask))
        }
    }

    impl Net {
        pub fn contains(&self, ip: Ipv4Addr) -> bool {
            u32::from(ip) & self.1 == self.0
        }
    }
}

#[test]
fn concurrent_starts_get_distinct_addresses_that_survive_a_daemon_restart() {
    let mut d = setup();
    let n = 30;
    std::thread::scope(|s| {
        for i in 0..n {
            let d = &d;
            s.spawn(move || {
                d.berth(&["run", "-d", "--name", &format!("c{i}"), "busybox", "sleep", "600"]).ok();
            });
        }
    });
    let ips: Vec<String> = (0..n).map(|i| ip_of(&d, &format!("c{i}"))).collect();
    let mut uniq = ips.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), n, "addresses handed out twice: {ips:?}");
    assert!(ips.iter().all(|ip| !ip.is_empty()), "{ips:?}");
    assert_eq!(bridge_ports(&d.bridge).len(), n);
    // A new daemon takes the allocations back from the containers' records.
    d.kill9();
    d.restart();
    for i in 0..5 {
        d.berth(&["run", "-d", "--name", &format!("n{i}"), "busybox", "sleep", "600"]).ok();
        let ip = ip_of(&d, &format!("n{i}"));
        assert!(!ips.contains(&ip), "{ip} handed out again after the restart");
    }
    // Stopping releases: the veths go, and the addresses can be used again.
    let mut names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    names.extend((0..5).map(|i| format!("n{i}")));
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    d.rm_f_and_assert_clean(&refs);
    wait_until(5, "veths to go", || bridge_ports(&d.bridge).is_empty());
    let r = d.berth(&["run", "--rm", "--ip", &ips[0], "busybox", "true"]);
    assert_eq!(r.code, 0, "a released address can be asked for: {r:?}");
}

/// A static UDP echo server, compiled for the test (busybox has no UDP server applet).
fn udp_echo_binary(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("udpecho.c");
    std::fs::write(
        &src,
        r#"#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int c, char **v) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(v[1]));
    if (bind(s, (struct sockaddr *)&a, sizeof a)) return 1;
    for (;;) {
        char b[512];
        struct sockaddr_in p;
        socklen_t l = sizeof p;
        ssize_t n = recvfrom(s, b, sizeof b, 0, (struct sockaddr *)&p, &l);
        if (n > 0) sendto(s, b, n, 0, (struct sockaddr *)&p, l);
    }
}
"#,
    )
    .expect("writing udpecho.c");
    let out = dir.join("udpecho");
    sh(&format!("cc -static -O2 -o {} {}", out.display(), src.display()));
    out
}

#[test]
fn published_ports_from_loopback_other_containers_and_a_lan_host_tcp_and_udp() {
    let d = setup();
    httpd(&d, "web", &["-p", "18181:80", "-p", "127.0.0.1:18182:80", "-p", "127.0.0.1::80"], "hello-web");
    let ports = d.berth(&["port", "web", "80"]).ok().trim().to_owned();
    assert!(ports.contains("0.0.0.0:18181") && ports.contains("127.0.0.1:18182"), "{ports}");
    let random: u16 = ports
        .lines()
        .filter_map(|l| l.strip_prefix("127.0.0.1:"))
        .filter_map(|p| p.parse().ok())
        .find(|p| *p != 18182)
        .expect("a random host port");
    wait_until(5, "httpd", || http_get("127.0.0.1:18181").is_some());
    assert_eq!(http_get("127.0.0.1:18181").as_deref(), Some("hello-web"));
    assert_eq!(http_get("127.0.0.1:18182").as_deref(), Some("hello-web"));
    assert_eq!(http_get(&format!("127.0.0.1:{random}")).as_deref(), Some("hello-web"));
    // From another container, through the host's gateway address (hairpin).
    let gw = d
        .berth(&["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge"])
        .ok()
        .trim()
        .to_owned();
    // (busybox's static wget crashes here; nc speaks the HTTP.)
    let get = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {gw} 18181");
    let r = d.berth(&["run", "--rm", "busybox", "sh", "-c", &get]);
    assert!(r.ok().trim().ends_with("hello-web"), "{r:?}");
    // From another host on a LAN routed to this one, to the host's address there.
    let lan = Lan::new("p", 1, true);
    assert_eq!(lan.get(&format!("http://{}.1:18181/", lan.prefix)).as_deref(), Some("hello-web"));
    // 127.0.0.1-only bindings are not reachable from the LAN.
    assert_eq!(lan.get(&format!("http://{}.1:18182/", lan.prefix)), None);

    // UDP.
    let tmp = tempfile::tempdir().expect("tmp");
    let echo = udp_echo_binary(tmp.path());
    d.berth(&["create", "--name", "udp", "-p", "127.0.0.1:18183:9999/udp", "busybox", "/udpecho", "9999"]).ok();
    d.berth(&["cp", echo.to_str().expect("utf-8"), "udp:/udpecho"]).ok();
    d.berth(&["start", "udp"]).ok();
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp socket");
    sock.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    let mut got = None;
    for _ in 0..10 {
        sock.send_to(b"ping-udp", "127.0.0.1:18183").expect("send");
        let mut b = [0u8; 64];
        if let Ok((n, _)) = sock.recv_from(&mut b) {
            got = Some(b[..n].to_vec());
            break;
        }
    }
    assert_eq!(got.as_deref(), Some(&b"ping-udp"[..]), "no UDP echo through the published port");

    // One owner per host port: a clear error before anything is made.
    let before_ps = d.berth(&["ps", "-aq"]).ok().lines().count();
    let before_ports = bridge_ports(&d.bridge).len();
    let before_table = nft_table(&d);
    for c in BOTH {
        let r = cli(&d, c, &["run", "-d", "-p", "18181:80", "busybox", "sleep", "60"]);
        assert_ne!(r.code, 0, "{c:?}: {r:?}");
        assert!(r.stderr.contains("port is already allocated"), "{c:?}: {}", r.stderr);
    }
    assert_eq!(d.berth(&["ps", "-aq"]).ok().lines().count(), before_ps, "a half-created container is left");
    assert_eq!(bridge_ports(&d.bridge).len(), before_ports, "a veth is left");
    assert_eq!(nft_table(&d), before_table, "rules changed");
    d.rm_f_and_assert_clean(&["web", "udp"]);
    assert!(!nft_table(&d).contains("dnat to"), "DNAT rules left: {}", nft_table(&d));
}

#[test]
fn ports_are_added_and_removed_on_a_running_container() {
    let d = setup();
    httpd(&d, "live", &[], "live-body");
    let pid = inspect(&d, "live", "{{.State.Pid}}");
    assert_eq!(http_get("127.0.0.1:18281"), None);
    let r = d.berth(&["port", "add", "live", "127.0.0.1:18281:80", "127.0.0.1:18282:80"]);
    assert!(r.ok().contains("127.0.0.1:18281"), "{r:?}");
    wait_until(5, "published port", || http_get("127.0.0.1:18281").is_some());
    assert_eq!(http_get("127.0.0.1:18282").as_deref(), Some("live-body"));
    assert_eq!(inspect(&d, "live", "{{.State.Pid}}"), pid, "the container was restarted");
    // The docker CLI sees it.
    let r = d.docker(&["port", "live"]);
    assert!(r.ok().contains("80/tcp -> 127.0.0.1:18281"), "{r:?}");
    // Taken ports are refused, also by port add.
    let r = d.berth(&["port", "add", "live", "127.0.0.1:18281:80"]);
    assert!(r.stderr.contains("port is already allocated"), "{r:?}");
    d.berth(&["port", "rm", "live", "127.0.0.1:18281"]).ok();
    assert_eq!(http_get("127.0.0.1:18281"), None, "still published after port rm");
    assert_eq!(http_get("127.0.0.1:18282").as_deref(), Some("live-body"));
    // What was added is kept in its configuration: there after a restart.
    d.berth(&["restart", "-t", "0", "live"]).ok();
    wait_until(5, "published port after restart", || http_get("127.0.0.1:18282").is_some());
    assert_eq!(http_get("127.0.0.1:18281"), None);
    let r = d.berth(&["port", "rm", "live", "18299"]);
    assert!(r.code != 0 && r.stderr.contains("18299"), "{r:?}");
    d.rm_f_and_assert_clean(&["live"]);
}

#[test]
fn publish_all_takes_the_images_exposed_ports_and_dns_follows_a_rename() {
    let d = setup();
    let tar = common::busybox_tar();
    d.berth(&["import", tar.to_str().expect("utf-8"), "webimg:1", "-c", "EXPOSE 80", "-c", "CMD [\"sh\"]"]).ok();
    let script = "echo exposed > /var/www/index.html; exec httpd -f -p 80 -h /var/www";
    d.berth(&["run", "-d", "--name", "pub", "-P", "webimg:1", "sh", "-c", script]).ok();
    let r = d.berth(&["port", "pub", "80/tcp"]);
    let port = r.ok().trim().strip_prefix("0.0.0.0:").expect("published on all addresses").to_owned();
    wait_until(5, "published port", || http_get(&format!("127.0.0.1:{port}")).is_some());
    assert_eq!(http_get(&format!("127.0.0.1:{port}")).as_deref(), Some("exposed"));
    let r = d.berth(&["ps", "-q", "--filter", &format!("publish={port}")]);
    assert_eq!(r.ok().lines().count(), 1, "{r:?}");
    // A rename is seen by the embedded DNS at once.
    d.berth(&["network", "create", "ren"]).ok();
    d.berth(&["run", "-d", "--name", "before", "--network", "ren", "busybox", "sleep", "600"]).ok();
    d.berth(&["rename", "before", "after"]).ok();
    let ip = ip_of(&d, "after");
    let r = d.berth(&["run", "--rm", "--network", "ren", "busybox", "nslookup", "after"]);
    assert!(r.ok().contains(&format!("Address: {ip}")), "{r:?}");
    d.rm_f_and_assert_clean(&["pub", "after"]);
}

#[test]
fn firewall_table_is_rebuilt_once_after_a_restart_and_goes_with_its_last_user() {
    let mut d = setup();
    httpd(&d, "fw", &["-p", "127.0.0.1:18381:80"], "fw-body");
    wait_until(5, "published port", || http_get("127.0.0.1:18381").is_some());
    for _ in 0..2 {
        d.kill9();
        d.restart();
        let t = nft_table(&d);
        assert_eq!(t.matches("dport 18381").count(), 1, "{t}");
        assert_eq!(t.matches("masquerade").count(), 1, "{t}");
        assert_eq!(t.matches("snat to").count(), 2, "{t}");
        assert_eq!(http_get("127.0.0.1:18381").as_deref(), Some("fw-body"));
    }
    // The port is still held after the restart: nobody else gets it.
    let r = d.berth(&["run", "-d", "-p", "127.0.0.1:18381:80", "busybox", "true"]);
    assert!(r.stderr.contains("port is already allocated"), "{r:?}");
    d.rm_f_and_assert_clean(&["fw"]);
    d.stop();
    assert!(!d.table_exists(), "berth's table outlived its last user");
    // Only berth's own table was ever touched: no other table names this daemon's bridge.
    let all = Command::new("nft").args(["list", "ruleset"]).output().expect("nft");
    assert!(!String::from_utf8_lossy(&all.stdout).contains(&d.bridge), "rules naming the bridge elsewhere");
}

#[test]
fn user_networks_resolve_names_and_aliases_connect_disconnect_and_isolate() {
    let d = setup();
    d.berth(&["network", "create", "--subnet", "10.231.0.0/24", "--label", "team=a", "appnet"]).ok();
    d.berth(&["network", "create", "othernet"]).ok();
    d.berth(&[
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "appnet",
        "--network-alias",
        "database",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    d.berth(&["run", "-d", "--name", "other", "--network", "othernet", "busybox", "sleep", "600"]).ok();
    let db_ip = ip_of(&d, "db");
    assert!(db_ip.starts_with("10.231.0."), "{db_ip}");
    // By ID (a prefix) too: one interface, on that network.
    let id = d.berth(&["network", "inspect", "-f", "{{.Id}}", "appnet"]).ok().trim()[..12].to_owned();
    let r = d.berth(&["run", "--rm", "--network", &id, "busybox", "ip", "-4", "-o", "addr"]);
    assert!(r.ok().contains("eth0") && !r.out().contains("eth1") && r.out().contains("10.231.0."), "{r:?}");
    let r = d.berth(&[
        "run",
        "--rm",
        "--network",
        "appnet",
        "busybox",
        "sh",
        "-c",
        "cat /etc/resolv.conf; nslookup db; nslookup database; nslookup DB",
    ]);
    let out = r.ok();
    assert!(out.contains("nameserver 10.231.0.1"), "{out}");
    assert_eq!(out.matches(&format!("Address: {db_ip}")).count(), 3, "{out}");
    // The default bridge has no embedded DNS (as Docker): its resolv.conf doesn't use one.
    let r = d.berth(&["run", "--rm", "busybox", "cat", "/etc/resolv.conf"]);
    assert!(!r.ok().contains("10.231.0.1"), "{r:?}");
    // Networks are isolated from each other.
    let other_ip = ip_of(&d, "other");
    let r = d.berth(&["exec", "db", "ping", "-c1", "-W1", &other_ip]);
    assert_ne!(r.code, 0, "appnet reached othernet: {r:?}");
    // connect on a running container: a second interface, and its name resolves there.
    d.berth(&["network", "connect", "--alias", "linked", "othernet", "db"]).ok();
    let gw_other = d.berth(&["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "othernet"]);
    let r = d.berth(&["exec", "other", "cat", "/etc/resolv.conf"]);
    assert!(r.ok().contains(&format!("nameserver {}", gw_other.ok().trim())), "{r:?}");
    let r = d.berth(&["exec", "db", "ip", "-4", "-o", "addr"]);
    assert!(r.ok().contains("eth1"), "{r:?}");
    let eth1 = inspect(&d, "db", "{{.NetworkSettings.Networks.othernet.IPAddress}}");
    assert!(!eth1.is_empty());
    let r = d.berth(&["exec", "other", "nslookup", "linked"]);
    assert!(r.ok().contains(&format!("Address: {eth1}")), "{r:?}");
    let r = d.berth(&["exec", "other", "ping", "-c1", "-W2", "db"]);
    assert_eq!(r.code, 0, "{r:?}");
    // inspect of the network lists both; ls filters by label.
    let r = d.berth(&["network", "inspect", "-f", "{{len .Containers}}", "othernet"]);
    assert_eq!(r.ok().trim(), "2");
    assert_eq!(d.berth(&["network", "ls", "-q", "--filter", "label=team=a"]).ok().lines().count(), 1);
    d.berth(&["network", "disconnect", "othernet", "db"]).ok();
    let r = d.berth(&["exec", "db", "ip", "-4", "-o", "addr"]);
    assert!(!r.ok().contains("eth1"), "{r:?}");
    let r = d.berth(&["exec", "other", "ping", "-c1", "-W1", "db"]);
    assert_ne!(r.code, 0, "db still resolves/reaches on othernet: {r:?}");
    // A network in use can't be removed; a predefined one never.
    let r = d.berth(&["network", "rm", "appnet"]);
    assert!(r.code != 0 && r.stderr.contains("active endpoints"), "{r:?}");
    let r = d.berth(&["network", "rm", "bridge"]);
    assert!(r.code != 0 && r.stderr.contains("pre-defined network"), "{r:?}");
    let links = d.links();
    d.rm_f_and_assert_clean(&["db", "other"]);
    let r = d.berth(&["network", "prune", "-f"]);
    assert!(r.ok().contains("appnet") && r.out().contains("othernet"), "{r:?}");
    for l in links.iter().filter(|l| l.starts_with("br-")) {
        assert!(!Daemon::link_exists(l), "bridge {l} left after network rm");
    }
}

#[test]
fn fifty_containers_on_one_network_get_distinct_addresses_and_resolve_each_other() {
    let d = setup();
    d.berth(&["network", "create", "many"]).ok();
    let n = 50;
    let all: Vec<usize> = (0..n).collect();
    std::thread::scope(|s| {
        for chunk in all.chunks(7) {
            let d = &d;
            s.spawn(move || {
                for i in chunk {
                    d.berth(&["run", "-d", "--name", &format!("m{i}"), "--network", "many", "busybox", "sleep", "600"])
                        .ok();
                }
            });
        }
    });
    let ips: Vec<String> = (0..n).map(|i| ip_of(&d, &format!("m{i}"))).collect();
    let mut uniq = ips.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), n, "{ips:?}");
    let script: String =
        (1..n).map(|i| format!("nslookup m{i} | grep -q 'Address: {}' || echo FAIL m{i};", ips[i])).collect();
    let r = d.berth(&["exec", "m0", "sh", "-c", &script]);
    assert_eq!(r.ok().trim(), "", "names that did not resolve: {r:?}");
    let names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    d.rm_f_and_assert_clean(&refs);
}

#[test]
fn macvlan_containers_are_reached_directly_from_the_lan() {
    let d = setup();
    let lan = Lan::new("m", 2, false);
    let subnet = format!("{}.0/24", lan.prefix);
    d.berth(&[
        "network",
        "create",
        "-d",
        "macvlan",
        "--subnet",
        &subnet,
        "-o",
        &format!("parent={}", lan.host_if),
        "lan",
    ])
    .ok();
    let ip = format!("{}.50", lan.prefix);
    httpd(&d, "mv", &["--network", "lan", "--ip", &ip], "on-the-lan");
    wait_until(5, "httpd on the LAN", || lan.get(&format!("http://{ip}/")).is_some());
    assert_eq!(lan.get(&format!("http://{ip}/")).as_deref(), Some("on-the-lan"));
    // The container reaches the LAN host directly (no NAT: the LAN host sees its address).
    let r = d.berth(&["exec", "mv", "ping", "-c1", "-W2", &format!("{}.2", lan.prefix)]);
    assert_eq!(r.code, 0, "{r:?}");
    let neigh = lan.exec(&format!("ip neigh show {ip}"));
    let mac = inspect(&d, "mv", "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}");
    assert!(String::from_utf8_lossy(&neigh.stdout).contains(&mac), "LAN host doesn't see the container's MAC {mac}");
    // ipvlan and 802.1q parents: used where the kernel has them, a clear error where not.
    let has_ipvlan = Command::new("ip")
        .args(["link", "add", "link", &lan.host_if, "name", "btipvtest", "type", "ipvlan", "mode", "l2"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let _ = Command::new("ip").args(["link", "del", "btipvtest"]).stderr(Stdio::null()).status();
    let r = d.berth(&[
        "network",
        "create",
        "-d",
        "ipvlan",
        "--subnet",
        "10.232.0.0/24",
        "-o",
        &format!("parent={}", lan.host_if),
        "ipv",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = d.berth(&["run", "--rm", "--network", "ipv", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"]);
    if has_ipvlan {
        assert!(r.ok().contains("10.232.0."), "{r:?}");
    } else {
        assert!(r.code != 0 && r.stderr.contains("ipvlan"), "unclear error without kernel ipvlan: {r:?}");
    }
    let r = d.berth(&[
        "network",
        "create",
        "-d",
        "macvlan",
        "--subnet",
        "10.233.0.0/24",
        "-o",
        &format!("parent={}.10", lan.host_if),
        "vlan10",
    ]);
    if r.code == 0 {
        assert!(Daemon::link_exists(&format!("{}.10", lan.host_if)));
        d.berth(&["network", "rm", "vlan10"]).ok();
        assert!(!Daemon::link_exists(&format!("{}.10", lan.host_if)), "the VLAN interface berth made is left");
    } else {
        assert!(r.stderr.contains("802.1q") || r.stderr.contains("VLAN"), "unclear error: {r:?}");
    }
    d.rm_f_and_assert_clean(&["mv"]);
}

#[test]
fn network_modes_none_host_and_container() {
    let d = setup();
    let r = d.berth(&["run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net"]);
    assert_eq!(r.ok().trim(), "lo");
    let r = d.berth(&["run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"]);
    assert!(r.ok().lines().any(|l| l == d.bridge), "host mode doesn't see the host's links: {r:?}");
    d.berth(&["run", "-d", "--name", "base", "busybox", "sleep", "600"]).ok();
    let ip = ip_of(&d, "base");
    let r =
        d.berth(&["run", "--rm", "--network", "container:base", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(r.ok().contains(&format!("inet {ip}/")), "{r:?}");
    // Ports make no sense without a network of one's own.
    let r = d.berth(&["run", "--rm", "--network", "none", "-p", "80", "busybox", "true"]);
    assert!(r.code != 0 && r.stderr.contains("conflicting options"), "{r:?}");
    d.rm_f_and_assert_clean(&["base"]);
}

#[test]
fn bad_network_input_is_refused_clearly_and_leaves_nothing() {
    let d = setup();
    d.berth(&["network", "create", "--subnet", "10.234.0.0/24", "small"]).ok();
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--network", "nope", "busybox", "true"], "network nope not found"),
        (&["run", "--network", "small", "--ip", "10.9.9.9", "busybox", "true"], "does not belong"),
        (&["run", "--network-alias", "x", "busybox", "true"], "user-defined networks"),
        (&["run", "-p", "abc", "busybox", "true"], "abc"),
        (&["run", "-p", "127.0.0.1:70000:80", "busybox", "true"], "70000"),
        (&["run", "--mac-address", "01:00:5e:00:00:01", "busybox", "true"], "MAC"),
        (&["network", "create", "--subnet", "10.234.0.0/25", "overlap"], "overlaps"),
        (&["network", "create", "--subnet", "10.235.0.0/24", "--gateway", "10.9.0.1", "gw"], "10.9.0.1"),
        (&["network", "create", "small"], "already exists"),
        (&["network", "create", "-d", "macvlan", "nosubnet"], "parent"),
        (
            &["network", "create", "-d", "macvlan", "--subnet", "10.236.0.0/24", "-o", "parent=nosuchif0", "m"],
            "nosuchif0",
        ),
        (&["network", "create", "-d", "overlay", "ov"], "overlay"),
    ];
    for (args, want) in cases {
        let r = d.berth(args);
        assert_ne!(r.code, 0, "{args:?} succeeded");
        assert!(r.stderr.contains(want), "{args:?}: expected {want:?} in {:?}", r.stderr);
    }
    assert_eq!(d.berth(&["ps", "-aq"]).ok(), "", "containers left by failed runs");
    assert_eq!(d.berth(&["network", "ls", "-q"]).ok().lines().count(), 4, "bridge, host, none, small");
    wait_until(5, "veths to go", || bridge_ports(&d.bridge).is_empty());
}

#[test]
fn docker_cli_drives_networks_and_published_ports() {
    let d = setup();
    d.docker(&["network", "create", "--subnet", "10.237.0.0/24", "dnet"]).ok();
    let r = d.docker(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    for want in ["bridge bridge", "host host", "none null", "dnet bridge"] {
        assert!(r.ok().lines().any(|l| l == want), "{want}: {r:?}");
    }
    let r = d.docker(&["network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "dnet"]);
    assert_eq!(r.ok().trim(), "10.237.0.0/24");
    httpd(&d, "dweb", &[], "docker-cli");
    d.berth(&["rm", "-f", "dweb"]).ok();
    d.docker(&[
        "run",
        "-d",
        "--name",
        "dweb",
        "--network",
        "dnet",
        "--ip",
        "10.237.0.77",
        "-p",
        "127.0.0.1::80",
        "busybox",
        "sh",
        "-c",
        "echo docker-cli > /var/www/index.html; exec httpd -f -p 80 -h /var/www",
    ])
    .ok();
    let r = d.docker(&["inspect", "-f", "{{.NetworkSettings.Networks.dnet.IPAddress}}", "dweb"]);
    assert_eq!(r.ok().trim(), "10.237.0.77");
    let r = d.docker(&["port", "dweb", "80/tcp"]);
    let hp = r.ok().trim().strip_prefix("127.0.0.1:").expect("127.0.0.1 binding").to_owned();
    wait_until(5, "published port", || http_get(&format!("127.0.0.1:{hp}")).is_some());
    assert_eq!(http_get(&format!("127.0.0.1:{hp}")).as_deref(), Some("docker-cli"));
    let r = d.docker(&["ps", "--format", "{{.Ports}}", "--filter", "name=dweb"]);
    assert_eq!(r.ok().trim(), format!("127.0.0.1:{hp}->80/tcp"));
    d.docker(&["network", "connect", "bridge", "dweb"]).ok();
    let r = d.docker(&["inspect", "-f", "{{len .NetworkSettings.Networks}}", "dweb"]);
    assert_eq!(r.ok().trim(), "2");
    d.docker(&["network", "disconnect", "bridge", "dweb"]).ok();
    let r = d.docker(&["network", "rm", "dnet"]);
    assert_ne!(r.code, 0, "{r:?}");
    d.docker(&["rm", "-f", "dweb"]).ok();
    d.docker(&["network", "rm", "dnet"]).ok();
    d.assert_clean(&[]);
}

#[test]
fn bip_and_address_pools_set_the_subnets() {
    let d = Daemon::start_with(&["--bip", "10.238.7.1/24", "--default-address-pool", "base=10.239.0.0/16,size=24"]);
    d.busybox();
    assert!(
        std::fs::read_to_string("/proc/net/route").unwrap_or_default().lines().any(|l| l.starts_with(&d.bridge)),
        "no route for the bridge"
    );
    let r = d.berth(&["run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(r.ok().contains("inet 10.238.7.2/24"), "{r:?}");
    d.berth(&["network", "create", "pooled"]).ok();
    let r = d.berth(&["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "pooled"]);
    assert_eq!(r.ok().trim(), "10.239.0.0/24");
}

#[test]
fn internal_networks_have_no_way_out_and_ip_ranges_bound_dynamic_addresses() {
    let d = setup();
    d.berth(&[
        "network",
        "create",
        "--internal",
        "--subnet",
        "10.241.0.0/24",
        "--ip-range",
        "10.241.0.128/25",
        "sealed",
    ])
    .ok();
    d.berth(&["run", "-d", "--name", "in", "--network", "sealed", "busybox", "sleep", "600"]).ok();
    assert_eq!(ip_of(&d, "in"), "10.241.0.128", "the first address of the range");
    // No default route, no outbound NAT, and forwarding in or out of the bridge is dropped.
    let r = d.berth(&["exec", "in", "ip", "route"]);
    assert!(!r.ok().contains("default"), "{r:?}");
    let t = nft_table(&d);
    assert!(!t.contains("ip saddr 10.241.0.0/24 oifname !="), "{t}");
    let br = d.links().into_iter().find(|l| l.starts_with("br-")).expect("the network's bridge");
    assert!(t.contains(&format!("iifname \"{br}\" oifname != \"{br}\" drop")), "{t}");
    // Members still reach each other (and resolve each other's names).
    d.berth(&["run", "-d", "--name", "in2", "--network", "sealed", "busybox", "sleep", "600"]).ok();
    let r = d.berth(&["exec", "in2", "ping", "-c1", "-W2", "in"]);
    assert_eq!(r.code, 0, "{r:?}");
    // Not the default bridge's containers.
    d.berth(&["run", "-d", "--name", "out", "busybox", "sleep", "600"]).ok();
    let r = d.berth(&["exec", "out", "ping", "-c1", "-W1", "10.241.0.128"]);
    assert_ne!(r.code, 0, "reached an internal network from outside: {r:?}");
    d.rm_f_and_assert_clean(&["in", "in2", "out"]);
}

/// A host link the test made, deleted when the test ends.
struct TestLink(String);

impl Drop for TestLink {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).stderr(Stdio::null()).status();
    }
}

/// The addresses of host link `dev` (`ip -o addr`'s `inet`/`inet6` fields, link-local IPv6
/// left out).
fn addrs(dev: &str) -> Vec<String> {
    let o = Command::new("ip").args(["-o", "addr", "show", "dev", dev]).output().expect("ip addr");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace().skip_while(|w| !w.starts_with("inet"));
            w.next()?;
            w.next().map(str::to_owned)
        })
        .filter(|a| !a.starts_with("fe80:"))
        .collect()
}

fn gateway_of(d: &Daemon, network: &str) -> String {
    d.berth(&["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", network]).ok().trim().to_owned()
}

/// Issue 10, hole 3: a bridge name that exists on the host, or one that is not a plain
/// interface name, is refused; the interface is left as it was and the table intact.
#[test]
fn network_create_refuses_an_existing_interface_and_hostile_bridge_names() {
    let d = setup();
    // Someone else's interface (a veth: this kernel has no dummy driver).
    let other = TestLink(format!("{}x", d.bridge));
    sh(&format!("ip link add {} type veth peer name {}y", other.0, d.bridge));
    let before_table = nft_table(&d);
    assert!(before_table.contains(&d.bridge), "{before_table}");
    for (i, c) in BOTH.into_iter().enumerate() {
        // Someone else's interface, and this daemon's own default bridge.
        for taken in [&other.0, &d.bridge] {
            let name = format!("take{i}");
            let r = cli(&d, c, &["network", "create", "-o", &format!("com.docker.network.bridge.name={taken}"), &name]);
            assert_ne!(r.code, 0, "{c:?}: {r:?}");
            assert!(r.stderr.contains(&format!("interface {taken} already exists on the host")), "{c:?}: {r:?}");
            let r = cli(&d, c, &["network", "rm", &name]);
            assert_ne!(r.code, 0, "{c:?}: a network was recorded: {r:?}");
        }
    }
    assert!(Daemon::link_exists(&other.0), "the host's interface was deleted");
    assert_eq!(addrs(&other.0), Vec::<String>::new(), "berth put an address on the host's interface");
    let localnet = std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{}/route_localnet", other.0));
    assert_eq!(localnet.expect("route_localnet").trim(), "0");
    assert!(!nft_table(&d).contains(&other.0), "rules name the host's interface");

    // Names that would have broken or rewritten the table as nft text, and names the kernel
    // refuses, through both CLIs.
    let hostile =
        ["x\"}", "a;b", "}", "a\";flush", "a\ndelete", "a b", "0123456789abcdef", "..", "a/b", "eth%d", "$(id)"];
    for c in BOTH {
        for name in hostile {
            let r = cli(&d, c, &["network", "create", "-o", &format!("com.docker.network.bridge.name={name}"), "hn"]);
            assert_ne!(r.code, 0, "{c:?} {name:?}: {r:?}");
            assert!(r.stderr.contains("invalid bridge name"), "{c:?} {name:?}: {r:?}");
        }
        for name in ["a\nb", "a b", "0123456789abcdef", "a/b", "a:b"] {
            let r = cli(
                &d,
                c,
                &[
                    "network",
                    "create",
                    "-d",
                    "macvlan",
                    "--subnet",
                    "10.246.0.0/24",
                    "-o",
                    &format!("parent={name}"),
                    "mv",
                ],
            );
            assert_ne!(r.code, 0, "{c:?} {name:?}: {r:?}");
            assert!(r.stderr.contains("invalid parent interface name"), "{c:?} {name:?}: {r:?}");
        }
    }
    assert_eq!(nft_table(&d), before_table, "the table changed");
    assert_eq!(d.berth(&["network", "ls", "-q"]).ok().lines().count(), 3, "bridge, host, none");
    // A free name is made, and goes with its network.
    let own = format!("{}u", d.bridge);
    d.docker(&["network", "create", "-o", &format!("com.docker.network.bridge.name={own}"), "mine"]).ok();
    assert!(Daemon::link_exists(&own));
    assert!(nft_table(&d).contains(&format!("iifname \"{own}\"")));
    d.docker(&["network", "rm", "mine"]).ok();
    assert!(!Daemon::link_exists(&own), "the bridge berth made is left");
    assert!(Daemon::link_exists(&other.0));
}

/// Issue 10, hole 3: a daemon never adds its address to a bridge that carries another: not
/// at a first start with `-b` naming another daemon's bridge, not at a restart with other
/// `-b`/`--bip` flags than its records. The other daemon's published port keeps working.
#[test]
fn a_daemon_never_takes_over_a_bridge_that_carries_other_addresses() {
    let a = setup();
    httpd(&a, "aweb", &["-p", "127.0.0.1:18481:80"], "a-body");
    wait_until(5, "httpd", || http_get("127.0.0.1:18481").is_some());
    let a_addrs = addrs(&a.bridge);
    assert_eq!(a_addrs.len(), 1, "{a_addrs:?}");
    let check_a = |what: &str| {
        assert_eq!(addrs(&a.bridge), a_addrs, "{what}: the first daemon's bridge was changed");
        assert_eq!(http_get("127.0.0.1:18481").as_deref(), Some("a-body"), "{what}: its published port broke");
    };
    // A second daemon pointed at the first one's bridge: with no --bip, and with the first
    // one's very address (two daemons on one bridge, each thinking it owns it).
    let mut b = Daemon::new_with(&["-b", &a.bridge]);
    for extra in [vec!["-b", a.bridge.as_str()], vec!["-b", a.bridge.as_str(), "--bip", a_addrs[0].as_str()]] {
        b.extra = extra.iter().map(|s| (*s).to_owned()).collect();
        let err = b.try_spawn().expect_err("a daemon started on another daemon's bridge");
        assert!(err.contains(&format!("bridge {} already carries {}", a.bridge, a_addrs[0])), "{err}");
        check_a("second daemon with -b");
    }
    // The second daemon on its own bridge with --bip; restarted with other flags.
    let third = 10 + std::process::id() % 200;
    let bip = format!("10.247.{third}.1/24");
    b.extra = vec!["--bip".into(), bip.clone()];
    b.try_spawn().expect("the second daemon on its own bridge");
    assert_eq!(addrs(&b.bridge), vec![bip.clone()]);
    b.stop();
    let cases = [
        // The issue's case: its records say -b X --bip S, it restarts on another bridge.
        (vec!["-b".to_owned(), a.bridge.clone()], a.bridge.clone(), a_addrs[0].clone()),
        // Its own bridge, another --bip: its old address is there.
        (vec!["--bip".to_owned(), format!("10.248.{third}.1/24")], b.bridge.clone(), bip.clone()),
    ];
    for (extra, bridge, carried) in cases {
        b.extra = extra;
        let err = b.try_spawn().expect_err("a restart onto a bridge with other addresses");
        assert!(err.contains(&format!("bridge {bridge} already carries {carried}")), "{err}");
        assert!(err.contains("-b/--bip"), "{err}");
        check_a("restart with other flags");
        assert_eq!(addrs(&b.bridge), vec![bip.clone()], "the second daemon's own bridge changed");
    }
    // Its own flags again, then none: its own address on its own bridge is fine.
    for extra in [vec!["--bip".to_owned(), bip.clone()], vec![]] {
        b.extra = extra;
        b.try_spawn().expect("a restart with the recorded bridge and address");
        assert_eq!(gateway_of(&b, "bridge"), bip.split('/').next().unwrap());
        assert_eq!(addrs(&b.bridge), vec![bip.clone()]);
        b.stop();
    }
    check_a("after all");
    a.rm_f_and_assert_clean(&["aweb"]);
}

/// A static program that sends one UDP datagram as a raw Ethernet frame out of IFACE, to
/// DSTMAC, from the interface's own MAC and IPv4 address (`rawsend IFACE DSTMAC DSTIP PORT
/// PAYLOAD`): what a container can do with CAP_NET_RAW (in Docker's default set).
fn rawsend_binary(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("rawsend.c");
    std::fs::write(
        &src,
        r#"#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
static unsigned short csum(const unsigned short *w, int n) {
    unsigned long s = 0;
    for (; n > 1; n -= 2) s += *w++;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (unsigned short)~s;
}
int main(int c, char **v) {
    if (c != 6) { fprintf(stderr, "usage: rawsend IFACE DSTMAC DSTIP PORT PAYLOAD\n"); return 2; }
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
    if (s < 0) { perror("socket"); return 1; }
    struct ifreq r; memset(&r, 0, sizeof r); strncpy(r.ifr_name, v[1], IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFINDEX, &r)) { perror("SIOCGIFINDEX"); return 1; }
    int index = r.ifr_ifindex;
    if (ioctl(s, SIOCGIFHWADDR, &r)) { perror("SIOCGIFHWADDR"); return 1; }
    unsigned char src[6]; memcpy(src, r.ifr_hwaddr.sa_data, 6);
    r.ifr_addr.sa_family = AF_INET;
    if (ioctl(s, SIOCGIFADDR, &r)) { perror("SIOCGIFADDR"); return 1; }
    struct in_addr saddr = ((struct sockaddr_in *)&r.ifr_addr)->sin_addr;
    unsigned char dst[6];
    if (sscanf(v[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dst[0], &dst[1], &dst[2], &dst[3], &dst[4], &dst[5]) != 6) return 2;
    unsigned char f[1500]; memset(f, 0, sizeof f);
    size_t plen = strlen(v[5]);
    if (plen > 1000) return 2;
    struct ether_header *eh = (struct ether_header *)f;
    memcpy(eh->ether_dhost, dst, 6); memcpy(eh->ether_shost, src, 6); eh->ether_type = htons(ETH_P_IP);
    struct iphdr *ip = (struct iphdr *)(f + sizeof *eh);
    ip->version = 4; ip->ihl = 5; ip->ttl = 64; ip->protocol = IPPROTO_UDP; ip->id = htons(4242);
    ip->tot_len = htons(sizeof *ip + sizeof(struct udphdr) + plen);
    ip->saddr = saddr.s_addr;
    if (inet_pton(AF_INET, v[3], &ip->daddr) != 1) return 2;
    ip->check = csum((unsigned short *)ip, sizeof *ip);
    struct udphdr *u = (struct udphdr *)(ip + 1);
    u->source = htons(40000); u->dest = htons(atoi(v[4])); u->len = htons(sizeof *u + plen); u->check = 0;
    memcpy(u + 1, v[5], plen);
    struct sockaddr_ll a; memset(&a, 0, sizeof a);
    a.sll_family = AF_PACKET; a.sll_ifindex = index; a.sll_halen = 6; memcpy(a.sll_addr, dst, 6);
    size_t n = sizeof *eh + sizeof *ip + sizeof *u + plen;
    if (sendto(s, f, n, 0, (struct sockaddr *)&a, sizeof a) != (ssize_t)n) { perror("sendto"); return 1; }
    return 0;
}
"#,
    )
    .expect("writing rawsend.c");
    let out = dir.join("rawsend");
    sh(&format!("cc -static -O2 -o {} {}", out.display(), src.display()));
    out
}

/// Sends `payload` from container `name` to `dst_ip:port` as a frame to the MAC of `bridge`
/// (the gateway), three times; whether `sock` got it within a second.
fn raw_reaches(d: &Daemon, name: &str, bridge: &str, dst_ip: &str, sock: &UdpSocket, payload: &str) -> bool {
    let mac = std::fs::read_to_string(format!("/sys/class/net/{bridge}/address")).expect("bridge MAC");
    let port = sock.local_addr().expect("local addr").port().to_string();
    for _ in 0..3 {
        d.berth(&["exec", name, "/rawsend", "eth0", mac.trim(), dst_ip, &port, payload]).ok();
    }
    sock.set_read_timeout(Some(Duration::from_secs(1))).expect("timeout");
    let mut b = [0u8; 1500];
    let t = std::time::Instant::now();
    while t.elapsed() < Duration::from_secs(1) {
        match sock.recv_from(&mut b) {
            Ok((n, _)) if &b[..n] == payload.as_bytes() => return true,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    false
}

/// Issue 10, hole 4 (CVE-2020-8558): with `route_localnet` on the bridges, a container could
/// reach the host's services on 127.0.0.1 by sending to the gateway's MAC. berth's table drops
/// that on every bridge (a published port on 127.0.0.1 keeps working), also after a restart.
#[test]
fn containers_cannot_reach_the_hosts_loopback_services() {
    let mut d = setup();
    let tmp = tempfile::tempdir().expect("tmp");
    let raw = rawsend_binary(tmp.path());
    d.berth(&["network", "create", "--subnet", "10.249.0.0/24", "lo-net"]).ok();
    httpd(&d, "pub", &["-p", "127.0.0.1:18482:80"], "pub-body");
    let user_bridge = format!("br-{}", &d.berth(&["network", "inspect", "-f", "{{.Id}}", "lo-net"]).ok()[..12]);
    assert!(Daemon::link_exists(&user_bridge), "{user_bridge}");
    for (name, network) in [("rawd", "bridge"), ("rawu", "lo-net")] {
        d.berth(&["create", "--name", name, "--network", network, "busybox", "sleep", "600"]).ok();
        d.berth(&["cp", raw.to_str().expect("utf-8"), &format!("{name}:/rawsend")]).ok();
        d.berth(&["start", name]).ok();
    }
    // A service of the host's on loopback, and (the control) one on each gateway address.
    let lo = UdpSocket::bind("127.0.0.1:0").expect("udp on loopback");
    let probe = |d: &Daemon, when: &str| {
        for (name, network, bridge) in [("rawd", "bridge", &d.bridge), ("rawu", "lo-net", &user_bridge)] {
            let localnet = std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"));
            assert_eq!(localnet.expect("route_localnet").trim(), "1", "{when}: {bridge}");
            let gw = gateway_of(d, network);
            let control = UdpSocket::bind(format!("{gw}:0")).expect("udp on the gateway");
            assert!(
                raw_reaches(d, name, bridge, &gw, &control, "to-the-gateway"),
                "{when}: the crafted frame from {name} doesn't reach the gateway: the test proves nothing"
            );
            assert!(
                !raw_reaches(d, name, bridge, "127.0.0.1", &lo, "to-loopback"),
                "{when}: {name} on {network} reached a service on the host's 127.0.0.1"
            );
        }
        assert_eq!(http_get("127.0.0.1:18482").as_deref(), Some("pub-body"), "{when}: the published port");
    };
    wait_until(5, "httpd", || http_get("127.0.0.1:18482").is_some());
    probe(&d, "running");
    d.kill9();
    d.restart();
    probe(&d, "after a restart");
    d.rm_f_and_assert_clean(&["rawd", "rawu", "pub"]);
    // Nothing runs: route_localnet goes with the table that guards it.
    d.stop();
    assert!(!d.table_exists());
    for bridge in [&d.bridge, &user_bridge] {
        let localnet = std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"));
        assert_eq!(localnet.expect("route_localnet").trim(), "0", "{bridge}");
    }
}

/// Issue 10, hole 3, for records written before berth noted which bridges it made: at the next
/// start a missing or berth-like bridge is taken as berth's, any other interface of that name
/// is left alone for good (its network has no bridge, and `network rm` doesn't delete it).
#[test]
fn old_network_records_never_make_berth_delete_a_bridge_it_did_not_create() {
    let mut d = setup();
    let third = 10 + std::process::id() % 200;
    let (s1, s2) = (format!("10.250.{third}.0/24"), format!("10.251.{third}.0/24"));
    d.berth(&["network", "create", "--subnet", &s1, "old1"]).ok();
    d.berth(&["network", "create", "--subnet", &s2, "old2"]).ok();
    let bridge_of =
        |d: &Daemon, n: &str| format!("br-{}", &d.berth(&["network", "inspect", "-f", "{{.Id}}", n]).ok()[..12]);
    let (b1, b2) = (bridge_of(&d, "old1"), bridge_of(&d, "old2"));
    d.stop();
    // The records as older versions wrote them.
    for e in std::fs::read_dir(d.root.join("networks")).expect("records").flatten() {
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        if v["name"] == "old1" || v["name"] == "old2" {
            v.as_object_mut().unwrap().remove("created_bridge").expect("the field");
            std::fs::write(e.path(), serde_json::to_vec(&v).unwrap()).unwrap();
        }
    }
    // old2's bridge is gone and someone else's interface has its name.
    sh(&format!("ip link del {b2}"));
    let other = TestLink(b2.clone());
    sh(&format!("ip link add {b2} type veth peer name {}z", d.bridge));
    d.restart();
    assert!(d.log().contains(&format!("{b2} already exists on the host and is not a bridge")), "{}", d.log());
    d.berth(&["run", "--rm", "--network", "old1", "busybox", "true"]).ok();
    let r = d.berth(&["run", "--rm", "--network", "old2", "busybox", "true"]);
    assert!(r.code != 0 && r.stderr.contains("network old2 has no bridge"), "{r:?}");
    assert_eq!(addrs(&other.0), Vec::<String>::new(), "berth put an address on the other interface");
    // Settled for good: the same after another restart.
    d.restart();
    let r = d.berth(&["run", "--rm", "--network", "old2", "busybox", "true"]);
    assert!(r.code != 0 && r.stderr.contains("network old2 has no bridge"), "{r:?}");
    assert!(!nft_table(&d).contains(&b2), "rules for the other interface: {}", nft_table(&d));
    d.berth(&["network", "rm", "old1", "old2"]).ok();
    assert!(!Daemon::link_exists(&b1), "old1's bridge is left");
    assert!(Daemon::link_exists(&other.0), "network rm deleted an interface berth did not create");
}
