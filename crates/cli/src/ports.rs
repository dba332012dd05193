//! Port specs and `berth port`.
//!
//! [`parse_publish`] and [`parse_expose`] read `-p`/`--publish` and `--expose` exactly as docker
//! does (go-connections `nat.ParsePortSpecs`, cli `convertToStandardNotation`), with its error
//! messages. [`port`] is docker's `port CONTAINER [PRIVATE_PORT[/PROTO]]`, plus berth's
//! `port add` and `port rm`, which publish and unpublish ports of an existing container:
//!
//! - `port add CONTAINER SPEC...`: `POST /containers/{id}/ports`, body
//!   `{"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}}` ([`PortsAddRequest`]).
//! - `port rm CONTAINER [IP:]HOST_PORT[/PROTO]...`: one
//!   `DELETE /containers/{id}/ports/{host_port}?proto=tcp[&host_ip=IP]` per argument.
//!
//! Both answer with the container's published ports afterwards ([`PortsResponse`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::{anyhow, bail};
use api_types::EmptyObject;
use api_types::container::{PortBinding, PortMap};
use api_types::network::{PortsAddRequest, PortsResponse};
use client::Client;
use hyper::Method;

use crate::containers::container_path;
use crate::format::query::Query;
use crate::format::{join_host_port, natural_cmp, print};

/// Exposed container ports as a set: `{"80/tcp": {}}`.
pub type PortSet = BTreeMap<String, EmptyObject>;

/// Go's `strconv.ParseUint(s, 10, 16)`, with its error text.
fn parse_u16(s: &str) -> Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseUint: parsing {s:?}: invalid syntax"));
    }
    s.parse().map_err(|_| format!("strconv.ParseUint: parsing {s:?}: value out of range"))
}

/// go-connections `ParsePortRange`: `80` or `8000-8010`.
fn parse_range(ports: &str) -> Result<(u16, u16), String> {
    if ports.is_empty() {
        return Err("empty string specified for ports".into());
    }
    let mut parts = ports.split('-');
    let start = parse_u16(parts.next().unwrap_or_default())?;
    let end = match parts.next() {
        Some(e) => parse_u16(e)?,
        None => return Ok((start, start)),
    };
    if end < start {
        return Err(format!("invalid range specified for port: {ports}"));
    }
    Ok((start, end))
}

/// go-connections `SplitProtoPort`: `80/udp` → (`udp`, `80`); the protocol defaults to `tcp`.
fn split_proto_port(raw: &str) -> (&str, &str) {
    let mut parts = raw.split('/');
    let port = parts.next().unwrap_or_default();
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        Some(p) if !p.is_empty() => (p, port),
        _ => ("tcp", port),
    }
}

/// go-connections `NewPort`: `80/tcp`, `80-82/tcp`.
fn port_key(proto: &str, start: u16, end: u16) -> String {
    if start == end { format!("{start}/{proto}") } else { format!("{start}-{end}/{proto}") }
}

/// go-connections `ParsePortSpec`: one `-p` value to (container port, binding) pairs, one per
/// port of a range (`8000-8001:80-81`); a host range for a single container port stays a
/// range (`8000-8010:80`: the daemon picks one).
pub fn parse_port_spec(raw: &str) -> anyhow::Result<Vec<(String, PortBinding)>> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (ip, host, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (proto, container) = split_proto_port(container);
    let ip = match ip.strip_prefix('[') {
        Some(rest) => match rest.strip_suffix(']') {
            Some(inner) if !inner.contains(['[', ']']) => inner.to_owned(),
            _ => bail!("invalid IP address {ip}: address {ip}:: missing ']' in address"),
        },
        None => ip,
    };
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        bail!("invalid IP address: {ip}");
    }
    if container.is_empty() {
        bail!("no port specified: {raw}<empty>");
    }
    let (start, end) = parse_range(container).map_err(|_| anyhow!("invalid containerPort: {container}"))?;
    let (host_start, host_end) =
        if host.is_empty() { (0, 0) } else { parse_range(host).map_err(|_| anyhow!("invalid hostPort: {host}"))? };
    if !host.is_empty() && end - start != host_end - host_start && end != start {
        bail!("invalid ranges specified for container and host Ports: {container} and {host}");
    }
    let lower = proto.to_ascii_lowercase();
    if !matches!(lower.as_str(), "tcp" | "udp" | "sctp") {
        bail!("invalid proto: {proto}");
    }
    Ok((0..=end - start)
        .map(|i| {
            let host_port = match host {
                "" => String::new(),
                _ if start == end && host_start != host_end => format!("{host_start}-{host_end}"),
                _ => (host_start + i).to_string(),
            };
            (port_key(&lower, start + i, start + i), PortBinding { host_ip: ip.clone(), host_port })
        })
        .collect())
}

/// `-p` values (docker's `convertToStandardNotation` then `nat.ParsePortSpecs`): the exposed
/// ports and the bindings. The long form `published=8080,target=80,protocol=udp` is accepted.
pub fn parse_publish(specs: &[String]) -> anyhow::Result<(PortSet, PortMap)> {
    let mut exposed = PortSet::new();
    let mut bindings = PortMap::new();
    for spec in specs {
        let spec = if spec.contains('=') {
            let mut params = BTreeMap::from([("protocol", "tcp")]);
            for param in spec.split(',') {
                match param.split_once('=') {
                    Some((k, v)) if !k.is_empty() => params.insert(k, v),
                    _ => bail!("invalid publish opts format (should be name=value but got '{param}')"),
                };
            }
            let get = |k| params.get(k).copied().unwrap_or_default();
            format!("{}:{}/{}", get("published"), get("target"), get("protocol"))
        } else {
            spec.clone()
        };
        for (port, binding) in parse_port_spec(&spec)? {
            exposed.insert(port.clone(), EmptyObject);
            bindings.entry(port).or_insert_with(|| Some(Vec::new())).get_or_insert_with(Vec::new).push(binding);
        }
    }
    Ok((exposed, bindings))
}

/// `--expose 80`, `--expose 7000-7002/udp`: adds each port to `exposed`.
pub fn parse_expose(specs: &[String], exposed: &mut PortSet) -> anyhow::Result<()> {
    for e in specs {
        if e.contains(':') {
            bail!("invalid port format for --expose: {e}");
        }
        let (proto, port) = split_proto_port(e);
        let (start, end) =
            parse_range(port).map_err(|err| anyhow!("invalid range format for --expose: {e}, error: {err}"))?;
        for p in start..=end {
            exposed.insert(port_key(proto, p, p), EmptyObject);
        }
    }
    Ok(())
}

/// `berth port`.
#[derive(Debug, clap::Args)]
#[command(
    override_usage = "berth port CONTAINER [PRIVATE_PORT[/PROTO]]\n       berth port add CONTAINER [[IP:]HOST_PORT:]CONTAINER_PORT[/PROTO]...\n       berth port rm CONTAINER [IP:]HOST_PORT[/PROTO]...",
    after_help = "With a container only, lists its published ports (\"80/tcp -> 0.0.0.0:8080\"); with a\nprivate port, the host addresses it is published on.\n\nberth extensions, for a container that exists already (running or not):\n  add   publish more ports; SPEC takes the forms of `run -p` (ranges, /udp, [::1]:8080:80)\n  rm    stop publishing host ports; PROTO defaults to tcp, IP to every address\n\nThe first argument is `add` or `rm` only when at least two more arguments follow, so\n`berth port add` still lists the ports of a container named \"add\"."
)]
pub struct PortArgs {
    /// CONTAINER [PRIVATE_PORT[/PROTO]], or add|rm CONTAINER followed by specs
    #[arg(value_name = "ARGS", required = true)]
    pub args: Vec<String>,
}

/// What a `berth port` command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum PortCommand<'a> {
    List { container: &'a str, port: Option<&'a str> },
    Add { container: &'a str, specs: &'a [String] },
    Rm { container: &'a str, ports: &'a [String] },
}

fn port_command(args: &[String]) -> anyhow::Result<PortCommand<'_>> {
    match args {
        [cmd, container, rest @ ..] if cmd == "add" && !rest.is_empty() => {
            Ok(PortCommand::Add { container, specs: rest })
        }
        [cmd, container, rest @ ..] if cmd == "rm" && !rest.is_empty() => {
            Ok(PortCommand::Rm { container, ports: rest })
        }
        [container] => Ok(PortCommand::List { container, port: None }),
        [container, port] => Ok(PortCommand::List { container, port: Some(port) }),
        _ => Err(anyhow!(
            "berth: 'berth port' requires at least 1 and at most 2 arguments\n\nUsage:  berth port CONTAINER [PRIVATE_PORT[/PROTO]]\n\nRun 'berth port --help' for more information"
        )),
    }
}

/// docker's `port` lines: `80/tcp -> 0.0.0.0:8080` for every binding, or only the host
/// addresses of `private` (`80`, `53/udp`), in natural order.
fn port_lines(ports: &PortMap, private: Option<&str>) -> Option<Vec<String>> {
    let mut out: Vec<String> = match private {
        Some(key) => ports
            .get(key)?
            .as_ref()
            .filter(|b| !b.is_empty())?
            .iter()
            .map(|b| join_host_port(&b.host_ip, &b.host_port))
            .collect(),
        None => ports
            .iter()
            .flat_map(|(from, bs)| {
                bs.iter().flatten().map(move |b| format!("{from} -> {}", join_host_port(&b.host_ip, &b.host_port)))
            })
            .collect(),
    };
    out.sort_by(|a, b| natural_cmp(a, b));
    Some(out)
}

fn print_lines(lines: &[String]) {
    if !lines.is_empty() {
        print(&(lines.join("\n") + "\n"));
    }
}

/// `[IP:]HOST_PORT[/PROTO]` of `port rm`: (host port, protocol, host IP).
fn parse_host_port(raw: &str) -> anyhow::Result<(u16, String, Option<String>)> {
    let (addr, proto) = raw.rsplit_once('/').unwrap_or((raw, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        bail!("invalid proto: {proto}");
    }
    let (ip, port) = match addr.rsplit_once(':') {
        Some((ip, port)) => {
            let ip = ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')).unwrap_or(ip);
            ip.parse::<IpAddr>().map_err(|_| anyhow!("invalid IP address: {ip}"))?;
            (Some(ip.to_owned()), port)
        }
        None => (None, addr),
    };
    let port = parse_u16(port).map_err(|_| anyhow!("invalid hostPort: {port}"))?;
    Ok((port, proto, ip))
}

/// `berth port`, `berth port add`, `berth port rm`.
pub async fn port(c: &Client, a: PortArgs) -> anyhow::Result<i32> {
    match port_command(&a.args)? {
        PortCommand::List { container, port } => {
            let v: serde_json::Value = c.get(&container_path(container, "/json")).await?;
            let ports: PortMap = serde_json::from_value(v["NetworkSettings"]["Ports"].clone()).unwrap_or_default();
            let key = match port {
                Some(p) => {
                    let (num, proto) = p.split_once('/').unwrap_or((p, ""));
                    parse_u16(num).map_err(|e| anyhow!("Error: invalid port ({num}): {e}"))?;
                    Some(format!("{num}/{}", if proto.is_empty() { "tcp" } else { proto }))
                }
                None => None,
            };
            let lines = port_lines(&ports, key.as_deref()).ok_or_else(|| {
                anyhow!("Error: No public port '{}' published for {container}", port.unwrap_or_default())
            })?;
            print_lines(&lines);
            Ok(0)
        }
        PortCommand::Add { container, specs } => {
            let (_, port_bindings) = parse_publish(specs)?;
            let body = PortsAddRequest { port_bindings };
            let r: PortsResponse = c.json(Method::POST, &container_path(container, "/ports"), Some(&body)).await?;
            print_lines(&port_lines(&r.ports, None).unwrap_or_default());
            Ok(0)
        }
        PortCommand::Rm { container, ports } => {
            let mut status = 0;
            for raw in ports {
                let r = async {
                    let (port, proto, ip) = parse_host_port(raw)?;
                    let mut q = Query::new();
                    q.set("proto", proto);
                    if let Some(ip) = ip {
                        q.set("host_ip", ip);
                    }
                    c.delete(&q.to_path(&container_path(container, &format!("/ports/{port}")))).await?;
                    anyhow::Ok(())
                };
                match r.await {
                    Ok(()) => println!("{raw}"),
                    Err(e) => {
                        eprintln!("{e:#}");
                        status = 1;
                    }
                }
            }
            Ok(status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(raw: &str) -> Vec<(String, String, String)> {
        parse_port_spec(raw).unwrap().into_iter().map(|(p, b)| (p, b.host_ip, b.host_port)).collect()
    }

    fn t(p: &str, ip: &str, host: &str) -> (String, String, String) {
        (p.into(), ip.into(), host.into())
    }

    #[test]
    fn port_specs_like_docker() {
        assert_eq!(spec("80"), [t("80/tcp", "", "")]);
        assert_eq!(spec("8080:80"), [t("80/tcp", "", "8080")]);
        assert_eq!(spec("127.0.0.1:8080:80"), [t("80/tcp", "127.0.0.1", "8080")]);
        assert_eq!(spec("127.0.0.1::80/udp"), [t("80/udp", "127.0.0.1", "")]);
        assert_eq!(spec("[::1]:8080:80"), [t("80/tcp", "::1", "8080")]);
        assert_eq!(spec("::1:8080:80"), [t("80/tcp", "::1", "8080")]);
        assert_eq!(spec("53:53/UDP"), [t("53/udp", "", "53")]);
        assert_eq!(spec("9/sctp"), [t("9/sctp", "", "")]);
        assert_eq!(
            spec("8000-8002:80-82"),
            [t("80/tcp", "", "8000"), t("81/tcp", "", "8001"), t("82/tcp", "", "8002")]
        );
        assert_eq!(spec("80-81"), [t("80/tcp", "", ""), t("81/tcp", "", "")]);
        assert_eq!(spec("8000-8010:80"), [t("80/tcp", "", "8000-8010")]);
        let err = |raw: &str| parse_port_spec(raw).unwrap_err().to_string();
        assert_eq!(err("abc"), "invalid containerPort: abc");
        assert_eq!(err("8080:abc"), "invalid containerPort: abc");
        assert_eq!(err("x:80"), "invalid hostPort: x");
        assert_eq!(err("80/icmp"), "invalid proto: icmp");
        assert_eq!(err("1.2.3:80:80"), "invalid IP address: 1.2.3");
        assert_eq!(err("[::1:80:80"), "invalid IP address [::1: address [::1:: missing ']' in address");
        assert_eq!(err("8080:"), "no port specified: 8080:<empty>");
        assert_eq!(
            err("8000-8002:80-81"),
            "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"
        );
        assert_eq!(err("82-80"), "invalid containerPort: 82-80");
        assert_eq!(err("70000"), "invalid containerPort: 70000");
        assert_eq!(err("+80"), "invalid containerPort: +80");
    }

    #[test]
    fn publish_and_expose() {
        let (exposed, bindings) = parse_publish(&[
            "8080:80".into(),
            "127.0.0.1:8081:80".into(),
            "published=53,target=53,protocol=udp".into(),
        ])
        .unwrap();
        assert_eq!(exposed.keys().collect::<Vec<_>>(), ["53/udp", "80/tcp"]);
        let b = bindings["80/tcp"].as_ref().unwrap();
        assert_eq!((b[0].host_port.as_str(), b[1].host_ip.as_str()), ("8080", "127.0.0.1"));
        assert_eq!(bindings["53/udp"].as_ref().unwrap()[0].host_port, "53");
        assert_eq!(
            parse_publish(&["published=8080".into()]).unwrap_err().to_string(),
            "no port specified: 8080:/tcp<empty>"
        );
        assert_eq!(
            parse_publish(&["a=1,b".into()]).unwrap_err().to_string(),
            "invalid publish opts format (should be name=value but got 'b')"
        );

        let mut exposed = PortSet::new();
        parse_expose(&["80".into(), "7000-7001/udp".into()], &mut exposed).unwrap();
        assert_eq!(exposed.keys().collect::<Vec<_>>(), ["7000/udp", "7001/udp", "80/tcp"]);
        let err = |e: &str| parse_expose(&[e.into()], &mut PortSet::new()).unwrap_err().to_string();
        assert_eq!(err("80:90"), "invalid port format for --expose: 80:90");
        assert_eq!(
            err("abc"),
            "invalid range format for --expose: abc, error: strconv.ParseUint: parsing \"abc\": invalid syntax"
        );
    }

    #[test]
    fn port_command_line() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = args(&["web"]);
        assert_eq!(port_command(&a).unwrap(), PortCommand::List { container: "web", port: None });
        let a = args(&["add", "80"]);
        assert_eq!(port_command(&a).unwrap(), PortCommand::List { container: "add", port: Some("80") });
        let a = args(&["add", "web", "8080:80", "53/udp"]);
        assert_eq!(port_command(&a).unwrap(), PortCommand::Add { container: "web", specs: &a[2..] });
        let a = args(&["rm", "web", "8080"]);
        assert_eq!(port_command(&a).unwrap(), PortCommand::Rm { container: "web", ports: &a[2..] });
        assert!(port_command(&args(&["web", "80", "81"])).is_err());
    }

    #[test]
    fn port_output_like_docker() {
        let b = |ip: &str, port: &str| PortBinding { host_ip: ip.into(), host_port: port.into() };
        let ports = PortMap::from([
            ("443/tcp".into(), Some(vec![b("0.0.0.0", "8443")])),
            ("80/tcp".into(), Some(vec![b("0.0.0.0", "8080"), b("::", "8080")])),
            ("53/udp".into(), Some(vec![])),
            ("9000/tcp".into(), None),
        ]);
        assert_eq!(
            port_lines(&ports, None).unwrap(),
            ["80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080", "443/tcp -> 0.0.0.0:8443"]
        );
        assert_eq!(port_lines(&ports, Some("80/tcp")).unwrap(), ["0.0.0.0:8080", "[::]:8080"]);
        assert_eq!(port_lines(&ports, Some("53/udp")), None);
        assert_eq!(port_lines(&ports, Some("9000/tcp")), None);
        assert_eq!(port_lines(&ports, Some("81/tcp")), None);
    }

    #[test]
    fn host_ports_to_remove() {
        assert_eq!(parse_host_port("8080").unwrap(), (8080, "tcp".into(), None));
        assert_eq!(parse_host_port("127.0.0.1:53/udp").unwrap(), (53, "udp".into(), Some("127.0.0.1".into())));
        assert_eq!(parse_host_port("[::1]:8080").unwrap(), (8080, "tcp".into(), Some("::1".into())));
        assert_eq!(parse_host_port("x").unwrap_err().to_string(), "invalid hostPort: x");
        assert_eq!(parse_host_port("80/icmp").unwrap_err().to_string(), "invalid proto: icmp");
        assert_eq!(parse_host_port("1.2:80").unwrap_err().to_string(), "invalid IP address: 1.2");
    }
}
