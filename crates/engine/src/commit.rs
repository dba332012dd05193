//! `commit`: a container's writable layer on its image becomes a new image (the packing and
//! storing is the image store's [`image::ImageStore::commit_container`]).
//!
//! The new image's config is Docker's: the container's own `Config` (the user's settings merged
//! with its image's at create), or the request's config with the container's filling its unset
//! fields, then the `--change` lines. A running container is frozen for the time of the copy
//! (`pause`, the default) so that the layer is a consistent snapshot; the container's `op` lock
//! is held throughout, so no start, stop or upgrade changes the layer meanwhile.

use std::collections::BTreeMap;

use crate::create::merge;
use crate::model::{ContainerConfig, Status};
use crate::{Engine, EngineError};

/// What `commit` gets.
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    /// `repo[:tag]` for the new image (none: untagged).
    pub reference: Option<String>,
    /// Commit message.
    pub comment: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// Dockerfile-like `--change` lines.
    pub changes: Vec<String>,
    /// Freeze a running container during the commit.
    pub pause: bool,
    /// A config to start from instead of the container's (its unset fields are taken from the
    /// container's).
    pub config: Option<ContainerConfig>,
}

/// The image config of a container config (the fields images carry; hostname and domain name
/// are the container's own, not the image's).
pub(crate) fn image_config(c: &ContainerConfig) -> image::ContainerConfig {
    let set = |v: &[String]| -> Option<BTreeMap<String, image::Empty>> {
        (!v.is_empty()).then(|| v.iter().map(|k| (k.clone(), image::Empty {})).collect())
    };
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    image::ContainerConfig {
        user: nonempty(&c.user),
        exposed_ports: set(&c.exposed_ports),
        env: (!c.env.is_empty()).then(|| c.env.clone()),
        cmd: c.cmd.clone(),
        volumes: set(&c.volumes),
        working_dir: nonempty(&c.working_dir),
        entrypoint: c.entrypoint.clone(),
        labels: (!c.labels.is_empty()).then(|| c.labels.clone()),
        stop_signal: c.stop_signal.clone(),
        stop_timeout: c.stop_timeout,
        ..Default::default()
    }
}

/// The marker of a container frozen for a commit, in its run directory.
pub(crate) const FROZEN_FOR_COMMIT: &str = "frozen-for-commit";

impl Engine {
    /// `commit`: returns the new image's ID (`sha256:…`).
    pub async fn commit(&self, name_or_id: &str, req: CommitRequest) -> Result<String, EngineError> {
        let ctr = self.lookup(name_or_id)?;
        // Checked before the container is frozen: a bad request changes nothing.
        if let Some(r) = &req.reference {
            oci::Reference::parse(r).map_err(|e| {
                EngineError::InvalidArgument(format!("invalid reference format for the new image {r:?}: {e}"))
            })?;
        }
        image::apply_changes(&mut image::ContainerConfig::default(), &req.changes)
            .map_err(|e| EngineError::InvalidArgument(format!("invalid --change: {e}")))?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        if matches!(c.state.status, Status::Removing | Status::Dead) {
            return Err(EngineError::Conflict(format!("cannot commit container {}: it is being removed", c.id)));
        }
        let parent: oci::Digest =
            c.image_id.parse().map_err(|e: oci::DigestError| EngineError::InvalidArgument(e.to_string()))?;
        let config = match req.config {
            Some(mut given) => {
                merge(&mut given, Some(&image_config(&c.config)));
                image_config(&given)
            }
            None => image_config(&c.config),
        };
        let mut created_by = vec![c.path.clone()];
        created_by.extend(c.args.iter().cloned());
        let opts = image::CommitOptions {
            reference: req.reference.clone(),
            comment: req.comment,
            author: req.author,
            changes: req.changes,
            config,
            created_by: created_by.join(" "),
            // A remapped container's files are its host ids: the layer gets the ids it sees.
            owners: c.host_config.userns_remap.as_ref().map(crate::userns::to_container),
        };
        // Freeze a running, unpaused container; thaw it whatever happens. A marker in its run
        // directory says so while it lasts: a daemon killed meanwhile leaves it, and the next
        // one thaws the container (its record says running, not paused).
        let marker = ctr.run.join(FROZEN_FOR_COMMIT);
        let frozen = match self.cgroup(&c.id)? {
            Some(cg) if req.pause && c.state.status == Status::Running => {
                std::fs::write(&marker, b"")
                    .map_err(|e| EngineError::io(format!("writing {}", marker.display()), e))?;
                let cg2 = cg.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || cg2.freeze()).await.expect("freeze task") {
                    let _ = std::fs::remove_file(&marker);
                    return Err(e.into());
                }
                crate::failpoint("commit:frozen");
                Some(cg)
            }
            _ => None,
        };
        let (upper, _) = self.rw_dirs(&c);
        let store = self.images().clone();
        // Even a panic of the copy must not leave the container frozen: it becomes an error,
        // after the thaw.
        let r = match tokio::task::spawn_blocking(move || store.commit_container(&parent, &upper, &opts)).await {
            Ok(r) => r.map_err(EngineError::from),
            Err(e) => {
                Err(EngineError::io(format!("committing container {}", c.id), std::io::Error::other(e.to_string())))
            }
        };
        if let Some(cg) = frozen {
            let thawed = tokio::task::spawn_blocking(move || cg.thaw()).await.expect("thaw task");
            match thawed {
                Ok(()) => {
                    let _ = std::fs::remove_file(&marker);
                }
                Err(e) => tracing::error!(container = %c.id, "thawing after commit: {e}"),
            }
        }
        let id = r?.to_string();
        let mut attrs = BTreeMap::new();
        if let Some(r) = &req.reference {
            attrs.insert("imageRef".to_owned(), r.clone());
        }
        attrs.insert("imageID".to_owned(), id.clone());
        self.publish_container(&ctr, "commit", attrs);
        Ok(id)
    }
}
