//! Unpacked layers, one directory per chain ID, shared by every image (and, through overlayfs
//! lower dirs, by every container) that has the layer.
//!
//! ```text
//! layers/<chain-id hex>/diff         the layer's files, whiteouts in overlayfs form
//! layers/<chain-id hex>/layer.json   {"version":1,"chain_id":…,"diff_id":…,"parent":…|null,"size":…}
//! layers/.tmp-layer-*/               a layer being unpacked (removed on failure and at open)
//! ```
//!
//! A layer is unpacked into a `.tmp-*` directory next to its final place, its metadata written
//! there, the filesystem synced once (`syncfs`), and the directory renamed into place: a layer
//! directory with a `layer.json` is always complete. The chain ID follows the OCI definition:
//! `ChainID(L0) = DiffID(L0)`, `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use oci::Digest;
use serde::{Deserialize, Serialize};

use crate::compress::{self, Compression, HashReader, TeeReader};
use crate::content::{BackgroundBlob, BlobWriter, ContentError};
use crate::durable;
use crate::unpack::{self, UnpackError};

const META_FILE: &str = "layer.json";
const DIFF_DIR: &str = "diff";

/// Why a layer could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The tar was unsafe or corrupt.
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    /// Decompressing or reading the layer stream failed.
    #[error("failed to read layer stream")]
    Read(#[source] io::Error),
    /// Storing the layer blob failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// A filesystem operation failed.
    #[error("failed to {op} layer directory {path}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A `layer.json` that does not parse.
    #[error("corrupt layer metadata {path}")]
    Meta {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> LayerError + 'a {
    move |source| LayerError::Io { op, path: path.to_owned(), source }
}

/// The OCI chain ID of a layer on top of `parent`.
pub(crate) fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => Digest::of(format!("{p} {diff_id}").as_bytes()),
    }
}

/// The chain IDs of a stack of diff IDs, bottom first.
pub(crate) fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let c = chain_id(out.last(), d);
        out.push(c);
    }
    out
}

/// `layer.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LayerMeta {
    pub(crate) version: u32,
    pub(crate) chain_id: Digest,
    pub(crate) diff_id: Digest,
    pub(crate) parent: Option<Digest>,
    /// Bytes of regular file content (what `docker images` counts).
    pub(crate) size: u64,
}

/// The `layers/` directory.
#[derive(Debug)]
pub(crate) struct LayerStore {
    dir: PathBuf,
}

impl LayerStore {
    /// Opens (creating) `<root>/layers` and removes half-made layers.
    pub(crate) fn open(root: &Path) -> Result<Self, LayerError> {
        let dir = root.join("layers");
        fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        durable::remove_leftovers(&dir).map_err(io_err("clean up", &dir))?;
        Ok(Self { dir })
    }

    /// The directory holding the layer's files (an overlayfs lower dir).
    pub(crate) fn diff_dir(&self, chain: &Digest) -> PathBuf {
        self.dir.join(chain.hex()).join(DIFF_DIR)
    }

    /// The layer's metadata, if the layer is complete.
    pub(crate) fn meta(&self, chain: &Digest) -> Result<Option<LayerMeta>, LayerError> {
        let path = self.dir.join(chain.hex()).join(META_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| LayerError::Meta { path, source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LayerError::Io { op: "read", path, source: e }),
        }
    }

    /// Every complete or incomplete layer directory (not temp ones), by chain ID.
    pub(crate) fn list(&self) -> Result<Vec<Digest>, LayerError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err("list", &self.dir))? {
            let entry = entry.map_err(io_err("list", &self.dir))?;
            if let Some(d) = entry.file_name().to_str().and_then(|n| Digest::from_hex(n).ok()) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Detaches a layer: renames it to a temp name, so it vanishes at once (and a crash
    /// midway leaves only a temp directory for the next open to remove). Returns the temp
    /// path to [`purge`](Self::purge), or `None` if the layer did not exist.
    pub(crate) fn detach(&self, chain: &Digest) -> Result<Option<PathBuf>, LayerError> {
        let path = self.dir.join(chain.hex());
        let tmp = self.dir.join(durable::temp_name("gc"));
        match fs::rename(&path, &tmp) {
            Ok(()) => Ok(Some(tmp)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LayerError::Io { op: "remove", path, source: e }),
        }
    }

    /// Deletes a detached layer tree.
    pub(crate) fn purge(&self, detached: &Path) -> Result<(), LayerError> {
        fs::remove_dir_all(detached).map_err(io_err("remove", detached))
    }

    /// Removes a layer now.
    #[cfg(test)]
    pub(crate) fn remove(&self, chain: &Digest) -> Result<bool, LayerError> {
        match self.detach(chain)? {
            Some(tmp) => self.purge(&tmp).map(|()| true),
            None => Ok(false),
        }
    }

    /// A fresh temp directory to unpack one layer into.
    pub(crate) fn stage(&self) -> Result<Staged, LayerError> {
        let tmp = self.dir.join(durable::temp_name("layer"));
        let diff = tmp.join(DIFF_DIR);
        fs::create_dir_all(&diff).map_err(io_err("create", &diff))?;
        Ok(Staged { tmp, layers: self.dir.clone(), done: false })
    }
}

/// What streaming a layer produced.
#[derive(Debug)]
pub(crate) struct Unpacked {
    /// The unpacked files, not yet in place.
    pub(crate) staged: Staged,
    /// Digest of the uncompressed tar.
    pub(crate) diff_id: Digest,
    /// Regular file bytes.
    pub(crate) size: u64,
    /// The compression detected from the stream's magic bytes.
    pub(crate) compression: Compression,
    /// The blob as stored (digest and size of the raw stream), when a blob writer was given.
    pub(crate) blob: Option<(Digest, u64)>,
}

/// A layer being unpacked in a temp directory; removed on drop unless committed.
#[derive(Debug)]
pub(crate) struct Staged {
    tmp: PathBuf,
    layers: PathBuf,
    done: bool,
}

impl Staged {
    /// Streams one layer in a single pass: the raw bytes go to `blob` (the content store) while
    /// they are decompressed, hashed into the diff ID and unpacked. The streams are drained to
    /// their end so both digests cover every byte. An uncompressed stream that goes to a blob
    /// is hashed once: its blob digest is its diff ID. `hold` is called with the blob digest
    /// before the blob becomes visible.
    pub(crate) fn unpack(
        self,
        r: impl Read,
        blob: Option<(BlobWriter, Option<&Digest>)>,
        hold: &mut dyn FnMut(&Digest),
    ) -> Result<Unpacked, LayerError> {
        let (writer, expected) = match blob {
            Some((w, e)) => (Some(w), e),
            None => (None, None),
        };
        let has_blob = writer.is_some();
        let (streamed, writer) = std::thread::scope(|s| {
            let mut tee = TeeReader::new(r, OptionalSink(writer.map(|w| w.in_background(s))));
            let streamed = self.stream(&mut tee, has_blob).and_then(|x| {
                compress::drain(&mut tee).map_err(LayerError::Read)?;
                Ok(x)
            });
            // A failed blob write shows up as a read error above; report its real cause.
            let writer = tee.into_sink().0.map(BackgroundBlob::finish).transpose();
            (streamed, writer)
        });
        let writer = writer?;
        let (compression, diff_id, size) = streamed?;
        let blob = match writer {
            Some(w) => Some(w.commit(expected, hold)?),
            None => None,
        };
        let diff_id = match (diff_id, &blob) {
            (Some(d), _) => d,
            (None, Some((d, _))) => d.clone(),
            (None, None) => unreachable!("an unhashed stream always has a blob"),
        };
        Ok(Unpacked { staged: self, diff_id, size, compression, blob })
    }

    /// Decompresses, hashes (unless the blob digest will do) and unpacks.
    fn stream(&self, tee: &mut impl Read, has_blob: bool) -> Result<(Compression, Option<Digest>, u64), LayerError> {
        let (compression, decompressed) = compress::decompress(tee).map_err(LayerError::Read)?;
        if compression == Compression::None && has_blob {
            let stats = unpack::unpack_layer(&self.diff(), decompressed)?;
            return Ok((compression, None, stats.size));
        }
        let mut hashed = HashReader::new(decompressed);
        let stats = unpack::unpack_layer(&self.diff(), &mut hashed)?;
        let (diff_id, _, _) = hashed.finish().map_err(LayerError::Read)?;
        Ok((compression, Some(diff_id), stats.size))
    }

    fn diff(&self) -> PathBuf {
        self.tmp.join(DIFF_DIR)
    }

    /// Writes `layer.json`, syncs and renames the layer into place. If another thread or an
    /// earlier load already has this layer, ours is dropped: both are the same content.
    pub(crate) fn commit(mut self, meta: &LayerMeta) -> Result<(), LayerError> {
        let meta_path = self.tmp.join(META_FILE);
        let bytes = serde_json::to_vec(meta).expect("layer metadata serialises");
        fs::write(&meta_path, bytes).map_err(io_err("write", &meta_path))?;
        // One syncfs instead of an fsync per file: the layer's data must be on disk before the
        // rename makes it visible (and before an image record points at it), but per-file
        // fsyncs would cost a flush each. syncfs is one flush for the whole filesystem.
        let dir = fs::File::open(&self.tmp).map_err(io_err("open", &self.tmp))?;
        rustix::fs::syncfs(&dir).map_err(|e| LayerError::Io {
            op: "sync",
            path: self.tmp.clone(),
            source: e.into(),
        })?;
        let target = self.layers.join(meta.chain_id.hex());
        sys::failpoint::hit("image:layer-synced");
        match fs::rename(&self.tmp, &target) {
            Ok(()) => self.done = true,
            // Another unpack of the same layer won the race.
            Err(e) if target.join(META_FILE).is_file() => drop(e),
            Err(e) => {
                return Err(LayerError::Io { op: "rename", path: target, source: e });
            }
        }
        durable::fsync_dir(&self.layers).map_err(io_err("fsync", &self.layers))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// A blob writer that may be absent (unpacking a blob that is already stored).
struct OptionalSink<'scope>(Option<BackgroundBlob<'scope>>);

impl io::Write for OptionalSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.0 {
            Some(w) => w.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.0 {
            Some(w) => w.write_all(buf),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ContentStore;
    use crate::testtar::{Entry, tar_of};
    use std::io::Write;

    #[test]
    fn chain_ids_follow_oci() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let ids = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::of(format!("{a} {b}").as_bytes()));
    }

    #[test]
    fn stage_unpack_commit_and_remove() {
        let root = tempfile::tempdir().unwrap();
        let layers = LayerStore::open(root.path()).unwrap();
        let content = ContentStore::open(root.path()).unwrap();
        let tar = tar_of(&[Entry::file("hello", b"world")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let u = layers.stage().unwrap().unpack(&gz[..], Some((content.writer().unwrap(), None)), &mut |_| {}).unwrap();
        assert_eq!(u.diff_id, Digest::of(&tar));
        assert_eq!(u.compression, Compression::Gzip);
        assert_eq!(u.blob, Some((Digest::of(&gz), gz.len() as u64)));
        assert_eq!(u.size, 5);
        let meta = LayerMeta {
            version: 1,
            chain_id: u.diff_id.clone(),
            diff_id: u.diff_id.clone(),
            parent: None,
            size: u.size,
        };
        u.staged.commit(&meta).unwrap();
        assert_eq!(fs::read(layers.diff_dir(&meta.chain_id).join("hello")).unwrap(), b"world");
        assert_eq!(layers.meta(&meta.chain_id).unwrap(), Some(meta.clone()));
        assert_eq!(layers.list().unwrap(), vec![meta.chain_id.clone()]);
        assert!(layers.remove(&meta.chain_id).unwrap());
        assert!(layers.list().unwrap().is_empty());
        assert_eq!(fs::read_dir(root.path().join("layers")).unwrap().count(), 0);
    }

    #[test]
    fn failed_unpack_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let layers = LayerStore::open(root.path()).unwrap();
        let content = ContentStore::open(root.path()).unwrap();
        let tar = tar_of(&[Entry::file("ok", b"fine"), Entry::file("../evil", b"x")]);
        let err =
            layers.stage().unwrap().unpack(&tar[..], Some((content.writer().unwrap(), None)), &mut |_| {}).unwrap_err();
        assert!(matches!(err, LayerError::Unpack(UnpackError::UnsafePath { .. })), "{err}");
        assert_eq!(fs::read_dir(root.path().join("layers")).unwrap().count(), 0);
        assert_eq!(fs::read_dir(root.path().join("blobs/sha256")).unwrap().count(), 0);
    }
}
