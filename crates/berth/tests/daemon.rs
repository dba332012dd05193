//! The daemon as a whole, end to end: one daemon per root, what the CLIs say without a daemon,
//! `version`/`info`, API version negotiation, the socket's mode, the shape of `inspect`'s JSON,
//! and `events` with `--since`/`--until`.

mod common;
mod support;

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, berth_bin, wait_until};
use serde_json::Value;
use support::{BOTH, cli, setup};

/// A raw HTTP/1.1 request on the daemon's socket: (status line, headers, body).
fn http(d: &Daemon, method: &str, path: &str) -> (String, Vec<(String, String)>, String) {
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Runs `berth daemon` with these paths and waits for it to exit (at most `secs`); returns
/// (exit code, its output) or kills it and returns None if it kept running.
fn run_daemon(
    root: &std::path::Path,
    exec_root: &std::path::Path,
    sock: &std::path::Path,
    secs: u64,
) -> Option<(i32, String)> {
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(berth_bin())
        .arg("daemon")
        .arg("--root")
        .arg(root)
        .arg("--exec-root")
        .arg(exec_root)
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(out.reopen().unwrap())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if let Some(st) = child.try_wait().unwrap() {
            return Some((st.code().unwrap_or(-1), std::fs::read_to_string(out.path()).unwrap_or_default()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
    None
}

#[test]
fn a_second_daemon_on_the_same_root_is_refused() {
    let mut d = setup();
    d.berth(&["run", "-d", "--name", "keep", "busybox", "sleep", "1000"]).ok();
    let other_exec = d.dir.path().join("run2");
    let other_sock = d.dir.path().join("second.sock");
    let r = run_daemon(&d.root, &other_exec, &other_sock, 10);
    let (code, out) = r.expect("a second daemon on the same root kept running");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(&d.root.display().to_string()), "the error must name the root: {out}");
    assert!(!other_sock.exists() || UnixStream::connect(&other_sock).is_err(), "the second daemon listened");
    // The first one is unharmed, and so is its container.
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.Running}}", "keep"]).out(), "true");
    assert_eq!(d.docker(&["exec", "keep", "echo", "fine"]).out(), "fine");
    // Once it is gone the root can be used again.
    d.restart();
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.Running}}", "keep"]).out(), "true");
    d.berth(&["rm", "-f", "keep"]).ok();
}

#[test]
fn the_cli_without_a_daemon() {
    let mut d = Daemon::start();
    let missing = d.dir.path().join("nobody-here.sock");
    let host = format!("unix://{}", missing.display());
    for args in [&["ps"][..], &["images"], &["version"], &["run", "--rm", "busybox", "true"]] {
        let r = d.berth(&[&["-H", host.as_str()][..], args].concat());
        // `run` reports its own failures with 125, like `docker run`.
        let (code, prefix) = if args[0] == "run" { (125, "berth: ") } else { (1, "") };
        assert_eq!(r.code, code, "{args:?}: {r:?}");
        assert!(
            r.stderr.starts_with(&format!("{prefix}Cannot connect to the berth daemon at {host}")),
            "{args:?}: {}",
            r.stderr
        );
    }
    // BERTH_HOST, and a socket file nobody listens on (a daemon killed with SIGKILL).
    d.kill9();
    let r = d.berth(&["ps"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.starts_with(&format!("Cannot connect to the berth daemon at {}", d.host())), "{}", r.stderr);
    let r = d.docker(&["ps"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains(&format!("Cannot connect to the Docker daemon at {}", d.host())), "{}", r.stderr);
    // `version` still prints the client's part.
    let r = d.berth(&["version"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.starts_with("Client:\n"), "{r:?}");
}

#[test]
fn version_and_info() {
    let d = setup();
    d.berth(&["run", "-d", "--name", "up", "busybox", "sleep", "1000"]).ok();
    d.berth(&["create", "--name", "down", "busybox"]).ok();
    let r = d.berth(&["version"]);
    let out = r.ok();
    let server = out.split_once("\nServer:").map(|(_, s)| s).unwrap_or_default();
    assert!(
        out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["API", "version:", "1.51"]),
        "client API version: {out}"
    );
    assert!(server.lines().any(|l| l.trim() == "API version:      1.51 (minimum version 1.24)"), "{out}");
    for c in BOTH {
        let r = cli(
            &d,
            c,
            &[
                "version",
                "--format",
                "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}/{{.Server.Arch}}",
            ],
        );
        assert_eq!(r.out(), "1.51 1.24 linux/amd64", "{c:?}: {r:?}");
    }

    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let cgroup_version = if v2 { "2" } else { "1" };
    let ncpu = std::thread::available_parallelism().unwrap().get().to_string();
    for c in BOTH {
        let f = "{{.CgroupVersion}}|{{.CgroupDriver}}|{{.DockerRootDir}}|{{.Containers}}|{{.ContainersRunning}}|{{.ContainersStopped}}|{{.Images}}|{{.OSType}}|{{.Architecture}}|{{.NCPU}}";
        let r = cli(&d, c, &["info", "--format", f]);
        let want = format!("{cgroup_version}|cgroupfs|{}|2|1|1|1|linux|x86_64|{ncpu}", d.root.display());
        assert_eq!(r.out(), want, "{c:?}: {r:?}");
        let r = cli(&d, c, &["info", "--format", "{{json .SecurityOptions}}"]);
        assert!(r.out().contains("name=seccomp,profile=builtin"), "{c:?}: {r:?}");
        let r = cli(&d, c, &["info", "--format", "{{.MemTotal}}"]);
        let mem: u64 = r.out().parse().unwrap_or_else(|_| panic!("{c:?}: {r:?}"));
        let host: u64 = std::fs::read_to_string("/proc/meminfo")
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(mem, host * 1024, "{c:?}: MemTotal in bytes");
    }
    // The default output: both CLIs print the same server section, with cgroup lines.
    let b = d.berth(&["info"]);
    let k = d.docker(&["info"]);
    let server = |s: &str| {
        let sec = s.split_once("\nServer:").map(|(_, s)| s.to_owned()).unwrap_or_default();
        sec.lines().filter(|l| !l.contains("System Time:")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(server(b.ok()), server(k.ok()));
    assert!(
        b.stdout.contains(&format!(" Cgroup Driver: cgroupfs\n Cgroup Version: {cgroup_version}\n")),
        "{}",
        b.stdout
    );
    d.berth(&["rm", "-f", "up", "down"]).ok();
    // The docker CLI prints the Engine component's details (Go version, Git commit, Built,
    // Experimental): dockerd fills them all, the CLI shows blanks otherwise.
    let r = d.docker(&[
        "version",
        "--format",
        "{{range .Server.Components}}{{if eq .Name \"Engine\"}}{{json .Details}}{{end}}{{end}}",
    ]);
    let details: Value = serde_json::from_str(r.out()).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    for k in [
        "ApiVersion",
        "Arch",
        "BuildTime",
        "Experimental",
        "GitCommit",
        "GoVersion",
        "KernelVersion",
        "MinAPIVersion",
        "Os",
    ] {
        assert!(details.get(k).is_some_and(Value::is_string), "Engine details lack {k}: {details}");
    }
    let r = d.docker(&["version"]);
    let server = r.ok().split_once("\nServer:").map(|(_, s)| s.to_owned()).unwrap_or_default();
    assert!(server.lines().any(|l| l.trim() == "Experimental:     false"), "{server}");
}

#[test]
fn api_version_negotiation() {
    let d = setup();
    let run = |v: &str, args: &[&str]| {
        let o = d.docker_cmd(args).env("DOCKER_API_VERSION", v).output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    for v in ["1.24", "1.40", "1.51"] {
        let (code, out, err) = run(v, &["ps", "-a"]);
        assert_eq!(code, 0, "{v}: {err}");
        assert!(out.starts_with("CONTAINER ID"), "{v}: {out}");
        let (code, out, err) = run(v, &["run", "--rm", "busybox", "echo", "speaks", v]);
        assert_eq!((code, out.trim_end()), (0, format!("speaks {v}").as_str()), "{v}: {err}");
    }
    // -H instead of the environment.
    let o = Command::new(common::docker_bin())
        .env_remove("DOCKER_HOST")
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .env("DOCKER_API_VERSION", "1.24")
        .args(["-H", &d.host(), "version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}}"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim_end(), "1.24 1.51", "{o:?}");
    let o = Command::new(berth_bin()).env_remove("BERTH_HOST").args(["-H", &d.host(), "ps", "-q"]).output().unwrap();
    assert!(o.status.success(), "{o:?}");
    let (code, _, err) = run("1.99", &["ps"]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim_end(),
        "Error response from daemon: client version 1.99 is too new. Maximum supported API version is 1.51"
    );
    let (code, _, err) = run("1.12", &["ps"]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim_end(),
        "Error response from daemon: client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
    );
    // On the wire: /_ping answers OK with the API version header; unversioned paths are the
    // newest version; too new is a 400.
    let (status, h, body) = http(&d, "GET", "/_ping");
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", "OK"));
    assert_eq!(header(&h, "api-version"), Some("1.51"));
    assert_eq!(header(&h, "ostype"), Some("linux"));
    let (status, _, body) = http(&d, "HEAD", "/_ping");
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", ""));
    let (status, _, body) = http(&d, "GET", "/version");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["ApiVersion"].as_str(), v["MinAPIVersion"].as_str()), (Some("1.51"), Some("1.24")));
    let (status, _, body) = http(&d, "GET", "/v1.99/version");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["message"], "client version 1.99 is too new. Maximum supported API version is 1.51");
    let (status, _, body) = http(&d, "GET", "/v1.51/containers/nosuch/json");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["message"], "No such container: nosuch");
}

#[test]
fn the_socket_is_rw_for_owner_and_group_only() {
    let d = Daemon::start();
    let m = std::fs::symlink_metadata(&d.socket).unwrap();
    assert!(m.file_type().is_socket());
    assert_eq!(m.permissions().mode() & 0o7777, 0o660, "srw-rw----");
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&m), 0);
    let ls = Command::new("ls").arg("-l").arg(&d.socket).output().unwrap();
    assert!(String::from_utf8_lossy(&ls.stdout).starts_with("srw-rw---- "), "{ls:?}");
}

/// A check of one JSON value.
type Check = fn(&Value) -> bool;

/// Checks the type of every value a Docker client relies on in `docker inspect` output.
#[track_caller]
fn check_inspect_shape(v: &Value, what: &str) {
    let o = v.as_object().unwrap_or_else(|| panic!("{what}: not an object: {v}"));
    let typed: [(&str, Check); 19] = [
        ("Id", |v| v.as_str().is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))),
        ("Created", |v| v.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())),
        ("Path", Value::is_string),
        ("Args", Value::is_array),
        ("State", Value::is_object),
        ("Image", |v| v.as_str().is_some_and(|s| s.starts_with("sha256:") && s.len() == 71)),
        ("ResolvConfPath", Value::is_string),
        ("HostnamePath", Value::is_string),
        ("HostsPath", Value::is_string),
        ("LogPath", Value::is_string),
        ("Name", |v| v.as_str().is_some_and(|s| s.starts_with('/'))),
        ("RestartCount", Value::is_u64),
        ("Driver", Value::is_string),
        ("Platform", |v| v == "linux"),
        ("HostConfig", Value::is_object),
        ("GraphDriver", |v| v["Name"].is_string() && v["Data"].is_object()),
        ("Mounts", Value::is_array),
        ("Config", Value::is_object),
        ("NetworkSettings", Value::is_object),
    ];
    for (k, ok) in typed {
        let val =
            o.get(k).unwrap_or_else(|| panic!("{what}: key {k} missing; keys: {:?}", o.keys().collect::<Vec<_>>()));
        assert!(ok(val), "{what}: {k} has the wrong type or form: {val}");
    }
    let state = o["State"].as_object().unwrap();
    let state_typed: [(&str, Check); 11] = [
        ("Status", Value::is_string),
        ("Running", Value::is_boolean),
        ("Paused", Value::is_boolean),
        ("Restarting", Value::is_boolean),
        ("OOMKilled", Value::is_boolean),
        ("Dead", Value::is_boolean),
        ("Pid", Value::is_i64),
        ("ExitCode", Value::is_i64),
        ("Error", Value::is_string),
        ("StartedAt", |v| v.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())),
        ("FinishedAt", |v| v.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())),
    ];
    for (k, ok) in state_typed {
        let val = state.get(k).unwrap_or_else(|| panic!("{what}: State.{k} missing: {state:?}"));
        assert!(ok(val), "{what}: State.{k} has the wrong type: {val}");
    }
    // Config and HostConfig carry the fields clients read.
    for k in [
        "Hostname",
        "User",
        "Env",
        "Cmd",
        "Image",
        "WorkingDir",
        "Entrypoint",
        "Labels",
        "AttachStdout",
        "Tty",
        "OpenStdin",
    ] {
        assert!(o["Config"].get(k).is_some(), "{what}: Config.{k} missing: {}", o["Config"]);
    }
    for k in [
        "NetworkMode",
        "RestartPolicy",
        "AutoRemove",
        "Privileged",
        "ReadonlyRootfs",
        "CapAdd",
        "CapDrop",
        "SecurityOpt",
        "LogConfig",
        "Memory",
        "PidMode",
    ] {
        assert!(o["HostConfig"].get(k).is_some(), "{what}: HostConfig.{k} missing: {}", o["HostConfig"]);
    }
    for k in ["Networks", "Ports", "SandboxKey"] {
        assert!(o["NetworkSettings"].get(k).is_some(), "{what}: NetworkSettings.{k} missing: {}", o["NetworkSettings"]);
    }
}

#[test]
fn inspect_has_dockers_shape() {
    let d = setup();
    let id = d
        .berth(&["run", "-d", "--name", "shape", "-e", "X=1", "-l", "k=v", "busybox", "sleep", "1000"])
        .ok()
        .trim()
        .to_owned();
    d.berth(&["run", "--name", "done", "busybox", "sh", "-c", "exit 3"]);
    let mut seen = Vec::new();
    for c in BOTH {
        let r = cli(&d, c, &["inspect", "shape", "done"]);
        let v: Value = serde_json::from_str(r.ok()).unwrap_or_else(|e| panic!("{c:?}: {e}: {r:?}"));
        let arr = v.as_array().unwrap_or_else(|| panic!("{c:?}: inspect prints an array: {v}"));
        assert_eq!(arr.len(), 2, "{c:?}");
        check_inspect_shape(&arr[0], &format!("{c:?} running"));
        check_inspect_shape(&arr[1], &format!("{c:?} exited"));
        let run = &arr[0];
        assert_eq!(run["Id"], id.as_str());
        assert_eq!(run["Name"], "/shape");
        assert_eq!(run["Path"], "sleep");
        assert_eq!(run["Args"], serde_json::json!(["1000"]));
        assert_eq!(run["State"]["Status"], "running");
        assert_eq!(run["State"]["Running"], true);
        assert!(run["State"]["Pid"].as_i64().unwrap() > 0);
        assert_eq!(run["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
        assert_eq!(run["Config"]["Image"], "busybox");
        assert_eq!(run["Config"]["Labels"]["k"], "v");
        assert!(run["Config"]["Env"].as_array().unwrap().iter().any(|e| e == "X=1"));
        assert_eq!(run["Config"]["Hostname"], &id[..12]);
        let done = &arr[1];
        assert_eq!(done["State"]["Status"], "exited");
        assert_eq!(done["State"]["Running"], false);
        assert_eq!(done["State"]["Pid"], 0);
        assert_eq!(done["State"]["ExitCode"], 3);
        assert_ne!(done["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
        seen.push(v);
    }
    // Both CLIs print what the API returns.
    assert_eq!(seen[0], seen[1]);
    // Missing objects: exit 1, Docker's message, and the found ones still printed.
    for c in BOTH {
        let r = cli(&d, c, &["inspect", "shape", "nosuch"]);
        assert_eq!(r.code, 1, "{c:?}: {r:?}");
        assert!(r.stderr.contains("No such object: nosuch"), "{c:?}: {}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{c:?}: {e}: {r:?}"));
        assert_eq!(v.as_array().map(Vec::len), Some(1), "{c:?}");
    }
    d.berth(&["rm", "-f", "shape", "done"]).ok();
}

/// `docker events` lines (Type Action name) for `name`, with --since/--until.
fn events_of(d: &Daemon, since: i64, until: i64, name: &str) -> Vec<String> {
    let r = d.docker(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    r.stdout.lines().filter(|l| l.ends_with(&format!(" {name}"))).map(str::to_owned).collect()
}

fn lifecycle(name: &str) -> Vec<String> {
    ["create", "start", "die", "destroy"].iter().map(|a| format!("container {a} {name}")).collect()
}

/// Only the four lifecycle actions (docker adds `attach` for a foreground run).
fn only_lifecycle(v: Vec<String>) -> Vec<String> {
    v.into_iter()
        .filter(|l| ["create", "start", "die", "destroy"].iter().any(|a| l.contains(&format!(" {a} "))))
        .collect()
}

#[test]
fn events_since_until_replays_the_past() {
    let d = setup();
    let t0 = chrono::Utc::now().timestamp();
    d.berth(&["run", "--name", "ev", "busybox", "true"]).ok();
    d.berth(&["rm", "ev"]).ok();
    let t1 = chrono::Utc::now().timestamp() + 1;
    std::thread::sleep(Duration::from_millis(1100));
    // The window is in the past: dockerd replays it from its event log and returns.
    let started = Instant::now();
    let ev = only_lifecycle(events_of(&d, t0, t1, "ev"));
    assert!(started.elapsed() < Duration::from_secs(5), "events with a past --until must return at once");
    assert_eq!(ev, lifecycle("ev"));
    // A window before it holds nothing of it.
    assert_eq!(events_of(&d, t0 - 100, t0 - 50, "ev"), Vec::<String>::new());
}

#[test]
fn events_stream_while_they_happen() {
    let d = setup();
    let t0 = chrono::Utc::now().timestamp();
    let until = t0 + 4;
    let mut cmd = d.docker_cmd(&[
        "events",
        "--since",
        &t0.to_string(),
        "--until",
        &until.to_string(),
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}",
    ]);
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    d.berth(&["run", "--rm", "--name", "live", "busybox", "sh", "-c", "exit 7"]);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" live"))
        .map(|l| l.trim_end_matches(" <no value>").to_owned())
        .collect();
    let lines = only_lifecycle(lines);
    assert_eq!(
        lines,
        ["container create live", "container start live", "container die live 7", "container destroy live"]
    );
    // Filters.
    let t1 = chrono::Utc::now().timestamp();
    let mut cmd = d.docker_cmd(&[
        "events",
        "--since",
        &t1.to_string(),
        "--until",
        &(t1 + 3).to_string(),
        "--filter",
        "event=die",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    let child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    d.berth(&["run", "--rm", "--name", "filtered", "busybox", "true"]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), "die filtered");
    wait_until(5, "the container to go", || d.berth(&["ps", "-aq"]).out().is_empty());
}
