//! `upgrade` (berth's extension): a container re-made on a newer image, keeping its writable
//! layer.
//!
//! The container keeps its ID, name, host settings (mounts, ports, restart policy...),
//! networks and writable layer; its configuration is the user's own settings from create
//! (`Container::user_config`) merged again with the *new* image's config, so no default of the
//! old image sticks. Its current IPv4 addresses are pinned in its endpoint settings, so it
//! comes back with the same addresses.
//!
//! Collisions ([`image::collisions`]): paths the container changed that the new image also
//! changed relative to the old one. Without a preference the upgrade is refused with the list;
//! `Prefer::Container` keeps the container's versions, `Prefer::Image` drops them from the
//! writable layer (whiteouts included), so the new image's show through.
//!
//! Sequence: everything that can be checked is checked first (image, merged config, command,
//! collisions), before anything changes. A running container is then stopped, the collisions
//! computed again on the quiet layer, dropped paths moved aside (not deleted yet, with a plan
//! of the moves written first), and the new record written in one atomic replace: that write
//! is the commit point. If it fails, the moved paths are put back and the old record stays; a
//! container that ran is started again either way. Moved-aside paths are deleted only after
//! the commit; after a crash, the next start-up puts them back or deletes them, depending on
//! which record it finds ([`Engine::upgrade_recover`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Unpoison;
use crate::create::{command, merge};
use crate::model::{Container, Status};
use crate::{Ctr, Engine, EngineError, store};

/// Which version of a colliding path an upgrade keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    /// The container's (its writable layer is left as it is).
    Container,
    /// The new image's (the container's version is removed from its writable layer).
    Image,
}

impl std::str::FromStr for Prefer {
    type Err = EngineError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "container" => Ok(Prefer::Container),
            "image" => Ok(Prefer::Image),
            _ => Err(EngineError::InvalidArgument(format!(
                "invalid value {s:?} for prefer: use \"container\" or \"image\""
            ))),
        }
    }
}

/// What `upgrade` gets.
#[derive(Debug, Clone, Default)]
pub struct UpgradeRequest {
    /// The image to move to; `None`: the container's image reference, resolved again.
    pub image: Option<String>,
    /// How to settle collisions; `None`: refuse if there are any.
    pub prefer: Option<Prefer>,
}

/// What an upgrade did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeReport {
    /// The image ID before.
    pub old_image: String,
    /// The image ID now.
    pub new_image: String,
    /// Colliding paths, settled by the preference.
    pub collisions: Vec<String>,
    /// Whether the container was running (and was started again).
    pub restarted: bool,
}

/// The new record: the user's settings merged with the new image's, the container's identity,
/// host settings and networks kept, current addresses pinned.
fn upgraded(
    c: &Container,
    reference: &str,
    img: &image::Image,
    addresses: &BTreeMap<String, std::net::Ipv4Addr>,
) -> Result<Container, EngineError> {
    let user = c.user_config.clone().ok_or_else(|| {
        EngineError::Conflict(format!(
            "container {} was created by an older berth that did not keep its original settings: re-create it to upgrade it",
            c.name
        ))
    })?;
    let mut config = user;
    config.image = reference.to_owned();
    merge(&mut config, img.config.config.as_ref());
    let (path, args) = command(&config)?;
    if let Some(s) = &config.stop_signal {
        crate::lifecycle::parse_signal(s)?;
    }
    if config.hostname.is_empty() {
        config.hostname = c.config.hostname.clone();
    }
    if config.working_dir.is_empty() {
        config.working_dir = "/".into();
    } else if !config.working_dir.starts_with('/') {
        return Err(EngineError::InvalidArgument(format!(
            "the working directory '{}' of image {reference} is invalid, it needs to be an absolute path",
            config.working_dir
        )));
    }
    let mut networks = c.networks.clone();
    for (net, ip) in addresses {
        if let Some(ep) = networks.get_mut(net) {
            ep.ipv4_address = Some(*ip);
        }
    }
    // The image asked for becomes the container's own reference: a later plain `upgrade`
    // resolves it again, not the one the container was created with.
    let user_config = c.user_config.clone().map(|mut u| {
        u.image = reference.to_owned();
        u
    });
    Ok(Container { image_id: img.id.to_string(), path, args, config, networks, user_config, ..c.clone() })
}

/// The plan of a `--prefer image` upgrade, written into its trash directory before anything
/// moves: `{"new_image": "sha256:…", "paths": ["/etc/version", …]}` (path `i` moves to
/// `trash/<i>`). After a crash, [`Engine::upgrade_recover`] finishes or undoes it: if the record
/// has the new image, the upgrade was committed and the trash goes; otherwise the paths go back.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Plan {
    new_image: String,
    paths: Vec<String>,
}

const PLAN_FILE: &str = "plan.json";
const TRASH_PREFIX: &str = "upgrade-";

/// Moves `paths` (absolute in the container) out of `upper` into `trash`, after writing the
/// plan there; returns what was moved, as (where it was, where it is), for [`restore`].
fn set_aside(
    upper: &Path,
    trash: &Path,
    new_image: &str,
    paths: &[String],
) -> std::io::Result<Vec<(PathBuf, PathBuf)>> {
    std::fs::create_dir_all(trash)?;
    let plan = Plan { new_image: new_image.to_owned(), paths: paths.to_vec() };
    store::write_atomic(&trash.join(PLAN_FILE), &serde_json::to_vec(&plan).map_err(std::io::Error::other)?)?;
    let mut moved = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let from = upper.join(p.trim_start_matches('/'));
        let to = trash.join(i.to_string());
        match std::fs::rename(&from, &to) {
            Ok(()) => moved.push((from, to)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                restore(&moved);
                let _ = crate::remove_tree(trash);
                return Err(e);
            }
        }
    }
    Ok(moved)
}

/// Finishes or undoes an upgrade a crash interrupted, from the plans in `upper`'s parent.
fn recover_trash(upper: &Path, image_id: &str) {
    let Some(parent) = upper.parent() else { return };
    let Ok(rd) = std::fs::read_dir(parent) else { return };
    for e in rd.flatten() {
        if !e.file_name().to_string_lossy().starts_with(TRASH_PREFIX) {
            continue;
        }
        let trash = e.path();
        let plan: Option<Plan> =
            std::fs::read(trash.join(PLAN_FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(plan) = plan.filter(|p| p.new_image != image_id) {
            tracing::warn!("putting back the paths an interrupted upgrade had set aside in {}", trash.display());
            let moved: Vec<(PathBuf, PathBuf)> = plan
                .paths
                .iter()
                .enumerate()
                .map(|(i, p)| (upper.join(p.trim_start_matches('/')), trash.join(i.to_string())))
                .filter(|(_, to)| to.symlink_metadata().is_ok())
                .collect();
            restore(&moved);
        }
        let _ = crate::remove_tree(&trash);
    }
}

fn restore(moved: &[(PathBuf, PathBuf)]) {
    for (from, to) in moved.iter().rev() {
        if let Err(e) = std::fs::rename(to, from) {
            tracing::error!("putting back {} from {}: {e}", from.display(), to.display());
        }
    }
}

impl Engine {
    /// At start-up, before the container is registered: finishes or undoes an upgrade of it that
    /// a crash interrupted (see [`Plan`]).
    pub(crate) fn upgrade_recover(&self, c: &Container) {
        recover_trash(&self.rw_dirs(c).0, &c.image_id);
    }

    /// `upgrade`: see the module documentation.
    pub async fn upgrade(&self, name_or_id: &str, req: UpgradeRequest) -> Result<UpgradeReport, EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let c = ctr.snapshot();
        match c.state.status {
            Status::Paused => {
                return Err(EngineError::Conflict(format!(
                    "container {} is paused: unpause it before upgrading",
                    c.name
                )));
            }
            Status::Restarting | Status::Removing | Status::Dead => {
                return Err(EngineError::Conflict(format!(
                    "container {} is {}: it cannot be upgraded now",
                    c.name,
                    c.state.status.as_str()
                )));
            }
            _ => {}
        }
        let reference = req
            .image
            .clone()
            .or_else(|| c.user_config.as_ref().map(|u| u.image.clone()))
            .unwrap_or_else(|| c.config.image.clone());
        let img = {
            let store = self.images().clone();
            let r = reference.clone();
            tokio::task::spawn_blocking(move || store.resolve(&r)).await.expect("image resolve task")?
        };
        // Checked now, before anything changes (and again below on the final record).
        upgraded(&c, &reference, &img, &BTreeMap::new())?;
        let collisions = self.upgrade_collisions(&c, &img.id).await?;
        if !collisions.is_empty() && req.prefer.is_none() {
            return Err(refusal(&c.name, &collisions));
        }

        let was_running = c.is_running();
        let addresses: BTreeMap<String, std::net::Ipv4Addr> =
            c.state.network.endpoints.iter().map(|(n, ep)| (n.clone(), ep.ip)).collect();
        // The stop below must not remove a `--rm` container (as `restart`).
        let _hold = crate::lifecycle::HoldAutoRemove::new(&ctr);
        if was_running {
            {
                let _op = ctr.op.lock().await;
                ctr.update(|c| c.state.manually_stopped = true)?;
            }
            self.stop_running(&ctr, None, None).await?;
        }
        let op = ctr.op.lock().await;
        let r = self.upgrade_locked(&ctr, &reference, &img, &addresses, req.prefer).await;
        // A container that ran runs again, upgraded or not.
        if was_running && !ctr.snapshot().is_running() {
            let started = self.start_locked(&ctr).await;
            drop(op);
            return match (r, started) {
                (Ok(_), Err(e)) => Err(EngineError::Conflict(format!(
                    "container {} was upgraded but could not be started again: {e}",
                    c.name
                ))),
                (Ok(collisions), Ok(())) => Ok(self.upgrade_done(&ctr, &c, collisions, true)),
                (Err(e), _) => Err(e),
            };
        }
        drop(op);
        let collisions = r?;
        let report = self.upgrade_done(&ctr, &c, collisions, false);
        Ok(report)
    }

    fn upgrade_done(&self, ctr: &Arc<Ctr>, old: &Container, collisions: Vec<String>, restarted: bool) -> UpgradeReport {
        let new = ctr.snapshot();
        let mut attrs = BTreeMap::new();
        attrs.insert("oldImage".to_owned(), old.image_id.clone());
        attrs.insert("newImage".to_owned(), new.image_id.clone());
        self.publish_container(ctr, "upgrade", attrs);
        if old.image_id.parse().is_ok_and(|d: oci::Digest| self.images().is_retained(&d)) {
            let engine = self.clone();
            tokio::spawn(async move { engine.image_gc().await });
        }
        UpgradeReport { old_image: old.image_id.clone(), new_image: new.image_id, collisions, restarted }
    }

    /// The container's collisions with a move from its image to `new`.
    async fn upgrade_collisions(&self, c: &Container, new: &oci::Digest) -> Result<Vec<String>, EngineError> {
        let old = self.image_layers(c)?;
        let new = self.images().layers(new)?;
        let (upper, _) = self.rw_dirs(c);
        let id = c.id.clone();
        tokio::task::spawn_blocking(move || image::collisions(&upper, &old, &new))
            .await
            .expect("collisions task")
            .map_err(|e| {
                EngineError::io(
                    format!("comparing container {id} with the new image"),
                    std::io::Error::other(e.to_string()),
                )
            })
    }

    /// The upgrade proper, on a stopped container whose `op` lock the caller holds. Returns the
    /// collisions it settled.
    async fn upgrade_locked(
        &self,
        ctr: &Arc<Ctr>,
        reference: &str,
        img: &image::Image,
        addresses: &BTreeMap<String, std::net::Ipv4Addr>,
        prefer: Option<Prefer>,
    ) -> Result<Vec<String>, EngineError> {
        let c = ctr.snapshot();
        if c.is_running() || c.state.status == Status::Removing {
            return Err(EngineError::Conflict(format!(
                "container {} changed state during the upgrade ({}); nothing was changed",
                c.name,
                c.state.status.as_str()
            )));
        }
        let new = upgraded(&c, reference, img, addresses)?;
        // Again, on the layer no process writes to any more.
        let collisions = self.upgrade_collisions(&c, &img.id).await?;
        if !collisions.is_empty() && prefer.is_none() {
            return Err(refusal(&c.name, &collisions));
        }
        let (upper, _) = self.rw_dirs(&c);
        let trash = upper.with_file_name(format!("{TRASH_PREFIX}{}", &crate::random_id()[..8]));
        let moved = if prefer == Some(Prefer::Image) && !collisions.is_empty() {
            let (upper, trash, paths) = (upper.clone(), trash.clone(), collisions.clone());
            let image = new.image_id.clone();
            tokio::task::spawn_blocking(move || set_aside(&upper, &trash, &image, &paths))
                .await
                .expect("upgrade task")
                .map_err(|e| EngineError::io(format!("dropping the colliding paths of container {}", c.id), e))?
        } else {
            Vec::new()
        };
        // The new image's own volume paths get anonymous volumes (filled from it); the
        // container's volumes stay as they are.
        let mut new = new;
        let new_volumes = match self.images().layers(&img.id) {
            Ok(layers) => self.add_image_volumes(&mut new, &layers).await,
            Err(e) => Err(e.into()),
        };
        let new_volumes = match new_volumes {
            Ok(v) => v,
            Err(e) => {
                restore(&moved);
                let _ = crate::remove_tree(&trash);
                return Err(e);
            }
        };
        crate::failpoint("upgrade:set-aside");
        // The commit point.
        if let Err(e) = store::save(&ctr.dir, &new) {
            self.volumes().drop_refs(&c.id);
            self.volumes().add_refs(&c.id, &c.mounts);
            for v in &new_volumes {
                let _ = self.volume_remove(v, true).await;
            }
            restore(&moved);
            let _ = crate::remove_tree(&trash);
            return Err(EngineError::io(format!("saving container {}", c.id), e));
        }
        *ctr.rec.lock().unpoisoned() = new;
        crate::failpoint("upgrade:committed");
        if trash.exists() {
            tokio::task::spawn_blocking(move || crate::remove_tree(&trash))
                .await
                .expect("upgrade task")
                .unwrap_or_else(|e| tracing::warn!("removing the dropped paths of an upgrade: {e}"));
        }
        Ok(collisions)
    }
}

fn refusal(name: &str, collisions: &[String]) -> EngineError {
    EngineError::Conflict(format!(
        "cannot upgrade container {name}: paths changed both in the container and in the new image: {}; choose which version to keep with --prefer container or --prefer image",
        collisions.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerConfig, EndpointConfig, HostConfig, State};

    fn image(cmd: &str, env: &str) -> image::Image {
        image::Image {
            id: oci::Digest::of(cmd.as_bytes()),
            repo_tags: Vec::new(),
            repo_digests: Vec::new(),
            size: 0,
            created: None,
            config: image::ImageConfig {
                config: Some(image::ContainerConfig {
                    cmd: Some(vec![cmd.to_owned()]),
                    env: Some(vec![env.to_owned()]),
                    ..Default::default()
                }),
                ..Default::default()
            },
            chain_ids: Vec::new(),
            manifest: oci::Digest::of(b"m"),
            recorded: None,
        }
    }

    #[test]
    fn user_settings_are_merged_with_the_new_image_only() {
        let old = image("old-cmd", "OLD=1");
        let user = ContainerConfig { env: vec!["MINE=1".into()], image: "app:latest".into(), ..Default::default() };
        let mut merged = user.clone();
        merge(&mut merged, old.config.config.as_ref());
        merged.hostname = "abc".into();
        let c = Container {
            version: 1,
            id: "a".repeat(64),
            name: "p".into(),
            created: chrono::Utc::now(),
            image_id: old.id.to_string(),
            path: "old-cmd".into(),
            args: Vec::new(),
            config: merged,
            host_config: HostConfig { persist: true, ..Default::default() },
            state: State::default(),
            exec_ids: Vec::new(),
            networks: [("net".to_owned(), EndpointConfig::default())].into(),
            user_config: Some(user),
            persistent_layer: Some("p".into()),
            mounts: vec![],
        };
        let new = image("new-cmd", "NEW=2");
        let addrs = [("net".to_owned(), "10.1.0.5".parse().unwrap())].into();
        let u = upgraded(&c, "app:v2", &new, &addrs).unwrap();
        assert_eq!(u.config.env, ["MINE=1", "NEW=2"], "the old image's env must not stick");
        assert_eq!((u.path.as_str(), u.config.image.as_str()), ("new-cmd", "app:v2"));
        assert_eq!(u.config.hostname, "abc");
        assert_eq!(u.image_id, new.id.to_string());
        assert_eq!(u.networks["net"].ipv4_address, Some("10.1.0.5".parse().unwrap()));
        assert_eq!((u.id.as_str(), u.persistent_layer.as_deref()), (c.id.as_str(), Some("p")));

        let legacy = Container { user_config: None, ..c };
        assert!(matches!(upgraded(&legacy, "app:v2", &new, &addrs), Err(EngineError::Conflict(_))));
    }

    #[test]
    fn prefer_parses() {
        assert_eq!("image".parse::<Prefer>().unwrap(), Prefer::Image);
        assert_eq!("container".parse::<Prefer>().unwrap(), Prefer::Container);
        assert!(matches!("both".parse::<Prefer>(), Err(EngineError::InvalidArgument(_))));
    }

    #[test]
    fn set_aside_and_restore() {
        let t = tempfile::tempdir().unwrap();
        let upper = t.path().join("upper");
        std::fs::create_dir_all(upper.join("etc")).unwrap();
        std::fs::write(upper.join("etc/version"), "mine").unwrap();
        let trash = t.path().join("trash");
        let paths = ["/etc/version".to_owned(), "/etc/absent".to_owned()];
        let moved = set_aside(&upper, &trash, "sha256:new", &paths).unwrap();
        assert!(!upper.join("etc/version").exists());
        restore(&moved);
        assert_eq!(std::fs::read_to_string(upper.join("etc/version")).unwrap(), "mine");

        // A crash after the moves: the record still has the old image, so they go back.
        let trash = t.path().join("upgrade-1");
        set_aside(&upper, &trash, "sha256:new", &paths).unwrap();
        recover_trash(&upper, "sha256:old");
        assert_eq!(std::fs::read_to_string(upper.join("etc/version")).unwrap(), "mine");
        assert!(!trash.exists());
        // A crash after the commit: the record has the new image, the set-aside paths go.
        set_aside(&upper, &trash, "sha256:new", &paths).unwrap();
        recover_trash(&upper, "sha256:new");
        assert!(!upper.join("etc/version").exists());
        assert!(!trash.exists());
    }
}
