//! `docker save`: writes images as a Docker 25+ archive, which is an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/…`) plus Docker's `manifest.json` and
//! `repositories`, so both older and newer `docker load` (and our own) accept it.
//!
//! The blobs are the ones the store kept when the image was loaded or imported, byte for
//! byte, so saving and loading again gives the same image ID and layer digests.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;

use oci::{Digest, Reference};

use crate::archive::{self, Descriptor, DockerManifest, Index, Platform};
use crate::error::ImageError;
use crate::store::{ImageStore, Record, Resolved};

/// Output buffer: the archive is streamed, possibly to a pipe.
const WRITE_BUFFER: usize = 1 << 20;

impl ImageStore {
    /// Writes the named images (names, tags or IDs) to `w`. A repository name without a tag
    /// (`busybox`) saves every tag of that repository, as Docker does; an ID saves the image
    /// without tags.
    pub fn save(&self, names: &[String], w: impl Write) -> Result<(), ImageError> {
        let mut lease = self.lease();
        let mut images: Vec<(Arc<Record>, Vec<Reference>)> = Vec::new();
        {
            let mut st = self.lock();
            for name in names {
                let mut picked: Vec<(Digest, Option<Reference>)> = Vec::new();
                if let Some(repo) = name_only(name) {
                    for (r, id) in &st.refs {
                        if r.repository() == repo.repository() && r.tag().is_some() && st.image(id).is_some() {
                            picked.push((id.clone(), Some(r.clone())));
                        }
                    }
                }
                if picked.is_empty() {
                    match ImageStore::lookup(&st, name)? {
                        Resolved::Id(id) => picked.push((id, None)),
                        Resolved::Ref(r, id) => picked.push((id, r.tag().is_some().then_some(r))),
                    }
                }
                for (id, tag) in picked {
                    let rec = Arc::clone(&st.images[&id]);
                    // Leased under the same lock, so a concurrent rmi cannot delete the blobs
                    // between this lookup and the write below.
                    for d in [&rec.id, &rec.manifest].into_iter().chain(rec.layers.iter().map(|l| &l.blob.digest)) {
                        lease.hold_in(&mut st, d);
                    }
                    match images.iter_mut().find(|(r, _)| r.id == id) {
                        Some((_, tags)) => tags.extend(tag.filter(|t| !tags.contains(t))),
                        None => images.push((rec, tag.into_iter().collect())),
                    }
                }
            }
        }
        self.write_archive(&images, w)
    }

    fn write_archive(&self, images: &[(Arc<Record>, Vec<Reference>)], w: impl Write) -> Result<(), ImageError> {
        let mut blobs: Vec<Digest> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut index =
            Index { schema_version: 2, media_type: Some(oci::media::OCI_INDEX.into()), manifests: Vec::new() };
        let mut manifest_json = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (rec, tags) in images {
            for d in std::iter::once(&rec.id).chain(rec.layers.iter().map(|l| &l.blob.digest)).chain([&rec.manifest]) {
                if seen.insert(d.clone()) {
                    blobs.push(d.clone());
                }
            }
            let manifest_size = self.content.size(&rec.manifest)?;
            let mut desc = Descriptor::new(oci::media::OCI_MANIFEST, rec.manifest.clone(), manifest_size);
            desc.platform = Some(Platform {
                architecture: rec.config.architecture.clone(),
                os: rec.config.os.clone(),
                variant: rec.config.variant.clone(),
            });
            if tags.is_empty() {
                index.manifests.push(desc.clone());
            }
            for t in tags {
                let mut d = desc.clone();
                d.annotations.insert(oci::media::ANNOTATION_CONTAINERD_NAME.into(), t.to_string());
                d.annotations.insert(oci::media::ANNOTATION_REF_NAME.into(), t.tag().unwrap_or_default().into());
                index.manifests.push(d);
                repositories.entry(t.familiar_repository()).or_default().insert(
                    t.tag().unwrap_or_default().into(),
                    rec.layers.last().map_or_else(|| rec.id.hex().to_owned(), |l| l.blob.digest.hex().to_owned()),
                );
            }
            manifest_json.push(DockerManifest {
                config: archive::blob_path(&rec.id),
                repo_tags: tags.iter().map(Reference::familiar).collect(),
                layers: rec.layers.iter().map(|l| archive::blob_path(&l.blob.digest)).collect(),
            });
        }

        let mut b = tar::Builder::new(BufWriter::with_capacity(WRITE_BUFFER, w));
        let out = ImageError::Output;
        append_dir(&mut b, "blobs/").map_err(out)?;
        append_dir(&mut b, "blobs/sha256/").map_err(out)?;
        for d in &blobs {
            let path = self.content.path(d);
            let file = self.content.open_blob(d)?;
            let size = file.metadata().map_err(ImageError::io("stat", &path))?.len();
            append_file(&mut b, &archive::blob_path(d), size, file).map_err(out)?;
        }
        append_bytes(&mut b, "index.json", &json(&index)).map_err(out)?;
        append_bytes(&mut b, "manifest.json", &json(&manifest_json)).map_err(out)?;
        append_bytes(&mut b, "oci-layout", archive::OCI_LAYOUT.as_bytes()).map_err(out)?;
        append_bytes(&mut b, "repositories", &json(&repositories)).map_err(out)?;
        let mut inner = b.into_inner().map_err(out)?;
        inner.flush().map_err(out)
    }
}

/// A name that is a repository without tag or digest (and not an ID prefix).
fn name_only(name: &str) -> Option<Reference> {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        return None;
    }
    Reference::parse(name).ok()
}

fn header(size: u64, mode: u32, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(mode);
    h.set_entry_type(kind);
    h.set_mtime(0);
    h
}

fn append_dir<W: Write>(b: &mut tar::Builder<W>, path: &str) -> io::Result<()> {
    b.append_data(&mut header(0, 0o755, tar::EntryType::Directory), path, io::empty())
}

fn append_file<W: Write>(b: &mut tar::Builder<W>, path: &str, size: u64, file: File) -> io::Result<()> {
    b.append_data(&mut header(size, 0o644, tar::EntryType::Regular), path, file)
}

fn append_bytes<W: Write>(b: &mut tar::Builder<W>, path: &str, data: &[u8]) -> io::Result<()> {
    b.append_data(&mut header(data.len() as u64, 0o644, tar::EntryType::Regular), path, data)
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("archive documents serialise")
}
