//! Test fixtures: tar streams with arbitrary (including malicious) names, built in memory.

use tar::{EntryType, Header};

/// One entry of a test tar.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    name: Vec<u8>,
    kind: EntryType,
    data: Vec<u8>,
    link: Vec<u8>,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    dev: (u32, u32),
    xattrs: Vec<(String, Vec<u8>)>,
}

impl Entry {
    fn new(name: &str, kind: EntryType, mode: u32) -> Self {
        Self {
            name: name.as_bytes().to_vec(),
            kind,
            data: Vec::new(),
            link: Vec::new(),
            mode,
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
            dev: (0, 0),
            xattrs: Vec::new(),
        }
    }

    pub(crate) fn file(name: &str, data: &[u8]) -> Self {
        Self { data: data.to_vec(), ..Self::new(name, EntryType::Regular, 0o644) }
    }

    pub(crate) fn dir(name: &str) -> Self {
        Self::new(name, EntryType::Directory, 0o755)
    }

    pub(crate) fn symlink(name: &str, target: &str) -> Self {
        Self { link: target.as_bytes().to_vec(), ..Self::new(name, EntryType::Symlink, 0o777) }
    }

    pub(crate) fn hardlink(name: &str, target: &str) -> Self {
        Self { link: target.as_bytes().to_vec(), ..Self::new(name, EntryType::Link, 0o644) }
    }

    pub(crate) fn fifo(name: &str) -> Self {
        Self::new(name, EntryType::Fifo, 0o644)
    }

    pub(crate) fn chardev(name: &str, major: u32, minor: u32) -> Self {
        Self { dev: (major, minor), ..Self::new(name, EntryType::Char, 0o644) }
    }

    pub(crate) fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    pub(crate) fn owner(mut self, uid: u64, gid: u64) -> Self {
        (self.uid, self.gid) = (uid, gid);
        self
    }

    pub(crate) fn mtime(mut self, mtime: u64) -> Self {
        self.mtime = mtime;
        self
    }

    pub(crate) fn xattr(mut self, key: &str, value: &[u8]) -> Self {
        self.xattrs.push((key.to_owned(), value.to_vec()));
        self
    }
}

/// Writes `entries` as a tar stream. Names are copied verbatim into the header (no checks), long
/// names and xattrs go into PAX records.
pub(crate) fn tar_of(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut pax: Vec<(String, Vec<u8>)> =
            e.xattrs.iter().map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.clone())).collect();
        if e.name.len() > 100 {
            pax.push(("path".into(), e.name.clone()));
        }
        if !pax.is_empty() {
            b.append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice()))).unwrap();
        }
        let mut h = Header::new_ustar();
        let name = &e.name[..e.name.len().min(100)];
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.as_old_mut().linkname[..e.link.len()].copy_from_slice(&e.link);
        h.set_entry_type(e.kind);
        h.set_mode(e.mode);
        h.set_uid(e.uid);
        h.set_gid(e.gid);
        h.set_mtime(e.mtime);
        h.set_size(e.data.len() as u64);
        if e.kind == EntryType::Char {
            h.set_device_major(e.dev.0).unwrap();
            h.set_device_minor(e.dev.1).unwrap();
        }
        h.set_cksum();
        b.append(&h, &e.data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// A tar of regular files (`(path, content)`) and, for paths starting with `@`, symlinks
/// (`("@path", target)`), as image archives contain.
pub(crate) fn archive_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let entries: Vec<Entry> = files
        .iter()
        .map(|(p, d)| match p.strip_prefix('@') {
            Some(link) => Entry::symlink(link, std::str::from_utf8(d).unwrap()),
            None => Entry::file(p, d),
        })
        .collect();
    tar_of(&entries)
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 1).unwrap()
}

/// A reader that hands out at most 7 bytes per read, like a slow pipe: no seeking, no
/// assumptions about read sizes.
pub(crate) struct Trickle<'a>(pub(crate) &'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}
