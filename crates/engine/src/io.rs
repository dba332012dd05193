//! A container's streams: attach, exec, logs; and `top`, `resize`.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shim::proto::{Exit, Request};
use tokio::sync::{mpsc, oneshot};

use crate::Unpoison;
use crate::model::{Status, Top};
use crate::shimctl::{Frame, ShimConn, ShimReader, ShimWriter};
use crate::{Ctr, Engine, EngineError, random_id, spec};

/// Which streams an attach wants.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttachOptions {
    /// Feed stdin.
    pub stdin: bool,
    /// Receive stdout.
    pub stdout: bool,
    /// Receive stderr.
    pub stderr: bool,
}

/// An attach that waits for the container to start.
#[derive(Debug)]
pub(crate) struct PendingAttach {
    pub opts: AttachOptions,
    pub tx: oneshot::Sender<ShimConn>,
}

/// The stream of an attach: connected now, or when the container starts.
#[derive(Debug)]
pub enum AttachStream {
    /// Connected to the running container.
    Ready(ShimConn),
    /// Will be connected when the container starts.
    Pending(oneshot::Receiver<ShimConn>),
}

impl AttachStream {
    /// The connection (waits for the start if needed; None if the start failed or the container
    /// went away).
    pub async fn connect(self) -> Option<ShimConn> {
        match self {
            AttachStream::Ready(c) => Some(c),
            AttachStream::Pending(rx) => rx.await.ok(),
        }
    }
}

/// An exec's settings.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Command.
    pub cmd: Vec<String>,
    /// Extra environment.
    pub env: Vec<String>,
    /// User (default: the container's).
    pub user: String,
    /// Working directory (default: the container's).
    pub working_dir: String,
    /// Terminal.
    pub tty: bool,
    /// Attach stdin.
    pub attach_stdin: bool,
    /// Attach stdout.
    pub attach_stdout: bool,
    /// Attach stderr.
    pub attach_stderr: bool,
    /// All capabilities, no seccomp.
    pub privileged: bool,
    /// Detach keys.
    pub detach_keys: String,
    /// Initial terminal size.
    pub console_size: Option<(u16, u16)>,
}

#[derive(Debug)]
struct ExecState {
    started: bool,
    running: bool,
    exit_code: Option<i32>,
    pid: i32,
    /// When it was created, then when it ended: what [`Engine::gc_execs`] ages it by.
    since: std::time::Instant,
}

impl Default for ExecState {
    fn default() -> Self {
        ExecState { started: false, running: false, exit_code: None, pid: 0, since: std::time::Instant::now() }
    }
}

/// How long an exec instance that ended, or was never started, stays inspectable.
pub(crate) const EXEC_KEEP: Duration = Duration::from_secs(300);

/// The most exec instances a container may have that were created and not started (each holds
/// its caller's command and environment in the daemon's memory): beyond, the oldest go.
pub(crate) const MAX_UNSTARTED_EXECS: usize = 1024;

/// An exec instance.
#[derive(Debug)]
pub(crate) struct Exec {
    pub id: String,
    pub container_id: String,
    pub opts: ExecOptions,
    state: Mutex<ExecState>,
}

impl Exec {
    fn record_exit(&self, exit: &Exit) {
        let mut s = self.state.lock().unpoisoned();
        s.running = false;
        s.exit_code = Some(exit.code);
        s.since = std::time::Instant::now();
    }

    /// Ended (or, `unstarted`, never started) more than `keep` ago.
    fn expired(&self, now: std::time::Instant, keep: Duration) -> bool {
        let s = self.state.lock().unpoisoned();
        let idle = !s.running && (s.exit_code.is_some() || !s.started);
        idle && now.saturating_duration_since(s.since) >= keep
    }

    fn ended(&self) -> bool {
        self.state.lock().unpoisoned().exit_code.is_some()
    }

    /// The container stopped: a running exec is gone with it.
    pub(crate) fn container_stopped(&self) {
        let mut s = self.state.lock().unpoisoned();
        if s.running {
            s.running = false;
            s.exit_code.get_or_insert(137);
            s.since = std::time::Instant::now();
        }
    }
}

/// What exec inspect shows.
#[derive(Debug, Clone)]
pub struct ExecInfo {
    /// Exec ID.
    pub id: String,
    /// Its container.
    pub container_id: String,
    /// Settings.
    pub opts: ExecOptions,
    /// Started and not exited.
    pub running: bool,
    /// Exit code once exited.
    pub exit_code: Option<i32>,
    /// PID while running.
    pub pid: i32,
}

/// The output side of an exec: records the exit when it passes.
#[derive(Debug)]
pub struct ExecReader {
    inner: ShimReader,
    exec: Arc<Exec>,
}

impl ExecReader {
    /// The next frame.
    pub async fn next(&mut self) -> std::io::Result<Option<Frame>> {
        let f = self.inner.next().await;
        match &f {
            Ok(Some(Frame::Exit(e))) => self.exec.record_exit(e),
            Ok(None) | Err(_) => self.exec.container_stopped(),
            _ => {}
        }
        f
    }
}

/// Log reading options.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    /// Keep streaming until the container stops.
    pub follow: bool,
    /// Only records at or after (ns since the epoch).
    pub since_ns: Option<i64>,
    /// Only records before.
    pub until_ns: Option<i64>,
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// Include stdout.
    pub stdout: bool,
    /// Include stderr.
    pub stderr: bool,
}

/// One log record.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// 1 stdout, 2 stderr.
    pub stream: u8,
    /// Nanoseconds since the epoch.
    pub time_ns: i64,
    /// The bytes.
    pub data: Vec<u8>,
}

/// A connection to the shim attached to the first process's streams of container `id`.
async fn attach_conn(id: &str, socket: &std::path::Path, opts: &AttachOptions) -> Result<ShimConn, EngineError> {
    let shim = |e| EngineError::Shim { id: id.to_owned(), source: e };
    let mut conn = ShimConn::connect(socket).await.map_err(shim)?;
    let req = Request::Attach { stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr };
    match conn.request(&req).await.map_err(shim)?.error {
        Some(e) => Err(EngineError::Conflict(e)),
        None => Ok(conn),
    }
}

impl Engine {
    /// Attaches to a container's first process. The attach is registered before this returns,
    /// so a start that follows can't lose output.
    pub async fn attach(&self, name_or_id: &str, opts: AttachOptions) -> Result<AttachStream, EngineError> {
        let ctr = self.lookup(name_or_id)?;
        {
            // Checked under the pending lock: a start sets Running, then connects what is
            // pending (`connect_pending`), so an attach is either queued before that or sees
            // the container running.
            let mut pending = ctr.pending.lock().unpoisoned();
            if !ctr.snapshot().is_running() {
                let (tx, rx) = oneshot::channel();
                pending.push(PendingAttach { opts, tx });
                return Ok(AttachStream::Pending(rx));
            }
        }
        Ok(AttachStream::Ready(attach_conn(&ctr.id, &ctr.socket(), &opts).await?))
    }

    /// Connects the attaches that waited for the container to start.
    pub(crate) async fn connect_pending(&self, ctr: &Ctr) {
        let pending: Vec<_> = std::mem::take(&mut *ctr.pending.lock().unpoisoned());
        for p in pending {
            match attach_conn(&ctr.id, &ctr.socket(), &p.opts).await {
                Ok(conn) => {
                    let _ = p.tx.send(conn);
                }
                Err(e) => tracing::warn!(container = %ctr.id, "attach before start: {e}"),
            }
        }
    }

    /// Closes the first process's stdin (after a `StdinOnce` attach ends).
    pub async fn close_stdin(&self, name_or_id: &str) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        ShimConn::call(&ctr.socket(), &Request::CloseStdin)
            .await
            .map_err(|e| EngineError::Shim { id: ctr.id.clone(), source: e })?;
        Ok(())
    }

    /// Resizes the container's terminal.
    pub async fn resize(&self, name_or_id: &str, rows: u16, cols: u16) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        if !ctr.snapshot().is_running() {
            return Err(EngineError::Conflict(format!("cannot resize a stopped container: {}", ctr.id)));
        }
        ShimConn::call(&ctr.socket(), &Request::Resize { exec: None, rows, cols })
            .await
            .map_err(|e| EngineError::Conflict(format!("resizing container {}: {e}", ctr.id)))?;
        Ok(())
    }

    /// Creates an exec instance; returns its ID.
    pub fn exec_create(&self, name_or_id: &str, opts: ExecOptions) -> Result<String, EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let c = ctr.snapshot();
        if !c.is_running() {
            return Err(EngineError::Conflict(format!("container {} is not running", c.id)));
        }
        if c.state.status == Status::Paused {
            return Err(EngineError::Conflict(format!(
                "container {} is paused, unpause the container before exec",
                c.id
            )));
        }
        if opts.cmd.is_empty() {
            return Err(EngineError::InvalidArgument("no exec command specified".into()));
        }
        crate::create::check_user(&opts.user, &[])?;
        let id = random_id();
        let exec = Arc::new(Exec {
            id: id.clone(),
            container_id: c.id.clone(),
            opts,
            state: Mutex::new(ExecState::default()),
        });
        {
            let mut execs = self.inner.execs.write().unpoisoned();
            let mut waiting: Vec<(std::time::Instant, String)> = execs
                .values()
                .filter(|e| e.container_id == c.id)
                .filter_map(|e| {
                    let s = e.state.lock().unpoisoned();
                    (!s.started).then(|| (s.since, e.id.clone()))
                })
                .collect();
            if waiting.len() >= MAX_UNSTARTED_EXECS {
                // Clients start an exec right after creating it: the oldest unstarted ones
                // are abandoned, and go first.
                waiting.sort();
                for (_, old) in &waiting[..=waiting.len() - MAX_UNSTARTED_EXECS] {
                    execs.remove(old);
                }
                tracing::info!(container = %c.id, "more than {MAX_UNSTARTED_EXECS} exec instances created and not started: the oldest forgotten");
            }
            execs.insert(id.clone(), exec);
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("execID".to_owned(), id.clone());
        self.publish_container(&ctr, "exec_create", attrs);
        Ok(id)
    }

    /// Forgets exec instances that ended, or were never started, [`EXEC_KEEP`] ago (as dockerd's
    /// exec store does not keep them forever either).
    pub(crate) fn gc_execs(&self, keep: Duration) {
        let now = std::time::Instant::now();
        self.inner.execs.write().unpoisoned().retain(|_, e| !e.expired(now, keep));
    }

    /// IDs of a container's exec instances that have not ended.
    pub(crate) fn exec_ids(&self, container_id: &str) -> Vec<String> {
        let execs = self.inner.execs.read().unpoisoned();
        let mut ids: Vec<String> =
            execs.values().filter(|e| e.container_id == container_id && !e.ended()).map(|e| e.id.clone()).collect();
        ids.sort();
        ids
    }

    fn exec_get(&self, id: &str) -> Result<Arc<Exec>, EngineError> {
        self.inner
            .execs
            .read()
            .unpoisoned()
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::NotFound(format!("No such exec instance: {id}")))
    }

    /// Exec inspect data.
    pub fn exec_inspect(&self, id: &str) -> Result<ExecInfo, EngineError> {
        let e = self.exec_get(id)?;
        let s = e.state.lock().unpoisoned();
        Ok(ExecInfo {
            id: e.id.clone(),
            container_id: e.container_id.clone(),
            opts: e.opts.clone(),
            running: s.running,
            exit_code: s.exit_code,
            pid: s.pid,
        })
    }

    /// Starts an exec. With `detach`, its output is dropped and None is returned; otherwise the
    /// caller streams it.
    /// `console` overrides the terminal size given at create (clients send it with start).
    pub async fn exec_start(
        &self,
        id: &str,
        detach: bool,
        console: Option<(u16, u16)>,
    ) -> Result<Option<(ExecReader, ShimWriter)>, EngineError> {
        let exec = self.exec_get(id)?;
        {
            let mut s = exec.state.lock().unpoisoned();
            if s.started {
                return Err(EngineError::Conflict(format!("exec {id} has already been started")));
            }
            s.started = true;
        }
        let ctr = self.lookup(&exec.container_id)?;
        let c = ctr.snapshot();
        if !c.is_running() {
            return Err(EngineError::Conflict(format!("container {} is not running", c.id)));
        }
        let o = &exec.opts;
        let mut env = spec::process_env(&c, o.tty);
        spec::replace_or_append_env(&mut env, &o.env);
        let mut view = c.clone();
        view.host_config.privileged = c.host_config.privileged || o.privileged;
        let caps = spec::capabilities(&view, self.inner.last_cap)?;
        // Not privileged: the exec has the container's capabilities, so its seccomp program.
        let seccomp = if view.host_config.privileged { None } else { self.seccomp_program(&c, caps.clone()).await? };
        let process = runtime::Process {
            args: o.cmd.clone(),
            env,
            cwd: (if o.working_dir.is_empty() { &c.config.working_dir } else { &o.working_dir }).into(),
            user: if o.user.is_empty() { c.config.user.clone() } else { o.user.clone() },
            additional_groups: c.host_config.group_add.clone(),
            terminal: o.tty,
            console_size: console.or(o.console_size),
            capabilities: caps,
            rlimits: spec::rlimits(&c),
            no_new_privileges: spec::no_new_privileges(&c.host_config.security_opt),
            seccomp,
            create_cwd: false,
            owned_dirs: Vec::new(),
        };
        let shim_id = |e| EngineError::Shim { id: c.id.clone(), source: e };
        let mut conn = ShimConn::connect(&ctr.socket()).await.map_err(shim_id)?;
        let resp = conn
            .request(&Request::Exec {
                id: exec.id.clone(),
                process: Box::new(process),
                stdin: o.attach_stdin && !detach,
            })
            .await
            .map_err(|e| EngineError::Shim { id: c.id.clone(), source: e })?;
        if let Some(err) = resp.error {
            // dockerd reports 126 for every exec that could not be started.
            exec.record_exit(&Exit { code: 126, signal: None, at_ns: 0, oom_killed: false });
            return Err(EngineError::ExecStart { message: err });
        }
        {
            let mut s = exec.state.lock().unpoisoned();
            s.running = true;
            s.pid = resp.pid.unwrap_or(0);
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("execID".to_owned(), exec.id.clone());
        self.publish_container(&ctr, "exec_start", attrs);
        let (r, w) = conn.split();
        let mut reader = ExecReader { inner: r, exec };
        if detach {
            tokio::spawn(async move {
                let _w = w;
                while let Ok(Some(f)) = reader.next().await {
                    if matches!(f, Frame::Exit(_)) {
                        break;
                    }
                }
            });
            return Ok(None);
        }
        Ok(Some((reader, w)))
    }

    /// Resizes an exec's terminal.
    pub async fn exec_resize(&self, id: &str, rows: u16, cols: u16) -> Result<(), EngineError> {
        let exec = self.exec_get(id)?;
        let ctr = self.lookup(&exec.container_id)?;
        ShimConn::call(&ctr.socket(), &Request::Resize { exec: Some(exec.id.clone()), rows, cols })
            .await
            .map_err(|e| EngineError::Conflict(format!("resizing exec {id}: {e}")))?;
        Ok(())
    }

    /// Reads a container's log; with `follow`, keeps streaming until the container stops.
    pub fn logs(&self, name_or_id: &str, opts: LogsOptions) -> Result<mpsc::Receiver<LogLine>, EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let path = self.log_path(&ctr.id);
        let watch = ctr.watch.subscribe();
        let (tx, rx) = mpsc::channel(256);
        crate::spawn_transfer("logs", move || {
            let Ok(mut f) = std::fs::File::open(&path) else { return };
            let keep = |r: &shim::log::Record| {
                (r.stream == shim::log::STDOUT && opts.stdout || r.stream == shim::log::STDERR && opts.stderr)
                    && opts.since_ns.is_none_or(|s| r.time_ns >= s)
                    && opts.until_ns.is_none_or(|u| r.time_ns < u)
            };
            let mut reader = shim::log::Reader::new(std::io::BufReader::with_capacity(256 * 1024, &mut f));
            let mut backlog: std::collections::VecDeque<LogLine> = std::collections::VecDeque::new();
            let mut lines = 0usize;
            while let Ok(Some(r)) = reader.next_record() {
                if !keep(&r) {
                    continue;
                }
                let partial = r.partial;
                let line = LogLine { stream: r.stream, time_ns: r.time_ns, data: r.data };
                match opts.tail {
                    Some(n) => {
                        backlog.push_back(line);
                        if !partial {
                            lines += 1;
                        }
                        while lines > n {
                            // Drop whole lines from the front.
                            while let Some(front) = backlog.pop_front() {
                                if front.data.last() == Some(&b'\n') {
                                    break;
                                }
                            }
                            lines -= 1;
                        }
                    }
                    None => {
                        if tx.blocking_send(line).is_err() {
                            return;
                        }
                    }
                }
            }
            for l in backlog {
                if tx.blocking_send(l).is_err() {
                    return;
                }
            }
            if !opts.follow {
                return;
            }
            let mut offset = reader.offset;
            drop(reader);
            loop {
                let running = watch.borrow().running;
                if f.seek(SeekFrom::Start(offset)).is_err() {
                    return;
                }
                let mut r = shim::log::Reader::new(&mut f);
                let mut got = false;
                while let Ok(Some(rec)) = r.next_record() {
                    got = true;
                    if opts.until_ns.is_some_and(|u| rec.time_ns >= u) {
                        return;
                    }
                    if keep(&rec)
                        && tx
                            .blocking_send(LogLine { stream: rec.stream, time_ns: rec.time_ns, data: rec.data })
                            .is_err()
                    {
                        return;
                    }
                }
                offset += r.offset;
                if !running && !got {
                    return;
                }
                if tx.is_closed() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Ok(rx)
    }

    /// The container's processes, as `ps` shows them (`ps_args` default `-ef`).
    pub async fn top(&self, name_or_id: &str, ps_args: Option<&str>) -> Result<Top, EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let c = ctr.snapshot();
        if !c.is_running() {
            return Err(EngineError::Conflict(format!("container {} is not running", c.id)));
        }
        let pids: Vec<i32> = match self.cgroup(&c.id).ok().flatten() {
            Some(cg) => tokio::task::spawn_blocking(move || cg.pids()).await.expect("pids task")?,
            None => vec![c.state.pid],
        };
        let args: Vec<String> = ps_args.unwrap_or("-ef").split_whitespace().map(str::to_owned).collect();
        let out = tokio::process::Command::new("ps")
            .args(&args)
            .output()
            .await
            .map_err(|e| EngineError::io("running ps", e))?;
        if !out.status.success() {
            return Err(EngineError::InvalidArgument(format!("ps: {}", String::from_utf8_lossy(&out.stderr).trim())));
        }
        parse_ps(&String::from_utf8_lossy(&out.stdout), &pids)
    }
}

/// Keeps the `ps` rows whose PID column is one of `pids` (Docker's parsing).
pub(crate) fn parse_ps(output: &str, pids: &[i32]) -> Result<Top, EngineError> {
    let mut lines = output.lines();
    let header = lines.next().ok_or_else(|| EngineError::InvalidArgument("ps printed nothing".into()))?;
    let titles: Vec<String> = header.split_whitespace().map(str::to_owned).collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| EngineError::InvalidArgument("Couldn't find PID field in ps output".into()))?;
    let mut processes = Vec::new();
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(pid) = fields.get(pid_col).and_then(|p| p.parse::<i32>().ok()) else { continue };
        if !pids.contains(&pid) {
            continue;
        }
        // The last column (the command) may contain spaces.
        let n = titles.len();
        let mut row: Vec<String> = fields.iter().take(n - 1).map(|s| (*s).to_owned()).collect();
        row.push(fields.iter().skip(n - 1).copied().collect::<Vec<_>>().join(" "));
        processes.push(row);
    }
    Ok(Top { titles, processes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_parsing() {
        let out = "UID PID PPID C STIME TTY TIME CMD\nroot 10 1 0 10:00 ? 00:00:00 sh -c sleep 1\nroot 11 10 0 10:00 ? 00:00:00 sleep 1\nroot 99 1 0 10:00 ? 00:00:00 other\n";
        let t = parse_ps(out, &[10, 11]).unwrap();
        assert_eq!(t.titles.len(), 8);
        assert_eq!(t.processes.len(), 2);
        assert_eq!(t.processes[0][7], "sh -c sleep 1");
        assert!(parse_ps("A B\n1 2\n", &[1]).is_err());
    }
}
