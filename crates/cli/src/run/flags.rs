//! `run`/`create` flags and the create request built from them (docker's
//! cli/command/container/opts.go), with the small parsers they need.

use std::collections::BTreeMap;

use std::net::IpAddr;

use anyhow::{Context, anyhow, bail};
use api_types::container as w;
use api_types::network::{EndpointIPAMConfig, EndpointSettings, NetworkingConfig};

use crate::{ports, term};

/// Flags shared by `run` and `create`.
#[derive(Debug, clap::Args)]
pub struct ContainerFlags {
    /// Attach to STDIN, STDOUT or STDERR.
    #[arg(short = 'a', long = "attach")]
    pub attach: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip).
    #[arg(long = "add-host", value_parser = parse_extra_host)]
    pub add_host: Vec<String>,
    /// Add an annotation to the container (passed through to the OCI runtime).
    #[arg(long = "annotation")]
    pub annotation: Vec<String>,
    /// Add Linux capabilities.
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Cgroup namespace to use (host|private).
    #[arg(long = "cgroupns")]
    pub cgroupns: Option<String>,
    /// Write the container ID to the file.
    #[arg(long = "cidfile")]
    pub cidfile: Option<String>,
    /// Resource limits.
    #[command(flatten)]
    pub resources: ResourceFlags,
    /// Set custom DNS servers.
    #[arg(long = "dns", value_parser = parse_dns)]
    pub dns: Vec<String>,
    /// Set DNS options.
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long = "dns-search", value_parser = parse_dns_search)]
    pub dns_search: Vec<String>,
    /// Container NIS domain name.
    #[arg(long = "domainname")]
    pub domainname: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long = "entrypoint")]
    pub entrypoint: Option<String>,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Expose a port or a range of ports.
    #[arg(long = "expose")]
    pub expose: Vec<String>,
    /// Add additional groups to join.
    #[arg(long = "group-add")]
    pub group_add: Vec<String>,
    /// Container host name.
    #[arg(short = 'h', long = "hostname")]
    pub hostname: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes.
    #[arg(long = "init")]
    pub init: bool,
    /// Keep STDIN open even if not attached.
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// IPv4 address (e.g., 172.30.100.104).
    #[arg(long = "ip")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33).
    #[arg(long = "ip6")]
    pub ip6: Option<String>,
    /// IPC mode to use.
    #[arg(long = "ipc")]
    pub ipc: Option<String>,
    /// Set meta data on a container.
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels.
    #[arg(long = "label-file")]
    pub label_file: Vec<String>,
    /// Add link to another container.
    #[arg(long = "link", value_parser = parse_link)]
    pub link: Vec<String>,
    /// Container IPv4/IPv6 link-local addresses.
    #[arg(long = "link-local-ip")]
    pub link_local_ip: Vec<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33).
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// Assign a name to the container.
    #[arg(long = "name")]
    pub name: Option<String>,
    /// Connect a container to a network (none, host, bridge, container:NAME|ID or a network name).
    #[arg(long = "network", alias = "net")]
    pub network: Option<String>,
    /// Add network-scoped alias for the container.
    #[arg(long = "network-alias", alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// Disable OOM Killer.
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Tune host's OOM preferences (-1000 to 1000).
    #[arg(long = "oom-score-adj")]
    pub oom_score_adj: Option<i64>,
    /// Keep the writable layer under the container's name (needs --name) after the container is
    /// removed; a new --persist container of that name takes it over (berth's extension; see
    /// `berth persist` and `berth upgrade`).
    #[arg(long = "persist")]
    pub persist: bool,
    /// Run berth's init as PID 1 supervising the image's supervisord programs and crontabs, and
    /// --program/--cron (berth's extension).
    #[arg(long = "supervise")]
    pub supervise: bool,
    /// A program for the supervisor, NAME=COMMAND (implies --supervise; repeatable).
    #[arg(long = "program", value_name = "NAME=COMMAND")]
    pub program: Vec<String>,
    /// A cron job for the supervisor, 'SCHEDULE COMMAND' (implies --supervise; repeatable).
    #[arg(long = "cron", value_name = "SCHEDULE COMMAND")]
    pub cron: Vec<String>,
    /// Stop the container when this supervised program ends (repeatable).
    #[arg(long = "exit-on", value_name = "NAME")]
    pub exit_on: Vec<String>,
    /// PID namespace to use.
    #[arg(long = "pid")]
    pub pid: Option<String>,
    /// Set platform if server is multi-platform capable.
    #[arg(long = "platform")]
    pub platform: Option<String>,
    /// Give extended privileges to this container.
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Publish a container's port(s) to the host.
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports.
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Pull image before running ("always", "missing", "never").
    #[arg(long = "pull", default_value = "missing")]
    pub pull: String,
    /// Suppress the pull output.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Mount the container's root filesystem as read only.
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Restart policy to apply when a container exits.
    #[arg(long = "restart", default_value = "no")]
    pub restart: String,
    /// Automatically remove the container and its associated anonymous volumes when it exits.
    #[arg(long = "rm")]
    pub rm: bool,
    /// Security Options.
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Size of /dev/shm.
    #[arg(long = "shm-size")]
    pub shm_size: Option<String>,
    /// Signal to stop the container.
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long = "stop-timeout")]
    pub stop_timeout: Option<i64>,
    /// Sysctl options.
    #[arg(long = "sysctl")]
    pub sysctl: Vec<String>,
    /// Mount a tmpfs directory.
    #[arg(long = "tmpfs")]
    pub tmpfs: Vec<String>,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Ulimit options.
    #[arg(long = "ulimit")]
    pub ulimit: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// User namespace to use (`host`: none of its own when the daemon remaps).
    #[arg(long = "userns")]
    pub userns: Option<String>,
    /// UTS namespace to use.
    #[arg(long = "uts")]
    pub uts: Option<String>,
    /// Bind mount a volume.
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container.
    #[arg(long = "mount")]
    pub mount: Vec<String>,
    /// Mount volumes from the specified container(s).
    #[arg(long = "volumes-from")]
    pub volumes_from: Vec<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Print usage.
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// The image.
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// The command and its arguments.
    #[arg(value_name = "COMMAND", trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// The resource flags `run`, `create` and `update` share (Docker's `Resources`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ResourceFlags {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable.
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// Block IO weight (relative device weight), DEVICE_PATH:WEIGHT.
    #[arg(long = "blkio-weight-device", value_parser = parse_weight_device)]
    pub blkio_weight_device: Vec<w::WeightDevice>,
    /// Limit read rate (bytes per second) from a device, DEVICE_PATH:RATE[kb|mb|gb].
    #[arg(long = "device-read-bps", value_parser = parse_bps_device)]
    pub device_read_bps: Vec<w::ThrottleDevice>,
    /// Limit write rate (bytes per second) to a device.
    #[arg(long = "device-write-bps", value_parser = parse_bps_device)]
    pub device_write_bps: Vec<w::ThrottleDevice>,
    /// Limit read rate (IO per second) from a device, DEVICE_PATH:RATE.
    #[arg(long = "device-read-iops", value_parser = parse_iops_device)]
    pub device_read_iops: Vec<w::ThrottleDevice>,
    /// Limit write rate (IO per second) to a device.
    #[arg(long = "device-write-iops", value_parser = parse_iops_device)]
    pub device_write_iops: Vec<w::ThrottleDevice>,
    /// Number of CPUs.
    #[arg(long = "cpus", value_parser = parse_cpus)]
    pub cpus: Option<i64>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<i64>,
    /// Limit CPU CFS period.
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS quota.
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit.
    #[arg(short = 'm', long = "memory")]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
}

impl ResourceFlags {
    /// Docker's `Resources` for the flags given; what isn't given stays zero or `None`.
    pub fn resources(&self) -> anyhow::Result<w::Resources> {
        let size = |v: &Option<String>, flag: &str| -> anyhow::Result<i64> {
            v.as_deref().map_or(Ok(0), |s| {
                parse_size(s).map_err(|e| anyhow!("invalid argument {s:?} for \"{flag}\" flag: {e}"))
            })
        };
        let list = |v: &Vec<w::ThrottleDevice>| (!v.is_empty()).then(|| v.clone());
        Ok(w::Resources {
            blkio_weight: self.blkio_weight.unwrap_or(0),
            blkio_weight_device: (!self.blkio_weight_device.is_empty()).then(|| self.blkio_weight_device.clone()),
            blkio_device_read_bps: list(&self.device_read_bps),
            blkio_device_write_bps: list(&self.device_write_bps),
            blkio_device_read_iops: list(&self.device_read_iops),
            blkio_device_write_iops: list(&self.device_write_iops),
            cpu_period: self.cpu_period.unwrap_or(0),
            cpu_quota: self.cpu_quota.unwrap_or(0),
            cpu_shares: self.cpu_shares.unwrap_or(0),
            nano_cpus: self.cpus.unwrap_or(0),
            cpuset_cpus: self.cpuset_cpus.clone().unwrap_or_default(),
            cpuset_mems: self.cpuset_mems.clone().unwrap_or_default(),
            memory: size(&self.memory, "--memory")?,
            memory_reservation: size(&self.memory_reservation, "--memory-reservation")?,
            memory_swap: match self.memory_swap.as_deref() {
                Some("-1") => -1,
                _ => size(&self.memory_swap, "--memory-swap")?,
            },
            pids_limit: self.pids_limit,
            ..Default::default()
        })
    }
}

/// Parses `--env`/`--env-file` the docker way: `KEY` alone takes the value from this
/// environment (and is dropped when unset).
pub fn parse_env(env: &[String], files: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut add = |e: &str| {
        if e.contains('=') {
            out.push(e.to_owned());
        } else if let Ok(v) = std::env::var(e) {
            out.push(format!("{e}={v}"));
        }
    };
    for f in files {
        let text = std::fs::read_to_string(f).with_context(|| format!("open {f}"))?;
        for line in text.lines() {
            let l = line.trim_start();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let key = l.split('=').next().unwrap_or(l);
            if key.is_empty() || key.contains(char::is_whitespace) {
                bail!("invalid environment variable in {f}: {line:?}");
            }
            add(l);
        }
    }
    for e in env {
        if e.starts_with('=') || e.is_empty() {
            bail!("invalid environment variable: {e}");
        }
        add(e);
    }
    Ok(out)
}

/// Parses a size with Docker's units (`512m`, `1g`, `100k`, `4096`): binary multiples.
pub fn parse_size(s: &str) -> anyhow::Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult): (&str, i64) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let v: f64 = num.parse().map_err(|_| anyhow!("invalid size: '{s}'"))?;
    if v < 0.0 {
        bail!("invalid size: '{s}'");
    }
    Ok((v * mult as f64) as i64)
}

/// Parses `--restart` (`no`, `always`, `unless-stopped`, `on-failure[:N]`).
pub fn parse_restart(s: &str) -> anyhow::Result<w::RestartPolicy> {
    let (name, count) = match s.split_once(':') {
        Some((n, c)) => (n, Some(c)),
        None => (s, None),
    };
    let max = match (name, count) {
        ("on-failure", Some(c)) => {
            c.parse().map_err(|_| anyhow!("invalid restart policy format: maximum retry count must be an integer"))?
        }
        (_, Some(_)) => bail!("invalid restart policy format: maximum retry count can only be used with 'on-failure'"),
        _ => 0,
    };
    if !matches!(name, "" | "no" | "always" | "unless-stopped" | "on-failure") {
        bail!(
            "invalid restart policy format: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        );
    }
    Ok(w::RestartPolicy { name: name.to_owned(), maximum_retry_count: max })
}

/// `--cpus` as nano CPUs (docker's `NanoCPUs`: a decimal with at most 9 digits after the point).
pub fn parse_cpus(s: &str) -> Result<i64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("failed to parse {s} as a rational number"))?;
    if !v.is_finite() {
        return Err(format!("failed to parse {s} as a rational number"));
    }
    let nano = (v * 1e9).round();
    if (nano - v * 1e9).abs() > 1e-3 * v.abs().max(1.0) {
        return Err("value is too precise".to_owned());
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(nano as i64)
}

/// Splits `/dev/x:value`, checking the path the way docker's validators do.
fn device_pair(val: &str) -> Result<(&str, &str), String> {
    let (k, v) = val.split_once(':').filter(|(k, _)| !k.is_empty()).ok_or_else(|| format!("bad format: {val}"))?;
    if !k.starts_with("/dev/") {
        return Err(format!("bad format for device path: {val}"));
    }
    Ok((k, v))
}

/// `--device-read-bps`/`--device-write-bps`: `PATH:RATE` with docker's size units.
pub fn parse_bps_device(val: &str) -> Result<w::ThrottleDevice, String> {
    let (path, v) = device_pair(val)?;
    let rate = parse_size(v).ok().and_then(|r| u64::try_from(r).ok()).ok_or_else(|| {
        format!(
            "invalid rate for device: {val}. The correct format is <device-path>:<number>[<unit>]. Number must be a \
             positive integer. Unit is optional and can be kb, mb, or gb"
        )
    })?;
    Ok(w::ThrottleDevice { path: path.to_owned(), rate })
}

/// `--device-read-iops`/`--device-write-iops`: `PATH:N`.
pub fn parse_iops_device(val: &str) -> Result<w::ThrottleDevice, String> {
    let (path, v) = device_pair(val)?;
    let rate = v.parse::<u64>().map_err(|_| {
        format!(
            "invalid rate for device: {val}. The correct format is <device-path>:<number>. Number must be a positive \
             integer"
        )
    })?;
    Ok(w::ThrottleDevice { path: path.to_owned(), rate })
}

/// `--blkio-weight-device`: `PATH:WEIGHT`, 10..=1000 (0 removes it).
pub fn parse_weight_device(val: &str) -> Result<w::WeightDevice, String> {
    let (path, v) = device_pair(val)?;
    let weight = v
        .parse::<u16>()
        .ok()
        .filter(|w| *w == 0 || (10..=1000).contains(w))
        .ok_or_else(|| format!("invalid weight for device: {val}"))?;
    Ok(w::WeightDevice { path: path.to_owned(), weight })
}

/// `--ulimit name=soft[:hard]`.
pub fn parse_ulimit(s: &str) -> anyhow::Result<w::Ulimit> {
    let (name, vals) = s.split_once('=').ok_or_else(|| anyhow!("invalid ulimit argument: {s}"))?;
    let (soft, hard) = match vals.split_once(':') {
        Some((a, b)) => (a, b),
        None => (vals, vals),
    };
    let p = |v: &str| v.parse::<i64>().map_err(|_| anyhow!("invalid ulimit argument: {s}"));
    let (soft, hard) = (p(soft)?, p(hard)?);
    if soft > hard {
        bail!("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}");
    }
    Ok(w::Ulimit { name: name.to_owned(), soft, hard })
}

fn parse_labels(labels: &[String], files: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(f).with_context(|| format!("open {f}"))?;
        for l in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            out.insert(k.to_owned(), v.to_owned());
        }
    }
    for l in labels {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

/// Builds the create request from the flags (docker's `parse` in cli/command/container/opts.go).
pub fn create_body(f: &ContainerFlags, detach: bool) -> anyhow::Result<w::ContainerCreateRequest> {
    let mut attach_stdin = f.attach.iter().any(|a| a.eq_ignore_ascii_case("stdin"));
    let mut attach_stdout = f.attach.iter().any(|a| a.eq_ignore_ascii_case("stdout"));
    let mut attach_stderr = f.attach.iter().any(|a| a.eq_ignore_ascii_case("stderr"));
    for a in &f.attach {
        if !matches!(a.to_ascii_lowercase().as_str(), "stdin" | "stdout" | "stderr") {
            bail!("valid streams are STDIN, STDOUT and STDERR");
        }
    }
    if f.attach.is_empty() {
        attach_stdout = true;
        attach_stderr = true;
        if f.interactive {
            attach_stdin = true;
        }
    }
    if detach {
        attach_stdin = false;
        attach_stdout = false;
        attach_stderr = false;
    }
    if let Some(mac) = f.mac_address.as_deref().filter(|m| !valid_mac(m)) {
        bail!("{mac} is not a valid mac address");
    }
    let (mut exposed_ports, port_bindings) = ports::parse_publish(&f.publish)?;
    ports::parse_expose(&f.expose, &mut exposed_ports)?;
    let mut c = w::ContainerConfig {
        hostname: f.hostname.clone().unwrap_or_default(),
        domainname: f.domainname.clone().unwrap_or_default(),
        user: f.user.clone().unwrap_or_default(),
        attach_stdin,
        attach_stdout,
        attach_stderr,
        tty: f.tty,
        open_stdin: f.interactive,
        stdin_once: false,
        env: Some(parse_env(&f.env, &f.env_file)?),
        cmd: (!f.command.is_empty()).then(|| f.command.clone()),
        image: f.image.clone(),
        working_dir: f.workdir.clone().unwrap_or_default(),
        entrypoint: f.entrypoint.as_ref().map(|e| if e.is_empty() { vec![String::new()] } else { vec![e.clone()] }),
        labels: Some(parse_labels(&f.label, &f.label_file)?),
        stop_signal: f.stop_signal.clone().unwrap_or_default(),
        stop_timeout: f.stop_timeout,
        exposed_ports,
        ..Default::default()
    };
    if c.open_stdin && c.attach_stdin {
        c.stdin_once = true;
    }
    let mut hc = w::HostConfig {
        auto_remove: f.rm,
        restart_policy: parse_restart(&f.restart)?,
        network_mode: f.network.clone().unwrap_or_else(|| "default".into()),
        cap_add: Some(f.cap_add.clone()),
        cap_drop: Some(f.cap_drop.clone()),
        security_opt: Some(load_security_opts(&f.security_opt)?),
        privileged: f.privileged,
        persist: f.persist,
        supervise: (f.supervise || !f.program.is_empty() || !f.cron.is_empty() || !f.exit_on.is_empty())
            .then(|| w::Supervise { programs: f.program.clone(), cron: f.cron.clone(), exit_on: f.exit_on.clone() }),
        readonly_rootfs: f.read_only,
        dns: Some(f.dns.clone()),
        dns_options: Some(f.dns_option.clone()),
        dns_search: Some(f.dns_search.clone()),
        extra_hosts: Some(f.add_host.clone()),
        links: Some(f.link.clone()),
        group_add: Some(f.group_add.clone()),
        init: f.init.then_some(true),
        pid_mode: f.pid.clone().unwrap_or_default(),
        ipc_mode: f.ipc.clone().unwrap_or_default(),
        uts_mode: f.uts.clone().unwrap_or_default(),
        userns_mode: match f.userns.as_deref() {
            None | Some("") => String::new(),
            Some("host") => "host".into(),
            Some(_) => bail!("--userns: invalid USER mode"),
        },
        cgroupns_mode: f.cgroupns.clone().unwrap_or_default(),
        oom_score_adj: f.oom_score_adj.unwrap_or(0),
        shm_size: f.shm_size.as_deref().map(parse_size).transpose()?.unwrap_or(0),
        volumes_from: Some(f.volumes_from.clone()),
        publish_all_ports: f.publish_all,
        port_bindings: Some(port_bindings),
        ..Default::default()
    };
    for s in &f.sysctl {
        let (k, v) = s.split_once('=').ok_or_else(|| anyhow!("invalid argument {s:?} for \"--sysctl\" flag"))?;
        hc.sysctls.insert(k.to_owned(), v.to_owned());
    }
    for t in &f.tmpfs {
        let (p, o) = t.split_once(':').unwrap_or((t.as_str(), ""));
        hc.tmpfs.insert(p.to_owned(), o.to_owned());
    }
    for a in &f.annotation {
        let (k, v) = a.split_once('=').ok_or_else(|| anyhow!("invalid argument {a:?} for \"--annotation\" flag"))?;
        hc.annotations.insert(k.to_owned(), v.to_owned());
    }
    hc.mounts = f.mount.iter().map(|m| parse_mount(m)).collect::<anyhow::Result<_>>()?;
    // As docker's CLI: `-v /path` (no source) is an anonymous volume in Config.Volumes; a
    // relative host path (`./data:/x`) is made absolute.
    let mut binds = Vec::new();
    for v in &f.volume {
        if v.is_empty() {
            bail!("invalid empty volume spec");
        }
        match v.split_once(':') {
            None => {
                c.volumes.get_or_insert_with(BTreeMap::new).insert(v.clone(), api_types::EmptyObject);
            }
            Some((src, rest)) => binds.push(format!("{}:{rest}", absolute_if_relative(src))),
        }
    }
    hc.binds = Some(binds);
    // As docker's CLI, create sends the device lists even when empty.
    let mut r = f.resources.resources()?;
    for list in [
        &mut r.blkio_device_read_bps,
        &mut r.blkio_device_write_bps,
        &mut r.blkio_device_read_iops,
        &mut r.blkio_device_write_iops,
    ] {
        list.get_or_insert_with(Vec::new);
    }
    r.blkio_weight_device.get_or_insert_with(Vec::new);
    hc.resources = r;
    let r = &mut hc.resources;
    r.oom_kill_disable = f.oom_kill_disable.then_some(true);
    r.ulimits = Some(f.ulimit.iter().map(|u| parse_ulimit(u)).collect::<anyhow::Result<_>>()?);
    if let Some((h, wd)) = term::size().filter(|_| f.tty) {
        hc.console_size = [u64::from(h), u64::from(wd)];
    }
    let networking_config = Some(networking_config(f)?);
    Ok(w::ContainerCreateRequest { config: c, host_config: Some(hc), networking_config })
}

/// A relative host path of `-v` or `mount add` (`./data`, `../x`, `.`) made absolute, as the
/// docker CLI does; anything else (a volume name, an absolute path) as is.
pub fn absolute_if_relative(src: &str) -> String {
    if (src == "." || src == ".." || src.starts_with("./") || src.starts_with("../"))
        && let Ok(cwd) = std::env::current_dir()
    {
        // Lexically cleaned, as Go's filepath.Abs.
        let mut out = std::path::PathBuf::from("/");
        for c in cwd.join(src).components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::Normal(n) => out.push(n),
                _ => {}
            }
        }
        return out.display().to_string();
    }
    src.to_owned()
}

fn parse_bool_field(key: &str, value: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Ok(true),
        "0" | "f" | "false" => Ok(false),
        _ => bail!("invalid value for {key}: {value}"),
    }
}

/// Parses a `--mount` value as docker's `MountOpt.Set`: comma-separated `key=value` fields
/// (`type`, `source`/`src`, `target`/`destination`/`dst`, `readonly`/`ro`, `bind-propagation`,
/// `bind-nonrecursive`, `volume-nocopy`, `volume-label`, `volume-driver`, `volume-opt`,
/// `volume-subpath`, `tmpfs-size`, `tmpfs-mode`, `consistency`); type defaults to `volume`.
pub fn parse_mount(value: &str) -> anyhow::Result<w::Mount> {
    let mut m = w::Mount { r#type: "volume".into(), ..Default::default() };
    let mut bind = w::BindOptions::default();
    let mut vol = w::VolumeOptions::default();
    let mut tmpfs = w::TmpfsOptions::default();
    let mut driver = w::MountDriver::default();
    let (mut has_bind, mut has_vol, mut has_tmpfs) = (false, false, false);
    for field in value.split(',') {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let Some(val) = val else {
            match key.as_str() {
                "readonly" | "ro" => m.read_only = true,
                "volume-nocopy" => {
                    vol.no_copy = true;
                    has_vol = true;
                }
                "bind-nonrecursive" => {
                    bind.non_recursive = true;
                    has_bind = true;
                }
                _ => bail!("invalid field '{field}' must be a key=value pair"),
            }
            continue;
        };
        match key.as_str() {
            "type" => m.r#type = val.to_ascii_lowercase(),
            "source" | "src" => m.source = absolute_if_relative(val),
            "target" | "dst" | "destination" => m.target = val.to_owned(),
            "readonly" | "ro" => m.read_only = parse_bool_field(&key, val)?,
            "consistency" => m.consistency = val.to_owned(),
            "bind-propagation" => {
                bind.propagation = val.to_ascii_lowercase();
                has_bind = true;
            }
            "bind-nonrecursive" => {
                bind.non_recursive = parse_bool_field(&key, val)?;
                has_bind = true;
            }
            "volume-nocopy" => {
                vol.no_copy = parse_bool_field(&key, val)?;
                has_vol = true;
            }
            "volume-label" => {
                let (k, v) = val.split_once('=').unwrap_or((val, ""));
                vol.labels.insert(k.to_owned(), v.to_owned());
                has_vol = true;
            }
            "volume-driver" => {
                driver.name = val.to_owned();
                has_vol = true;
            }
            "volume-opt" => {
                let (k, v) = val.split_once('=').unwrap_or((val, ""));
                driver.options.insert(k.to_owned(), v.to_owned());
                has_vol = true;
            }
            "volume-subpath" => {
                vol.subpath = val.to_owned();
                has_vol = true;
            }
            "tmpfs-size" => {
                tmpfs.size_bytes = parse_size(val).with_context(|| format!("invalid value for {key}: {val}"))?;
                has_tmpfs = true;
            }
            "tmpfs-mode" => {
                tmpfs.mode = u32::from_str_radix(val, 8).map_err(|_| anyhow!("invalid value for {key}: {val}"))?;
                has_tmpfs = true;
            }
            _ => bail!("unexpected key '{key}' in '{field}'"),
        }
    }
    if m.target.is_empty() {
        bail!("target is required");
    }
    match m.r#type.as_str() {
        "bind" if has_vol || has_tmpfs => bail!("cannot mix 'volume-*' or 'tmpfs-*' options with mount type 'bind'"),
        "volume" if has_bind || has_tmpfs => bail!("cannot mix 'bind-*' or 'tmpfs-*' options with mount type 'volume'"),
        "tmpfs" if has_bind || has_vol => bail!("cannot mix 'bind-*' or 'volume-*' options with mount type 'tmpfs'"),
        _ => {}
    }
    if has_bind {
        m.bind_options = Some(bind);
    }
    if has_vol {
        if !driver.name.is_empty() || !driver.options.is_empty() {
            vol.driver_config = Some(driver);
        }
        m.volume_options = Some(vol);
    }
    if has_tmpfs {
        m.tmpfs_options = Some(tmpfs);
    }
    Ok(m)
}

/// docker's `parseNetworkOpts` for the one `--network`: `--network-alias`, `--ip`, `--ip6`,
/// `--link-local-ip`, `--mac-address` (and `--link` on a user-defined network) configure the
/// endpoint on that network, keyed by its name, `default` without `--network`. Like docker,
/// the `default` entry is sent even when empty, an unconfigured `--network` entry is not, and
/// the MAC address stays out of `Config.MacAddress` (API >= 1.44).
fn networking_config(f: &ContainerFlags) -> anyhow::Result<NetworkingConfig> {
    let target = f.network.as_deref().unwrap_or("default");
    if target.trim().is_empty() {
        bail!("no name set for network");
    }
    let user_defined = !matches!(target, "default" | "bridge" | "host" | "none") && !target.starts_with("container:");
    if !user_defined && !f.network_alias.is_empty() {
        bail!("network-scoped aliases are only supported for user-defined networks");
    }
    let (ip, ip6) = (f.ip.clone().unwrap_or_default(), f.ip6.clone().unwrap_or_default());
    let ep =
        EndpointSettings {
            aliases: (!f.network_alias.is_empty()).then(|| f.network_alias.clone()),
            links: (user_defined && !f.link.is_empty()).then(|| f.link.clone()),
            ipam_config: (!ip.is_empty() || !ip6.is_empty() || !f.link_local_ip.is_empty()).then(|| {
                EndpointIPAMConfig { ipv4_address: ip, ipv6_address: ip6, link_local_ips: f.link_local_ip.clone() }
            }),
            mac_address: f.mac_address.clone().unwrap_or_default(),
            ..Default::default()
        };
    let mut endpoints_config = BTreeMap::new();
    if f.network.is_none() || ep != EndpointSettings::default() {
        endpoints_config.insert(target.to_owned(), ep);
    }
    Ok(NetworkingConfig { endpoints_config })
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets as `xx:xx:..`, `xx-xx-..` or `xxxx.xxxx...`.
fn valid_mac(s: &str) -> bool {
    let s = s.trim();
    let hex = |g: &str, n: usize| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit());
    let (groups, width): (Vec<&str>, usize) = match s.as_bytes().get(2) {
        Some(b':') => (s.split(':').collect(), 2),
        Some(b'-') => (s.split('-').collect(), 2),
        _ => (s.split('.').collect(), 4),
    };
    matches!(groups.len() * width / 2, 6 | 8 | 20) && groups.iter().all(|g| hex(g, width))
}

/// Go's `net.ParseIP(s).String()`: the canonical text of an address.
fn canonical_ip(s: &str) -> Option<String> {
    Some(match s.parse::<IpAddr>().ok()? {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or_else(|| a.to_string(), |v4| v4.to_string()),
        v4 => v4.to_string(),
    })
}

/// `--dns` (docker's `ValidateIPAddress`): the address in canonical form.
fn parse_dns(v: &str) -> Result<String, String> {
    canonical_ip(v.trim()).ok_or_else(|| format!("IP address is not correctly formatted: {v}"))
}

/// `--dns-search` (docker's `ValidateDNSSearch`): a domain, its trailing dot dropped, or `.`.
fn parse_dns_search(v: &str) -> Result<String, String> {
    let v = v.trim_matches(' ');
    if v == "." {
        return Ok(v.into());
    }
    let name = v.strip_suffix('.').unwrap_or(v);
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !v.bytes().any(|b| b.is_ascii_alphabetic()) || name.len() >= 255 || !name.split('.').all(label) {
        return Err(format!("{v} is not a valid domain"));
    }
    Ok(name.to_owned())
}

/// `--add-host` (docker's `ValidateExtraHost`): `host:ip`, `host=ip`, `host:[::1]` or
/// `host:host-gateway`, sent as `host:ip` (the form the API takes).
fn parse_extra_host(v: &str) -> Result<String, String> {
    let (host, ip) = v.split_once('=').or_else(|| v.split_once(':')).unwrap_or((v, ""));
    if host.is_empty() || host.contains(':') || !v.contains(['=', ':']) {
        return Err(format!("bad format for add-host: {v:?}"));
    }
    let ip = match ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
        Some(inner) if ip.len() > 2 => inner,
        _ => ip,
    };
    if ip != "host-gateway" && canonical_ip(ip).is_none() {
        return Err(format!("invalid IP address in add-host: {ip:?}"));
    }
    Ok(format!("{host}:{ip}"))
}

/// `--link` (docker's `ValidateLink`): `name` or `name:alias`.
pub fn parse_link(v: &str) -> Result<String, String> {
    if v.is_empty() {
        return Err("empty string specified for links".into());
    }
    if v.splitn(3, ':').count() > 2 {
        return Err(format!("bad format for links: {v}"));
    }
    Ok(v.to_owned())
}

/// `--security-opt seccomp=FILE` sends the file's content, as docker does.
fn load_security_opts(opts: &[String]) -> anyhow::Result<Vec<String>> {
    opts.iter()
        .map(|o| {
            let (k, v) = o.split_once(['=', ':']).unwrap_or((o.as_str(), ""));
            if k == "seccomp" && v != "unconfined" && !v.is_empty() {
                let data =
                    std::fs::read_to_string(v).with_context(|| format!("opening seccomp profile ({v}) failed"))?;
                let compact: serde_json::Value = serde_json::from_str(&data)
                    .with_context(|| format!("compacting json for seccomp profile ({v}) failed"))?;
                Ok(format!("seccomp={compact}"))
            } else {
                Ok(o.clone())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_flags_like_docker() {
        assert_eq!(parse_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(parse_cpus("0.01"), Ok(10_000_000));
        assert!(parse_cpus("abc").unwrap_err().contains("rational number"));
        assert_eq!(parse_cpus("0.0000000001").unwrap_err(), "value is too precise");
        let d = parse_bps_device("/dev/vda:1mb").expect("valid");
        assert_eq!((d.path.as_str(), d.rate), ("/dev/vda", 1 << 20));
        assert_eq!(parse_bps_device("vda:1mb").unwrap_err(), "bad format for device path: vda:1mb");
        assert_eq!(parse_bps_device("/dev/vda").unwrap_err(), "bad format: /dev/vda");
        assert!(parse_bps_device("/dev/vda:fast").unwrap_err().starts_with("invalid rate for device: /dev/vda:fast."));
        assert_eq!(parse_iops_device("/dev/vda:100").expect("valid").rate, 100);
        assert!(parse_iops_device("/dev/vda:1mb").is_err());
        assert_eq!(parse_weight_device("/dev/vda:500").expect("valid").weight, 500);
        assert_eq!(parse_weight_device("/dev/vda:5").unwrap_err(), "invalid weight for device: /dev/vda:5");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert!(parse_size("x").is_err());
    }

    #[test]
    fn restart_policies() {
        assert_eq!(parse_restart("on-failure:3").unwrap().maximum_retry_count, 3);
        assert_eq!(parse_restart("always").unwrap().name, "always");
        assert!(parse_restart("always:3").is_err());
        assert!(parse_restart("sometimes").is_err());
    }

    #[test]
    fn env_parsing() {
        // SAFETY of the test: single-threaded access to a unique variable name.
        let key = "BERTH_TEST_ENV_PARSE_X";
        assert_eq!(parse_env(&["A=1".into(), key.into()], &[]).unwrap(), vec!["A=1"]);
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("env");
        std::fs::write(&f, "# c\n\nB=2\nC=x=y\n").unwrap();
        assert_eq!(parse_env(&[], &[f.display().to_string()]).unwrap(), vec!["B=2", "C=x=y"]);
        assert!(parse_env(&["=x".into()], &[]).is_err());
    }

    #[test]
    fn create_body_basics() {
        let f = ContainerFlags {
            resources: ResourceFlags::default(),
            attach: vec![],
            add_host: vec![],
            annotation: vec![],
            cap_add: vec![],
            cap_drop: vec![],
            cgroupns: None,
            cidfile: None,
            dns: vec![],
            dns_option: vec![],
            dns_search: vec![],
            domainname: None,
            entrypoint: Some(String::new()),
            env: vec!["A=1".into()],
            env_file: vec![],
            expose: vec!["80".into()],
            group_add: vec![],
            hostname: None,
            init: true,
            interactive: true,
            ip: None,
            ip6: None,
            ipc: None,
            label: vec!["k=v".into(), "flag".into()],
            label_file: vec![],
            link: vec![],
            link_local_ip: vec![],
            mac_address: None,
            name: None,
            network: Some("none".into()),
            network_alias: vec![],
            oom_kill_disable: false,
            oom_score_adj: None,
            persist: false,
            supervise: false,
            program: vec![],
            cron: vec![],
            exit_on: vec![],
            pid: None,
            platform: None,
            privileged: false,
            publish: vec![],
            publish_all: false,
            pull: "missing".into(),
            quiet: false,
            read_only: false,
            restart: "no".into(),
            rm: true,
            security_opt: vec![],
            shm_size: Some("1m".into()),
            stop_signal: None,
            stop_timeout: None,
            sysctl: vec![],
            tmpfs: vec!["/run:size=1m".into()],
            tty: false,
            ulimit: vec!["nofile=10:20".into()],
            user: None,
            userns: None,
            uts: None,
            volume: vec![],
            mount: vec![],
            volumes_from: vec![],
            workdir: None,
            help: None,
            image: "busybox".into(),
            command: vec!["sh".into(), "-c".into(), "echo hi".into()],
        };
        let b = create_body(&f, false).unwrap();
        assert!(b.config.attach_stdin && b.config.open_stdin && b.config.stdin_once);
        assert_eq!(b.config.entrypoint, Some(vec![String::new()]));
        assert_eq!(b.config.labels.as_ref().unwrap().get("flag").map(String::as_str), Some(""));
        assert!(b.config.exposed_ports.contains_key("80/tcp"));
        let hc = b.host_config.unwrap();
        assert!(hc.auto_remove);
        assert_eq!(hc.init, Some(true));
        assert_eq!(hc.shm_size, 1 << 20);
        assert_eq!(hc.tmpfs.get("/run").map(String::as_str), Some("size=1m"));
        assert_eq!(hc.resources.ulimits.unwrap()[0].hard, 20);
        let d = create_body(&f, true).unwrap();
        assert!(!d.config.attach_stdin && !d.config.stdin_once);
    }

    /// The create request for `berth create ARGS busybox`.
    fn body(args: &[&str]) -> anyhow::Result<w::ContainerCreateRequest> {
        use clap::Parser;
        let cli = crate::Cli::try_parse_from([&["berth", "create"], args, &["busybox"]].concat())?;
        let crate::Command::Create(a) = cli.command else { panic!("not create") };
        create_body(&a.flags, false)
    }

    #[test]
    fn publish_and_expose_like_docker() {
        let b = body(&["-p", "127.0.0.1:8080:80", "-p", "8000-8001:90-91/udp", "--expose", "7000-7001", "-P"]).unwrap();
        let exposed: Vec<&String> = b.config.exposed_ports.keys().collect();
        assert_eq!(exposed, ["7000/tcp", "7001/tcp", "80/tcp", "90/udp", "91/udp"]);
        let hc = b.host_config.unwrap();
        assert!(hc.publish_all_ports);
        let v = serde_json::to_value(hc.port_bindings).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                "90/udp": [{"HostIp": "", "HostPort": "8000"}],
                "91/udp": [{"HostIp": "", "HostPort": "8001"}],
            })
        );
        assert_eq!(
            serde_json::to_value(body(&[]).unwrap().host_config.unwrap().port_bindings).unwrap(),
            serde_json::json!({})
        );
        assert_eq!(body(&["-p", "abc"]).unwrap_err().to_string(), "invalid containerPort: abc");
        assert_eq!(body(&["--expose", "80:90"]).unwrap_err().to_string(), "invalid port format for --expose: 80:90");
    }

    #[test]
    fn endpoint_settings_like_docker() {
        // No --network: docker always sends an (empty) endpoint for "default".
        let b = body(&[]).unwrap();
        let nc = b.networking_config.unwrap();
        assert_eq!(nc.endpoints_config.keys().collect::<Vec<_>>(), ["default"]);
        assert_eq!(nc.endpoints_config["default"], EndpointSettings::default());
        // A single --network without endpoint options sends no endpoint.
        let nc = body(&["--network", "mynet"]).unwrap().networking_config.unwrap();
        assert!(nc.endpoints_config.is_empty());

        let b = body(&[
            "--network=mynet",
            "--ip=10.9.0.5",
            "--network-alias=db",
            "--net-alias=pg",
            "--mac-address=92:d0:c6:0a:29:33",
            "--link=web:w",
        ])
        .unwrap();
        assert_eq!(b.config.mac_address, "");
        assert_eq!(b.host_config.as_ref().unwrap().links, Some(vec!["web:w".to_owned()]));
        let ep = &b.networking_config.unwrap().endpoints_config["mynet"];
        assert_eq!(ep.ipam_config.as_ref().unwrap().ipv4_address, "10.9.0.5");
        assert_eq!(ep.aliases, Some(vec!["db".to_owned(), "pg".to_owned()]));
        assert_eq!(ep.links, Some(vec!["web:w".to_owned()]));
        assert_eq!(ep.mac_address, "92:d0:c6:0a:29:33");

        let ep = &body(&["--ip6", "fd00::5"]).unwrap().networking_config.unwrap().endpoints_config["default"];
        assert_eq!(ep.ipam_config.as_ref().unwrap().ipv6_address, "fd00::5");
        assert_eq!(ep.links, None);
        for net in [None, Some("bridge"), Some("host"), Some("container:web")] {
            let mut args = vec!["--network-alias", "x"];
            args.extend(net.map(|n| ["--network", n]).into_iter().flatten());
            assert_eq!(
                body(&args).unwrap_err().to_string(),
                "network-scoped aliases are only supported for user-defined networks"
            );
        }
        assert_eq!(body(&["--mac-address", "zz"]).unwrap_err().to_string(), "zz is not a valid mac address");
    }

    #[test]
    fn network_flag_values_like_docker() {
        assert!(valid_mac("92:d0:c6:0a:29:33") && valid_mac("92-D0-C6-0A-29-33") && valid_mac("92d0.c60a.2933"));
        assert!(!valid_mac("92:d0:c6:0a:29") && !valid_mac("92:d0:c6:0a:29:3g") && !valid_mac(""));
        assert_eq!(parse_dns("8.8.8.8").unwrap(), "8.8.8.8");
        assert_eq!(parse_dns("0:0:0:0:0:0:0:1").unwrap(), "::1");
        assert_eq!(parse_dns("foo").unwrap_err(), "IP address is not correctly formatted: foo");
        assert_eq!(parse_dns_search("example.com.").unwrap(), "example.com");
        assert_eq!(parse_dns_search(".").unwrap(), ".");
        assert_eq!(parse_dns_search("-bad.com").unwrap_err(), "-bad.com is not a valid domain");
        assert_eq!(parse_extra_host("db:10.0.0.2").unwrap(), "db:10.0.0.2");
        assert_eq!(parse_extra_host("db=::1").unwrap(), "db:::1");
        assert_eq!(parse_extra_host("db:[::1]").unwrap(), "db:::1");
        assert_eq!(parse_extra_host("gw:host-gateway").unwrap(), "gw:host-gateway");
        assert_eq!(parse_extra_host("foo").unwrap_err(), "bad format for add-host: \"foo\"");
        assert_eq!(parse_extra_host("db:x").unwrap_err(), "invalid IP address in add-host: \"x\"");
        assert_eq!(parse_link("a:b:c").unwrap_err(), "bad format for links: a:b:c");
        let hc = body(&["--add-host", "db=10.0.0.2", "--dns", "1.1.1.1", "--dns-opt", "ndots:2"])
            .unwrap()
            .host_config
            .unwrap();
        assert_eq!(hc.extra_hosts, Some(vec!["db:10.0.0.2".to_owned()]));
        assert_eq!((hc.dns, hc.dns_options), (Some(vec!["1.1.1.1".to_owned()]), Some(vec!["ndots:2".to_owned()])));
        assert!(body(&["--dns", "nope"]).is_err());
    }
}
