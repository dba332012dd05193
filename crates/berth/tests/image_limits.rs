//! Memory bounds of `load` and `import` against crafted archives (issue 10, hole 8): an archive
//! of several hundred MB of non-layer files, or a tar with a 600 MB PAX header, is streamed
//! through the real docker CLI (generated on the fly, nothing stored), refused with an error
//! that names the entry, and the daemon's peak RSS (`VmHWM`) stays far below what it streamed.
//! Without the bounds the daemon kept every non-layer file (up to 64 MiB each) in memory, and
//! the `tar` crate read PAX headers whole.

mod common;
mod support;

use std::io::Write;
use std::process::Stdio;

use common::Daemon;

/// The daemon's peak resident set, in KiB.
fn peak_rss_kib(d: &Daemon) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    eprintln!("daemon's peak RSS: {} MiB", kib >> 10);
    kib
}

/// Streams tar entries (name, type, size, the byte that fills the content) into `w`, 1 MiB at a
/// time; stops quietly when the reader goes away (the daemon refused early).
fn stream_tar(mut w: impl Write, entries: &[(&str, tar::EntryType, u64, u8)]) {
    let chunk = vec![0u8; 1 << 20];
    for &(name, kind, size, fill) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_path(name).unwrap();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        if w.write_all(h.as_bytes()).is_err() {
            return;
        }
        let mut data = chunk.clone();
        data.fill(fill);
        // Not a tar, not compressed: a JSON document's first byte.
        data[0] = b'{';
        let mut left = size;
        while left > 0 {
            let n = left.min(data.len() as u64) as usize;
            if w.write_all(&data[..n]).is_err() {
                return;
            }
            data[0] = fill;
            left -= n as u64;
        }
        let pad = (512 - size % 512) % 512;
        if w.write_all(&vec![0; pad as usize]).is_err() {
            return;
        }
    }
    let _ = w.write_all(&[0; 1024]);
}

/// Runs `docker ARGS` with the tar streamed on stdin; (exit code, stderr).
fn docker_streamed(d: &Daemon, args: &[&str], entries: &[(&str, tar::EntryType, u64, u8)]) -> (i32, String) {
    let mut child = d
        .docker_cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running docker");
    let stdin = child.stdin.take().unwrap();
    let entries: Vec<(String, tar::EntryType, u64, u8)> =
        entries.iter().map(|&(n, k, s, f)| (n.to_owned(), k, s, f)).collect();
    let writer = std::thread::spawn(move || {
        let e: Vec<(&str, tar::EntryType, u64, u8)> =
            entries.iter().map(|(n, k, s, f)| (n.as_str(), *k, *s, *f)).collect();
        stream_tar(std::io::BufWriter::new(stdin), &e);
    });
    let out = child.wait_with_output().expect("docker");
    writer.join().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Nothing of a refused stream is left in the image store.
#[track_caller]
fn assert_store_empty(d: &Daemon) {
    let root = d.root.join("image");
    for sub in ["blobs/sha256", "layers", "images"] {
        let left: Vec<_> =
            std::fs::read_dir(root.join(sub)).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        assert!(left.is_empty(), "left in {sub}: {left:?}");
    }
    assert_eq!(d.berth(&["images", "-aq"]).out(), "");
}

/// What the daemon may reach at its peak here: its own start-up and a load's buffers, nowhere
/// near the hundreds of MB the archives below stream.
const PEAK_LIMIT_KIB: u64 = 200 << 10;

#[test]
fn load_refuses_huge_non_layer_files_with_bounded_memory() {
    let d = Daemon::start();
    // Ten 60 MB files that are neither layers nor blobs (600 MB): each under the old 64 MiB
    // in-memory cap, so the daemon used to keep them all, and then found no manifest.
    let names: Vec<String> = (0..10).map(|i| format!("big-{i}.json")).collect();
    let entries: Vec<(&str, tar::EntryType, u64, u8)> =
        names.iter().map(|n| (n.as_str(), tar::EntryType::Regular, 60 << 20, b' ')).collect();
    let (code, stderr) = docker_streamed(&d, &["load"], &entries);
    let peak = peak_rss_kib(&d);
    assert!(peak < PEAK_LIMIT_KIB, "the daemon's peak RSS reached {} MiB", peak >> 10);
    assert_ne!(code, 0, "a crafted archive was loaded: {stderr}");
    assert!(
        stderr.contains(r#"invalid archive: "big-0.json" is 62914560 bytes and not a layer"#),
        "the error doesn't name the entry: {stderr}"
    );
    assert_store_empty(&d);
    // The daemon still loads real archives.
    let tar = support::legacy_save(
        &support::image_config(&[&support::busybox_layer()], &["ADD busybox"], &["sh"]),
        &[&support::busybox_layer()],
        "ok",
        "1",
    );
    let r = d.docker_stdin(&["load"], &tar);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn import_refuses_huge_tar_headers_with_bounded_memory() {
    let d = Daemon::start();
    // A PAX extended header of 600 MB before the first file: the `tar` crate reads such
    // headers whole into memory.
    let entries =
        [("PaxHeaders/big", tar::EntryType::XHeader, 600 << 20, b'a'), ("file", tar::EntryType::Regular, 3, b'x')];
    let (code, stderr) = docker_streamed(&d, &["import", "-", "crafted:1"], &entries);
    let peak = peak_rss_kib(&d);
    assert!(peak < PEAK_LIMIT_KIB, "the daemon's peak RSS reached {} MiB", peak >> 10);
    assert_ne!(code, 0, "a crafted tar was imported: {stderr}");
    assert!(
        stderr.contains("tar entry at byte 0: a PAX extended header of 629145600 bytes"),
        "the error doesn't say what was wrong: {stderr}"
    );
    assert_store_empty(&d);
    // The same for a long name, in `load`.
    let entries =
        [("././@LongLink", tar::EntryType::GNULongName, 600 << 20, b'n'), ("x", tar::EntryType::Regular, 1, b'x')];
    let (code, stderr) = docker_streamed(&d, &["load"], &entries);
    let peak = peak_rss_kib(&d);
    assert!(peak < PEAK_LIMIT_KIB, "the daemon's peak RSS reached {} MiB", peak >> 10);
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("a GNU long name of 629145600 bytes"), "{stderr}");
    assert_store_empty(&d);
}
