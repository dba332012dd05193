//! Crash safety (issue 10): the daemon is killed with SIGKILL at a named step of each
//! operation (`BERTH_FAILPOINT`, see `sys::failpoint`), started again, and the invariants are
//! checked:
//! - every process of this daemon (shims, processes in its cgroups) belongs to a container it
//!   lists as running, and every running container has its cgroup;
//! - every listed container is in the state it reports, and can be stopped and removed;
//! - nothing leaks: no mount, veth, DNAT rule, cgroup, shim, temp file, pending record or
//!   held address (a new container gets an address no running container has, and every user
//!   network can be removed once its containers are gone).

mod common;
mod support;

use std::collections::BTreeSet;

use common::{Daemon, processes_with};
use support::setup;

/// Restarts the daemon armed with `failpoint`.
fn armed(d: &mut Daemon, failpoint: &str) {
    d.stop();
    d.failpoint = Some(failpoint.to_owned());
    d.try_spawn().unwrap_or_else(|log| panic!("{log}"));
}

/// Runs `args` against the armed daemon: it must die at its failpoint (the CLI then fails),
/// then it is started again without one.
#[track_caller]
fn crash(d: &mut Daemon, args: &[&str]) {
    let fp = d.failpoint.clone().expect("armed");
    let r = d.berth(args);
    assert!(
        d.log().contains(&format!("failpoint {fp}: killing the process")),
        "{fp}: `berth {}` did not reach the failpoint: {r:?}\n{}",
        args.join(" "),
        d.log()
    );
    d.respawn_after_crash();
}

/// `(id, state)` of every container the daemon lists.
fn listed(d: &Daemon) -> Vec<(String, String)> {
    d.berth(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.State}}"])
        .ok()
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect()
}

/// Temp files and leftovers under the daemon's directories.
fn leftovers(d: &Daemon) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(d.root.clone(), 0), (d.exec_root.clone(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let p = e.path();
            let temp = [".creating-", ".removing-", ".new-", ".tmp-", ".init-layer-", "upgrade-"]
                .iter()
                .any(|pre| name.starts_with(pre))
                || name.ends_with(".tmp")
                || name.ends_with(".sock.new");
            if temp {
                out.push(p.display().to_string());
            }
            // Not into writable layers, volumes' data or image layers' content.
            let skip = ["upper", "work", "_data", "diff", "blobs"].contains(&name.as_str());
            if depth < 3 && !skip && e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push((p, depth + 1));
            }
        }
    }
    for e in std::fs::read_dir(d.exec_root.join("pending")).into_iter().flatten().flatten() {
        out.push(format!("pending record {}", e.path().display()));
    }
    out
}

/// What runs is what the daemon lists as running (cgroups, shims, PIDs, run directories).
/// Returns the listed containers and the running ones.
#[track_caller]
fn consistent(d: &Daemon, what: &str) -> (Vec<(String, String)>, BTreeSet<String>) {
    let all = listed(d);
    let running: BTreeSet<String> =
        all.iter().filter(|(_, s)| s == "running" || s == "paused").map(|(id, _)| id.clone()).collect();
    // Processes: cgroups, shims.
    let cgroups: BTreeSet<String> = d.cgroup_ids().into_iter().collect();
    assert_eq!(cgroups, running, "{what}: container cgroups vs running containers (log:\n{})", d.log());
    let needle = format!("{}/containers/", d.exec_root.display());
    let mut shims = BTreeSet::new();
    for (pid, cmd) in processes_with(&needle) {
        if !cmd.contains(" shim ") {
            continue;
        }
        let id = cmd.rsplit('/').next().unwrap_or_default().trim().to_owned();
        assert!(running.contains(&id), "{what}: shim {pid} ({cmd}) of a container not listed as running: {all:?}");
        assert!(shims.insert(id.clone()), "{what}: a second shim for {id}");
    }
    let m = cgroups::Manager::detect().unwrap();
    for id in &running {
        let pid = d.berth(&["inspect", "-f", "{{.State.Pid}}", id]).ok().trim().to_owned();
        let procs: Vec<String> = d
            .container_cgroup(&m, id)
            .unwrap()
            .paths()
            .filter_map(|p| std::fs::read_to_string(p.join("cgroup.procs")).ok())
            .flat_map(|s| s.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        assert!(procs.contains(&pid), "{what}: running container {id}'s PID {pid} is not in its cgroup: {procs:?}");
    }
    for (id, state) in &all {
        if !running.contains(id) {
            assert!(
                !d.exec_root.join("containers").join(id).exists(),
                "{what}: {state} container {id} has a run directory"
            );
        }
    }
    (all, running)
}

/// The invariants after a restart. `what` names the scenario in failures.
#[track_caller]
fn check(d: &Daemon, what: &str) {
    let (all, running) = consistent(d, what);
    let cgroups: BTreeSet<String> = d.cgroup_ids().into_iter().collect();
    // Addresses: a new container gets one no running container holds.
    let held: BTreeSet<String> = running
        .iter()
        .flat_map(|id| {
            d.berth(&["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", id])
                .ok()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let fresh = d.berth(&["run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'"]);
    let fresh = fresh.ok().trim().split('/').next().unwrap_or_default().to_owned();
    assert!(!fresh.is_empty() && !held.contains(&fresh), "{what}: new container got {fresh:?}, held: {held:?}");

    // Everything listed can be stopped and removed.
    let ids: Vec<String> = all.iter().map(|(id, _)| id.clone()).collect();
    for id in &running {
        let r = d.berth(&["stop", "-t", "1", id]);
        assert_eq!(r.code, 0, "{what}: stop {id}: {r:?}");
    }
    for id in &ids {
        let r = d.berth(&["rm", "-f", id]);
        assert_eq!(r.code, 0, "{what}: rm {id}: {r:?}");
    }
    for net in d.berth(&["network", "ls", "--format", "{{.Name}}"]).ok().lines() {
        if !["bridge", "host", "none"].contains(&net) {
            d.berth(&["network", "rm", net]).ok();
        }
    }
    let mut gone = ids.clone();
    gone.extend(cgroups);
    d.assert_clean(&gone);
    assert!(d.cgroup_ids().is_empty(), "{what}: cgroups left: {:?}", d.cgroup_ids());
    // Veths on its bridges, DNAT rules in its table.
    for link in d.links() {
        let o = std::process::Command::new("ip").args(["-o", "link", "show", "master", &link]).output().unwrap();
        let ports = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(ports.trim().is_empty(), "{what}: interfaces left on {link}: {ports}");
    }
    let o = std::process::Command::new("nft").args(["list", "table", "ip", &d.table]).output().unwrap();
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!table.contains("dnat to"), "{what}: DNAT rules left:\n{table}");
    let left = leftovers(d);
    assert!(left.is_empty(), "{what}: leftovers: {left:#?}");
}

/// `berth run -d` publishing a port: the container is created, started, has a veth, an address,
/// a host port and a DNAT rule.
const RUN: &[&str] = &["run", "-d", "--name", "c1", "-p", "127.0.0.1::80", "busybox", "httpd", "-f"];

#[test]
fn crash_during_create_and_start() {
    let mut d = setup();
    for fp in ["create:record-written", "start:cgroup-made", "start:shim-created", "start:process-started"] {
        armed(&mut d, fp);
        crash(&mut d, RUN);
        consistent(&d, fp);
        // The container, if it exists, starts again and serves.
        if d.berth(&["inspect", "c1"]).code == 0 {
            let r = d.berth(&["start", "c1"]);
            assert_eq!(r.code, 0, "{fp}: {r:?}");
            let port = d.berth(&["port", "c1", "80/tcp"]).ok().trim().to_owned();
            assert!(!port.is_empty(), "{fp}");
        }
        check(&d, fp);
    }
}

#[test]
fn crash_during_stop_and_rm() {
    let mut d = setup();
    for (fp, op) in [
        ("stop:signalled", &["stop", "c1"][..]),
        ("exit:cgroup-freed", &["stop", "c1"]),
        ("exit:cgroup-freed", &["kill", "c1"]),
        ("rm:renamed", &["rm", "-f", "c1"]),
    ] {
        d.berth(RUN).ok();
        armed(&mut d, fp);
        crash(&mut d, op);
        let what = format!("{fp} ({})", op.join(" "));
        consistent(&d, &what);
        check(&d, &what);
    }
}

#[test]
fn crash_with_a_restart_policy_keeps_a_stopped_container_stopped() {
    // A container stopped by hand is not brought back by its restart policy after the crash.
    let mut d = setup();
    d.berth(&["run", "-d", "--name", "c1", "--restart", "unless-stopped", "busybox", "sleep", "1d"]).ok();
    armed(&mut d, "exit:cgroup-freed");
    crash(&mut d, &["stop", "c1"]);
    let st = d.berth(&["inspect", "-f", "{{.State.Status}}", "c1"]).ok().trim().to_owned();
    assert_ne!(st, "running", "a container stopped by hand came back");
    check(&d, "restart policy");
}

#[test]
fn crash_during_image_operations() {
    let mut d = setup();
    let dir = d.dir.path().to_owned();
    let rootfs = common::busybox_tar();
    for fp in ["image:layer-synced", "image:before-record", "image:record-written"] {
        for op in ["import", "load", "commit"] {
            // A fresh image each time (a layer already stored isn't stored again).
            let marker = format!("{fp}-{op}");
            let r = d.berth(&["run", "--name", "w1", "busybox", "sh", "-c", &format!("echo {marker} > /m")]);
            r.ok();
            let args: Vec<String> = match op {
                "import" => {
                    // busybox's tar with one more file: a layer of its own.
                    let t = dir.join("rootfs-extra.tar");
                    std::fs::copy(&rootfs, &t).unwrap();
                    let extra = dir.join("m");
                    std::fs::write(&extra, &marker).unwrap();
                    let st = std::process::Command::new("tar")
                        .args(["-rf", t.to_str().unwrap(), "-C", dir.to_str().unwrap(), "m"])
                        .status()
                        .unwrap();
                    assert!(st.success());
                    vec!["import".into(), t.display().to_string(), "imp:1".into()]
                }
                "load" => {
                    d.berth(&["commit", "w1", "forload:1"]).ok();
                    let t = dir.join("forload.tar");
                    d.berth(&["save", "-o", t.to_str().unwrap(), "forload:1"]).ok();
                    d.berth(&["rmi", "forload:1"]).ok();
                    vec!["load".into(), "-i".into(), t.display().to_string()]
                }
                _ => vec!["commit".into(), "w1".into(), "com:1".into()],
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            armed(&mut d, fp);
            crash(&mut d, &args);
            let what = format!("{fp} ({op})");
            if fp == "image:before-record" {
                // What the store collected is logged (the image crate logs at the daemon's level).
                assert!(d.log().contains("removed unreferenced layers and blobs"), "{what}:\n{}", d.log());
            }
            // The image is either there and whole, or not there at all.
            for name in ["imp:1", "forload:1", "com:1"] {
                if d.berth(&["image", "inspect", name]).code == 0 {
                    let r = d.berth(&["run", "--rm", name, "cat", "/m"]);
                    assert_eq!(r.code, 0, "{what}: {name} is listed but can't run: {r:?}");
                    d.berth(&["rmi", "-f", name]).ok();
                }
            }
            d.berth(&["rm", "-f", "w1"]).ok();
            check(&d, &what);
            // Nothing of those images is kept: only busybox's layer remains.
            d.berth(&["image", "prune", "-a", "-f"]).ok();
            d.busybox();
        }
    }
    let layers = std::fs::read_dir(d.root.join("image/layers")).unwrap().count();
    assert_eq!(layers, 1, "layers left but busybox's: {layers}");
}

#[test]
fn crash_while_frozen_for_a_commit() {
    let mut d = setup();
    d.berth(&["run", "-d", "--name", "c1", "busybox", "sleep", "1d"]).ok();
    armed(&mut d, "commit:frozen");
    crash(&mut d, &["commit", "c1", "snap:1"]);
    // Its record says running: it must be running, not frozen (checked before an exec, which
    // would hang in a frozen container).
    let id = d.berth(&["inspect", "-f", "{{.Id}}", "c1"]).ok().trim().to_owned();
    let m = cgroups::Manager::detect().unwrap();
    let states: Vec<String> = d
        .container_cgroup(&m, &id)
        .unwrap()
        .paths()
        .filter_map(|p| std::fs::read_to_string(p.join("freezer.state")).ok())
        .collect();
    assert!(!states.is_empty() && states.iter().all(|s| s.trim() == "THAWED"), "freezer: {states:?}");
    let r = d.berth(&["exec", "c1", "echo", "thawed"]);
    assert_eq!(r.out(), "thawed", "{r:?}");
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.Status}}", "c1"]).ok().trim(), "running");
    check(&d, "commit:frozen");
}

#[test]
fn crash_during_upgrade() {
    let mut d = setup();
    d.berth(&["run", "--name", "b1", "busybox", "sh", "-c", "echo two > /etc/motd"]).ok();
    d.berth(&["commit", "b1", "app:2"]).ok();
    d.berth(&["rm", "b1"]).ok();
    for fp in ["upgrade:set-aside", "upgrade:committed"] {
        d.berth(&[
            "run",
            "-d",
            "--name",
            "c1",
            "busybox",
            "sh",
            "-c",
            "[ -e /etc/mine ] || { echo mine > /etc/motd; touch /etc/mine; }; exec sleep 1d",
        ])
        .ok();
        common::wait_until(10, "the container's file", || {
            d.berth(&["exec", "c1", "cat", "/etc/motd"]).stdout.trim() == "mine"
        });
        armed(&mut d, fp);
        crash(&mut d, &["upgrade", "c1", "--image", "app:2", "--prefer", "image"]);
        // Old image with its own file, or new image with the image's.
        let image = d.berth(&["inspect", "-f", "{{.Config.Image}}", "c1"]).ok().trim().to_owned();
        d.berth(&["start", "c1"]);
        let motd = d.berth(&["exec", "c1", "cat", "/etc/motd"]).ok().trim().to_owned();
        match image.as_str() {
            "app:2" => assert_eq!(motd, "two", "{fp}"),
            _ => assert_eq!(motd, "mine", "{fp}: on {image}"),
        }
        check(&d, fp);
    }
}

#[test]
fn crash_during_network_and_volume_changes() {
    let mut d = setup();
    for (fp, setup_args, op) in [
        ("network:record-saved", None, &["network", "create", "n1"][..]),
        ("network:link-deleted", Some(&["network", "create", "n1"][..]), &["network", "rm", "n1"]),
        ("volume:made", None, &["volume", "create", "v1"]),
        ("volume:renamed", Some(&["volume", "create", "v1"][..]), &["volume", "rm", "v1"]),
    ] {
        if let Some(a) = setup_args {
            d.berth(a).ok();
        }
        armed(&mut d, fp);
        crash(&mut d, op);
        if op[0] == "network" {
            // Listed, with its bridge up and usable; or not there, and no bridge of it left.
            if d.berth(&["network", "inspect", "n1"]).code == 0 {
                let r = d.berth(&["run", "--rm", "--network", "n1", "busybox", "true"]);
                assert_eq!(r.code, 0, "{fp}: {r:?}");
            }
        } else if d.berth(&["volume", "inspect", "v1"]).code == 0 {
            d.berth(&["run", "--rm", "-v", "v1:/v", "busybox", "touch", "/v/x"]).ok();
            d.berth(&["volume", "rm", "v1"]).ok();
        }
        let links_before = d.links();
        check(&d, fp);
        for l in links_before.iter().filter(|l| **l != d.bridge) {
            assert!(!Daemon::link_exists(l), "{fp}: bridge {l} left behind");
        }
        let r = d.berth(&["volume", "ls", "-q"]);
        assert!(r.ok().trim().is_empty(), "{fp}: volumes left: {r:?}");
    }
}
