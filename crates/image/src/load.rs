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
use std::io::{BufReader, Read};

use chrono::{SecondsFormat, Utc};
use oci::{Digest, Reference};

use crate::archive::{self, Descriptor, DockerManifest, Index, Manifest, Sniff};
use crate::compress::{self, Compression};
use crate::config::ImageConfig;
use crate::error::ImageError;
use crate::layer::{LayerMeta, Unpacked, chain_ids};
use crate::store::{ImageStore, Lease, Record, RecordLayer};

/// Largest archive file (other than layers) kept in memory: JSON documents are small.
const MAX_MEMORY_FILE: u64 = 64 << 20;
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

/// What the streaming pass collected.
#[derive(Default)]
struct Collected {
    /// Small files, by archive path.
    files: HashMap<String, Vec<u8>>,
    /// Files stored as blobs, by archive path.
    blobs: HashMap<String, Digest>,
    /// Symlinks in the archive (legacy duplicate layers), path → target path.
    links: HashMap<String, String>,
    /// Layers unpacked while streaming, by blob digest.
    staged: HashMap<Digest, Unpacked>,
    /// Layer blobs whose uncompressed digest has been checked, blob digest → diff ID.
    verified: HashMap<Digest, Digest>,
}

/// An image found in the archive's table of contents.
struct Candidate {
    config: Vec<u8>,
    layers: Vec<LayerRef>,
    tags: Vec<Reference>,
    /// The archive's own OCI manifest, when there is one and it is self-consistent.
    manifest: Option<Vec<u8>>,
}

struct LayerRef {
    blob: Digest,
    media_type: Option<String>,
    /// For error messages: the archive path or digest.
    name: String,
}

impl ImageStore {
    /// Loads every image of an archive. Loading the same archive twice is idempotent.
    pub fn load(&self, r: impl Read) -> Result<Vec<LoadedImage>, ImageError> {
        let mut lease = self.lease();
        let mut c = self.collect(r, &mut lease)?;
        let candidates = if c.files.contains_key("manifest.json") {
            self.candidates_from_docker_manifest(&c)?
        } else if c.files.contains_key("index.json") {
            self.candidates_from_oci_index(&c)?
        } else {
            return Err(ImageError::NoManifest);
        };
        let mut out = Vec::with_capacity(candidates.len());
        for cand in candidates {
            out.push(self.install(cand, &mut c, &mut lease)?);
        }
        Ok(out)
    }

    /// The streaming pass over the archive.
    fn collect(&self, r: impl Read, lease: &mut Lease<'_>) -> Result<Collected, ImageError> {
        let mut c = Collected::default();
        let mut archive = tar::Archive::new(BufReader::with_capacity(compress::READ_BUFFER, r));
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
        } else if size <= MAX_MEMORY_FILE {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            reader.read_to_end(&mut bytes).map_err(ImageError::CorruptArchive)?;
            if let Some(d) = expected {
                let actual = Digest::of(&bytes);
                if actual != d {
                    return Err(crate::content::ContentError::DigestMismatch { expected: d, actual }.into());
                }
                self.content.put(&bytes)?;
                c.blobs.insert(path.clone(), d);
            }
            c.files.insert(path, bytes);
        } else if expected.is_some() {
            let mut writer = self.content.writer()?;
            std::io::copy(&mut reader, &mut writer).map_err(ImageError::CorruptArchive)?;
            let (d, _) = writer.commit(expected.as_ref(), &mut |d| lease.hold(d))?;
            c.blobs.insert(path, d);
        }
        Ok(())
    }

    /// A small file of the archive, by path: in memory, or a stored blob.
    fn file(&self, c: &Collected, path: &str) -> Result<Vec<u8>, ImageError> {
        let path = follow(c, path);
        if let Some(b) = c.files.get(path) {
            return Ok(b.clone());
        }
        match c.blobs.get(path) {
            Some(d) => Ok(self.content.read(d)?),
            None => Err(ImageError::MissingFile(path.to_owned())),
        }
    }

    fn candidates_from_docker_manifest(&self, c: &Collected) -> Result<Vec<Candidate>, ImageError> {
        let entries: Vec<DockerManifest> = serde_json::from_slice(&c.files["manifest.json"])
            .map_err(|source| ImageError::ArchiveJson { file: "manifest.json".into(), source })?;
        let mut out = Vec::new();
        for e in entries {
            let config = self.file(c, &e.config)?;
            let mut layers = Vec::new();
            for l in &e.layers {
                let target = follow(c, l);
                let blob = c.blobs.get(target).ok_or_else(|| ImageError::MissingFile(l.clone()))?;
                layers.push(LayerRef { blob: blob.clone(), media_type: None, name: l.clone() });
            }
            let tags = e.repo_tags.iter().map(|t| Reference::parse(t)).collect::<Result<Vec<_>, _>>()?;
            out.push(Candidate { config, layers, tags, manifest: None });
        }
        Ok(out)
    }

    fn candidates_from_oci_index(&self, c: &Collected) -> Result<Vec<Candidate>, ImageError> {
        let index: Index = serde_json::from_slice(&c.files["index.json"])
            .map_err(|source| ImageError::ArchiveJson { file: "index.json".into(), source })?;
        let mut out: Vec<Candidate> = Vec::new();
        for desc in &index.manifests {
            let Some((manifest_bytes, manifest)) = self.manifest_for(c, desc, 0)? else {
                continue;
            };
            let tags: Vec<Reference> = name_of(desc).into_iter().collect();
            if let Some(existing) = out.iter_mut().find(|x| x.manifest.as_ref() == Some(&manifest_bytes)) {
                existing.tags.extend(tags);
                continue;
            }
            let config = self.file(c, &archive::blob_path(&manifest.config.digest))?;
            let layers = manifest
                .layers
                .iter()
                .map(|l| LayerRef {
                    blob: l.digest.clone(),
                    media_type: Some(l.media_type.clone()),
                    name: l.digest.to_string(),
                })
                .collect();
            out.push(Candidate { config, layers, tags, manifest: Some(manifest_bytes) });
        }
        Ok(out)
    }

    /// The image manifest a descriptor leads to, choosing linux/amd64 in indexes. `None` for
    /// descriptors that are not images (attestations, other artifacts).
    fn manifest_for(
        &self,
        c: &Collected,
        desc: &Descriptor,
        depth: usize,
    ) -> Result<Option<(Vec<u8>, Manifest)>, ImageError> {
        if depth > MAX_DEPTH {
            return Err(ImageError::MediaType(desc.media_type.clone()));
        }
        let bytes = self.file(c, &archive::blob_path(&desc.digest))?;
        let json_err = |source| ImageError::ArchiveJson { file: desc.digest.to_string(), source };
        let sniff: Sniff = serde_json::from_slice(&bytes).map_err(json_err)?;
        let media = sniff.media_type.clone().unwrap_or_else(|| desc.media_type.clone());
        let is_index =
            media == oci::media::OCI_INDEX || media == oci::media::DOCKER_MANIFEST_LIST || sniff.manifests.is_some();
        if is_index {
            let index: Index = serde_json::from_slice(&bytes).map_err(json_err)?;
            let pick = index.manifests.iter().find(|m| {
                m.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
                    && m.annotations.get("vnd.docker.reference.type").is_none_or(|t| t != "attestation-manifest")
            });
            let pick = match (pick, index.manifests.as_slice()) {
                (Some(p), _) => p,
                (None, [only]) if only.platform.is_none() => only,
                _ => return Err(ImageError::NoPlatform),
            };
            return self.manifest_for(c, pick, depth + 1);
        }
        if media != oci::media::OCI_MANIFEST && media != oci::media::DOCKER_MANIFEST {
            return Ok(None);
        }
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(json_err)?;
        Ok(Some((bytes, manifest)))
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
