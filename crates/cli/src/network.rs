//! `berth network`: `create`, `ls`, `inspect`, `rm`, `prune`, `connect` and `disconnect`, with
//! docker CLI v28's flags, output and exit codes (`cli/command/network`).
//!
//! Requests: `POST /networks/create` ([`NetworkCreateRequest`], IPAM assembled as docker's
//! `createIPAMConfig` does, see [`ipam_config`]), `GET /networks?filters=`,
//! `GET /networks/{id}[?verbose=true]`, `DELETE /networks/{id}`, `POST /networks/prune?filters=`,
//! `POST /networks/{id}/connect` and `/disconnect`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::{anyhow, bail};
use api_types::network::{
    ConfigReference, EndpointIPAMConfig, EndpointSettings, Ipam, IpamConfig, Network, NetworkConnectRequest,
    NetworkCreateRequest, NetworkCreateResponse, NetworkDisconnectRequest, NetworkPruneResponse,
};
use client::Client;
use hyper::Method;
use serde_json::{Value, json};

use crate::containers::{FORMAT_HELP, INSPECT_FORMAT_HELP, get_raw, with_label_values};
use crate::format::query::{Filter, Filters, Query, path_segment};
use crate::format::{self, inspect, natural_cmp, output, print, truncate_id};
use crate::run::parse_link;

/// `berth network create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "map")]
    pub aux_address: Vec<String>,
    /// The network from which to copy the configuration
    #[arg(long = "config-from", value_name = "string")]
    pub config_from: Option<String>,
    /// Create a configuration only network
    #[arg(long = "config-only")]
    pub config_only: bool,
    /// Driver to manage the Network
    #[arg(short = 'd', long, value_name = "string", default_value = "bridge")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long, value_name = "strings", value_delimiter = ',')]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network
    #[arg(long)]
    pub ingress: bool,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_name = "strings", value_delimiter = ',')]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", value_name = "string", default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "map")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment (default true)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long, value_name = "list", value_parser = parse_label)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long, value_name = "map")]
    pub opt: Vec<String>,
    /// Control the network's scope
    #[arg(long, value_name = "string")]
    pub scope: Option<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_name = "strings", value_delimiter = ',')]
    pub subnet: Vec<String>,
    /// The network name
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

/// `berth network ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<Filter>,
    /// Format output using a custom template
    #[arg(long, value_name = "string", long_help = FORMAT_HELP)]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `berth network inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long, value_name = "string", long_help = INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Networks
    #[arg(value_name = "NETWORK", required = true)]
    pub networks: Vec<String>,
}

/// `berth network rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Networks
    #[arg(value_name = "NETWORK", required = true)]
    pub networks: Vec<String>,
}

/// `berth network prune`.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<Filter>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `berth network connect`.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long, value_name = "strings", value_delimiter = ',')]
    pub alias: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_name = "strings", value_delimiter = ',')]
    pub driver_opt: Vec<String>,
    /// Highest gw-priority provides the default gateway. Accepts positive and negative values.
    #[arg(long = "gw-priority", value_name = "int", default_value_t = 0, allow_negative_numbers = true)]
    pub gw_priority: i64,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long, value_name = "string")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long, value_name = "string")]
    pub ip6: Option<String>,
    /// Add link to another container
    #[arg(long, value_name = "list", value_parser = parse_link)]
    pub link: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip", value_name = "strings", value_delimiter = ',')]
    pub link_local_ip: Vec<String>,
    /// The network
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `berth network disconnect`.
#[derive(Debug, clap::Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short = 'f', long)]
    pub force: bool,
    /// The network
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `/networks/{name}` plus `rest`, the name escaped for the path.
fn network_path(name: &str, rest: &str) -> String {
    format!("/networks/{}{rest}", path_segment(name))
}

/// docker's `opts.ValidateLabel`: `key[=value]`, the key non-empty and without whitespace.
fn parse_label(value: &str) -> Result<String, String> {
    let value = value.trim_start_matches([' ', '\t']);
    let key = value.split('=').next().unwrap_or_default();
    if key.is_empty() {
        return Err(format!("invalid label '{value}': empty name"));
    }
    if key.contains([' ', '\t']) {
        return Err(format!("label '{key}' contains whitespaces"));
    }
    Ok(value.to_owned())
}

/// `k=v` flags as a map (docker's `MapOpts` and `ConvertKVStringsToMap`): a bare `k` maps to "".
fn kv_map(flags: &[String]) -> BTreeMap<String, String> {
    flags.iter().map(|f| f.split_once('=').unwrap_or((f, ""))).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

// ---- create ----

/// Go's `net.ParseCIDR`: the address as written and the prefix length.
fn parse_cidr(s: &str) -> Result<(IpAddr, u32), String> {
    let err = || format!("invalid CIDR address: {s}");
    let (ip, len) = s.split_once('/').ok_or_else(err)?;
    let ip: IpAddr = ip.parse().map_err(|_| err())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = Some(len).filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit())).ok_or_else(err)?;
    let len: u32 = len.parse().ok().filter(|l| *l <= max).ok_or_else(err)?;
    Ok((ip, len))
}

/// An address as bits and their width; IPv4-mapped IPv6 addresses count as IPv4, as in Go's
/// `IPNet.Contains`.
fn ip_bits(ip: IpAddr) -> (u128, u32) {
    match ip {
        IpAddr::V4(a) => (u32::from(a).into(), 32),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (u32::from(v4).into(), 32),
            None => (u128::from(a), 128),
        },
    }
}

/// docker's `subnetMatches`: whether `data` (an address or CIDR) lies in `subnet`.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let (net, len) = parse_cidr(subnet).map_err(|e| format!("invalid subnet: {e}"))?;
    let ip = if data.contains('/') { Some(parse_cidr(data)?.0) } else { data.parse().ok() };
    let Some(ip) = ip else { return Ok(false) };
    let (net, width) = match net {
        IpAddr::V4(a) => (u32::from(a).into(), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    };
    let (ip, ip_width) = ip_bits(ip);
    if width != ip_width {
        return Ok(false);
    }
    let mask = if len == 0 { 0 } else { (!0u128 >> (128 - width)) & (!0u128 << (width - len)) };
    Ok(net & mask == ip & mask)
}

/// docker's `createIPAMConfig`: one pool per `--subnet`, in order, each taking the
/// `--ip-range`, `--gateway` and `--aux-address` values that lie inside it.
fn ipam_config(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
    aux: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<IpamConfig>> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        bail!("every ip-range or gateway must have a corresponding subnet");
    }
    let mut pools: Vec<IpamConfig> = Vec::new();
    for s in subnets {
        for p in &pools {
            if subnet_matches(s, &p.subnet).map_err(|e| anyhow!(e))?
                || subnet_matches(&p.subnet, s).map_err(|e| anyhow!(e))?
            {
                bail!("multiple overlapping subnet configuration is not supported");
            }
        }
        pools.push(IpamConfig { subnet: s.clone(), ..Default::default() });
    }
    for r in ranges {
        let mut matched = false;
        for p in &mut pools {
            parse_cidr(r).map_err(|e| anyhow!(e))?;
            if !subnet_matches(&p.subnet, r).map_err(|e| anyhow!(e))? {
                continue;
            }
            if !p.ip_range.is_empty() {
                bail!("cannot configure multiple ranges ({r}, {}) on the same subnet ({})", p.ip_range, p.subnet);
            }
            p.ip_range = r.clone();
            matched = true;
        }
        if !matched {
            bail!("no matching subnet for range {r}");
        }
    }
    for g in gateways {
        let mut matched = false;
        for p in &mut pools {
            if !subnet_matches(&p.subnet, g).map_err(|e| anyhow!(e))? {
                continue;
            }
            if !p.gateway.is_empty() {
                bail!("cannot configure multiple gateways ({g}, {}) for the same subnet ({})", p.gateway, p.subnet);
            }
            p.gateway = g.clone();
            matched = true;
        }
        if !matched {
            bail!("no matching subnet for gateway {g}");
        }
    }
    for (key, addr) in aux {
        let mut matched = false;
        for p in &mut pools {
            if subnet_matches(&p.subnet, addr).map_err(|e| anyhow!(e))? {
                p.auxiliary_addresses.insert(key.clone(), addr.clone());
                matched = true;
            }
        }
        if !matched {
            bail!("no matching subnet for aux-address {addr}");
        }
    }
    Ok(pools)
}

/// The `POST /networks/create` body for the flags.
fn create_request(a: &CreateArgs) -> anyhow::Result<NetworkCreateRequest> {
    let config = ipam_config(&a.subnet, &a.ip_range, &a.gateway, &kv_map(&a.aux_address))?;
    Ok(NetworkCreateRequest {
        name: a.name.clone(),
        driver: a.driver.clone(),
        scope: a.scope.clone().unwrap_or_default(),
        enable_ipv4: a.ipv4,
        enable_ipv6: a.ipv6,
        ipam: Some(Ipam { driver: a.ipam_driver.clone(), config, options: Some(kv_map(&a.ipam_opt)) }),
        internal: a.internal,
        attachable: a.attachable,
        ingress: a.ingress,
        config_only: a.config_only,
        config_from: a.config_from.clone().map(|network| ConfigReference { network }),
        options: kv_map(&a.opt),
        labels: kv_map(&a.label),
        check_duplicate: None,
    })
}

/// `berth network create`: prints the new network's ID.
pub async fn create(c: &Client, a: CreateArgs) -> anyhow::Result<i32> {
    let body = create_request(&a)?;
    let r: NetworkCreateResponse = c.json(Method::POST, "/networks/create", Some(&body)).await?;
    println!("{}", r.id);
    Ok(0)
}

// ---- ls ----

const DEFAULT_NETWORK_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

/// docker's network `NewFormat`.
fn network_format(source: &str, quiet: bool) -> &str {
    match source {
        "table" if quiet => "{{.ID}}",
        "table" => DEFAULT_NETWORK_FORMAT,
        "raw" if quiet => "network_id: {{.ID}}",
        "raw" => "network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n",
        custom => custom,
    }
}

fn network_header() -> Value {
    json!({
        "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4",
        "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
    })
}

/// Go's `time.Time.String()` of an RFC 3339 time: `2024-05-01 10:00:00.123456789 +0000 UTC`
/// (an empty or zero time is Go's zero time).
fn go_time_text(rfc3339: &str) -> String {
    let t = match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t,
        Err(_) if rfc3339.is_empty() => return "0001-01-01 00:00:00 +0000 UTC".into(),
        Err(_) => return rfc3339.to_owned(),
    };
    let mut s = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos > 0 {
        s = format!("{s}.{}", format!("{nanos:09}").trim_end_matches('0'));
    }
    let offset = t.format("%z").to_string();
    let zone = if t.offset().local_minus_utc() == 0 { "UTC" } else { &offset };
    format!("{s} {offset} {zone}")
}

/// The fields docker's `networkContext` offers to `network ls` templates.
fn network_row(n: &Network, trunc: bool) -> Value {
    let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    json!({
        "ID": if trunc { truncate_id(&n.id) } else { &n.id },
        "Name": n.name,
        "Driver": n.driver,
        "Scope": n.scope,
        "IPv4": n.enable_ipv4.to_string(),
        "IPv6": n.enable_ipv6.to_string(),
        "Internal": n.internal.to_string(),
        "Labels": labels.join(","),
        "CreatedAt": go_time_text(&n.created),
    })
}

/// `berth network ls`: sorted by name in natural order, as docker does.
pub async fn ls(c: &Client, a: LsArgs) -> anyhow::Result<i32> {
    let mut q = Query::new();
    q.filters(&Filters::from_flags(&a.filter));
    let mut list: Vec<Network> = c.get(&q.to_path("/networks")).await?;
    list.sort_by(|x, y| natural_cmp(&x.name, &y.name));
    let source = a.format.as_deref().filter(|f| !f.is_empty()).unwrap_or("table");
    let mut header = network_header();
    let mut rows: Vec<Value> = list.iter().map(|n| network_row(n, !a.no_trunc)).collect();
    let labels: Vec<_> = list.iter().map(|n| &n.labels).collect();
    let fmt = with_label_values(network_format(source, a.quiet), &mut header, &mut rows, &labels);
    print(&format::render_list(&fmt, &header, &rows)?);
    Ok(0)
}

// ---- inspect, rm, prune ----

/// `berth network inspect`.
pub async fn inspect(c: &Client, a: InspectArgs) -> anyhow::Result<i32> {
    let rest = if a.verbose { "?verbose=true" } else { "" };
    inspect::run(
        &a.networks,
        a.format.as_deref(),
        |name| async move { Ok(get_raw(c, &network_path(&name, rest)).await?) },
    )
    .await
}

/// `berth network rm`: one network after the other, each name printed once removed, each
/// error printed as it happens; then docker's `exit status 1` if any failed.
pub async fn rm(c: &Client, a: RmArgs) -> anyhow::Result<i32> {
    let mut failed = false;
    for name in &a.networks {
        match c.delete(&network_path(name, "")).await {
            Ok(_) => println!("{name}"),
            Err(e) if a.force && e.is_not_found() => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        bail!("exit status 1");
    }
    Ok(0)
}

/// `berth network prune`.
pub async fn prune(c: &Client, a: PruneArgs) -> anyhow::Result<i32> {
    if !a.force
        && !output::confirm(
            "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?",
        )?
    {
        return Ok(0);
    }
    let mut q = Query::new();
    q.filters(&Filters::from_flags(&a.filter));
    let r: NetworkPruneResponse = c.json(Method::POST, &q.to_path("/networks/prune"), None::<&()>).await?;
    if !r.networks_deleted.is_empty() {
        print(&format!("Deleted Networks:\n{}\n\n", r.networks_deleted.join("\n")));
    }
    Ok(0)
}

// ---- connect, disconnect ----

/// POSTs a JSON body, ignoring the (empty) response.
async fn post_json(c: &Client, path: &str, body: Vec<u8>) -> anyhow::Result<()> {
    let resp = c.send(Method::POST, path, client::full(body), Some("application/json")).await?;
    client::read_all(&mut resp.into_body()).await?;
    Ok(())
}

/// The `POST /networks/{id}/connect` body, as docker fills it (empty lists and maps included).
fn connect_request(a: &ConnectArgs) -> anyhow::Result<NetworkConnectRequest> {
    let mut driver_opts = BTreeMap::new();
    for o in &a.driver_opt {
        match o.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => driver_opts.insert(k.trim().to_owned(), v.trim().to_owned()),
            _ => bail!("invalid key/value pair format in driver options"),
        };
    }
    let endpoint = EndpointSettings {
        ipam_config: Some(EndpointIPAMConfig {
            ipv4_address: a.ip.clone().unwrap_or_default(),
            ipv6_address: a.ip6.clone().unwrap_or_default(),
            link_local_ips: a.link_local_ip.clone(),
        }),
        links: Some(a.link.clone()),
        aliases: Some(a.alias.clone()),
        driver_opts: Some(driver_opts),
        gw_priority: a.gw_priority,
        ..Default::default()
    };
    Ok(NetworkConnectRequest { container: a.container.clone(), endpoint_config: Some(endpoint) })
}

/// `berth network connect`.
pub async fn connect(c: &Client, a: ConnectArgs) -> anyhow::Result<i32> {
    let body = serde_json::to_vec(&connect_request(&a)?)?;
    post_json(c, &network_path(&a.network, "/connect"), body).await?;
    Ok(0)
}

/// `berth network disconnect`.
pub async fn disconnect(c: &Client, a: DisconnectArgs) -> anyhow::Result<i32> {
    let body = serde_json::to_vec(&NetworkDisconnectRequest { container: a.container, force: a.force })?;
    post_json(c, &network_path(&a.network, "/disconnect"), body).await?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn ipam(
        subnets: &[&str],
        ranges: &[&str],
        gateways: &[&str],
        aux: &[(&str, &str)],
    ) -> anyhow::Result<Vec<IpamConfig>> {
        let aux = aux.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ipam_config(&strings(subnets), &strings(ranges), &strings(gateways), &aux)
    }

    #[test]
    fn ipam_like_docker() {
        assert_eq!(ipam(&[], &[], &[], &[]).unwrap(), []);
        let pools = ipam(
            &["10.1.0.0/16", "fd00:1::/64"],
            &["10.1.2.0/24"],
            &["fd00:1::1", "10.1.0.1"],
            &[("host", "10.1.0.5")],
        )
        .unwrap();
        assert_eq!(
            pools,
            [
                IpamConfig {
                    subnet: "10.1.0.0/16".into(),
                    ip_range: "10.1.2.0/24".into(),
                    gateway: "10.1.0.1".into(),
                    auxiliary_addresses: BTreeMap::from([("host".into(), "10.1.0.5".into())]),
                },
                IpamConfig { subnet: "fd00:1::/64".into(), gateway: "fd00:1::1".into(), ..Default::default() },
            ]
        );
        // A subnet given without prefix length is the daemon's to refuse, as with docker.
        assert_eq!(ipam(&["10.0.0.0"], &[], &[], &[]).unwrap()[0].subnet, "10.0.0.0");
        let err = |r: anyhow::Result<Vec<IpamConfig>>| r.unwrap_err().to_string();
        assert_eq!(
            err(ipam(&[], &[], &["10.1.0.1"], &[])),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(err(ipam(&["10.2.0.0/16"], &[], &["10.1.0.1"], &[])), "no matching subnet for gateway 10.1.0.1");
        assert_eq!(err(ipam(&["10.2.0.0/16"], &[], &["foo"], &[])), "no matching subnet for gateway foo");
        assert_eq!(
            err(ipam(&["10.0.0.0/8"], &["11.0.0.0/24"], &["10.1.0.1"], &[])),
            "no matching subnet for range 11.0.0.0/24"
        );
        assert_eq!(err(ipam(&["10.0.0.0/8"], &["foo"], &[], &[])), "invalid CIDR address: foo");
        assert_eq!(
            err(ipam(&["10.0.0.0/8", "10.1.0.0/16"], &[], &[], &[])),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(
            err(ipam(&["10.0.0.0/8", "11.0.0.0/8"], &[], &["10.0.0.1", "10.0.0.2"], &[])),
            "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/8)"
        );
        assert_eq!(
            err(ipam(&["10.0.0.0/8"], &[], &["10.0.0.1"], &[("a", "192.168.0.1")])),
            "no matching subnet for aux-address 192.168.0.1"
        );
        assert_eq!(
            err(ipam(&["10.0.0.0/33"], &[], &["10.0.0.1"], &[])),
            "invalid subnet: invalid CIDR address: 10.0.0.0/33"
        );
    }

    #[test]
    fn cidr_matching() {
        assert!(subnet_matches("10.0.0.0/8", "10.255.0.1").unwrap());
        assert!(!subnet_matches("10.0.0.0/8", "11.0.0.1").unwrap());
        assert!(subnet_matches("0.0.0.0/0", "1.2.3.4").unwrap());
        assert!(subnet_matches("10.0.0.0/8", "::ffff:10.0.0.1").unwrap());
        assert!(!subnet_matches("10.0.0.0/8", "fd00::1").unwrap());
        assert!(subnet_matches("fd00::/8", "fd12::1/64").unwrap());
        assert!(subnet_matches("192.168.1.7/24", "192.168.1.200").unwrap());
        assert!(parse_cidr("10.0.0.0/+8").is_err());
    }

    fn cli(args: &[&str]) -> crate::Command {
        crate::Cli::try_parse_from([&["berth", "network"], args].concat()).unwrap().command
    }

    #[test]
    fn create_body_like_docker() {
        let crate::Command::Network { command: crate::NetworkCommand::Create(a) } = cli(&[
            "create",
            "--subnet=10.9.0.0/16,fd09::/64",
            "--gateway",
            "10.9.0.254",
            "-o",
            "com.docker.network.bridge.name=br9",
            "--label",
            "team=a",
            "--ipv6",
            "--internal",
            "n9",
        ]) else {
            panic!("not network create")
        };
        let v = serde_json::to_value(create_request(&a).unwrap()).unwrap();
        assert_eq!(
            v,
            json!({
                "Name": "n9", "Driver": "bridge", "Scope": "", "EnableIPv6": true,
                "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.9.0.0/16", "Gateway": "10.9.0.254"},
                    {"Subnet": "fd09::/64"}], "Options": {}},
                "Internal": true, "Attachable": false, "Ingress": false, "ConfigOnly": false, "ConfigFrom": null,
                "Options": {"com.docker.network.bridge.name": "br9"}, "Labels": {"team": "a"},
            })
        );
        let crate::Command::Network { command: crate::NetworkCommand::Create(a) } =
            cli(&["create", "--ipv4=false", "n"])
        else {
            panic!("not network create")
        };
        assert_eq!((a.ipv4, a.ipv6, a.name.as_str()), (Some(false), None, "n"));
        assert!(crate::Cli::try_parse_from(["berth", "network", "create", "--label", "a b=c", "n"]).is_err());
    }

    #[test]
    fn connect_body_like_docker() {
        let crate::Command::Network { command: crate::NetworkCommand::Connect(a) } =
            cli(&["connect", "--ip", "10.9.0.5", "--alias", "db,pg", "net", "web"])
        else {
            panic!("not network connect")
        };
        let v = serde_json::to_value(connect_request(&a).unwrap()).unwrap();
        assert_eq!(v["Container"], "web");
        let ep = &v["EndpointConfig"];
        assert_eq!(ep["IPAMConfig"], json!({"IPv4Address": "10.9.0.5"}));
        assert_eq!(ep["Aliases"], json!(["db", "pg"]));
        assert_eq!((&ep["Links"], &ep["DriverOpts"]), (&json!([]), &json!({})));
        let crate::Command::Network { command: crate::NetworkCommand::Connect(a) } =
            cli(&["connect", "--driver-opt", "novalue", "net", "web"])
        else {
            panic!("not network connect")
        };
        assert_eq!(connect_request(&a).unwrap_err().to_string(), "invalid key/value pair format in driver options");
    }

    #[test]
    fn ls_table_like_docker() {
        let n = Network {
            name: "mynet".into(),
            id: "0123456789abcdef0123".into(),
            driver: "bridge".into(),
            scope: "local".into(),
            created: "2024-05-01T10:00:00.120000000Z".into(),
            labels: BTreeMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]),
            ..Default::default()
        };
        let rows = vec![network_row(&n, true)];
        let out = format::render_list(network_format("table", false), &network_header(), &rows).unwrap();
        assert_eq!(out, "NETWORK ID     NAME      DRIVER    SCOPE\n0123456789ab   mynet     bridge    local\n");
        let out = format::render_list(network_format("table", true), &network_header(), &rows).unwrap();
        assert_eq!(out, "0123456789ab\n");
        let out = format::render_list("{{.Labels}} {{.IPv6}} {{.CreatedAt}}", &network_header(), &rows).unwrap();
        assert_eq!(out, "a=1,b=2 false 2024-05-01 10:00:00.12 +0000 UTC\n");
        let (mut header, mut rows) = (network_header(), rows);
        let fmt = with_label_values("table {{.Name}}\t{{.Label \"a\"}}", &mut header, &mut rows, &[&n.labels]);
        assert_eq!(format::render_list(&fmt, &header, &rows).unwrap(), "NAME      a\nmynet     1\n");
        assert_eq!(go_time_text("0001-01-01T00:00:00Z"), "0001-01-01 00:00:00 +0000 UTC");
        assert_eq!(go_time_text("2024-05-01T12:00:00+02:00"), "2024-05-01 12:00:00 +0200 +0200");
    }
}
