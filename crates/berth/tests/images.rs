//! Images end to end, through berth's CLI and the real docker CLI: `import` with `--change`
//! and `--message`, `images`, `tag`/`rmi` and their conflicts with containers, `save`/`load`
//! round trips between two daemons, OCI image layouts and legacy `docker save` archives built
//! byte by byte here, `history`, `image prune`; and the unpacker's defences: layers that try to
//! write outside their root, corrupt archives and blobs whose digest lies are refused with a
//! clear error, and leave nothing behind.

mod common;
mod support;

use std::path::{Path, PathBuf};

use common::Daemon;
use support::{
    BOTH, OciImage, Tar, cli, cli_stdin, digest, find_named, image_config, legacy_save, setup, tar_names, write_file,
};

fn busybox_path() -> String {
    common::busybox_tar().to_str().expect("utf-8 path").to_owned()
}

fn image_id(d: &Daemon, image: &str) -> String {
    d.berth(&["image", "inspect", "-f", "{{.Id}}", image]).ok().trim().to_owned()
}

/// `sha256:0123…` → `0123456789ab`.
fn short(id: &str) -> &str {
    &id.trim_start_matches("sha256:")[..12]
}

/// Lines of stdout, sorted.
fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
    v.sort();
    v
}

#[test]
fn import_applies_changes_and_message() {
    let d = Daemon::start();
    let tar = busybox_path();
    let changes = [
        r#"CMD ["echo $A-$B; pwd; id -u"]"#,
        r#"ENTRYPOINT ["/bin/sh", "-c"]"#,
        "ENV A=1 B=two",
        "WORKDIR /work",
        "USER nobody",
        "EXPOSE 80/tcp 53/udp",
        "VOLUME /data",
        "LABEL a=b c=d",
    ];
    for c in BOTH {
        let name = format!("changed:{c:?}").to_lowercase();
        let mut args = vec!["import"];
        for ch in &changes {
            args.extend(["-c", ch]);
        }
        args.extend(["-m", "my message", &tar, &name]);
        let r = cli(&d, c, &args);
        let id = r.ok().trim().to_owned();
        assert!(id.starts_with("sha256:") && id.len() == 71, "{c:?}: import prints the image ID: {r:?}");
        assert_eq!(image_id(&d, &name), id);
        for k in BOTH {
            let f = |fmt: &str| cli(&d, k, &["image", "inspect", "-f", fmt, &name]).ok().trim_end().to_owned();
            assert_eq!(f("{{json .Config.Cmd}}"), r#"["echo $A-$B; pwd; id -u"]"#, "{c:?}/{k:?}");
            assert_eq!(f("{{json .Config.Entrypoint}}"), r#"["/bin/sh","-c"]"#, "{c:?}/{k:?}");
            assert_eq!(f("{{json .Config.Env}}"), r#"["A=1","B=two"]"#, "{c:?}/{k:?}");
            assert_eq!(f("{{.Config.WorkingDir}}"), "/work", "{c:?}/{k:?}");
            assert_eq!(f("{{.Config.User}}"), "nobody", "{c:?}/{k:?}");
            assert_eq!(f("{{json .Config.ExposedPorts}}"), r#"{"53/udp":{},"80/tcp":{}}"#, "{c:?}/{k:?}");
            assert_eq!(f("{{json .Config.Volumes}}"), r#"{"/data":{}}"#, "{c:?}/{k:?}");
            assert_eq!(f("{{json .Config.Labels}}"), r#"{"a":"b","c":"d"}"#, "{c:?}/{k:?}");
            assert_eq!(f("{{.Comment}}"), "my message", "{c:?}/{k:?}");
            assert_eq!(f("{{.Os}}/{{.Architecture}}"), "linux/amd64", "{c:?}/{k:?}");
            assert_eq!(f("{{len .RootFS.Layers}}"), "1", "{c:?}/{k:?}");
        }
        // The message is the history entry's comment.
        let h = cli(&d, c, &["history", "--format", "{{.Comment}}", &name]);
        assert_eq!(h.out(), "my message", "{c:?}: {h:?}");
    }
    // Both CLIs import the same bytes with the same changes: the same layer.
    assert_eq!(
        d.berth(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", "changed:berth"]).out(),
        d.berth(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", "changed:docker"]).out()
    );
    // Without changes the config is empty: no Cmd, no Env (docker import adds no PATH).
    for c in BOTH {
        let name = format!("plain:{c:?}").to_lowercase();
        cli(&d, c, &["import", &tar, &name]).ok();
        let r = cli(
            &d,
            c,
            &["image", "inspect", "-f", "{{json .Config.Cmd}} {{json .Config.Entrypoint}} {{.Comment}}", &name],
        );
        assert_eq!(r.out(), "null null ", "{c:?}: {r:?}");
    }
}

#[test]
fn imported_changes_shape_the_container() {
    let d = Daemon::start();
    let tar = busybox_path();
    for c in BOTH {
        let name = format!("shaped:{c:?}").to_lowercase();
        let args = [
            "import",
            "-c",
            r#"CMD ["echo $A-$B; pwd; id -u"]"#,
            "-c",
            r#"ENTRYPOINT ["/bin/sh", "-c"]"#,
            "-c",
            "ENV A=1 B=two",
            "-c",
            "WORKDIR /work",
            "-c",
            "USER nobody",
            &tar,
            &name,
        ];
        cli(&d, c, &args).ok();
        // ENTRYPOINT + CMD, ENV, WORKDIR (created at start) and USER all apply.
        let r = cli(&d, c, &["run", "--rm", &name]);
        assert_eq!((r.code, r.out()), (0, "1-two\n/work\n65534"), "{c:?}: {r:?}");
        // Arguments replace CMD, not ENTRYPOINT.
        let r = cli(&d, c, &["run", "--rm", &name, "echo replaced"]);
        assert_eq!(r.out(), "replaced", "{c:?}: {r:?}");
    }
}

#[test]
fn image_volume_paths_exist_and_are_writable() {
    let d = Daemon::start();
    let tar = busybox_path();
    d.berth(&["import", "-c", "VOLUME /data", "-c", r#"CMD ["sh"]"#, &tar, "vol:1"]).ok();
    for c in BOTH {
        // Docker mounts an anonymous volume there; until berth has volumes (the volumes issue),
        // the directory is made in the container's writable layer, so the image still works.
        let r = cli(&d, c, &["run", "--rm", "vol:1", "sh", "-c", "touch /data/x && echo ok"]);
        assert_eq!((r.code, r.out()), (0, "ok"), "{c:?}: {r:?}");
        let r = cli(&d, c, &["inspect", "-f", "{{json .Config.Volumes}}", "vol:1"]);
        assert_eq!(r.out(), r#"{"/data":{}}"#, "{c:?}: {r:?}");
    }
}

#[test]
fn import_refuses_invalid_changes() {
    let d = Daemon::start();
    let tar = busybox_path();
    for c in BOTH {
        // moby's BuildFromConfig: only commit commands are allowed ("%s is not a valid change
        // command", with the instruction as written: buildkit's parser keeps its case).
        let r = cli(&d, c, &["import", "-c", "RUN echo hi", &tar, "bad:1"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert!(r.stderr.contains("RUN is not a valid change command"), "{c:?}: {}", r.stderr);
        let r = cli(&d, c, &["import", "-c", "FROM scratch", &tar, "bad:1"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert!(r.stderr.contains("FROM is not a valid change command"), "{c:?}: {}", r.stderr);
    }
    assert_eq!(d.berth(&["images", "-q"]).out(), "", "a refused import left an image");
}

#[test]
fn images_table_and_quiet() {
    let d = setup();
    let tar = busybox_path();
    d.berth(&["tag", "busybox", "bb:two"]).ok();
    // The list is sorted by creation time in seconds: make "other" the newest.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let other = d.berth(&["import", "-c", r#"CMD ["other"]"#, &tar, "other:1"]).ok().trim().to_owned();
    let bb = image_id(&d, "busybox");
    let cols = |l: &str| l.split("   ").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    for c in BOTH {
        let r = cli(&d, c, &["images"]);
        let lines: Vec<&str> = r.ok().lines().collect();
        assert_eq!(cols(lines[0]), ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], "{c:?}: {r:?}");
        // Newest first; the tags of one image come in no particular order (the docker CLI
        // walks a Go map).
        let rows: Vec<Vec<String>> = lines[1..].iter().map(|l| cols(l)).collect();
        let mut brief: Vec<String> = rows.iter().map(|r| format!("{} {} {}", r[0], r[1], r[2])).collect();
        assert_eq!(brief.len(), 3, "{c:?}: {r:?}");
        assert_eq!(brief[0], format!("other 1 {}", short(&other)), "{c:?}: {r:?}");
        brief[1..].sort();
        assert_eq!(
            brief[1..],
            [format!("bb two {}", short(&bb)), format!("busybox latest {}", short(&bb))],
            "{c:?}: {r:?}"
        );
        for row in &rows {
            assert_eq!(row.len(), 5, "{c:?}: {row:?}");
            assert!(row[3].ends_with("ago"), "{c:?}: CREATED is relative: {row:?}");
            assert_eq!(row[4], "1.98MB", "{c:?}: SIZE in Docker's units: {row:?}");
        }
        // -q prints one ID per row, like the table.
        let q = cli(&d, c, &["images", "-q"]);
        assert_eq!(q.out(), format!("{}\n{}\n{}", short(&other), short(&bb), short(&bb)), "{c:?}: {q:?}");
        // A reference filter keeps only the matching tags of an image.
        let q = cli(&d, c, &["images", "-q", "--no-trunc", "busybox"]);
        assert_eq!(q.out(), bb, "{c:?}: {q:?}");
        let r = cli(&d, c, &["images", "--format", "{{.Repository}}:{{.Tag}}", "bb"]);
        assert_eq!(r.out(), "bb:two", "{c:?}: {r:?}");
        let r = cli(&d, c, &["images", "--format", "{{.Repository}}:{{.Tag}}", "other"]);
        assert_eq!(r.out(), "other:1", "{c:?}: {r:?}");
        let r = cli(&d, c, &["images", "--filter", "dangling=true", "-q"]);
        assert_eq!(r.out(), "", "{c:?}: {r:?}");
    }
    // Both CLIs print the same table (CREATED left out: it moves with the clock).
    let fmt = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}";
    assert_eq!(
        sorted_lines(d.berth(&["images", "--format", fmt]).ok()),
        sorted_lines(d.docker(&["images", "--format", fmt]).ok())
    );
    // An untagged import is listed as <none> and is dangling.
    let dangling = d.berth(&["import", &tar]).ok().trim().to_owned();
    for c in BOTH {
        let r = cli(&d, c, &["images", "--filter", "dangling=true", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"]);
        assert_eq!(r.out(), format!("<none> <none> {}", short(&dangling)), "{c:?}: {r:?}");
    }
}

#[test]
fn tag_and_rmi_semantics() {
    let d = setup();
    let id = image_id(&d, "busybox");
    for c in BOTH {
        assert_eq!(cli(&d, c, &["tag", "busybox", "one:1"]).ok(), "", "{c:?}");
        assert_eq!(cli(&d, c, &["tag", "busybox:latest", "two"]).ok(), "", "{c:?}");
        assert_eq!(image_id(&d, "one:1"), id);
        assert_eq!(image_id(&d, "two:latest"), id);
        let r = cli(&d, c, &["tag", "nosuch", "x:1"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert!(r.stderr.contains("No such image: nosuch:latest"), "{c:?}: {}", r.stderr);
        // Removing one of several tags only untags.
        let r = cli(&d, c, &["rmi", "one:1"]);
        assert_eq!(r.out(), "Untagged: one:1", "{c:?}: {r:?}");
        assert_eq!(image_id(&d, "busybox"), id, "{c:?}: untagging removed the image");
        // By ID, an image with several tags needs -f.
        let r = cli(&d, c, &["rmi", short(&id)]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert!(
            r.stderr.contains(&format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                short(&id)
            )),
            "{c:?}: {}",
            r.stderr
        );
        let r = cli(&d, c, &["rmi", "two"]);
        assert_eq!(r.out(), "Untagged: two:latest", "{c:?}: {r:?}");
        let r = cli(&d, c, &["rmi", "nosuch"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert!(r.stderr.contains("No such image: nosuch:latest"), "{c:?}: {}", r.stderr);
    }
    // rmi -f by ID untags every tag and deletes the image.
    for c in BOTH {
        let vid = d.berth(&["import", &busybox_path(), "victim:a"]).ok().trim().to_owned();
        d.berth(&["tag", "victim:a", "victim:b"]).ok();
        d.berth(&["tag", "victim:a", "prey:c"]).ok();
        let r = cli(&d, c, &["rmi", "-f", &vid]);
        let lines = sorted_lines(r.ok());
        for want in ["Untagged: prey:c", "Untagged: victim:a", "Untagged: victim:b", &format!("Deleted: {vid}")] {
            assert!(lines.iter().any(|l| l == want), "{c:?}: {want} missing: {r:?}");
        }
        assert!(lines.iter().all(|l| l.starts_with("Untagged: ") || l.starts_with("Deleted: sha256:")), "{c:?}: {r:?}");
        let r = cli(&d, c, &["image", "inspect", &vid]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
    }
    assert_eq!(d.berth(&["images", "--format", "{{.Repository}}:{{.Tag}}"]).out(), "busybox:latest");
}

#[test]
fn rmi_conflicts_with_containers() {
    let d = Daemon::start();
    let tar = busybox_path();
    // A stopped container: soft conflicts, -f overrides them.
    let sid = d.berth(&["import", "-c", r#"CMD ["sh"]"#, &tar, "stopped:1"]).ok().trim().to_owned();
    let sc = d.berth(&["create", "--name", "st", "stopped:1", "echo", "still works"]).ok().trim().to_owned();
    for c in BOTH {
        let r = cli(&d, c, &["rmi", "stopped:1"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        let want = format!(
            "conflict: unable to remove repository reference \"stopped:1\" (must force) - container {} is using its referenced image {}",
            &sc[..12],
            short(&sid)
        );
        assert!(r.stderr.contains(&want), "{c:?}: want {want}\ngot {}", r.stderr);
        let r = cli(&d, c, &["rmi", &sid]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        let want = format!(
            "conflict: unable to delete {} (must be forced) - image is being used by stopped container {}",
            short(&sid),
            &sc[..12]
        );
        assert!(r.stderr.contains(&want), "{c:?}: want {want}\ngot {}", r.stderr);
    }
    let r = d.docker(&["rmi", "-f", "stopped:1"]);
    assert_eq!(r.out(), format!("Untagged: stopped:1\nDeleted: {sid}"), "{r:?}");
    // The container still has its filesystem.
    let r = d.berth(&["start", "-a", "st"]);
    assert_eq!((r.code, r.out()), (0, "still works"), "{r:?}");
    assert_eq!(d.berth(&["ps", "-a", "--format", "{{.Image}}"]).out(), short(&sid), "ps shows the deleted image's ID");

    // A running container: a hard conflict, -f does not help when deleting by ID.
    let rid = d.berth(&["import", "-c", r#"CMD ["sh"]"#, &tar, "running:1"]).ok().trim().to_owned();
    let rc = d.berth(&["run", "-d", "--name", "rn", "running:1", "sleep", "1000"]).ok().trim().to_owned();
    for c in BOTH {
        let r = cli(&d, c, &["rmi", "running:1"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        let want = format!(
            "conflict: unable to remove repository reference \"running:1\" (must force) - container {} is using its referenced image {}",
            &rc[..12],
            short(&rid)
        );
        assert!(r.stderr.contains(&want), "{c:?}: want {want}\ngot {}", r.stderr);
        for force in [false, true] {
            let mut args = vec!["rmi"];
            if force {
                args.push("-f");
            }
            args.push(&rid);
            let r = cli(&d, c, &args);
            assert_eq!(r.code, 1, "{c:?} force={force}: {r:?}");
            let want = format!(
                "conflict: unable to delete {} (cannot be forced) - image is being used by running container {}",
                short(&rid),
                &rc[..12]
            );
            assert!(r.stderr.contains(&want), "{c:?} force={force}: want {want}\ngot {}", r.stderr);
        }
    }
    // -f by tag untags; the image stays (dangling) because the running container uses it.
    let r = d.berth(&["rmi", "-f", "running:1"]);
    assert_eq!((r.code, r.out()), (0, "Untagged: running:1"), "{r:?}");
    assert_eq!(d.berth(&["image", "inspect", "-f", "{{json .RepoTags}}", &rid]).out(), "[]");
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.Running}}", "rn"]).out(), "true");
    let r = d.docker(&["rmi", "-f", &rid]);
    assert_eq!(r.code, 1, "{r:?}");
    // Once the container is gone the image can go.
    d.berth(&["rm", "-f", "rn"]).ok();
    let r = d.docker(&["rmi", &rid]);
    assert_eq!(r.out(), format!("Deleted: {rid}"), "{r:?}");
}

#[test]
fn save_load_round_trip_between_daemons() {
    let d1 = setup();
    let other =
        d1.berth(&["import", "-c", r#"CMD ["echo", "from other"]"#, &busybox_path(), "other:1"]).ok().trim().to_owned();
    let bb = image_id(&d1, "busybox");
    let dir = d1.dir.path();
    let by_berth = dir.join("berth.tar");
    let by_docker = dir.join("docker.tar");
    let by_stdout = dir.join("stdout.tar");
    d1.berth(&["save", "-o", by_berth.to_str().unwrap(), "busybox", "other:1"]).ok();
    d1.docker(&["save", "-o", by_docker.to_str().unwrap(), "busybox", "other:1"]).ok();
    let out = std::fs::File::create(&by_stdout).unwrap();
    let st = d1.berth_cmd(&["save", "other:1"]).stdout(out).status().unwrap();
    assert!(st.success());
    // Docker 25+'s layout: an OCI image layout plus manifest.json and repositories.
    let names = tar_names(&std::fs::read(&by_berth).unwrap());
    for want in ["oci-layout", "index.json", "manifest.json", "repositories"] {
        assert!(names.iter().any(|n| n == want), "{want} missing from the archive: {names:?}");
    }
    assert!(
        names.iter().any(|n| n == &format!("blobs/sha256/{}", bb.trim_start_matches("sha256:"))),
        "config blob missing: {names:?}"
    );

    let d2 = Daemon::start();
    let list = |d: &Daemon| {
        sorted_lines(d.berth(&["images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]).ok())
    };
    let want = sorted_lines(&format!("{other} other:1\n{bb} busybox:latest\n"));
    for (file, both) in [(&by_berth, true), (&by_docker, true), (&by_stdout, false)] {
        for c in BOTH {
            let r = cli(&d2, c, &["load", "-i", file.to_str().unwrap()]);
            let lines = sorted_lines(r.ok());
            if both {
                assert_eq!(lines, ["Loaded image: busybox:latest", "Loaded image: other:1"], "{c:?} {file:?}: {r:?}");
                assert_eq!(list(&d2), want, "{c:?} {file:?}: IDs differ after the round trip");
            } else {
                assert_eq!(lines, ["Loaded image: other:1"], "{c:?} {file:?}: {r:?}");
            }
            let r = cli(&d2, c, &["run", "--rm", "other:1"]);
            assert_eq!(r.out(), "from other", "{c:?} {file:?}: {r:?}");
            // Loading twice is idempotent.
            cli(&d2, c, &["load", "-i", file.to_str().unwrap()]).ok();
            d2.berth(&["rmi", "other:1"]).ok();
            let _ = d2.berth(&["rmi", "busybox"]);
            assert_eq!(d2.berth(&["images", "-q"]).out(), "", "{c:?}");
        }
    }
    // From stdin.
    let bytes = std::fs::read(&by_docker).unwrap();
    for c in BOTH {
        let r = cli_stdin(&d2, c, &["load"], &bytes);
        assert_eq!(sorted_lines(r.ok()), ["Loaded image: busybox:latest", "Loaded image: other:1"], "{c:?}: {r:?}");
        assert_eq!(list(&d2), want, "{c:?}");
        let r = cli(&d2, c, &["run", "--rm", "busybox", "echo", "loaded"]);
        assert_eq!(r.out(), "loaded", "{c:?}: {r:?}");
    }
    // The archives of both CLIs carry the same images.
    let d3 = Daemon::start();
    d3.berth(&["load", "-i", by_berth.to_str().unwrap()]).ok();
    assert_eq!(list(&d3), want);
}

/// A two-layer image: busybox plus a layer with /hello.txt, run with `cat /hello.txt`.
fn hello_image() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let base = support::busybox_layer();
    let mut t = Tar::new();
    t.dir("data/").file("hello.txt", b"hello from a layer\n").file("data/x", b"x");
    let top = t.finish();
    let config = image_config(&[&base, &top], &["ADD rootfs /", "COPY hello.txt /"], &["cat", "/hello.txt"]);
    (config, base, top)
}

#[test]
fn load_an_oci_image_layout() {
    let d = Daemon::start();
    let (config, base, top) = hello_image();
    let img = OciImage::new(config, &[&base, &top]);
    let file = write_file(d.dir.path(), "oci.tar", &img.layout("ocitest:v1", |_| {}));
    for c in BOTH {
        let r = cli(&d, c, &["load", "-i", &file]);
        assert_eq!(r.out(), "Loaded image: ocitest:v1", "{c:?}: {r:?}");
        assert_eq!(image_id(&d, "ocitest:v1"), img.id(), "{c:?}: the image ID is the config digest");
        let r = cli(&d, c, &["run", "--rm", "ocitest:v1"]);
        assert_eq!(r.out(), "hello from a layer", "{c:?}: {r:?}");
        let r = cli(&d, c, &["run", "--rm", "ocitest:v1", "cat", "/data/x", "/etc/passwd"]);
        assert!(r.ok().starts_with("xroot:x:0:0:"), "{c:?}: both layers are there: {r:?}");
        let r = cli(&d, c, &["image", "inspect", "-f", "{{json .RootFS.Layers}}", "ocitest:v1"]);
        assert_eq!(r.out(), format!("[\"{}\",\"{}\"]", digest(&base), digest(&top)), "{c:?}");
        // History, newest first; only the top row carries the image ID.
        let r = cli(&d, c, &["history", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}", "ocitest:v1"]);
        let want = format!(
            "{}|CMD [\"cat\", \"/hello.txt\"]|0B\n<missing>|COPY hello.txt /|20B\n<missing>|ADD rootfs /|1.98MB",
            short(&img.id())
        );
        assert_eq!(r.out(), want, "{c:?}: {r:?}");
        let r = cli(&d, c, &["history", "-q", "ocitest:v1"]);
        assert_eq!(r.out(), format!("{}\n<missing>\n<missing>", short(&img.id())), "{c:?}: {r:?}");
        d.berth(&["rmi", "ocitest:v1"]).ok();
    }
    // The same blobs under a name that is only a tag: loaded, untagged, by ID.
    let bare = write_file(d.dir.path(), "bare.tar", &img.layout("v1", |_| {}));
    let r = d.berth(&["load", "-i", &bare]);
    assert_eq!(r.out(), format!("Loaded image ID: {}", img.id()), "{r:?}");
    assert_eq!(d.berth(&["run", "--rm", short(&img.id())]).out(), "hello from a layer");
}

#[test]
fn load_a_legacy_docker_save_archive() {
    let d = Daemon::start();
    let (config, base, top) = hello_image();
    let id = digest(&config);
    let file = write_file(d.dir.path(), "legacy.tar", &legacy_save(&config, &[&base, &top], "legacy", "v1"));
    for c in BOTH {
        let r = cli(&d, c, &["load", "-i", &file]);
        assert_eq!(r.out(), "Loaded image: legacy:v1", "{c:?}: {r:?}");
        assert_eq!(image_id(&d, "legacy:v1"), id, "{c:?}");
        let r = cli(&d, c, &["run", "--rm", "legacy:v1"]);
        assert_eq!(r.out(), "hello from a layer", "{c:?}: {r:?}");
        // Saved again, the image has the same ID and the same layers.
        let again = d.dir.path().join(format!("again-{c:?}.tar"));
        cli(&d, c, &["save", "-o", again.to_str().unwrap(), "legacy:v1"]).ok();
        d.berth(&["rmi", "legacy:v1"]).ok();
        let r = cli(&d, c, &["load", "-i", again.to_str().unwrap()]);
        assert_eq!(r.out(), "Loaded image: legacy:v1", "{c:?}: {r:?}");
        assert_eq!(image_id(&d, "legacy:v1"), id, "{c:?}");
        d.berth(&["rmi", "legacy:v1"]).ok();
    }
    // A tag that moves to a loaded image: Docker says so.
    d.berth(&["import", &busybox_path(), "legacy:v1"]).ok();
    let old = image_id(&d, "legacy:v1");
    let r = d.docker(&["load", "-i", &file]);
    assert_eq!(
        r.out(),
        format!(
            "The image legacy:v1 already exists, renaming the old one with ID {old} to empty string\nLoaded image: legacy:v1"
        ),
        "{r:?}"
    );
}

#[test]
fn image_prune_dangling_and_all() {
    for c in BOTH {
        let d = setup();
        let tar = busybox_path();
        // A dangling image with a layer of its own, a tagged unused one, one used by a stopped
        // container.
        let mut t = Tar::new();
        t.file("only-here", &vec![7u8; 20_000]);
        let own = write_file(d.dir.path(), "own.tar", &t.finish());
        let dangling = d.berth(&["import", &own]).ok().trim().to_owned();
        let unused = d.berth(&["import", "-c", r#"CMD ["x"]"#, &tar, "unused:1"]).ok().trim().to_owned();
        let used = d.berth(&["import", "-c", r#"CMD ["y"]"#, &tar, "used:1"]).ok().trim().to_owned();
        d.berth(&["create", "--name", "keep", "used:1", "true"]).ok();

        let r = cli(&d, c, &["image", "prune", "-f"]);
        let out = r.ok();
        assert!(out.starts_with("Deleted Images:\n"), "{c:?}: {r:?}");
        assert!(out.lines().any(|l| l == format!("deleted: {dangling}")), "{c:?}: {r:?}");
        assert!(!out.contains(&unused) && !out.contains(&used), "{c:?}: pruned more than dangling images: {r:?}");
        let total = out.lines().last().unwrap_or_default();
        assert!(
            total.starts_with("Total reclaimed space: ") && total != "Total reclaimed space: 0B",
            "{c:?}: its own layer was freed: {r:?}"
        );
        assert_eq!(cli(&d, c, &["image", "inspect", &dangling]).code, 1, "{c:?}");
        // Nothing dangling left: nothing to say.
        let r = cli(&d, c, &["image", "prune", "-f"]);
        assert_eq!(r.out(), "Total reclaimed space: 0B", "{c:?}: {r:?}");

        let r = cli(&d, c, &["image", "prune", "-a", "-f"]);
        let out = r.ok();
        for want in
            ["untagged: unused:1".to_owned(), format!("deleted: {unused}"), "untagged: busybox:latest".to_owned()]
        {
            assert!(out.lines().any(|l| l == want), "{c:?}: {want} missing: {r:?}");
        }
        assert!(
            !out.lines().any(|l| l == "untagged: used:1") && !out.contains(&used),
            "{c:?}: pruned an image a container uses: {r:?}"
        );
        let left = cli(&d, c, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        assert_eq!(left.out(), "used:1", "{c:?}: {left:?}");
    }
}

/// What a malicious layer tries, and the entry that the error must name.
struct Evil {
    case: &'static str,
    layer: Vec<u8>,
    entry: String,
}

/// Layers that try to write outside their root. Absolute targets point into `canary` (a
/// directory of the test's own) rather than /etc, so that a regression shows up there
/// instead of damaging the host.
fn evil_layers(canary: &Path) -> Vec<Evil> {
    let canary = canary.to_str().unwrap();
    let up = "../".repeat(16);
    let rel_canary = format!("{up}{}", canary.trim_start_matches('/'));
    let mk = |case: &'static str, entry: &str, f: &dyn Fn(&mut Tar)| {
        let mut t = Tar::new();
        // A harmless first entry, so that a partial unpack has something to clean up.
        t.dir("ok/").file("ok/file", b"fine");
        f(&mut t);
        Evil { case, layer: t.finish(), entry: entry.to_owned() }
    };
    vec![
        mk("dotdot", "../evil-dotdot", &|t| {
            t.file("../evil-dotdot", b"escaped");
        }),
        mk("deep-dotdot", &format!("ok/{up}evil-deep"), &|t| {
            t.file(&format!("ok/{up}evil-deep"), b"escaped");
        }),
        mk("absolute", &format!("{canary}/evil-absolute"), &|t| {
            t.file(&format!("{canary}/evil-absolute"), b"escaped");
        }),
        mk("through-symlink", "a/evil-through-symlink", &|t| {
            t.symlink("a", canary).file("a/evil-through-symlink", b"escaped");
        }),
        mk("hardlink", "evil-hardlink", &|t| {
            t.hardlink("evil-hardlink", &format!("{rel_canary}/target"));
        }),
        mk("escaping-symlink", "evil-link", &|t| {
            t.symlink("evil-link", &rel_canary).file("evil-link/evil-through-relative", b"escaped");
        }),
    ]
}

/// A directory of the test's own with one file, `target` (content `canary`): what the malicious
/// layers aim at, checked by [`assert_nothing_left`].
fn canary_dir(d: &Daemon) -> PathBuf {
    let canary = d.dir.path().join("canary");
    std::fs::create_dir(&canary).unwrap();
    std::fs::write(canary.join("target"), b"canary").unwrap();
    canary
}

/// Asserts a refused archive left nothing: no file in the canary, no image, no layer, no
/// `.tmp-*` in the daemon's root, no stray `evil*` file anywhere under the test's directory.
#[track_caller]
fn assert_nothing_left(d: &Daemon, canary: &Path, what: &str) {
    let in_canary: Vec<String> =
        std::fs::read_dir(canary).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(in_canary, ["target"], "{what}: something was written outside the layer");
    let meta = std::fs::metadata(canary.join("target")).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::nlink(&meta),
        1,
        "{what}: a hard link to a file outside the layer was made"
    );
    assert_eq!(std::fs::read(canary.join("target")).unwrap(), b"canary", "{what}");
    let evil = find_named(d.dir.path(), "evil");
    assert!(evil.is_empty(), "{what}: files escaped into the daemon's directories: {evil:?}");
    for p in ["/evil", "/evil-dotdot", "/evil-deep", "/tmp/evil-dotdot", "/tmp/evil-deep"] {
        assert!(!Path::new(p).exists(), "{what}: {p} was created on the host");
    }
    let tmp = find_named(&d.root, ".tmp");
    assert!(tmp.is_empty(), "{what}: temporary files left behind: {tmp:?}");
    let layers: Vec<_> = std::fs::read_dir(d.root.join("image/layers"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(layers.is_empty(), "{what}: layers left behind: {layers:?}");
    assert_eq!(d.berth(&["images", "-aq"]).out(), "", "{what}: an image was created");
}

#[test]
fn layers_that_escape_their_root_are_refused() {
    let d = Daemon::start();
    let canary = canary_dir(&d);
    for e in evil_layers(&canary) {
        let raw = write_file(d.dir.path(), &format!("{}.tar", e.case), &e.layer);
        let config = image_config(&[&e.layer], &["evil"], &["sh"]);
        let oci = OciImage::new(config.clone(), &[&e.layer]);
        let oci = write_file(d.dir.path(), &format!("{}-oci.tar", e.case), &oci.layout("evil:oci", |_| {}));
        let legacy = write_file(
            d.dir.path(),
            &format!("{}-legacy.tar", e.case),
            &legacy_save(&config, &[&e.layer], "evil", "legacy"),
        );
        for c in BOTH {
            for (verb, file) in [("import", &raw), ("load", &oci), ("load", &legacy)] {
                let args: Vec<&str> =
                    if verb == "import" { vec!["import", file, "evil:imported"] } else { vec!["load", "-i", file] };
                let r = cli(&d, c, &args);
                let what = format!("{} via {c:?} {verb} {file}", e.case);
                assert_eq!(r.code, 1, "{what}: not refused: {r:?}");
                assert!(
                    r.stderr.contains(&e.entry),
                    "{what}: the error must name the entry {:?}: {}",
                    e.entry,
                    r.stderr
                );
                assert_nothing_left(&d, &canary, &what);
            }
        }
    }
    // The daemon is fine afterwards.
    d.busybox();
    assert_eq!(d.berth(&["run", "--rm", "busybox", "echo", "ok"]).out(), "ok");
}

#[test]
fn absolute_symlinks_stay_inside_the_image() {
    // An absolute symlink is legal in a layer (Debian images are full of them): it resolves
    // inside the container's root at run time, never on the host.
    let d = Daemon::start();
    let canary = canary_dir(&d);
    let base = support::busybox_layer();
    let mut t = Tar::new();
    t.symlink("to-canary", canary.join("target").to_str().unwrap())
        .symlink("etc-link", "/etc")
        .symlink("rel", "bin/busybox");
    let top = t.finish();
    let config = image_config(&[&base, &top], &["base", "links"], &["sh"]);
    let img = OciImage::new(config, &[&base, &top]);
    let file = write_file(d.dir.path(), "links.tar", &img.layout("links:1", |_| {}));
    assert_eq!(d.docker(&["load", "-i", &file]).out(), "Loaded image: links:1");
    let r = d.berth(&[
        "run",
        "--rm",
        "links:1",
        "sh",
        "-c",
        "readlink /to-canary; cat /to-canary; echo rc=$?; ls /etc-link/passwd; readlink /rel",
    ]);
    let want = format!("{}\nrc=1\n/etc-link/passwd\nbin/busybox", canary.join("target").display());
    assert_eq!(r.out(), want, "{r:?}");
    assert!(r.stderr.contains("No such file or directory"), "{r:?}");
    assert_eq!(std::fs::read(canary.join("target")).unwrap(), b"canary");
}

#[test]
fn corrupt_archives_are_refused() {
    let d = Daemon::start();
    let canary = canary_dir(&d);
    let whole = support::busybox_layer();
    // Cut in the middle of the busybox binary (not on a block boundary), and plain garbage.
    let truncated = write_file(d.dir.path(), "truncated.tar", &whole[..whole.len() / 2 + 77]);
    let garbage = write_file(d.dir.path(), "garbage.tar", &[0x5a; 4096]);
    // An OCI layout whose gzip layer is cut short.
    let img = OciImage::new(image_config(&[&whole], &["base"], &["sh"]), &[&whole]);
    let cut_gz = img.layout("cut:1", |blobs| {
        let layer = &mut blobs[1].1;
        layer.truncate(layer.len() / 2);
    });
    let cut_gz = write_file(d.dir.path(), "cutgz.tar", &cut_gz);
    // A whole layout, cut short.
    let full = img.layout("cut:1", |_| {});
    let cut_layout = write_file(d.dir.path(), "cutlayout.tar", &full[..full.len() - 3000]);
    for (verb, file) in [
        ("import", &truncated),
        ("import", &garbage),
        ("load", &truncated),
        ("load", &garbage),
        ("load", &cut_gz),
        ("load", &cut_layout),
    ] {
        let mut errors = Vec::new();
        for c in BOTH {
            let args: Vec<&str> =
                if verb == "import" { vec!["import", file, "corrupt:1"] } else { vec!["load", "-i", file] };
            let r = cli(&d, c, &args);
            let what = format!("{c:?} {verb} {file}");
            assert_eq!(r.code, 1, "{what}: {r:?}");
            assert!(!r.stderr.trim().is_empty(), "{what}: no error message: {r:?}");
            errors.push(r.stderr);
            assert_nothing_left(&d, &canary, &what);
        }
        assert_eq!(errors[0], errors[1], "{verb} {file}: both CLIs print the daemon's error");
    }
}

#[test]
fn blob_digest_mismatch_is_refused() {
    let d = Daemon::start();
    let canary = canary_dir(&d);
    let base = support::busybox_layer();
    let img = OciImage::new(image_config(&[&base], &["base"], &["sh"]), &[&base]);
    let expected = digest(&img.layers[0]);
    let mut actual = String::new();
    // Edit the gzip header's MTIME: the layer still decompresses to the same tar (its diff ID
    // is right), only the blob's digest changes.
    let layout = img.layout("tampered:1", |blobs| {
        let (d, b) = &mut blobs[1];
        assert_eq!(*d, expected);
        b[4] ^= 1;
        actual = digest(b);
    });
    let file = write_file(d.dir.path(), "tampered.tar", &layout);
    for c in BOTH {
        let r = cli(&d, c, &["load", "-i", &file]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert!(
            r.stderr.contains(&expected) && r.stderr.contains(&actual),
            "{c:?}: the error must name {expected} and {actual}: {}",
            r.stderr
        );
        assert_nothing_left(&d, &canary, &format!("{c:?}"));
    }
    // The config blob tampered with: refused too. (A fresh daemon: one that already has a
    // blob skips the archive's copy, as containerd does, and the good config from the first
    // archive would be used.)
    let d = Daemon::start();
    let layout = img.layout("tampered:1", |blobs| {
        let (_, b) = &mut blobs[0];
        let s = String::from_utf8(b.clone()).unwrap().replace("\"sh\"", "\"id\"");
        *b = s.into_bytes();
    });
    let file = write_file(d.dir.path(), "tampered-config.tar", &layout);
    // (berth's CLI: the docker CLI may lose the error, see a_refused_stream_still_reaches_the_client.)
    let r = d.berth(&["load", "-i", &file]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains(&img.id()), "the error must name the config digest {}: {}", img.id(), r.stderr);
    assert_nothing_left(&d, &canary, "config");
}

#[test]
fn a_refused_stream_still_reaches_the_client() {
    // The daemon refuses a layer at its first entry while the client is still sending the
    // rest: the client must get the error, not a broken pipe (dockerd drains or half-closes
    // before closing the connection).
    let d = Daemon::start();
    let mut t = Tar::new();
    t.file("../evil-first", b"escaped").file("big", &vec![b'x'; 8 << 20]);
    let file = write_file(d.dir.path(), "evil-big.tar", &t.finish());
    for c in BOTH {
        for i in 0..5 {
            let r = cli(&d, c, &["import", &file, "evil:big"]);
            assert_eq!(r.code, 1, "{c:?} #{i}: {r:?}");
            assert!(r.stderr.contains("../evil-first"), "{c:?} #{i}: the daemon's error was lost: {}", r.stderr);
        }
    }
    assert_eq!(d.berth(&["images", "-aq"]).out(), "");
}
