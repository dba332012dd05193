//! A guard between a tar stream and the `tar` crate: it follows the stream's framing as the crate
//! will read it and fails the read before the crate buffers an entry without bound.
//!
//! The `tar` crate (0.4) reads a GNU long name or long link (`L`, `K`) and a PAX extended header
//! (`x`) whole into memory, however large its header says it is, and turns every block of a GNU
//! sparse map, through any number of extension headers, into a list entry. A few bytes of header
//! could so make it allocate as much as the stream holds (gigabytes for a crafted `docker load`,
//! `docker import` or layer). The guard knows where every header is, exactly as the crate does:
//! entry sizes rounded up to 512-byte blocks, a PAX `size` record overriding the size of the next
//! entry that is not itself an extension, GNU sparse extension blocks right after a sparse header,
//! and the end at the first all-zero block. It refuses
//! - `L`, `K` and `x` entries larger than [`MAX_EXTENSION`] (1 MiB; Linux paths are at most
//!   4 KiB and xattr values at most 64 KiB, so no real header comes near it), and
//! - sparse files with more than [`MAX_SPARSE_EXTENSIONS`] extension blocks (21 extents each).
//!
//! It never changes a byte: what passes is what the crate would have read. A stream the crate
//! will refuse anyway (bad checksum, unparsable size) is passed on unchecked from there.

use std::fmt;
use std::io::{self, Read};

const BLOCK: usize = 512;
/// Largest GNU long name, long link or PAX extended header accepted.
pub(crate) const MAX_EXTENSION: u64 = 1 << 20;
/// Most GNU sparse extension blocks of one entry (each maps 21 extents; 4096 blocks are 86016
/// extents, 2 MiB of headers).
pub(crate) const MAX_SPARSE_EXTENSIONS: u32 = 4096;

/// Why the guard stopped a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TarLimit {
    /// An `L`, `K` or `x` entry over [`MAX_EXTENSION`].
    Extension {
        /// Offset of its header in the tar stream.
        offset: u64,
        /// What it is.
        kind: &'static str,
        /// Its size.
        size: u64,
    },
    /// A sparse file with too many extension blocks.
    SparseMap {
        /// Offset of its header.
        offset: u64,
    },
}

impl fmt::Display for TarLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Extension { offset, kind, size } => write!(
                f,
                "tar entry at byte {offset}: a {kind} of {size} bytes (at most {} KiB are accepted)",
                MAX_EXTENSION >> 10
            ),
            Self::SparseMap { offset } => write!(
                f,
                "tar entry at byte {offset}: a sparse file map of more than {MAX_SPARSE_EXTENSIONS} extension headers"
            ),
        }
    }
}

impl std::error::Error for TarLimit {}

enum State {
    /// Reading a header block (`have` bytes of it so far).
    Header { block: Box<[u8; BLOCK]>, have: usize },
    /// Passing `left` bytes of entry data and padding, then a header.
    Skip { left: u64 },
    /// Collecting a PAX header's `size` bytes (then `pad` bytes of padding).
    Pax { data: Vec<u8>, size: usize, pad: u64 },
    /// Reading GNU sparse extension blocks; then `data` bytes of entry data and padding.
    Sparse { block: Box<[u8; BLOCK]>, have: usize, count: u32, data: u64, offset: u64 },
    /// Past the end of the archive, or past something the `tar` crate refuses by itself.
    Done,
    /// A limit was hit: every further read fails.
    Failed(TarLimit),
}

/// See the module docs. Wrap the stream handed to `tar::Archive::new` in it.
pub(crate) struct TarGuard<R> {
    inner: R,
    /// Bytes passed so far.
    pos: u64,
    state: State,
    /// A pending PAX header (and its `size` record) for the next entry.
    pax: Option<Option<u64>>,
}

impl<R: Read> TarGuard<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self { inner, pos: 0, state: header(), pax: None }
    }

    /// Follows `bytes` (the next bytes of the stream) through the framing.
    fn observe(&mut self, mut bytes: &[u8]) -> Result<(), TarLimit> {
        while !bytes.is_empty() {
            let taken = match &mut self.state {
                State::Done => return Ok(()),
                State::Failed(e) => return Err(e.clone()),
                State::Skip { left } => {
                    let n = usize::try_from(*left).unwrap_or(usize::MAX).min(bytes.len());
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = header();
                    }
                    n
                }
                State::Header { block, have } => {
                    let n = (BLOCK - *have).min(bytes.len());
                    block[*have..*have + n].copy_from_slice(&bytes[..n]);
                    *have += n;
                    if *have == BLOCK {
                        let offset = self.pos + n as u64 - BLOCK as u64;
                        let block = std::mem::replace(block, Box::new([0; BLOCK]));
                        self.state = self.next_state(&block, offset)?;
                    }
                    n
                }
                State::Pax { data, size, pad } => {
                    let n = (*size - data.len()).min(bytes.len());
                    data.extend_from_slice(&bytes[..n]);
                    if data.len() == *size {
                        self.pax = Some(pax_size(data));
                        self.state = skip(*pad);
                    }
                    n
                }
                State::Sparse { block, have, count, data, offset } => {
                    let n = (BLOCK - *have).min(bytes.len());
                    block[*have..*have + n].copy_from_slice(&bytes[..n]);
                    *have += n;
                    if *have == BLOCK {
                        *have = 0;
                        *count += 1;
                        // `GnuExtSparseHeader::is_extended`: byte 504.
                        if block[504] != 1 {
                            self.state = skip(*data);
                        } else if *count >= MAX_SPARSE_EXTENSIONS {
                            let e = TarLimit::SparseMap { offset: *offset };
                            self.state = State::Failed(e.clone());
                            return Err(e);
                        }
                    }
                    n
                }
            };
            self.pos += taken as u64;
            bytes = &bytes[taken..];
        }
        Ok(())
    }

    /// What follows the header `block` at `offset`, as the `tar` crate reads it.
    fn next_state(&mut self, block: &[u8; BLOCK], offset: u64) -> Result<State, TarLimit> {
        if block.iter().all(|&b| b == 0) {
            return Ok(State::Done);
        }
        let mut h = tar::Header::new_old();
        h.as_mut_bytes().copy_from_slice(block);
        let sum = block[..148].iter().chain(&block[156..]).map(|&b| u32::from(b)).sum::<u32>() + 8 * 32;
        if h.cksum().ok() != Some(sum) {
            return Ok(State::Done);
        }
        let ty = h.entry_type();
        let is_extension = ty.is_gnu_longname()
            || ty.is_gnu_longlink()
            || ty.is_pax_local_extensions()
            || ty.is_pax_global_extensions();
        let Ok(mut size) = h.entry_size() else { return Ok(State::Done) };
        if !is_extension && let Some(Some(s)) = self.pax {
            size = s;
        }
        let Some(padded) = size.checked_add(BLOCK as u64 - 1).map(|s| s & !(BLOCK as u64 - 1)) else {
            return Ok(State::Done);
        };
        let recognized = h.as_gnu().is_some() || h.as_ustar().is_some();
        let kind = match ty {
            _ if !recognized => None,
            t if t.is_gnu_longname() => Some("GNU long name"),
            t if t.is_gnu_longlink() => Some("GNU long link name"),
            t if t.is_pax_local_extensions() => Some("PAX extended header"),
            _ => None,
        };
        if let Some(kind) = kind {
            // The crate reads these whole into memory and goes on to the next header.
            if size > MAX_EXTENSION {
                let e = TarLimit::Extension { offset, kind, size };
                self.state = State::Failed(e.clone());
                return Err(e);
            }
            if ty.is_pax_local_extensions() {
                let size = usize::try_from(size).expect("at most MAX_EXTENSION");
                if size > 0 {
                    return Ok(State::Pax { data: Vec::with_capacity(size), size, pad: padded - size as u64 });
                }
                self.pax = Some(None);
            }
            return Ok(skip(padded));
        }
        // An entry the crate hands out: the pending PAX header was its own.
        self.pax = None;
        if ty.is_gnu_sparse() && h.as_gnu().is_some_and(tar::GnuHeader::is_extended) {
            return Ok(State::Sparse { block: Box::new([0; BLOCK]), have: 0, count: 0, data: padded, offset });
        }
        Ok(skip(padded))
    }
}

fn header() -> State {
    State::Header { block: Box::new([0; BLOCK]), have: 0 }
}

fn skip(left: u64) -> State {
    if left == 0 { header() } else { State::Skip { left } }
}

/// The `size` record of a PAX header, read as the `tar` crate reads it (the first `size` record;
/// a malformed record before it ends the search).
fn pax_size(data: &[u8]) -> Option<u64> {
    for ext in tar::PaxExtensions::new(data) {
        let ext = ext.ok()?;
        if ext.key() != Ok("size") {
            continue;
        }
        return ext.value().ok()?.parse().ok();
    }
    None
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let State::Failed(e) = &self.state {
            return Err(io::Error::new(io::ErrorKind::InvalidData, e.clone()));
        }
        let n = self.inner.read(buf)?;
        self.observe(&buf[..n]).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header block of `kind` with `size` and `name`, checksummed.
    fn block(kind: u8, size: u64, name: &str) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_path(name).unwrap();
        h.set_size(size);
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_mode(0o644);
        h.set_cksum();
        h.as_bytes().to_vec()
    }

    fn padded(mut v: Vec<u8>) -> Vec<u8> {
        v.resize(v.len().div_ceil(BLOCK) * BLOCK, 0);
        v
    }

    /// Reads `data` through the guard into the `tar` crate; the names of the entries, or the error.
    fn entries(data: &[u8]) -> Result<Vec<String>, String> {
        let mut a = tar::Archive::new(TarGuard::new(data));
        let mut names = Vec::new();
        for e in a.entries().map_err(|e| e.to_string())? {
            let e = e.map_err(|e| e.to_string())?;
            names.push(String::from_utf8_lossy(&e.path_bytes()).into_owned());
        }
        Ok(names)
    }

    #[test]
    fn passes_ordinary_archives() {
        let mut b = tar::Builder::new(Vec::new());
        let long = "d/".repeat(100) + "file";
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        b.append_data(&mut h, &long, &b"abc"[..]).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(600);
        b.append_data(&mut h, "big", &[7u8; 600][..]).unwrap();
        b.append_pax_extensions([("SCHILY.xattr.user.x", &b"1"[..])]).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(0);
        b.append_data(&mut h, "after-pax", &b""[..]).unwrap();
        let data = b.into_inner().unwrap();
        assert_eq!(entries(&data).unwrap(), [long, "big".into(), "after-pax".into()]);
    }

    #[test]
    fn refuses_huge_long_names_and_pax_headers() {
        for (kind, what) in [(b'L', "GNU long name"), (b'K', "GNU long link name"), (b'x', "PAX extended header")] {
            // The header claims 1 GiB; the stream holds 2 MiB of it: the crate would read it all.
            let mut data = block(kind, 1 << 30, "././@LongLink");
            data.extend(vec![b'a'; 2 << 20]);
            let err = entries(&data).unwrap_err();
            assert!(err.contains(what) && err.contains("1073741824 bytes") && err.contains("at byte 0"), "{err}");
        }
        // At the limit it passes.
        let mut data = block(b'L', MAX_EXTENSION, "././@LongLink");
        data.extend(padded(vec![b'n'; MAX_EXTENSION as usize]));
        data.extend(block(b'0', 0, "short"));
        assert_eq!(entries(&data).unwrap()[0].len(), MAX_EXTENSION as usize);
    }

    #[test]
    fn follows_pax_size_overrides() {
        // A PAX `size` record makes the next entry 1024 bytes long although its header says 0: a
        // guard that believed the header would take the file's data for a header.
        let record = b"13 size=1024\n";
        let mut data = block(b'x', record.len() as u64, "pax");
        data.extend(padded(record.to_vec()));
        data.extend(block(b'0', 0, "file"));
        let mut content = block(b'L', 1 << 30, "looks-like-a-header");
        content.resize(1024, 0);
        data.extend(content);
        data.extend(block(b'0', 0, "next"));
        assert_eq!(entries(&data).unwrap(), ["file", "next"]);
    }

    #[test]
    fn refuses_endless_sparse_maps() {
        let mut h = block(b'S', 0, "sparse");
        h[482] = 1; // isextended
        // Real size 0, no extents; then extension blocks that all say "more follows".
        h[483..495].copy_from_slice(b"00000000000\0");
        let mut h2 = tar::Header::new_old();
        h2.as_mut_bytes().copy_from_slice(&h);
        h2.set_cksum();
        let mut data = h2.as_bytes().to_vec();
        let mut ext = [0u8; BLOCK];
        ext[504] = 1;
        for _ in 0..MAX_SPARSE_EXTENSIONS + 10 {
            data.extend_from_slice(&ext);
        }
        let err = entries(&data).unwrap_err();
        assert!(err.contains("sparse file map"), "{err}");
    }

    #[test]
    fn any_chunking_gives_the_same_answer() {
        let mut data = block(b'L', 5000, "x");
        data.extend(padded(vec![b'n'; 5000]));
        data.extend(block(b'0', 3, "y"));
        data.extend(padded(b"abc".to_vec()));
        data.extend(block(b'x', 1 << 21, "z"));
        for chunk in [1, 7, 511, 512, 513, 4096] {
            let mut g = TarGuard::new(&data[..]);
            let mut buf = vec![0; chunk];
            let err = loop {
                match g.read(&mut buf) {
                    Ok(0) => panic!("chunk {chunk}: no error"),
                    Ok(_) => {}
                    Err(e) => break e.to_string(),
                }
            };
            assert!(err.contains(&format!("at byte {}", 512 + 5120 + 512 + 512)), "chunk {chunk}: {err}");
        }
    }
}
