//! Persistent writable layers (`run --persist`, berth's extension): a container's upper and
//! work dirs kept under a pinned name, so that they outlive the container.
//!
//! ```text
//! <root>/persistent/<name>/upper    the overlayfs upper dir of the container named <name>
//! <root>/persistent/<name>/work     its work dir
//! <root>/persistent/.tmp-<name>-*   a layer being made (removed at start-up)
//! ```
//!
//! A layer is made by `create` (directories made under a temp name, then renamed: a layer
//! directory always has both) or reused if it exists; `rm` of the container leaves it; a new
//! `--persist` container of the same name takes it over, whatever image it runs. At most one
//! container uses a layer (the record's `persistent_layer`); `persist rm` refuses a layer in
//! use. Layer names are container names, so they are safe path components
//! ([`crate::names::check`]).

use std::path::PathBuf;

use crate::Unpoison;
use crate::model::Container;
use crate::{Engine, EngineError, names};

/// A kept layer, as `persist ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistentLayer {
    /// Its name (the name of the container it was made for).
    pub name: String,
    /// The ID of the container that uses it now, if any.
    pub container: Option<String>,
    /// Bytes of regular files in it.
    pub size: u64,
    /// Its directory.
    pub path: PathBuf,
}

impl Engine {
    /// `<root>/persistent`.
    fn persistent_dir(&self) -> PathBuf {
        self.cfg().root.join("persistent")
    }

    /// A kept layer's directory.
    pub(crate) fn persistent_layer_dir(&self, name: &str) -> PathBuf {
        self.persistent_dir().join(name)
    }

    /// The container's writable layer: (upper, work).
    pub fn rw_dirs(&self, c: &Container) -> (PathBuf, PathBuf) {
        let dir = match &c.persistent_layer {
            Some(name) => self.persistent_layer_dir(name),
            None => self.container_dir(&c.id),
        };
        (dir.join("upper"), dir.join("work"))
    }

    /// Removes half-made layers of an interrupted create (at start-up).
    pub(crate) fn persist_recover(&self) {
        let Ok(rd) = std::fs::read_dir(self.persistent_dir()) else { return };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                tracing::warn!("removing incomplete persistent layer {}", e.path().display());
                let _ = crate::remove_tree(&e.path());
            }
        }
    }

    /// The container using the kept layer `name`, if any.
    fn layer_user(&self, name: &str) -> Option<Container> {
        self.containers().into_iter().find(|c| c.persistent_layer.as_deref() == Some(name))
    }

    /// For `create --persist`: checks the layer is free and makes it if it does not exist.
    /// Returns whether it was made now (the caller removes it if the create fails).
    pub(crate) fn persist_prepare(&self, name: &str) -> Result<bool, EngineError> {
        if let Some(c) = self.layer_user(name) {
            return Err(EngineError::Conflict(format!(
                "the persistent layer {name:?} is in use by container {} (\"/{}\")",
                c.short_id(),
                c.name
            )));
        }
        let dir = self.persistent_layer_dir(name);
        if dir.is_dir() {
            return Ok(false);
        }
        let parent = self.persistent_dir();
        let tmp = parent.join(format!(".tmp-{name}-{}", &crate::random_id()[..8]));
        let made = (|| {
            std::fs::create_dir_all(tmp.join("upper"))?;
            std::fs::create_dir_all(tmp.join("work"))?;
            std::fs::rename(&tmp, &dir)
        })();
        if let Err(e) = made {
            let _ = crate::remove_tree(&tmp);
            return Err(EngineError::io(format!("creating persistent layer {}", dir.display()), e));
        }
        Ok(true)
    }

    /// `persist ls`: the kept layers, by name.
    pub async fn persist_list(&self) -> Result<Vec<PersistentLayer>, EngineError> {
        let dir = self.persistent_dir();
        let containers = self.containers();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let rd = match std::fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                Err(e) => return Err(EngineError::io(format!("listing {}", dir.display()), e)),
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let container = containers
                    .iter()
                    .find(|c| c.persistent_layer.as_deref() == Some(name.as_str()))
                    .map(|c| c.id.clone());
                out.push(PersistentLayer {
                    size: crate::files::dir_size(&e.path().join("upper")),
                    name,
                    container,
                    path: e.path(),
                });
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
        .await
        .expect("persist list task")
    }

    /// `persist rm NAME`: deletes a kept layer no container uses.
    pub async fn persist_remove(&self, name: &str) -> Result<(), EngineError> {
        let name = names::check(name)
            .map_err(|_| EngineError::InvalidArgument(format!("invalid persistent layer name {name:?}")))?
            .to_owned();
        if let Some(c) = self.layer_user(&name) {
            return Err(EngineError::Conflict(format!(
                "the persistent layer {name:?} is in use by container {} (\"/{}\"): remove the container first",
                c.short_id(),
                c.name
            )));
        }
        // A container of that name being created (its name is reserved before it is
        // registered) may be taking the layer over right now.
        let reserved = self.inner.names.read().unpoisoned().get(&name).cloned();
        let creating = reserved.is_some_and(|id| !self.inner.containers.read().unpoisoned().contains_key(&id));
        if creating {
            return Err(EngineError::Conflict(format!(
                "the persistent layer {name:?} is being taken by container \"/{name}\", which is being created"
            )));
        }
        let dir = self.persistent_layer_dir(&name);
        if !dir.is_dir() {
            return Err(EngineError::NotFound(format!("No such persistent layer: {name}")));
        }
        let trash = self.persistent_dir().join(format!(".tmp-{name}-rm-{}", &crate::random_id()[..8]));
        tokio::task::spawn_blocking(move || {
            std::fs::rename(&dir, &trash)?;
            crate::remove_tree(&trash)
        })
        .await
        .expect("persist remove task")
        .map_err(|e| EngineError::io(format!("removing persistent layer {name}"), e))?;
        // The layer's volumes (its containers' volume paths) go with it, unless in use.
        for v in self.volume_list() {
            if v.labels.get(crate::volumes::PERSIST_LABEL) == Some(&name)
                && let Err(e) = self.volume_remove(&v.name, true).await
            {
                tracing::info!("keeping volume {} of persistent layer {name}: {e}", v.name);
            }
        }
        Ok(())
    }
}
