//! Between the Docker wire types (`api-types`) and the engine's domain types.

use std::collections::BTreeMap;

use api_types::container as w;
use api_types::network::EndpointSettings;
use api_types::units::human_duration;
use chrono::{DateTime, SecondsFormat, Utc};
use engine::model::{Container, ContainerConfig, CreateRequest, HostConfig, RestartPolicy, Status, Ulimit};

use crate::ApiError;

/// Go's zero time as Docker prints it for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// RFC 3339 with nanoseconds, Go's `RFC3339Nano` (trailing zeros trimmed).
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    let s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // "…:20.120000000Z" → "…:20.12Z"; "…:20.000000000Z" → "…:20Z".
    let (head, _) = s.split_once('Z').unwrap_or((&s, ""));
    match head.split_once('.') {
        Some((secs, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() { format!("{secs}Z") } else { format!("{secs}.{frac}Z") }
        }
        None => s,
    }
}

/// RFC 3339 with all nine digits (Docker's `RFC3339NanoFixed`, used for log timestamps).
pub fn rfc3339_fixed(ns: i64) -> String {
    DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn time_or_zero(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(rfc3339).unwrap_or_else(|| ZERO_TIME.to_owned())
}

/// A `ConsoleSize` (`[rows, cols]`): `None` unless both are set.
pub fn console_size(c: &[u64]) -> Option<(u16, u16)> {
    match c {
        [rows, cols] if *rows > 0 && *cols > 0 => {
            Some((u16::try_from(*rows).unwrap_or(u16::MAX), u16::try_from(*cols).unwrap_or(u16::MAX)))
        }
        _ => None,
    }
}

/// The `Status` column of `docker ps`.
pub fn status_text(c: &Container, now: DateTime<Utc>) -> String {
    let since = |t: &Option<DateTime<Utc>>| t.map_or(0.0, |t| (now - t).as_seconds_f64());
    match c.state.status {
        Status::Running => format!("Up {}", human_duration(since(&c.state.started_at))),
        Status::Paused => format!("Up {} (Paused)", human_duration(since(&c.state.started_at))),
        Status::Restarting => {
            format!("Restarting ({}) {} ago", c.state.exit_code, human_duration(since(&c.state.finished_at)))
        }
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Created => "Created".into(),
        Status::Exited => {
            if c.state.finished_at.is_none() {
                "Created".into()
            } else {
                format!("Exited ({}) {} ago", c.state.exit_code, human_duration(since(&c.state.finished_at)))
            }
        }
    }
}

/// The `Command` of a container list entry (path and args joined, as dockerd does).
pub fn command_text(c: &Container) -> String {
    let mut parts = vec![c.path.clone()];
    parts.extend(c.args.iter().cloned());
    parts.join(" ")
}

fn opt_vec(v: &Option<Vec<String>>) -> Vec<String> {
    v.clone().unwrap_or_default()
}

fn unsupported(what: &str) -> ApiError {
    ApiError::bad_request(format!("{what} is not supported by this berth version"))
}

fn throttles_in(list: &Option<Vec<w::ThrottleDevice>>) -> Vec<engine::ThrottleDevice> {
    list.iter().flatten().map(|d| engine::ThrottleDevice { path: d.path.clone(), rate: d.rate }).collect()
}

fn throttles_out(list: &[engine::ThrottleDevice]) -> Option<Vec<w::ThrottleDevice>> {
    Some(list.iter().map(|d| w::ThrottleDevice { path: d.path.clone(), rate: d.rate }).collect())
}

fn weights_in(list: &Option<Vec<w::WeightDevice>>) -> Vec<engine::WeightDevice> {
    list.iter().flatten().map(|d| engine::WeightDevice { path: d.path.clone(), weight: d.weight }).collect()
}

/// Refuses the parts of `Resources` berth doesn't implement (so nothing is silently dropped).
fn refuse_unsupported_resources(r: &w::Resources) -> Result<(), ApiError> {
    if r.devices.as_ref().is_some_and(|d| !d.is_empty())
        || r.device_requests.as_ref().is_some_and(|d| !d.is_empty())
        || r.device_cgroup_rules.as_ref().is_some_and(|d| !d.is_empty())
    {
        return Err(unsupported("adding devices (--device, --gpus, --device-cgroup-rule)"));
    }
    if r.memory_swappiness.is_some_and(|s| s != -1) {
        return Err(unsupported("--memory-swappiness"));
    }
    if r.cpu_realtime_period != 0 || r.cpu_realtime_runtime != 0 {
        return Err(unsupported("--cpu-rt-period/--cpu-rt-runtime"));
    }
    if r.kernel_memory_tcp != 0 {
        return Err(unsupported("--kernel-memory-tcp"));
    }
    if !r.cgroup_parent.is_empty() {
        return Err(unsupported("--cgroup-parent"));
    }
    Ok(())
}

/// The engine's resources from the wire's (create).
pub fn resources_in(r: &w::Resources) -> Result<engine::Resources, ApiError> {
    refuse_unsupported_resources(r)?;
    Ok(engine::Resources {
        memory: r.memory,
        memory_swap: r.memory_swap,
        memory_reservation: r.memory_reservation,
        oom_kill_disable: r.oom_kill_disable,
        nano_cpus: r.nano_cpus,
        cpu_shares: r.cpu_shares,
        cpu_period: r.cpu_period,
        cpu_quota: r.cpu_quota,
        cpuset_cpus: r.cpuset_cpus.clone(),
        cpuset_mems: r.cpuset_mems.clone(),
        pids_limit: r.pids_limit,
        blkio_weight: r.blkio_weight,
        blkio_weight_device: weights_in(&r.blkio_weight_device),
        device_read_bps: throttles_in(&r.blkio_device_read_bps),
        device_write_bps: throttles_in(&r.blkio_device_write_bps),
        device_read_iops: throttles_in(&r.blkio_device_read_iops),
        device_write_iops: throttles_in(&r.blkio_device_write_iops),
    })
}

/// `POST /containers/{id}/update`: zero fields mean "unchanged", as in dockerd; an empty
/// restart policy name leaves the policy alone. Ulimits are berth's extension.
pub fn update_in(req: &w::ContainerUpdateRequest) -> Result<engine::ResourcesUpdate, ApiError> {
    let r = &req.resources;
    refuse_unsupported_resources(r)?;
    if r.oom_kill_disable.is_some() {
        // dockerd ignores it in updates too: the OOM killer can't be switched for a running cgroup
        // reliably (v2 has no switch at all).
        return Err(ApiError::bad_request("--oom-kill-disable can only be set when the container is created"));
    }
    let nz = |v: i64| (v != 0).then_some(v);
    Ok(engine::ResourcesUpdate {
        memory: nz(r.memory),
        memory_swap: nz(r.memory_swap),
        memory_reservation: nz(r.memory_reservation),
        nano_cpus: nz(r.nano_cpus),
        cpu_shares: nz(r.cpu_shares),
        cpu_period: nz(r.cpu_period),
        cpu_quota: nz(r.cpu_quota),
        cpuset_cpus: (!r.cpuset_cpus.is_empty()).then(|| r.cpuset_cpus.clone()),
        cpuset_mems: (!r.cpuset_mems.is_empty()).then(|| r.cpuset_mems.clone()),
        pids_limit: r.pids_limit,
        blkio_weight: (r.blkio_weight != 0).then_some(r.blkio_weight),
        blkio_weight_device: weights_in(&r.blkio_weight_device),
        device_read_bps: throttles_in(&r.blkio_device_read_bps),
        device_write_bps: throttles_in(&r.blkio_device_write_bps),
        device_read_iops: throttles_in(&r.blkio_device_read_iops),
        device_write_iops: throttles_in(&r.blkio_device_write_iops),
        ulimits: r
            .ulimits
            .iter()
            .flatten()
            .map(|u| Ulimit { name: u.name.clone(), soft: u.soft, hard: u.hard })
            .collect(),
        restart_policy: (!req.restart_policy.name.is_empty()).then(|| RestartPolicy {
            name: req.restart_policy.name.clone(),
            maximum_retry_count: req.restart_policy.maximum_retry_count,
        }),
    })
}

/// Parses a container create request, refusing settings berth doesn't implement (so that
/// nothing is silently ignored).
pub fn create_request(req: w::ContainerCreateRequest, name: Option<String>) -> Result<CreateRequest, ApiError> {
    let c = req.config;
    let hc = req.host_config.unwrap_or_default();
    if c.healthcheck.as_ref().is_some_and(|h| !h.test.is_empty()) {
        return Err(unsupported("a health check"));
    }
    let mounts = hc.mounts.iter().map(mount_spec_in).collect::<Result<Vec<_>, _>>()?;
    if hc.links.as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(unsupported("--link"));
    }
    let resources = resources_in(&hc.resources)?;
    if !hc.userns_mode.is_empty() && hc.userns_mode != "host" {
        return Err(ApiError::bad_request(format!(
            "invalid UsernsMode {:?}: leave it empty or use \"host\" (the daemon's --userns-remap decides the rest)",
            hc.userns_mode
        )));
    }
    let mut endpoints = BTreeMap::new();
    if let Some(n) = &req.networking_config {
        for (name, e) in &n.endpoints_config {
            endpoints.insert(name.clone(), endpoint_config(e, &c.mac_address)?);
        }
    } else if !c.mac_address.is_empty() {
        // Before API 1.44 the MAC address came in Config.
        let e = EndpointSettings { mac_address: c.mac_address.clone(), ..Default::default() };
        let net = if hc.network_mode.is_empty() { "default".to_owned() } else { hc.network_mode.clone() };
        endpoints.insert(net, endpoint_config(&e, "")?);
    }
    let port_bindings = port_bindings_in(hc.port_bindings.as_ref());
    let console = console_size(&hc.console_size);
    let config = ContainerConfig {
        hostname: c.hostname,
        domainname: c.domainname,
        user: c.user,
        attach_stdin: c.attach_stdin,
        attach_stdout: c.attach_stdout,
        attach_stderr: c.attach_stderr,
        tty: c.tty,
        open_stdin: c.open_stdin,
        stdin_once: c.stdin_once,
        env: opt_vec(&c.env),
        cmd: c.cmd,
        entrypoint: c.entrypoint,
        image: c.image,
        volumes: c.volumes.map(|v| v.into_keys().collect()).unwrap_or_default(),
        working_dir: c.working_dir,
        labels: c.labels.unwrap_or_default(),
        stop_signal: (!c.stop_signal.is_empty()).then_some(c.stop_signal),
        stop_timeout: c.stop_timeout,
        exposed_ports: {
            // Published ports are exposed too, as dockerd does.
            let mut e: Vec<String> = c.exposed_ports.into_keys().map(|k| port_key(&k)).collect();
            for k in port_bindings.keys() {
                if !e.contains(k) {
                    e.push(k.clone());
                }
            }
            e
        },
        network_disabled: c.network_disabled,
        mac_address: c.mac_address,
    };
    let host_config = HostConfig {
        port_bindings,
        publish_all_ports: hc.publish_all_ports,
        persist: hc.persist,
        supervise: hc.supervise.map(|s| engine::model::Supervise {
            programs: s.programs,
            cron: s.cron,
            exit_on: s.exit_on,
        }),
        network_mode: hc.network_mode,
        restart_policy: RestartPolicy {
            name: hc.restart_policy.name,
            maximum_retry_count: hc.restart_policy.maximum_retry_count,
        },
        auto_remove: hc.auto_remove,
        init: hc.init,
        privileged: hc.privileged,
        cap_add: opt_vec(&hc.cap_add),
        cap_drop: opt_vec(&hc.cap_drop),
        security_opt: opt_vec(&hc.security_opt),
        readonly_rootfs: hc.readonly_rootfs,
        group_add: opt_vec(&hc.group_add),
        dns: opt_vec(&hc.dns),
        dns_options: opt_vec(&hc.dns_options),
        dns_search: opt_vec(&hc.dns_search),
        extra_hosts: opt_vec(&hc.extra_hosts),
        shm_size: hc.shm_size,
        pid_mode: hc.pid_mode,
        ipc_mode: hc.ipc_mode,
        uts_mode: hc.uts_mode,
        cgroupns_mode: hc.cgroupns_mode,
        userns_mode: hc.userns_mode,
        // The engine's: the daemon's --userns-remap at create.
        userns_remap: None,
        ulimits: hc
            .resources
            .ulimits
            .unwrap_or_default()
            .into_iter()
            .map(|u| Ulimit { name: u.name, soft: u.soft, hard: u.hard })
            .collect(),
        oom_score_adj: hc.oom_score_adj,
        sysctls: hc.sysctls,
        console_size: console,
        masked_paths: hc.masked_paths,
        readonly_paths: hc.readonly_paths,
        tmpfs: hc.tmpfs,
        annotations: hc.annotations,
        log_type: hc.log_config.r#type,
        binds: opt_vec(&hc.binds),
        mounts,
        volumes_from: opt_vec(&hc.volumes_from),
        resources,
    };
    Ok(CreateRequest { name, config, host_config, endpoints })
}

/// The wire `Config` of a container.
pub fn config_out(c: &ContainerConfig) -> w::ContainerConfig {
    w::ContainerConfig {
        hostname: c.hostname.clone(),
        domainname: c.domainname.clone(),
        user: c.user.clone(),
        attach_stdin: c.attach_stdin,
        attach_stdout: c.attach_stdout,
        attach_stderr: c.attach_stderr,
        exposed_ports: c.exposed_ports.iter().map(|p| (p.clone(), api_types::EmptyObject)).collect(),
        tty: c.tty,
        open_stdin: c.open_stdin,
        stdin_once: c.stdin_once,
        env: Some(c.env.clone()),
        cmd: c.cmd.clone(),
        image: c.image.clone(),
        volumes: (!c.volumes.is_empty())
            .then(|| c.volumes.iter().map(|v| (v.clone(), api_types::EmptyObject)).collect()),
        working_dir: c.working_dir.clone(),
        entrypoint: c.entrypoint.clone(),
        network_disabled: c.network_disabled,
        mac_address: c.mac_address.clone(),
        labels: Some(c.labels.clone()),
        stop_signal: c.stop_signal.clone().unwrap_or_default(),
        stop_timeout: c.stop_timeout,
        ..Default::default()
    }
}

/// The wire `HostConfig` of a container.
pub fn host_config_out(h: &HostConfig) -> w::HostConfig {
    let mut out = w::HostConfig {
        network_mode: network_name(h),
        restart_policy: w::RestartPolicy {
            name: if h.restart_policy.name.is_empty() { "no".into() } else { h.restart_policy.name.clone() },
            maximum_retry_count: h.restart_policy.maximum_retry_count,
        },
        auto_remove: h.auto_remove,
        init: h.init,
        privileged: h.privileged,
        cap_add: Some(h.cap_add.clone()).filter(|v| !v.is_empty()),
        cap_drop: Some(h.cap_drop.clone()).filter(|v| !v.is_empty()),
        security_opt: Some(h.security_opt.clone()).filter(|v| !v.is_empty()),
        readonly_rootfs: h.readonly_rootfs,
        group_add: Some(h.group_add.clone()).filter(|v| !v.is_empty()),
        dns: Some(h.dns.clone()),
        dns_options: Some(h.dns_options.clone()),
        dns_search: Some(h.dns_search.clone()),
        extra_hosts: Some(h.extra_hosts.clone()).filter(|v| !v.is_empty()),
        shm_size: if h.shm_size > 0 { h.shm_size } else { 64 << 20 },
        pid_mode: h.pid_mode.clone(),
        ipc_mode: if h.ipc_mode.is_empty() { "private".into() } else { h.ipc_mode.clone() },
        uts_mode: h.uts_mode.clone(),
        cgroupns_mode: if h.cgroupns_mode.is_empty() { "private".into() } else { h.cgroupns_mode.clone() },
        userns_mode: h.userns_mode.clone(),
        oom_score_adj: h.oom_score_adj,
        sysctls: h.sysctls.clone(),
        console_size: h.console_size.map(|(r, c)| [u64::from(r), u64::from(c)]).unwrap_or([0, 0]),
        masked_paths: Some(
            h.masked_paths
                .clone()
                .unwrap_or_else(|| engine::spec::MASKED_PATHS.iter().map(|s| (*s).to_owned()).collect()),
        ),
        readonly_paths: Some(
            h.readonly_paths
                .clone()
                .unwrap_or_else(|| engine::spec::READONLY_PATHS.iter().map(|s| (*s).to_owned()).collect()),
        ),
        tmpfs: h.tmpfs.clone(),
        annotations: h.annotations.clone(),
        log_config: w::LogConfig { r#type: "berth".into(), config: Some(BTreeMap::new()) },
        runtime: "berth".into(),
        ..Default::default()
    };
    let r = &h.resources;
    out.resources = w::Resources {
        memory: r.memory,
        memory_swap: r.memory_swap,
        memory_reservation: r.memory_reservation,
        oom_kill_disable: Some(r.oom_kill_disable.unwrap_or(false)),
        nano_cpus: r.nano_cpus,
        cpu_shares: r.cpu_shares,
        cpu_period: r.cpu_period,
        cpu_quota: r.cpu_quota,
        cpuset_cpus: r.cpuset_cpus.clone(),
        cpuset_mems: r.cpuset_mems.clone(),
        pids_limit: r.pids_limit,
        blkio_weight: r.blkio_weight,
        blkio_weight_device: Some(
            r.blkio_weight_device.iter().map(|d| w::WeightDevice { path: d.path.clone(), weight: d.weight }).collect(),
        ),
        blkio_device_read_bps: throttles_out(&r.device_read_bps),
        blkio_device_write_bps: throttles_out(&r.device_write_bps),
        blkio_device_read_iops: throttles_out(&r.device_read_iops),
        blkio_device_write_iops: throttles_out(&r.device_write_iops),
        devices: Some(Vec::new()),
        ulimits: Some(
            h.ulimits.iter().map(|u| w::Ulimit { name: u.name.clone(), soft: u.soft, hard: u.hard }).collect(),
        ),
        ..Default::default()
    };
    out.binds = Some(h.binds.clone()).filter(|b| !b.is_empty());
    out.volumes_from = Some(h.volumes_from.clone()).filter(|b| !b.is_empty());
    out.mounts = h.mounts.iter().map(mount_spec_out).collect();
    out.port_bindings = Some(port_bindings_out(&h.port_bindings));
    out.publish_all_ports = h.publish_all_ports;
    out.persist = h.persist;
    out.supervise = h.supervise.as_ref().map(|s| w::Supervise {
        programs: s.programs.clone(),
        cron: s.cron.clone(),
        exit_on: s.exit_on.clone(),
    });
    out
}

/// `80` → `80/tcp`.
fn port_key(k: &str) -> String {
    if k.contains('/') { k.to_ascii_lowercase() } else { format!("{k}/tcp") }
}

fn port_bindings_in(m: Option<&w::PortMap>) -> BTreeMap<String, Vec<engine::PortBinding>> {
    let mut out = BTreeMap::new();
    for (k, v) in m.into_iter().flatten() {
        let binds: Vec<engine::PortBinding> = v
            .iter()
            .flatten()
            .map(|b| engine::PortBinding { host_ip: b.host_ip.clone(), host_port: b.host_port.clone() })
            .collect();
        if !binds.is_empty() {
            out.insert(port_key(k), binds);
        }
    }
    out
}

/// Wire port bindings to the engine's.
pub fn port_bindings(m: &w::PortMap) -> BTreeMap<String, Vec<engine::PortBinding>> {
    port_bindings_in(Some(m))
}

fn port_bindings_out(m: &BTreeMap<String, Vec<engine::PortBinding>>) -> w::PortMap {
    m.iter()
        .map(|(k, v)| {
            let b = v.iter().map(|b| w::PortBinding { host_ip: b.host_ip.clone(), host_port: b.host_port.clone() });
            (k.clone(), Some(b.collect()))
        })
        .collect()
}

/// A container's published ports as `NetworkSettings.Ports`: every exposed port, with its
/// host bindings while it runs (`null` when it has none).
pub fn ports_out(c: &Container) -> w::PortMap {
    let mut m = w::PortMap::new();
    if !c.is_running() {
        return m;
    }
    for k in &c.config.exposed_ports {
        m.insert(k.clone(), None);
    }
    for p in &c.state.network.ports {
        let key = format!("{}/{}", p.container_port, p.proto.as_str());
        m.entry(key)
            .or_insert(None)
            .get_or_insert_with(Vec::new)
            .push(w::PortBinding { host_ip: p.host_ip.to_string(), host_port: p.host_port.to_string() });
    }
    m
}

/// Parses an endpoint request (`--ip`, `--alias`, `--mac-address`); `legacy_mac` is the
/// pre-1.44 `Config.MacAddress`.
pub fn endpoint_config(e: &EndpointSettings, legacy_mac: &str) -> Result<engine::EndpointConfig, ApiError> {
    let ip = e.ipam_config.as_ref().map(|i| i.ipv4_address.as_str()).filter(|s| !s.is_empty());
    if e.ipam_config.as_ref().is_some_and(|i| !i.ipv6_address.is_empty()) {
        return Err(unsupported("an IPv6 address"));
    }
    let ipv4_address =
        ip.map(|s| s.parse().map_err(|_| ApiError::bad_request(format!("invalid IPv4 address: {s}")))).transpose()?;
    let mac = if e.mac_address.is_empty() { legacy_mac } else { e.mac_address.as_str() };
    Ok(engine::EndpointConfig {
        ipv4_address,
        aliases: e.aliases.clone().unwrap_or_default(),
        mac_address: (!mac.is_empty()).then(|| mac.to_owned()),
    })
}

/// The wire settings of an endpoint.
fn endpoint_out(c: &Container, net: &str, engine: &engine::Engine) -> EndpointSettings {
    let cfg = c.networks.get(net).cloned().unwrap_or_default();
    let mut e = EndpointSettings {
        aliases: (!cfg.aliases.is_empty()).then(|| cfg.aliases.clone()),
        ipam_config: cfg
            .ipv4_address
            .map(|ip| api_types::network::EndpointIPAMConfig { ipv4_address: ip.to_string(), ..Default::default() }),
        network_id: engine.network_id(net).unwrap_or_default(),
        mac_address: cfg.mac_address.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(ep) = c.state.network.endpoints.get(net) {
        e.endpoint_id = ep.endpoint_id.clone();
        e.ip_address = ep.ip.to_string();
        e.ip_prefix_len = i64::from(ep.prefix_len);
        e.gateway = ep.gateway.map(|g| g.to_string()).unwrap_or_default();
        e.mac_address = ep.mac.clone();
        if net != "bridge" {
            let mut names = vec![c.name.clone(), c.id[..12].to_owned()];
            names.extend(cfg.aliases.iter().cloned());
            e.dns_names = Some(names);
        }
    }
    e
}

/// The network name a container shows for its mode.
pub fn network_name(h: &HostConfig) -> String {
    match h.network_mode.as_str() {
        "" | "default" => "bridge".into(),
        m => m.to_owned(),
    }
}

fn networks(c: &Container, engine: &engine::Engine) -> BTreeMap<String, EndpointSettings> {
    let name = network_name(&c.host_config);
    if name.starts_with("container:") {
        return BTreeMap::new();
    }
    let mut m = BTreeMap::new();
    if name == "host" || name == "none" {
        m.insert(
            name.clone(),
            EndpointSettings { network_id: engine.network_id(&name).unwrap_or_default(), ..Default::default() },
        );
    }
    for n in c.networks.keys() {
        m.insert(n.clone(), endpoint_out(c, n, engine));
    }
    m
}

/// A `--mount` request in the engine's terms. Only what berth can do is accepted.
pub fn mount_spec_in(m: &w::Mount) -> Result<engine::model::MountSpec, ApiError> {
    use engine::model::MountKind;
    let kind = match m.r#type.as_str() {
        "volume" => MountKind::Volume,
        "bind" => MountKind::Bind,
        "tmpfs" => MountKind::Tmpfs,
        "" => return Err(ApiError::bad_request("invalid mount config: mount type unknown")),
        other => return Err(unsupported(&format!("a mount of type {other:?}"))),
    };
    let b = m.bind_options.clone().unwrap_or_default();
    let v = m.volume_options.clone().unwrap_or_default();
    let t = m.tmpfs_options.clone().unwrap_or_default();
    let driver = v.driver_config.unwrap_or_default();
    if !driver.name.is_empty() && driver.name != "local" {
        return Err(ApiError::not_found(format!(
            "error looking up volume plugin {0}: plugin \"{0}\" not found",
            driver.name
        )));
    }
    if !t.options.is_empty() {
        return Err(unsupported("tmpfs-option on --mount"));
    }
    if m.bind_options.is_some() && kind != MountKind::Bind
        || m.volume_options.is_some() && kind != MountKind::Volume
        || m.tmpfs_options.is_some() && kind != MountKind::Tmpfs
    {
        return Err(ApiError::bad_request(format!(
            "invalid mount config for type \"{}\": options of another mount type given",
            kind.as_str()
        )));
    }
    Ok(engine::model::MountSpec {
        kind,
        source: m.source.clone(),
        target: m.target.clone(),
        read_only: m.read_only,
        propagation: b.propagation,
        non_recursive: b.non_recursive,
        create_mountpoint: b.create_mountpoint,
        no_copy: v.no_copy,
        labels: v.labels,
        driver_options: driver.options,
        subpath: v.subpath,
        tmpfs_size: t.size_bytes,
        tmpfs_mode: t.mode & 0o7777,
    })
}

fn mount_spec_out(m: &engine::model::MountSpec) -> w::Mount {
    use engine::model::MountKind;
    w::Mount {
        r#type: m.kind.as_str().to_owned(),
        source: m.source.clone(),
        target: m.target.clone(),
        read_only: m.read_only,
        bind_options: (m.kind == MountKind::Bind
            && (!m.propagation.is_empty() || m.non_recursive || m.create_mountpoint))
            .then(|| w::BindOptions {
                propagation: m.propagation.clone(),
                non_recursive: m.non_recursive,
                create_mountpoint: m.create_mountpoint,
                ..Default::default()
            }),
        volume_options: (m.kind == MountKind::Volume
            && (m.no_copy || !m.labels.is_empty() || !m.driver_options.is_empty() || !m.subpath.is_empty()))
        .then(|| w::VolumeOptions {
            no_copy: m.no_copy,
            labels: m.labels.clone(),
            subpath: m.subpath.clone(),
            driver_config: (!m.driver_options.is_empty())
                .then(|| w::MountDriver { name: "local".into(), options: m.driver_options.clone() }),
        }),
        tmpfs_options: (m.kind == MountKind::Tmpfs && (m.tmpfs_size != 0 || m.tmpfs_mode != 0))
            .then(|| w::TmpfsOptions { size_bytes: m.tmpfs_size, mode: m.tmpfs_mode, options: Vec::new() }),
        ..Default::default()
    }
}

/// The `Mounts` of inspect and list: volumes, binds and `--mount` tmpfs mounts.
pub fn mounts_out(c: &Container, engine: &engine::Engine) -> Vec<w::MountPoint> {
    use engine::model::MountKind;
    c.mounts
        .iter()
        .map(|m| {
            let (source, driver) = match m.kind {
                MountKind::Volume => (
                    engine.volume(&m.name).map(|v| v.mountpoint.display().to_string()).unwrap_or_default(),
                    "local".to_owned(),
                ),
                MountKind::Bind => (m.source.clone(), String::new()),
                MountKind::Tmpfs => (String::new(), String::new()),
            };
            w::MountPoint {
                r#type: m.kind.as_str().to_owned(),
                name: m.name.clone(),
                source,
                destination: m.destination.clone(),
                driver,
                mode: if m.kind == MountKind::Volume && m.mode.is_empty() { "z".into() } else { m.mode.clone() },
                rw: m.rw,
                propagation: m.propagation.clone(),
            }
        })
        .collect()
}

/// `GET /containers/{id}/json`.
pub fn inspect(c: &Container, engine: &engine::Engine) -> w::ContainerInspectResponse {
    let st = &c.state;
    let file = |n: &str| engine.container_file(&c.id, n).display().to_string();
    let run = engine.run_dir(&c.id).display().to_string();
    let mut graph = BTreeMap::new();
    let (upper, work) = engine.rw_dirs(c);
    graph.insert("UpperDir".to_owned(), upper.display().to_string());
    graph.insert("WorkDir".to_owned(), work.display().to_string());
    graph.insert("MergedDir".to_owned(), run);
    w::ContainerInspectResponse {
        id: c.id.clone(),
        created: rfc3339(&c.created),
        path: c.path.clone(),
        args: c.args.clone(),
        state: w::ContainerState {
            status: st.status.as_str().to_owned(),
            running: c.is_running(),
            paused: st.status == Status::Paused,
            restarting: st.status == Status::Restarting,
            oom_killed: st.oom_killed,
            dead: st.status == Status::Dead,
            pid: i64::from(st.pid),
            exit_code: i64::from(st.exit_code),
            error: st.error.clone(),
            started_at: time_or_zero(&st.started_at),
            finished_at: time_or_zero(&st.finished_at),
            health: None,
        },
        image: c.image_id.clone(),
        resolv_conf_path: file("resolv.conf"),
        hostname_path: file("hostname"),
        hosts_path: file("hosts"),
        log_path: file("container.log"),
        name: format!("/{}", c.name),
        restart_count: st.restart_count,
        driver: "overlay2".into(),
        platform: "linux".into(),
        exec_ids: (!c.exec_ids.is_empty()).then(|| c.exec_ids.clone()),
        host_config: host_config_out(&c.host_config),
        graph_driver: w::DriverData { name: "overlay2".into(), data: graph },
        mounts: mounts_out(c, engine),
        config: config_out(&c.config),
        network_settings: {
            let networks = networks(c, engine);
            let bridge = networks.get("bridge").cloned().unwrap_or_default();
            w::NetworkSettings {
                sandbox_key: if c.is_running() && c.host_config.network_mode != "host" {
                    format!("/proc/{}/ns/net", st.pid)
                } else {
                    String::new()
                },
                sandbox_id: if c.is_running() { c.id.clone() } else { String::new() },
                ports: ports_out(c),
                endpoint_id: bridge.endpoint_id,
                gateway: bridge.gateway,
                ip_address: bridge.ip_address,
                ip_prefix_len: bridge.ip_prefix_len,
                mac_address: if c.is_running() { bridge.mac_address } else { String::new() },
                networks,
                ..Default::default()
            }
        },
        ..Default::default()
    }
}

/// The `Ports` of a list entry: published ports, then exposed ones without a binding.
fn summary_ports(c: &Container) -> Vec<w::Port> {
    let mut out: Vec<w::Port> = Vec::new();
    for (k, binds) in ports_out(c) {
        let (port, proto) = k.split_once('/').unwrap_or((&k, "tcp"));
        let private_port = port.parse().unwrap_or(0);
        match binds {
            Some(b) if !b.is_empty() => out.extend(b.into_iter().map(|b| w::Port {
                ip: b.host_ip,
                private_port,
                public_port: b.host_port.parse().unwrap_or(0),
                r#type: proto.to_owned(),
            })),
            _ => out.push(w::Port { private_port, r#type: proto.to_owned(), ..Default::default() }),
        }
    }
    out
}

/// An item of `GET /containers/json`.
pub fn summary(c: &Container, image_name: String, now: DateTime<Utc>, engine: &engine::Engine) -> w::ContainerSummary {
    w::ContainerSummary {
        id: c.id.clone(),
        names: vec![format!("/{}", c.name)],
        image: image_name,
        image_id: c.image_id.clone(),
        command: command_text(c),
        created: c.created.timestamp(),
        ports: summary_ports(c),
        labels: c.config.labels.clone(),
        state: c.state.status.as_str().to_owned(),
        status: status_text(c, now),
        host_config: w::ContainerSummaryHostConfig {
            network_mode: network_name(&c.host_config),
            annotations: BTreeMap::new(),
        },
        network_settings: w::ContainerSummaryNetworkSettings { networks: networks(c, engine) },
        mounts: mounts_out(c, engine),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = DateTime::from_timestamp(1_700_000_000, 120_000_000).unwrap();
        assert_eq!(rfc3339(&t), "2023-11-14T22:13:20.12Z");
        assert_eq!(rfc3339(&DateTime::from_timestamp(1_700_000_000, 0).unwrap()), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_fixed(1_700_000_000_120_000_000), "2023-11-14T22:13:20.120000000Z");
    }

    #[test]
    fn resources_both_ways() {
        let wire = w::Resources {
            memory: 64 << 20,
            nano_cpus: 500_000_000,
            pids_limit: Some(10),
            blkio_device_read_bps: Some(vec![w::ThrottleDevice { path: "/dev/vda".into(), rate: 5 }]),
            ..Default::default()
        };
        let r = resources_in(&wire).expect("accepted");
        assert_eq!((r.memory, r.nano_cpus, r.pids_limit), (64 << 20, 500_000_000, Some(10)));
        assert_eq!(r.device_read_bps[0].path, "/dev/vda");
        let hc = HostConfig { resources: r, ..Default::default() };
        let out = host_config_out(&hc).resources;
        assert_eq!((out.memory, out.pids_limit), (64 << 20, Some(10)));
        assert_eq!(out.blkio_device_read_bps, wire.blkio_device_read_bps);
        for bad in [
            w::Resources { devices: Some(vec![w::DeviceMapping::default()]), ..Default::default() },
            w::Resources { memory_swappiness: Some(10), ..Default::default() },
            w::Resources { cpu_realtime_runtime: 5, ..Default::default() },
        ] {
            assert!(resources_in(&bad).is_err());
        }
        assert!(resources_in(&w::Resources { memory_swappiness: Some(-1), ..Default::default() }).is_ok());

        // Updates: zero means unchanged; an empty restart policy name too.
        let req = w::ContainerUpdateRequest {
            resources: w::Resources { memory: 128 << 20, pids_limit: Some(-1), ..Default::default() },
            ..Default::default()
        };
        let u = update_in(&req).expect("accepted");
        assert_eq!((u.memory, u.memory_swap, u.pids_limit, u.cpu_shares), (Some(128 << 20), None, Some(-1), None));
        assert!(u.restart_policy.is_none());
        let req = w::ContainerUpdateRequest {
            restart_policy: w::RestartPolicy { name: "always".into(), maximum_retry_count: 0 },
            ..Default::default()
        };
        assert_eq!(update_in(&req).expect("accepted").restart_policy.map(|p| p.name).as_deref(), Some("always"));
    }

    #[test]
    fn refuses_unsupported() {
        let mut r = w::ContainerCreateRequest::default();
        r.config.image = "busybox".into();
        r.host_config = Some(w::HostConfig {
            mounts: vec![w::Mount { r#type: "npipe".into(), target: "/x".into(), ..Default::default() }],
            ..Default::default()
        });
        assert!(create_request(r, None).is_err());
    }
}
