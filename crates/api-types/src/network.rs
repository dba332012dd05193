//! Network endpoints (`/networks`, `/networks/create`, `/networks/{id}/connect`, ...) and the
//! per-network endpoint settings shared with container create and inspect.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gojson::null_default;

/// Per-network endpoint configuration at create time (spec `NetworkingConfig`), the
/// `NetworkingConfig` member of `POST /containers/create`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkingConfig {
    /// Network name or ID to endpoint configuration; `{}` connects with defaults.
    #[serde(deserialize_with = "null_default")]
    pub endpoints_config: BTreeMap<String, EndpointSettings>,
}

/// Configuration and state of a network endpoint (spec `EndpointSettings`).
///
/// Requested in `NetworkingConfig.EndpointsConfig` and `POST /networks/{id}/connect`; reported in
/// `NetworkSettings.Networks` of container inspect and list. The fields from `NetworkID` on are
/// operational data set by the daemon.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EndpointSettings {
    /// Static addresses requested for this endpoint.
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIPAMConfig>,
    /// Legacy links: `container_name:alias`.
    pub links: Option<Vec<String>>,
    /// Extra DNS names for this endpoint.
    pub aliases: Option<Vec<String>>,
    /// MAC address requested or assigned.
    #[serde(deserialize_with = "null_default")]
    pub mac_address: String,
    /// Driver options for this endpoint.
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// Default-gateway priority: the highest-priority endpoint provides the default route.
    #[serde(deserialize_with = "null_default")]
    pub gw_priority: i64,
    /// Network ID.
    #[serde(rename = "NetworkID", deserialize_with = "null_default")]
    pub network_id: String,
    /// Endpoint ID.
    #[serde(rename = "EndpointID", deserialize_with = "null_default")]
    pub endpoint_id: String,
    /// IPv4 gateway.
    #[serde(deserialize_with = "null_default")]
    pub gateway: String,
    /// IPv4 address.
    #[serde(rename = "IPAddress", deserialize_with = "null_default")]
    pub ip_address: String,
    /// IPv4 prefix length.
    #[serde(rename = "IPPrefixLen", deserialize_with = "null_default")]
    pub ip_prefix_len: i64,
    /// IPv6 gateway.
    #[serde(rename = "IPv6Gateway", deserialize_with = "null_default")]
    pub ipv6_gateway: String,
    /// Global IPv6 address.
    #[serde(rename = "GlobalIPv6Address", deserialize_with = "null_default")]
    pub global_ipv6_address: String,
    /// Global IPv6 prefix length.
    #[serde(rename = "GlobalIPv6PrefixLen", deserialize_with = "null_default")]
    pub global_ipv6_prefix_len: i64,
    /// DNS names of this endpoint on this network (name, aliases, short ID, hostname).
    #[serde(rename = "DNSNames")]
    pub dns_names: Option<Vec<String>>,
}

/// Static addresses requested for an endpoint (spec `EndpointIPAMConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointIPAMConfig {
    /// IPv4 address.
    #[serde(rename = "IPv4Address", skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub ipv4_address: String,
    /// IPv6 address.
    #[serde(rename = "IPv6Address", skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub ipv6_address: String,
    /// Link-local addresses.
    #[serde(rename = "LinkLocalIPs", skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub link_local_ips: Vec<String>,
}

/// A network as returned by `GET /networks/{id}` and listed by `GET /networks` (spec `Network`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Network {
    /// Network name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Network ID.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Creation time, RFC 3339 with nanoseconds (`0001-01-01T00:00:00Z` for predefined networks).
    #[serde(deserialize_with = "null_default")]
    pub created: String,
    /// `local`, `global` or `swarm`.
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    /// Driver name: `bridge`, `host`, `null`, `macvlan`, ...
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// IPv4 enabled.
    #[serde(rename = "EnableIPv4", deserialize_with = "null_default")]
    pub enable_ipv4: bool,
    /// IPv6 enabled.
    #[serde(rename = "EnableIPv6", deserialize_with = "null_default")]
    pub enable_ipv6: bool,
    /// Address management.
    #[serde(rename = "IPAM", deserialize_with = "null_default")]
    pub ipam: Ipam,
    /// No external connectivity.
    #[serde(deserialize_with = "null_default")]
    pub internal: bool,
    /// Swarm-scoped network attachable by standalone containers.
    #[serde(deserialize_with = "null_default")]
    pub attachable: bool,
    /// Swarm routing-mesh network.
    #[serde(deserialize_with = "null_default")]
    pub ingress: bool,
    /// Config-only network this one takes its configuration from.
    #[serde(deserialize_with = "null_default")]
    pub config_from: ConfigReference,
    /// Placeholder network holding configuration only.
    #[serde(deserialize_with = "null_default")]
    pub config_only: bool,
    /// Attached endpoints by container ID; empty in list responses.
    #[serde(deserialize_with = "null_default")]
    pub containers: BTreeMap<String, NetworkContainer>,
    /// Driver options.
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
    /// User labels.
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// Peer nodes of an overlay network.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub peers: Vec<PeerInfo>,
    /// Swarm service attachments, with `verbose=true` only; kept as raw JSON.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub services: BTreeMap<String, serde_json::Value>,
}

/// IP address management of a network (spec `IPAM`), in [`Network`] and [`NetworkCreateRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Ipam {
    /// IPAM driver; `default` or empty for the built-in one.
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// Address pools.
    #[serde(deserialize_with = "null_default")]
    pub config: Vec<IpamConfig>,
    /// Driver options; dockerd sends `null` when there are none.
    pub options: Option<BTreeMap<String, String>>,
}

/// One address pool of an [`Ipam`] (spec `IPAMConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct IpamConfig {
    /// Subnet in CIDR form.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub subnet: String,
    /// Sub-range for dynamic allocation, CIDR form.
    #[serde(rename = "IPRange", skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub ip_range: String,
    /// Gateway address.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub gateway: String,
    /// Reserved addresses by name (Go's `AuxAddress`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub auxiliary_addresses: BTreeMap<String, String>,
}

/// An endpoint attached to a network (spec `NetworkContainer`), in `Network.Containers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkContainer {
    /// Container name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Endpoint ID.
    #[serde(rename = "EndpointID", deserialize_with = "null_default")]
    pub endpoint_id: String,
    /// MAC address.
    #[serde(deserialize_with = "null_default")]
    pub mac_address: String,
    /// IPv4 address with prefix length, e.g. `172.19.0.2/16`.
    #[serde(rename = "IPv4Address", deserialize_with = "null_default")]
    pub ipv4_address: String,
    /// IPv6 address with prefix length.
    #[serde(rename = "IPv6Address", deserialize_with = "null_default")]
    pub ipv6_address: String,
}

/// A peer node of an overlay network (spec `PeerInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PeerInfo {
    /// Node ID.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Node IP address.
    #[serde(rename = "IP", deserialize_with = "null_default")]
    pub ip: String,
}

/// A reference to a config-only network (spec `ConfigReference`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ConfigReference {
    /// Name of the config-only network.
    #[serde(deserialize_with = "null_default")]
    pub network: String,
}

/// The body of `POST /networks/create`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkCreateRequest {
    /// Network name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Pre-v1.44 duplicate-name check; ignored by current daemons, which always reject duplicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_duplicate: Option<bool>,
    /// Driver name; empty means `bridge`.
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// `local`, `global` or `swarm`; empty for the driver's default.
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    /// Enable IPv4; `None` means the default (enabled).
    #[serde(rename = "EnableIPv4", skip_serializing_if = "Option::is_none")]
    pub enable_ipv4: Option<bool>,
    /// Enable IPv6; `None` means the default (disabled unless configured).
    #[serde(rename = "EnableIPv6", skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    /// Custom address management; `None` for automatic subnets.
    #[serde(rename = "IPAM")]
    pub ipam: Option<Ipam>,
    /// Restrict external access.
    #[serde(deserialize_with = "null_default")]
    pub internal: bool,
    /// Attachable by standalone containers (swarm networks).
    #[serde(deserialize_with = "null_default")]
    pub attachable: bool,
    /// Routing-mesh network (swarm).
    #[serde(deserialize_with = "null_default")]
    pub ingress: bool,
    /// Create a config-only network.
    #[serde(deserialize_with = "null_default")]
    pub config_only: bool,
    /// Take the configuration from this config-only network.
    pub config_from: Option<ConfigReference>,
    /// Driver options.
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
    /// User labels.
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
}

/// The response of `POST /networks/create` (201).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkCreateResponse {
    /// ID of the created network.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// A single warning string (not an array), empty when there is none.
    #[serde(deserialize_with = "null_default")]
    pub warning: String,
}

/// The body of `POST /networks/{id}/connect`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkConnectRequest {
    /// Container ID or name.
    #[serde(deserialize_with = "null_default")]
    pub container: String,
    /// Endpoint configuration for the new connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_config: Option<EndpointSettings>,
}

/// The body of `POST /networks/{id}/disconnect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkDisconnectRequest {
    /// Container ID or name.
    #[serde(deserialize_with = "null_default")]
    pub container: String,
    /// Disconnect even if the container is not running or the network is gone.
    #[serde(deserialize_with = "null_default")]
    pub force: bool,
}

/// The response of `POST /networks/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkPruneResponse {
    /// Names of the removed networks.
    #[serde(deserialize_with = "null_default")]
    pub networks_deleted: Vec<String>,
}

/// The body of `POST /containers/{id}/ports`, berth's extension: publish more ports of a
/// running (or stopped) container without re-creating it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PortsAddRequest {
    /// Container port (`80/tcp`) to host bindings, as `HostConfig.PortBindings`.
    #[serde(deserialize_with = "null_default")]
    pub port_bindings: crate::container::PortMap,
}

/// The response of `POST /containers/{id}/ports` and `DELETE /containers/{id}/ports/{port}`:
/// the container's published ports afterwards, as `NetworkSettings.Ports`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PortsResponse {
    /// Published ports.
    #[serde(deserialize_with = "null_default")]
    pub ports: crate::container::PortMap,
}
