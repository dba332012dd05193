//! Volumes and mounts end to end, with real containers, real mounts and both CLIs: named and
//! anonymous volumes and what survives what, Docker's copy-up, binds, `--mount`, `--tmpfs`,
//! `--volumes-from`, `--read-only`, driver-option (tmpfs) volumes, `rm -v`, `volume
//! ls|inspect|prune`, `system df|prune`, and berth's `mount add|rm` on running containers.
//! Every test checks that no mount is left under the daemon's directories.

mod common;
mod support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::Daemon;
use support::{BOTH, cli, setup};

fn volume_data(d: &Daemon, name: &str) -> PathBuf {
    d.root.join("volumes").join(name).join("_data")
}

fn volumes(d: &Daemon) -> Vec<String> {
    let out = d.berth(&["volume", "ls", "-q"]);
    out.ok().lines().map(str::to_owned).collect()
}

/// An image with `VOLUME` paths (`/etc` has content in busybox, `/var/lib/db` does not).
fn volume_image(d: &Daemon) {
    volume_image_with(d, r#"VOLUME ["/etc", "/var/lib/db"]"#);
}

/// `volimg:latest`: busybox with the `VOLUME` instruction `volume`.
fn volume_image_with(d: &Daemon, volume: &str) {
    let tar = common::busybox_tar();
    d.berth(&["import", tar.to_str().unwrap(), "volimg:latest", "-c", volume, "-c", "CMD [\"sh\"]"]).ok();
}

fn pid1(d: &Daemon, name: &str) -> String {
    d.berth(&["inspect", "-f", "{{.State.Pid}}", name]).ok().trim().to_owned()
}

#[test]
fn named_volume_outlives_containers_and_daemon_restarts_and_cannot_go_while_used() {
    let mut d = setup();
    d.berth(&["volume", "create", "data"]).ok();
    d.berth(&["run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f"]).ok();
    assert_eq!(std::fs::read_to_string(volume_data(&d, "data").join("f")).unwrap(), "kept\n");
    d.berth(&["create", "--name", "user", "-v", "data:/data", "busybox", "true"]).ok();
    d.restart();
    assert_eq!(d.berth(&["run", "--rm", "-v", "data:/x", "busybox", "cat", "/x/f"]).out(), "kept");
    // In use by a stopped container: refused, nothing lost.
    let r = d.berth(&["volume", "rm", "data"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("volume is in use"), "{r:?}");
    assert!(volume_data(&d, "data").join("f").exists());
    // `rm -v` never removes a named volume.
    d.berth(&["rm", "-v", "user"]).ok();
    assert!(volumes(&d).contains(&"data".to_owned()));
    d.berth(&["volume", "rm", "data"]).ok();
    assert!(!d.root.join("volumes/data").exists());
    let r = d.berth(&["volume", "rm", "data"]);
    assert!(r.stderr.contains("no such volume"), "{r:?}");
    d.berth(&["volume", "rm", "-f", "data"]).ok();
    d.assert_no_mounts("mounts left behind");
}

#[test]
fn image_volumes_become_anonymous_volumes_filled_from_the_image() {
    let d = setup();
    volume_image(&d);
    d.berth(&["run", "-d", "--name", "db", "volimg", "sleep", "1000"]).ok();
    let mounts = d.berth(&["inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Destination}} {{.Name}};{{end}}", "db"]);
    let mounts: Vec<Vec<String>> =
        mounts.out().split(';').filter(|s| !s.is_empty()).map(|m| m.split(' ').map(str::to_owned).collect()).collect();
    assert_eq!(mounts.len(), 2, "{mounts:?}");
    let etc = mounts.iter().find(|m| m[1] == "/etc").expect("an /etc volume");
    assert_eq!(etc[0], "volume");
    // Copy-up: the image's /etc, with its owners and modes, is in the new volume.
    let data = volume_data(&d, &etc[2]);
    let passwd = std::fs::metadata(data.join("passwd")).expect("passwd copied into the volume");
    let img = d.berth(&["run", "--rm", "busybox", "stat", "-c", "%a %u %g %s", "/etc/passwd"]);
    assert_eq!(format!("{:o} {} {} {}", passwd.mode() & 0o7777, passwd.uid(), passwd.gid(), passwd.size()), img.out());
    // The container writes into its volume, not its writable layer.
    d.berth(&["exec", "db", "sh", "-c", "echo v > /var/lib/db/x"]).ok();
    let db = mounts.iter().find(|m| m[1] == "/var/lib/db").unwrap();
    assert_eq!(std::fs::read_to_string(volume_data(&d, &db[2]).join("x")).unwrap(), "v\n");
    assert!(d.berth(&["diff", "db"]).out().lines().all(|l| !l.contains("/var/lib/db/x")));
    // A named volume new at this create is filled too; nocopy leaves it empty.
    d.berth(&["run", "--rm", "-v", "fresh:/etc", "busybox", "true"]).ok();
    assert!(volume_data(&d, "fresh").join("passwd").exists());
    d.berth(&["run", "--rm", "-v", "empty:/etc:nocopy", "busybox", "true"]).ok();
    // (Only the mount points of /etc/hosts and friends are made in it, as with Docker.)
    assert!(!volume_data(&d, "empty").join("passwd").exists());
    // `-v /path` also makes an anonymous volume; `--rm` takes it away, named ones stay.
    let before = volumes(&d).len();
    d.berth(&["run", "--rm", "-v", "/scratch", "busybox", "touch", "/scratch/f"]).ok();
    assert_eq!(volumes(&d).len(), before);
    // `rm -v` removes the container's anonymous volumes only.
    d.berth(&["rm", "-f", "-v", "db"]).ok();
    let left = volumes(&d);
    assert!(!left.contains(&etc[2]) && !left.contains(&db[2]), "{left:?}");
    assert!(left.contains(&"fresh".to_owned()) && left.contains(&"empty".to_owned()));
    // Without -v they stay (and a second container can use them).
    d.berth(&["create", "--name", "db2", "volimg"]).ok();
    let n = volumes(&d).len();
    d.berth(&["rm", "db2"]).ok();
    assert_eq!(volumes(&d).len(), n);
    d.assert_no_mounts("mounts left behind");
}

#[test]
fn binds_mount_flag_tmpfs_and_read_only_root() {
    let d = setup();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("in"), "from host\n").unwrap();
    let h = host.path().to_str().unwrap();
    let rw = format!("{h}:/h");
    let ro = format!("{h}:/h:ro");
    let out = d.berth(&["run", "--rm", "-v", &rw, "busybox", "sh", "-c", "cat /h/in; echo back > /h/out"]);
    assert_eq!(out.out(), "from host");
    assert_eq!(std::fs::read_to_string(host.path().join("out")).unwrap(), "back\n");
    let r = d.berth(&["run", "--rm", "-v", &ro, "busybox", "touch", "/h/no"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
    let m = format!("type=bind,source={h},target=/b,readonly");
    let r = d.berth(&["run", "--rm", "--mount", &m, "busybox", "touch", "/b/no"]);
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
    // Read-only binds are read-only all the way down, submounts included (Docker 25+).
    let sub = host.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    nix::mount::mount(Some("tmpfs"), &sub, Some("tmpfs"), nix::mount::MsFlags::empty(), Some("size=1m")).unwrap();
    let r = d.berth(&["run", "--rm", "-v", &ro, "busybox", "touch", "/h/sub/no"]);
    let _ = nix::mount::umount2(&sub, nix::mount::MntFlags::MNT_DETACH);
    assert!(r.stderr.contains("Read-only file system"), "a submount of a read-only bind was writable: {r:?}");
    // Propagation as asked.
    let m = format!("type=bind,source={h},target=/p,bind-propagation=rshared");
    let info = d.berth(&["run", "--rm", "--mount", &m, "busybox", "grep", " /p ", "/proc/self/mountinfo"]);
    assert!(info.out().contains("shared:"), "{info:?}");
    // A tmpfs from --mount with its size, and --tmpfs.
    let df = d.berth(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,target=/t,tmpfs-size=2m",
        "--tmpfs",
        "/u:size=3m",
        "busybox",
        "sh",
        "-c",
        "df -k /t /u | tail -2 | awk '{print $2}'",
    ]);
    assert_eq!(df.out(), "2048\n3072");
    // --read-only: the root refuses writes, volumes and tmpfs don't.
    let r =
        d.berth(&["run", "--rm", "--read-only", "-v", "rovol:/v", "busybox", "sh", "-c", "touch /v/ok && touch /nope"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
    assert!(volume_data(&d, "rovol").join("ok").exists());
    // A missing -v host path is created, as Docker's.
    let missing = host.path().join("made/here");
    let spec = format!("{}:/m", missing.display());
    d.berth(&["run", "--rm", "-v", &spec, "busybox", "true"]).ok();
    assert!(missing.is_dir());
    d.assert_no_mounts("mounts left behind");
}

#[test]
fn bad_mount_specifications_are_refused_and_leave_nothing() {
    let d = setup();
    let before_volumes = volumes(&d);
    let cases: &[(&[&str], &str)] = &[
        (&["--mount", "type=bind,source=/nonexistent-berth-src,target=/x"], "bind source path does not exist"),
        (&["-v", "/tmp:relative"], "mount path must be absolute"),
        (&["-v", "/tmp:/"], "destination can't be '/'"),
        (&["-v", "v1:/x:rx"], "invalid mode: rx"),
        (&["-v", "bad name!:/x"], "includes invalid characters for a local volume name"),
        (&["-v", "okvol:/x", "-v", "/tmp:/x"], "Duplicate mount point: /x"),
        (&["--mount", "type=tmpfs,source=x,target=/t"], "Source must not be specified"),
        (&["--mount", "type=volume,target=/x,bind-propagation=shared"], "cannot mix"),
        (&["--mount", "source=x"], "target is required"),
    ];
    for (flags, msg) in cases {
        let mut args = vec!["create", "--name", "bad"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let r = d.berth(&args);
        assert_ne!(r.code, 0, "{flags:?} was accepted");
        assert!(r.stderr.contains(msg), "{flags:?}: expected {msg:?} in {:?}", r.stderr);
        assert!(d.container_ids().is_empty(), "{flags:?} left a container");
    }
    assert_eq!(volumes(&d), before_volumes, "a refused create left a volume");
    let r = d.berth(&["volume", "create", "--opt", "colour=blue", "v2"]);
    assert!(r.stderr.contains("invalid option key"), "{r:?}");
    let r = d.berth(&["volume", "create", "-d", "nfs-plugin", "v3"]);
    assert!(r.stderr.contains("plugin \"nfs-plugin\" not found"), "{r:?}");
    assert_eq!(volumes(&d), before_volumes);
}

#[test]
fn volumes_from_shares_volumes_and_binds_read_only_on_request() {
    let d = setup();
    let host = tempfile::tempdir().unwrap();
    let bind = format!("{}:/hostdir", host.path().display());
    d.berth(&["create", "--name", "src", "-v", "shared:/shared", "-v", &bind, "-v", "/anon", "busybox"]).ok();
    d.berth(&[
        "run",
        "--rm",
        "--volumes-from",
        "src",
        "busybox",
        "sh",
        "-c",
        "echo 1 > /shared/a; echo 2 > /hostdir/b; echo 3 > /anon/c",
    ])
    .ok();
    assert!(volume_data(&d, "shared").join("a").exists());
    assert!(host.path().join("b").exists());
    let r = d.berth(&["run", "--rm", "--volumes-from", "src:ro", "busybox", "touch", "/shared/no"]);
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
    // The anonymous volume belongs to src: removing the user with --rm didn't remove it.
    let anon =
        d.berth(&["inspect", "-f", "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Name}}{{end}}{{end}}", "src"]);
    assert!(volume_data(&d, anon.out()).join("c").exists());
    let r = d.berth(&["create", "--volumes-from", "nosuch", "busybox"]);
    assert!(r.stderr.contains("No such container"), "{r:?}");
    d.assert_no_mounts("mounts left behind");
}

#[test]
fn tmpfs_driver_volume_is_shared_while_used_and_unmounted_after() {
    let d = setup();
    d.berth(&["volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=4m", "mem"]).ok();
    d.berth(&["run", "-d", "--name", "a1", "-v", "mem:/m", "busybox", "sh", "-c", "echo shared > /m/f; sleep 1000"])
        .ok();
    common::wait_until(10, "the file in the tmpfs volume", || {
        d.berth(&["exec", "a1", "cat", "/m/f"]).out() == "shared"
    });
    assert_eq!(d.berth(&["run", "--rm", "-v", "mem:/m", "busybox", "cat", "/m/f"]).out(), "shared");
    let data = volume_data(&d, "mem");
    assert!(d.mounts().iter().any(|l| l.contains(data.to_str().unwrap())), "the tmpfs is mounted while used");
    d.berth(&["rm", "-f", "a1"]).ok();
    d.assert_no_mounts("the tmpfs volume is still mounted");
    // A bind-type volume: the device directory itself.
    let host = tempfile::tempdir().unwrap();
    let dev = format!("device={}", host.path().display());
    d.berth(&["volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", &dev, "hostvol"]).ok();
    d.berth(&["run", "--rm", "-v", "hostvol:/v", "busybox", "touch", "/v/made"]).ok();
    assert!(host.path().join("made").exists());
    d.assert_no_mounts("mounts left behind");
}

#[test]
fn mount_add_and_rm_change_a_running_container_and_its_configuration() {
    let d = setup();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("seen"), "host file\n").unwrap();
    d.berth(&["run", "-d", "--name", "live", "busybox", "sleep", "1000"]).ok();
    let pid = pid1(&d, "live");
    d.berth(&["mount", "add", "live", "added:/data"]).ok();
    let spec = format!("{}:/host:ro", host.path().display());
    d.berth(&["mount", "add", "live", &spec]).ok();
    d.berth(&["mount", "add", "live", "type=tmpfs,target=/scratch,tmpfs-size=1m"]).ok();
    // Visible to the running processes at once; PID 1 is the same process.
    d.berth(&["exec", "live", "sh", "-c", "echo in > /data/f"]).ok();
    assert_eq!(std::fs::read_to_string(volume_data(&d, "added").join("f")).unwrap(), "in\n");
    assert_eq!(d.berth(&["exec", "live", "cat", "/host/seen"]).out(), "host file");
    let r = d.berth(&["exec", "live", "touch", "/host/no"]);
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
    assert_eq!(d.berth(&["exec", "live", "sh", "-c", "df -k /scratch | tail -1 | awk '{print $2}'"]).out(), "1024");
    assert_eq!(pid1(&d, "live"), pid);
    let dests = d.berth(&["inspect", "-f", "{{range .Mounts}}{{.Destination}} {{end}}", "live"]);
    assert_eq!(dests.out().trim(), "/data /host /scratch");
    // Errors: a taken destination, an unknown one, a volume in use.
    let r = d.berth(&["mount", "add", "live", "other:/data"]);
    assert!(r.stderr.contains("already has a volume mount on /data"), "{r:?}");
    let r = d.berth(&["mount", "rm", "live", "/nothing"]);
    assert!(r.stderr.contains("has no mount on /nothing"), "{r:?}");
    assert!(d.berth(&["volume", "rm", "added"]).stderr.contains("volume is in use"));
    // Kept in the configuration: there after a restart.
    d.berth(&["restart", "-t", "0", "live"]).ok();
    assert_eq!(d.berth(&["exec", "live", "cat", "/data/f"]).out(), "in");
    assert_eq!(d.berth(&["exec", "live", "cat", "/host/seen"]).out(), "host file");
    // Removed at once, and for good.
    let pid = pid1(&d, "live");
    d.berth(&["mount", "rm", "live", "/host"]).ok();
    d.berth(&["mount", "rm", "live", "/data"]).ok();
    assert_eq!(d.berth(&["exec", "live", "ls", "/host"]).out(), "");
    assert_eq!(pid1(&d, "live"), pid);
    d.berth(&["volume", "rm", "added"]).ok();
    d.berth(&["restart", "-t", "0", "live"]).ok();
    assert_eq!(d.berth(&["exec", "live", "ls", "/data"]).out(), "");
    assert_eq!(
        d.berth(&["inspect", "-f", "{{range .Mounts}}{{.Destination}} {{end}}", "live"]).out().trim(),
        "/scratch"
    );
    // On a stopped container, it is configuration only.
    d.berth(&["stop", "-t", "0", "live"]).ok();
    d.berth(&["mount", "add", "live", "later:/later"]).ok();
    d.berth(&["start", "live"]).ok();
    d.berth(&["exec", "live", "touch", "/later/x"]).ok();
    assert!(volume_data(&d, "later").join("x").exists());
    d.berth(&["rm", "-f", "live"]).ok();
    d.assert_no_mounts("mounts left behind");
}

#[test]
fn volume_commands_and_disk_usage_with_both_clis() {
    let d = setup();
    for c in BOTH {
        let tag = format!("{c:?}").to_lowercase();
        let named = format!("named-{tag}");
        cli(&d, c, &["volume", "create", "--label", "team=a", &named]).ok();
        assert_eq!(
            cli(&d, c, &["volume", "inspect", "-f", "{{.Driver}} {{.Labels.team}} {{.Scope}}", &named]).out(),
            "local a local"
        );
        let mp = cli(&d, c, &["volume", "inspect", "-f", "{{.Mountpoint}}", &named]);
        assert_eq!(Path::new(mp.out()), volume_data(&d, &named));
        cli(&d, c, &["run", "--name", &tag, "-v", "/anon", "busybox", "true"]).ok();
        let ls = cli(&d, c, &["volume", "ls", "--filter", "label=team=a", "--format", "{{.Name}}"]);
        assert_eq!(ls.out(), named);
        let dangling = cli(&d, c, &["volume", "ls", "-q", "--filter", "dangling=true"]);
        assert!(dangling.out().lines().any(|l| l == named), "{dangling:?}");
        let df = cli(&d, c, &["system", "df", "--format", "{{.Type}}={{.TotalCount}}"]);
        assert!(df.out().contains("Local Volumes=2"), "{df:?}");
        // prune: anonymous unused volumes only; -a: every unused one.
        cli(&d, c, &["rm", &tag]).ok();
        let p = cli(&d, c, &["volume", "prune", "-f"]);
        assert!(p.out().contains("Deleted Volumes:") && !p.out().contains(&named), "{p:?}");
        assert_eq!(volumes(&d), vec![named.clone()]);
        let p = cli(&d, c, &["volume", "prune", "-a", "-f"]);
        assert!(p.out().contains(&named), "{p:?}");
        assert!(volumes(&d).is_empty());
    }
    // system prune --volumes: stopped containers, then their anonymous volumes.
    d.berth(&["run", "--name", "gone", "-v", "/anon", "busybox", "true"]).ok();
    d.berth(&["volume", "create", "stays"]).ok();
    let p = d.berth(&["system", "prune", "-f", "--volumes"]);
    assert!(p.out().contains("Deleted Containers:") && p.out().contains("Deleted Volumes:"), "{p:?}");
    assert_eq!(volumes(&d), vec!["stays".to_owned()]);
    let r = d.docker(&["volume", "rm", "nosuch"]);
    assert!(r.stderr.contains("no such volume"), "{r:?}");
    d.assert_no_mounts("mounts left behind");
}

#[test]
fn upgrade_keeps_volumes_and_gives_new_image_volumes_their_own() {
    let d = setup();
    volume_image(&d);
    d.berth(&["run", "-d", "--name", "up", "--stop-signal", "KILL", "-v", "named:/data", "volimg", "sleep", "1000"])
        .ok();
    d.berth(&["exec", "up", "sh", "-c", "echo a > /var/lib/db/a; echo n > /data/n"]).ok();
    let before =
        d.berth(&["inspect", "-f", "{{range .Mounts}}{{.Destination}}={{.Name}} {{end}}", "up"]).ok().to_owned();
    // Version 2 of the image adds a volume at /srv.
    volume_image_with(&d, r#"VOLUME ["/etc", "/var/lib/db", "/srv"]"#);
    d.berth(&["upgrade", "up"]).ok();
    let after =
        d.berth(&["inspect", "-f", "{{range .Mounts}}{{.Destination}}={{.Name}} {{end}}", "up"]).ok().to_owned();
    for m in before.split_whitespace() {
        assert!(after.split_whitespace().any(|x| x == m), "{m} lost: {after}");
    }
    assert!(after.contains("/srv="), "no volume for the new image's /srv: {after}");
    assert_eq!(d.berth(&["exec", "up", "cat", "/var/lib/db/a", "/data/n"]).out(), "a\nn");
    d.berth(&["rm", "-f", "-v", "up"]).ok();
    assert_eq!(volumes(&d), vec!["named".to_owned()]);
    d.assert_no_mounts("mounts left behind");
}

#[test]
fn persist_containers_keep_their_volume_paths_with_their_layer() {
    let d = setup();
    volume_image(&d);
    d.berth(&["run", "-d", "--rm", "--persist", "--name", "pv", "--stop-signal", "KILL", "volimg", "sleep", "1000"])
        .ok();
    d.berth(&["exec", "pv", "sh", "-c", "echo row > /var/lib/db/table; echo layer > /root/mine"]).ok();
    let names = d.berth(&["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", "pv"]).ok().to_owned();
    assert!(names.split_whitespace().all(|n| n.starts_with("pv-")), "{names}");
    // --rm removes the container, not the volumes of its persistent layer.
    d.berth(&["stop", "-t", "0", "pv"]).ok();
    common::wait_until(10, "the --rm container to go", || d.berth(&["inspect", "pv"]).code != 0);
    for n in names.split_whitespace() {
        assert!(volumes(&d).contains(&n.to_owned()), "{n} went with the container");
    }
    // The next container on the layer finds both its files and its volumes' data.
    let out =
        d.berth(&["run", "--rm", "--persist", "--name", "pv", "volimg", "cat", "/root/mine", "/var/lib/db/table"]);
    assert_eq!(out.out(), "layer\nrow");
    // Dropping the layer drops its volumes.
    d.berth(&["persist", "rm", "pv"]).ok();
    let left: Vec<String> = volumes(&d).into_iter().filter(|v| v.starts_with("pv-")).collect();
    assert!(left.is_empty(), "{left:?}");
    d.assert_no_mounts("mounts left behind");
}
