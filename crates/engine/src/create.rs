//! `create`: a container record from the user's settings merged with the image's, and its
//! directory (writable layer, init layer, /etc files).

use std::collections::BTreeMap;
use std::path::Path;

use crate::Unpoison;
use crate::model::{CONTAINER_RECORD_VERSION, Container, ContainerConfig, CreateRequest, HostConfig, State};
use crate::{Engine, EngineError, names, random_id, store};

/// Merges the user's configuration with the image's, as Docker's `runconfig` merge does.
pub(crate) fn merge(user: &mut ContainerConfig, img: Option<&image::ContainerConfig>) {
    let Some(img) = img else { return };
    if let Some(ienv) = &img.env {
        if user.env.is_empty() {
            user.env = ienv.clone();
        } else {
            for e in ienv {
                let key = e.split('=').next().unwrap_or(e);
                if !user.env.iter().any(|u| u.split('=').next().unwrap_or(u) == key) {
                    user.env.push(e.clone());
                }
            }
        }
    }
    if let Some(l) = &img.labels {
        for (k, v) in l {
            user.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if user.entrypoint.as_ref().is_none_or(|e| e.is_empty()) {
        if user.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            user.cmd = img.cmd.clone();
        }
        if user.entrypoint.is_none() {
            user.entrypoint = img.entrypoint.clone();
        }
    }
    if user.working_dir.is_empty() {
        user.working_dir = img.working_dir.clone().unwrap_or_default();
    }
    if user.user.is_empty() {
        user.user = img.user.clone().unwrap_or_default();
    }
    if let Some(p) = &img.exposed_ports {
        for k in p.keys() {
            if !user.exposed_ports.contains(k) {
                user.exposed_ports.push(k.clone());
            }
        }
    }
    if let Some(v) = &img.volumes {
        for k in v.keys() {
            if !user.volumes.contains(k) {
                user.volumes.push(k.clone());
            }
        }
    }
    if user.stop_signal.is_none() {
        user.stop_signal = img.stop_signal.clone();
    }
    if user.stop_timeout.is_none() {
        user.stop_timeout = img.stop_timeout;
    }
}

/// The command line: entrypoint then cmd (`--entrypoint ""` clears the image's entrypoint).
pub(crate) fn command(cfg: &ContainerConfig) -> Result<(String, Vec<String>), EngineError> {
    let mut line: Vec<String> = match &cfg.entrypoint {
        Some(e) if e.len() == 1 && e[0].is_empty() => Vec::new(),
        Some(e) => e.clone(),
        None => Vec::new(),
    };
    line.extend(cfg.cmd.clone().unwrap_or_default());
    let mut it = line.into_iter();
    let path = it.next().ok_or_else(|| EngineError::InvalidArgument("no command specified".into()))?;
    Ok((path, it.collect()))
}

/// The stop timeout of a supervised container unless one is given (`--stop-timeout`).
pub const SUPERVISED_STOP_TIMEOUT: i64 = 30;

/// Docker's CLI and compose can't pass `--supervise`: the labels `berth.supervise=true`,
/// `berth.program.NAME=COMMAND`, `berth.cron.N=SCHEDULE COMMAND` and `berth.exit-on=NAME[,NAME]`
/// (the image's or the container's) ask for the same.
pub(crate) fn supervise_from_labels(labels: &BTreeMap<String, String>, hc: &mut HostConfig) {
    if hc.supervise.is_some() || labels.get("berth.supervise").map(String::as_str) != Some("true") {
        return;
    }
    let mut s = crate::model::Supervise::default();
    for (k, v) in labels {
        if let Some(name) = k.strip_prefix("berth.program.") {
            s.programs.push(format!("{name}={v}"));
        } else if k.starts_with("berth.cron.") {
            s.cron.push(v.clone());
        } else if k == "berth.exit-on" {
            s.exit_on.extend(v.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned));
        }
    }
    hc.supervise = Some(s);
}

/// Checks host settings Docker refuses at create time.
pub(crate) fn validate_host(hc: &HostConfig) -> Result<(), EngineError> {
    let rp = &hc.restart_policy;
    validate_restart(rp)?;
    if hc.auto_remove && !rp.is_none() {
        return Err(EngineError::InvalidArgument("can't create 'AutoRemove' container with restart policy".into()));
    }
    for opt in &hc.security_opt {
        let (k, _) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), ""));
        if !matches!(k, "seccomp" | "no-new-privileges" | "apparmor" | "label" | "systempaths" | "mask" | "unmask") {
            return Err(EngineError::InvalidArgument(format!("invalid --security-opt: {opt:?}")));
        }
    }
    crate::resources::validate_ulimits(&hc.ulimits)
}

/// Refuses numeric uids and gids the kernel would misread (`-1` is "unchanged" to setresuid);
/// names are resolved, and checked again, in the container.
pub(crate) fn check_user(user: &str, group_add: &[String]) -> Result<(), EngineError> {
    runtime::user::check_spec(user, group_add).map_err(|e| EngineError::InvalidArgument(e.to_string()))
}

/// Checks a restart policy (at create and update).
pub(crate) fn validate_restart(rp: &crate::model::RestartPolicy) -> Result<(), EngineError> {
    match rp.name.as_str() {
        "" | "no" | "always" | "unless-stopped" => {
            if rp.maximum_retry_count != 0 {
                return Err(EngineError::InvalidArgument(
                    "invalid restart policy: maximum retry count can only be used with 'on-failure'".into(),
                ));
            }
        }
        "on-failure" => {
            if rp.maximum_retry_count < 0 {
                return Err(EngineError::InvalidArgument(
                    "invalid restart policy: maximum retry count cannot be negative".into(),
                ));
            }
        }
        other => {
            return Err(EngineError::InvalidArgument(format!(
                "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            )));
        }
    }
    Ok(())
}

/// /etc/hosts of a container without a network of its own beyond loopback.
pub(crate) fn hosts_file(extra: &[String]) -> Result<String, EngineError> {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for e in extra {
        let (host, ip) = e.split_once(':').ok_or_else(|| {
            EngineError::InvalidArgument(format!("invalid argument {e:?} for \"--add-host\" flag: bad format"))
        })?;
        s.push_str(&format!("{ip}\t{host}\n"));
    }
    Ok(s)
}

/// The container's resolv.conf: the host's without loopback name servers (they can't be reached
/// from the container's network namespace), or the user's `--dns*` settings.
pub(crate) fn resolv_conf(host: &str, dns: &[String], search: &[String], options: &[String]) -> String {
    let mut out = String::new();
    for line in host.lines() {
        let t = line.trim();
        if let Some(ns) = t.strip_prefix("nameserver") {
            let ns = ns.trim();
            if !dns.is_empty() || ns.starts_with("127.") || ns == "::1" {
                continue;
            }
        } else if (t.starts_with("search") && !search.is_empty()) || (t.starts_with("options") && !options.is_empty()) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for d in dns {
        out.push_str(&format!("nameserver {d}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

fn write(path: &Path, data: &[u8]) -> Result<(), EngineError> {
    std::fs::write(path, data).map_err(|e| EngineError::io(format!("writing {}", path.display()), e))
}

fn mkdir(path: &Path) -> Result<(), EngineError> {
    std::fs::create_dir_all(path).map_err(|e| EngineError::io(format!("creating {}", path.display()), e))
}

/// Makes the shared init layer if it isn't there: the mount points every container gets, so that
/// creating them never shows up as a change of the container (`diff`, `export`, `commit`), as
/// Docker's per-container init layer does. One layer serves all containers: its content never
/// depends on the container.
pub(crate) fn ensure_init_layer(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if path.is_dir() {
        // Private, as the rest of the root (a root made by an older berth had it 0755).
        return std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
    }
    let tmp = path.with_file_name(format!(".init-layer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    for d in ["dev/pts", "dev/shm", "proc", "sys", "etc"] {
        std::fs::create_dir_all(tmp.join(d))?;
    }
    for f in ["etc/hosts", "etc/hostname", "etc/resolv.conf", ".dockerenv", "dev/console"] {
        std::fs::write(tmp.join(f), b"")?;
    }
    std::os::unix::fs::symlink("/proc/mounts", tmp.join("etc/mtab"))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700))?;
    match std::fs::rename(&tmp, path) {
        Ok(()) => Ok(()),
        // Another daemon on the same root can't exist (lock); a leftover can.
        Err(_) if path.is_dir() => std::fs::remove_dir_all(&tmp),
        Err(e) => Err(e),
    }
}

/// Lays out a container's directory; the record is written last by the caller. Kept to a few
/// inodes: on a slow disk every create costs.
fn make_dir(
    dir: &Path,
    c: &Container,
    embedded_dns: Option<std::net::Ipv4Addr>,
    daemon_dns: &[std::net::IpAddr],
) -> Result<(), EngineError> {
    if c.persistent_layer.is_none() {
        mkdir(&dir.join("upper"))?;
        mkdir(&dir.join("work"))?;
    } else {
        mkdir(dir)?;
    }
    let hc = &c.host_config;
    write(&dir.join("hostname"), format!("{}\n", c.config.hostname).as_bytes())?;
    write(&dir.join("hosts"), hosts_file(&hc.extra_hosts)?.as_bytes())?;
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    // On a user-defined network the embedded DNS server on the gateway answers (and forwards
    // what isn't a container's name to the host's servers), unless `--dns` names others.
    let dns = match embedded_dns {
        Some(gw) if hc.dns.is_empty() => vec![gw.to_string()],
        _ if hc.dns.is_empty() => daemon_dns.iter().map(ToString::to_string).collect(),
        _ => hc.dns.clone(),
    };
    write(&dir.join("resolv.conf"), resolv_conf(&host_resolv, &dns, &hc.dns_search, &hc.dns_options).as_bytes())?;
    Ok(())
}

impl Engine {
    /// Creates a container; returns its ID and warnings.
    pub async fn create(&self, req: CreateRequest) -> Result<(String, Vec<String>), EngineError> {
        let CreateRequest { name, mut config, mut host_config, endpoints } = req;
        let name = name.as_deref().map(names::check).transpose()?.map(str::to_owned);
        validate_host(&host_config)?;
        let remap = self.remap();
        crate::userns::validate(&host_config, remap)?;
        host_config.userns_remap = crate::userns::for_new(&host_config, remap);
        let host = self.host_facts();
        let warnings = crate::resources::defaults(&mut host_config.resources, &host);
        crate::resources::validate(&host_config.resources, &host)?;
        if config.image.is_empty() {
            return Err(EngineError::InvalidArgument("no image specified".into()));
        }
        if host_config.persist && name.is_none() {
            return Err(EngineError::InvalidArgument(
                "--persist needs a container name (--name): the kept writable layer is named after it".into(),
            ));
        }
        let user_config = config.clone();
        let img = {
            let store = self.images().clone();
            let name = config.image.clone();
            tokio::task::spawn_blocking(move || store.resolve(&name)).await.expect("image resolve task")?
        };
        merge(&mut config, img.config.config.as_ref());
        // The user may come from the image: checked after the merge.
        check_user(&config.user, &host_config.group_add)?;
        supervise_from_labels(&config.labels, &mut host_config);
        if host_config.supervise.is_some() && config.stop_timeout.is_none() {
            // The supervisor stops its programs one priority level after another, each with up
            // to its stopwaitsecs (10 s by default): Docker's 10 s would cut that short.
            config.stop_timeout = Some(SUPERVISED_STOP_TIMEOUT);
        }
        // A supervised container needs no command of its own: its programs are the command.
        let (path, args) = match command(&config) {
            Err(_) if host_config.supervise.is_some() && config.cmd.is_none() && config.entrypoint.is_none() => {
                (String::new(), Vec::new())
            }
            r => r?,
        };
        if let Some(s) = &config.stop_signal {
            crate::lifecycle::parse_signal(s)?;
        }
        for m in [&host_config.network_mode, &host_config.pid_mode, &host_config.ipc_mode] {
            if let Some(other) = m.strip_prefix("container:") {
                self.lookup(other)?;
            }
        }
        let networks = self.net_validate(&host_config, &endpoints)?;
        // A network given by ID is kept by name, as the container's networks are.
        if let Some(n) = crate::network::mode_network(&host_config.network_mode)
            && n != "bridge"
            && let Ok(net) = self.net().find(n)
        {
            host_config.network_mode = net.name;
        }
        let embedded_dns = crate::network::mode_network(&host_config.network_mode)
            .and_then(|n| self.net().find(n).ok())
            .filter(|n| n.driver == "bridge" && n.name != "bridge")
            .and_then(|n| n.gateway);

        let id = random_id();
        if config.hostname.is_empty() {
            // With the host's network the container takes the host's name, as Docker's does.
            config.hostname = if host_config.network_mode == "host" {
                rustix::system::uname().nodename().to_string_lossy().into_owned()
            } else {
                id[..12].to_owned()
            };
        }
        if config.working_dir.is_empty() {
            config.working_dir = "/".into();
        } else if !config.working_dir.starts_with('/') {
            return Err(EngineError::InvalidArgument(format!(
                "the working directory '{}' is invalid, it needs to be an absolute path",
                config.working_dir
            )));
        }
        // Reserve the name.
        let name = {
            let mut map = self.inner.names.write().unpoisoned();
            let name = match name {
                Some(n) => {
                    if let Some(other) = map.get(&n) {
                        return Err(names::conflict(&n, other));
                    }
                    n
                }
                None => {
                    let seed = u64::from_str_radix(&id[..16], 16).unwrap_or(0);
                    let mut n = names::random(seed, 0);
                    let mut retry = 0;
                    while map.contains_key(&n) {
                        retry += 1;
                        n = names::random(seed.wrapping_add(u64::from(retry)), retry);
                    }
                    n
                }
            };
            map.insert(name.clone(), id.clone());
            name
        };
        let release_name = || {
            self.inner.names.write().unpoisoned().remove(&name);
        };
        let layer_made = if host_config.persist {
            match self.persist_prepare(&name) {
                Ok(made) => made,
                Err(e) => {
                    release_name();
                    return Err(e);
                }
            }
        } else {
            false
        };
        let persist = host_config.persist;
        // Volumes last: they are the only thing made outside the container's directory.
        let layers = if host_config.binds.is_empty() && host_config.mounts.is_empty() && config.volumes.is_empty() {
            Ok(Vec::new())
        } else {
            self.images().layers(&img.id).map_err(EngineError::from)
        };
        let resolved = match layers {
            Ok(layers) => {
                self.resolve_mounts(&id, &config, &host_config, persist.then_some(name.as_str()), &layers).await
            }
            Err(e) => Err(e),
        };
        let (mounts, new_volumes) = match resolved {
            Ok(m) => m,
            Err(e) => {
                release_name();
                if layer_made {
                    let _ = crate::remove_tree(&self.persistent_layer_dir(&name));
                }
                return Err(e);
            }
        };
        let c = Container {
            version: CONTAINER_RECORD_VERSION,
            id: id.clone(),
            name: name.clone(),
            created: chrono::Utc::now(),
            image_id: img.id.to_string(),
            path,
            args,
            config,
            host_config,
            state: State::default(),
            exec_ids: Vec::new(),
            networks,
            mounts,
            user_config: Some(user_config),
            persistent_layer: persist.then(|| name.clone()),
        };
        // Made under a temporary name and renamed into place once its record is in it: a
        // directory with a container's name always has a record (one that doesn't is set aside
        // at start-up, never deleted), and a crash leaves a `.creating-` leftover to remove.
        let dir = self.container_dir(&id);
        let tmp = dir.with_file_name(format!("{}{id}", store::CREATING));
        let made = make_dir(&tmp, &c, embedded_dns, &self.net().cfg.dns)
            .and_then(|()| self.own_new_container(&c, &tmp, layer_made))
            .and_then(|()| store::save(&tmp, &c).map_err(|e| EngineError::io(format!("saving container {id}"), e)))
            .and_then(|()| {
                crate::failpoint("create:record-written");
                std::fs::rename(&tmp, &dir).map_err(|e| EngineError::io(format!("creating {}", dir.display()), e))
            });
        if let Err(e) = made {
            release_name();
            let _ = crate::remove_tree(&tmp);
            self.volumes().drop_refs(&id);
            for v in &new_volumes {
                let _ = self.volume_remove(v, true).await;
            }
            if layer_made {
                let _ = crate::remove_tree(&self.persistent_layer_dir(&name));
            }
            return Err(e);
        }
        let ctr = self.register(c);
        self.publish_container(&ctr, "create", BTreeMap::new());
        Ok((id, warnings))
    }

    /// With a user namespace, what the container's root writes (its writable layer, unless it
    /// takes over a `--persist` layer made before, and its /etc files) is its root's.
    fn own_new_container(&self, c: &Container, dir: &Path, new_layer: bool) -> Result<(), EngineError> {
        let Some(map) = &c.host_config.userns_remap else { return Ok(()) };
        // `dir`: the container's directory, still under its temporary name.
        let upper = match &c.persistent_layer {
            Some(_) => self.rw_dirs(c).0,
            None => dir.join("upper"),
        };
        let (hosts, hostname, resolv) = (dir.join("hosts"), dir.join("hostname"), dir.join("resolv.conf"));
        let mut paths = vec![hosts.as_path(), hostname.as_path(), resolv.as_path()];
        if c.persistent_layer.is_none() || new_layer {
            paths.push(&upper);
        }
        crate::userns::give_to_remapped_root(map, &paths)
    }

    /// Publishes a container event with Docker's standard attributes (name, image, labels).
    pub(crate) fn publish_container(&self, ctr: &crate::Ctr, action: &str, mut attrs: BTreeMap<String, String>) {
        let c = ctr.snapshot();
        for (k, v) in &c.config.labels {
            attrs.entry(k.clone()).or_insert_with(|| v.clone());
        }
        attrs.insert("name".into(), c.name.clone());
        attrs.insert("image".into(), c.config.image.clone());
        self.inner.events.publish("container", action, &c.id, attrs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img() -> image::ContainerConfig {
        image::ContainerConfig {
            env: Some(vec!["PATH=/bin".into(), "A=img".into()]),
            cmd: Some(vec!["sh".into()]),
            entrypoint: None,
            working_dir: Some("/w".into()),
            labels: Some([("l".to_owned(), "img".to_owned())].into()),
            ..Default::default()
        }
    }

    #[test]
    fn merge_like_docker() {
        let mut u = ContainerConfig { env: vec!["A=user".into()], ..Default::default() };
        merge(&mut u, Some(&img()));
        assert_eq!(u.env, vec!["A=user", "PATH=/bin"]);
        assert_eq!(u.cmd, Some(vec!["sh".to_owned()]));
        assert_eq!(u.working_dir, "/w");
        assert_eq!(command(&u).unwrap(), ("sh".to_owned(), vec![]));

        let mut u = ContainerConfig { cmd: Some(vec!["echo".into(), "hi".into()]), ..Default::default() };
        merge(&mut u, Some(&img()));
        assert_eq!(command(&u).unwrap(), ("echo".to_owned(), vec!["hi".to_owned()]));

        let mut i = img();
        i.entrypoint = Some(vec!["/ep".into()]);
        let mut u =
            ContainerConfig { entrypoint: Some(vec!["".into()]), cmd: Some(vec!["ls".into()]), ..Default::default() };
        merge(&mut u, Some(&i));
        assert_eq!(command(&u).unwrap(), ("ls".to_owned(), vec![]));

        let mut u = ContainerConfig::default();
        merge(&mut u, Some(&i));
        assert_eq!(command(&u).unwrap(), ("/ep".to_owned(), vec!["sh".to_owned()]));
    }

    #[test]
    fn no_command() {
        let u = ContainerConfig::default();
        assert!(matches!(command(&u), Err(EngineError::InvalidArgument(_))));
    }

    #[test]
    fn host_validation() {
        let mut hc = HostConfig { auto_remove: true, ..Default::default() };
        hc.restart_policy.name = "always".into();
        assert!(validate_host(&hc).is_err());
        let mut hc = HostConfig::default();
        hc.restart_policy.name = "sometimes".into();
        assert!(validate_host(&hc).is_err());
        hc.restart_policy.name = "on-failure".into();
        hc.restart_policy.maximum_retry_count = 3;
        assert!(validate_host(&hc).is_ok());
    }

    #[test]
    fn resolv() {
        let host = "nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch lan\noptions edns0\n";
        assert_eq!(resolv_conf(host, &[], &[], &[]), "nameserver 10.0.0.2\nsearch lan\noptions edns0\n");
        assert_eq!(
            resolv_conf(host, &["1.1.1.1".into()], &["x".into()], &[]),
            "options edns0\nnameserver 1.1.1.1\nsearch x\n"
        );
    }
}
