//! Content-addressed blobs under `blobs/sha256/<hex>`.
//!
//! A blob is written to a `.tmp-*` file in the same directory while its digest is computed,
//! checked against the digest the caller expected (if any), fsynced and renamed into place. A
//! mismatch removes the temp file. Existing blobs are never rewritten: same name, same bytes.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use oci::{Digest, Sha256Writer};

use crate::durable;

/// Buffer size for blob writes: few, large `write(2)` calls.
const WRITE_BUFFER: usize = 1 << 20;

/// Why a blob could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The bytes did not hash to the digest they were announced with.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The announced digest.
        expected: Digest,
        /// The digest of what was received.
        actual: Digest,
    },
    /// A blob the caller needs is not in the store.
    #[error("blob {0} not found in the content store")]
    Missing(Digest),
    /// A filesystem operation failed.
    #[error("failed to {op} blob file {path}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl ContentError {
    fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| Self::Io { op, path: path.to_owned(), source }
    }
}

/// The blob directory.
#[derive(Debug)]
pub(crate) struct ContentStore {
    dir: PathBuf,
}

impl ContentStore {
    /// Opens (creating) `<root>/blobs/sha256` and removes temp leftovers.
    pub(crate) fn open(root: &Path) -> Result<Self, ContentError> {
        let dir = root.join("blobs").join("sha256");
        fs::create_dir_all(&dir).map_err(ContentError::io("create", &dir))?;
        durable::remove_leftovers(&dir).map_err(ContentError::io("clean up", &dir))?;
        Ok(Self { dir })
    }

    /// Where the blob lives (whether or not it exists).
    pub(crate) fn path(&self, d: &Digest) -> PathBuf {
        self.dir.join(d.hex())
    }

    pub(crate) fn exists(&self, d: &Digest) -> bool {
        self.path(d).is_file()
    }

    /// The size of a stored blob.
    pub(crate) fn size(&self, d: &Digest) -> Result<u64, ContentError> {
        match fs::metadata(self.path(d)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ContentError::Missing(d.clone())),
            Err(e) => Err(ContentError::Io { op: "stat", path: self.path(d), source: e }),
        }
    }

    pub(crate) fn open_blob(&self, d: &Digest) -> Result<File, ContentError> {
        let path = self.path(d);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ContentError::Missing(d.clone()),
            _ => ContentError::Io { op: "open", path, source: e },
        })
    }

    /// Reads a whole (small) blob and checks its digest: blobs on disk are trusted for layers
    /// (re-hashing gigabytes on every use would be too slow) but configs and manifests are cheap.
    pub(crate) fn read(&self, d: &Digest) -> Result<Vec<u8>, ContentError> {
        let mut bytes = Vec::new();
        let path = self.path(d);
        self.open_blob(d)?.read_to_end(&mut bytes).map_err(ContentError::io("read", &path))?;
        let actual = Digest::of(&bytes);
        if &actual != d {
            return Err(ContentError::DigestMismatch { expected: d.clone(), actual });
        }
        Ok(bytes)
    }

    /// Stores `bytes`, returning their digest.
    pub(crate) fn put(&self, bytes: &[u8]) -> Result<Digest, ContentError> {
        let d = Digest::of(bytes);
        if self.exists(&d) {
            return Ok(d);
        }
        let mut w = self.writer()?;
        w.write_all(bytes).map_err(ContentError::io("write", &w.tmp))?;
        w.commit(Some(&d), &mut |_| {})?;
        Ok(d)
    }

    /// A writer for a new blob; call [`BlobWriter::commit`] to keep it.
    pub(crate) fn writer(&self) -> Result<BlobWriter, ContentError> {
        let tmp = self.dir.join(durable::temp_name("blob"));
        let file = File::create(&tmp).map_err(ContentError::io("create", &tmp))?;
        Ok(BlobWriter {
            inner: Some(Sha256Writer::new(BufWriter::with_capacity(WRITE_BUFFER, file))),
            tmp,
            dir: self.dir.clone(),
        })
    }

    /// Deletes a blob; a missing blob is not an error.
    pub(crate) fn delete(&self, d: &Digest) -> Result<(), ContentError> {
        let path = self.path(d);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ContentError::Io { op: "remove", path, source: e }),
        }
    }

    /// Every blob in the store.
    pub(crate) fn list(&self) -> Result<Vec<Digest>, ContentError> {
        let rd = fs::read_dir(&self.dir).map_err(ContentError::io("list", &self.dir))?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(ContentError::io("list", &self.dir))?;
            if let Some(d) = entry.file_name().to_str().and_then(|n| Digest::from_hex(n).ok()) {
                out.push(d);
            }
        }
        Ok(out)
    }
}

/// A blob being written: hashes while it writes; removed on drop unless committed.
#[derive(Debug)]
pub(crate) struct BlobWriter {
    inner: Option<Sha256Writer<BufWriter<File>>>,
    tmp: PathBuf,
    dir: PathBuf,
}

impl BlobWriter {
    /// Verifies against `expected` (when given), fsyncs and renames into place. Returns the
    /// digest and size. If the blob already exists the new copy is dropped. `hold` is called
    /// with the digest before the blob becomes visible (the store takes a GC lease there).
    pub(crate) fn commit(
        mut self,
        expected: Option<&Digest>,
        hold: &mut dyn FnMut(&Digest),
    ) -> Result<(Digest, u64), ContentError> {
        let inner = self.inner.take().expect("commit consumes the writer once");
        let done = self.place(inner, expected, hold);
        if done.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        done
    }

    fn place(
        &self,
        inner: Sha256Writer<BufWriter<File>>,
        expected: Option<&Digest>,
        hold: &mut dyn FnMut(&Digest),
    ) -> Result<(Digest, u64), ContentError> {
        let len = inner.len();
        let (digest, buf) = inner.finish();
        if let Some(expected) = expected
            && expected != &digest
        {
            return Err(ContentError::DigestMismatch { expected: expected.clone(), actual: digest });
        }
        hold(&digest);
        let file = buf.into_inner().map_err(|e| ContentError::Io {
            op: "write",
            path: self.tmp.clone(),
            source: e.into_error(),
        })?;
        let target = self.dir.join(digest.hex());
        if target.is_file() {
            let _ = fs::remove_file(&self.tmp);
            return Ok((digest, len));
        }
        file.sync_all().map_err(ContentError::io("fsync", &self.tmp))?;
        drop(file);
        fs::rename(&self.tmp, &target).map_err(ContentError::io("rename", &self.tmp))?;
        durable::fsync_dir(&self.dir).map_err(ContentError::io("fsync", &self.dir))?;
        Ok((digest, len))
    }
}

/// Chunk size handed to the background writer.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the unpacker and the background writer.
const CHUNKS_IN_FLIGHT: usize = 4;

impl BlobWriter {
    /// Moves the writing (and hashing) of this blob to a thread of `scope`, so it overlaps
    /// with unpacking on the caller's thread: on two cores a layer import then costs about
    /// the unpack alone. Buffers are recycled, so no memory is allocated per chunk.
    pub(crate) fn in_background<'scope>(
        mut self,
        scope: &'scope std::thread::Scope<'scope, '_>,
    ) -> BackgroundBlob<'scope> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
        let (free_tx, free_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let tmp = self.tmp.clone();
        let handle = scope.spawn(move || {
            for mut chunk in rx {
                self.write_all(&chunk)?;
                chunk.clear();
                let _ = free_tx.send(chunk);
            }
            Ok(self)
        });
        BackgroundBlob { tx: Some(tx), free: free_rx, buf: Vec::with_capacity(CHUNK), handle, tmp }
    }
}

/// A [`BlobWriter`] running on a helper thread; see [`BlobWriter::in_background`].
#[derive(Debug)]
pub(crate) struct BackgroundBlob<'scope> {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    free: std::sync::mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    handle: std::thread::ScopedJoinHandle<'scope, io::Result<BlobWriter>>,
    tmp: PathBuf,
}

impl BackgroundBlob<'_> {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self.free.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.buf, next);
        let tx = self.tx.as_ref().ok_or_else(|| io::Error::from(io::ErrorKind::BrokenPipe))?;
        // The writer thread only hangs up after a write error, which `finish` reports.
        tx.send(full).map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }

    /// Flushes the last chunk and waits for the writer thread; returns the writer, or the
    /// error that stopped it.
    pub(crate) fn finish(mut self) -> Result<BlobWriter, ContentError> {
        let sent = self.send();
        self.tx = None;
        let joined = self.handle.join().unwrap_or_else(|_| Err(io::Error::other("blob writer thread panicked")));
        let writer = joined.map_err(|source| ContentError::Io { op: "write", path: self.tmp.clone(), source })?;
        sent.map_err(|source| ContentError::Io { op: "write", path: self.tmp, source })?;
        Ok(writer)
    }
}

impl Write for BackgroundBlob<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = (CHUNK - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == CHUNK {
                self.send()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::BrokenPipe))?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::BrokenPipe))?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.inner.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_read_delete() {
        let root = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(root.path()).unwrap();
        let d = cs.put(b"hello").unwrap();
        assert_eq!(d, Digest::of(b"hello"));
        assert_eq!(cs.read(&d).unwrap(), b"hello");
        assert_eq!(cs.size(&d).unwrap(), 5);
        assert_eq!(cs.list().unwrap(), vec![d.clone()]);
        cs.delete(&d).unwrap();
        assert!(matches!(cs.read(&d), Err(ContentError::Missing(_))));
    }

    #[test]
    fn mismatch_removes_temp_file() {
        let root = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(root.path()).unwrap();
        let mut w = cs.writer().unwrap();
        w.write_all(b"actual bytes").unwrap();
        let expected = Digest::of(b"other bytes");
        let err = w.commit(Some(&expected), &mut |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&expected.to_string()) && msg.contains(&Digest::of(b"actual bytes").to_string()), "{msg}");
        assert_eq!(fs::read_dir(root.path().join("blobs/sha256")).unwrap().count(), 0);
    }

    #[test]
    fn background_writer() {
        let root = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(root.path()).unwrap();
        let data: Vec<u8> = (0..3 * CHUNK + 5).map(|i| (i % 251) as u8).collect();
        let w = std::thread::scope(|s| {
            let mut bg = cs.writer().unwrap().in_background(s);
            for piece in data.chunks(777) {
                bg.write_all(piece).unwrap();
            }
            bg.finish().unwrap()
        });
        let (d, n) = w.commit(None, &mut |_| {}).unwrap();
        assert_eq!((d, n), (Digest::of(&data), data.len() as u64));
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(root.path()).unwrap();
        let mut w = cs.writer().unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        assert_eq!(fs::read_dir(root.path().join("blobs/sha256")).unwrap().count(), 0);
    }
}
