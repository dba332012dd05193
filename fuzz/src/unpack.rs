//! Layer unpacking (`image::fuzzing::unpack_layer`) and `docker cp` into a container
//! (`image::unpack_into`) of one tar stream, each into a fresh directory.
//!
//! Properties:
//! - nothing outside the target directory changes: the tree around it (a sentinel file and
//!   directory, planted symlinks out of the root, the target's parents) is the same before and
//!   after, down to link counts (a hard link to a file outside would raise one), and no new name
//!   appears at the top of `/`, `/tmp` or `/dev/shm` (a `../../..` that got through; only names
//!   the input spells count, as other processes come and go there);
//! - a layer has no `trusted.overlay.*` xattr but the `opaque=y` its whiteouts make (a forged
//!   redirect or metacopy xattr would make overlayfs show other files);
//! - no panic, whatever the stream.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;

use image::{UnpackOptions, unpack_into};

/// What a path looks like: type and mode, owner, size, link count, symlink target, content.
type Snapshot = BTreeMap<String, (u32, u32, u32, u64, u64, String, Vec<u8>)>;

fn snapshot(dir: &Path, skip: &Path, out: &mut Snapshot) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p == skip {
            continue;
        }
        let Ok(m) = fs::symlink_metadata(&p) else { continue };
        let target = fs::read_link(&p).map(|t| t.display().to_string()).unwrap_or_default();
        let content = if m.is_file() { fs::read(&p).unwrap_or_default() } else { Vec::new() };
        out.insert(p.display().to_string(), (m.mode(), m.uid(), m.gid(), m.size(), m.nlink(), target, content));
        if m.is_dir() {
            snapshot(&p, skip, out);
        }
    }
}

fn top_names() -> Vec<String> {
    let mut v = Vec::new();
    for d in ["/", "/tmp", "/dev/shm"] {
        if let Ok(rd) = fs::read_dir(d) {
            v.extend(rd.flatten().map(|e| e.path().display().to_string()));
        }
    }
    v.retain(|p| !p.contains("berth-fuzz-"));
    v.sort();
    v
}

/// `base/outside/{secret, dir/inner}` and `base/a/b/root` with, for `cp`, the container's own
/// symlinks pointing out of it.
fn layout(base: &Path, cp: bool) -> std::path::PathBuf {
    fs::create_dir_all(base.join("outside/dir")).unwrap();
    fs::write(base.join("outside/secret"), b"secret").unwrap();
    fs::write(base.join("outside/dir/inner"), b"inner").unwrap();
    let root = base.join("a/b/root");
    fs::create_dir_all(&root).unwrap();
    if cp {
        fs::create_dir(root.join("etc")).unwrap();
        symlink("../../../outside", root.join("out")).unwrap();
        symlink("/", root.join("abs")).unwrap();
        symlink("..", root.join("up")).unwrap();
        symlink(base.join("outside/secret"), root.join("etc/secret")).unwrap();
    }
    root
}

fn check_overlay_xattrs(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let mut names = vec![0u8; 64 << 10];
        if let Ok(n) = rustix::fs::llistxattr(&p, &mut names[..]) {
            for name in names[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
                if name.starts_with(b"trusted.overlay.") {
                    let mut v = [0u8; 16];
                    let got = rustix::fs::lgetxattr(&p, name, &mut v[..]).map(|n| v[..n].to_vec());
                    assert!(
                        name == b"trusted.overlay.opaque" && got.as_deref() == Ok(b"y"),
                        "{}: forged xattr {} = {got:?}",
                        p.display(),
                        String::from_utf8_lossy(name)
                    );
                }
            }
        }
        if fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
            check_overlay_xattrs(&p);
        }
    }
}

fn one(data: &[u8], cp: bool) {
    let dir = crate::scratch();
    let root = layout(dir.path(), cp);
    let mut before = Snapshot::new();
    snapshot(dir.path(), &root, &mut before);
    let tops = top_names();
    if cp {
        let opts = UnpackOptions {
            no_overwrite_dir_non_dir: crate::options(data) & 1 != 0,
            copy_uid_gid: crate::options(data) & 2 != 0,
            owners: None,
        };
        let dest = if crate::options(data) & 4 != 0 { "/etc" } else { "/" };
        let _ = unpack_into(&root, Path::new(dest), data, &opts);
    } else if image::fuzzing::unpack_layer(&root, data).is_ok() {
        check_overlay_xattrs(&root);
    }
    let mut after = Snapshot::new();
    snapshot(dir.path(), &root, &mut after);
    assert_eq!(before, after, "something outside the target directory changed (cp: {cp})");
    // Other processes come and go in these directories: only a new name the input spells counts.
    for name in top_names().into_iter().filter(|n| !tops.contains(n)) {
        let base = name.rsplit('/').next().unwrap_or_default();
        assert!(
            base.len() < 3 || !data.windows(base.len()).any(|w| w == base.as_bytes()),
            "{name} appeared outside the target directory (cp: {cp})"
        );
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let mut data = data.to_vec();
    crate::fix_tar_checksums(&mut data);
    one(&data, false);
    one(&data, true);
}
