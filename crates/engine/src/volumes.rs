//! Volumes (Docker's `local` driver) and container mounts.
//!
//! - A volume is `<root>/volumes/<name>/`: `volume.json` (its record) and `_data` (its content,
//!   the `Mountpoint` inspect shows). A volume is created whole in a temporary directory and
//!   renamed into place, so a crash never leaves half a volume.
//! - `--opt type=tmpfs|nfs|…,device=…,o=…` volumes are mounted on `_data` when the first
//!   container using them starts and unmounted when the last one stops (a tmpfs volume's data
//!   lasts as long as one of its containers runs, as with Docker); `type=none,o=bind,device=DIR`
//!   is a bind of `DIR`, mounted nowhere on the host.
//! - Which containers use which volume is kept in memory (`refs`), rebuilt at start-up from the
//!   container records: a volume in use by any container, running or not, can't be removed.
//! - Container mounts are resolved at `create` (`-v`, `--mount`, `--volumes-from`, then the
//!   image's `VOLUME`s not mounted otherwise become anonymous volumes) into
//!   [`MountPoint`]s kept in the container's record. A new, empty volume is filled at create with
//!   what the image has at its path (Docker's copy-up), read from a detached overlay of the
//!   image's layers: nothing is mounted on the host for that.
//! - `mount add` / `mount rm` change a running container's mounts: the source is cloned as a
//!   detached mount tree (`open_tree`) in the host's namespace, then attached inside the
//!   container's mount namespace (`move_mount`) from a thread that joined it; removal is a lazy
//!   unmount from there.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Unpoison;
use crate::model::{Container, ContainerConfig, HostConfig, MountKind, MountPoint, MountSpec};
use crate::{Engine, EngineError};

/// The label Docker puts on anonymous volumes (`volume prune` removes only those by default).
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// The label on the volumes of a `--persist` container's volume paths: the layer's name.
pub const PERSIST_LABEL: &str = "io.berth.persist";

/// The volume a `--persist` container gets for a volume path of its own (an image `VOLUME`,
/// `-v /path`): named after its persistent layer and the path, so that it is found again by
/// the next container on that layer, as the layer itself is.
pub fn persist_volume_name(layer: &str, destination: &str) -> String {
    let path: String = destination
        .trim_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' })
        .collect();
    let hash = oci::Digest::of(destination.as_bytes());
    format!("{layer}-{path}-{}", &hash.hex()[..8])
}

/// A volume's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    /// Name.
    pub name: String,
    /// Always `local`.
    pub driver: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// User labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Driver options (`type`, `device`, `o`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// `<root>/volumes/<name>/_data`.
    #[serde(skip)]
    pub mountpoint: PathBuf,
}

impl Volume {
    /// Whether it was made for one container.
    pub fn is_anonymous(&self) -> bool {
        self.labels.contains_key(ANONYMOUS_LABEL)
    }

    /// What a container binds for this volume: the device of a `type=none,o=bind` volume, or
    /// `_data`.
    fn source(&self) -> PathBuf {
        if self.is_bind() {
            PathBuf::from(self.options.get("device").map(String::as_str).unwrap_or_default())
        } else {
            self.mountpoint.clone()
        }
    }

    fn is_bind(&self) -> bool {
        self.options.get("o").is_some_and(|o| o.split(',').any(|x| x == "bind" || x == "rbind"))
    }

    /// Whether `_data` gets a filesystem mounted on it while in use.
    fn needs_mount(&self) -> bool {
        self.options.contains_key("type") && !self.is_bind()
    }
}

/// The engine's volume state.
#[derive(Debug, Default)]
pub(crate) struct Volumes {
    dir: PathBuf,
    inner: Mutex<VolState>,
}

#[derive(Debug, Default)]
struct VolState {
    volumes: BTreeMap<String, Volume>,
    /// Volume name → containers whose records name it.
    refs: HashMap<String, HashSet<String>>,
    /// Volume name → running containers using its host mount (driver-option volumes only).
    mounted: HashMap<String, HashSet<String>>,
}

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(msg.into())
}

/// Docker's rule for local volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn check_name(name: &str) -> Result<(), EngineError> {
    let b = name.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )))
    }
}

fn check_options(opts: &BTreeMap<String, String>) -> Result<(), EngineError> {
    for k in opts.keys() {
        if !matches!(k.as_str(), "type" | "device" | "o" | "size") {
            return Err(invalid(format!("invalid option key: {k:?}")));
        }
    }
    let bind = opts.get("o").is_some_and(|o| o.split(',').any(|x| x == "bind" || x == "rbind"));
    if bind {
        let dev = opts.get("device").map(String::as_str).unwrap_or_default();
        if !dev.starts_with('/') {
            return Err(invalid("a bind volume needs an absolute path in the \"device\" option"));
        }
    } else if (opts.contains_key("o") || opts.contains_key("device")) && !opts.contains_key("type") {
        return Err(invalid("missing \"type\" option: the local driver needs a filesystem type to mount"));
    }
    if opts.get("type").is_some_and(|t| t != "tmpfs" && t != "none") && !opts.contains_key("device") {
        return Err(invalid("missing \"device\" option: the local driver needs something to mount"));
    }
    Ok(())
}

impl Volumes {
    /// Loads every volume under `dir`; leftovers of interrupted creations are removed.
    pub(crate) fn open(dir: PathBuf) -> std::io::Result<Volumes> {
        std::fs::create_dir_all(&dir)?;
        let mut volumes = BTreeMap::new();
        for e in std::fs::read_dir(&dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                let _ = crate::remove_tree(&e.path());
                continue;
            }
            let rec = e.path().join("volume.json");
            match std::fs::read(&rec).ok().and_then(|b| serde_json::from_slice::<Volume>(&b).ok()) {
                Some(mut v) => {
                    v.mountpoint = e.path().join("_data");
                    volumes.insert(v.name.clone(), v);
                }
                None => tracing::warn!("ignoring {}: no readable volume record", e.path().display()),
            }
        }
        Ok(Volumes { dir, inner: Mutex::new(VolState { volumes, ..Default::default() }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VolState> {
        self.inner.lock().unpoisoned()
    }

    pub(crate) fn get(&self, name: &str) -> Option<Volume> {
        self.lock().volumes.get(name).cloned()
    }

    pub(crate) fn list(&self) -> Vec<Volume> {
        self.lock().volumes.values().cloned().collect()
    }

    /// Containers referring to `name`.
    pub(crate) fn users(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self.lock().refs.get(name).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        v.sort();
        v
    }

    /// Creates a volume, or returns the existing one of that name (Docker's behaviour). Returns
    /// whether it was created.
    pub(crate) fn create(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<(Volume, bool), EngineError> {
        check_name(name)?;
        check_options(&options)?;
        let mut st = self.lock();
        if let Some(v) = st.volumes.get(name) {
            return Ok((v.clone(), false));
        }
        let v = Volume {
            name: name.to_owned(),
            driver: "local".into(),
            created: Utc::now(),
            labels,
            options,
            mountpoint: self.dir.join(name).join("_data"),
        };
        let tmp = self.dir.join(format!(".new-{}", crate::random_id()));
        let made = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(tmp.join("_data"))?;
            let mut f = std::fs::File::create(tmp.join("volume.json"))?;
            std::io::Write::write_all(&mut f, &serde_json::to_vec(&v).expect("volume record serialises"))?;
            f.sync_all()?;
            crate::failpoint("volume:made");
            std::fs::rename(&tmp, self.dir.join(name))
        })();
        if let Err(e) = made {
            let _ = crate::remove_tree(&tmp);
            return Err(EngineError::io(format!("creating volume {name}"), e));
        }
        st.volumes.insert(name.to_owned(), v.clone());
        Ok((v, true))
    }

    /// Removes a volume no container refers to.
    pub(crate) fn remove(&self, name: &str) -> Result<Volume, EngineError> {
        let mut st = self.lock();
        let Some(v) = st.volumes.get(name).cloned() else {
            return Err(EngineError::NotFound(format!("get {name}: no such volume")));
        };
        if let Some(users) = st.refs.get(name).filter(|u| !u.is_empty()) {
            let mut users: Vec<&String> = users.iter().collect();
            users.sort();
            return Err(EngineError::Conflict(format!(
                "remove {name}: volume is in use - [{}]",
                users.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        let dir = self.dir.join(name);
        let trash = self.dir.join(format!(".removing-{}", crate::random_id()));
        if v.needs_mount() {
            let _ = nix::mount::umount2(&v.mountpoint, nix::mount::MntFlags::MNT_DETACH);
        }
        std::fs::rename(&dir, &trash).map_err(|e| EngineError::io(format!("removing volume {name}"), e))?;
        st.volumes.remove(name);
        drop(st);
        crate::failpoint("volume:renamed");
        crate::remove_tree(&trash).map_err(|e| EngineError::io(format!("removing volume {name}"), e))?;
        Ok(v)
    }

    pub(crate) fn add_refs(&self, id: &str, mounts: &[MountPoint]) {
        let mut st = self.lock();
        for m in mounts.iter().filter(|m| m.kind == MountKind::Volume) {
            st.refs.entry(m.name.clone()).or_default().insert(id.to_owned());
        }
    }

    pub(crate) fn drop_refs(&self, id: &str) {
        let mut st = self.lock();
        for users in st.refs.values_mut() {
            users.remove(id);
        }
        st.refs.retain(|_, u| !u.is_empty());
    }

    /// Mounts driver-option volumes of `mounts` for container `id` (first user mounts).
    fn acquire(&self, id: &str, mounts: &[MountPoint]) -> Result<(), EngineError> {
        let mut st = self.lock();
        let mut done: Vec<String> = Vec::new();
        for m in mounts.iter().filter(|m| m.kind == MountKind::Volume) {
            let Some(v) = st.volumes.get(&m.name).cloned() else {
                drop(st);
                self.release(id, &done);
                return Err(EngineError::NotFound(format!("volume {} not found", m.name)));
            };
            if !v.needs_mount() {
                continue;
            }
            let users = st.mounted.entry(v.name.clone()).or_default();
            if users.is_empty()
                && let Err(e) = mount_volume(&v)
            {
                drop(st);
                self.release(id, &done);
                return Err(EngineError::io(format!("mounting volume {}", v.name), e));
            }
            users.insert(id.to_owned());
            done.push(v.name.clone());
        }
        Ok(())
    }

    /// Releases what [`acquire`](Self::acquire) took for `id` on `names` (all its volumes when
    /// `names` is empty): the last user unmounts.
    fn release(&self, id: &str, names: &[String]) {
        let mut st = self.lock();
        let VolState { volumes, mounted, .. } = &mut *st;
        for (name, users) in mounted.iter_mut() {
            if !names.is_empty() && !names.contains(name) {
                continue;
            }
            if users.remove(id)
                && users.is_empty()
                && let Some(v) = volumes.get(name)
                && let Err(e) = nix::mount::umount2(&v.mountpoint, nix::mount::MntFlags::MNT_DETACH)
            {
                tracing::warn!("unmounting volume {name}: {e}");
            }
        }
        mounted.retain(|_, u| !u.is_empty());
    }
}

/// Mounts a driver-option volume on its `_data`.
fn mount_volume(v: &Volume) -> std::io::Result<()> {
    let fstype = v.options.get("type").map(String::as_str).unwrap_or("tmpfs");
    let device = v.options.get("device").map(String::as_str).unwrap_or(fstype);
    let mut data: Vec<String> = v.options.get("o").map(|o| vec![o.clone()]).unwrap_or_default();
    if let Some(size) = v.options.get("size") {
        data.push(format!("size={size}"));
    }
    let data = data.join(",");
    // A mount left by a daemon that died goes first.
    let _ = nix::mount::umount2(&v.mountpoint, nix::mount::MntFlags::MNT_DETACH);
    nix::mount::mount(
        Some(device),
        &v.mountpoint,
        Some(fstype),
        nix::mount::MsFlags::empty(),
        (!data.is_empty()).then_some(data.as_str()),
    )
    .map_err(|e| std::io::Error::other(format!("mount -t {fstype} {device} (options {data:?}): {e}")))
}

// ---------------------------------------------------------------------------------------------
// Parsing `-v`, `--volumes-from` and checking `--mount`.

/// Docker's valid bind/volume modes on Linux.
fn check_mode(spec: &str, mode: &str, kind: MountKind) -> Result<(bool, String, bool), EngineError> {
    let mut rw: Option<bool> = None;
    let mut propagation = String::new();
    let mut nocopy = false;
    let bad = || invalid(format!("invalid mode: {mode}"));
    for m in mode.split(',') {
        match m {
            "ro" | "rw" => {
                if rw.is_some() {
                    return Err(bad());
                }
                rw = Some(m == "rw");
            }
            "z" | "Z" => {}
            "nocopy" if kind == MountKind::Volume => nocopy = true,
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" if kind == MountKind::Bind => {
                if !propagation.is_empty() {
                    return Err(bad());
                }
                propagation = m.to_owned();
            }
            _ => return Err(invalid(format!("invalid volume specification: '{spec}': invalid mode: {mode}"))),
        }
    }
    Ok((rw.unwrap_or(true), propagation, nocopy))
}

fn check_destination(spec: &str, kind: MountKind, dst: &str) -> Result<String, EngineError> {
    if dst.is_empty() {
        return Err(invalid(format!(
            "invalid mount config for type \"{}\": field Target must not be empty",
            kind.as_str()
        )));
    }
    if !dst.starts_with('/') {
        return Err(invalid(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"{}\": invalid mount path: '{dst}' mount path must be absolute",
            kind.as_str()
        )));
    }
    let clean = crate::files::lexical_clean(Path::new(dst));
    if clean == "/" {
        return Err(invalid(format!("invalid specification: destination can't be '/' in '{spec}'")));
    }
    Ok(clean)
}

/// Parses a `-v` specification (Docker's Linux parser): `DST`, `SRC:DST`, `DST:MODE`,
/// `SRC:DST:MODE`. A source starting with `/` is a host path, anything else a volume name.
pub fn parse_bind(spec: &str) -> Result<MountPoint, EngineError> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [a, b] if !b.starts_with('/') && !b.is_empty() && check_mode(spec, b, MountKind::Volume).is_ok() => {
            ("", *a, *b)
        }
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => return Err(invalid(format!("invalid volume specification: '{spec}'"))),
    };
    if parts.len() > 1 && parts.len() == 3 && src.is_empty() {
        return Err(invalid(format!("invalid volume specification: '{spec}'")));
    }
    let kind = if src.starts_with('/') { MountKind::Bind } else { MountKind::Volume };
    let dst = check_destination(spec, kind, dst)?;
    let (rw, propagation, nocopy) =
        if mode.is_empty() { (true, String::new(), false) } else { check_mode(spec, mode, kind)? };
    if kind == MountKind::Volume && !src.is_empty() {
        check_name(src)?;
    }
    Ok(MountPoint {
        kind,
        name: if kind == MountKind::Volume { src.to_owned() } else { String::new() },
        source: if kind == MountKind::Bind { crate::files::lexical_clean(Path::new(src)) } else { String::new() },
        destination: dst,
        rw,
        mode: mode.to_owned(),
        propagation: if kind == MountKind::Bind && propagation.is_empty() { "rprivate".into() } else { propagation },
        copy_data: kind == MountKind::Volume && !nocopy,
        ..Default::default()
    })
}

/// Checks a `--mount` request and makes its mount point (volumes not created yet).
pub fn from_spec(m: &MountSpec) -> Result<MountPoint, EngineError> {
    let kind = m.kind;
    let what = format!("invalid mount config for type \"{}\"", kind.as_str());
    let dst = check_destination(&m.target, kind, &m.target)?;
    match kind {
        MountKind::Bind => {
            if m.source.is_empty() {
                return Err(invalid(format!("{what}: field Source must not be empty")));
            }
            if !m.source.starts_with('/') {
                return Err(invalid(format!("{what}: invalid mount path: '{}' mount path must be absolute", m.source)));
            }
            if !m.create_mountpoint && std::fs::symlink_metadata(&m.source).is_err() {
                return Err(invalid(format!("{what}: bind source path does not exist: {}", m.source)));
            }
            if m.no_copy || !m.subpath.is_empty() || m.tmpfs_size != 0 {
                return Err(invalid(format!("{what}: volume and tmpfs options are not allowed on a bind mount")));
            }
            if !m.propagation.is_empty()
                && !matches!(m.propagation.as_str(), "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave")
            {
                return Err(invalid(format!("{what}: invalid propagation mode: {}", m.propagation)));
            }
        }
        MountKind::Volume => {
            if !m.source.is_empty() {
                check_name(&m.source)?;
            }
            if !m.propagation.is_empty() || m.tmpfs_size != 0 {
                return Err(invalid(format!("{what}: bind and tmpfs options are not allowed on a volume mount")));
            }
            if m.subpath.starts_with('/') || Path::new(&m.subpath).components().any(|c| c.as_os_str() == "..") {
                return Err(invalid(format!("{what}: subpath must be a relative path within the volume")));
            }
        }
        MountKind::Tmpfs => {
            if !m.source.is_empty() {
                return Err(invalid(format!("{what}: field Source must not be specified")));
            }
            if m.tmpfs_size < 0 {
                return Err(invalid(format!("{what}: invalid tmpfs size: {}", m.tmpfs_size)));
            }
        }
    }
    Ok(MountPoint {
        kind,
        name: if kind == MountKind::Volume { m.source.clone() } else { String::new() },
        source: if kind == MountKind::Bind { crate::files::lexical_clean(Path::new(&m.source)) } else { String::new() },
        destination: dst,
        rw: !m.read_only,
        mode: String::new(),
        propagation: match kind {
            MountKind::Bind if m.propagation.is_empty() => "rprivate".into(),
            _ => m.propagation.clone(),
        },
        non_recursive: m.non_recursive,
        copy_data: kind == MountKind::Volume && !m.no_copy,
        anonymous: false,
        subpath: m.subpath.clone(),
        tmpfs_size: m.tmpfs_size,
        tmpfs_mode: m.tmpfs_mode,
        persist_layer: String::new(),
    })
}

/// Gives the container's own volumes (those without a name) the stable names of its persistent
/// layer's volumes: they are not anonymous any more (`rm -v`, `--rm` and `volume prune` keep
/// them); `persist rm` of the layer removes them.
fn name_persist_volumes(mounts: &mut [MountPoint], layer: &str) {
    for m in mounts.iter_mut().filter(|m| m.kind == MountKind::Volume && m.name.is_empty()) {
        m.name = persist_volume_name(layer, &m.destination);
        m.persist_layer = layer.to_owned();
    }
}

/// Sorts mounts so that a parent is mounted before what is mounted inside it (Docker sorts by
/// the number of path components).
pub(crate) fn sort_mounts(mounts: &mut [MountPoint]) {
    mounts.sort_by_key(|m| Path::new(&m.destination).components().count());
}

// ---------------------------------------------------------------------------------------------
// The engine's side.

impl Engine {
    pub(crate) fn volumes(&self) -> &Volumes {
        &self.inner.volumes
    }

    /// Creates a volume (`local` driver only); an existing one of that name is returned as is.
    pub async fn volume_create(
        &self,
        name: Option<String>,
        driver: &str,
        options: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
    ) -> Result<Volume, EngineError> {
        if !driver.is_empty() && driver != "local" {
            return Err(EngineError::NotFound(format!(
                "error looking up volume plugin {driver}: plugin \"{driver}\" not found"
            )));
        }
        // With --userns-remap, a volume is made for the containers' remapped root (dockerd's
        // volumes live in its remapped root's own data root).
        Ok(self.volume_make(name, options, labels, self.remap()).await?.0)
    }

    /// [`Engine::volume_create`] for the local driver; also says whether the volume is new. A
    /// new volume's `_data` is given to the root of `owner`'s user namespace.
    async fn volume_make(
        &self,
        name: Option<String>,
        options: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
        owner: Option<&crate::userns::IdMapping>,
    ) -> Result<(Volume, bool), EngineError> {
        let (name, labels) = match name.filter(|n| !n.is_empty()) {
            Some(n) => (n, labels),
            None => {
                let mut l = labels;
                l.insert(ANONYMOUS_LABEL.into(), String::new());
                (crate::random_id(), l)
            }
        };
        let vols = self.clone();
        let (v, created) = tokio::task::spawn_blocking(move || vols.volumes().create(&name, labels, options))
            .await
            .expect("volume task")?;
        if created
            && let Some(map) = owner
            && let Err(e) = crate::userns::give_to_remapped_root(map, &[&v.mountpoint])
        {
            let _ = self.volumes().remove(&v.name);
            return Err(e);
        }
        if created {
            self.publish_volume("create", &v.name);
        }
        Ok((v, created))
    }

    fn publish_volume(&self, action: &str, name: &str) {
        let mut attrs = BTreeMap::new();
        attrs.insert("driver".into(), "local".into());
        self.inner.events.publish("volume", action, name, attrs);
    }

    /// A volume by name.
    pub fn volume(&self, name: &str) -> Result<Volume, EngineError> {
        self.volumes().get(name).ok_or_else(|| EngineError::NotFound(format!("get {name}: no such volume")))
    }

    /// All volumes.
    pub fn volume_list(&self) -> Vec<Volume> {
        self.volumes().list()
    }

    /// How many containers refer to a volume.
    pub fn volume_ref_count(&self, name: &str) -> usize {
        self.volumes().users(name).len()
    }

    /// Bytes a volume's data holds.
    pub async fn volume_size(&self, name: &str) -> u64 {
        let Some(v) = self.volumes().get(name) else { return 0 };
        let dir = v.source();
        tokio::task::spawn_blocking(move || crate::files::dir_size(&dir)).await.unwrap_or(0)
    }

    /// Removes a volume. `force` only makes a missing volume not an error (as Docker's).
    pub async fn volume_remove(&self, name: &str, force: bool) -> Result<(), EngineError> {
        let vols = self.clone();
        let n = name.to_owned();
        match tokio::task::spawn_blocking(move || vols.volumes().remove(&n)).await.expect("volume task") {
            Ok(_) => {
                self.publish_volume("destroy", name);
                Ok(())
            }
            Err(EngineError::NotFound(_)) if force => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes unused volumes that `filter` accepts; returns their names and the bytes freed.
    pub async fn volume_prune(&self, filter: impl Fn(&Volume) -> bool) -> Result<(Vec<String>, u64), EngineError> {
        let mut out = Vec::new();
        let mut reclaimed = 0;
        for v in self.volume_list() {
            if !filter(&v) || self.volume_ref_count(&v.name) > 0 {
                continue;
            }
            let size = self.volume_size(&v.name).await;
            if self.volume_remove(&v.name, false).await.is_ok() {
                reclaimed += size;
                out.push(v.name);
            }
        }
        Ok((out, reclaimed))
    }

    /// Resolves a new container's mounts: `--volumes-from`, `-v`, `--mount`, then anonymous
    /// volumes for the image's (and `-v /path`) volume paths nothing else mounts. Volumes are
    /// created (and filled from the image) here; returns the mounts and the volumes created,
    /// which the caller removes if the container is not created after all.
    pub(crate) async fn resolve_mounts(
        &self,
        id: &str,
        config: &ContainerConfig,
        hc: &HostConfig,
        persist_layer: Option<&str>,
        layers: &[PathBuf],
    ) -> Result<(Vec<MountPoint>, Vec<String>), EngineError> {
        let mut mounts: Vec<MountPoint> = Vec::new();
        // Explicit mounts: `-v` and `--mount`; one mount per destination.
        let mut explicit: Vec<MountPoint> = Vec::new();
        for b in &hc.binds {
            explicit.push(parse_bind(b)?);
        }
        for m in &hc.mounts {
            explicit.push(from_spec(m)?);
        }
        for (i, m) in explicit.iter().enumerate() {
            if explicit[..i].iter().any(|o| o.destination == m.destination) || hc.tmpfs.contains_key(&m.destination) {
                return Err(invalid(format!("Duplicate mount point: {}", m.destination)));
            }
        }
        for spec in &hc.volumes_from {
            let (name, mode) = match spec.rsplit_once(':') {
                Some((n, m @ ("ro" | "rw" | "z" | "Z"))) => (n, m),
                Some((_, m)) if !m.is_empty() && !m.contains('/') && spec.matches(':').count() > 1 => {
                    return Err(invalid(format!("invalid mode for volumes-from: {m}")));
                }
                _ => (spec.as_str(), ""),
            };
            let other = self.lookup(name)?.snapshot();
            for m in &other.mounts {
                if m.kind == MountKind::Tmpfs
                    || explicit.iter().any(|e| e.destination == m.destination)
                    || mounts.iter().any(|e| e.destination == m.destination)
                {
                    continue;
                }
                let mut m = m.clone();
                match mode {
                    "ro" => m.rw = false,
                    "rw" => m.rw = true,
                    _ => {}
                }
                m.anonymous = false;
                m.copy_data = false;
                mounts.push(m);
            }
        }
        mounts.retain(|m| !explicit.iter().any(|e| e.destination == m.destination));
        mounts.extend(explicit);
        for path in &config.volumes {
            let dst = crate::files::lexical_clean(Path::new(path));
            if !dst.starts_with('/') || dst == "/" {
                return Err(invalid(format!("invalid volume path {path:?}: it must be absolute and not '/'")));
            }
            if mounts.iter().any(|m| m.destination == dst) || hc.tmpfs.contains_key(&dst) {
                continue;
            }
            mounts.push(MountPoint {
                kind: MountKind::Volume,
                destination: dst,
                rw: true,
                copy_data: true,
                ..Default::default()
            });
        }

        if let Some(layer) = persist_layer {
            name_persist_volumes(&mut mounts, layer);
        }
        // Volumes: create what is missing, then fill new empty ones from the image.
        let mut created = Vec::new();
        let r = self.make_volumes(id, &mut mounts, hc, &mut created, layers).await;
        if let Err(e) = r {
            self.volumes().drop_refs(id);
            for n in &created {
                let _ = self.volume_remove(n, true).await;
            }
            return Err(e);
        }
        sort_mounts(&mut mounts);
        Ok((mounts, created))
    }

    async fn make_volumes(
        &self,
        id: &str,
        mounts: &mut [MountPoint],
        hc: &HostConfig,
        created: &mut Vec<String>,
        layers: &[PathBuf],
    ) -> Result<(), EngineError> {
        let mut to_fill: Vec<(PathBuf, String)> = Vec::new();
        for m in mounts.iter_mut() {
            match m.kind {
                MountKind::Bind => {
                    // `-v /missing:/x` makes the host directory, as Docker's; `--mount` refused it.
                    if std::fs::symlink_metadata(&m.source).is_err() {
                        std::fs::create_dir_all(&m.source)
                            .map_err(|e| EngineError::io(format!("creating bind source {}", m.source), e))?;
                        // As dockerd: a source berth made is the remapped root's.
                        if let Some(map) = &hc.userns_remap {
                            crate::userns::give_to_remapped_root(map, &[Path::new(&m.source)])?;
                        }
                    }
                }
                MountKind::Volume => {
                    let spec =
                        hc.mounts.iter().find(|s| crate::files::lexical_clean(Path::new(&s.target)) == m.destination);
                    let (mut labels, options) =
                        spec.map(|s| (s.labels.clone(), s.driver_options.clone())).unwrap_or_default();
                    if !m.persist_layer.is_empty() {
                        labels.insert(PERSIST_LABEL.into(), m.persist_layer.clone());
                    }
                    let anonymous = m.name.is_empty();
                    let (v, new) = self
                        .volume_make((!anonymous).then(|| m.name.clone()), options, labels, hc.userns_remap.as_ref())
                        .await?;
                    if anonymous {
                        m.name = v.name.clone();
                        m.anonymous = true;
                    }
                    // Referenced at once: a `volume rm` meanwhile can't take it.
                    self.volumes().add_refs(id, std::slice::from_ref(m));
                    if new {
                        created.push(v.name.clone());
                    }
                    if !m.subpath.is_empty() {
                        let p = v.source().join(&m.subpath);
                        if !p.exists() {
                            return Err(invalid(format!(
                                "cannot access path {}: subpath {} does not exist in volume {}",
                                p.display(),
                                m.subpath,
                                v.name
                            )));
                        }
                    }
                    if m.copy_data
                        && m.subpath.is_empty()
                        && !v.needs_mount()
                        && !v.is_bind()
                        && crate::copy::is_empty_dir(&v.mountpoint).unwrap_or(false)
                    {
                        to_fill.push((v.mountpoint.clone(), m.destination.clone()));
                    }
                    m.copy_data = false;
                }
                MountKind::Tmpfs => {}
            }
        }
        if !to_fill.is_empty() {
            let lowers = crate::spec::lower_dirs(&self.init_layer(), layers);
            let remap = hc.userns_remap.clone();
            tokio::task::spawn_blocking(move || copy_up(&lowers, &to_fill, remap.as_ref()))
                .await
                .expect("copy-up task")?;
        }
        Ok(())
    }

    /// For a container re-made on another image (`upgrade`): anonymous volumes for the new
    /// image's volume paths that nothing mounts yet, filled from `layers` (the new image's).
    /// Its other mounts, anonymous volumes included, stay as they are. Returns the volumes made.
    pub(crate) async fn add_image_volumes(
        &self,
        c: &mut Container,
        layers: &[PathBuf],
    ) -> Result<Vec<String>, EngineError> {
        let mut extra: Vec<MountPoint> = Vec::new();
        for path in &c.config.volumes {
            let dst = crate::files::lexical_clean(Path::new(path));
            if !dst.starts_with('/') || dst == "/" {
                return Err(invalid(format!("invalid volume path {path:?}: it must be absolute and not '/'")));
            }
            if c.mounts.iter().chain(&extra).any(|m| m.destination == dst) || c.host_config.tmpfs.contains_key(&dst) {
                continue;
            }
            extra.push(MountPoint {
                kind: MountKind::Volume,
                destination: dst,
                rw: true,
                copy_data: true,
                ..Default::default()
            });
        }
        if extra.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(layer) = &c.persistent_layer {
            name_persist_volumes(&mut extra, layer);
        }
        let mut created = Vec::new();
        if let Err(e) = self.make_volumes(&c.id, &mut extra, &c.host_config, &mut created, layers).await {
            self.volumes().drop_refs(&c.id);
            self.volumes().add_refs(&c.id, &c.mounts);
            for n in &created {
                let _ = self.volume_remove(n, true).await;
            }
            return Err(e);
        }
        c.mounts.extend(extra);
        sort_mounts(&mut c.mounts);
        Ok(created)
    }

    /// Called when a container is removed: its volume references go, and with `volumes` its
    /// anonymous volumes that no other container uses.
    pub(crate) async fn release_volumes(&self, c: &Container, volumes: bool) {
        self.volumes().drop_refs(&c.id);
        if !volumes {
            return;
        }
        for m in c.mounts.iter().filter(|m| m.kind == MountKind::Volume && m.anonymous) {
            if let Err(e) = self.volume_remove(&m.name, true).await {
                tracing::info!(container = %c.id, "keeping anonymous volume {}: {e}", m.name);
            }
        }
    }

    /// The runtime mounts of a starting container; driver-option volumes get mounted on the
    /// host (released by [`Engine::volumes_stopped`]).
    pub(crate) fn volumes_for_start(&self, c: &Container) -> Result<Vec<runtime::Mount>, EngineError> {
        self.volumes().acquire(&c.id, &c.mounts)?;
        let mut out = Vec::with_capacity(c.mounts.len());
        for m in &c.mounts {
            match runtime_mount(self.volumes(), m) {
                Ok(rm) => out.push(rm),
                Err(e) => {
                    self.volumes().release(&c.id, &[]);
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    /// A container stopped: unmount driver-option volumes it was the last user of.
    pub(crate) fn volumes_stopped(&self, id: &str) {
        self.volumes().release(id, &[]);
    }

    /// At start-up: references from every container, host mounts for the running ones, and
    /// leftover mounts of volumes nothing runs with unmounted.
    pub(crate) fn volumes_recover(&self) {
        let containers = self.containers();
        for c in &containers {
            self.volumes().add_refs(&c.id, &c.mounts);
        }
        let mut st = self.volumes().lock();
        let VolState { volumes, mounted, .. } = &mut *st;
        for c in containers.iter().filter(|c| c.is_running()) {
            for m in c.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
                if volumes.get(&m.name).is_some_and(Volume::needs_mount) {
                    mounted.entry(m.name.clone()).or_default().insert(c.id.clone());
                }
            }
        }
        for v in volumes.values().filter(|v| v.needs_mount() && !mounted.contains_key(&v.name)) {
            let _ = nix::mount::umount2(&v.mountpoint, nix::mount::MntFlags::MNT_DETACH);
        }
    }

    /// Adds a mount to a container; a running one gets it at once (berth's `mount add`). It is
    /// kept in the container's configuration.
    pub async fn mount_add(&self, name_or_id: &str, spec: MountSpec) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        let mut m = from_spec(&spec)?;
        if let Some(other) = c.mounts.iter().find(|o| o.destination == m.destination) {
            return Err(EngineError::Conflict(format!(
                "container {} already has a {} mount on {}",
                c.name,
                other.kind.as_str(),
                m.destination
            )));
        }
        if c.host_config.tmpfs.contains_key(&m.destination) {
            return Err(EngineError::Conflict(format!(
                "container {} already has a tmpfs on {}",
                c.name, m.destination
            )));
        }
        let mut created = None;
        if m.kind == MountKind::Volume {
            let anonymous = m.name.is_empty();
            let (v, new) = self
                .volume_make(
                    (!anonymous).then(|| m.name.clone()),
                    spec.driver_options.clone(),
                    spec.labels.clone(),
                    c.host_config.userns_remap.as_ref(),
                )
                .await?;
            if anonymous {
                m.name = v.name.clone();
                m.anonymous = true;
            }
            if new {
                created = Some(v.name.clone());
            }
            m.copy_data = false;
        }
        self.volumes().add_refs(&c.id, std::slice::from_ref(&m));
        let res = async {
            if c.is_running() && c.state.pid > 0 {
                self.volumes().acquire(&c.id, std::slice::from_ref(&m))?;
                let mut rm = runtime_mount(self.volumes(), &m)?;
                if let Some(map) = &c.host_config.userns_remap {
                    crate::spec::remap_mounts_and_devices(map, std::slice::from_mut(&mut rm), &mut []);
                }
                let pid = c.state.pid;
                let r = tokio::task::spawn_blocking(move || mount_into(pid, &rm)).await.expect("mount task");
                if let Err(e) = r {
                    if m.kind == MountKind::Volume {
                        self.volumes().release(&c.id, std::slice::from_ref(&m.name));
                    }
                    return Err(EngineError::io(format!("mounting {} in container {}", m.destination, c.name), e));
                }
            }
            ctr.update(|c| {
                c.mounts.push(m.clone());
                sort_mounts(&mut c.mounts);
                c.host_config.mounts.push(spec.clone());
            })
        }
        .await;
        if let Err(e) = res {
            // Back to the references the record has.
            self.volumes().drop_refs(&c.id);
            self.volumes().add_refs(&c.id, &c.mounts);
            if let Some(n) = created {
                let _ = self.volume_remove(&n, true).await;
            }
            return Err(e);
        }
        self.publish_container(&ctr, "update", BTreeMap::new());
        Ok(())
    }

    /// Removes the mount on `destination` from a container; a running one loses it at once.
    pub async fn mount_remove(&self, name_or_id: &str, destination: &str) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        let dst = crate::files::lexical_clean(Path::new(destination));
        let Some(m) = c.mounts.iter().find(|m| m.destination == dst).cloned() else {
            return Err(EngineError::NotFound(format!("container {} has no mount on {destination}", c.name)));
        };
        if c.mounts.iter().any(|o| o.destination != dst && Path::new(&o.destination).starts_with(&dst)) {
            return Err(EngineError::Conflict(format!(
                "other mounts of container {} are inside {dst}: remove them first",
                c.name
            )));
        }
        if c.is_running() && c.state.pid > 0 {
            let pid = c.state.pid;
            let d = dst.clone();
            tokio::task::spawn_blocking(move || unmount_in(pid, &d))
                .await
                .expect("unmount task")
                .map_err(|e| EngineError::io(format!("unmounting {dst} in container {}", c.name), e))?;
            if m.kind == MountKind::Volume {
                self.volumes().release(&c.id, std::slice::from_ref(&m.name));
            }
        }
        let c = ctr.update(|c| {
            c.mounts.retain(|x| x.destination != dst);
            c.host_config.mounts.retain(|x| crate::files::lexical_clean(Path::new(&x.target)) != dst);
            c.host_config.binds.retain(|b| parse_bind(b).map(|p| p.destination != dst).unwrap_or(true));
            c.config.volumes.retain(|v| crate::files::lexical_clean(Path::new(v)) != dst);
            c.clone()
        })?;
        self.volumes().drop_refs(&c.id);
        self.volumes().add_refs(&c.id, &c.mounts);
        self.publish_container(&ctr, "update", BTreeMap::new());
        Ok(())
    }
}

/// The runtime mount for one mount point.
fn runtime_mount(vols: &Volumes, m: &MountPoint) -> Result<runtime::Mount, EngineError> {
    let mut options: Vec<String> = Vec::new();
    let source = match m.kind {
        MountKind::Tmpfs => {
            options.extend(["nosuid".to_owned(), "nodev".to_owned()]);
            if m.tmpfs_size > 0 {
                options.push(format!("size={}", m.tmpfs_size));
            }
            options.push(format!("mode={:o}", if m.tmpfs_mode == 0 { 0o1777 } else { m.tmpfs_mode & 0o7777 }));
            if !m.rw {
                options.push("ro".into());
            }
            return Ok(runtime::Mount {
                destination: PathBuf::from(&m.destination),
                kind: "tmpfs".into(),
                source: Some("tmpfs".into()),
                options,
            });
        }
        MountKind::Bind => PathBuf::from(&m.source),
        MountKind::Volume => {
            let v = vols.get(&m.name).ok_or_else(|| EngineError::NotFound(format!("volume {} not found", m.name)))?;
            let base = v.source();
            if m.subpath.is_empty() { base } else { base.join(&m.subpath) }
        }
    };
    options.push(if m.non_recursive { "bind".into() } else { "rbind".into() });
    if !m.rw {
        options.push("ro".into());
    }
    options.push(if m.propagation.is_empty() { "rprivate".into() } else { m.propagation.clone() });
    Ok(runtime::Mount {
        destination: PathBuf::from(&m.destination),
        kind: "bind".into(),
        source: Some(source),
        options,
    })
}

/// Copies the image's content at each destination into its (new, empty) volume, from a
/// detached read-only overlay of the image's layers. With a user namespace (`remap`) the
/// copies' owners are the host ids of the image's, as the container sees its layers.
fn copy_up(
    lowers: &[PathBuf],
    fills: &[(PathBuf, String)],
    remap: Option<&crate::userns::IdMapping>,
) -> Result<(), EngineError> {
    let fd = crate::files::detached_overlay(lowers, None, None)
        .map_err(|e| EngineError::io("mounting the image's layers for copy-up", e))?;
    let root = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let rootfd = rustix::fs::open(
        &root,
        rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| EngineError::io("opening the image's root for copy-up", e.into()))?;
    for (volume, dst) in fills {
        let rel = dst.trim_start_matches('/');
        // Resolved inside the image: a symlink there can't lead out of it.
        let src = match rustix::fs::openat2(
            &rootfd,
            rel,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
            rustix::fs::ResolveFlags::IN_ROOT,
        ) {
            Ok(f) => f,
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => return Err(EngineError::io(format!("looking up {dst} in the image"), e.into())),
        };
        let st = rustix::fs::fstat(&src).map_err(|e| EngineError::io(format!("stat {dst} in the image"), e.into()))?;
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return Err(invalid(format!("cannot mount volume over existing file, file exists {dst}")));
        }
        let path = PathBuf::from(format!("/proc/self/fd/{}", src.as_fd().as_raw_fd()));
        crate::copy::copy_dir_contents(&path, volume, remap)
            .map_err(|e| EngineError::io(format!("copying the image's {dst} into its volume"), e))?;
    }
    Ok(())
}

/// Runs `f` on a thread that joined the mount namespace of `pid` (its root and working
/// directory are then the container's root).
fn in_mount_ns<T: Send>(pid: i32, f: impl FnOnce() -> std::io::Result<T> + Send) -> std::io::Result<T> {
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/mnt"))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
            // setns(CLONE_NEWNS) needs a thread that shares no fs struct with others.
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS)?;
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Mount))?;
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("namespace thread panicked")))
    })
}

/// Attaches `m` (a bind or tmpfs) inside the running container `pid`.
fn mount_into(pid: i32, m: &runtime::Mount) -> std::io::Result<()> {
    use rustix::mount::{MountAttrFlags, MoveMountFlags, OpenTreeFlags};
    let ro = m.options.iter().any(|o| o == "ro");
    // The tree to attach, made in the daemon's namespace (where the source is).
    let tree: OwnedFd = if m.kind == "tmpfs" {
        use rustix::mount::{FsMountFlags, FsOpenFlags, fsconfig_create, fsconfig_set_string, fsmount, fsopen};
        let fs = fsopen("tmpfs", FsOpenFlags::FSOPEN_CLOEXEC)?;
        for o in &m.options {
            if let Some((k, v)) = o.split_once('=') {
                fsconfig_set_string(&fs, k, v)?;
            }
        }
        fsconfig_create(&fs)?;
        fsmount(
            &fs,
            FsMountFlags::FSMOUNT_CLOEXEC,
            MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NODEV,
        )?
    } else {
        let src = m.source.as_deref().ok_or_else(|| std::io::Error::other("bind mount without a source"))?;
        let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
        if m.options.iter().any(|o| o == "rbind") {
            flags |= OpenTreeFlags::AT_RECURSIVE;
        }
        rustix::mount::open_tree(rustix::fs::CWD, src, flags)?
    };
    let is_dir = rustix::fs::fstat(&tree)?.st_mode & libc::S_IFMT == libc::S_IFDIR;
    // Read-only all the way down where the kernel can (5.12+); else the top mount, below.
    let ro_done = ro && sys::mount::make_tree_read_only(tree.as_fd()).is_ok();
    let dest = m.destination.clone();
    in_mount_ns(pid, move || {
        if is_dir {
            std::fs::create_dir_all(&dest)?;
        } else if std::fs::symlink_metadata(&dest).is_err() {
            if let Some(p) = dest.parent() {
                std::fs::create_dir_all(p)?;
            }
            std::fs::File::create(&dest)?;
        }
        rustix::mount::move_mount(&tree, "", rustix::fs::CWD, &dest, MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)?;
        // A clone of a shared host mount would stay its peer: keep the container's mounts its own.
        use nix::mount::MsFlags;
        let r =
            nix::mount::mount(None::<&str>, &dest, None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
                .and_then(|()| {
                    if !ro || ro_done {
                        return Ok(());
                    }
                    runtime::remount_bind(&dest.to_string_lossy(), MsFlags::MS_RDONLY)
                });
        if let Err(e) = r {
            let _ = nix::mount::umount2(&dest, nix::mount::MntFlags::MNT_DETACH);
            return Err(e.into());
        }
        Ok(())
    })
}

/// Detaches the mount on `dest` inside the running container `pid`.
fn unmount_in(pid: i32, dest: &str) -> std::io::Result<()> {
    let dest = dest.to_owned();
    in_mount_ns(pid, move || Ok(nix::mount::umount2(dest.as_str(), nix::mount::MntFlags::MNT_DETACH)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_parse_like_docker() {
        let m = parse_bind("/host:/c:ro").unwrap();
        assert_eq!((m.kind, m.source.as_str(), m.destination.as_str(), m.rw), (MountKind::Bind, "/host", "/c", false));
        assert_eq!(m.propagation, "rprivate");
        let m = parse_bind("data:/var/lib/x").unwrap();
        assert_eq!((m.kind, m.name.as_str(), m.rw, m.copy_data), (MountKind::Volume, "data", true, true));
        let m = parse_bind("/only").unwrap();
        assert_eq!((m.kind, m.name.as_str(), m.destination.as_str()), (MountKind::Volume, "", "/only"));
        let m = parse_bind("/anon:ro").unwrap();
        assert_eq!((m.name.as_str(), m.destination.as_str(), m.rw), ("", "/anon", false));
        let m = parse_bind("vv:/d:nocopy").unwrap();
        assert!(!m.copy_data);
        let m = parse_bind("/h:/d:rshared,ro").unwrap();
        assert_eq!(m.propagation, "rshared");
        assert!(parse_bind("/h:relative").unwrap_err().to_string().contains("mount path must be absolute"));
        assert!(parse_bind("/h:/").unwrap_err().to_string().contains("destination can't be '/'"));
        assert!(parse_bind("/h:/d:rx").unwrap_err().to_string().contains("invalid mode: rx"));
        assert!(parse_bind("/h:/d:ro,rw").is_err());
        assert!(parse_bind("vv:/d:rshared").is_err());
        assert!(parse_bind("/h:/d:nocopy").is_err());
        assert!(parse_bind("bad name!:/d").unwrap_err().to_string().contains("invalid characters"));
        assert!(parse_bind("a:b:c:d").is_err());
    }

    #[test]
    fn mount_specs_checked() {
        let m = |kind, source: &str, target: &str| MountSpec {
            kind,
            source: source.into(),
            target: target.into(),
            ..Default::default()
        };
        assert!(
            from_spec(&m(MountKind::Bind, "/nonexistent-berth", "/x"))
                .unwrap_err()
                .to_string()
                .contains("bind source path does not exist")
        );
        assert!(from_spec(&m(MountKind::Bind, "", "/x")).unwrap_err().to_string().contains("Source must not be empty"));
        assert!(
            from_spec(&m(MountKind::Tmpfs, "x", "/x"))
                .unwrap_err()
                .to_string()
                .contains("Source must not be specified")
        );
        assert!(
            from_spec(&m(MountKind::Volume, "v", "")).unwrap_err().to_string().contains("Target must not be empty")
        );
        let t = from_spec(&m(MountKind::Tmpfs, "", "/t/")).unwrap();
        assert_eq!(t.destination, "/t");
        let mut s = m(MountKind::Volume, "v", "/d");
        s.subpath = "../x".into();
        assert!(from_spec(&s).is_err());
    }

    #[test]
    fn names_and_options() {
        assert!(check_name("ok_1.x-y").is_ok());
        assert!(check_name("a").is_err());
        assert!(check_name("-a").is_err());
        let o = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        assert!(check_options(&o(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")])).is_ok());
        assert!(check_options(&o(&[("type", "none"), ("o", "bind"), ("device", "/srv")])).is_ok());
        assert!(check_options(&o(&[("o", "bind"), ("device", "rel")])).is_err());
        assert!(check_options(&o(&[("colour", "blue")])).unwrap_err().to_string().contains("invalid option key"));
        assert!(check_options(&o(&[("type", "ext4")])).is_err());
    }

    #[test]
    fn parents_first() {
        let mk = |d: &str| MountPoint { destination: d.into(), ..Default::default() };
        let mut v = vec![mk("/a/b/c"), mk("/a"), mk("/a/b")];
        sort_mounts(&mut v);
        let d: Vec<&str> = v.iter().map(|m| m.destination.as_str()).collect();
        assert_eq!(d, ["/a", "/a/b", "/a/b/c"]);
    }

    #[test]
    fn volumes_store_refs_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let vols = Volumes::open(dir.path().join("volumes")).unwrap();
        let (v, created) = vols.create("data", BTreeMap::new(), BTreeMap::new()).unwrap();
        assert!(created && v.mountpoint.is_dir());
        assert!(!vols.create("data", BTreeMap::new(), BTreeMap::new()).unwrap().1);
        let mp =
            MountPoint { kind: MountKind::Volume, name: "data".into(), destination: "/d".into(), ..Default::default() };
        vols.add_refs("c1", std::slice::from_ref(&mp));
        let e = vols.remove("data").unwrap_err();
        assert!(matches!(e, EngineError::Conflict(_)), "{e}");
        assert!(e.to_string().contains("volume is in use - [c1]"));
        vols.drop_refs("c1");
        vols.remove("data").unwrap();
        assert!(!dir.path().join("volumes/data").exists());
        // Reopened: records are read back.
        vols.create("kept", BTreeMap::new(), BTreeMap::new()).unwrap();
        let again = Volumes::open(dir.path().join("volumes")).unwrap();
        assert_eq!(again.list().len(), 1);
    }
}
