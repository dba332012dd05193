//! Image operations: the image store's calls run on the blocking pool, with the checks that
//! need containers (an image in use can't be removed without force).

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

use image::{ContainerUse, ImageStore, RemoveEntry};

use crate::model::Status;
use crate::{Engine, EngineError};

/// One line of `rmi`/`image prune` output.
pub type ImageDeleteItem = RemoveEntry;

/// A line of `load` output.
pub type LoadProgress = String;

impl Engine {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ImageStore) -> Result<T, image::ImageError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let store = self.images().clone();
        Ok(tokio::task::spawn_blocking(move || f(&store)).await.expect("image task")?)
    }

    /// Which containers use which image (running ones first).
    fn image_users(&self) -> HashMap<String, ContainerUse> {
        let mut m: HashMap<String, ContainerUse> = HashMap::new();
        for c in self.containers() {
            let running = c.is_running() || c.state.status == Status::Restarting;
            let e = m.entry(c.image_id.clone()).or_insert(ContainerUse { container_id: c.id.clone(), running });
            if running && !e.running {
                *e = ContainerUse { container_id: c.id.clone(), running };
            }
        }
        m
    }

    /// `docker load`: returns Docker's output lines.
    pub async fn image_load(&self, r: Box<dyn Read + Send>) -> Result<Vec<String>, EngineError> {
        let loaded = self.blocking(move |s| s.load(r)).await?;
        let mut out = Vec::new();
        for l in &loaded {
            let mut attrs = BTreeMap::new();
            if let Some(t) = l.tags.first() {
                attrs.insert("name".to_owned(), t.familiar());
            }
            self.inner.events.publish("image", "load", &l.id.to_string(), attrs);
            out.extend(l.messages());
        }
        Ok(out)
    }

    /// `docker import`: returns the image ID.
    pub async fn image_import(
        &self,
        r: Box<dyn Read + Send>,
        opts: image::ImportOptions,
    ) -> Result<String, EngineError> {
        let id = self.blocking(move |s| s.import(r, &opts)).await?;
        self.inner.events.publish("image", "import", &id.to_string(), BTreeMap::new());
        Ok(id.to_string())
    }

    /// `docker save`: streams the archive to `w`. Names are checked before anything is written.
    pub async fn image_save(&self, names: Vec<String>, w: Box<dyn Write + Send>) -> Result<(), EngineError> {
        for n in &names {
            let store = self.images().clone();
            let n = n.clone();
            tokio::task::spawn_blocking(move || store.resolve(&n)).await.expect("resolve task")?;
        }
        let store = self.images().clone();
        crate::spawn_transfer("save", move || {
            if let Err(e) = store.save(&names, w) {
                tracing::error!("saving images: {e}");
            }
        });
        Ok(())
    }

    /// An image.
    pub async fn image_inspect(&self, name: &str) -> Result<image::Image, EngineError> {
        let name = name.to_owned();
        self.blocking(move |s| s.resolve(&name)).await
    }

    /// All images, with how many containers use each.
    pub fn image_list(&self) -> Vec<(image::ImageSummary, usize)> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for c in self.containers() {
            *counts.entry(c.image_id.clone()).or_default() += 1;
        }
        self.images()
            .list()
            .into_iter()
            .map(|i| {
                let n = counts.get(&i.id.to_string()).copied().unwrap_or(0);
                (i, n)
            })
            .collect()
    }

    /// `docker history`.
    pub async fn image_history(&self, name: &str) -> Result<Vec<image::HistoryEntry>, EngineError> {
        let name = name.to_owned();
        self.blocking(move |s| s.history(&name)).await
    }

    /// `docker tag`.
    pub async fn image_tag(&self, source: &str, target: &str) -> Result<(), EngineError> {
        let (source, target) = (source.to_owned(), target.to_owned());
        let r = self
            .blocking(move |s| {
                let r = s.tag(&source, &target)?;
                let id = s.resolve(&source)?.id;
                Ok((r, id))
            })
            .await?;
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_owned(), r.0.familiar());
        self.inner.events.publish("image", "tag", &r.1.to_string(), attrs);
        Ok(())
    }

    /// `docker rmi`.
    pub async fn image_remove(&self, name: &str, force: bool) -> Result<Vec<RemoveEntry>, EngineError> {
        let users = self.image_users();
        let name = name.to_owned();
        let out = self.blocking(move |s| s.remove(&name, force, &|d| users.get(&d.to_string()).cloned())).await?;
        for e in &out {
            match e {
                RemoveEntry::Untagged(r) => {
                    let mut attrs = BTreeMap::new();
                    attrs.insert("name".to_owned(), r.clone());
                    self.inner.events.publish("image", "untag", r, attrs);
                }
                RemoveEntry::Deleted(d) => {
                    self.inner.events.publish("image", "delete", &d.to_string(), BTreeMap::new())
                }
            }
        }
        Ok(out)
    }

    /// `docker image prune` (`all`: unused tagged images too).
    pub async fn image_prune(&self, all: bool) -> Result<image::PruneReport, EngineError> {
        let users = self.image_users();
        self.blocking(move |s| s.prune(all, &|d| users.get(&d.to_string()).cloned())).await
    }

    /// Frees layers of images that were removed while containers still used them, once no
    /// container does. Called after a container is removed.
    pub(crate) async fn image_gc(&self) {
        let users = self.image_users();
        if let Err(e) = self.blocking(move |s| s.gc(&|d| users.get(&d.to_string()).cloned())).await {
            tracing::warn!("image garbage collection: {e}");
        }
    }
}
