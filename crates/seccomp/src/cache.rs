//! Compile each (profile, capabilities) pair once per host: in memory, and on disk across restarts.
//!
//! Compiling Docker's default profile takes 10-20 ms; a `docker run` has about 15 ms in total. The
//! result only depends on the profile text, the container's capabilities, the kernel version (through
//! `minKernel`), the architecture and the code that compiles it, so [`Cache`] keys programs by a sha256
//! over exactly those and keeps them
//!
//! - in memory, as `Arc<Bpf>` shared by every container that uses them, and
//! - on disk as `<dir>/<key hex>.bpf`: the raw program (see [`crate::bpf`]), written to a temporary
//!   file, synced, and renamed into place, so a reader never sees a partial file.
//!
//! The key covers the crate and libseccomp versions, so an upgrade never loads an old program; stale
//! files are merely unused (nothing prunes them yet). A cache file that fails validation (empty, not a
//! whole number of instructions, too long, not ending in a return) is logged, recompiled and replaced.
//! Failing to write the cache is logged too, not returned, by [`Cache::get_or_compile`]: the program
//! is still correct, just not kept. [`Cache::program_file`], for callers that pass the program on as
//! a file, returns that error instead, and rewrites a file that went missing.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::{fmt, process};

use sha2::{Digest as _, Sha256};

use crate::bpf::Bpf;
use crate::compile::{CompileError, compile};
use crate::profile::Profile;
use crate::resolve::{CompileOptions, NATIVE_ARCH};

/// Programs kept in memory before the map is cleared. Real hosts use a handful (the default profile
/// times a few capability sets); the bound only stops a client that sends endless distinct profiles.
const MEMORY_ENTRIES: usize = 256;

/// Identifies one compiled program: sha256 over everything the program depends on.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key of `profile_json` compiled with `opts` on this host by this build.
    pub fn new(profile_json: &str, opts: &CompileOptions<'_>) -> Self {
        let mut caps: Vec<&str> = opts.caps.iter().map(String::as_str).collect();
        caps.sort_unstable();
        caps.dedup();
        let libseccomp = libseccomp::ScmpVersion::current()
            .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
            .unwrap_or_default();
        let kernel = opts.kernel.to_string();

        let mut h = Sha256::new();
        // Every field is length-prefixed, so no two inputs hash the same bytes.
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        // v2: programs are compiled as binary trees (CTL_OPTIMIZE 2).
        field(b"berth seccomp cache v2");
        field(env!("CARGO_PKG_VERSION").as_bytes());
        field(libseccomp.as_bytes());
        field(NATIVE_ARCH.as_bytes());
        field(kernel.as_bytes());
        field(&(caps.len() as u64).to_le_bytes());
        for cap in caps {
            field(cap.as_bytes());
        }
        field(profile_json.as_bytes());
        Self(h.finalize().into())
    }

    /// The key as 64 lowercase hex digits, the cache file's stem.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", self.to_hex())
    }
}

/// Where [`Cache::lookup`] found a program.
#[derive(Debug, Clone, Copy)]
enum Source {
    Memory,
    Disk,
    Compiled,
}

/// How often each path of [`Cache::get_or_compile`] was taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Served from memory.
    pub memory_hits: u64,
    /// Loaded from a cache file.
    pub disk_hits: u64,
    /// Compiled (and written to disk).
    pub compiles: u64,
}

/// Compiled seccomp programs, in memory and under one directory. Share one per daemon (it is `Sync`).
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    memory: Mutex<HashMap<CacheKey, Option<Arc<Bpf>>>>,
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    compiles: AtomicU64,
    temp_counter: AtomicU64,
}

impl Cache {
    /// A cache keeping its files in `dir` (created on the first write). Does no I/O.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            memory: Mutex::new(HashMap::new()),
            memory_hits: AtomicU64::new(0),
            disk_hits: AtomicU64::new(0),
            compiles: AtomicU64::new(0),
            temp_counter: AtomicU64::new(0),
        }
    }

    /// The directory holding the cache files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the program for `key` is stored.
    pub fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.bpf", key.to_hex()))
    }

    /// The program for `profile_json` (a profile's JSON text, e.g. [`crate::DEFAULT_PROFILE_JSON`])
    /// and `opts`: from memory, else from disk, else compiled and stored (a failed write is logged).
    /// `Ok(None)` means the profile turns seccomp off. Blocking (file I/O, and 10-20 ms of CPU on a
    /// miss): call it from a blocking context.
    pub fn get_or_compile(
        &self,
        profile_json: &str,
        opts: &CompileOptions<'_>,
    ) -> Result<Option<Arc<Bpf>>, CompileError> {
        let key = CacheKey::new(profile_json, opts);
        let path = self.path(&key);
        let (bpf, source) = self.lookup(key, &path, profile_json, opts)?;
        if let (Some(bpf), Source::Compiled) = (&bpf, source)
            && let Err(error) = self.store(&path, bpf)
        {
            tracing::warn!(path = %path.display(), %error, "cannot write seccomp program cache file");
        }
        Ok(bpf)
    }

    /// Like [`Cache::get_or_compile`], for a caller that hands the program on as a file (the
    /// container's runtime loads it from there): the path of a cache file that holds it, written
    /// again if it went missing. A file that cannot be written is an error here.
    pub fn program_file(&self, profile_json: &str, opts: &CompileOptions<'_>) -> Result<Option<PathBuf>, CompileError> {
        let key = CacheKey::new(profile_json, opts);
        let path = self.path(&key);
        let (Some(bpf), source) = self.lookup(key, &path, profile_json, opts)? else {
            return Ok(None);
        };
        let on_disk = match source {
            Source::Disk => true,
            Source::Memory => path.is_file(),
            Source::Compiled => false,
        };
        if !on_disk {
            self.store(&path, &bpf).map_err(|source| CompileError::Store { path: path.clone(), source })?;
        }
        Ok(Some(path))
    }

    /// The program from memory, else from the file at `path` (validated), else compiled.
    fn lookup(
        &self,
        key: CacheKey,
        path: &Path,
        profile_json: &str,
        opts: &CompileOptions<'_>,
    ) -> Result<(Option<Arc<Bpf>>, Source), CompileError> {
        if let Some(hit) = self.lock().get(&key) {
            self.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((hit.clone(), Source::Memory));
        }
        if let Some(bpf) = self.load(path) {
            self.disk_hits.fetch_add(1, Ordering::Relaxed);
            let bpf = Arc::new(bpf);
            self.remember(key, Some(bpf.clone()));
            return Ok((Some(bpf), Source::Disk));
        }
        // Two threads missing the same key at once both compile; the results are identical and the
        // rename makes the last write win, so that is only wasted work, not a race.
        let profile = Profile::from_json(profile_json)?;
        let compiled = compile(&profile, opts)?.map(Arc::new);
        self.compiles.fetch_add(1, Ordering::Relaxed);
        self.remember(key, compiled.clone());
        Ok((compiled, Source::Compiled))
    }

    /// Counters of hits and compiles since the cache was created.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            memory_hits: self.memory_hits.load(Ordering::Relaxed),
            disk_hits: self.disk_hits.load(Ordering::Relaxed),
            compiles: self.compiles.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Option<Arc<Bpf>>>> {
        // The map holds no invariant a panicking holder could break.
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, key: CacheKey, bpf: Option<Arc<Bpf>>) {
        let mut memory = self.lock();
        if memory.len() >= MEMORY_ENTRIES {
            memory.clear();
        }
        memory.insert(key, bpf);
    }

    /// Reads and validates a cache file; `None` (after logging why, unless it does not exist) if it
    /// cannot be used.
    fn load(&self, path: &Path) -> Option<Bpf> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read seccomp program cache file, recompiling");
                return None;
            }
        };
        match Bpf::from_bytes(bytes) {
            Ok(bpf) => Some(bpf),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "invalid seccomp program cache file, recompiling");
                None
            }
        }
    }

    /// Writes `bpf` to `path` atomically: temporary file in the same directory, fsync, rename.
    fn store(&self, path: &Path, bpf: &Bpf) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!(".{name}.{}.{n}.tmp", process::id()));
        let result = (|| {
            let mut file = fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
            file.write_all(bpf.as_bytes())?;
            file.sync_all()?;
            fs::rename(&temp, path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp); // best effort; the error that matters is `result`
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::kernel::KernelVersion;
    use crate::profile::DEFAULT_PROFILE_JSON;
    use crate::tests::default_caps;

    fn opts(caps: &[String]) -> CompileOptions<'_> {
        CompileOptions { caps, kernel: KernelVersion::new(6, 18) }
    }

    #[test]
    fn key_depends_on_inputs_but_not_cap_order() {
        let caps = default_caps();
        let mut reversed = caps.clone();
        reversed.reverse();
        reversed.push(caps[0].clone()); // duplicates do not matter either
        let base = CacheKey::new(DEFAULT_PROFILE_JSON, &opts(&caps));
        assert_eq!(base, CacheKey::new(DEFAULT_PROFILE_JSON, &opts(&reversed)));
        assert_ne!(base, CacheKey::new(DEFAULT_PROFILE_JSON, &opts(&caps[1..])));
        assert_ne!(base, CacheKey::new("{}", &opts(&caps)));
        let older = CompileOptions { caps: &caps, kernel: KernelVersion::new(4, 7) };
        assert_ne!(base, CacheKey::new(DEFAULT_PROFILE_JSON, &older));
        assert_eq!(base.to_hex().len(), 64);
    }

    #[test]
    fn compiles_once_then_hits_memory_then_disk() {
        let dir = tempfile::tempdir().unwrap();
        let caps = default_caps();
        let cache = Cache::new(dir.path().join("seccomp"));

        let start = Instant::now();
        let first = cache.get_or_compile(DEFAULT_PROFILE_JSON, &opts(&caps)).unwrap().unwrap();
        let compile_time = start.elapsed();
        assert_eq!(cache.stats(), CacheStats { memory_hits: 0, disk_hits: 0, compiles: 1 });

        let start = Instant::now();
        let second = cache.get_or_compile(DEFAULT_PROFILE_JSON, &opts(&caps)).unwrap().unwrap();
        let memory_time = start.elapsed();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(cache.stats(), CacheStats { memory_hits: 1, disk_hits: 0, compiles: 1 });

        let key = CacheKey::new(DEFAULT_PROFILE_JSON, &opts(&caps));
        assert_eq!(fs::read(cache.path(&key)).unwrap(), first.as_bytes());
        let leftovers: Vec<_> = fs::read_dir(cache.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");

        // A restarted daemon: a new cache over the same directory loads the file instead of compiling.
        let restarted = Cache::new(dir.path().join("seccomp"));
        let start = Instant::now();
        let third = restarted.get_or_compile(DEFAULT_PROFILE_JSON, &opts(&caps)).unwrap().unwrap();
        let disk_time = start.elapsed();
        assert_eq!(*third, *first);
        assert_eq!(restarted.stats(), CacheStats { memory_hits: 0, disk_hits: 1, compiles: 0 });

        println!(
            "seccomp default profile ({} instructions): compile {:.2} ms, memory hit {} µs, disk hit {} µs",
            first.len(),
            compile_time.as_secs_f64() * 1e3,
            memory_time.as_micros(),
            disk_time.as_micros()
        );
    }

    #[test]
    fn invalid_cache_files_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let caps = default_caps();
        let cache = Cache::new(dir.path().to_owned());
        let key = CacheKey::new(DEFAULT_PROFILE_JSON, &opts(&caps));
        for junk in [&b""[..], &[0u8; 13][..], &[0u8; 16][..]] {
            fs::write(cache.path(&key), junk).unwrap();
            let fresh = Cache::new(dir.path().to_owned());
            let bpf = fresh.get_or_compile(DEFAULT_PROFILE_JSON, &opts(&caps)).unwrap().unwrap();
            assert_eq!(fresh.stats().compiles, 1, "{} junk bytes must be recompiled", junk.len());
            assert_eq!(fs::read(cache.path(&key)).unwrap(), bpf.as_bytes());
        }
    }

    #[test]
    fn distinct_caps_compile_distinct_programs() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        let caps = default_caps();
        let mut admin = caps.clone();
        admin.push("CAP_SYS_ADMIN".to_owned());
        let a = cache.get_or_compile(DEFAULT_PROFILE_JSON, &opts(&caps)).unwrap().unwrap();
        let b = cache.get_or_compile(DEFAULT_PROFILE_JSON, &opts(&admin)).unwrap().unwrap();
        assert_ne!(a, b);
        assert_eq!(cache.stats().compiles, 2);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn unconfined_and_invalid_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        assert!(cache.get_or_compile("{}", &opts(&[])).unwrap().is_none());
        assert!(cache.get_or_compile("{}", &opts(&[])).unwrap().is_none());
        assert_eq!(cache.stats(), CacheStats { memory_hits: 1, disk_hits: 0, compiles: 1 });
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "nothing to store for no filter");

        let err = cache.get_or_compile(r#"{"defaultAction": "SCMP_ACT_NOPE"}"#, &opts(&[])).unwrap_err();
        assert!(matches!(err, CompileError::Profile(_)), "{err}");
    }

    #[test]
    fn unwritable_directory_still_compiles() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"").unwrap();
        let cache = Cache::new(file.join("seccomp"));
        assert!(cache.get_or_compile(DEFAULT_PROFILE_JSON, &opts(&default_caps())).unwrap().is_some());
        // Who needs the file gets the error, also once the program is in memory.
        let err = cache.program_file(DEFAULT_PROFILE_JSON, &opts(&default_caps())).unwrap_err();
        assert!(matches!(err, CompileError::Store { .. }), "{err}");
        assert!(err.to_string().contains("not-a-dir/seccomp/"), "{err}");
    }

    #[test]
    fn program_file_is_written_again_when_it_went_missing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("seccomp"));
        let caps = default_caps();
        let path = cache.program_file(DEFAULT_PROFILE_JSON, &opts(&caps)).unwrap().unwrap();
        let bytes = fs::read(&path).unwrap();
        assert!(Bpf::from_bytes(bytes.clone()).is_ok());
        fs::remove_file(&path).unwrap();
        assert_eq!(cache.program_file(DEFAULT_PROFILE_JSON, &opts(&caps)).unwrap().unwrap(), path);
        assert_eq!(fs::read(&path).unwrap(), bytes);
        assert_eq!(cache.stats(), CacheStats { memory_hits: 1, disk_hits: 0, compiles: 1 });
        assert_eq!(cache.program_file("{}", &opts(&caps)).unwrap(), None);
    }
}
