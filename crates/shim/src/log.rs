//! The container log file: what the shim writes and the daemon reads for `logs`.
//!
//! A sequence of records, each a 14-byte header and the payload:
//!
//! | bytes | field |
//! |-------|-------|
//! | 1     | stream: 1 stdout, 2 stderr |
//! | 1     | flags: bit 0 = partial (the line continues in the next record of this stream) |
//! | 4     | payload length, little endian |
//! | 8     | timestamp, nanoseconds since the epoch, little endian |
//! | len   | payload: one line including its `\n`, or a piece of a longer or unfinished line |
//!
//! Binary rather than Docker's JSON lines: writing needs no escaping (the shim's hot path) and
//! reading needs no parsing; concatenating the payloads of one stream gives back its bytes.
//! Records are appended with one `write(2)` per batch, so a reader never sees a torn header
//! unless the writer died mid-write; a torn tail is ignored by [`Reader`].

use std::io::{self, Read, Write};

/// Standard output.
pub const STDOUT: u8 = 1;
/// Standard error.
pub const STDERR: u8 = 2;
/// Header size.
pub const HEADER: usize = 14;
const FLAG_PARTIAL: u8 = 1;
/// Longest payload of one record; longer lines are split into partial records.
pub const MAX_RECORD: usize = 16 * 1024;

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// [`STDOUT`] or [`STDERR`].
    pub stream: u8,
    /// The line continues in the next record.
    pub partial: bool,
    /// Nanoseconds since the epoch.
    pub time_ns: i64,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Appends the records for `data` (split at newlines and at [`MAX_RECORD`]) to `out`.
pub fn encode(out: &mut Vec<u8>, stream: u8, time_ns: i64, data: &[u8]) {
    let mut rest = data;
    while !rest.is_empty() {
        let line_end = rest.iter().position(|&b| b == b'\n').map(|i| i + 1);
        let (n, partial) = match line_end {
            Some(e) if e <= MAX_RECORD => (e, false),
            _ => (rest.len().min(MAX_RECORD), true),
        };
        out.push(stream);
        out.push(if partial { FLAG_PARTIAL } else { 0 });
        out.extend_from_slice(&u32::try_from(n).expect("n <= MAX_RECORD").to_le_bytes());
        out.extend_from_slice(&time_ns.to_le_bytes());
        out.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
    }
}

/// Appends records to a log file with one write per batch.
#[derive(Debug)]
pub struct Writer<W> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Wraps an append-mode file.
    pub fn new(out: W) -> Self {
        Self { out, buf: Vec::with_capacity(64 * 1024) }
    }

    /// Logs `data` from `stream` at `time_ns`.
    pub fn log(&mut self, stream: u8, time_ns: i64, data: &[u8]) -> io::Result<()> {
        self.buf.clear();
        encode(&mut self.buf, stream, time_ns, data);
        self.out.write_all(&self.buf)
    }
}

/// Reads records; stops cleanly at a torn or missing tail (a file still being written).
#[derive(Debug)]
pub struct Reader<R> {
    inp: R,
    /// Bytes consumed by whole records.
    pub offset: u64,
}

impl<R: Read> Reader<R> {
    /// Reads from the start of `inp` (or wherever it is positioned; set `offset` to match).
    pub fn new(inp: R) -> Self {
        Self { inp, offset: 0 }
    }

    /// The next whole record, or None at the (current) end.
    pub fn next_record(&mut self) -> io::Result<Option<Record>> {
        let mut h = [0u8; HEADER];
        if !read_full(&mut self.inp, &mut h)? {
            return Ok(None);
        }
        let len = u32::from_le_bytes([h[2], h[3], h[4], h[5]]) as usize;
        if len > MAX_RECORD || !(h[0] == STDOUT || h[0] == STDERR) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("corrupt log record at offset {}", self.offset),
            ));
        }
        let mut data = vec![0u8; len];
        if !read_full(&mut self.inp, &mut data)? {
            return Ok(None);
        }
        self.offset += (HEADER + len) as u64;
        let mut t = [0u8; 8];
        t.copy_from_slice(&h[6..14]);
        Ok(Some(Record { stream: h[0], partial: h[1] & FLAG_PARTIAL != 0, time_ns: i64::from_le_bytes(t), data }))
    }
}

/// Fills `buf`; false when the input ended first (a torn tail counts as the end).
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_lines_and_partials() {
        let mut buf = Vec::new();
        encode(&mut buf, STDOUT, 5, b"a\nbb\nccc");
        encode(&mut buf, STDERR, 6, b"err\n");
        let big = vec![b'x'; MAX_RECORD + 10];
        encode(&mut buf, STDOUT, 7, &big);
        let mut r = Reader::new(&buf[..]);
        let mut recs = Vec::new();
        while let Some(x) = r.next_record().unwrap() {
            recs.push(x);
        }
        assert_eq!(recs.len(), 6);
        assert_eq!(recs[0].data, b"a\n");
        assert!(!recs[0].partial);
        assert_eq!(recs[2].data, b"ccc");
        assert!(recs[2].partial);
        assert_eq!(recs[3].stream, STDERR);
        assert_eq!(recs[4].data.len(), MAX_RECORD);
        assert!(recs[4].partial);
        assert_eq!(recs[5].data.len(), 10);
        assert_eq!(r.offset, buf.len() as u64);
    }

    #[test]
    fn torn_tail_is_the_end() {
        let mut buf = Vec::new();
        encode(&mut buf, STDOUT, 1, b"one\n");
        encode(&mut buf, STDOUT, 2, b"two\n");
        buf.truncate(buf.len() - 2);
        let mut r = Reader::new(&buf[..]);
        assert!(r.next_record().unwrap().is_some());
        assert!(r.next_record().unwrap().is_none());
        assert_eq!(r.offset, (HEADER + 4) as u64);
    }
}
