//! start, stop, kill, restart, pause, remove, wait; exits, restart policies and recovery after
//! a daemon restart.
//!
//! Locking rule: `Ctr::op` serialises lifecycle operations, and is never held while waiting for
//! a container to exit (the exit handler needs it). Copying out of a *stopped* container (`cp`,
//! `export`) holds it for the whole transfer, since the copy reads a detached overlay of the
//! container's upper dir that a start must not mount at the same time; a start waits for it.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use shim::proto::{Exit, Request};
use tokio::io::AsyncBufReadExt;

use crate::Unpoison;
use crate::model::{Container, Status};
use crate::shimctl::{Frame, ShimConn};
use crate::spec::{self, JoinedNamespaces, SpecInputs};
use crate::{Ctr, Engine, EngineError, Watch, store};

/// What `wait` waits for (Docker's conditions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    /// Until the container is not running (at once if it isn't).
    NotRunning,
    /// Until its next exit.
    NextExit,
    /// Until it is removed.
    Removed,
}

/// Parses `SIGTERM`, `TERM`, `15`, `sigkill`.
pub fn parse_signal(s: &str) -> Result<i32, EngineError> {
    let bad = || EngineError::InvalidArgument(format!("Invalid signal: {s}"));
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=64).contains(&n) { Ok(n) } else { Err(bad()) };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(rt) = name.strip_prefix("RTMIN") {
        let off: i32 =
            if rt.is_empty() { 0 } else { rt.strip_prefix('+').and_then(|x| x.parse().ok()).ok_or_else(bad)? };
        return Ok(libc::SIGRTMIN() + off);
    }
    if let Some(rt) = name.strip_prefix("RTMAX") {
        let off: i32 =
            if rt.is_empty() { 0 } else { rt.strip_prefix('-').and_then(|x| x.parse().ok()).ok_or_else(bad)? };
        return Ok(libc::SIGRTMAX() - off);
    }
    format!("SIG{name}").parse::<nix::sys::signal::Signal>().map(|s| s as i32).map_err(|_| bad())
}

fn shim_err(id: &str, e: std::io::Error) -> EngineError {
    EngineError::Shim { id: id.to_owned(), source: e }
}

impl Engine {
    /// Starts a created or stopped container.
    pub async fn start(&self, name_or_id: &str) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        match c.state.status {
            Status::Running => return Err(EngineError::NotModified("container already started".into())),
            Status::Paused => {
                return Err(EngineError::Conflict("cannot start a paused container, try unpause instead".into()));
            }
            _ => {}
        }
        let r = self.start_locked(&ctr).await;
        drop(_op);
        if r.is_err() && ctr.snapshot().host_config.auto_remove {
            // As dockerd: a `--rm` container that failed to start is removed, with its anonymous
            // volumes.
            let _ = self.remove_with(&ctr.id, true, true).await;
        }
        r
    }

    /// The container's cgroup; `None` on a host without the cgroup controllers berth needs.
    pub(crate) fn cgroup(&self, id: &str) -> Result<Option<cgroups::Cgroup>, EngineError> {
        match &self.inner.cgroups {
            Some(m) => Ok(Some(m.cgroup(format!("{}/{id}", self.cfg().cgroup_parent))?)),
            None => Ok(None),
        }
    }

    /// Namespace files of another container (`container:<x>` modes).
    fn joined(&self, c: &Container) -> Result<JoinedNamespaces, EngineError> {
        let ns = |mode: &str, kind: &str| -> Result<Option<PathBuf>, EngineError> {
            let Some(other) = mode.strip_prefix("container:") else { return Ok(None) };
            let o = self.lookup(other)?.snapshot();
            if !o.is_running() {
                return Err(EngineError::Conflict(format!("cannot join network of a non running container: {}", o.id)));
            }
            Ok(Some(PathBuf::from(format!("/proc/{}/ns/{kind}", o.state.pid))))
        };
        let hc = &c.host_config;
        Ok(JoinedNamespaces {
            net: ns(&hc.network_mode, "net")?,
            pid: ns(&hc.pid_mode, "pid")?,
            ipc: ns(&hc.ipc_mode, "ipc")?,
        })
    }

    /// The seccomp program for a container (compiled once per profile and capability set).
    pub(crate) async fn seccomp_program(
        &self,
        c: &Container,
        caps: Vec<String>,
    ) -> Result<Option<PathBuf>, EngineError> {
        if c.host_config.privileged {
            return Ok(None);
        }
        let mut profile = std::borrow::Cow::Borrowed(seccomp::DEFAULT_PROFILE_JSON);
        for o in &c.host_config.security_opt {
            if let Some(v) = o.strip_prefix("seccomp=").or_else(|| o.strip_prefix("seccomp:")) {
                if v == "unconfined" {
                    return Ok(None);
                }
                profile = std::borrow::Cow::Owned(v.to_owned());
            }
        }
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            let opts = seccomp::CompileOptions { caps: &caps, kernel: engine.inner.kernel };
            Ok(engine.inner.seccomp.program_file(&profile, &opts)?)
        })
        .await
        .expect("seccomp task")
    }

    fn cgroup_mounts(&self) -> Vec<(String, String, String)> {
        let Some(m) = &self.inner.cgroups else { return Vec::new() };
        match m.mode() {
            cgroups::Mode::V2 => vec![(String::new(), "cgroup2".into(), String::new())],
            _ => {
                let mut v = vec![(String::new(), "tmpfs".into(), "mode=755".into())];
                for p in m.mount_points() {
                    let Some(name) = p.file_name().and_then(|n| n.to_str()) else { continue };
                    if name == "unified" {
                        v.push((name.into(), "cgroup2".into(), String::new()));
                    } else if name == "systemd" {
                        v.push((name.into(), "cgroup".into(), "name=systemd".into()));
                    } else {
                        v.push((name.into(), "cgroup".into(), name.to_owned()));
                    }
                }
                v
            }
        }
    }

    /// Starts the container; the caller holds `ctr.op`. Every start (by hand, restart, restart
    /// policy, recovery) comes here, so here is where one marked for removal is refused.
    pub(crate) async fn start_locked(&self, ctr: &Arc<Ctr>) -> Result<(), EngineError> {
        let c = ctr.snapshot();
        if matches!(c.state.status, Status::Removing | Status::Dead) {
            return Err(EngineError::Conflict("container is marked for removal and cannot be started".into()));
        }
        let result = self.launch(ctr, &c).await;
        match result {
            Ok((pid, net)) => {
                ctr.update(|c| {
                    c.state.status = Status::Running;
                    c.state.pid = pid;
                    c.state.network = net;
                    c.state.started_at = Some(chrono::Utc::now());
                    c.state.error.clear();
                    c.state.exit_code = 0;
                    c.state.oom_killed = false;
                    c.state.manually_stopped = false;
                })?;
                ctr.watch.send_modify(|w| w.running = true);
                // Attaches that came while the process was being started.
                self.connect_pending(ctr).await;
                self.publish_container(ctr, "start", BTreeMap::new());
                Ok(())
            }
            Err(e) => {
                let code = match &e {
                    EngineError::Start { code, .. } => i32::from(*code),
                    _ => 128,
                };
                let msg = e.to_string();
                let _ = ctr.update(|c| {
                    c.state.exit_code = code;
                    c.state.error = msg;
                    if c.state.status == Status::Restarting {
                        c.state.status = Status::Exited;
                    }
                });
                ctr.watch.send_modify(|w| w.exit_code = code);
                // Pending attaches can't be served.
                ctr.pending.lock().unpoisoned().clear();
                Err(e)
            }
        }
    }

    /// Makes the network, spawns the shim, connects waiting attaches, starts the process.
    /// Cleans up on failure.
    async fn launch(&self, ctr: &Arc<Ctr>, c: &Container) -> Result<(i32, crate::model::NetState), EngineError> {
        let run = ctr.run.clone();
        let _ = crate::remove_tree(&run);
        std::fs::create_dir_all(&run).map_err(|e| EngineError::io(format!("creating {}", run.display()), e))?;
        let cg = self.cgroup(&c.id)?;
        let t0 = std::time::Instant::now();
        let sandbox = match self.net_setup(c).await {
            Ok(s) => s,
            Err(e) => {
                let _ = crate::remove_tree(&run);
                return Err(e);
            }
        };
        tracing::trace!(container = %c.id, us = t0.elapsed().as_micros() as u64, "start: network");
        let r = self.launch_inner(ctr, c, cg.as_ref(), sandbox.as_ref().map(|s| s.path())).await;
        let net = sandbox.map(|s| s.state).unwrap_or_default();
        if r.is_err() {
            self.volumes_stopped(&c.id);
            self.net_release(&c.id, &net, true).await;
            if let Some(cg) = &cg {
                let cg = cg.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    let _ = cg.kill_all(nix::sys::signal::Signal::SIGKILL);
                    cg.destroy()
                })
                .await;
            }
            let _ = crate::remove_tree(&run);
        }
        r.map(|pid| (pid, net))
    }

    async fn launch_inner(
        &self,
        ctr: &Arc<Ctr>,
        c: &Container,
        cg: Option<&cgroups::Cgroup>,
        netns: Option<PathBuf>,
    ) -> Result<i32, EngineError> {
        let run = &ctr.run;
        let t0 = std::time::Instant::now();
        crate::userns::check_start(c, self.remap())?;
        // A lookup in the store's memory: no need for a blocking thread.
        let layers = self.image_layers(c)?;
        tracing::trace!(container = %c.id, us = t0.elapsed().as_micros() as u64, "start: layers");
        let caps = spec::capabilities(c, self.inner.last_cap)?;
        let seccomp = self.seccomp_program(c, caps.clone()).await?;
        tracing::trace!(container = %c.id, us = t0.elapsed().as_micros() as u64, "start: seccomp");
        let cgroup_procs = match cg {
            Some(cg) => {
                let cg2 = cg.clone();
                let privileged = c.host_config.privileged;
                let limits = c.host_config.resources.clone();
                tokio::task::spawn_blocking(move || -> Result<(), EngineError> {
                    cg2.create()?;
                    // Before the process exists: limits hold from its first instruction.
                    if limits != crate::model::Resources::default() {
                        cg2.apply(&crate::resources::start_resources(&limits)?)?;
                    }
                    if !privileged {
                        cg2.set_devices(&cgroups::default_device_rules())?;
                    }
                    Ok(())
                })
                .await
                .expect("cgroup task")?;
                cg.procs_files()
            }
            None => Vec::new(),
        };
        tracing::trace!(container = %c.id, us = t0.elapsed().as_micros() as u64, "start: cgroup");
        crate::failpoint("start:cgroup-made");
        let host_devices = if c.host_config.privileged { host_devices() } else { Vec::new() };
        let user_mounts = self.volumes_for_start(c)?;
        let (upper, work) = self.rw_dirs(c);
        let inputs = SpecInputs {
            layers,
            init_layer: self.init_layer(),
            upper,
            work,
            rootfs: run.clone(),
            hosts: ctr.dir.join("hosts"),
            hostname: ctr.dir.join("hostname"),
            resolv_conf: ctr.dir.join("resolv.conf"),
            cgroup_procs,
            cgroup_mounts: self.cgroup_mounts(),
            seccomp,
            init_binary: self.cfg().exe.clone(),
            joined: {
                let mut j = self.joined(c)?;
                if netns.is_some() {
                    j.net = netns;
                }
                j
            },
            host_devices,
            capabilities: caps,
            user_mounts,
            supervisor_dir: self.supervisor_dir(c)?,
        };
        let runtime_cfg = spec::build(c, &inputs)?;
        let shim_cfg = shim::ShimConfig {
            id: c.id.clone(),
            runtime: runtime_cfg,
            open_stdin: c.config.open_stdin,
            log_path: ctr.dir.join("container.log"),
            socket: run.join("shim.sock"),
            exit_file: run.join("exit.json"),
            debug: self.cfg().debug,
        };
        let data = serde_json::to_vec(&shim_cfg).expect("shim config serialises");
        let mut child = tokio::process::Command::new(&self.cfg().exe)
            .arg("shim")
            .arg(run)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| EngineError::io(format!("running shim {}", self.cfg().exe.display()), e))?;
        // The configuration goes over stdin: no file to write and remove on a hot path.
        let mut stdin = child.stdin.take().expect("piped stdin");
        tokio::io::AsyncWriteExt::write_all(&mut stdin, &data).await.map_err(|e| shim_err(&c.id, e))?;
        drop(stdin);
        let stdout = child.stdout.take().expect("piped stdout");
        // Reap the shim whenever it ends.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        let mut line = String::new();
        let mut reader = tokio::io::BufReader::new(stdout);
        reader.read_line(&mut line).await.map_err(|e| shim_err(&c.id, e))?;
        let report: shim::StartReport = serde_json::from_str(line.trim())
            .map_err(|e| shim_err(&c.id, std::io::Error::other(format!("bad start report {line:?}: {e}"))))?;
        if let Some(err) = report.error {
            return Err(EngineError::Start { code: report.code.unwrap_or(125), message: err });
        }
        tracing::trace!(container = %c.id, us = t0.elapsed().as_micros() as u64, "start: shim-created");
        crate::failpoint("start:shim-created");
        let pid = report.pid.unwrap_or(0);
        let socket = ctr.socket();

        // From here on a failure leaves a created container behind (and its shim, waiting for
        // it): kill it, also without a cgroup to do that for us. It is not started yet, so the
        // shim has not reaped it and the PID is still its.
        let connected = async {
            // The exit watcher first, so no exit can be missed.
            let mut waiter = ShimConn::connect(&socket).await.map_err(|e| shim_err(&c.id, e))?;
            waiter.request(&Request::Wait).await.map_err(|e| shim_err(&c.id, e))?;
            tracing::trace!(container = %c.id, us = t0.elapsed().as_micros() as u64, "start: waiter");
            // Attach clients that came before start get the first byte of output.
            self.connect_pending(ctr).await;
            tracing::trace!(container = %c.id, us = t0.elapsed().as_micros() as u64, "start: attaches");
            let resp = ShimConn::connect(&socket)
                .await
                .map_err(|e| shim_err(&c.id, e))?
                .request(&Request::Start)
                .await
                .map_err(|e| shim_err(&c.id, e))?;
            Ok::<_, EngineError>((waiter, resp))
        }
        .await;
        let (mut waiter, resp) = match connected {
            Ok(x) => x,
            Err(e) => {
                if pid > 0 {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
                }
                return Err(e);
            }
        };
        if let Some(err) = resp.error {
            // The process is gone; the shim records its exit and ends.
            let _ = waiter.next().await;
            return Err(EngineError::Start { code: resp.code.unwrap_or(125), message: err });
        }
        tracing::trace!(container = %c.id, us = t0.elapsed().as_micros() as u64, "start: started");
        crate::failpoint("start:process-started");
        let engine = self.clone();
        let ctr2 = ctr.clone();
        tokio::spawn(async move { engine.monitor(ctr2, waiter).await });
        Ok(pid)
    }

    /// Waits for the shim's exit frame and handles the exit.
    async fn monitor(&self, ctr: Arc<Ctr>, mut conn: ShimConn) {
        let exit = loop {
            match conn.next().await {
                Ok(Some(Frame::Exit(e))) => break Some(e),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break None,
            }
        };
        let from_shim = exit.is_some();
        tracing::trace!(container = %ctr.id, "exit: frame");
        let exit = exit.or_else(|| shim::read_exit_file(&ctr.run.join("exit.json")).ok());
        let recorded = self.handle_exit(&ctr, exit).await;
        if from_shim && recorded {
            // Recorded: the shim need not leave an exit file. (When the record could be saved
            // nowhere, the shim's exit file is what the next daemon learns the exit from.)
            let _ = conn.ack().await;
        }
    }

    /// Records an exit, frees the container's resources, applies its restart policy or removal.
    ///
    /// Boxed: it can start the container again, which spawns a monitor that calls this, and
    /// the compiler needs a named type to prove that cycle `Send`.
    pub(crate) fn handle_exit<'a>(
        &'a self,
        ctr: &'a Arc<Ctr>,
        exit: Option<Exit>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        Box::pin(self.handle_exit_inner(ctr, exit))
    }

    /// Returns whether the exit is on record (in the root or pending).
    async fn handle_exit_inner(&self, ctr: &Arc<Ctr>, exit: Option<Exit>) -> bool {
        let op = ctr.op.lock().await;
        if !ctr.snapshot().is_running() {
            return true;
        }
        let mut exit =
            exit.unwrap_or(Exit { code: 255, signal: None, at_ns: crate::events::now_ns(), oom_killed: false });
        let t0 = std::time::Instant::now();
        if let Ok(Some(cg)) = self.cgroup(&ctr.id) {
            let r = tokio::task::spawn_blocking(move || {
                // The cgroup is new at every start, so any OOM kill counted is this run's.
                let oom = cg.oom_kills().is_some_and(|n| n > 0);
                let _ = cg.kill_all(nix::sys::signal::Signal::SIGKILL);
                let _ = cg.destroy();
                oom
            })
            .await;
            exit.oom_killed = r.unwrap_or(false);
        }
        tracing::trace!(container = %ctr.id, us = t0.elapsed().as_micros() as u64, "exit: cgroup");
        crate::failpoint("exit:cgroup-freed");
        let _ = crate::remove_tree(&ctr.run);
        // Its processes are gone: its addresses, ports and rules are free for others.
        self.net_teardown(ctr).await;
        tracing::trace!(container = %ctr.id, us = t0.elapsed().as_micros() as u64, "exit: network");
        self.volumes_stopped(&ctr.id);
        let finished = chrono::DateTime::from_timestamp_nanos(exit.at_ns);
        let (policy, manually_stopped, auto_remove, started_at, restart_count) = {
            let c = ctr.rec.lock().unpoisoned();
            (
                c.host_config.restart_policy.clone(),
                c.state.manually_stopped,
                c.host_config.auto_remove && ctr.hold_auto_remove.load(std::sync::atomic::Ordering::SeqCst) == 0,
                c.state.started_at,
                c.state.restart_count,
            )
        };
        let restart = !manually_stopped
            && match policy.name.as_str() {
                "always" | "unless-stopped" => true,
                "on-failure" => {
                    exit.code != 0 && (policy.maximum_retry_count == 0 || restart_count < policy.maximum_retry_count)
                }
                _ => false,
            };
        let recorded = ctr
            .update(|c| {
                c.state.status = if restart { Status::Restarting } else { Status::Exited };
                c.state.pid = 0;
                c.state.exit_code = exit.code;
                c.state.oom_killed = exit.oom_killed;
                c.state.finished_at = Some(finished);
            })
            .inspect_err(|e| tracing::error!(container = %ctr.id, "recording the exit: {e:#}"))
            .is_ok();
        for e in self.inner.execs.read().unpoisoned().values() {
            if e.container_id == ctr.id {
                e.container_stopped();
            }
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("exitCode".to_owned(), exit.code.to_string());
        self.publish_container(ctr, "die", attrs);
        ctr.watch.send_modify(|w| {
            w.running = false;
            w.exits += 1;
            w.exit_code = exit.code;
        });
        drop(op);
        if restart {
            // Docker's back-off: 100 ms doubling per restart, reset after 10 s of running.
            let ran = started_at.map(|s| finished.signed_duration_since(s).num_seconds()).unwrap_or(0);
            let delay = if ran >= 10 {
                Duration::from_millis(100)
            } else {
                Duration::from_millis(100u64 << restart_count.clamp(0, 9))
            };
            let engine = self.clone();
            let ctr = ctr.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay.min(Duration::from_secs(60))).await;
                let _op = ctr.op.lock().await;
                if ctr.snapshot().state.status != Status::Restarting {
                    return;
                }
                let _ = ctr.update(|c| c.state.restart_count += 1);
                if let Err(e) = engine.start_locked(&ctr).await {
                    tracing::error!(container = %ctr.id, "restart failed: {e}");
                    let _ = ctr.update(|c| c.state.status = Status::Exited);
                }
            });
        } else if auto_remove {
            let engine = self.clone();
            let id = ctr.id.clone();
            tokio::spawn(async move {
                // `--rm` takes the container's anonymous volumes with it, as Docker's.
                if let Err(e) = engine.remove_with(&id, true, true).await {
                    tracing::error!(container = %id, "auto-remove failed: {e}");
                }
            });
        }
        recorded
    }

    /// Sends a signal to the container's first process (`docker kill`).
    pub async fn kill(&self, name_or_id: &str, signal: Option<&str>) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let sig = parse_signal(signal.unwrap_or("SIGKILL"))?;
        {
            let _op = ctr.op.lock().await;
            let c = ctr.snapshot();
            if !c.is_running() {
                return Err(EngineError::Conflict(format!(
                    "cannot kill container: {}: container {} is not running",
                    name_or_id, c.id
                )));
            }
            ctr.update_lenient(|c| c.state.manually_stopped = true);
        }
        self.signal(&ctr, sig, sig == libc::SIGKILL).await?;
        let mut attrs = BTreeMap::new();
        attrs.insert("signal".to_owned(), sig.to_string());
        self.publish_container(&ctr, "kill", attrs);
        Ok(())
    }

    async fn signal(&self, ctr: &Ctr, sig: i32, all: bool) -> Result<(), EngineError> {
        if ctr.snapshot().state.status == Status::Paused && (sig == libc::SIGKILL || sig == libc::SIGTERM) {
            // A frozen process can't act on a signal; SIGKILL works on frozen tasks in v2 but not v1.
            if let Ok(Some(cg)) = self.cgroup(&ctr.id) {
                let _ = tokio::task::spawn_blocking(move || cg.thaw()).await;
            }
            let _ = ctr.update(|c| c.state.status = Status::Running);
        }
        match ShimConn::call(&ctr.socket(), &Request::Kill { exec: None, signal: sig, all }).await {
            Ok(_) => Ok(()),
            // The process may have exited between our check and the shim's, and the shim may
            // be gone with it.
            Err(e)
                if e.to_string().contains("already exited")
                    || matches!(
                        e.kind(),
                        io::ErrorKind::NotFound
                            | io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::BrokenPipe
                            | io::ErrorKind::UnexpectedEof
                    ) =>
            {
                Ok(())
            }
            Err(e) => Err(shim_err(&ctr.id, e)),
        }
    }

    /// Waits until the container's exit counter passes `after`, or the timeout.
    async fn wait_exit(&self, ctr: &Ctr, after: u64, timeout: Option<Duration>) -> bool {
        let mut rx = ctr.watch.subscribe();
        let fut = rx.wait_for(|w| w.exits > after || !w.running || w.removed);
        match timeout {
            Some(t) => matches!(tokio::time::timeout(t, fut).await, Ok(Ok(_))),
            None => fut.await.is_ok(),
        }
    }

    /// Stops the container: its stop signal, then SIGKILL after `timeout` seconds (default: its
    /// StopTimeout or 10; negative: wait forever).
    pub async fn stop(&self, name_or_id: &str, timeout: Option<i64>, signal: Option<&str>) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        {
            // Under the lifecycle lock: a restart-policy start in progress finishes first, so
            // the stop can't be lost to it.
            let _op = ctr.op.lock().await;
            let c = ctr.snapshot();
            if c.state.status == Status::Restarting {
                ctr.update_lenient(|c| {
                    c.state.manually_stopped = true;
                    c.state.status = Status::Exited;
                });
                return Ok(());
            }
            if !c.is_running() {
                return Err(EngineError::NotModified("container already stopped".into()));
            }
            ctr.update_lenient(|c| c.state.manually_stopped = true);
        }
        self.stop_running(&ctr, timeout, signal).await?;
        self.publish_container(&ctr, "stop", BTreeMap::new());
        Ok(())
    }

    pub(crate) async fn stop_running(
        &self,
        ctr: &Ctr,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<(), EngineError> {
        let c = ctr.snapshot();
        let exits = ctr.watch.borrow().exits;
        let sig = parse_signal(signal.or(c.config.stop_signal.as_deref()).unwrap_or("SIGTERM"))?;
        let secs = timeout.or(c.config.stop_timeout).unwrap_or(10);
        if sig != libc::SIGKILL {
            self.signal(ctr, sig, false).await?;
            crate::failpoint("stop:signalled");
            let limit = (secs >= 0).then(|| Duration::from_secs(u64::try_from(secs).unwrap_or(0)));
            if self.wait_exit(ctr, exits, limit).await {
                return Ok(());
            }
        }
        self.signal(ctr, libc::SIGKILL, true).await?;
        if !self.wait_exit(ctr, exits, Some(Duration::from_secs(30))).await {
            return Err(EngineError::Conflict(format!("container {} did not stop after SIGKILL", ctr.id)));
        }
        Ok(())
    }

    /// Restarts the container (stop if running, then start).
    pub async fn restart(
        &self,
        name_or_id: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        // As dockerd: the stop of a restart doesn't remove a `--rm` container.
        let _hold = HoldAutoRemove::new(&ctr);
        let running = {
            let _op = ctr.op.lock().await;
            let running = ctr.snapshot().is_running();
            if running {
                ctr.update_lenient(|c| c.state.manually_stopped = true);
            }
            running
        };
        if running {
            self.stop_running(&ctr, timeout, signal).await?;
        }
        let _op = ctr.op.lock().await;
        if ctr.snapshot().is_running() {
            return Ok(());
        }
        self.start_locked(&ctr).await?;
        self.publish_container(&ctr, "restart", BTreeMap::new());
        Ok(())
    }

    /// Freezes the container.
    pub async fn pause(&self, name_or_id: &str) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        match c.state.status {
            Status::Running => {}
            Status::Paused => return Err(EngineError::Conflict(format!("container {} is already paused", c.id))),
            _ => return Err(EngineError::Conflict(format!("container {} is not running", c.id))),
        }
        let cg = self.cgroup(&c.id)?.ok_or_else(|| EngineError::Conflict("pausing needs the freezer cgroup".into()))?;
        tokio::task::spawn_blocking(move || cg.freeze()).await.expect("freeze task")?;
        ctr.update(|c| c.state.status = Status::Paused)?;
        self.publish_container(&ctr, "pause", BTreeMap::new());
        Ok(())
    }

    /// Thaws the container.
    pub async fn unpause(&self, name_or_id: &str) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        if c.state.status != Status::Paused {
            return Err(EngineError::Conflict(format!("container {} is not paused", c.id)));
        }
        let cg = self.cgroup(&c.id)?.ok_or_else(|| EngineError::Conflict("pausing needs the freezer cgroup".into()))?;
        tokio::task::spawn_blocking(move || cg.thaw()).await.expect("thaw task")?;
        ctr.update(|c| c.state.status = Status::Running)?;
        self.publish_container(&ctr, "unpause", BTreeMap::new());
        Ok(())
    }

    /// Registers a wait now (so that a start right after can't be missed) and returns a future
    /// resolving to (exit code, error) when the condition holds.
    pub fn wait(
        &self,
        name_or_id: &str,
        cond: WaitCondition,
    ) -> Result<impl std::future::Future<Output = i32> + Send + 'static, EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let mut rx = ctr.watch.subscribe();
        let start: Watch = rx.borrow().clone();
        Ok(async move {
            let done = rx
                .wait_for(|w| match cond {
                    WaitCondition::NotRunning => !w.running,
                    WaitCondition::NextExit => w.exits > start.exits || w.removed,
                    WaitCondition::Removed => w.removed,
                })
                .await
                .map(|w| w.exit_code);
            // The container was dropped: report what we last knew.
            done.unwrap_or(start.exit_code)
        })
    }

    /// Removes a container (`force`: kill it first if it runs).
    pub async fn remove(&self, name_or_id: &str, force: bool) -> Result<(), EngineError> {
        self.remove_with(name_or_id, force, false).await
    }

    /// Removes a container; with `volumes`, also its anonymous volumes no other container uses
    /// (`rm -v`).
    pub async fn remove_with(&self, name_or_id: &str, force: bool, volumes: bool) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let op = ctr.op.lock().await;
        let c = ctr.snapshot();
        if c.is_running() || c.state.status == Status::Restarting {
            if !force {
                let what = if c.state.status == Status::Paused { "paused" } else { "running" };
                return Err(EngineError::Conflict(format!(
                    "cannot remove container \"/{}\": container is {what}: stop the container before removing or force remove",
                    c.name
                )));
            }
            let restarting = c.state.status == Status::Restarting;
            ctr.update_lenient(|c| {
                c.state.manually_stopped = true;
                if restarting {
                    c.state.status = Status::Exited;
                }
            });
            if restarting {
                drop(op);
            } else {
                drop(op);
                let exits = ctr.watch.borrow().exits;
                self.signal(&ctr, libc::SIGKILL, true).await?;
                if !self.wait_exit(&ctr, exits, Some(Duration::from_secs(30))).await {
                    return Err(EngineError::Conflict(format!("could not kill container {}", c.id)));
                }
            }
        } else {
            drop(op);
        }
        let _op = ctr.op.lock().await;
        // Again under the lock: a rename may have happened while it was released.
        let c = ctr.snapshot();
        if c.is_running() {
            return Err(EngineError::Conflict(format!("container {} was started again while being removed", c.id)));
        }
        if c.state.status == Status::Removing {
            return Err(EngineError::Conflict(format!("removal of container {} is already in progress", c.id)));
        }
        ctr.rec.lock().unpoisoned().state.status = Status::Removing;
        let dir = ctr.dir.clone();
        let run = ctr.run.clone();
        // Rename first so a crash mid-delete leaves no half container that looks whole.
        let trash = dir.with_file_name(format!("{}{}", store::REMOVING, ctr.id));
        let pending = ctr.pending_file();
        let res = tokio::task::spawn_blocking(move || {
            std::fs::rename(&dir, &trash)?;
            crate::failpoint("rm:renamed");
            let _ = std::fs::remove_file(&pending);
            let _ = crate::remove_tree(&run);
            crate::remove_tree(&trash)
        })
        .await
        .expect("remove task");
        if let Err(e) = res {
            ctr.rec.lock().unpoisoned().state.status = Status::Dead;
            return Err(EngineError::io(format!("removing container {}", ctr.id), e));
        }
        self.inner.containers.write().unpoisoned().remove(&ctr.id);
        {
            let mut names = self.inner.names.write().unpoisoned();
            if names.get(&c.name) == Some(&ctr.id) {
                names.remove(&c.name);
            }
        }
        self.inner.execs.write().unpoisoned().retain(|_, e| e.container_id != ctr.id);
        self.release_volumes(&c, volumes).await;
        self.publish_container(&ctr, "destroy", BTreeMap::new());
        ctr.watch.send_modify(|w| {
            w.removed = true;
            w.running = false;
        });
        drop(_op);
        // The image may have been kept only for this container.
        if c.image_id.parse().is_ok_and(|d: oci::Digest| self.images().is_retained(&d)) {
            self.image_gc().await;
        }
        Ok(())
    }

    /// Removes stopped containers; returns their IDs and the bytes their writable layers held.
    pub async fn prune_containers(
        &self,
        filter: impl Fn(&Container) -> bool,
    ) -> Result<(Vec<String>, u64), EngineError> {
        let mut out = Vec::new();
        let mut reclaimed = 0u64;
        for c in self.containers() {
            if c.is_running() || c.state.status == Status::Restarting || !filter(&c) {
                continue;
            }
            let (rw, _) = self.container_size(&c.id).await.unwrap_or((0, 0));
            if self.remove(&c.id, false).await.is_ok() {
                // A `--persist` container's layer stays: nothing reclaimed there.
                if c.persistent_layer.is_none() {
                    reclaimed += u64::try_from(rw).unwrap_or(0);
                }
                out.push(c.id);
            }
        }
        Ok((out, reclaimed))
    }

    /// After opening: reconnect to running containers' shims, record exits that happened while
    /// no daemon ran, remove half-created leftovers, and start containers whose restart policy
    /// asks for it.
    pub(crate) async fn recover(&self) -> Result<(), EngineError> {
        let dir = self.cfg().root.join("containers");
        let loaded = store::load_all(&dir).map_err(|e| EngineError::io(format!("reading {}", dir.display()), e))?;
        for b in loaded.leftovers {
            tracing::warn!("removing the leftover of an interrupted create or removal: {}", b.display());
            let _ = crate::remove_tree(&b);
        }
        // Never delete what can't be read (a record of a newer berth after a downgrade, a torn
        // file): the directory, writable layer included, goes aside whole.
        for (b, why) in loaded.unreadable {
            match store::set_aside(&self.cfg().root, &b) {
                Ok(to) => tracing::error!(
                    "container directory {} can't be read ({why}): moved to {} with everything in it",
                    b.display(),
                    to.display()
                ),
                Err(e) => tracing::error!(
                    "container directory {} can't be read ({why}) nor moved aside ({e}): left in place",
                    b.display()
                ),
            }
        }
        // Records that could not be saved in the root (a full disk) are newer than its copies.
        let pending_dir = self.cfg().exec_root.join(store::PENDING);
        let mut records = loaded.records;
        let mut pending = std::collections::HashSet::new();
        for p in store::load_pending(&pending_dir) {
            match records.iter_mut().find(|c| c.id == p.id) {
                Some(c) => {
                    pending.insert(p.id.clone());
                    *c = p;
                }
                // Its directory went (removed after the failed save): nothing to bring back.
                None => {
                    let _ = std::fs::remove_file(pending_dir.join(format!("{}.json", p.id)));
                }
            }
        }
        let mut to_start = Vec::new();
        let mut live = std::collections::HashSet::new();
        for mut c in records {
            if c.state.status == Status::Removing {
                c.state.status = Status::Dead;
            }
            let was_running = c.is_running() || c.state.status == Status::Restarting;
            let policy = c.host_config.restart_policy.name.clone();
            let manually = c.state.manually_stopped;
            self.upgrade_recover(&c);
            let ctr = self.register(c);
            if pending.contains(&ctr.id) {
                tracing::warn!(container = %ctr.id, "using the record left pending by the previous daemon");
                ctr.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
                ctr.flush();
            }
            if was_running {
                let socket = ctr.socket();
                let alive = match ShimConn::connect(&socket).await {
                    Ok(mut conn) => match conn.request(&Request::Wait).await {
                        Ok(_) => {
                            let engine = self.clone();
                            let ctr2 = ctr.clone();
                            tokio::spawn(async move { engine.monitor(ctr2, conn).await });
                            true
                        }
                        Err(_) => false,
                    },
                    Err(_) => false,
                };
                if alive {
                    live.insert(ctr.id.clone());
                    self.thaw_after_commit(&ctr).await;
                } else if ctr.snapshot().state.status == Status::Restarting {
                    // It had exited and was waiting for its restart policy: its exit is on record,
                    // the restart is still owed.
                    let _ = ctr.update(|c| c.state.status = Status::Exited);
                    to_start.push(ctr);
                } else {
                    let exit = shim::read_exit_file(&ctr.run.join("exit.json")).ok();
                    self.handle_exit(&ctr, exit).await;
                }
            } else if policy == "always" || (policy == "unless-stopped" && !manually) {
                to_start.push(ctr);
            }
        }
        // Every other run directory is a start the previous daemon did not finish (or a
        // container it can't read): its shim and processes are killed, its cgroup freed.
        self.reap_ghosts(&live).await;
        let running: Vec<Arc<Ctr>> =
            self.inner.containers.read().unpoisoned().values().filter(|c| c.snapshot().is_running()).cloned().collect();
        self.net_recover(&running).await;
        self.volumes_recover();
        // `always` containers come back after a daemon restart, even if stopped by hand before.
        for ctr in to_start {
            let c = ctr.snapshot();
            if c.state.status == Status::Created && c.state.started_at.is_none() {
                continue;
            }
            let _op = ctr.op.lock().await;
            if let Err(e) = self.start_locked(&ctr).await {
                tracing::error!(container = %ctr.id, "restart policy start failed: {e}");
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Thaws a running container the previous daemon froze for a commit and died before
    /// thawing (its marker is still in the run directory).
    async fn thaw_after_commit(&self, ctr: &Ctr) {
        let marker = ctr.run.join(crate::commit::FROZEN_FOR_COMMIT);
        if !marker.exists() {
            return;
        }
        if ctr.snapshot().state.status == Status::Running
            && let Ok(Some(cg)) = self.cgroup(&ctr.id)
        {
            match tokio::task::spawn_blocking(move || cg.thaw()).await.expect("thaw task") {
                Ok(()) => tracing::warn!(container = %ctr.id, "thawed: the previous daemon died committing it"),
                Err(e) => tracing::error!(container = %ctr.id, "thawing after an interrupted commit: {e}"),
            }
        }
        let _ = std::fs::remove_file(&marker);
    }

    /// Kills and frees what runs from a run directory no running record accounts for (`live`:
    /// the containers reconnected to): a start interrupted between the shim's spawn and the
    /// record saying "running" left a shim, maybe a running process, a cgroup. The record of
    /// such a container says what it said before that start; its network went with the old
    /// daemon (nothing was recorded, the namespace dies with its processes).
    async fn reap_ghosts(&self, live: &std::collections::HashSet<String>) {
        let runs = self.cfg().exec_root.join("containers");
        let Ok(rd) = std::fs::read_dir(&runs) else { return };
        for e in rd.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            if live.contains(&id) {
                continue;
            }
            if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                tracing::warn!("{}: not a container's run directory, left alone", e.path().display());
                continue;
            }
            self.reap_ghost(&id).await;
        }
    }

    async fn reap_ghost(&self, id: &str) {
        let run = self.run_dir(id);
        let socket = run.join("shim.sock");
        let t = Duration::from_secs(2);
        let mut waiter = None;
        let mut had_shim = false;
        if let Ok(Ok(mut w)) = tokio::time::timeout(t, ShimConn::connect(&socket)).await {
            had_shim = true;
            if matches!(tokio::time::timeout(t, w.request(&Request::Wait)).await, Ok(Ok(_))) {
                waiter = Some(w);
            }
            let kill = Request::Kill { exec: None, signal: libc::SIGKILL, all: true };
            let _ = tokio::time::timeout(t, ShimConn::call(&socket, &kill)).await;
        }
        // Also through the cgroup: a process created but not started, or one whose shim is gone.
        let cg = self.cgroup(id).ok().flatten();
        if let Some(cg) = cg.clone() {
            let _ = tokio::task::spawn_blocking(move || cg.kill_all(nix::sys::signal::Signal::SIGKILL)).await;
        }
        if let Some(mut w) = waiter {
            let _ = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    match w.next().await {
                        Ok(Some(Frame::Exit(_))) => {
                            let _ = w.ack().await;
                            break;
                        }
                        Ok(Some(_)) => continue,
                        _ => break,
                    }
                }
            })
            .await;
        }
        if let Some(cg) = cg {
            let _ = tokio::task::spawn_blocking(move || {
                let _ = cg.kill_all(nix::sys::signal::Signal::SIGKILL);
                cg.destroy()
            })
            .await;
        }
        let _ = crate::remove_tree(&run);
        let known = self.lookup(id).is_ok();
        tracing::warn!(
            container = %id,
            "killed what a start the previous daemon did not finish left ({}{}); the container stays {}",
            if had_shim { "a shim" } else { "no shim" },
            if known { "" } else { ", no readable record" },
            if known { "as recorded" } else { "unknown" },
        );
    }
}

/// Every character and block device of the host's /dev (for `--privileged`).
fn host_devices() -> Vec<runtime::Device> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from("/dev")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
            let ft = m.file_type();
            if ft.is_dir() {
                if !matches!(p.to_str(), Some("/dev/pts" | "/dev/shm" | "/dev/mqueue")) {
                    stack.push(p);
                }
            } else if ft.is_char_device() || ft.is_block_device() {
                if p == std::path::Path::new("/dev/console") || p == std::path::Path::new("/dev/ptmx") {
                    continue;
                }
                let rdev = m.rdev();
                out.push(runtime::Device {
                    path: p,
                    kind: if ft.is_char_device() { 'c' } else { 'b' },
                    major: rustix::fs::major(rdev).into(),
                    minor: rustix::fs::minor(rdev).into(),
                    mode: m.mode() & 0o7777,
                    uid: m.uid(),
                    gid: m.gid(),
                });
            }
        }
    }
    out
}

/// While alive, an exit of the container doesn't trigger its `--rm` (a restart or an upgrade
/// stopping it to start it again). Counted, so overlapping holders compose.
pub(crate) struct HoldAutoRemove<'a>(&'a Ctr);

impl<'a> HoldAutoRemove<'a> {
    pub(crate) fn new(ctr: &'a Ctr) -> Self {
        ctr.hold_auto_remove.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        HoldAutoRemove(ctr)
    }
}

impl Drop for HoldAutoRemove<'_> {
    fn drop(&mut self) {
        self.0.hold_auto_remove.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(parse_signal("SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("term").unwrap(), 15);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("SIGRTMIN+3").unwrap(), libc::SIGRTMIN() + 3);
        assert!(parse_signal("SIGNOPE").is_err());
        assert!(parse_signal("0").is_err());
    }
}
