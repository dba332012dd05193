//! Stream plumbing for layers: compression detected by magic bytes (not by media type, which
//! is often wrong in the wild), a reader that hashes what passes through it, and a reader that
//! copies what it reads into a blob file (the "tee" that lets import and load write the blob,
//! hash it and unpack it in a single pass over a non-seekable stream).

use std::io::{self, BufReader, Chain, Cursor, Read, Write};

use oci::Digest;
use sha2::{Digest as _, Sha256};

/// Read buffer for compressed input.
pub(crate) const READ_BUFFER: usize = 1 << 20;

/// How a layer stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Detects the compression from the first bytes of a stream.
    pub(crate) fn detect(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }

    /// The OCI media type of a layer with this compression.
    pub(crate) fn layer_media_type(self) -> &'static str {
        match self {
            Self::None => oci::media::OCI_LAYER_TAR,
            Self::Gzip => oci::media::OCI_LAYER_GZIP,
            Self::Zstd => oci::media::OCI_LAYER_ZSTD,
        }
    }
}

/// Whether `head` (at least 262 bytes of an uncompressed stream) looks like a tar header.
pub(crate) fn looks_like_tar(head: &[u8]) -> bool {
    head.len() >= 262 && (&head[257..262] == b"ustar")
}

/// A stream with its first bytes read ahead.
pub(crate) type Peeked<R> = Chain<Cursor<Vec<u8>>, R>;

/// Reads up to `n` bytes ahead (fewer only at end of stream) and returns them together with a
/// reader that still yields the whole stream.
pub(crate) fn peek<R: Read>(mut r: R, n: usize) -> io::Result<(Vec<u8>, Peeked<R>)> {
    let mut head = vec![0; n];
    let mut got = 0;
    while got < n {
        match r.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(got);
    Ok((head.clone(), Cursor::new(head).chain(r)))
}

/// Detects the compression of `r` and returns a reader of the decompressed stream.
pub(crate) fn decompress<'a, R: Read + 'a>(r: R) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let (head, r) = peek(r, 4)?;
    let c = Compression::detect(&head);
    let out: Box<dyn Read + 'a> = match c {
        Compression::None => Box::new(r),
        // Go's gzip reader (and so Docker) accepts concatenated members; so do we.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(READ_BUFFER, r))),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(READ_BUFFER, r))?)
        }
    };
    Ok((c, out))
}

/// Hashes and counts everything read through it.
#[derive(Debug)]
pub(crate) struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> HashReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self { inner, hasher: Sha256::new(), len: 0 }
    }

    /// Reads the rest of the stream (tar readers stop at the end-of-archive marker, but the
    /// digest covers every byte) and returns the digest, the length and the inner reader.
    pub(crate) fn finish(mut self) -> io::Result<(Digest, u64, R)> {
        drain(&mut self)?;
        let hex = hex::encode(self.hasher.finalize());
        let d = Digest::from_hex(&hex).expect("sha256 output is 64 lowercase hex digits");
        Ok((d, self.len, self.inner))
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// Copies everything read through it into `sink` (a blob writer).
#[derive(Debug)]
pub(crate) struct TeeReader<R, W> {
    inner: R,
    sink: W,
}

impl<R: Read, W: Write> TeeReader<R, W> {
    pub(crate) fn new(inner: R, sink: W) -> Self {
        Self { inner, sink }
    }

    /// The sink (drain the input first to copy all of it).
    pub(crate) fn into_sink(self) -> W {
        self.sink
    }
}

impl<R: Read, W: Write> Read for TeeReader<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sink.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Reads `r` to its end, discarding the data.
pub(crate) fn drain(r: &mut impl Read) -> io::Result<u64> {
    let mut buf = vec![0; 256 << 10];
    let mut total = 0;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(c: Compression, data: &[u8]) {
        let compressed = match c {
            Compression::None => data.to_vec(),
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(data, 1).unwrap(),
        };
        let (got, mut r) = decompress(&compressed[..]).unwrap();
        assert_eq!(got, c);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn detects_and_decompresses() {
        let data = b"some layer bytes".repeat(1000);
        roundtrip(Compression::None, &data);
        roundtrip(Compression::Gzip, &data);
        roundtrip(Compression::Zstd, &data);
        roundtrip(Compression::None, b"");
    }

    #[test]
    fn hash_and_tee() {
        let data = b"0123456789".repeat(100);
        let tee = TeeReader::new(&data[..], Vec::new());
        let mut h = HashReader::new(tee);
        let mut first = [0; 10];
        h.read_exact(&mut first).unwrap();
        let (d, len, mut tee) = h.finish().unwrap();
        assert_eq!((d, len), (Digest::of(&data), 1000));
        drain(&mut tee).unwrap();
        assert_eq!(tee.into_sink(), data);
    }
}
