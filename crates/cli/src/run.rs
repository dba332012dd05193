//! The streaming commands: `run`, `create`, `start`, `attach`, `exec`, `wait`, `logs`.
//!
//! `run` follows the docker CLI's sequence (cli/command/container/run.go): create, attach
//! (hijacked), wait (registered before start: the daemon answers its headers at once), start,
//! resize, then stream until the output ends; the exit code comes from the wait. With `-t` the
//! local terminal is raw and the CLI itself watches for the detach keys (so does the daemon,
//! for other clients); without `-t`, signals are forwarded to the container (`--sig-proxy`).

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, anyhow, bail};
use api_types::container as w;
use bytes::Bytes;
use client::{Client, ClientError, Hijacked};
use hyper::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::term;

/// Flags shared by `run` and `create`.
#[derive(Debug, clap::Args)]
pub struct ContainerFlags {
    /// Attach to STDIN, STDOUT or STDERR.
    #[arg(short = 'a', long = "attach")]
    pub attach: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip).
    #[arg(long = "add-host")]
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
    /// Number of CPUs.
    #[arg(long = "cpus")]
    pub cpus: Option<f64>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<i64>,
    /// Limit CPU CFS period.
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS quota.
    #[arg(long = "cpu-quota")]
    pub cpu_quota: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Set custom DNS servers.
    #[arg(long = "dns")]
    pub dns: Vec<String>,
    /// Set DNS options.
    #[arg(long = "dns-option")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long = "dns-search")]
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
    /// IPC mode to use.
    #[arg(long = "ipc")]
    pub ipc: Option<String>,
    /// Set meta data on a container.
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels.
    #[arg(long = "label-file")]
    pub label_file: Vec<String>,
    /// Memory limit.
    #[arg(short = 'm', long = "memory")]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap.
    #[arg(long = "memory-swap")]
    pub memory_swap: Option<String>,
    /// Assign a name to the container.
    #[arg(long = "name")]
    pub name: Option<String>,
    /// Connect a container to a network.
    #[arg(long = "network", alias = "net")]
    pub network: Option<String>,
    /// Disable OOM Killer.
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Tune host's OOM preferences (-1000 to 1000).
    #[arg(long = "oom-score-adj")]
    pub oom_score_adj: Option<i64>,
    /// PID namespace to use.
    #[arg(long = "pid")]
    pub pid: Option<String>,
    /// Tune container pids limit (set -1 for unlimited).
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<i64>,
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

/// `run`.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run container in background and print container ID.
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Proxy received signals to the process.
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Container settings.
    #[command(flatten)]
    pub flags: ContainerFlags,
}

/// `create`.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    /// Container settings.
    #[command(flatten)]
    pub flags: ContainerFlags,
}

/// `start`.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals.
    #[arg(short = 'a', long = "attach")]
    pub attach: bool,
    /// Attach container's STDIN.
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Containers.
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `attach`.
#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN.
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process.
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    /// Container.
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background.
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached.
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Give extended privileges to the command.
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]").
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Container.
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The command and its arguments.
    #[arg(value_name = "COMMAND", required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `wait`.
#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// Containers.
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs.
    #[arg(long = "details")]
    pub details: bool,
    /// Follow log output.
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes).
    #[arg(long = "since")]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs.
    #[arg(short = 'n', long = "tail", default_value = "all")]
    pub tail: String,
    /// Show timestamps.
    #[arg(short = 't', long = "timestamps")]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes).
    #[arg(long = "until")]
    pub until: Option<String>,
    /// Container.
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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

fn parse_ulimit(s: &str) -> anyhow::Result<w::Ulimit> {
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
        exposed_ports: f
            .expose
            .iter()
            .map(|p| (if p.contains('/') { p.clone() } else { format!("{p}/tcp") }, api_types::EmptyObject))
            .collect(),
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
        readonly_rootfs: f.read_only,
        dns: Some(f.dns.clone()),
        dns_options: Some(f.dns_option.clone()),
        dns_search: Some(f.dns_search.clone()),
        extra_hosts: Some(f.add_host.clone()),
        group_add: Some(f.group_add.clone()),
        init: f.init.then_some(true),
        pid_mode: f.pid.clone().unwrap_or_default(),
        ipc_mode: f.ipc.clone().unwrap_or_default(),
        uts_mode: f.uts.clone().unwrap_or_default(),
        cgroupns_mode: f.cgroupns.clone().unwrap_or_default(),
        oom_score_adj: f.oom_score_adj.unwrap_or(0),
        shm_size: f.shm_size.as_deref().map(parse_size).transpose()?.unwrap_or(0),
        binds: Some(f.volume.clone()),
        volumes_from: Some(f.volumes_from.clone()),
        publish_all_ports: f.publish_all,
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
    if !f.publish.is_empty() {
        let mut map = w::PortMap::new();
        for p in &f.publish {
            let (host, cont) =
                p.rsplit_once(':').map(|(h, c)| (h.to_owned(), c.to_owned())).unwrap_or((String::new(), p.clone()));
            let cont = if cont.contains('/') { cont } else { format!("{cont}/tcp") };
            map.entry(cont)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(w::PortBinding { host_ip: String::new(), host_port: host });
        }
        hc.port_bindings = Some(map);
    }
    if !f.mount.is_empty() {
        bail!("--mount is not supported by this berth version");
    }
    let r = &mut hc.resources;
    r.memory = f.memory.as_deref().map(parse_size).transpose()?.unwrap_or(0);
    r.memory_reservation = f.memory_reservation.as_deref().map(parse_size).transpose()?.unwrap_or(0);
    r.memory_swap = match f.memory_swap.as_deref() {
        Some("-1") => -1,
        Some(s) => parse_size(s)?,
        None => 0,
    };
    r.nano_cpus = f.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0);
    r.cpu_shares = f.cpu_shares.unwrap_or(0);
    r.cpu_period = f.cpu_period.unwrap_or(0);
    r.cpu_quota = f.cpu_quota.unwrap_or(0);
    r.cpuset_cpus = f.cpuset_cpus.clone().unwrap_or_default();
    r.cpuset_mems = f.cpuset_mems.clone().unwrap_or_default();
    r.pids_limit = f.pids_limit;
    r.oom_kill_disable = f.oom_kill_disable.then_some(true);
    r.ulimits = Some(f.ulimit.iter().map(|u| parse_ulimit(u)).collect::<anyhow::Result<_>>()?);
    if let Some((h, wd)) = term::size().filter(|_| f.tty) {
        hc.console_size = [u64::from(h), u64::from(wd)];
    }
    Ok(w::ContainerCreateRequest { config: c, host_config: Some(hc), networking_config: None })
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

/// Creates a container; on a missing image says so as docker does.
async fn create_container(
    c: &Client,
    body: &w::ContainerCreateRequest,
    name: Option<&str>,
    platform: Option<&str>,
    pull: &str,
) -> Result<String, ClientError> {
    let mut path = String::from("/containers/create");
    let mut q = Vec::new();
    if let Some(n) = name {
        q.push(format!("name={}", enc(n)));
    }
    if let Some(p) = platform {
        q.push(format!("platform={}", enc(p)));
    }
    if !q.is_empty() {
        path.push('?');
        path.push_str(&q.join("&"));
    }
    match c.json::<w::ContainerCreateResponse>(Method::POST, &path, Some(body)).await {
        Ok(r) => {
            for wmsg in &r.warnings {
                eprintln!("WARNING: {wmsg}");
            }
            Ok(r.id)
        }
        Err(e) if e.is_not_found() && e.to_string().contains("No such image") && pull != "never" => {
            eprintln!("Unable to find image '{}' locally", oci_familiar(&body.config.image));
            // Registries come later; the daemon explains in the pull stream.
            let img = enc(&body.config.image);
            let resp = c.send(Method::POST, &format!("/images/create?fromImage={img}"), client::empty(), None).await?;
            let mut b = resp.into_body();
            let mut text = Vec::new();
            while let Some(chunk) = client::next_chunk(&mut b).await? {
                text.extend_from_slice(&chunk);
            }
            for line in text.split(|&x| x == b'\n').filter(|l| !l.is_empty()) {
                if let Ok(m) = serde_json::from_slice::<api_types::image::JsonMessage>(line)
                    && let Some(err) = m.error
                {
                    return Err(ClientError::Api { status: hyper::StatusCode::NOT_FOUND, message: err });
                }
            }
            c.json::<w::ContainerCreateResponse>(Method::POST, &path, Some(body)).await.map(|r| r.id)
        }
        Err(e) => Err(e),
    }
}

fn oci_familiar(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') { image.to_owned() } else { format!("{image}:latest") }
}

/// Docker's exit status for a failed `run`/`start`: 127 not found, 126 can't run, else 125.
pub fn status_for(msg: &str) -> i32 {
    if msg.contains("executable file not found") || msg.contains("no such file or directory") {
        127
    } else if msg.contains("permission denied") || msg.contains("is a directory") {
        126
    } else {
        125
    }
}

fn run_error(e: &dyn std::fmt::Display, code: i32) -> i32 {
    // `{:#}` prints an anyhow error's whole chain (its causes), like docker's wrapped errors.
    eprintln!("berth: {e:#}\n\nRun 'berth run --help' for more information");
    code
}

/// The wait registered before start: resolves to the exit code.
async fn register_wait(c: &Client, id: &str, removed: bool) -> Result<tokio::task::JoinHandle<i32>, ClientError> {
    let cond = if removed { "removed" } else { "next-exit" };
    let resp = c.send(Method::POST, &format!("/containers/{id}/wait?condition={cond}"), client::empty(), None).await?;
    Ok(tokio::spawn(async move {
        let mut b = resp.into_body();
        let mut data = Vec::new();
        while let Ok(Some(chunk)) = client::next_chunk(&mut b).await {
            data.extend_from_slice(&chunk);
        }
        match serde_json::from_slice::<w::ContainerWaitResponse>(&data) {
            Ok(r) => {
                if let Some(e) = r.error.filter(|e| !e.message.is_empty()) {
                    eprintln!("{}", e.message);
                }
                i32::try_from(r.status_code).unwrap_or(125)
            }
            Err(_) => 125,
        }
    }))
}

/// How a streamed session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// The output ended (the process exited or the daemon closed the stream).
    Done,
    /// The user typed the detach keys.
    Detached,
}

/// Parses detach keys like moby/term's `ToBytes`.
pub fn detach_bytes(keys: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let Some(keys) = keys.filter(|k| !k.is_empty()) else { return Ok(vec![16, 17]) };
    let mut out = Vec::new();
    for k in keys.split(',') {
        let k = k.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = c.as_bytes();
            let v = match b {
                [x @ b'a'..=b'z'] => x - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => bail!("invalid detach keys ({keys}): Unknown character: '{k}'"),
            };
            out.push(v);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            bail!("invalid detach keys ({keys}): Unknown character: '{k}'");
        }
    }
    Ok(out)
}

/// Streams a hijacked connection to the local terminal until the output ends or the user
/// detaches. With a terminal, stdin is raw and the detach keys are watched here, as the docker
/// CLI does.
pub async fn stream(io: Hijacked, tty: bool, stdin: bool, detach_keys: Vec<u8>) -> anyhow::Result<StreamEnd> {
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut raw = if tty && stdin { Some(term::RawMode::enable()) } else { None };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Option<Vec<u8>>>(16);
    if stdin {
        // A plain thread: a blocking read of stdin must not hold the runtime at exit.
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = vec![0u8; 32 * 1024];
            let mut input = std::io::stdin().lock();
            loop {
                match input.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.blocking_send(None);
                        return;
                    }
                    Ok(n) => {
                        if tx.blocking_send(Some(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    } else {
        drop(tx);
        // Nothing to send: tell the daemon so (docker CLI closes its write side).
        let _ = wr.shutdown().await;
    }
    let mut held = 0usize;
    let keys = detach_keys;
    let mut demux = client::Demux::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut input_open = stdin;
    loop {
        tokio::select! {
            r = rd.read(&mut buf) => {
                let n = match r { Ok(0) | Err(_) => break, Ok(n) => n };
                if tty {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                } else {
                    demux.push(&buf[..n]);
                    while let Some((s, data)) = demux.next_frame() {
                        if s == 2 {
                            let mut e = std::io::stderr().lock();
                            let _ = e.write_all(&data);
                            let _ = e.flush();
                        } else {
                            let mut o = std::io::stdout().lock();
                            let _ = o.write_all(&data);
                            let _ = o.flush();
                        }
                    }
                }
            }
            msg = rx.recv(), if input_open => {
                match msg {
                    Some(Some(data)) => {
                        let mut fwd = Vec::with_capacity(data.len());
                        let mut detached = false;
                        for &b in &data {
                            if tty && !keys.is_empty() && b == keys[held] {
                                held += 1;
                                if held == keys.len() {
                                    detached = true;
                                    break;
                                }
                                continue;
                            }
                            if held > 0 {
                                fwd.extend_from_slice(&keys[..held]);
                                held = 0;
                            }
                            fwd.push(b);
                        }
                        if !fwd.is_empty() && wr.write_all(&fwd).await.is_err() {
                            input_open = false;
                        }
                        if detached {
                            if let Some(r) = raw.as_mut() { r.restore(); }
                            return Ok(StreamEnd::Detached);
                        }
                    }
                    _ => {
                        input_open = false;
                        let _ = wr.shutdown().await;
                    }
                }
            }
        }
    }
    if let Some(r) = raw.as_mut() {
        r.restore();
    }
    Ok(StreamEnd::Done)
}

/// Sends the terminal size now and on every SIGWINCH.
fn monitor_size(c: &Client, path_prefix: String) {
    let c = c.clone();
    tokio::spawn(async move {
        let send = |c: Client, p: String| async move {
            if let Some((h, wd)) = term::size() {
                let _ = c.post(&format!("{p}/resize?h={h}&w={wd}")).await;
            }
        };
        send(c.clone(), path_prefix.clone()).await;
        let Ok(mut sig) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()) else { return };
        while sig.recv().await.is_some() {
            send(c.clone(), path_prefix.clone()).await;
        }
    });
}

/// Forwards this process's signals to the container (`--sig-proxy`).
fn proxy_signals(c: &Client, id: &str) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
        (SignalKind::quit(), "SIGQUIT"),
        (SignalKind::user_defined1(), "SIGUSR1"),
        (SignalKind::user_defined2(), "SIGUSR2"),
    ] {
        let Ok(mut s) = signal(kind) else { continue };
        let c = c.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                let _ = c.post(&format!("/containers/{id}/kill?signal={name}")).await;
            }
        });
    }
}

/// `run`.
pub async fn run(c: &Client, a: RunArgs) -> i32 {
    let f = &a.flags;
    let body = match create_body(f, a.detach) {
        Ok(b) => b,
        Err(e) => return run_error(&e, 125),
    };
    if a.detach && !f.attach.is_empty() {
        return run_error(&"conflicting options: cannot specify both --attach and --detach", 125);
    }
    if !a.detach && f.tty && body.config.attach_stdin && !term::stdin_is_tty() {
        return run_error(&"the input device is not a TTY", 1);
    }
    let keys = match detach_bytes(a.detach_keys.as_deref()) {
        Ok(k) => k,
        Err(e) => return run_error(&e, 125),
    };
    if f.pull == "always" {
        return run_error(&"--pull=always needs a registry: pulling is not supported by this berth version", 125);
    }
    let id = match create_container(c, &body, f.name.as_deref(), f.platform.as_deref(), &f.pull).await {
        Ok(id) => id,
        Err(e) => return run_error(&e, 125),
    };
    if let Some(cid) = &f.cidfile
        && let Err(e) = std::fs::write(cid, &id)
    {
        return run_error(&format!("failed to write the container ID to the file: {e}"), 125);
    }
    let cfg = &body.config;
    let attach = cfg.attach_stdin || cfg.attach_stdout || cfg.attach_stderr;
    if a.sig_proxy && !f.tty {
        proxy_signals(c, &id);
    }
    let hijack = if attach {
        let q = format!(
            "/containers/{id}/attach?stream=1&stdin={}&stdout={}&stderr={}{}",
            u8::from(cfg.attach_stdin),
            u8::from(cfg.attach_stdout),
            u8::from(cfg.attach_stderr),
            a.detach_keys.as_deref().map(|k| format!("&detachKeys={}", enc(k))).unwrap_or_default()
        );
        match c.hijack(Method::POST, &q, None).await {
            Ok((io, _)) => Some(io),
            Err(e) => return run_error(&e, 125),
        }
    } else {
        None
    };
    let waiter = match register_wait(c, &id, f.rm).await {
        Ok(w) => w,
        Err(e) => return run_error(&e, 125),
    };
    if let Err(e) = c.post(&format!("/containers/{id}/start")).await {
        if f.rm {
            let _ = waiter.await;
        }
        return run_error(&e, status_for(&e.to_string()));
    }
    let Some(io) = hijack else {
        println!("{id}");
        return 0;
    };
    if f.tty && term::stdout_is_tty() {
        monitor_size(c, format!("/containers/{id}"));
    }
    match stream(io, f.tty, cfg.attach_stdin, keys).await {
        Ok(StreamEnd::Detached) => 0,
        Ok(StreamEnd::Done) => waiter.await.unwrap_or(125),
        Err(e) => run_error(&e, 125),
    }
}

/// `create`.
pub async fn create(c: &Client, a: CreateArgs) -> anyhow::Result<i32> {
    let body = create_body(&a.flags, true).map_err(|e| anyhow!("berth: {e}"))?;
    // create keeps the attach settings the user asked for (docker does).
    let mut body = body;
    let full = create_body(&a.flags, false)?;
    body.config.attach_stdin = full.config.attach_stdin;
    body.config.attach_stdout = full.config.attach_stdout;
    body.config.attach_stderr = full.config.attach_stderr;
    body.config.stdin_once = full.config.stdin_once;
    match create_container(c, &body, a.flags.name.as_deref(), a.flags.platform.as_deref(), &a.flags.pull).await {
        Ok(id) => {
            if let Some(cid) = &a.flags.cidfile {
                std::fs::write(cid, &id).with_context(|| format!("writing {cid}"))?;
            }
            println!("{id}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(125)
        }
    }
}

async fn inspect(c: &Client, name: &str) -> Result<w::ContainerInspectResponse, ClientError> {
    c.get(&format!("/containers/{}/json", enc(name))).await
}

/// `start`.
pub async fn start(c: &Client, a: StartArgs) -> anyhow::Result<i32> {
    if !(a.attach || a.interactive) {
        let mut failed = false;
        for n in &a.containers {
            match c.post(&format!("/containers/{}/start", enc(n))).await {
                Ok(()) => println!("{n}"),
                Err(e) => {
                    eprintln!("{e}");
                    failed = true;
                }
            }
        }
        if failed {
            eprintln!("Error: failed to start containers: {}", a.containers.join(", "));
        }
        return Ok(i32::from(failed));
    }
    if a.containers.len() > 1 {
        bail!("you cannot start and attach multiple containers at once");
    }
    let name = &a.containers[0];
    let info = inspect(c, name).await?;
    let keys = detach_bytes(a.detach_keys.as_deref())?;
    let stdin = a.interactive && info.config.open_stdin;
    let q = format!("/containers/{}/attach?stream=1&stdin={}&stdout=1&stderr=1", info.id, u8::from(stdin));
    let (io, _) = c.hijack(Method::POST, &q, None).await?;
    let waiter = register_wait(c, &info.id, info.host_config.auto_remove).await?;
    if !info.config.tty {
        proxy_signals(c, &info.id);
    }
    if let Err(e) = c.post(&format!("/containers/{}/start", info.id)).await {
        eprintln!("{e}");
        return Ok(status_for(&e.to_string()).max(1));
    }
    if info.config.tty && term::stdout_is_tty() {
        monitor_size(c, format!("/containers/{}", info.id));
    }
    match stream(io, info.config.tty, stdin, keys).await? {
        StreamEnd::Detached => Ok(0),
        StreamEnd::Done => Ok(waiter.await.unwrap_or(125)),
    }
}

/// `attach`.
pub async fn attach(c: &Client, a: AttachArgs) -> anyhow::Result<i32> {
    let info = inspect(c, &a.container).await?;
    if info.state.paused {
        bail!("You cannot attach to a paused container, unpause it first");
    }
    if !info.state.running {
        bail!("You cannot attach to a stopped container, start it first");
    }
    let keys = detach_bytes(a.detach_keys.as_deref())?;
    let stdin = !a.no_stdin && info.config.open_stdin;
    let q = format!(
        "/containers/{}/attach?stream=1&stdin={}&stdout=1&stderr=1{}",
        info.id,
        u8::from(stdin),
        a.detach_keys.as_deref().map(|k| format!("&detachKeys={}", enc(k))).unwrap_or_default()
    );
    let waiter = register_wait(c, &info.id, false).await?;
    let (io, _) = c.hijack(Method::POST, &q, None).await?;
    if a.sig_proxy && !info.config.tty {
        proxy_signals(c, &info.id);
    }
    if info.config.tty && term::stdout_is_tty() {
        // Docker first sets a size one larger to make the program redraw.
        if let Some((h, wd)) = term::size() {
            let _ = c.post(&format!("/containers/{}/resize?h={}&w={}", info.id, h + 1, wd + 1)).await;
        }
        monitor_size(c, format!("/containers/{}", info.id));
    }
    match stream(io, info.config.tty, stdin, keys).await? {
        StreamEnd::Detached => Ok(0),
        StreamEnd::Done => {
            // The stream ends when the container exits: its wait (registered before) says how.
            match tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await {
                Ok(Ok(code)) => Ok(code),
                _ => Ok(0),
            }
        }
    }
}

/// `exec`.
pub async fn exec(c: &Client, a: ExecArgs) -> i32 {
    match exec_inner(c, a).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e:#}");
            if let Some(ClientError::Api { status, .. }) = e.downcast_ref::<ClientError>()
                && *status == hyper::StatusCode::NOT_FOUND
            {
                return 1;
            }
            1
        }
    }
}

async fn exec_inner(c: &Client, a: ExecArgs) -> anyhow::Result<i32> {
    if a.tty && a.interactive && !term::stdin_is_tty() {
        bail!("the input device is not a TTY");
    }
    let keys = detach_bytes(a.detach_keys.as_deref())?;
    let console = term::size().filter(|_| a.tty).map(|(h, wd)| [u64::from(h), u64::from(wd)]);
    let cfg = api_types::exec::ExecConfig {
        attach_stdin: a.interactive && !a.detach,
        attach_stdout: !a.detach,
        attach_stderr: !a.detach,
        detach_keys: a.detach_keys.clone().unwrap_or_default(),
        tty: a.tty,
        env: Some(parse_env(&a.env, &a.env_file)?),
        cmd: Some(a.command.clone()),
        privileged: a.privileged,
        user: a.user.clone().unwrap_or_default(),
        working_dir: a.workdir.clone().unwrap_or_default(),
        console_size: console,
        ..Default::default()
    };
    let r: api_types::IdResponse =
        c.json(Method::POST, &format!("/containers/{}/exec", enc(&a.container)), Some(&cfg)).await?;
    let start = serde_json::json!({ "Detach": a.detach, "Tty": a.tty, "ConsoleSize": console });
    if a.detach {
        c.json::<serde_json::Value>(Method::POST, &format!("/exec/{}/start", r.id), Some(&start)).await.ok();
        return Ok(0);
    }
    let (io, _) = c.hijack(Method::POST, &format!("/exec/{}/start", r.id), Some(serde_json::to_vec(&start)?)).await?;
    if a.tty && term::stdout_is_tty() {
        monitor_size(c, format!("/exec/{}", r.id));
    }
    if stream(io, a.tty, a.interactive, keys).await? == StreamEnd::Detached {
        return Ok(0);
    }
    let info: api_types::exec::ExecInspectResponse = c.get(&format!("/exec/{}/json", r.id)).await?;
    Ok(info.exit_code.map_or(0, |x| i32::try_from(x).unwrap_or(1)))
}

/// `wait`.
pub async fn wait(c: &Client, a: WaitArgs) -> anyhow::Result<i32> {
    let mut failed = false;
    for n in &a.containers {
        match c
            .json::<w::ContainerWaitResponse>(Method::POST, &format!("/containers/{}/wait", enc(n)), None::<&()>)
            .await
        {
            Ok(r) => println!("{}", r.status_code),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}

/// Turns docker's `--since`/`--until` forms (RFC 3339 dates, Unix timestamps, Go durations like
/// `10m`, `1h30m`) into the `seconds.nanoseconds` the API takes.
pub fn timestamp_arg(s: &str, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<String> {
    if s.is_empty() {
        return Ok(String::new());
    }
    if let Ok(d) = parse_go_duration(s) {
        let t = now - d;
        return Ok(format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos()));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Ok(s.to_owned());
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos()));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt)
            .or_else(|_| chrono::NaiveDate::parse_from_str(s, fmt).map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default()))
        {
            let t = t.and_utc();
            return Ok(format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos()));
        }
    }
    bail!("invalid value for time: {s:?}")
}

/// Parses Go durations: `300ms`, `1.5h`, `2h45m`, `10s`.
pub fn parse_go_duration(s: &str) -> anyhow::Result<chrono::Duration> {
    let mut total_ns: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_end == 0 {
            bail!("invalid duration {s:?}");
        }
        let num: f64 = rest[..num_end].parse().map_err(|_| anyhow!("invalid duration {s:?}"))?;
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => bail!("invalid duration {s:?}"),
        };
        total_ns += num * mult;
        rest = &rest[unit_end..];
    }
    Ok(chrono::Duration::nanoseconds(total_ns as i64))
}

/// `logs`.
pub async fn logs(c: &Client, a: LogsArgs) -> anyhow::Result<i32> {
    let info = inspect(c, &a.container).await?;
    let now = chrono::Utc::now();
    let mut q = format!("stdout=1&stderr=1&tail={}", enc(&a.tail));
    if a.follow {
        q.push_str("&follow=1");
    }
    if a.timestamps {
        q.push_str("&timestamps=1");
    }
    if let Some(s) = &a.since {
        q.push_str(&format!("&since={}", enc(&timestamp_arg(s, now)?)));
    }
    if let Some(u) = &a.until {
        q.push_str(&format!("&until={}", enc(&timestamp_arg(u, now)?)));
    }
    let resp = c.send(Method::GET, &format!("/containers/{}/logs?{q}", info.id), client::empty(), None).await?;
    let mut body = resp.into_body();
    let mut demux = client::Demux::default();
    while let Some(chunk) = client::next_chunk(&mut body).await? {
        if info.config.tty {
            write_out(1, &chunk);
        } else {
            demux.push(&chunk);
            while let Some((s, d)) = demux.next_frame() {
                write_out(s, &Bytes::from(d));
            }
        }
    }
    Ok(0)
}

fn write_out(stream: u8, data: &[u8]) {
    if stream == 2 {
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(data);
    } else {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(data);
        let _ = o.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn detach_key_parsing() {
        assert_eq!(detach_bytes(None).unwrap(), vec![16, 17]);
        assert_eq!(detach_bytes(Some("ctrl-a,x")).unwrap(), vec![1, b'x']);
        assert!(detach_bytes(Some("ctrl-ab")).is_err());
    }

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_go_duration("1h30m").unwrap(), chrono::Duration::minutes(90));
        assert_eq!(parse_go_duration("250ms").unwrap(), chrono::Duration::milliseconds(250));
        assert!(parse_go_duration("5x").is_err());
        let now = chrono::DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert_eq!(timestamp_arg("10s", now).unwrap(), "999990.000000000");
        assert_eq!(timestamp_arg("1700000000", now).unwrap(), "1700000000");
        assert_eq!(timestamp_arg("2023-11-14T22:13:20Z", now).unwrap(), "1700000000.000000000");
    }

    #[test]
    fn statuses() {
        assert_eq!(status_for("exec: \"x\": executable file not found in $PATH"), 127);
        assert_eq!(status_for("exec: \"/etc\": permission denied"), 126);
        assert_eq!(status_for("something else"), 125);
    }

    #[test]
    fn create_body_basics() {
        let f = ContainerFlags {
            attach: vec![],
            add_host: vec![],
            annotation: vec![],
            cap_add: vec![],
            cap_drop: vec![],
            cgroupns: None,
            cidfile: None,
            cpus: None,
            cpu_shares: None,
            cpu_period: None,
            cpu_quota: None,
            cpuset_cpus: None,
            cpuset_mems: None,
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
            ipc: None,
            label: vec!["k=v".into(), "flag".into()],
            label_file: vec![],
            memory: None,
            memory_reservation: None,
            memory_swap: None,
            name: None,
            network: Some("none".into()),
            oom_kill_disable: false,
            oom_score_adj: None,
            pid: None,
            pids_limit: None,
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
}

/// `events`.
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided.
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'json' or a Go template.
    #[arg(long = "format")]
    pub format: Option<String>,
    /// Show all events created since timestamp.
    #[arg(long = "since")]
    pub since: Option<String>,
    /// Stream events until this timestamp.
    #[arg(long = "until")]
    pub until: Option<String>,
}

/// One event line in docker's default layout:
/// `TIME TYPE ACTION ID (key=value, ...)`.
pub fn event_line(e: &api_types::events::EventMessage) -> String {
    let t = chrono::DateTime::from_timestamp_nanos(e.time_nano).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let attrs: Vec<String> = e.actor.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if attrs.is_empty() {
        format!("{t} {} {} {}", e.r#type, e.action, e.actor.id)
    } else {
        format!("{t} {} {} {} ({})", e.r#type, e.action, e.actor.id, attrs.join(", "))
    }
}

/// `events`.
pub async fn events(c: &Client, a: EventsArgs) -> anyhow::Result<i32> {
    let now = chrono::Utc::now();
    let mut q = Vec::new();
    if let Some(s) = &a.since {
        q.push(format!("since={}", enc(&timestamp_arg(s, now)?)));
    }
    if let Some(u) = &a.until {
        q.push(format!("until={}", enc(&timestamp_arg(u, now)?)));
    }
    if !a.filter.is_empty() {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in &a.filter {
            let (k, v) = f.split_once('=').ok_or_else(|| anyhow!("bad format of filter (expected name=value)"))?;
            m.entry(k.to_owned()).or_default().push(v.to_owned());
        }
        q.push(format!("filters={}", enc(&serde_json::to_string(&m)?)));
    }
    let tmpl = match a.format.as_deref() {
        None | Some("") => None,
        Some(f) => Some(gotmpl::Template::parse(f).map_err(|e| anyhow!("{e}"))?),
    };
    let resp = c.send(Method::GET, &format!("/events?{}", q.join("&")), client::empty(), None).await?;
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    while let Some(chunk) = client::next_chunk(&mut body).await? {
        buf.extend_from_slice(&chunk);
        while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            let Ok(e) = serde_json::from_slice::<api_types::events::EventMessage>(&line) else { continue };
            let text = match &tmpl {
                Some(t) => t.render(&serde_json::to_value(&e)?).map_err(|e| anyhow!("{e}"))?,
                None => event_line(&e),
            };
            let mut o = std::io::stdout().lock();
            writeln!(o, "{text}")?;
            o.flush()?;
        }
    }
    Ok(0)
}
