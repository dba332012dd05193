//! A container's files from the outside, end to end with berth's CLI and the real docker CLI:
//! `cp` in and out of running and stopped containers (files, directories, `SRC/.`, tar streams
//! on stdin/stdout), symlinks that point at host paths (resolved inside the container, never on
//! the host), `export`, `diff`; and no mounts left behind under the daemon's directories.

mod common;
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::Daemon;
use support::{BOTH, Cli, cli, cli_cmd, cli_stdin, setup, tar_names};

/// A source tree on the host: a.txt, run.sh (0755), sub/b.txt, sub/link -> ../a.txt.
fn host_tree(root: &Path) -> PathBuf {
    let src = root.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), "hello\n").unwrap();
    std::fs::write(src.join("run.sh"), "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(src.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(src.join("sub/b.txt"), "deep\n").unwrap();
    std::os::unix::fs::symlink("../a.txt", src.join("sub/link")).unwrap();
    src
}

/// Files under `dir`, relative, sorted, with `/` after directories and `@target` after links.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, p: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            let path = e.path();
            let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                out.push(format!("{rel}@{}", std::fs::read_link(&path).unwrap().display()));
            } else if ft.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &path, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Runs a CLI with stdout to `out` (binary output).
fn to_file(d: &Daemon, c: Cli, args: &[&str], out: &Path) -> i32 {
    let f = std::fs::File::create(out).unwrap();
    cli_cmd(d, c, args).stdout(f).status().unwrap().code().unwrap_or(-1)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const TREE: [&str; 5] = ["a.txt", "run.sh", "sub/", "sub/b.txt", "sub/link@../a.txt"];

#[test]
fn cp_into_and_out_of_running_and_stopped_containers() {
    let d = setup();
    let src = host_tree(d.dir.path());
    for c in BOTH {
        // Containers of their own per CLI: the copies below must land in fresh places.
        let running = format!("running-{c:?}").to_lowercase();
        let stopped = format!("stopped-{c:?}").to_lowercase();
        d.berth(&["run", "-d", "--name", &running, "busybox", "sleep", "1000"]).ok();
        d.berth(&["create", "--name", &stopped, "busybox", "sleep", "1000"]).ok();
        for ctr in [running.as_str(), stopped.as_str()] {
            let what = format!("{c:?} {ctr}");
            let out = d.dir.path().join(format!("out-{c:?}-{ctr}"));
            std::fs::create_dir(&out).unwrap();
            // A file into a directory, a directory to a new name, the contents of a directory
            // into an existing one.
            cli(&d, c, &["cp", s(&src.join("a.txt")), &format!("{ctr}:/tmp/")]).ok();
            cli(&d, c, &["cp", s(&src), &format!("{ctr}:/tmp/tree")]).ok();
            cli(&d, c, &["cp", s(&src), &format!("{ctr}:/tmp/")]).ok();
            cli(&d, c, &["cp", &format!("{}/.", src.display()), &format!("{ctr}:/root")]).ok();
            // A file to a new name.
            cli(&d, c, &["cp", s(&src.join("sub/b.txt")), &format!("{ctr}:/tmp/renamed.txt")]).ok();
            // And back out.
            cli(&d, c, &["cp", &format!("{ctr}:/tmp/a.txt"), s(&out.join("a-copy.txt"))]).ok();
            assert_eq!(std::fs::read_to_string(out.join("a-copy.txt")).unwrap(), "hello\n", "{what}");
            cli(&d, c, &["cp", &format!("{ctr}:/tmp/renamed.txt"), s(&out)]).ok();
            assert_eq!(std::fs::read_to_string(out.join("renamed.txt")).unwrap(), "deep\n", "{what}");
            cli(&d, c, &["cp", &format!("{ctr}:/tmp/tree"), s(&out)]).ok();
            assert_eq!(listing(&out.join("tree")), TREE, "{what}: a directory copied to a new name");
            cli(&d, c, &["cp", &format!("{ctr}:/tmp/src"), s(&out.join("new"))]).ok();
            assert_eq!(listing(&out.join("new")), TREE, "{what}: a directory into a directory");
            std::fs::create_dir(out.join("root")).unwrap();
            cli(&d, c, &["cp", &format!("{ctr}:/root/."), s(&out.join("root"))]).ok();
            assert_eq!(listing(&out.join("root")), TREE, "{what}: SRC/. copies the contents");
            let m = std::fs::metadata(out.join("tree/run.sh")).unwrap().permissions().mode();
            assert_eq!(m & 0o777, 0o755, "{what}: the mode survives");
            assert_eq!(std::fs::read_to_string(out.join("tree/sub/b.txt")).unwrap(), "deep\n", "{what}");
            // A file from the image.
            cli(&d, c, &["cp", &format!("{ctr}:/etc/passwd"), s(&out)]).ok();
            assert!(
                std::fs::read_to_string(out.join("passwd")).unwrap().starts_with("root:x:0:0:root:/root:/bin/sh\n"),
                "{what}"
            );
            // Tar streams: out to stdout, in from stdin.
            let tarf = out.join("stream.tar");
            assert_eq!(to_file(&d, c, &["cp", &format!("{ctr}:/tmp/tree"), "-"], &tarf), 0, "{what}");
            let mut names = tar_names(&std::fs::read(&tarf).unwrap());
            names.sort();
            assert_eq!(
                names,
                ["tree", "tree/a.txt", "tree/run.sh", "tree/sub", "tree/sub/b.txt", "tree/sub/link"],
                "{what}"
            );
            let mut t = support::Tar::new();
            t.dir("fromtar/").file("fromtar/x.txt", b"via stdin\n");
            let r = cli_stdin(&d, c, &["cp", "-", &format!("{ctr}:/tmp")], &t.finish());
            assert_eq!(r.code, 0, "{what}: {r:?}");
            cli(&d, c, &["cp", &format!("{ctr}:/tmp/fromtar/x.txt"), s(&out)]).ok();
            assert_eq!(std::fs::read_to_string(out.join("x.txt")).unwrap(), "via stdin\n", "{what}");
            // Errors.
            let r = cli(&d, c, &["cp", &format!("{ctr}:/nonexistent"), s(&out)]);
            assert_eq!(r.code, 1, "{what}: {r:?}");
            assert!(r.stderr.contains("Could not find the file /nonexistent in container "), "{what}: {}", r.stderr);
            let r = cli(&d, c, &["cp", s(&src), &format!("{ctr}:/tmp/a.txt")]);
            assert_eq!(r.code, 1, "{what}: a directory over a file: {r:?}");
            let r = cli(&d, c, &["cp", s(&src.join("a.txt")), "nosuchcontainer:/tmp/x"]);
            assert_eq!(r.code, 1, "{what}: {r:?}");
            assert!(r.stderr.contains("No such container: nosuchcontainer"), "{what}: {}", r.stderr);
        }
    }
    for c in BOTH {
        // What was copied into the running container is visible to its processes.
        let running = format!("running-{c:?}").to_lowercase();
        let r = d.berth(&[
            "exec",
            &running,
            "sh",
            "-c",
            "cat /tmp/a.txt /root/sub/b.txt; /tmp/tree/run.sh; readlink /tmp/tree/sub/link",
        ]);
        assert_eq!(r.out(), "hello\ndeep\nran\n../a.txt", "{c:?}: {r:?}");
        // And the stopped one has it when it starts.
        let stopped = format!("stopped-{c:?}").to_lowercase();
        let r = d.berth(&["start", &stopped]);
        assert_eq!(r.code, 0, "{c:?}: {r:?}");
        let r = d.berth(&["exec", &stopped, "cat", "/tmp/fromtar/x.txt"]);
        assert_eq!(r.out(), "via stdin", "{c:?}: {r:?}");
    }
    // Docker names the container the way the user did (moby containerFileNotFound).
    for c in BOTH {
        let r = cli(&d, c, &["cp", "running-berth:/nonexistent", "-"]);
        assert_eq!(
            r.stderr.trim_end(),
            "Error response from daemon: Could not find the file /nonexistent in container running-berth",
            "{c:?}"
        );
    }
    d.rm_f_and_assert_clean(&["running-berth", "stopped-berth", "running-docker", "stopped-docker"]);
}

/// A container with links to a host-only path: /tmp/link -> HOST/secret, /tmp/linkdir -> HOST,
/// /tmp/good -> /tmp/real/f (which exists in the container). Returns the host's secret file.
fn links_container(d: &Daemon) -> PathBuf {
    // A host directory with a secret. The container's links point at its absolute path: that
    // path exists on the host only, so following a link on the host would leak the secret.
    let secret_dir = d.dir.path().join("hostsecret");
    std::fs::create_dir(&secret_dir).unwrap();
    std::fs::write(secret_dir.join("secret"), "TOPSECRET\n").unwrap();
    let secret = secret_dir.join("secret");
    d.berth(&["run", "-d", "--name", "links", "busybox", "sleep", "1000"]).ok();
    let setup_links = format!(
        "ln -s {} /tmp/link && ln -s {} /tmp/linkdir && mkdir -p /tmp/real && echo inside > /tmp/real/f && ln -s /tmp/real/f /tmp/good",
        secret.display(),
        secret_dir.display()
    );
    d.berth(&["exec", "links", "sh", "-c", &setup_links]).ok();
    secret
}

#[test]
fn cp_never_follows_links_onto_the_host() {
    let d = setup();
    let secret = links_container(&d);
    let secret_dir = secret.parent().unwrap().to_path_buf();
    let payload = d.dir.path().join("payload");
    std::fs::write(&payload, "payload\n").unwrap();
    for c in BOTH {
        let out = d.dir.path().join(format!("out-{c:?}"));
        std::fs::create_dir(&out).unwrap();
        // Without -L the link itself is copied.
        cli(&d, c, &["cp", "links:/tmp/link", s(&out.join("link"))]).ok();
        assert_eq!(std::fs::read_link(out.join("link")).unwrap(), secret, "{c:?}");
        // Whatever else happens, the host's files never come out, never get written.
        let _ = cli(&d, c, &["cp", "-L", "links:/tmp/link", s(&out.join("followed"))]);
        for src in ["links:/tmp/linkdir/secret", "links:/tmp/linkdir/.", "links:/tmp/linkdir/"] {
            let _ = cli(&d, c, &["cp", src, s(&out.join("through"))]);
            let _ = cli(&d, c, &["cp", "-L", src, s(&out.join("through-l"))]);
        }
        let _ = cli(&d, c, &["cp", s(&payload), "links:/tmp/linkdir/"]);
        let _ = cli(&d, c, &["cp", s(&payload), "links:/tmp/linkdir/payload"]);
        let _ = cli(&d, c, &["cp", s(&payload), "links:/tmp/link"]);
        let _ = cli(&d, c, &["cp", s(&payload), &format!("links:{}/", secret_dir.display())]);
        let files = listing(&out).into_iter().filter(|f| !f.ends_with('/') && !f.contains('@')).collect::<Vec<_>>();
        for f in files {
            let content = std::fs::read_to_string(out.join(&f)).unwrap_or_default();
            assert!(!content.contains("TOPSECRET"), "{c:?}: the host's secret leaked into {f}");
        }
        assert_eq!(listing(&secret_dir), ["secret"], "{c:?}: something was written into the host directory");
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "TOPSECRET\n", "{c:?}");
    }
}

#[test]
fn cp_follows_links_inside_the_container() {
    let d = setup();
    let secret = links_container(&d);
    let secret_dir = secret.parent().unwrap().to_path_buf();
    let payload = d.dir.path().join("payload");
    std::fs::write(&payload, "payload\n").unwrap();
    for c in BOTH {
        let out = d.dir.path().join(format!("out-{c:?}"));
        std::fs::create_dir(&out).unwrap();
        // -L follows a link inside the container: a good link gives its target's content…
        cli(&d, c, &["cp", "-L", "links:/tmp/good", s(&out.join("good"))]).ok();
        assert_eq!(std::fs::read_to_string(out.join("good")).unwrap(), "inside\n", "{c:?}");
        // …and one that points at a path only the host has is not found (the stat API gives
        // the link's target resolved in the container, and there it does not exist).
        let r = cli(&d, c, &["cp", "-L", "links:/tmp/link", s(&out.join("followed"))]);
        assert_eq!(r.code, 1, "{c:?}: {r:?} {:?}", listing(&out));
        assert!(r.stderr.contains(&format!("Could not find the file {}", secret.display())), "{c:?}: {}", r.stderr);
        // Through a linked directory.
        for src in ["links:/tmp/linkdir/secret", "links:/tmp/linkdir/.", "links:/tmp/linkdir/"] {
            let dst = out.join("through");
            let r = cli(&d, c, &["cp", src, s(&dst)]);
            assert_eq!(r.code, 1, "{c:?} {src}: {r:?}");
            assert!(r.stderr.contains("Could not find the file"), "{c:?} {src}: {}", r.stderr);
            assert!(!dst.exists(), "{c:?} {src}: {:?}", listing(&out));
        }
        // Into the container through the links: the targets don't exist in the container.
        let r = cli(&d, c, &["cp", s(&payload), "links:/tmp/linkdir/"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        let r = cli(&d, c, &["cp", s(&payload), "links:/tmp/link"]);
        assert_eq!(r.code, 1, "{c:?}: the link's target directory does not exist in the container: {r:?}");
        let r = cli(&d, c, &["cp", s(&payload), &format!("links:{}/", secret_dir.display())]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
    }
    // Nothing was written next to the links in the container either.
    let r = d.berth(&["exec", "links", "sh", "-c", "ls -A /tmp | tr '\\n' ' '"]);
    assert_eq!(r.out(), "good link linkdir real ", "{r:?}");
}

#[test]
fn export_lists_the_containers_files() {
    let d = setup();
    d.berth(&[
        "run",
        "-d",
        "--name",
        "exp",
        "--tmpfs",
        "/run",
        "busybox",
        "sh",
        "-c",
        "echo made > /tmp/made; rm /etc/group; echo gone > /run/intmpfs; sleep 1000",
    ])
    .ok();
    wait_for_file(&d, "exp", "/run/intmpfs");
    d.berth(&["create", "--name", "expstopped", "busybox"]).ok();
    for c in BOTH {
        for (ctr, running) in [("exp", true), ("expstopped", false)] {
            let what = format!("{c:?} {ctr}");
            let file = d.dir.path().join(format!("{c:?}-{ctr}.tar"));
            cli(&d, c, &["export", "-o", s(&file), ctr]).ok();
            let via_stdout = d.dir.path().join(format!("{c:?}-{ctr}-stdout.tar"));
            assert_eq!(to_file(&d, c, &["export", ctr], &via_stdout), 0, "{what}");
            for f in [&file, &via_stdout] {
                let names = tar_names(&std::fs::read(f).unwrap());
                let has = |n: &str| names.iter().any(|x| x.trim_end_matches('/') == n);
                for n in ["bin/busybox", "bin/sh", "etc/passwd", "proc", "sys", "dev", ".dockerenv", "etc/hostname"] {
                    assert!(has(n), "{what} {f:?}: {n} missing");
                }
                // The container's own changes are there; its mounts' contents are not.
                assert_eq!(has("tmp/made"), running, "{what} {f:?}");
                assert_eq!(has("etc/group"), !running, "{what} {f:?}");
                assert!(!has("run/intmpfs"), "{what} {f:?}: a tmpfs's content was exported");
                let inside: Vec<&String> = names
                    .iter()
                    .filter(|n| n.starts_with("proc/") && n.len() > 5 || n.starts_with("sys/") && n.len() > 4)
                    .collect();
                assert!(
                    inside.is_empty(),
                    "{what} {f:?}: /proc or /sys content exported: {:?}",
                    &inside[..inside.len().min(10)]
                );
                let dev: Vec<&String> = names.iter().filter(|n| n.starts_with("dev/") && n.len() > 4).collect();
                for n in &dev {
                    assert!(
                        ["dev/console", "dev/pts/", "dev/shm/", "dev/pts", "dev/shm"].contains(&n.as_str()),
                        "{what} {f:?}: {n} exported from /dev"
                    );
                }
            }
        }
    }
    d.rm_f_and_assert_clean(&["exp", "expstopped"]);
}

fn wait_for_file(d: &Daemon, ctr: &str, path: &str) {
    common::wait_until(10, path, || d.berth(&["exec", ctr, "test", "-e", path]).code == 0);
}

#[test]
fn diff_shows_added_changed_deleted() {
    let d = setup();
    let script =
        "rm /etc/group; echo x >> /etc/passwd; mkdir -p /newdir/sub; touch /tmp/newfile; touch /done; sleep 1000";
    d.berth(&["run", "-d", "--name", "df", "busybox", "sh", "-c", script]).ok();
    wait_for_file(&d, "df", "/done");
    let want = "C /etc\nD /etc/group\nC /etc/passwd\nA /newdir\nA /newdir/sub\nC /tmp\nA /tmp/newfile\nA /done";
    let mut want: Vec<&str> = want.lines().collect();
    want.sort_by_key(|l| &l[2..]);
    let want = want.join("\n");
    for c in BOTH {
        let r = cli(&d, c, &["diff", "df"]);
        assert_eq!(r.out(), want, "{c:?}: {r:?}");
    }
    d.berth(&["stop", "-t", "0", "df"]).ok();
    for c in BOTH {
        let r = cli(&d, c, &["diff", "df"]);
        assert_eq!(r.out(), want, "{c:?}: the diff of a stopped container: {r:?}");
    }
    // A fresh container has no changes: the files the engine provides (hostname, hosts,
    // resolv.conf, .dockerenv) are not reported.
    d.berth(&["run", "--name", "fresh", "busybox", "true"]).ok();
    for c in BOTH {
        let r = cli(&d, c, &["diff", "fresh"]);
        assert_eq!((r.code, r.out()), (0, ""), "{c:?}: {r:?}");
    }
    let r = d.docker(&["diff", "nosuch"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("No such container: nosuch"), "{}", r.stderr);
    d.rm_f_and_assert_clean(&["df", "fresh"]);
}

#[test]
fn no_mounts_left_after_file_operations() {
    let d = setup();
    let src = host_tree(d.dir.path());
    let out = d.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // Stopped containers are mounted for cp/export/diff and must be unmounted afterwards.
    d.berth(&["create", "--name", "m1", "busybox"]).ok();
    d.berth(&["run", "--name", "m2", "busybox", "sh", "-c", "echo hi > /hi"]).ok();
    for c in BOTH {
        for ctr in ["m1", "m2"] {
            cli(&d, c, &["cp", s(&src), &format!("{ctr}:/")]).ok();
            cli(&d, c, &["cp", &format!("{ctr}:/etc"), s(&out.join(format!("{c:?}{ctr}")))]).ok();
            cli(&d, c, &["diff", ctr]).ok();
            assert_eq!(to_file(&d, c, &["export", ctr], &out.join("x.tar")), 0);
            let _ = cli(&d, c, &["cp", &format!("{ctr}:/nonexistent"), s(&out)]);
        }
    }
    d.assert_no_mounts("mounts of stopped containers left behind");
    // A running container has its own mounts, and they go with it.
    d.berth(&["start", "m2"]).ok();
    d.berth(&["run", "-d", "--name", "m3", "busybox", "sleep", "1000"]).ok();
    for c in BOTH {
        cli(&d, c, &["cp", s(&src), "m3:/"]).ok();
        cli(&d, c, &["diff", "m3"]).ok();
        assert_eq!(to_file(&d, c, &["export", "m3"], &out.join("y.tar")), 0);
    }
    // (This also asserts that no mount is left under or from the daemon's directory.)
    d.rm_f_and_assert_clean(&["m1", "m2", "m3"]);
}
