//! Whole-container persistence end to end: `commit` (berth's CLI and the real docker CLI),
//! `run --persist` layers that outlive their container (`persist ls|rm`), `upgrade` onto a newer
//! image with collisions refused or settled by `--prefer`, the same address after an upgrade
//! on a user-defined network; and, without `--persist`, Docker's behaviour: a re-created
//! container starts from its image again.

mod common;
mod support;

use common::Daemon;
use support::{BOTH, cli, setup};

fn inspect(d: &Daemon, name: &str, format: &str) -> String {
    d.berth(&["inspect", "-f", format, name]).ok().trim().to_owned()
}

fn image_id(d: &Daemon, image: &str) -> String {
    d.berth(&["image", "inspect", "-f", "{{.Id}}", image]).ok().trim().to_owned()
}

/// Commits what `script` does in a busybox-based container as `reference`, with `changes`.
fn build(d: &Daemon, from: &str, reference: &str, script: &str, changes: &[&str]) {
    d.berth(&["run", "--name", "builder", from, "sh", "-c", script]).ok();
    let mut args = vec!["commit"];
    for c in changes {
        args.extend_from_slice(&["-c", c]);
    }
    args.extend_from_slice(&["builder", reference]);
    d.berth(&args).ok();
    d.berth(&["rm", "builder"]).ok();
}

/// app:v1 has /etc/version=1; app:v2, built on v1, /etc/version=2 and a new /etc/newfile. Both
/// sleep by default; each has its own FLAVOR.
fn two_versions(d: &Daemon) {
    build(d, "busybox", "app:v1", "echo 1 > /etc/version", &["ENV FLAVOR=one", r#"CMD ["sleep", "1000"]"#]);
    // A commit keeps the builder's command, as Docker's does: each version sets its own.
    build(
        d,
        "app:v1",
        "app:v2",
        "echo 2 > /etc/version; echo new > /etc/newfile",
        &["ENV FLAVOR=two", r#"CMD ["sleep", "1000"]"#],
    );
}

fn exec(d: &Daemon, name: &str, script: &str) -> String {
    d.berth(&["exec", name, "sh", "-c", script]).ok().trim().to_owned()
}

#[test]
fn commit_makes_a_runnable_image_with_the_changes() {
    let d = setup();
    d.berth(&["run", "--name", "c1", "busybox", "sh", "-c", "mkdir -p /data && echo hi > /data/greet && rm /bin/vi"])
        .ok();
    for (i, c) in BOTH.into_iter().enumerate() {
        let tag = format!("greet:{i}");
        let r =
            cli(&d, c, &["commit", "-m", "a message", "-a", "me", "-c", r#"CMD ["cat", "/data/greet"]"#, "c1", &tag]);
        let id = r.ok().trim().to_owned();
        assert!(id.starts_with("sha256:"), "{c:?}: {id}");
        assert_eq!(image_id(&d, &tag), id);
        assert_eq!(d.berth(&["run", "--rm", &tag]).ok(), "hi\n", "{c:?}");
        // The deletion is a whiteout in the new layer.
        let r = d.berth(&["run", "--rm", &tag, "ls", "/bin/vi"]);
        assert_ne!(r.code, 0, "{c:?}: /bin/vi should be gone: {r:?}");
        let layers = d.berth(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", &tag]).ok().trim().to_owned();
        assert_eq!(layers, "2", "{c:?}: busybox's layer plus one");
        let hist = d.berth(&["history", "--format", "{{.Comment}}", &tag]).ok().to_owned();
        assert!(hist.starts_with("a message"), "{c:?}: {hist}");
        assert_eq!(d.berth(&["image", "inspect", "-f", "{{.Author}}", &tag]).ok().trim(), "me");
    }

    // A running container, paused for the commit (the default) and running after it.
    d.berth(&["run", "-d", "--name", "live", "busybox", "sleep", "1000"]).ok();
    exec(&d, "live", "echo live > /live");
    d.docker(&["commit", "--change", "ENV X=1", "live", "live:1"]).ok();
    assert_eq!(inspect(&d, "live", "{{.State.Status}}"), "running");
    assert_eq!(d.berth(&["run", "--rm", "live:1", "sh", "-c", "echo $X; cat /live"]).ok(), "1\nlive\n");
    d.berth(&["commit", "--pause=false", "live", "live:2"]).ok();
    assert_eq!(d.berth(&["run", "--rm", "live:2", "cat", "/live"]).ok(), "live\n");

    // Bad input: clear errors, nothing made.
    let before = d.berth(&["images", "-q"]).ok().to_owned();
    let r = d.berth(&["commit", "nosuch", "x:1"]);
    assert!(r.code != 0 && r.stderr.contains("No such container: nosuch"), "{r:?}");
    let r = d.berth(&["commit", "c1", "Bad:Ref"]);
    assert!(r.code != 0 && r.stderr.contains("Bad:Ref"), "{r:?}");
    let r = d.berth(&["commit", "-c", "FROM scratch", "c1", "x:1"]);
    assert!(r.code != 0 && r.stderr.contains("FROM"), "{r:?}");
    let r = d.docker(&["commit", "-c", "BOGUS x", "c1"]);
    assert!(r.code != 0 && r.stderr.contains("BOGUS"), "{r:?}");
    assert_eq!(d.berth(&["images", "-q"]).ok(), before);
    d.rm_f_and_assert_clean(&["c1", "live"]);
}

#[test]
fn persistent_layer_outlives_its_container() {
    let mut d = setup();
    let r = d.berth(&["run", "--persist", "busybox", "true"]);
    assert!(r.code != 0 && r.stderr.contains("--persist needs a container name"), "{r:?}");

    d.berth(&["run", "--persist", "--name", "pp", "busybox", "sh", "-c", "echo kept > /root/file"]).ok();
    assert_eq!(inspect(&d, "pp", "{{.HostConfig.Persist}}"), "true");
    let upper = inspect(&d, "pp", "{{.GraphDriver.Data.UpperDir}}");
    assert_eq!(upper, d.root.join("persistent/pp/upper").display().to_string());
    d.berth(&["rm", "pp"]).ok();
    assert!(d.root.join("persistent/pp/upper/root/file").is_file(), "rm keeps the layer");
    let ls = d.berth(&["persist", "ls"]).ok().to_owned();
    assert!(ls.lines().any(|l| l.starts_with("pp ") && l.contains(" - ")), "{ls}");

    // A new --persist container of the same name sees it.
    d.berth(&["run", "-d", "--persist", "--name", "pp", "busybox", "sleep", "1000"]).ok();
    assert_eq!(exec(&d, "pp", "cat /root/file"), "kept");
    let id = inspect(&d, "pp", "{{.Id}}");
    // A daemon restart finds the layer through the record.
    d.restart();
    d.berth(&["restart", "-t", "0", "pp"]).ok();
    assert_eq!(exec(&d, "pp", "cat /root/file"), "kept");
    assert_eq!(d.berth(&["persist", "ls", "-q"]).ok(), "pp\n");
    assert!(d.berth(&["persist", "ls"]).ok().contains(&id[..12]));
    // In use: it can't be dropped, nor taken by another container.
    let r = d.berth(&["persist", "rm", "pp"]);
    assert!(r.code != 0 && r.stderr.contains("in use by container"), "{r:?}");
    d.berth(&["rename", "pp", "pp2"]).ok();
    let r = d.berth(&["run", "--persist", "--name", "pp", "busybox", "true"]);
    assert!(r.code != 0 && r.stderr.contains("in use by container"), "{r:?}");
    // Docker's client ignores the extension: it can still drive the container.
    assert_eq!(d.docker(&["exec", "pp2", "cat", "/root/file"]).ok(), "kept\n");
    d.berth(&["rm", "-f", "pp2"]).ok();
    d.berth(&["persist", "rm", "pp"]).ok();
    assert!(!d.root.join("persistent/pp").exists());
    assert_eq!(d.berth(&["persist", "ls", "-q"]).ok(), "");
    let r = d.berth(&["persist", "rm", "pp"]);
    assert!(r.code != 0 && r.stderr.contains("No such persistent layer: pp"), "{r:?}");

    // Without --persist, Docker's behaviour: a re-created container starts from its image.
    d.berth(&["run", "--name", "np", "busybox", "sh", "-c", "echo gone > /root/file"]).ok();
    d.berth(&["rm", "np"]).ok();
    let r = d.berth(&["run", "--rm", "--name", "np", "busybox", "cat", "/root/file"]);
    assert!(r.code != 0 && r.stderr.contains("No such file"), "{r:?}");
    d.assert_no_mounts("mounts left behind");
}

#[test]
fn upgrade_keeps_the_layer_and_the_address() {
    let d = setup();
    two_versions(&d);
    d.berth(&["tag", "app:v1", "app:current"]).ok();
    d.berth(&["network", "create", "pnet"]).ok();
    d.berth(&[
        "run",
        "-d",
        "--stop-timeout",
        "1",
        "--persist",
        "--name",
        "pp",
        "--network",
        "pnet",
        "-e",
        "MINE=1",
        "app:current",
    ])
    .ok();
    exec(&d, "pp", "echo mine > /root/mine; echo mine > /etc/version");
    let ip = inspect(&d, "pp", "{{.NetworkSettings.Networks.pnet.IPAddress}}");
    let v1 = image_id(&d, "app:v1");
    assert_eq!(exec(&d, "pp", "echo $FLAVOR"), "one");

    // The tag moves; a plain upgrade re-resolves it and refuses: /etc/version collides.
    d.berth(&["tag", "app:v2", "app:current"]).ok();
    let r = d.berth(&["upgrade", "pp"]);
    assert!(r.code != 0, "{r:?}");
    assert!(r.stderr.contains("/etc/version") && r.stderr.contains("--prefer"), "{r:?}");
    assert!(!r.stderr.contains("/root/mine"), "{r:?}");
    assert_eq!(inspect(&d, "pp", "{{.Image}}"), v1, "a refused upgrade changes nothing");
    assert_eq!(inspect(&d, "pp", "{{.State.Status}}"), "running");
    let r = d.berth(&["upgrade", "--prefer", "both", "pp"]);
    assert!(r.code != 0 && r.stderr.contains("--prefer"), "{r:?}");
    let r = d.berth(&["upgrade", "--image", "nosuch:1", "pp"]);
    assert!(r.code != 0 && r.stderr.contains("No such image: nosuch:1"), "{r:?}");

    let out = d.berth(&["upgrade", "--prefer", "container", "pp"]).ok().to_owned();
    assert!(out.contains("/etc/version"), "{out}");
    assert_eq!(inspect(&d, "pp", "{{.Image}}"), image_id(&d, "app:v2"));
    assert_eq!(inspect(&d, "pp", "{{.State.Status}}"), "running", "a running container runs again");
    assert_eq!(exec(&d, "pp", "cat /root/mine /etc/version /etc/newfile"), "mine\nmine\nnew");
    // The user's settings stay; the old image's defaults don't.
    assert_eq!(exec(&d, "pp", "echo $MINE $FLAVOR"), "1 two");
    assert_eq!(inspect(&d, "pp", "{{.NetworkSettings.Networks.pnet.IPAddress}}"), ip, "same address");
    assert_eq!(inspect(&d, "pp", "{{.HostConfig.Persist}}"), "true");
    // Traffic to its own address still works.
    exec(&d, "pp", &format!("ping -c 1 -W 2 {ip}"));

    // A stopped container, settled for the image: its version is dropped, the rest kept.
    d.berth(&["run", "-d", "--persist", "--name", "qq", "app:v1"]).ok();
    exec(&d, "qq", "echo mine > /root/mine; echo mine > /etc/version");
    d.berth(&["stop", "-t", "0", "qq"]).ok();
    let out = d.berth(&["upgrade", "--image", "app:v2", "--prefer", "image", "qq"]).ok().to_owned();
    assert!(out.contains("/etc/version"), "{out}");
    assert_eq!(inspect(&d, "qq", "{{.State.Status}}"), "exited", "a stopped container stays stopped");
    d.berth(&["start", "qq"]).ok();
    assert_eq!(exec(&d, "qq", "cat /root/mine /etc/version /etc/newfile"), "mine\n2\nnew");

    // Not a --persist container: allowed too, its layer is kept the same way. Its deletion of
    // a file the new image changed collides too; preferring the image drops the whiteout.
    d.berth(&["run", "-d", "--stop-timeout", "1", "--name", "plain", "app:v1"]).ok();
    exec(&d, "plain", "echo mine > /root/mine; rm /etc/version");
    d.berth(&["pause", "plain"]).ok();
    let r = d.berth(&["upgrade", "--image", "app:v2", "plain"]);
    assert!(r.code != 0 && r.stderr.contains("paused"), "{r:?}");
    d.berth(&["unpause", "plain"]).ok();
    let r = d.berth(&["upgrade", "--image", "app:v2", "plain"]);
    assert!(r.code != 0 && r.stderr.contains("/etc/version"), "{r:?}");
    d.berth(&["upgrade", "--image", "app:v2", "--prefer", "image", "plain"]).ok();
    assert_eq!(exec(&d, "plain", "cat /root/mine /etc/version"), "mine\n2");
    d.rm_f_and_assert_clean(&["pp", "qq", "plain"]);
}

#[test]
fn restart_and_upgrade_keep_a_rm_container_and_a_second_upgrade_stays_on_the_new_image() {
    let d = setup();
    two_versions(&d);
    d.berth(&["tag", "app:v1", "app:latest"]).ok();
    d.berth(&["run", "-d", "--rm", "--persist", "--name", "rmp", "--stop-signal", "KILL", "app", "sleep", "1000"]).ok();
    let id = inspect(&d, "rmp", "{{.Id}}");
    // restart: the stop is not an exit that removes a --rm container (dockerd's behaviour).
    d.berth(&["restart", "-t", "0", "rmp"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(inspect(&d, "rmp", "{{.Id}} {{.State.Status}}"), format!("{id} running"));
    // upgrade to another image: same container, still running; a plain upgrade later resolves
    // the image it was upgraded to, not the one it was created with.
    d.berth(&["upgrade", "rmp", "--image", "app:v2", "--prefer", "image"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(inspect(&d, "rmp", "{{.Id}} {{.State.Status}}"), format!("{id} running"));
    assert_eq!(exec(&d, "rmp", "cat /etc/version"), "2");
    d.berth(&["upgrade", "rmp"]).ok();
    assert_eq!(inspect(&d, "rmp", "{{.Image}}"), image_id(&d, "app:v2"));
    // A plain stop still removes it.
    d.berth(&["stop", "-t", "0", "rmp"]).ok();
    common::wait_until(10, "the --rm container to go", || d.berth(&["inspect", "rmp"]).code != 0);
}
