//! [`ImageStore`]: image records, references, name resolution, listing, history, tagging and
//! layer garbage collection. Loading, importing, saving and removal live in their own modules
//! and use the state defined here.
//!
//! Files (all replaced atomically; see [`crate::durable`]):
//!
//! ```text
//! images/<id hex>.json   {"version":1,"id":…,"manifest":…,"layers":[{"chain_id","diff_id","blob":{descriptor},"size"}],
//!                         "size":…,"recorded":"<RFC 3339>","retained":false}
//! repositories.json      {"version":1,"refs":{"docker.io/library/busybox:latest":"sha256:…", "repo@sha256:…":"sha256:…"}}
//! ```
//!
//! The image ID is the digest of the config blob. A record is written only after its blobs
//! and layers are complete, and references only after the record, so a crash never leaves a
//! reference to a half-made image. `retained` marks an image removed with `force` while a
//! container still uses it: it is hidden from names and listings but keeps its layers until
//! [`ImageStore::gc`] finds it unused.
//!
//! Concurrency: the in-memory state (records, references, leases) sits behind one mutex. Blob
//! and layer I/O happens outside it; loads hold *leases* on the blobs and layers they are
//! writing so that a concurrent garbage collection does not delete them before the record
//! that references them exists.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use oci::{Digest, Reference};
use serde::{Deserialize, Serialize};

use crate::archive::Descriptor;
use crate::config::{self, ImageConfig};
use crate::content::ContentStore;
use crate::durable;
use crate::error::ImageError;
use crate::layer::LayerStore;
use crate::remove::ContainerUse;

const VERSION: u32 = 1;
const REFS_FILE: &str = "repositories.json";
const IMAGES_DIR: &str = "images";

/// One layer of an image record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordLayer {
    pub(crate) chain_id: Digest,
    pub(crate) diff_id: Digest,
    /// The layer blob as stored in the content store (kept for `save`).
    pub(crate) blob: Descriptor,
    /// Unpacked size.
    pub(crate) size: u64,
}

/// `images/<id>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) version: u32,
    pub(crate) id: Digest,
    /// An OCI manifest blob for this image (the original one, or one we generated).
    pub(crate) manifest: Digest,
    pub(crate) layers: Vec<RecordLayer>,
    pub(crate) size: u64,
    pub(crate) recorded: String,
    #[serde(default)]
    pub(crate) retained: bool,
    #[serde(skip)]
    pub(crate) config: ImageConfig,
}

#[derive(Debug, Serialize, Deserialize)]
struct RefsFile {
    version: u32,
    refs: BTreeMap<String, Digest>,
}

/// The mutable state, behind [`ImageStore::state`].
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) images: BTreeMap<Digest, Arc<Record>>,
    pub(crate) refs: BTreeMap<Reference, Digest>,
    /// Blobs and layers (by digest / chain ID) that in-flight loads are writing.
    pub(crate) leases: HashMap<Digest, usize>,
}

impl State {
    /// A visible (not retained) image.
    pub(crate) fn image(&self, id: &Digest) -> Option<&Arc<Record>> {
        self.images.get(id).filter(|r| !r.retained)
    }

    /// References to `id`, in order.
    pub(crate) fn refs_of(&self, id: &Digest) -> Vec<Reference> {
        self.refs.iter().filter(|(_, d)| *d == id).map(|(r, _)| r.clone()).collect()
    }
}

/// How a name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// By (a prefix of) the image ID.
    Id(Digest),
    /// By a reference (tag or digest) that points at the image.
    Ref(Reference, Digest),
}

impl Resolved {
    pub(crate) fn id(&self) -> &Digest {
        match self {
            Self::Id(d) | Self::Ref(_, d) => d,
        }
    }
}

/// An image as `docker image inspect` needs it.
#[derive(Debug, Clone)]
pub struct Image {
    /// The image ID (config digest).
    pub id: Digest,
    /// Tags in familiar form (`busybox:latest`).
    pub repo_tags: Vec<String>,
    /// Digest references in familiar form (`busybox@sha256:…`).
    pub repo_digests: Vec<String>,
    /// Sum of the unpacked layer sizes.
    pub size: u64,
    /// Creation time from the config.
    pub created: Option<DateTime<Utc>>,
    /// The parsed config.
    pub config: ImageConfig,
    /// Layer chain IDs, bottom first.
    pub chain_ids: Vec<Digest>,
    /// The manifest this store keeps for the image.
    pub manifest: Digest,
    /// When the image was loaded, imported or last re-recorded here.
    pub recorded: Option<DateTime<Utc>>,
}

/// A row of `docker images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// Image ID.
    pub id: Digest,
    /// Tags in familiar form.
    pub repo_tags: Vec<String>,
    /// Digest references in familiar form.
    pub repo_digests: Vec<String>,
    /// Unix seconds from the config (0 if unknown).
    pub created: i64,
    /// Sum of layer sizes.
    pub size: u64,
    /// Config labels.
    pub labels: BTreeMap<String, String>,
}

/// A row of `docker history`, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The image ID on the top entry; `None` (shown as `<missing>`) for the others.
    pub id: Option<Digest>,
    /// Unix seconds.
    pub created: i64,
    /// The build step.
    pub created_by: String,
    /// Tags of the image (top entry only).
    pub tags: Vec<String>,
    /// Size of the layer this step made (0 for empty layers).
    pub size: u64,
    /// Comment.
    pub comment: String,
}

/// What [`ImageStore::gc`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Removed layers, by chain ID.
    pub layers: Vec<Digest>,
    /// Removed blobs.
    pub blobs: Vec<Digest>,
    /// Unpacked bytes of the removed layers.
    pub reclaimed: u64,
}

/// The local image store. See the crate docs for the on-disk layout.
#[derive(Debug)]
pub struct ImageStore {
    pub(crate) content: ContentStore,
    pub(crate) layers: LayerStore,
    images_dir: PathBuf,
    refs_path: PathBuf,
    state: Mutex<State>,
}

/// Keeps blobs and layers of an unfinished load out of garbage collection.
pub(crate) struct Lease<'a> {
    store: &'a ImageStore,
    held: Vec<Digest>,
}

impl Lease<'_> {
    pub(crate) fn hold(&mut self, d: &Digest) {
        let mut st = self.store.lock();
        self.hold_in(&mut st, d);
    }

    /// [`hold`](Self::hold) for a caller that already has the lock.
    pub(crate) fn hold_in(&mut self, st: &mut State, d: &Digest) {
        *st.leases.entry(d.clone()).or_default() += 1;
        self.held.push(d.clone());
    }
}

/// Every blob and layer an image record or a lease needs.
fn in_use(st: &State) -> BTreeSet<&Digest> {
    let mut used: BTreeSet<&Digest> = st.leases.keys().collect();
    for rec in st.images.values() {
        used.insert(&rec.id);
        used.insert(&rec.manifest);
        for l in &rec.layers {
            used.insert(&l.chain_id);
            used.insert(&l.blob.digest);
        }
    }
    used
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut st = self.store.lock();
        for d in &self.held {
            if let Some(n) = st.leases.get_mut(d) {
                *n -= 1;
                if *n == 0 {
                    st.leases.remove(d);
                }
            }
        }
    }
}

/// The extension an unreadable image record or reference file is renamed to.
const UNREADABLE_EXT: &str = "unreadable";

impl ImageStore {
    /// Opens (creating) a store at `root`: removes temp leftovers of killed processes, reads
    /// image records and references, and removes blobs and layers no record references (what
    /// a load killed before its commit leaves). Records whose blobs or layers are missing are
    /// skipped, references to unknown images dropped.
    pub fn open(root: &Path) -> Result<Self, ImageError> {
        fs::create_dir_all(root).map_err(ImageError::io("create", root))?;
        durable::remove_leftovers(root).map_err(ImageError::io("clean up", root))?;
        let content = ContentStore::open(root)?;
        let layers = LayerStore::open(root)?;
        let images_dir = root.join(IMAGES_DIR);
        fs::create_dir_all(&images_dir).map_err(ImageError::io("create", &images_dir))?;
        durable::remove_leftovers(&images_dir).map_err(ImageError::io("clean up", &images_dir))?;
        let store = Self { content, layers, images_dir, refs_path: root.join(REFS_FILE), state: Mutex::default() };
        let mut st = State::default();
        // A record or reference file that can't be read is set aside (renamed, not deleted),
        // and nothing is collected this time: its layers may be what it referenced.
        let mut unreadable = false;
        let set_aside = |path: &Path, why: &dyn std::fmt::Display| {
            let aside = path.with_extension(UNREADABLE_EXT);
            match fs::rename(path, &aside) {
                Ok(()) => tracing::error!("{} can't be read ({why}): moved to {}", path.display(), aside.display()),
                Err(e) => tracing::error!("{} can't be read ({why}) nor moved aside ({e})", path.display()),
            }
        };
        for entry in fs::read_dir(&store.images_dir).map_err(ImageError::io("list", &store.images_dir))? {
            let path = entry.map_err(ImageError::io("list", &store.images_dir))?.path();
            if path.extension().is_none_or(|e| e != "json") {
                unreadable |= path.extension().is_some_and(|e| e == UNREADABLE_EXT);
                continue;
            }
            let bytes = fs::read(&path).map_err(ImageError::io("read", &path))?;
            let mut rec: Record = match serde_json::from_slice(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    set_aside(&path, &e);
                    unreadable = true;
                    continue;
                }
            };
            match store.complete(&rec) {
                Ok(config) => rec.config = config,
                Err(e) => {
                    tracing::warn!(image = %rec.id, error = %e, "skipping incomplete image record");
                    continue;
                }
            }
            st.images.insert(rec.id.clone(), Arc::new(rec));
        }
        match fs::read(&store.refs_path) {
            Ok(bytes) => match serde_json::from_slice::<RefsFile>(&bytes) {
                Ok(file) => {
                    for (name, id) in file.refs {
                        if let (Ok(r), true) = (Reference::parse(&name), st.image(&id).is_some()) {
                            st.refs.insert(r, id);
                        }
                    }
                }
                Err(e) => set_aside(&store.refs_path, &e),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ImageError::io("read", &store.refs_path)(e)),
        }
        if unreadable {
            tracing::warn!(
                "image records were set aside (*.{UNREADABLE_EXT} in {}): unreferenced layers and blobs are kept",
                store.images_dir.display()
            );
            *store.lock() = st;
            return Ok(store);
        }
        // Blobs and layers of loads that were killed before writing their record.
        let (report, detached) = store.gc_locked(&st)?;
        store.purge(&detached)?;
        if !report.layers.is_empty() || !report.blobs.is_empty() {
            tracing::info!(
                layers = report.layers.len(),
                blobs = report.blobs.len(),
                "removed unreferenced layers and blobs"
            );
        }
        *store.lock() = st;
        Ok(store)
    }

    /// Checks that a record's config, manifest and layers exist; returns the parsed config.
    fn complete(&self, rec: &Record) -> Result<ImageConfig, ImageError> {
        let bytes = self.content.read(&rec.id)?;
        let config = serde_json::from_slice(&bytes)
            .map_err(|source| ImageError::ArchiveJson { file: rec.id.to_string(), source })?;
        self.content.size(&rec.manifest)?;
        for l in &rec.layers {
            if self.layers.meta(&l.chain_id)?.is_none() {
                return Err(ImageError::MissingFile(self.layers.diff_dir(&l.chain_id).display().to_string()));
            }
        }
        Ok(config)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state as consistent as the files (every
        // mutation writes its file before touching memory: see `update_refs`), so poisoning is
        // not fatal.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn lease(&self) -> Lease<'_> {
        Lease { store: self, held: Vec::new() }
    }

    /// Resolves a name as Docker does: a full ID (`sha256:hex` or 64 hex digits), then a
    /// reference (`busybox` means `busybox:latest`), then a unique ID prefix.
    pub(crate) fn lookup(st: &State, name: &str) -> Result<Resolved, ImageError> {
        let full = name.strip_prefix("sha256:").unwrap_or(name);
        if let Ok(id) = Digest::from_hex(full) {
            return match st.image(&id) {
                Some(_) => Ok(Resolved::Id(id)),
                None => Err(ImageError::NotFound(id.to_string())),
            };
        }
        let not_found = |r: &Reference| ImageError::NotFound(r.familiar());
        let reference = match Reference::parse(name) {
            Ok(r) => Some(r),
            // `sha256:abc` is not a valid reference but is an ID prefix.
            Err(_) if name.starts_with("sha256:") => None,
            Err(e) => return Err(e.into()),
        };
        if let Some(r) = &reference
            && let Some(id) = st.refs.get(r)
            && st.image(id).is_some()
        {
            return Ok(Resolved::Ref(r.clone(), id.clone()));
        }
        let prefix = full;
        if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            let mut hits = st.images.values().filter(|r| !r.retained && r.id.hex().starts_with(prefix));
            if let (Some(rec), None) = (hits.next(), hits.next()) {
                return Ok(Resolved::Id(rec.id.clone()));
            }
        }
        Err(match &reference {
            Some(r) => not_found(r),
            None => ImageError::NotFound(name.to_owned()),
        })
    }

    /// Resolves a name or ID to an image.
    pub fn resolve(&self, name: &str) -> Result<Image, ImageError> {
        let st = self.lock();
        let id = Self::lookup(&st, name)?.id().clone();
        Ok(Self::image_of(&st, &st.images[&id]))
    }

    fn image_of(st: &State, rec: &Record) -> Image {
        let (repo_tags, repo_digests) = familiar_refs(&st.refs_of(&rec.id));
        Image {
            id: rec.id.clone(),
            repo_tags,
            repo_digests,
            size: rec.size,
            created: rec.config.created_time(),
            config: rec.config.clone(),
            chain_ids: rec.layers.iter().map(|l| l.chain_id.clone()).collect(),
            manifest: rec.manifest.clone(),
            recorded: config::parse_time(&rec.recorded),
        }
    }

    /// All images, newest first (as the Docker daemon sorts them).
    pub fn list(&self) -> Vec<ImageSummary> {
        let st = self.lock();
        let mut out: Vec<ImageSummary> = st
            .images
            .values()
            .filter(|r| !r.retained)
            .map(|rec| {
                let (repo_tags, repo_digests) = familiar_refs(&st.refs_of(&rec.id));
                ImageSummary {
                    id: rec.id.clone(),
                    repo_tags,
                    repo_digests,
                    created: rec.config.created_time().map_or(0, |t| t.timestamp()),
                    size: rec.size,
                    labels: rec.config.labels(),
                }
            })
            .collect();
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// `docker history`: one entry per config history item, newest first; non-empty entries
    /// get the size of their layer; the top entry carries the image ID and tags.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryEntry>, ImageError> {
        let st = self.lock();
        let id = Self::lookup(&st, name)?.id().clone();
        let rec = &st.images[&id];
        let mut out = Vec::with_capacity(rec.config.history.len());
        let mut layer = 0;
        for h in &rec.config.history {
            let mut size = 0;
            if !h.empty_layer {
                // Docker refuses configs with more non-empty steps than layers; we show 0.
                size = rec.layers.get(layer).map_or(0, |l| l.size);
                layer += 1;
            }
            out.push(HistoryEntry {
                id: None,
                created: h.created.as_deref().and_then(config::parse_time).map_or(0, |t| t.timestamp()),
                created_by: h.created_by.clone().unwrap_or_default(),
                tags: Vec::new(),
                size,
                comment: h.comment.clone().unwrap_or_default(),
            });
        }
        out.reverse();
        if let Some(top) = out.first_mut() {
            top.id = Some(id.clone());
            top.tags = familiar_refs(&st.refs_of(&id)).0;
        }
        Ok(out)
    }

    /// `docker tag source target`: points `target` (`repo[:tag]`, default tag `latest`) at the image;
    /// an existing tag moves.
    pub fn tag(&self, source: &str, target: &str) -> Result<Reference, ImageError> {
        let r = parse_tag_target(target)?;
        let mut st = self.lock();
        let id = Self::lookup(&st, source)?.id().clone();
        self.update_refs(&mut st, |refs| refs.insert(r.clone(), id))?;
        Ok(r)
    }

    /// The diff dirs of an image's layers, bottom layer first (overlayfs wants `lowerdir`
    /// top first: reverse this). Works for retained images too, by full ID.
    pub fn layers(&self, id: &Digest) -> Result<Vec<PathBuf>, ImageError> {
        let st = self.lock();
        let rec = st.images.get(id).ok_or_else(|| ImageError::NotFound(id.to_string()))?;
        Ok(rec.layers.iter().map(|l| self.layers.diff_dir(&l.chain_id)).collect())
    }

    /// Changes the references: `f` edits a copy, which is written to disk and only then
    /// replaces the references in memory, so a failed write changes nothing. Called with the
    /// lock held, so writes happen in mutation order.
    pub(crate) fn update_refs<T>(
        &self,
        st: &mut State,
        f: impl FnOnce(&mut BTreeMap<Reference, Digest>) -> T,
    ) -> Result<T, ImageError> {
        let mut refs = st.refs.clone();
        let out = f(&mut refs);
        let file = RefsFile { version: VERSION, refs: refs.iter().map(|(r, d)| (r.to_string(), d.clone())).collect() };
        let bytes = serde_json::to_vec_pretty(&file).expect("references serialise");
        durable::write_atomic(&self.refs_path, &bytes).map_err(ImageError::io("write", &self.refs_path))?;
        st.refs = refs;
        Ok(out)
    }

    fn record_path(&self, id: &Digest) -> PathBuf {
        self.images_dir.join(format!("{}.json", id.hex()))
    }

    /// Writes a record (the commit point of a load or import) and points `tags` at it.
    /// Returns the tags that moved away from another image, with that image's ID.
    pub(crate) fn commit(&self, rec: Record, tags: &[Reference]) -> Result<Vec<(Reference, Digest)>, ImageError> {
        let bytes = serde_json::to_vec_pretty(&rec).expect("image records serialise");
        let path = self.record_path(&rec.id);
        let mut st = self.lock();
        sys::failpoint::hit("image:before-record");
        durable::write_atomic(&path, &bytes).map_err(ImageError::io("write", &path))?;
        sys::failpoint::hit("image:record-written");
        let id = rec.id.clone();
        st.images.insert(id.clone(), Arc::new(rec));
        if tags.is_empty() {
            return Ok(Vec::new());
        }
        self.update_refs(&mut st, |refs| {
            tags.iter()
                .filter_map(|t| {
                    refs.insert(t.clone(), id.clone()).filter(|prev| *prev != id).map(|prev| (t.clone(), prev))
                })
                .collect()
        })
    }

    /// Deletes a record file and forgets the image (or marks it retained).
    pub(crate) fn drop_record(&self, st: &mut State, id: &Digest, retain: bool) -> Result<(), ImageError> {
        if retain {
            if let Some(rec) = st.images.get(id) {
                let mut rec = Record::clone(rec);
                rec.retained = true;
                let path = self.record_path(id);
                let bytes = serde_json::to_vec_pretty(&rec).expect("image records serialise");
                durable::write_atomic(&path, &bytes).map_err(ImageError::io("write", &path))?;
                st.images.insert(id.clone(), Arc::new(rec));
            }
            return Ok(());
        }
        let path = self.record_path(id);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ImageError::io("remove", &path)(e)),
        }
        st.images.remove(id);
        Ok(())
    }

    /// Whether `id` is an image kept only for the containers that use it (removed or replaced
    /// by a tag while in use).
    pub fn is_retained(&self, id: &Digest) -> bool {
        self.lock().images.get(id).is_some_and(|r| r.retained)
    }

    /// Drops retained images that `in_use` no longer reports, then removes the layers and blobs
    /// no image (visible or retained) and no in-flight load uses. Does nothing (and reads no
    /// directory) when no retained image is released: removing and pruning images collect on
    /// their own. The engine calls it after removing a container. `in_use` is called with the
    /// store's lock held: it must not call back into the store.
    pub fn gc(&self, in_use: &dyn Fn(&Digest) -> Option<ContainerUse>) -> Result<GcReport, ImageError> {
        let (report, detached) = {
            let mut st = self.lock();
            let stale: Vec<Digest> =
                st.images.values().filter(|r| r.retained && in_use(&r.id).is_none()).map(|r| r.id.clone()).collect();
            if stale.is_empty() {
                // Nothing became unreferenced since the last collection.
                return Ok(GcReport::default());
            }
            for id in stale {
                self.drop_record(&mut st, &id, false)?;
            }
            self.gc_locked(&st)?
        };
        self.purge(&detached)?;
        Ok(report)
    }

    /// Garbage collection with the lock held: unreferenced blobs are unlinked and layers are
    /// renamed away (a concurrent load then sees them missing and unpacks them again). The
    /// detached layer trees are returned for [`purge`](Self::purge) after the lock is released.
    pub(crate) fn gc_locked(&self, st: &State) -> Result<(GcReport, Vec<PathBuf>), ImageError> {
        let used = in_use(st);
        let mut report = GcReport::default();
        let mut detached = Vec::new();
        for chain in self.layers.list()? {
            if used.contains(&chain) {
                continue;
            }
            let size = self.layers.meta(&chain).ok().flatten().map_or(0, |m| m.size);
            if let Some(tmp) = self.layers.detach(&chain)? {
                report.reclaimed += size;
                report.layers.push(chain);
                detached.push(tmp);
            }
        }
        for blob in self.content.list()? {
            if !used.contains(&blob) {
                self.content.delete(&blob)?;
                report.blobs.push(blob);
            }
        }
        Ok((report, detached))
    }

    /// Ends a load's or an import's lease and removes what it held that no image uses and no
    /// other lease holds: the blobs and layers a refused archive left, and the parts of an
    /// accepted one no image needs (attestations, other platforms' manifests). Every removal is
    /// tried; the first error is returned.
    pub(crate) fn release(&self, mut lease: Lease<'_>) -> Result<(), ImageError> {
        let mut held = std::mem::take(&mut lease.held);
        let (result, detached) = {
            let mut st = self.lock();
            for d in &held {
                if let Some(n) = st.leases.get_mut(d) {
                    *n -= 1;
                    if *n == 0 {
                        st.leases.remove(d);
                    }
                }
            }
            held.sort();
            held.dedup();
            let used = in_use(&st);
            let mut result = Ok(());
            let mut detached = Vec::new();
            for d in held.iter().filter(|d| !used.contains(d)) {
                let done = self.content.delete(d).map_err(ImageError::from).and_then(|()| {
                    detached.extend(self.layers.detach(d)?);
                    Ok(())
                });
                if result.is_ok() {
                    result = done;
                }
            }
            (result, detached)
        };
        let purged = self.purge(&detached);
        result.and(purged)
    }

    /// Deletes detached layer trees (without the lock: no one can see them any more).
    pub(crate) fn purge(&self, detached: &[PathBuf]) -> Result<(), ImageError> {
        for d in detached {
            self.layers.purge(d)?;
        }
        Ok(())
    }
}

/// Familiar tag and digest strings of a set of references.
pub(crate) fn familiar_refs(refs: &[Reference]) -> (Vec<String>, Vec<String>) {
    let mut tags = Vec::new();
    let mut digests = Vec::new();
    for r in refs {
        if r.digest().is_some() {
            digests.push(format!("{}@{}", r.familiar_repository(), r.digest().expect("checked above")));
        } else {
            tags.push(r.familiar());
        }
    }
    (tags, digests)
}

/// Parses the target of `docker tag` with Docker's refusals.
pub(crate) fn parse_tag_target(target: &str) -> Result<Reference, ImageError> {
    let r = Reference::parse(target)?;
    if r.digest().is_some() {
        return Err(ImageError::TagWithDigest);
    }
    if r.familiar_repository() == "sha256" {
        return Err(ImageError::TagAmbiguous);
    }
    let last = r.path().rsplit('/').next().unwrap_or_default();
    if Digest::from_hex(last).is_ok() && r.path().strip_prefix("library/") == Some(last) {
        return Err(ImageError::HexRepository(last.to_owned()));
    }
    Ok(r)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
