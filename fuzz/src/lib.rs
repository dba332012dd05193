//! The checks behind berth's fuzz targets, one module per target (`fuzz_targets/*.rs` only call
//! `run`). Every target checks properties, not only "no panic": a property that doesn't hold
//! panics, which libFuzzer reports as a crash with the input. See ARCHITECTURE.md ("Fuzzing").
#![forbid(unsafe_code)]

pub mod api;
pub mod cron;
pub mod dns;
pub mod load;
pub mod supervisor;
pub mod unpack;

use std::path::PathBuf;

/// Where targets make their temp directories: `/dev/shm` (tmpfs: no disk I/O, cheap fsync) when
/// it exists, else the temp dir.
pub fn scratch() -> tempfile::TempDir {
    let shm = PathBuf::from("/dev/shm");
    let base = if shm.is_dir() { shm } else { std::env::temp_dir() };
    tempfile::Builder::new().prefix("berth-fuzz-").tempdir_in(base).expect("a scratch directory")
}

/// Rewrites the checksum of every header of the tar stream in `data`, following the framing (a
/// header, then its data rounded up to 512 bytes), so that mutated headers are parsed instead of
/// refused at the checksum. PAX size overrides and GNU sparse extension blocks are not followed:
/// after those the fixup may miss headers, which only makes such inputs less deep.
pub fn fix_tar_checksums(data: &mut [u8]) {
    let mut pos = 0usize;
    while let Some(block) = data.get_mut(pos..pos.saturating_add(512)) {
        if block.iter().all(|&b| b == 0) {
            break;
        }
        block[148..156].fill(b' ');
        let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let mut h = tar::Header::new_old();
        h.as_mut_bytes().copy_from_slice(block);
        let Some(size) = h.entry_size().ok().and_then(|s| s.checked_add(511)).and_then(|s| usize::try_from(s).ok())
        else {
            break;
        };
        pos = pos.saturating_add(512).saturating_add(size & !511);
    }
}

/// A few option bits for targets whose input is a file format: taken from the input's length,
/// so that seeds stay plain files.
pub fn options(data: &[u8]) -> usize {
    data.len() % 8
}
