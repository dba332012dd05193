//! Tests of the secure unpacker. They run as root (mknod, chown, trusted.* xattrs).

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use super::*;
use crate::testtar::{Entry, tar_of};

fn layer(entries: &[Entry]) -> (tempfile::TempDir, Result<UnpackStats, UnpackError>) {
    let dir = tempfile::tempdir().unwrap();
    let r = unpack_layer(dir.path(), &tar_of(entries)[..]);
    (dir, r)
}

fn refused(entries: &[Entry]) -> UnsafeReason {
    match layer(entries).1 {
        Err(UnpackError::UnsafePath { reason, .. }) => reason,
        other => panic!("expected UnsafePath, got {other:?}"),
    }
}

#[test]
fn unpacks_files_dirs_links_and_metadata() {
    let (dir, r) = layer(&[
        Entry::dir("./").mode(0o755).mtime(1000),
        Entry::dir("etc/").mode(0o751).mtime(2000).owner(7, 8),
        Entry::file("etc/passwd", b"root:x:0:0\n").mode(0o644).mtime(3000).owner(1000, 1001),
        Entry::file("bin/su", b"su").mode(0o4755),
        Entry::dir("tmp").mode(0o1777),
        Entry::symlink("etc/link", "passwd").owner(5, 6).mtime(4000),
        Entry::symlink("abs", "/etc/passwd"),
        Entry::hardlink("etc/passwd2", "etc/passwd"),
        Entry::fifo("run/fifo").mode(0o600),
        Entry::chardev("dev/null", 1, 3).mode(0o666),
        Entry::file("cap", b"x")
            .xattr("security.capability", &[1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Entry::file("user", b"x").xattr("user.note", b"hello").xattr("trusted.overlay.redirect", b"/etc"),
    ]);
    let stats = r.unwrap();
    assert_eq!(stats.entries, 12);
    assert_eq!(stats.size, 11 + 2 + 1 + 1);
    let p = dir.path();
    let m = fs::symlink_metadata(p.join("etc/passwd")).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid(), m.mtime(), m.nlink()), (0o644, 1000, 1001, 3000, 2));
    assert_eq!(fs::read(p.join("etc/passwd2")).unwrap(), b"root:x:0:0\n");
    let m = fs::symlink_metadata(p.join("etc")).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid(), m.mtime()), (0o751, 7, 8, 2000));
    assert_eq!(fs::symlink_metadata(p).unwrap().mtime(), 1000);
    assert_eq!(fs::symlink_metadata(p.join("bin/su")).unwrap().mode() & 0o7777, 0o4755);
    assert_eq!(fs::symlink_metadata(p.join("bin")).unwrap().mode() & 0o7777, 0o755, "implicit parents are 0755");
    assert_eq!(fs::symlink_metadata(p.join("tmp")).unwrap().mode() & 0o7777, 0o1777);
    let m = fs::symlink_metadata(p.join("etc/link")).unwrap();
    assert!(m.file_type().is_symlink());
    assert_eq!((m.uid(), m.gid(), m.mtime()), (5, 6, 4000));
    assert_eq!(fs::read_link(p.join("abs")).unwrap(), Path::new("/etc/passwd"));
    let m = fs::symlink_metadata(p.join("run/fifo")).unwrap();
    assert!(m.file_type().is_fifo());
    assert_eq!(m.mode() & 0o7777, 0o600);
    let m = fs::symlink_metadata(p.join("dev/null")).unwrap();
    assert!(m.file_type().is_char_device());
    assert_eq!((m.rdev(), m.mode() & 0o7777), (rfs::makedev(1, 3), 0o666));
    assert!(rfs::getxattr(p.join("cap").as_path(), "security.capability", &mut [0u8; 64][..]).is_ok());
    let mut buf = [0u8; 16];
    let n = rfs::getxattr(p.join("user").as_path(), "user.note", &mut buf[..]).unwrap();
    assert_eq!(&buf[..n], b"hello");
    assert!(rfs::getxattr(p.join("user").as_path(), "trusted.overlay.redirect", &mut buf[..]).is_err());
}

#[test]
fn whiteouts_become_overlay_form() {
    let (dir, r) = layer(&[
        Entry::dir("a/"),
        Entry::file("a/.wh.gone", b"").owner(3, 4),
        Entry::file("b/.wh..wh..opq", b""),
        Entry::file("b/kept", b"k"),
        Entry::file(".wh..wh.plnk", b""),
        Entry::file(".wh..wh.plnk/123.456", b"aufs"),
        Entry::file(".wh.top", b""),
    ]);
    r.unwrap();
    let p = dir.path();
    let m = fs::symlink_metadata(p.join("a/gone")).unwrap();
    assert!(m.file_type().is_char_device());
    assert_eq!((m.rdev(), m.uid(), m.gid()), (0, 3, 4));
    assert!(fs::symlink_metadata(p.join("top")).unwrap().file_type().is_char_device());
    let mut buf = [0u8; 4];
    let n = rfs::getxattr(p.join("b").as_path(), OPAQUE_XATTR, &mut buf[..]).unwrap();
    assert_eq!(&buf[..n], b"y");
    assert!(!p.join("b/.wh..wh..opq").exists());
    assert!(!p.join(".wh..wh.plnk").exists());
    assert!(!p.join("a/.wh.gone").exists());
}

#[test]
fn later_entries_replace_earlier_ones() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    fs::write(&victim, b"safe").unwrap();
    let (dir, r) = layer(&[
        Entry::symlink("l", victim.to_str().unwrap()),
        Entry::file("l", b"replaced"),
        Entry::dir("d/"),
        Entry::file("d/x", b"x"),
        Entry::file("d", b"file now"),
        Entry::file("f", b"1"),
        Entry::dir("f/"),
    ]);
    r.unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"safe", "the symlink must not be followed");
    assert_eq!(fs::read(dir.path().join("l")).unwrap(), b"replaced");
    assert_eq!(fs::read(dir.path().join("d")).unwrap(), b"file now");
    assert!(dir.path().join("f").is_dir());
}

#[test]
fn refuses_path_escapes() {
    assert_eq!(refused(&[Entry::file("../evil", b"x")]), UnsafeReason::DotDot);
    assert_eq!(refused(&[Entry::file("a/../../evil", b"x")]), UnsafeReason::DotDot);
    assert_eq!(refused(&[Entry::file("/etc/evil", b"x")]), UnsafeReason::Absolute);
    assert_eq!(refused(&[Entry::symlink("lnk", "/tmp"), Entry::file("lnk/evil", b"x")]), UnsafeReason::ThroughSymlink);
    assert_eq!(
        refused(&[Entry::symlink("lnk", "sub"), Entry::dir("sub/"), Entry::file("lnk/evil", b"x")]),
        UnsafeReason::ThroughSymlink
    );
    assert_eq!(refused(&[Entry::symlink("a/up", "../../etc")]), UnsafeReason::SymlinkEscapes("../../etc".into()));
    assert_eq!(refused(&[Entry::hardlink("h", "/etc/passwd")]), UnsafeReason::HardLinkAbsolute("/etc/passwd".into()));
    assert_eq!(refused(&[Entry::hardlink("h", "../x")]), UnsafeReason::HardLinkDotDot("../x".into()));
    assert_eq!(refused(&[Entry::hardlink("h", "nothing/here")]), UnsafeReason::HardLinkMissing("nothing/here".into()));
    assert_eq!(refused(&[Entry::file("x/.wh...", b"")]), UnsafeReason::BadWhiteout);
    assert_eq!(refused(&[Entry::symlink(".", "x")]), UnsafeReason::ReplacesRoot);
    let err = layer(&[Entry::file("../evil", b"x")]).1.unwrap_err();
    assert_eq!(err.to_string(), "refusing to unpack \"../evil\": path contains a '..' component");
}

#[test]
fn refuses_corrupt_and_truncated_tars() {
    let mut bytes = tar_of(&[Entry::file("big", &[7u8; 5000])]);
    bytes.truncate(2048);
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(unpack_layer(dir.path(), &bytes[..]), Err(UnpackError::Corrupt { .. })));
    let mut bytes = tar_of(&[Entry::file("f", b"x")]);
    bytes[100] ^= 0xff; // breaks the header checksum
    assert!(matches!(unpack_layer(dir.path(), &bytes[..]), Err(UnpackError::Corrupt { .. })));
}

#[test]
fn unpack_into_resolves_symlinks_inside_the_root() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let r = root.path();
    fs::create_dir_all(r.join("dst")).unwrap();
    // Container symlinks that would escape if followed on the host.
    std::os::unix::fs::symlink("/", r.join("dst/toroot")).unwrap();
    std::os::unix::fs::symlink(outside.path(), r.join("dst/out")).unwrap();
    fs::create_dir_all(r.join(outside.path().strip_prefix("/").unwrap())).unwrap();
    let tar = tar_of(&[
        Entry::file("toroot/a", b"a").owner(1000, 1000),
        Entry::file("out/b", b"b"),
        Entry::dir("newdir/").owner(1000, 1000),
    ]);
    unpack_into(r, Path::new("/dst"), &tar[..], &UnpackOptions::default()).unwrap();
    assert_eq!(fs::read(r.join("a")).unwrap(), b"a", "`/` resolves to the container root");
    let m = fs::metadata(r.join("a")).unwrap();
    assert_eq!((m.uid(), m.gid()), (0, 0), "without copy_uid_gid files belong to root");
    assert!(fs::read_dir(outside.path()).unwrap().next().is_none(), "nothing written outside the root");
    assert!(r.join(outside.path().strip_prefix("/").unwrap()).join("b").is_file());
    assert!(r.join("dst/newdir").is_dir());

    let tar = tar_of(&[Entry::file("keep", b"k").owner(1000, 1001)]);
    unpack_into(r, Path::new("dst"), &tar[..], &UnpackOptions { copy_uid_gid: true, ..Default::default() }).unwrap();
    let m = fs::metadata(r.join("dst/keep")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1000, 1001));
}

#[test]
fn unpack_into_options_and_errors() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    fs::create_dir_all(r.join("d/sub")).unwrap();
    fs::write(r.join("d/file"), b"x").unwrap();
    let no = UnpackOptions { no_overwrite_dir_non_dir: true, ..Default::default() };
    let err = unpack_into(r, Path::new("/d"), &tar_of(&[Entry::file("sub", b"x")])[..], &no).unwrap_err();
    assert!(matches!(err, UnpackError::OverwriteDir { .. }), "{err}");
    let err = unpack_into(r, Path::new("/d"), &tar_of(&[Entry::dir("file/")])[..], &no).unwrap_err();
    assert!(matches!(err, UnpackError::OverwriteNonDir { .. }), "{err}");
    unpack_into(r, Path::new("/d"), &tar_of(&[Entry::file("sub", b"x")])[..], &UnpackOptions::default()).unwrap();
    assert!(r.join("d/sub").is_file());
    let err = unpack_into(r, Path::new("/missing"), &tar_of(&[Entry::file("f", b"x")])[..], &no).unwrap_err();
    assert!(matches!(err, UnpackError::Io { .. }), "{err}");
    let err = unpack_into(r, Path::new("/d"), &tar_of(&[Entry::symlink("l", "../../x")])[..], &no).unwrap_err();
    assert!(matches!(err, UnpackError::UnsafePath { .. }), "{err}");
}

/// A GNU sparse entry (`S`) named `name` whose one 512-byte extent of `x`s sits at `offset`; the
/// file is `real` bytes long.
fn sparse_tar(name: &str, offset: u64, real: u64) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_path(name).unwrap();
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(512);
    h.set_entry_type(tar::EntryType::GNUSparse);
    let g = h.as_gnu_mut().unwrap();
    // Octal, or GNU's base-256 past 8 GiB.
    let num = |v: u64| -> [u8; 12] {
        if v < 1 << 33 {
            return format!("{v:011o}\0").as_bytes().try_into().unwrap();
        }
        let mut f = [0u8; 12];
        f[0] = 0x80;
        f[4..].copy_from_slice(&v.to_be_bytes());
        f
    };
    g.sparse[0].offset = num(offset);
    g.sparse[0].numbytes = num(512);
    g.realsize = num(real);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend([b'x'; 512]);
    out.extend([0; 1024]);
    out
}

#[test]
fn sparse_files_get_holes_and_a_bound() {
    let dir = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let size = 64 << 20;
    unpack_layer(dir.path(), &sparse_tar("s", size - 512, size)[..]).unwrap();
    let m = fs::metadata(dir.path().join("s")).unwrap();
    assert_eq!(m.len(), size);
    // A hole, not 64 MiB of zeros written out.
    assert!(m.blocks() * 512 < 1 << 20, "{} blocks", m.blocks());
    let data = fs::read(dir.path().join("s")).unwrap();
    let hole = usize::try_from(size - 512).unwrap();
    assert!(data[..hole].iter().all(|&b| b == 0) && data[hole..].iter().all(|&b| b == b'x'));
    assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());

    // 2 KiB of tar that asked for a petabyte of zeros.
    let dir = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let err = unpack_layer(dir.path(), &sparse_tar("huge", (1 << 50) - 512, 1 << 50)[..]).unwrap_err();
    assert!(matches!(err, UnpackError::SparseTooLarge { .. }), "{err}");
    assert!(err.to_string().contains("\"huge\""), "{err}");
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    assert!(fs::read_dir(dir.path()).unwrap().next().is_none());
}
