//! `run`/`create` flags and the create request built from them (docker's
//! cli/command/container/opts.go), with the small parsers they need.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail};
use api_types::container as w;

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
