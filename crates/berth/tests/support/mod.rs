//! Helpers shared by the end-to-end test files beyond the daemon harness: running a scenario
//! through either CLI, building image archives (layers, OCI image layouts, legacy `docker save`
//! tars) byte by byte and reading them back, and looking for leftovers on the host.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest as _;

use crate::common::{Daemon, Run};

/// Which CLI drives a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cli {
    Berth,
    Docker,
}

/// Both CLIs, berth's first.
pub const BOTH: [Cli; 2] = [Cli::Berth, Cli::Docker];

/// Runs `args` with the chosen CLI.
pub fn cli(d: &Daemon, c: Cli, args: &[&str]) -> Run {
    match c {
        Cli::Berth => d.berth(args),
        Cli::Docker => d.docker(args),
    }
}

/// A command running `args` with the chosen CLI, to customise (stdio, signals, a pty).
pub fn cli_cmd(d: &Daemon, c: Cli, args: &[&str]) -> Command {
    match c {
        Cli::Berth => d.berth_cmd(args),
        Cli::Docker => d.docker_cmd(args),
    }
}

/// Runs `args` with the chosen CLI and `input` on stdin.
pub fn cli_stdin(d: &Daemon, c: Cli, args: &[&str], input: &[u8]) -> Run {
    match c {
        Cli::Berth => d.berth_stdin(args, input),
        Cli::Docker => d.docker_stdin(args, input),
    }
}

/// A daemon with `busybox:latest`.
pub fn setup() -> Daemon {
    let d = Daemon::start();
    d.busybox();
    d
}

/// `sha256:<hex>` of `b`.
pub fn digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

/// gzip of `b`.
pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).expect("gzip");
    e.finish().expect("gzip")
}

/// A tar archive written entry by entry. Names and link targets are written into the header
/// as raw bytes, so the archive can hold what the `tar` crate itself refuses to write
/// (`../x`, `/x`): that is the point of the malicious layers.
pub struct Tar {
    b: tar::Builder<Vec<u8>>,
}

impl Default for Tar {
    fn default() -> Self {
        Self::new()
    }
}

impl Tar {
    pub fn new() -> Self {
        Tar { b: tar::Builder::new(Vec::new()) }
    }

    fn entry(&mut self, name: &str, kind: tar::EntryType, link: &str, mode: u32, data: &[u8]) -> &mut Self {
        assert!(name.len() < 100 && link.len() < 100, "names this long need GNU extensions: {name} {link}");
        let mut h = tar::Header::new_ustar();
        {
            let old = h.as_old_mut();
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_704_067_200);
        h.set_size(data.len() as u64);
        h.set_cksum();
        self.b.append(&h, data).expect("tar entry");
        self
    }

    /// A regular file, mode 0644.
    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(name, tar::EntryType::Regular, "", 0o644, data)
    }

    /// A regular file with a mode.
    pub fn file_mode(&mut self, name: &str, data: &[u8], mode: u32) -> &mut Self {
        self.entry(name, tar::EntryType::Regular, "", mode, data)
    }

    /// A directory, mode 0755.
    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(name, tar::EntryType::Directory, "", 0o755, b"")
    }

    /// A symlink `name -> target`.
    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, tar::EntryType::Symlink, target, 0o777, b"")
    }

    /// A hard link `name` to the archive entry `target`.
    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, tar::EntryType::Link, target, 0o644, b"")
    }

    /// The archive.
    pub fn finish(self) -> Vec<u8> {
        self.b.into_inner().expect("tar end")
    }
}

/// An image configuration (`application/vnd.oci.image.config.v1+json`) for `layers`
/// (uncompressed tars), with one history entry per layer (`created_by` from `history`) plus
/// an empty-layer `CMD` entry.
pub fn image_config(layers: &[&[u8]], history: &[&str], cmd: &[&str]) -> Vec<u8> {
    assert_eq!(layers.len(), history.len());
    let diff_ids: Vec<String> = layers.iter().map(|l| digest(l)).collect();
    let mut hist: Vec<serde_json::Value> =
        history.iter().map(|h| serde_json::json!({"created": "2024-01-01T00:00:00Z", "created_by": h})).collect();
    hist.push(serde_json::json!({"created": "2024-01-01T00:00:00Z", "created_by": format!("CMD {cmd:?}"), "empty_layer": true}));
    serde_json::to_vec(&serde_json::json!({
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": cmd},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": hist,
    }))
    .expect("config json")
}

/// Blobs of an OCI image: the config, the manifest and gzip layers.
pub struct OciImage {
    pub config: Vec<u8>,
    /// Compressed layers.
    pub layers: Vec<Vec<u8>>,
    pub manifest: Vec<u8>,
}

impl OciImage {
    /// Builds the manifest for a config and uncompressed layers (gzipped here).
    pub fn new(config: Vec<u8>, layers: &[&[u8]]) -> Self {
        let layers: Vec<Vec<u8>> = layers.iter().map(|l| gzip(l)).collect();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&config), "size": config.len()},
            "layers": layers.iter().map(|l| serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(l), "size": l.len()
            })).collect::<Vec<_>>(),
        }))
        .expect("manifest json");
        OciImage { config, layers, manifest }
    }

    /// The image ID (the config's digest).
    pub fn id(&self) -> String {
        digest(&self.config)
    }

    /// An OCI image layout tar (`oci-layout`, `index.json`, `blobs/sha256/*`) naming the image
    /// `ref_name` in `org.opencontainers.image.ref.name`. `tamper` edits the blobs after the
    /// index was computed.
    pub fn layout(&self, ref_name: &str, tamper: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": digest(&self.manifest),
                "size": self.manifest.len(),
                "annotations": {"org.opencontainers.image.ref.name": ref_name},
            }],
        }))
        .expect("index json");
        let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
        for b in std::iter::once(&self.config).chain(self.layers.iter()).chain(std::iter::once(&self.manifest)) {
            blobs.push((digest(b), b.clone()));
        }
        tamper(&mut blobs);
        let mut t = Tar::new();
        t.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
        t.dir("blobs/").dir("blobs/sha256/");
        for (d, b) in &blobs {
            t.file(&format!("blobs/sha256/{}", d.trim_start_matches("sha256:")), b);
        }
        t.file("index.json", &index);
        t.finish()
    }
}

/// A legacy (Docker < 25) `docker save` archive of one image: `<id>.json`,
/// `<layer-id>/{VERSION,json,layer.tar}`, `manifest.json` and `repositories`. Layers are
/// uncompressed tars.
pub fn legacy_save(config: &[u8], layers: &[&[u8]], repo: &str, tag: &str) -> Vec<u8> {
    let id = digest(config).trim_start_matches("sha256:").to_owned();
    let mut t = Tar::new();
    let mut layer_paths = Vec::new();
    let mut parent = String::new();
    for (i, l) in layers.iter().enumerate() {
        // v1 layer IDs are opaque to loaders; derive them from the chain like docker did.
        let lid = hex::encode(sha2::Sha256::digest(format!("{parent} {} {i}", digest(l)).as_bytes()));
        t.dir(&format!("{lid}/"));
        t.file(&format!("{lid}/VERSION"), b"1.0");
        let mut v1 = serde_json::json!({"id": lid, "created": "2024-01-01T00:00:00Z"});
        if !parent.is_empty() {
            v1["parent"] = serde_json::Value::String(parent.clone());
        }
        t.file(&format!("{lid}/json"), &serde_json::to_vec(&v1).expect("json"));
        t.file(&format!("{lid}/layer.tar"), l);
        layer_paths.push(format!("{lid}/layer.tar"));
        parent = lid;
    }
    t.file(&format!("{id}.json"), config);
    let manifest = serde_json::json!([{
        "Config": format!("{id}.json"),
        "RepoTags": [format!("{repo}:{tag}")],
        "Layers": layer_paths,
    }]);
    t.file("manifest.json", &serde_json::to_vec(&manifest).expect("json"));
    let repositories = serde_json::json!({ repo: { tag: parent } });
    t.file("repositories", &serde_json::to_vec(&repositories).expect("json"));
    t.finish()
}

/// The busybox rootfs tarball's bytes (uncompressed).
pub fn busybox_layer() -> Vec<u8> {
    std::fs::read(crate::common::busybox_tar()).expect("reading the busybox rootfs tarball")
}

/// Every path under `dir` (recursively, not following symlinks) whose file name starts with
/// `prefix`.
pub fn find_named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&p) else {
            continue;
        };
        for e in rd.flatten() {
            let path = e.path();
            if e.file_name().to_string_lossy().starts_with(prefix) {
                out.push(path.clone());
            }
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(path);
            }
        }
    }
    out
}

/// Entry names of a tar archive's bytes, without a trailing `/`.
pub fn tar_names(bytes: &[u8]) -> Vec<String> {
    tar::Archive::new(bytes)
        .entries()
        .expect("reading a tar archive")
        .map(|e| {
            e.expect("a tar entry")
                .path()
                .expect("a tar entry's path")
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned()
        })
        .collect()
}

/// Writes `bytes` to `dir/name` and returns the path as a string.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("writing a test file");
    p.to_str().expect("utf-8 path").to_owned()
}
