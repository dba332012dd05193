//! `berth daemon --userns-remap`: containers in user namespaces whose root is a subordinate id
//! of the host (dockerd's `--userns-remap`), through both CLIs.
//!
//! The tests make a host user of their own with subordinate ranges in /etc/subuid and
//! /etc/subgid (`RemapUser`), and put both files back byte for byte when they end, failed or
//! not. Tests that touch those files run one at a time (a lock file), and edit them under the
//! shadow suite's own lock (`/etc/subuid.lock`), as `usermod` does.

mod common;
mod support;

use std::fs::File;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Daemon;
use support::{BOTH, cli};

const SUBUID: &str = "/etc/subuid";
const SUBGID: &str = "/etc/subgid";
const RANGE: u32 = 65_536;

/// The shadow suite's lock on a file (`FILE.lock`, made by `link(2)` of a file holding our
/// PID), so that `usermod` and berth's `default` never edit it at the same time as a test.
struct ShadowLock(PathBuf);

impl ShadowLock {
    fn take(file: &str) -> ShadowLock {
        let lock = PathBuf::from(format!("{file}.lock"));
        let tmp = PathBuf::from(format!("{file}.{}", std::process::id()));
        std::fs::write(&tmp, std::process::id().to_string()).expect("writing a lock candidate");
        let t = Instant::now();
        loop {
            match std::fs::hard_link(&tmp, &lock) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // A lock whose holder is gone is stale.
                    let holder = std::fs::read_to_string(&lock).unwrap_or_default();
                    if holder.trim().parse::<u32>().is_ok_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                        let _ = std::fs::remove_file(&lock);
                        continue;
                    }
                    assert!(t.elapsed() < Duration::from_secs(30), "{} is held by {holder}", lock.display());
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("locking {file}: {e}"),
            }
        }
        let _ = std::fs::remove_file(&tmp);
        ShadowLock(lock)
    }
}

impl Drop for ShadowLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Replaces a host file's content atomically, keeping its mode.
fn replace(file: &str, data: &[u8]) {
    let tmp = format!("{file}+berth-test");
    std::fs::write(&tmp, data).expect("writing the new file");
    let mode = std::fs::metadata(file).map(|m| m.mode() & 0o7777).unwrap_or(0o644);
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).expect("chmod");
    std::fs::rename(&tmp, file).expect("replacing the file");
}

fn read(file: &str) -> Vec<u8> {
    match std::fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("reading {file}: {e}"),
    }
}

/// The host's subordinate id files as they were, put back when dropped: exactly those bytes,
/// under their locks. Holds the tests' own lock meanwhile.
struct SubidFiles {
    saved: Vec<(&'static str, Vec<u8>)>,
    _serial: File,
}

impl SubidFiles {
    fn save() -> SubidFiles {
        let serial = File::create("/tmp/berth-test-subid.lock").expect("the tests' lock file");
        serial.lock().expect("taking the tests' lock");
        let saved = [SUBUID, SUBGID]
            .into_iter()
            .map(|f| {
                let _l = ShadowLock::take(f);
                (f, read(f))
            })
            .collect();
        SubidFiles { saved, _serial: serial }
    }
}

impl Drop for SubidFiles {
    fn drop(&mut self) {
        for (f, bytes) in &self.saved {
            let _l = ShadowLock::take(f);
            if read(f) != *bytes {
                replace(f, bytes);
            }
        }
    }
}

/// Ranges in use in a subordinate id file.
fn used_ranges(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?))
        })
        .collect()
}

/// A host user of this test's own, with a subordinate uid and gid range of 65536 ids each, made
/// for the test and removed with it.
struct RemapUser {
    name: String,
    uid_start: u32,
    gid_start: u32,
    // Dropped last: the files go back after the user is gone.
    files: SubidFiles,
}

impl RemapUser {
    fn new() -> RemapUser {
        common::require_root();
        let files = SubidFiles::save();
        let tag: String = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
            .expect("a random id")
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(8)
            .collect();
        let name = format!("bt{tag}");
        let st = Command::new("useradd")
            .args(["-r", "-M", "-s", "/usr/sbin/nologin", &name])
            .status()
            .expect("running useradd");
        assert!(st.success(), "useradd {name} failed");
        // Free ranges: above everything already given out, well below 2^31.
        let mut used = used_ranges(&String::from_utf8_lossy(&files.saved[0].1));
        used.extend(used_ranges(&String::from_utf8_lossy(&files.saved[1].1)));
        let top = used.iter().map(|(s, n)| s + n).max().unwrap_or(0).max(300_000_000);
        let uid_start = u32::try_from(top + u64::from(RANGE) * u64::from(u32::from_str_radix(&tag[..2], 16).unwrap()))
            .expect("a range below 2^32");
        let gid_start = uid_start + 4 * RANGE;
        assert!(gid_start < 1 << 31);
        let u = RemapUser { name, uid_start, gid_start, files };
        for (f, start) in [(SUBUID, uid_start), (SUBGID, gid_start)] {
            let _l = ShadowLock::take(f);
            let mut text = read(f);
            if !text.is_empty() && !text.ends_with(b"\n") {
                text.push(b'\n');
            }
            text.extend_from_slice(format!("{}:{start}:{RANGE}\n", u.name).as_bytes());
            replace(f, &text);
        }
        u
    }
}

impl Drop for RemapUser {
    fn drop(&mut self) {
        // The subordinate ids go back first (userdel would edit the files otherwise).
        for (f, bytes) in &self.files.saved {
            let _l = ShadowLock::take(f);
            replace(f, bytes);
        }
        let _ = Command::new("userdel").arg(&self.name).status();
        let _ = Command::new("groupdel").arg(&self.name).stderr(std::process::Stdio::null()).status();
    }
}

/// `Field:` of /proc/PID/status on the host.
fn proc_status(pid: &str, field: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the container's status");
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// A two-layer image `owners:latest`: busybox, and files with owners other than root.
fn load_owners_image(d: &Daemon) {
    let bb = support::busybox_layer();
    let mut b = tar::Builder::new(Vec::new());
    for (name, uid, gid, mode) in [("srv/", 1000, 1000, 0o755), ("nobodys", 65534, 65534, 0o644)] {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_entry_type(if name.ends_with('/') { tar::EntryType::Directory } else { tar::EntryType::Regular });
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(1_704_067_200);
        h.set_size(0);
        h.set_cksum();
        b.append(&h, &[][..]).unwrap();
    }
    let extra = b.into_inner().unwrap();
    let cfg = support::image_config(&[&bb, &extra], &["busybox", "owners"], &["sh"]);
    let archive = support::legacy_save(&cfg, &[&bb, &extra], "owners", "latest");
    let r = d.berth_stdin(&["load"], &archive);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn containers_run_as_subordinate_ids() {
    let user = RemapUser::new();
    let d = Daemon::start_with(&["--userns-remap", &user.name]);
    d.busybox();
    load_owners_image(&d);
    let (u0, g0) = (user.uid_start, user.gid_start);
    for c in BOTH {
        let r = cli(&d, c, &["info", "--format", "{{json .SecurityOptions}}"]);
        assert!(r.ok().contains("\"name=userns\""), "{c:?}: {r:?}");

        // Root in the container is the first subordinate id on the host.
        let id = cli(
            &d,
            c,
            &[
                "run",
                "-d",
                "busybox",
                "sh",
                "-c",
                "touch /created && cp /bin/busybox /suid && chmod 4755 /suid && exec sleep 60",
            ],
        )
        .ok()
        .trim()
        .to_owned();
        let pid = cli(&d, c, &["inspect", "-f", "{{.State.Pid}}", &id]).ok().trim().to_owned();
        assert_eq!(proc_status(&pid, "Uid"), format!("{u0} {u0} {u0} {u0}"), "{c:?}");
        assert_eq!(proc_status(&pid, "Gid"), format!("{g0} {g0} {g0} {g0}"), "{c:?}");
        let r = cli(&d, c, &["exec", &id, "sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map"]);
        let want = format!("0\n0\n0 {u0} {RANGE}\n0 {g0} {RANGE}");
        let got: Vec<String> = r.ok().lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
        assert_eq!(got.join("\n"), want, "{c:?}");

        // What it writes is the subordinate ids' on the host, set-id bits included: a setuid
        // "root" binary it makes is setuid to an unprivileged host user.
        let upper = d.root.join("containers").join(&id).join("upper");
        // The container's command runs on after `run -d` returns: until its chmod is done.
        let t = Instant::now();
        while std::fs::metadata(upper.join("suid")).map_or(true, |m| m.mode() & 0o7777 != 0o4755)
            && t.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let m = std::fs::metadata(upper.join("created")).expect("the container's file in its upper dir");
        assert_eq!((m.uid(), m.gid()), (u0, g0), "{c:?}");
        let m = std::fs::metadata(upper.join("suid")).expect("the setuid copy");
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (u0, g0, 0o4755), "{c:?}");
        // Run by an unprivileged host user (from a directory it can reach), it gets that id,
        // not root: the exec sets the saved uid to the file's owner (busybox then drops it
        // for applets that don't need it, so the saved uid is what shows).
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = tmp.path().join("busybox");
        assert!(Command::new("cp").arg("-a").arg(upper.join("suid")).arg(&copy).status().unwrap().success());
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&copy)
            .args(["cat", "/proc/self/status"])
            .output()
            .expect("running the setuid copy");
        let status = String::from_utf8_lossy(&out.stdout);
        let uids = status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap_or_default();
        assert_eq!(
            uids.split_whitespace().nth(2),
            Some(u0.to_string().as_str()),
            "{c:?}: saved uid of the setuid copy: {status}"
        );
        cli(&d, c, &["rm", "-f", &id]).ok();

        // Image files keep their owners inside; the layers on disk are untouched.
        let r = cli(&d, c, &["run", "--rm", "owners", "stat", "-c", "%u:%g %n", "/bin/busybox", "/srv", "/nobodys"]);
        assert_eq!(r.out(), "0:0 /bin/busybox\n1000:1000 /srv\n65534:65534 /nobodys", "{c:?}: {r:?}");
        let on_disk = support::find_named(&d.root.join("image"), "nobodys");
        assert_eq!(on_disk.len(), 1, "{on_disk:?}");
        let m = std::fs::metadata(&on_disk[0]).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65534));
        // A non-root user of the container is its subordinate id too.
        let r = cli(
            &d,
            c,
            &["run", "--rm", "-u", "nobody", "busybox", "sh", "-c", "id -u; touch /tmp/x; stat -c %u /tmp/x"],
        );
        assert_eq!(r.out(), "65534\n65534", "{c:?}: {r:?}");

        // Named volumes are the container's root's; what the image has there is copied in
        // with the owners the container sees.
        let vol = format!("data-{c:?}").to_lowercase();
        let r = cli(
            &d,
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{vol}:/srv"),
                "owners",
                "sh",
                "-c",
                "echo hi > /srv/f && stat -c %u:%g /srv /srv/f",
            ],
        );
        assert_eq!(r.out(), "1000:1000\n0:0", "{c:?}: {r:?}");
        let data = d.root.join("volumes").join(&vol).join("_data");
        let m = std::fs::metadata(data.join("f")).unwrap();
        assert_eq!((m.uid(), m.gid()), (u0, g0), "{c:?}");
        let m = std::fs::metadata(&data).unwrap();
        assert_eq!((m.uid(), m.gid()), (u0 + 1000, g0 + 1000), "{c:?}");
        let vol2 = format!("empty-{c:?}").to_lowercase();
        cli(&d, c, &["volume", "create", &vol2]).ok();
        let r =
            cli(&d, c, &["run", "--rm", "-v", &format!("{vol2}:/v"), "busybox", "sh", "-c", "touch /v/f && echo ok"]);
        assert_eq!(r.out(), "ok", "{c:?}: {r:?}");

        // /etc/hosts and the tmpfs mounts are the container root's.
        let r = cli(
            &d,
            c,
            &[
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "echo '10.9.9.9 x' >> /etc/hosts && touch /dev/shm/f /dev/f && echo ok",
            ],
        );
        assert_eq!(r.out(), "ok", "{c:?}: {r:?}");

        // --userns=host opts out, and only then is --privileged allowed (dockerd's rules).
        let r = cli(&d, c, &["run", "--rm", "--userns=host", "busybox", "cat", "/proc/self/uid_map"]);
        assert_eq!(r.out().split_whitespace().collect::<Vec<_>>(), ["0", "0", "4294967295"], "{c:?}: {r:?}");
        let r = cli(&d, c, &["run", "--rm", "--privileged", "busybox", "true"]);
        assert_ne!(r.code, 0, "{c:?}: {r:?}");
        assert!(
            r.stderr.contains("privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode"),
            "{c:?}: {r:?}"
        );
        for (flag, msg) in [
            ("--network=host", "cannot share the host's network namespace when user namespaces are enabled"),
            ("--pid=host", "cannot share the host PID namespace when user namespaces are enabled"),
        ] {
            let r = cli(&d, c, &["run", "--rm", flag, "busybox", "true"]);
            assert!(r.code != 0 && r.stderr.contains(msg), "{c:?} {flag}: {r:?}");
        }
        let r = cli(&d, c, &["run", "--rm", "--userns=host", "--privileged", "--pid=host", "busybox", "id", "-u"]);
        assert_eq!(r.out(), "0", "{c:?}: {r:?}");
        let r = cli(&d, c, &["run", "--rm", "--userns=other", "busybox", "true"]);
        assert!(r.code != 0 && r.stderr.contains("invalid USER mode"), "{c:?}: {r:?}");
    }
    let vols: Vec<String> =
        ["data", "empty"].iter().flat_map(|v| BOTH.map(|c| format!("{v}-{c:?}").to_lowercase())).collect();
    let mut args = vec!["volume", "rm"];
    args.extend(vols.iter().map(String::as_str));
    d.berth(&args).ok();
    let ids = d.container_ids();
    assert!(ids.is_empty(), "containers left: {ids:?}");
    d.assert_clean(&ids);
}

/// (uid, gid) of every entry of a tar, by name without a trailing `/`.
fn tar_owners(bytes: &[u8]) -> std::collections::BTreeMap<String, (u64, u64)> {
    tar::Archive::new(bytes)
        .entries()
        .expect("a tar")
        .map(|e| {
            let e = e.expect("a tar entry");
            let name = e.path().unwrap().to_string_lossy().trim_end_matches('/').to_owned();
            (name, (e.header().uid().unwrap(), e.header().gid().unwrap()))
        })
        .collect()
}

#[test]
fn files_in_and_out_carry_the_ids_the_container_sees() {
    let user = RemapUser::new();
    let d = Daemon::start_with(&["--userns-remap", &user.name]);
    d.busybox();
    let (u0, g0) = (user.uid_start, user.gid_start);
    let host = tempfile::tempdir().unwrap();
    let file = host.path().join("conf");
    std::fs::write(&file, b"x\n").unwrap();
    std::os::unix::fs::chown(&file, Some(1000), Some(1001)).unwrap();
    let file = file.to_str().unwrap();
    for c in BOTH {
        let name = format!("files-{c:?}").to_lowercase();
        cli(&d, c, &["create", "--name", &name, "busybox", "sleep", "60"]).ok();
        // Into a stopped container: root's (or, with -a, the archive's) as the container sees
        // them, and the directories copied up on the way keep theirs.
        cli(&d, c, &["cp", file, &format!("{name}:/etc/conf")]).ok();
        cli(&d, c, &["cp", "-a", file, &format!("{name}:/etc/conf-a")]).ok();
        cli(&d, c, &["start", &name]).ok();
        // And into a running one.
        cli(&d, c, &["cp", file, &format!("{name}:/root/conf")]).ok();
        let r = cli(
            &d,
            c,
            &[
                "exec",
                &name,
                "sh",
                "-c",
                "stat -c '%u:%g %n' /etc /etc/conf /etc/conf-a /root/conf && echo y >> /etc/conf && echo ok",
            ],
        );
        assert_eq!(r.out(), "0:0 /etc\n0:0 /etc/conf\n1000:1001 /etc/conf-a\n0:0 /root/conf\nok", "{c:?}: {r:?}");
        let id = cli(&d, c, &["inspect", "-f", "{{.Id}}", &name]).ok().trim().to_owned();
        let upper = d.root.join("containers").join(&id).join("upper");
        let m = std::fs::metadata(upper.join("etc/conf-a")).unwrap();
        assert_eq!((m.uid(), m.gid()), (u0 + 1000, g0 + 1001), "{c:?}");
        let m = std::fs::metadata(upper.join("etc")).unwrap();
        assert_eq!((m.uid(), m.gid()), (u0, g0), "{c:?}");
        cli(&d, c, &["exec", &name, "sh", "-c", "touch /made-inside && chown 33:33 /made-inside"]).ok();

        // Out of it (running, then stopped), exported and committed: the container's ids.
        for _ in 0..2 {
            let out = cli_bytes(&d, c, &["cp", &format!("{name}:/etc"), "-"]);
            let owners = tar_owners(&out);
            assert_eq!(owners.get("etc"), Some(&(0, 0)), "{c:?}: {owners:?}");
            assert_eq!(owners.get("etc/conf-a"), Some(&(1000, 1001)), "{c:?}");
            assert_eq!(owners.get("etc/passwd"), Some(&(0, 0)), "{c:?}");
            let out = cli_bytes(&d, c, &["export", &name]);
            let owners = tar_owners(&out);
            assert_eq!(owners.get("bin/busybox"), Some(&(0, 0)), "{c:?}");
            assert_eq!(owners.get("made-inside"), Some(&(33, 33)), "{c:?}");
            cli(&d, c, &["stop", "-t", "0", &name]).ok();
        }
        let img = format!("committed-{c:?}").to_lowercase();
        cli(&d, c, &["commit", &name, &img]).ok();
        let r = cli(&d, c, &["run", "--rm", &img, "stat", "-c", "%u:%g %n", "/made-inside", "/etc/conf-a", "/etc"]);
        assert_eq!(r.out(), "33:33 /made-inside\n1000:1001 /etc/conf-a\n0:0 /etc", "{c:?}: {r:?}");
        cli(&d, c, &["rm", "-f", &name]).ok();
        cli(&d, c, &["rmi", &img]).ok();
    }
    let ids = d.container_ids();
    assert!(ids.is_empty(), "containers left: {ids:?}");
    d.assert_clean(&ids);
}

/// A CLI's raw stdout (a tar), asserting success.
fn cli_bytes(d: &Daemon, c: support::Cli, args: &[&str]) -> Vec<u8> {
    let out = support::cli_cmd(d, c, args).output().expect("running the CLI");
    assert!(out.status.success(), "{c:?} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn containers_keep_the_mapping_they_were_created_with() {
    let user = RemapUser::new();
    let mut d = Daemon::start();
    d.busybox();
    d.berth(&["create", "--name", "plain", "busybox", "true"]).ok();
    d.extra = vec!["--userns-remap".into(), user.name.clone()];
    d.restart();
    // Made for the host's user namespace: refused rather than run as the host's root.
    let r = d.berth(&["start", "plain"]);
    assert!(r.code != 0 && r.stderr.contains("created before the daemon ran with --userns-remap"), "{r:?}");
    d.berth(&["create", "--name", "mapped", "busybox", "sh", "-c", "cat /proc/self/uid_map; sleep 60"]).ok();
    d.berth(&["create", "--name", "host", "--userns=host", "busybox", "cat", "/proc/self/uid_map"]).ok();
    // Without the flag again, the remapped container still runs remapped: its files are
    // owned for that mapping.
    d.extra.clear();
    d.restart();
    d.berth(&["start", "mapped"]).ok();
    let pid = d.berth(&["inspect", "-f", "{{.State.Pid}}", "mapped"]).ok().trim().to_owned();
    assert_eq!(proc_status(&pid, "Uid").split(' ').next(), Some(user.uid_start.to_string().as_str()));
    let r = d.berth(&["start", "-a", "host"]);
    assert_eq!(r.out().split_whitespace().collect::<Vec<_>>(), ["0", "0", "4294967295"], "{r:?}");
    let r = d.berth(&["start", "plain"]);
    assert_eq!(r.code, 0, "{r:?}");
    d.rm_f_and_assert_clean(&["plain", "mapped", "host"]);
}

#[test]
fn bad_remap_settings_are_refused() {
    common::require_root();
    let e = common::daemon_refuses(&["--userns-remap", "bt-no-such-user"]);
    assert!(e.contains("user \"bt-no-such-user\" has no entry in /etc/passwd"), "{e}");
    let e = common::daemon_refuses(&["--userns-remap", "a:b:c"]);
    assert!(e.contains("invalid --userns-remap"), "{e}");
    // A user without subordinate ids (daemon's own group exists: `daemon` is in every
    // Debian passwd and group file).
    let e = common::daemon_refuses(&["--userns-remap", "daemon"]);
    assert!(e.contains("no subuid ranges found for user \"daemon\""), "{e}");
}

#[test]
fn default_makes_dockremap() {
    let files = SubidFiles::save();
    let existed = String::from_utf8_lossy(&read("/etc/passwd")).lines().any(|l| l.starts_with("dockremap:"));
    struct Remove(bool);
    impl Drop for Remove {
        fn drop(&mut self) {
            if self.0 {
                let _ = Command::new("userdel").arg("dockremap").status();
                let _ = Command::new("groupdel").arg("dockremap").stderr(std::process::Stdio::null()).status();
            }
        }
    }
    // Dropped before `files`: the ranges are restored after the user is gone.
    let _remove = Remove(!existed);
    let d = Daemon::start_with(&["--userns-remap", "default"]);
    d.busybox();
    let passwd = String::from_utf8_lossy(&read("/etc/passwd")).into_owned();
    assert!(passwd.lines().any(|l| l.starts_with("dockremap:")), "no dockremap user");
    let subuid = String::from_utf8_lossy(&read(SUBUID)).into_owned();
    let start: u32 = subuid
        .lines()
        .find_map(|l| l.strip_prefix("dockremap:"))
        .and_then(|r| r.split(':').next()?.parse().ok())
        .expect("a subuid range for dockremap");
    let r = d.docker(&["run", "--rm", "busybox", "cat", "/proc/self/uid_map"]);
    assert_eq!(r.out().split_whitespace().collect::<Vec<_>>(), ["0".to_owned(), start.to_string(), "65536".to_owned()]);
    drop(d);
    drop(_remove);
    drop(files);
}

/// A supervised container in a user namespace: its init (the namespace's root, a subordinate
/// id on the host) makes its control socket in its private control directory, and the host's
/// `berth supervise` reaches it.
#[test]
fn supervised_containers_in_a_user_namespace() {
    let user = RemapUser::new();
    let d = Daemon::start_with(&["--userns-remap", &user.name]);
    d.busybox();
    d.berth(&["run", "-d", "--name", "sv", "--supervise", "--program", "idle=sleep 1d", "busybox"]).ok();
    let id = d.berth(&["inspect", "-f", "{{.Id}}", "sv"]).ok().trim().to_owned();
    let control = d.root.join("containers").join(&id).join("supervisor");
    common::wait_until(10, "the control socket", || control.join("control.sock").exists());
    let st = std::fs::metadata(&control).unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert_eq!((st.uid(), st.permissions().mode() & 0o7777), (user.uid_start, 0o700));
    common::wait_until(10, "the program to run", || d.berth(&["supervise", "sv", "status"]).stdout.contains("RUNNING"));
    d.rm_f_and_assert_clean(&["sv"]);
}
