//! berth as a system service (issue 10): `-H tcp://` with TLS and client certificates for the
//! real docker CLI, refusals of clients without a good certificate, plain TCP only behind an
//! explicit flag, unix and TCP listeners at once, the socket's group (`-G`), systemd socket
//! activation (`fd://`) and readiness, journald's priorities, request logging, the idle bound
//! of API connections, and the systemd units (`systemd-analyze verify`).
//!
//! Certificates are made here with the openssl CLI, as Docker's "Protect the Docker daemon
//! socket" page makes them. Every listener is on 127.0.0.1, on a port the kernel picked free.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, Run, Setup, berth_bin, wait_until};

/// A port free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl (apt-get install openssl)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate signed by it, and a
/// client certificate from another CA. `good`, `nocert` and `otherca` are DOCKER_CERT_PATH
/// directories (ca.pem, cert.pem, key.pem) for the docker CLI.
struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn new() -> Certs {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("server.cnf"), "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n").unwrap();
        std::fs::write(p.join("client.cnf"), "extendedKeyUsage = clientAuth\n").unwrap();
        let rsa = ["-newkey", "rsa:2048", "-nodes"];
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        // The daemon's CA, its server certificate and a client certificate (RSA, as Docker's docs).
        openssl(
            p,
            &[
                &["req", "-x509"][..],
                &rsa,
                &["-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=berth test CA"],
            ]
            .concat(),
        );
        for (name, cnf, key) in [("server", "server.cnf", &rsa), ("client", "client.cnf", &rsa)] {
            let keyf = format!("{name}-key.pem");
            let csr = format!("{name}.csr");
            openssl(
                p,
                &[&["req"][..], &key[..], &["-keyout", &keyf, "-out", &csr, "-subj", &format!("/CN={name}")]].concat(),
            );
            openssl(
                p,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca-key.pem",
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-extfile",
                    cnf,
                    "-out",
                    &format!("{name}-cert.pem"),
                ],
            );
        }
        // Another CA and a client certificate of its own (EC keys).
        openssl(
            p,
            &[
                &["req", "-x509"][..],
                &ec,
                &["-keyout", "other-ca-key.pem", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=other CA"],
            ]
            .concat(),
        );
        openssl(
            p,
            &[&["req"][..], &ec, &["-keyout", "other-key.pem", "-out", "other.csr", "-subj", "/CN=client"]].concat(),
        );
        openssl(
            p,
            &[
                "x509",
                "-req",
                "-in",
                "other.csr",
                "-CA",
                "other-ca.pem",
                "-CAkey",
                "other-ca-key.pem",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "client.cnf",
                "-out",
                "other-cert.pem",
            ],
        );
        for (sub, cert, key) in [
            ("good", Some("client-cert.pem"), "client-key.pem"),
            ("nocert", None, ""),
            ("otherca", Some("other-cert.pem"), "other-key.pem"),
        ] {
            std::fs::create_dir(p.join(sub)).unwrap();
            std::fs::copy(p.join("ca.pem"), p.join(sub).join("ca.pem")).unwrap();
            if let Some(cert) = cert {
                std::fs::copy(p.join(cert), p.join(sub).join("cert.pem")).unwrap();
                std::fs::copy(p.join(key), p.join(sub).join("key.pem")).unwrap();
            }
        }
        Certs { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    /// The daemon's TLS flags with client verification.
    fn daemon_flags(&self) -> Vec<String> {
        [
            "--tlsverify",
            "--tlscacert",
            &self.path("ca.pem"),
            "--tlscert",
            &self.path("server-cert.pem"),
            "--tlskey",
            &self.path("server-key.pem"),
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

/// The docker CLI on `tcp` with DOCKER_TLS_VERIFY=1 and the certificates of `certdir`.
fn docker_tls(d: &Daemon, tcp: &str, certdir: &str, args: &[&str]) -> Command {
    let mut c = d.docker_cmd(args);
    c.env("DOCKER_HOST", tcp).env("DOCKER_TLS_VERIFY", "1").env("DOCKER_CERT_PATH", certdir);
    c
}

fn run(mut c: Command) -> Run {
    Run::from(c.stdin(Stdio::null()).output().unwrap())
}

/// Reads from `s` until end of stream or `secs`; returns what came and how long it took.
fn read_to_end_within(s: &mut impl Read, secs: u64) -> (Vec<u8>, Duration, bool) {
    let t = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while t.elapsed() < Duration::from_secs(secs) {
        match s.read(&mut buf) {
            Ok(0) => return (out, t.elapsed(), true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return (out, t.elapsed(), true),
        }
    }
    (out, t.elapsed(), false)
}

#[test]
fn the_docker_cli_over_tls_with_client_certificates() {
    let certs = Certs::new();
    let port = free_port();
    let tcp = format!("tcp://127.0.0.1:{port}");
    let mut flags = vec!["-H".to_owned(), tcp.clone(), "--idle-timeout".into(), "3s".into()];
    flags.extend(certs.daemon_flags());
    let d = Daemon::start_setup(Setup { extra: flags, ..Setup::default() });
    d.busybox();
    let good = certs.path("good");

    // A container over TLS, and a hijacked attach stream with stdin.
    let r = run(docker_tls(&d, &tcp, &good, &["run", "--rm", "busybox", "echo", "hello over tls"]));
    assert_eq!(r.ok(), "hello over tls\n");
    let r = common::run_with_stdin(
        docker_tls(&d, &tcp, &good, &["run", "--rm", "-i", "busybox", "sh", "-c", "read l; echo got $l"]),
        b"input\n",
    );
    assert_eq!(r.ok(), "got input\n");

    // Unix and TCP at once: what one listener made, the other sees.
    run(docker_tls(&d, &tcp, &good, &["run", "-d", "--name", "both", "busybox", "sleep", "1000"])).ok();
    assert_eq!(d.berth(&["inspect", "-f", "{{.State.Running}}", "both"]).ok(), "true\n");
    assert_eq!(run(docker_tls(&d, &tcp, &good, &["exec", "both", "echo", "exec over tls"])).ok(), "exec over tls\n");
    d.berth(&["rm", "-f", "both"]).ok();

    // Refused: no client certificate, one from another CA, plain HTTP.
    let r = run(docker_tls(&d, &tcp, &certs.path("nocert"), &["version"]));
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("certificate required"), "{r:?}");
    // The server names its CA in the handshake, so Go doesn't even offer a certificate of
    // another CA; curl (OpenSSL) offers it anyway, and the daemon's verification refuses it.
    let r = run(docker_tls(&d, &tcp, &certs.path("otherca"), &["ps"]));
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("certificate required") && r.stdout.is_empty(), "{r:?}");
    let mut curl = Command::new("curl");
    curl.args(["-sS", "--max-time", "10", "--cacert", &certs.path("ca.pem"), "--cert", &certs.path("other-cert.pem")])
        .args(["--key", &certs.path("other-key.pem"), &format!("https://127.0.0.1:{port}/containers/json")]);
    let r = run(curl);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("unknown ca") && r.stdout.is_empty(), "{r:?}");
    // The good certificate works with curl too (the client certificate is all it takes).
    let mut curl = Command::new("curl");
    curl.args(["-sS", "--max-time", "10", "--cacert", &certs.path("ca.pem"), "--cert", &certs.path("client-cert.pem")])
        .args(["--key", &certs.path("client-key.pem"), &format!("https://127.0.0.1:{port}/_ping")]);
    assert_eq!(run(curl).ok(), "OK");
    let mut plain = d.docker_cmd(&["version"]);
    plain.env("DOCKER_HOST", &tcp);
    let r = run(plain);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("Client sent an HTTP request to an HTTPS server."), "{r:?}");
    let log = d.log();
    let refused: Vec<&str> = log.lines().filter(|l| l.contains("refused a connection")).collect();
    assert!(refused.iter().any(|l| l.contains("INFO") && l.contains("peer sent no certificates")), "{log}");
    assert!(refused.iter().any(|l| l.contains("UnknownIssuer")), "{log}");
    assert!(refused.iter().any(|l| l.contains("plain HTTP on a TLS listener")), "{log}");
    assert!(
        refused.iter().all(|l| l.contains("peer=tcp:127.0.0.1:") && l.contains(&format!("listener={tcp}"))),
        "{log}"
    );

    // A connection that never starts its handshake is closed after the idle bound.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let (_, took, closed) = read_to_end_within(&mut s, 15);
    assert!(closed && took >= Duration::from_millis(2500), "closed={closed} after {took:?}");
    wait_until(5, "the handshake timeout in the log", || d.log().contains("no TLS handshake within 3s"));
}

#[test]
fn plain_tcp_needs_an_explicit_flag() {
    let port = free_port();
    let tcp = format!("tcp://127.0.0.1:{port}");
    // Without TLS client authentication and without the flag: refused at start.
    let out = common::daemon_refuses(&["-H", &tcp]);
    assert!(
        out.contains(&format!("refusing to listen on {tcp} without TLS client authentication"))
            && out.contains("--tls=false")
            && out.contains("--tlsverify=false"),
        "{out}"
    );
    // A host without a port is dockerd's 2375.
    let out = common::daemon_refuses(&["-H", "tcp://127.0.0.1"]);
    assert!(out.contains("refusing to listen on tcp://127.0.0.1:2375 "), "{out}");
    // Unreadable certificates are named.
    let out = common::daemon_refuses(&[
        "-H",
        &tcp,
        "--tlsverify",
        "--tlscacert",
        "/nonexistent/ca.pem",
        "--tlscert",
        "/nonexistent/cert.pem",
    ]);
    assert!(out.contains("invalid TLS configuration: --tlscert /nonexistent/cert.pem: No such file"), "{out}");
    let out = common::daemon_refuses(&["-H", "http://127.0.0.1:1"]);
    assert!(out.contains("invalid bind address (http://127.0.0.1:1): unsupported proto 'http'"), "{out}");

    // --tls=false: plain TCP, with loud warnings.
    let d = Daemon::start_with(&["-H", &tcp, "--tls=false"]);
    let mut c = d.docker_cmd(&["version", "--format", "{{.Server.Os}}"]);
    c.env("DOCKER_HOST", &tcp);
    assert_eq!(run(c).ok(), "linux\n");
    let log = d.log();
    assert!(
        log.lines().any(|l| l.contains("WARN")
            && l.contains("Binding to IP address without --tlsverify is insecure")
            && l.contains(&format!("host={tcp}"))),
        "{log}"
    );
    assert!(log.contains("listening with plain TCP (--tls=false)"), "{log}");
    drop(d);

    // --tlsverify=false: TLS, but no client certificate needed; warned about too.
    let certs = Certs::new();
    let d = Daemon::start_with(&[
        "-H",
        &tcp,
        "--tlsverify=false",
        "--tlscert",
        &certs.path("server-cert.pem"),
        "--tlskey",
        &certs.path("server-key.pem"),
    ]);
    let c = d.docker_cmd(&["version", "--format", "{{.Server.Os}}"]);
    let mut c = c;
    c.env("DOCKER_HOST", &tcp).env("DOCKER_TLS", "1").env("DOCKER_CERT_PATH", certs.path("nocert"));
    assert_eq!(run(c).ok(), "linux\n");
    assert!(d.log().contains("listening with TLS without client certificates (--tlsverify=false)"), "{}", d.log());
}

/// A group made for a test, deleted when dropped.
struct TempGroup {
    name: String,
    gid: u32,
}

impl TempGroup {
    fn new() -> TempGroup {
        let name = format!("bt{}", std::process::id());
        let st = Command::new("groupadd").args(["--system", &name]).status().expect("groupadd (passwd)");
        assert!(st.success(), "groupadd {name}");
        // From here on the group is deleted whatever happens.
        let mut g = TempGroup { name, gid: 0 };
        let out = Command::new("getent").args(["group", &g.name]).output().unwrap();
        g.gid = String::from_utf8_lossy(&out.stdout)
            .split(':')
            .nth(2)
            .and_then(|s| s.trim().parse().ok())
            .expect("the new group's GID");
        g
    }
}

impl Drop for TempGroup {
    fn drop(&mut self) {
        let _ = Command::new("groupdel").arg(&self.name).status();
    }
}

/// `docker version` on `sock` as uid/gid 65534, with `group` as its only supplementary group.
fn docker_as_nobody(sock: &Path, group: Option<u32>) -> Run {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534"]);
    match group {
        Some(g) => c.arg(format!("--groups={g}")),
        None => c.arg("--clear-groups"),
    };
    c.args(["env", "DOCKER_CONFIG=/nonexistent"]).arg(common::docker_bin());
    c.arg("-H").arg(format!("unix://{}", sock.display())).args(["version", "--format", "{{.Server.Os}}"]);
    run(c)
}

#[test]
fn the_socket_group() {
    let g = TempGroup::new();
    let d = Daemon::start_with(&["-G", &g.name]);
    // Only the socket's own mode protects it: the test's directory is traversable.
    std::fs::set_permissions(d.dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let m = std::fs::metadata(&d.socket).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, g.gid, 0o660), "root:{} srw-rw----", g.name);
    let r = docker_as_nobody(&d.socket, Some(g.gid));
    assert_eq!((r.code, r.stdout.as_str()), (0, "linux\n"), "a member of {}: {r:?}", g.name);
    let r = docker_as_nobody(&d.socket, None);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("connect: permission denied") && r.stdout.trim().is_empty(), "not a member: {r:?}");
    drop(d);

    // A GID works too, even one no group has (as dockerd).
    let d = Daemon::start_with(&["-G", "4242"]);
    assert_eq!(std::fs::metadata(&d.socket).unwrap().gid(), 4242);
    drop(d);

    // A group that doesn't exist is an error (only dockerd's default `docker` may be missing).
    let out = common::daemon_refuses(&["-G", "berth-no-such-group"]);
    assert!(out.contains("-G/--group: group berth-no-such-group not found"), "{out}");
}

#[test]
fn socket_activation_and_readiness() {
    let port = free_port();
    let notify_dir = tempfile::tempdir().unwrap();
    let notify_path = notify_dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let d = Daemon::start_setup(Setup {
        wrapper: [
            "systemd-socket-activate",
            "-l",
            "{socket}",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-E",
            &format!("NOTIFY_SOCKET={}", notify_path.display()),
        ]
        .map(str::to_owned)
        .to_vec(),
        extra: ["-H", "fd://", "--tls=false"].map(str::to_owned).to_vec(),
        ..Setup::default()
    });
    // Readiness went to NOTIFY_SOCKET (Type=notify).
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("READY=1 on NOTIFY_SOCKET");
    assert_eq!(&buf[..n], b"READY=1");
    // Both passed sockets serve: the unix one (berth CLI) and the TCP one (docker CLI).
    d.busybox();
    assert_eq!(d.berth(&["run", "--rm", "busybox", "echo", "activated"]).ok(), "activated\n");
    let mut c = d.docker_cmd(&["version", "--format", "{{.Server.Os}}"]);
    c.env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"));
    assert_eq!(run(c).ok(), "linux\n");
    let log = d.log();
    assert!(log.contains(&format!("API listen on fd://3 (unix://{})", d.socket.display())), "{log}");
    assert!(log.contains(&format!("API listen on fd://4 (tcp://127.0.0.1:{port})")), "{log}");
    assert!(log.contains("listening with plain TCP (--tls=false)"), "{log}");
    // The passed descriptors are close-on-exec, so shims and containers don't hold them.
    for fd in [3, 4] {
        let info = std::fs::read_to_string(format!("/proc/{}/fdinfo/{fd}", d.pid())).unwrap();
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .map(|f| u32::from_str_radix(f.trim(), 8).unwrap())
            .unwrap();
        assert_ne!(flags & 0o2000000, 0, "fd {fd} is not O_CLOEXEC: {info}");
    }
    let pid = d.pid();
    let mut d = d;
    d.stop();
    let n = notify.recv(&mut buf).expect("STOPPING=1");
    assert_eq!(&buf[..n], b"STOPPING=1", "daemon {pid}");
    // The socket is the service manager's: the daemon leaves it.
    assert!(d.socket.exists());
    drop(d);

    // An activated TCP socket without client verification is refused like a -H tcp:// one.
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let mut child = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(&sock)
        .arg("-l")
        .arg(format!("127.0.0.1:{port}"))
        .arg(berth_bin())
        .args(["daemon", "-H", "fd://", "--root"])
        .arg(dir.path().join("root"))
        .arg("--exec-root")
        .arg(dir.path().join("run"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(10, "the activator's socket", || sock.exists());
    let _first = UnixStream::connect(&sock).unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the daemon kept running with an unauthenticated activated TCP socket");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "refusing to listen on fd://4 (tcp://127.0.0.1:{port}) without TLS client authentication"
        )),
        "{err}"
    );
    assert!(!dir.path().join("root").exists());
}

#[test]
fn journald_priorities_and_request_log() {
    let port = free_port();
    let d = Daemon::start_setup(Setup {
        journal: true,
        extra: ["-H", &format!("tcp://127.0.0.1:{port}"), "--tls=false"].map(str::to_owned).to_vec(),
        ..Setup::default()
    });
    d.berth(&["ps"]).ok();
    wait_until(5, "the request's log line", || {
        let log = d.log();
        log.contains("path=/v1.51/containers/json") && log.contains("berth daemon ready")
    });
    let log = d.log();
    let line =
        |needle: &str| log.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle:?} in {log}"));
    // journald parses the <N> prefix into PRIORITY; it stamps the time itself.
    assert!(line("berth daemon ready").starts_with("<6>"), "{log}");
    assert!(line("Binding to IP address without --tlsverify").starts_with("<4>"), "{log}");
    let req = line("path=/v1.51/containers/json");
    assert!(req.starts_with("<7>api: request "), "{req}");
    for field in ["peer=unix:uid=0,pid=", "method=GET", "status=200", "duration="] {
        assert!(req.contains(field), "{field} in {req}");
    }
    assert!(!req.contains("all=") && !req.contains('?'), "the query is not logged: {req}");
    assert!(log.lines().filter(|l| !l.is_empty()).all(|l| l.starts_with('<')), "{log}");
    assert!(!log.contains("\x1b["), "no colours: {log}");

    // Without JOURNAL_STREAM (or with one naming another stream): the usual lines.
    let d = Daemon::start_setup(Setup { env: vec![("JOURNAL_STREAM".into(), "1:1".into())], ..Setup::default() });
    d.berth(&["ps"]).ok();
    wait_until(5, "the request's log line", || d.log().contains("path=/v1.51/containers/json"));
    let log = d.log();
    let req = log.lines().find(|l| l.contains("path=/v1.51/containers/json")).unwrap();
    assert!(req.contains(" DEBUG api: request ") && !req.starts_with('<'), "{req}");
}

/// A raw HTTP/1.1 request on `s` (keep-alive); returns the response's head.
fn request_head(s: &mut UnixStream, method: &str, path: &str, extra: &str) -> String {
    write!(s, "{method} {path} HTTP/1.1\r\nHost: berth\r\nContent-Length: 0\r\n{extra}\r\n").unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut b).unwrap(),
            1,
            "the connection closed in a response head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(b[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads from `s` until `needle` arrives (panics after `secs`).
fn read_until(s: &mut UnixStream, needle: &str, secs: u64) -> String {
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let t = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while t.elapsed() < Duration::from_secs(secs) {
        match s.read(&mut buf) {
            Ok(0) => panic!("closed before {needle:?}: {:?}", String::from_utf8_lossy(&got)),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&got).contains(needle) {
                    return String::from_utf8_lossy(&got).into_owned();
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("reading for {needle:?}: {e}"),
        }
    }
    panic!("no {needle:?} within {secs} s: {:?}", String::from_utf8_lossy(&got));
}

#[test]
fn idle_connections_close_but_streams_live_on() {
    let d = Daemon::start_with(&["--idle-timeout", "2s"]);
    d.busybox();
    // Silent for 6 s (three idle bounds) in the middle of its output, then it ends.
    d.berth(&["run", "-d", "--name", "slow", "busybox", "sh", "-c", "echo first; sleep 6; echo second"]).ok();
    d.berth(&["run", "-d", "-i", "--name", "cat", "busybox", "cat"]).ok();
    let connect = || UnixStream::connect(&d.socket).unwrap();

    // Streams that are silent for longer than the bound.
    let mut logs = connect();
    assert!(request_head(&mut logs, "GET", "/containers/slow/logs?follow=1&stdout=1", "").starts_with("HTTP/1.1 200"));
    let mut wait = connect();
    assert!(request_head(&mut wait, "POST", "/containers/slow/wait", "").starts_with("HTTP/1.1 200"));
    let mut events = connect();
    let since = chrono::Utc::now().timestamp();
    assert!(
        request_head(
            &mut events,
            "GET",
            &format!("/events?since={since}&filters=%7B%22container%22%3A%5B%22slow%22%5D%7D"),
            ""
        )
        .starts_with("HTTP/1.1 200")
    );
    let mut attach = connect();
    let head = request_head(
        &mut attach,
        "POST",
        "/containers/cat/attach?stream=1&stdin=1&stdout=1",
        "Connection: Upgrade\r\nUpgrade: tcp\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    read_until(&mut logs, "first", 10);

    // Idle connections: one that never sent a request, one between requests, one that never
    // finishes its request's head.
    let t = Instant::now();
    let mut fresh = connect();
    let mut kept = connect();
    assert!(request_head(&mut kept, "GET", "/_ping", "").starts_with("HTTP/1.1 200"));
    let mut body = [0u8; 2];
    kept.read_exact(&mut body).unwrap();
    let mut partial = connect();
    partial.write_all(b"GET /_ping HTTP/1.1\r\nHost: berth\r\n").unwrap();
    for s in [&mut fresh, &mut kept, &mut partial] {
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let (data, _, closed) = read_to_end_within(s, 10);
        assert!(closed && data.is_empty(), "closed={closed} {data:?}");
    }
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(1800) && took < Duration::from_secs(8), "closed after {took:?}");

    // Meanwhile the streams live on: the attach session still carries input and output,
    // logs -f and events go on, wait answers when the container ends.
    std::thread::sleep(Duration::from_secs(1));
    attach.write_all(b"still here\n").unwrap();
    read_until(&mut attach, "still here", 10);
    read_until(&mut logs, "second", 15);
    read_until(&mut events, "\"die\"", 15);
    let w = read_until(&mut wait, "StatusCode", 15);
    assert!(w.contains("\"StatusCode\":0"), "{w}");
    assert!(d.log().contains("closed a connection idle for 2s"), "{}", d.log());
    drop(attach);
    d.berth(&["rm", "-f", "cat", "slow"]).ok();
}

#[test]
fn the_systemd_units_verify() {
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../resources/systemd");
    let dir = tempfile::tempdir().unwrap();
    // systemd-analyze checks that ExecStart's program exists: point it at the binary under test.
    for name in ["berth.service", "berth.socket"] {
        let text = std::fs::read_to_string(units.join(name)).unwrap();
        let text = text.replace("/usr/local/bin/berth", &berth_bin().to_string_lossy());
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let service = std::fs::read_to_string(units.join("berth.service")).unwrap();
    for line in [
        "KillMode=process",
        "Delegate=yes",
        "Type=notify",
        "Requires=berth.socket",
        "ExecStart=/usr/local/bin/berth daemon -H fd://",
    ] {
        assert!(service.lines().any(|l| l == line), "berth.service lacks {line}");
    }
    let socket = std::fs::read_to_string(units.join("berth.socket")).unwrap();
    for line in ["ListenStream=/run/berth/berth.sock", "SocketMode=0660", "SocketGroup=docker"] {
        assert!(socket.lines().any(|l| l == line), "berth.socket lacks {line}");
    }
    let paths: Vec<PathBuf> = ["berth.socket", "berth.service"].iter().map(|n| dir.path().join(n)).collect();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .env("SYSTEMD_LOG_LEVEL", "notice")
        .output()
        .expect("systemd-analyze (Debian's systemd package)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // Unknown keys and bad values are only warnings for systemd: none may appear.
    let ours: Vec<&str> = err.lines().filter(|l| l.contains(&*dir.path().to_string_lossy())).collect();
    assert!(ours.is_empty(), "{err}");
}
