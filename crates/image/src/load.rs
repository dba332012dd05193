//! `docker load`: reads an image archive from a (possibly non-seekable) stream.
//!
//! Accepted layouts:
//! - legacy `docker save`: `manifest.json` (`Config`, `RepoTags`, `Layers`), `<id>.json`
//!   configs, `<id>/layer.tar` layers (duplicates as symlinks), `repositories` (ignored);
//! - Docker 25+ `docker save`: an OCI image layout plus `manifest.json` (whose paths point
//!   into `blobs/sha256/`); `manifest.json` is used;
//! - plain OCI image layouts: `index.json` → manifest (or a nested index, from which the
//!   linux/amd64 manifest is picked). Names come from `io.containerd.image.name`, else from
//!   `org.opencontainers.image.ref.name` when it is a full reference (it has `:` or `/`; a bare
//!   tag such as `latest` names no repository, so the image is loaded untagged).
//!
//! The archive is read once. The table of contents usually comes last, so every entry that
//! looks like a layer (compressed, or a tar) is unpacked speculatively while it streams into
//! the content store; once the manifests are known, staged layers are renamed into place
//! under their chain IDs. A blob that is already stored is skipped, and its layer, if
//! missing, is unpacked from the stored blob.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{BufReader, Read};

use chrono::{SecondsFormat, Utc};
use oci::{Digest, Reference};

use crate::archive::{self, Descriptor, DockerManifest, Index, Manifest, Sniff};
use crate::compress::{self, Compression};
use crate::config::ImageConfig;
use crate::error::ImageError;
use crate::layer::{LayerMeta, Unpacked, chain_ids};
use crate::store::{ImageStore, Lease, Record, RecordLayer};
use crate::targuard::TarGuard;

/// Largest metadata document read into memory: `manifest.json`, `index.json`, an OCI manifest or
/// index, an image config. Registries refuse manifests over 4 MiB; configs are a few KiB, a few
/// MiB for images with very long histories. Twice the registries' cap leaves room for both.
pub(crate) const MAX_DOCUMENT: u64 = 8 << 20;
/// Most memory the table of contents of one archive may take while it streams: the non-layer
/// files kept (legacy `<id>.json` configs, `manifest.json`, `repositories`) and a charge per
/// entry for its path. A `docker save` of hundreds of images needs a few MiB.
pub(crate) const MAX_CONTENTS: u64 = 32 << 20;
/// What remembering one archive entry costs besides its path (map entry, `String`, digest).
const ENTRY_COST: u64 = 128;
/// How deep nested indexes and archive symlinks may go.
const MAX_DEPTH: usize = 8;

/// One image of a loaded archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// The image ID.
    pub id: Digest,
    /// The tags the archive gave it.
    pub tags: Vec<Reference>,
    /// Tags that moved here from another image (tag, that image's ID).
    pub replaced: Vec<(Reference, Digest)>,
}

impl LoadedImage {
    /// Docker's output lines for this image.
    pub fn messages(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .replaced
            .iter()
            .map(|(r, old)| {
                format!("The image {} already exists, renaming the old one with ID {old} to empty string", r.familiar())
            })
            .collect();
        if self.tags.is_empty() {
            out.push(format!("Loaded image ID: {}", self.id));
        }
        out.extend(self.tags.iter().map(|t| format!("Loaded image: {}", t.familiar())));
        out
    }
}

/// What the streaming pass collected. Only small metadata files stay in memory; every blob and
/// layer is on disk, and everything here is charged against [`MAX_CONTENTS`].
#[derive(Default)]
struct Collected {
    /// Metadata files that are not blobs (`manifest.json`, legacy configs), by archive path.
    files: HashMap<String, Vec<u8>>,
    /// Files stored as blobs, by archive path.
    blobs: HashMap<String, Digest>,
    /// Symlinks in the archive (legacy duplicate layers), path → target path.
    links: HashMap<String, String>,
    /// Layers unpacked while streaming, by blob digest.
    staged: HashMap<Digest, Unpacked>,
    /// Layer blobs whose uncompressed digest has been checked, blob digest → diff ID.
    verified: HashMap<Digest, Digest>,
    /// Bytes charged so far.
    used: u64,
}

impl Collected {
    /// Charges remembering `path` and `bytes` more; refuses past [`MAX_CONTENTS`].
    fn charge(&mut self, path: &str, bytes: u64) -> Result<(), ImageError> {
        self.used = self.used.saturating_add(ENTRY_COST + path.len() as u64).saturating_add(bytes);
        if self.used > MAX_CONTENTS {
            return Err(ImageError::ArchiveTooLarge { entry: path.to_owned(), limit: MAX_CONTENTS });
        }
        Ok(())
    }
}

/// An image found in the archive's table of contents; its config is read when it is installed.
struct Candidate {
    config: Vec<u8>,
    layers: Vec<LayerRef>,
    tags: Vec<Reference>,
    /// The archive's own OCI manifest, when there is one.
    manifest: Option<Vec<u8>>,
}

struct LayerRef {
    blob: Digest,
    media_type: Option<String>,
    /// For error messages: the archive path or digest.
    name: String,
}

impl ImageStore {
    /// Loads every image of an archive. Loading the same archive twice is idempotent. Memory
    /// stays bounded whatever the archive holds (see `MAX_DOCUMENT` and `MAX_CONTENTS`), and
    /// whatever the load stored that no image uses in the end (blobs of a refused archive,
    /// attestations, other platforms' manifests) is removed before it returns.
    pub fn load(&self, r: impl Read) -> Result<Vec<LoadedImage>, ImageError> {
        let mut lease = self.lease();
        let loaded = self.load_leased(r, &mut lease);
        let cleaned = self.release(lease);
        let loaded = loaded?;
        cleaned?;
        Ok(loaded)
    }

    fn load_leased(&self, r: impl Read, lease: &mut Lease<'_>) -> Result<Vec<LoadedImage>, ImageError> {
        let mut c = self.collect(r, lease)?;
        let mut out: Vec<LoadedImage> = Vec::new();
        let mut add = |l: LoadedImage| match out.iter_mut().find(|x| x.id == l.id) {
            Some(x) => {
                for t in l.tags {
                    if !x.tags.contains(&t) {
                        x.tags.push(t);
                    }
                }
                x.replaced.extend(l.replaced);
            }
            None => out.push(l),
        };
        if has(&c, "manifest.json") {
            let bytes = self.file(&c, "manifest.json")?;
            let entries: Vec<DockerManifest> = serde_json::from_slice(&bytes)
                .map_err(|source| ImageError::ArchiveJson { file: "manifest.json".into(), source })?;
            drop(bytes);
            for e in entries {
                let cand = self.docker_candidate(&c, &e)?;
                add(self.install(cand, &mut c, lease)?);
            }
        } else if has(&c, "index.json") {
            let bytes = self.file(&c, "index.json")?;
            let index: Index = serde_json::from_slice(&bytes)
                .map_err(|source| ImageError::ArchiveJson { file: "index.json".into(), source })?;
            drop(bytes);
            // One image per distinct descriptor, with the names of every entry naming it.
            let mut groups: Vec<(Descriptor, Vec<Reference>)> = Vec::new();
            let mut seen: HashMap<Digest, usize> = HashMap::new();
            for desc in index.manifests {
                let tags = name_of(&desc).into_iter();
                match seen.entry(desc.digest.clone()) {
                    Entry::Occupied(i) => groups[*i.get()].1.extend(tags),
                    Entry::Vacant(v) => {
                        v.insert(groups.len());
                        groups.push((desc, tags.collect()));
                    }
                }
            }
            for (desc, tags) in groups {
                let Some((manifest_bytes, manifest)) = self.manifest_for(&c, &desc)? else {
                    continue;
                };
                let config = self.blob(&c, &manifest.config.digest)?;
                let layers = manifest
                    .layers
                    .iter()
                    .map(|l| LayerRef {
                        blob: l.digest.clone(),
                        media_type: Some(l.media_type.clone()),
                        name: l.digest.to_string(),
                    })
                    .collect();
                let cand = Candidate { config, layers, tags, manifest: Some(manifest_bytes) };
                add(self.install(cand, &mut c, lease)?);
            }
        } else {
            return Err(ImageError::NoManifest);
        }
        Ok(out)
    }

    /// The streaming pass over the archive.
    fn collect(&self, r: impl Read, lease: &mut Lease<'_>) -> Result<Collected, ImageError> {
        let mut c = Collected::default();
        let mut archive = tar::Archive::new(TarGuard::new(BufReader::with_capacity(compress::READ_BUFFER, r)));
        for entry in archive.entries().map_err(ImageError::CorruptArchive)? {
            let mut entry = entry.map_err(ImageError::CorruptArchive)?;
            let Some(path) = archive_path(&entry.path_bytes()) else {
                continue;
            };
            match entry.header().entry_type() {
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    if let Some(target) = entry.link_name_bytes() {
                        let is_symlink = entry.header().entry_type() == tar::EntryType::Symlink;
                        let base = if is_symlink { path.rsplit_once('/').map_or("", |(d, _)| d) } else { "" };
                        if let Some(t) = archive_path(format!("{base}/{}", String::from_utf8_lossy(&target)).as_bytes())
                        {
                            c.charge(&path, t.len() as u64)?;
                            c.links.insert(path, t);
                        }
                    }
                }
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    self.collect_file(&mut c, path, &mut entry, lease)?;
                }
                _ => {}
            }
        }
        Ok(c)
    }

    /// One regular file of the archive: a layer (unpacked and stored while it streams), a blob
    /// (stored), or a metadata file (kept in memory, at most [`MAX_DOCUMENT`] bytes).
    fn collect_file<R: Read>(
        &self,
        c: &mut Collected,
        path: String,
        entry: &mut tar::Entry<'_, R>,
        lease: &mut Lease<'_>,
    ) -> Result<(), ImageError> {
        let expected = archive::digest_of_path(&path);
        if let Some(d) = &expected {
            lease.hold(d);
            if self.content.exists(d) {
                c.charge(&path, 0)?;
                c.blobs.insert(path, d.clone());
                return Ok(());
            }
        }
        let size = entry.size();
        let (head, mut reader) = compress::peek(entry, 512).map_err(ImageError::CorruptArchive)?;
        let layer_like = path.ends_with("/layer.tar")
            || Compression::detect(&head) != Compression::None
            || compress::looks_like_tar(&head);
        if layer_like {
            c.charge(&path, 0)?;
            let writer = self.content.writer()?;
            let u = self.layers.stage()?.unpack(&mut reader, Some((writer, expected.as_ref())), &mut |d| lease.hold(d));
            let u = match u {
                Ok(u) => u,
                // A truncated outer archive shows up as a truncated layer.
                Err(crate::layer::LayerError::Read(e)) => {
                    return Err(ImageError::CorruptArchive(e));
                }
                Err(e) => return Err(e.into()),
            };
            let (digest, _) = u.blob.clone().expect("layers stream into a blob");
            c.blobs.insert(path, digest.clone());
            c.staged.insert(digest, u);
        } else if let Some(d) = expected {
            // Any blob of an OCI layout (configs, manifests, but also attestations and other
            // artifacts of any size) goes to disk; the ones an image needs are read back.
            c.charge(&path, 0)?;
            let mut writer = self.content.writer()?;
            std::io::copy(&mut reader, &mut writer).map_err(ImageError::CorruptArchive)?;
            let (d, _) = writer.commit(Some(&d), &mut |d| lease.hold(d))?;
            c.blobs.insert(path, d);
        } else if size > MAX_DOCUMENT {
            // Not a layer, not a blob: it can only be metadata, and it is too large for that.
            return Err(ImageError::NotMetadata { entry: path, size, limit: MAX_DOCUMENT });
        } else {
            c.charge(&path, size)?;
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            reader.take(MAX_DOCUMENT).read_to_end(&mut bytes).map_err(ImageError::CorruptArchive)?;
            c.files.insert(path, bytes);
        }
        Ok(())
    }

    /// A metadata file of the archive, by path: kept in memory, or a stored blob read back (at
    /// most [`MAX_DOCUMENT`] bytes).
    fn file(&self, c: &Collected, path: &str) -> Result<Vec<u8>, ImageError> {
        let path = follow(c, path);
        if let Some(b) = c.files.get(path) {
            return Ok(b.clone());
        }
        let Some(d) = c.blobs.get(path) else { return Err(ImageError::MissingFile(path.to_owned())) };
        let size = self.content.size(d)?;
        if size > MAX_DOCUMENT {
            return Err(ImageError::NotMetadata { entry: path.to_owned(), size, limit: MAX_DOCUMENT });
        }
        Ok(self.content.read(d)?)
    }

    /// A metadata blob of an OCI layout by digest, checked against it.
    fn blob(&self, c: &Collected, d: &Digest) -> Result<Vec<u8>, ImageError> {
        let bytes = self.file(c, &archive::blob_path(d))?;
        let actual = Digest::of(&bytes);
        if &actual != d {
            return Err(crate::content::ContentError::DigestMismatch { expected: d.clone(), actual }.into());
        }
        Ok(bytes)
    }

    /// An entry of `manifest.json` as an image to install.
    fn docker_candidate(&self, c: &Collected, e: &DockerManifest) -> Result<Candidate, ImageError> {
        let mut layers = Vec::with_capacity(e.layers.len().min(1024));
        for l in &e.layers {
            let target = follow(c, l);
            let blob = c.blobs.get(target).ok_or_else(|| ImageError::MissingFile(l.clone()))?;
            layers.push(LayerRef { blob: blob.clone(), media_type: None, name: l.clone() });
        }
        let tags = e.repo_tags.iter().map(|t| Reference::parse(t)).collect::<Result<Vec<_>, _>>()?;
        let config = self.file(c, &e.config)?;
        Ok(Candidate { config, layers, tags, manifest: None })
    }

    /// The image manifest a descriptor leads to, choosing linux/amd64 in indexes. `None` for
    /// descriptors that are not images (attestations, other artifacts). One document at a time
    /// is in memory.
    fn manifest_for(&self, c: &Collected, desc: &Descriptor) -> Result<Option<(Vec<u8>, Manifest)>, ImageError> {
        let mut desc = desc.clone();
        for _ in 0..=MAX_DEPTH {
            let bytes = self.blob(c, &desc.digest)?;
            let json_err = |source| ImageError::ArchiveJson { file: desc.digest.to_string(), source };
            let sniff: Sniff = serde_json::from_slice(&bytes).map_err(json_err)?;
            let media = sniff.media_type.clone().unwrap_or_else(|| desc.media_type.clone());
            let is_index = media == oci::media::OCI_INDEX
                || media == oci::media::DOCKER_MANIFEST_LIST
                || sniff.manifests.is_some();
            if is_index {
                let index: Index = serde_json::from_slice(&bytes).map_err(json_err)?;
                let pick = index.manifests.iter().find(|m| {
                    m.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
                        && m.annotations.get("vnd.docker.reference.type").is_none_or(|t| t != "attestation-manifest")
                });
                desc = match (pick, index.manifests.as_slice()) {
                    (Some(p), _) => p.clone(),
                    (None, [only]) if only.platform.is_none() => only.clone(),
                    _ => return Err(ImageError::NoPlatform),
                };
                continue;
            }
            if media != oci::media::OCI_MANIFEST && media != oci::media::DOCKER_MANIFEST {
                return Ok(None);
            }
            let manifest: Manifest = serde_json::from_slice(&bytes).map_err(json_err)?;
            return Ok(Some((bytes, manifest)));
        }
        Err(ImageError::MediaType(desc.media_type))
    }

    /// Stores one image: config, layers (staged or unpacked from their blobs), manifest, then
    /// the record and its tags.
    fn install(&self, cand: Candidate, c: &mut Collected, lease: &mut Lease<'_>) -> Result<LoadedImage, ImageError> {
        let id = Digest::of(&cand.config);
        let config: ImageConfig = serde_json::from_slice(&cand.config)
            .map_err(|source| ImageError::ArchiveJson { file: id.to_string(), source })?;
        let diff_ids = &config.rootfs.diff_ids;
        if diff_ids.len() != cand.layers.len() {
            return Err(ImageError::LayerCount { config: id, expected: diff_ids.len(), actual: cand.layers.len() });
        }
        lease.hold(&id);
        self.content.put(&cand.config)?;
        let chains = chain_ids(diff_ids);
        let mut layers = Vec::with_capacity(chains.len());
        for (i, l) in cand.layers.iter().enumerate() {
            lease.hold(&chains[i]);
            let parent = i.checked_sub(1).map(|p| &chains[p]);
            let mut media_type = l.media_type.clone();
            let staged = c.staged.remove(&l.blob);
            let check = |actual: Digest| {
                if actual == diff_ids[i] {
                    Ok(())
                } else {
                    Err(ImageError::DiffIdMismatch { layer: l.name.clone(), expected: diff_ids[i].clone(), actual })
                }
            };
            let meta = match self.layers.meta(&chains[i])? {
                // The layer is stored already; the archive's blob must still be that layer, as
                // the record will name it (and `save` export it).
                Some(m) => {
                    let actual = match (staged, c.verified.get(&l.blob)) {
                        (Some(u), _) => {
                            media_type.get_or_insert_with(|| u.compression.layer_media_type().to_owned());
                            u.diff_id
                        }
                        (None, Some(d)) => d.clone(),
                        (None, None) => self.blob_diff_id(&l.blob)?,
                    };
                    check(actual)?;
                    m
                }
                None => {
                    let unpacked = match staged {
                        Some(u) => u,
                        None => {
                            let file = self.content.open_blob(&l.blob)?;
                            self.layers.stage()?.unpack(
                                BufReader::with_capacity(compress::READ_BUFFER, file),
                                None,
                                &mut |_| {},
                            )?
                        }
                    };
                    media_type.get_or_insert_with(|| unpacked.compression.layer_media_type().to_owned());
                    check(unpacked.diff_id)?;
                    let meta = LayerMeta {
                        version: 1,
                        chain_id: chains[i].clone(),
                        diff_id: diff_ids[i].clone(),
                        parent: parent.cloned(),
                        size: unpacked.size,
                    };
                    unpacked.staged.commit(&meta)?;
                    meta
                }
            };
            c.verified.insert(l.blob.clone(), diff_ids[i].clone());
            let media_type = match media_type {
                Some(m) => m,
                None => self.sniff_media_type(&l.blob)?,
            };
            let blob = Descriptor::new(&media_type, l.blob.clone(), self.content.size(&l.blob)?);
            layers.push(RecordLayer {
                chain_id: chains[i].clone(),
                diff_id: diff_ids[i].clone(),
                blob,
                size: meta.size,
            });
        }
        let manifest_bytes = match cand.manifest {
            Some(m) => m,
            None => {
                let m = Manifest {
                    schema_version: 2,
                    media_type: Some(oci::media::OCI_MANIFEST.into()),
                    config: Descriptor::new(oci::media::OCI_CONFIG, id.clone(), cand.config.len() as u64),
                    layers: layers.iter().map(|l| l.blob.clone()).collect(),
                };
                serde_json::to_vec(&m).expect("manifests serialise")
            }
        };
        let manifest = Digest::of(&manifest_bytes);
        lease.hold(&manifest);
        self.content.put(&manifest_bytes)?;
        let record = Record {
            version: 1,
            id: id.clone(),
            manifest,
            size: layers.iter().map(|l| l.size).sum(),
            layers,
            recorded: Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true),
            retained: false,
            config,
        };
        let replaced = self.commit(record, &cand.tags)?;
        tracing::debug!(image = %id, tags = cand.tags.len(), "loaded image");
        Ok(LoadedImage { id, tags: cand.tags, replaced })
    }

    /// The OCI layer media type of a stored blob, from its magic bytes.
    /// The digest of a stored layer blob's uncompressed tar.
    fn blob_diff_id(&self, blob: &Digest) -> Result<Digest, ImageError> {
        let path = self.content.path(blob);
        let file = self.content.open_blob(blob)?;
        let (_, r) = compress::decompress(BufReader::with_capacity(compress::READ_BUFFER, file))
            .map_err(ImageError::io("read", &path))?;
        let (diff_id, _, _) = compress::HashReader::new(r).finish().map_err(ImageError::io("read", &path))?;
        Ok(diff_id)
    }

    fn sniff_media_type(&self, blob: &Digest) -> Result<String, ImageError> {
        let mut head = [0u8; 4];
        let mut f = self.content.open_blob(blob)?;
        let n = f.read(&mut head).map_err(ImageError::io("read", self.content.path(blob)))?;
        Ok(Compression::detect(&head[..n]).layer_media_type().to_owned())
    }
}

/// Normalises an archive path (`./a/../b` → `b`); `None` for the root or paths that climb
/// above it, which can never be looked up.
fn archive_path(raw: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(raw);
    let mut parts: Vec<&str> = Vec::new();
    for p in s.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// Whether the archive has the file `path` (in memory or as a blob).
fn has(c: &Collected, path: &str) -> bool {
    let path = follow(c, path);
    c.files.contains_key(path) || c.blobs.contains_key(path)
}

/// Follows archive symlinks (legacy saves link duplicate layers).
fn follow<'a>(c: &'a Collected, mut path: &'a str) -> &'a str {
    for _ in 0..MAX_DEPTH {
        match c.links.get(path) {
            Some(t) => path = t,
            None => break,
        }
    }
    path
}

/// The image name an index entry carries.
fn name_of(desc: &Descriptor) -> Option<Reference> {
    if let Some(n) = desc.annotations.get(oci::media::ANNOTATION_CONTAINERD_NAME) {
        return Reference::parse(n).ok().filter(|r| r.tag().is_some());
    }
    let n = desc.annotations.get(oci::media::ANNOTATION_REF_NAME)?;
    if n.contains(':') || n.contains('/') {
        return Reference::parse(n).ok().filter(|r| r.tag().is_some());
    }
    None
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
