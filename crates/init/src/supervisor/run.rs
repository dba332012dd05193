//! The supervisor's event loop: berth's init as PID 1 running several programs and cron jobs.
//!
//! One thread, one `poll(2)` over a signalfd and the programs' output pipes, with a timeout
//! for the next timed event (a program reaching RUNNING after `startsecs`, a back-off restart,
//! a cron job, a stop's `stopwaitsecs`). States follow supervisord's (STOPPED, STARTING,
//! RUNNING, BACKOFF, STOPPING, EXITED, FATAL):
//!
//! - A program that exits before `startsecs` is in BACKOFF and started again after 1 s, 2 s, …
//!   (one more second per try); after `startretries` tries it is FATAL.
//! - One that exits after it was RUNNING is EXITED and started again per `autorestart`
//!   (`unexpected`: when its code is not in `exitcodes`).
//! - Each line a program writes goes to the init's stdout or stderr, that is to the container's
//!   log, prefixed with the program's name (`web | GET /`), so `logs` tells who said what.
//! - SIGTERM, SIGINT or SIGQUIT (what `stop` sends) stops the programs in reverse priority
//!   order, each with its `stopsignal`, SIGKILL after `stopwaitsecs`; the init exits 0 when
//!   every program stopped by its stop signal or an expected code, else 1. Other signals are
//!   passed on to every running program.
//! - Every child is reaped, the programs' orphans too.
//! - `--exit-on NAME`: when that program ends for good (EXITED without restart, or FATAL) the
//!   container stops, with that program's exit code.
//! - Cron jobs run `/bin/sh -c COMMAND` with the container's environment (and the crontab's
//!   assignments); a job still running when it is due again is skipped, not queued.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::config::{AutoRestart, LogFile, Program};
use crate::cron::crontab::Job;
use crate::cron::{Jobs, tz::TimeZone};

/// How long cron jobs get after SIGTERM when the container stops.
const CRON_STOP_WAIT: Duration = Duration::from_secs(10);

/// What the supervisor runs.
#[derive(Debug, Default)]
pub struct Plan {
    /// Programs, in start order.
    pub programs: Vec<Program>,
    /// Cron jobs.
    pub jobs: Vec<Job>,
    /// Programs whose end stops the container.
    pub exit_on: Vec<String>,
    /// The container's local time zone, for cron.
    pub tz: Option<TimeZone>,
    /// Environment of every program: the container's, then the config's `[supervisord]` one.
    pub env: BTreeMap<String, String>,
    /// Where to listen for control requests (`supervisorctl`, the daemon); `None`: nowhere.
    pub control: Option<std::path::PathBuf>,
}

/// supervisord's process states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started (autostart=false) or stopped.
    Stopped,
    /// Started, not yet running for `startsecs`.
    Starting,
    /// Running for `startsecs` or more.
    Running,
    /// Exited too soon; started again after a delay.
    Backoff,
    /// Asked to stop.
    Stopping,
    /// Exited after it ran.
    Exited,
    /// Could not be kept running.
    Fatal,
}

impl State {
    /// supervisorctl's name.
    pub fn name(self) -> &'static str {
        match self {
            State::Stopped => "STOPPED",
            State::Starting => "STARTING",
            State::Running => "RUNNING",
            State::Backoff => "BACKOFF",
            State::Stopping => "STOPPING",
            State::Exited => "EXITED",
            State::Fatal => "FATAL",
        }
    }
}

struct Output {
    fd: OwnedFd,
    buf: Vec<u8>,
    to_err: bool,
}

struct Proc {
    cfg: Program,
    state: State,
    pid: Option<Pid>,
    started: Instant,
    /// Tries since it last reached RUNNING.
    tries: u32,
    /// When a BACKOFF restart is due.
    restart_at: Option<Instant>,
    outputs: Vec<Output>,
    /// The last exit status (code, or 128+signal).
    last_code: Option<i32>,
    /// Stopped by its stop signal, or exited with an expected code.
    clean: bool,
    /// `restart`: start it again once it has stopped.
    restart_after_stop: bool,
    /// The end of its output (`supervisorctl tail`), at most [`TAIL_BYTES`].
    tail: Vec<u8>,
}

/// How much of each program's output PID 1 keeps for `supervisorctl tail`.
const TAIL_BYTES: usize = 4096;

/// Runs the supervisor as PID 1 until it is told to stop. Returns the exit status.
pub fn run(plan: Plan) -> i32 {
    // SIGPIPE stays ignored (a write of PID 1's own to a closed pipe must not reach the programs);
    // the terminal's job-control signals are not passed on either, as tini does.
    let skip = [libc::SIGKILL, libc::SIGSTOP, libc::SIGPIPE, libc::SIGTTIN, libc::SIGTTOU, libc::SIGTSTP];
    let signals: Vec<i32> = (1..=31).filter(|s| !skip.contains(s)).collect();
    let sfd = match sys::process::signalfd(&signals) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("berth-init: signalfd: {e}");
            return 1;
        }
    };
    let control = plan.control.as_deref().and_then(|path| {
        // Listening under a temporary name, then renamed into place: whoever finds the socket
        // can connect (between bind and listen a connect would be refused).
        let tmp = path.with_extension("sock.new");
        let _ = std::fs::remove_file(&tmp);
        match std::os::unix::net::UnixListener::bind(&tmp).and_then(|l| std::fs::rename(&tmp, path).map(|()| l)) {
            Ok(l) => {
                let _ = l.set_nonblocking(true);
                Some(l)
            }
            Err(e) => {
                eprintln!("berth-init: control socket {}: {e}", path.display());
                None
            }
        }
    });
    let mut sup = Supervisor::new(plan);
    sup.control = control;
    sup.start_autostart();
    // The set-up code ran once; only the loop runs from here.
    sys::process::trim_file_pages();
    sup.run(&sfd)
}

struct Supervisor {
    procs: Vec<Proc>,
    jobs: Vec<Job>,
    sched: Jobs,
    /// Running cron jobs: PID → index.
    job_pids: BTreeMap<i32, usize>,
    exit_on: Vec<String>,
    env: BTreeMap<String, String>,
    /// Set when the container is stopping: the exit status once every program is down.
    stopping: Option<i32>,
    epoch: Instant,
    epoch_unix: u64,
    control: Option<std::os::unix::net::UnixListener>,
    /// When the container's stop began (cron jobs get SIGKILL 10 s later).
    stop_began: Option<Instant>,
    /// Page-table entries were dropped again once every program settled.
    settled: bool,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Supervisor {
    fn new(plan: Plan) -> Supervisor {
        let now = Instant::now();
        let procs = plan
            .programs
            .into_iter()
            .map(|cfg| Proc {
                cfg,
                state: State::Stopped,
                pid: None,
                started: now,
                tries: 0,
                restart_at: None,
                outputs: Vec::new(),
                last_code: None,
                clean: true,
                restart_after_stop: false,
                tail: Vec::new(),
            })
            .collect();
        let epoch_unix = now_unix();
        let sched =
            Jobs::new(plan.jobs.iter().map(|j| j.schedule.clone()), epoch_unix, plan.tz.unwrap_or_else(TimeZone::utc));
        Supervisor {
            procs,
            jobs: plan.jobs,
            sched,
            job_pids: BTreeMap::new(),
            exit_on: plan.exit_on,
            env: plan.env,
            stopping: None,
            epoch: now,
            epoch_unix,
            control: None,
            stop_began: None,
            settled: false,
        }
    }

    fn unix_now(&self) -> u64 {
        self.epoch_unix + self.epoch.elapsed().as_secs()
    }

    fn start_autostart(&mut self) {
        for i in 0..self.procs.len() {
            if self.procs[i].cfg.autostart {
                self.spawn_program(i);
            }
        }
    }

    fn spawn_program(&mut self, i: usize) {
        let p = &mut self.procs[i];
        let argv = match p.cfg.argv() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("berth-init: {}: {e}", p.cfg.name);
                p.state = State::Fatal;
                return;
            }
        };
        let mut env = self.env.clone();
        env.extend(p.cfg.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
        env.insert("SUPERVISOR_ENABLED".into(), "1".into());
        env.insert("SUPERVISOR_PROCESS_NAME".into(), p.cfg.name.clone());
        env.insert("SUPERVISOR_GROUP_NAME".into(), p.cfg.group.clone());
        let discard = |l: &LogFile| matches!(l, LogFile::None);
        let spec = Spawn {
            argv,
            env,
            user: p.cfg.user.clone(),
            dir: p.cfg.directory.clone(),
            umask: p.cfg.umask,
            stdin: None,
            merge_stderr: p.cfg.redirect_stderr,
            discard_out: discard(&p.cfg.stdout_logfile),
            discard_err: discard(&p.cfg.stderr_logfile),
            new_group: true,
        };
        p.tries += 1;
        p.started = Instant::now();
        p.restart_at = None;
        match spawn(&spec) {
            Ok((pid, outputs)) => {
                p.pid = Some(pid);
                // The previous run's pipes stay until their EOF: its last lines are not lost.
                p.outputs.extend(outputs);
                p.state = if p.cfg.startsecs == 0 { State::Running } else { State::Starting };
                if p.state == State::Running {
                    p.tries = 0;
                }
            }
            Err(e) => {
                eprintln!("berth-init: {}: can't start {}: {e}", p.cfg.name, spec.argv[0]);
                let code = if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
                p.last_code = Some(code);
                Self::backoff_or_fatal(p);
                self.check_exit_on(i, code);
            }
        }
    }

    /// `--exit-on`: a program that ended for good (EXITED without restart, FATAL) stops the
    /// container with its status.
    fn check_exit_on(&mut self, i: usize, code: i32) {
        let p = &self.procs[i];
        if self.stopping.is_none()
            && matches!(p.state, State::Exited | State::Fatal)
            && self.exit_on.contains(&p.cfg.name)
        {
            eprintln!("berth-init: {} ended ({}): stopping the container", p.cfg.name, p.state.name());
            self.begin_stop(code);
        }
    }

    /// After a start that failed or ended too soon.
    fn backoff_or_fatal(p: &mut Proc) {
        p.pid = None;
        if p.tries > p.cfg.startretries {
            eprintln!("berth-init: {} entered FATAL state, too many start retries too quickly", p.cfg.name);
            p.state = State::Fatal;
        } else {
            p.state = State::Backoff;
            p.restart_at = Some(Instant::now() + Duration::from_secs(u64::from(p.tries)));
        }
    }

    fn run(&mut self, sfd: &OwnedFd) -> i32 {
        loop {
            if let Some(code) = self.stopping
                && self.procs.iter().all(|p| p.pid.is_none())
                && self.job_pids.is_empty()
            {
                self.flush_all();
                return code;
            }
            let timeout = self.next_timeout();
            let mut fds = vec![libc::pollfd { fd: sfd.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
            let ctl_fd = self.control.as_ref().map_or(-1, AsRawFd::as_raw_fd);
            fds.push(libc::pollfd { fd: ctl_fd, events: libc::POLLIN, revents: 0 });
            let mut owners: Vec<(usize, usize)> = Vec::new();
            for (i, p) in self.procs.iter().enumerate() {
                for (k, o) in p.outputs.iter().enumerate() {
                    fds.push(libc::pollfd { fd: o.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
                    owners.push((i, k));
                }
            }
            let ms = timeout.map_or(-1, |d| i32::try_from(d.as_millis()).unwrap_or(i32::MAX).max(0));
            if sys::process::poll(&mut fds, ms).is_err() {
                continue;
            }
            for (n, (i, k)) in owners.iter().enumerate().rev() {
                if fds[n + 2].revents != 0 {
                    self.read_output(*i, *k);
                }
            }
            if fds[0].revents != 0 {
                self.handle_signals(sfd);
            }
            if fds[1].revents != 0 {
                self.serve_control();
            }
            self.tick();
        }
    }

    fn next_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for p in &self.procs {
            match p.state {
                State::Starting => consider(p.started + Duration::from_secs(u64::from(p.cfg.startsecs))),
                State::Backoff => {
                    if let Some(t) = p.restart_at {
                        consider(t);
                    }
                }
                State::Stopping => consider(p.started + Duration::from_secs(u64::from(p.cfg.stopwaitsecs))),
                _ => {}
            }
        }
        if let Some(t) = self.stop_began.filter(|_| !self.job_pids.is_empty()) {
            consider(t + CRON_STOP_WAIT);
        }
        if self.stopping.is_none()
            && let Some(t) = self.sched.next_wake(self.unix_now())
        {
            // A far-off job (a huge `@every`) must not overflow the clock: no wake-up for it.
            if let Some(at) = self.epoch.checked_add(Duration::from_secs(t.saturating_sub(self.epoch_unix))) {
                consider(at);
            }
        }
        next.map(|t| t.saturating_duration_since(now))
    }

    /// Timed transitions: RUNNING after startsecs, back-off restarts, stop timeouts, cron.
    fn tick(&mut self) {
        let now = Instant::now();
        for i in 0..self.procs.len() {
            let p = &mut self.procs[i];
            match p.state {
                State::Starting if now >= p.started + Duration::from_secs(u64::from(p.cfg.startsecs)) => {
                    p.state = State::Running;
                    p.tries = 0;
                }
                State::Backoff if self.stopping.is_none() && p.restart_at.is_some_and(|t| now >= t) => {
                    self.spawn_program(i);
                }
                State::Stopping if now >= p.started + Duration::from_secs(u64::from(p.cfg.stopwaitsecs)) => {
                    if let Some(pid) = p.pid {
                        eprintln!("berth-init: {} did not stop in {} s: killing it", p.cfg.name, p.cfg.stopwaitsecs);
                        p.clean = false;
                        signal(pid, Signal::SIGKILL, p.cfg.killasgroup);
                        // Don't send it again.
                        p.started = now + Duration::from_secs(3600);
                    }
                }
                _ => {}
            }
        }
        if !self.settled && !self.procs.iter().any(|p| matches!(p.state, State::Starting | State::Backoff)) {
            // Start-up is over (every program RUNNING, EXITED or FATAL): what ran for it
            // won't run again, let its pages go once more.
            self.settled = true;
            sys::process::trim_file_pages();
        }
        if self.stopping.is_none() {
            let due = self.sched.due(self.unix_now());
            for j in due {
                self.spawn_job(j);
            }
        } else {
            if self.stop_began.is_some_and(|t| t.elapsed() >= CRON_STOP_WAIT) {
                for pid in self.job_pids.keys() {
                    let _ = killpg(Pid::from_raw(*pid), Signal::SIGKILL);
                }
            }
            self.stop_next();
        }
    }

    fn spawn_job(&mut self, j: usize) {
        let job = &self.jobs[j];
        let mut env = self.env.clone();
        env.extend(job.env.iter().cloned());
        let spec = Spawn {
            argv: vec!["/bin/sh".into(), "-c".into(), job.command.clone()],
            env,
            user: job.user.clone().filter(|u| u != "root"),
            dir: None,
            umask: None,
            stdin: job.stdin.clone(),
            merge_stderr: false,
            discard_out: false,
            discard_err: false,
            new_group: true,
        };
        match spawn(&spec) {
            Ok((pid, outputs)) => {
                self.job_pids.insert(pid.as_raw(), j);
                // Cron output is read by a pseudo-program slot: keep it simple and forward it
                // through a Proc-less reader.
                self.cron_outputs(j, outputs);
            }
            Err(e) => {
                eprintln!("berth-init: cron job ({}) can't start: {e}", job.origin);
                self.sched.finished(j);
            }
        }
    }

    /// Cron jobs' output goes to the log like a program's, prefixed `cron`.
    fn cron_outputs(&mut self, j: usize, outputs: Vec<Output>) {
        // A hidden slot per job, found by name; made on first use.
        let name = format!("cron.{}", j + 1);
        let i = match self.procs.iter().position(|p| p.cfg.name == name && p.cfg.group == "\0cron") {
            Some(i) => i,
            None => {
                let mut cfg = cron_slot(&name);
                cfg.group = "\0cron".into();
                self.procs.push(Proc {
                    cfg,
                    state: State::Stopped,
                    pid: None,
                    started: Instant::now(),
                    tries: 0,
                    restart_at: None,
                    outputs: Vec::new(),
                    last_code: None,
                    clean: true,
                    restart_after_stop: false,
                    tail: Vec::new(),
                });
                self.procs.len() - 1
            }
        };
        self.procs[i].outputs.extend(outputs);
    }

    fn read_output(&mut self, i: usize, k: usize) {
        let name = self.procs[i].cfg.name.clone();
        let o = &mut self.procs[i].outputs[k];
        let mut chunk = [0u8; 4096];
        let n = nix::unistd::read(&o.fd, &mut chunk).unwrap_or(0);
        if n == 0 {
            let rest = std::mem::take(&mut o.buf);
            let to_err = o.to_err;
            if !rest.is_empty() {
                write_line(&name, &rest, to_err);
            }
            self.procs[i].outputs.remove(k);
            return;
        }
        o.buf.extend_from_slice(&chunk[..n]);
        let mut lines: Vec<Vec<u8>> = Vec::new();
        while let Some(pos) = o.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = o.buf.drain(..=pos).collect();
            write_line(&name, &line[..line.len() - 1], o.to_err);
            lines.push(line);
        }
        if o.buf.len() > 16 * 1024 {
            let line = std::mem::take(&mut o.buf);
            write_line(&name, &line, o.to_err);
        }
        let tail = &mut self.procs[i].tail;
        for l in lines {
            tail.extend_from_slice(&l);
        }
        if tail.len() > TAIL_BYTES {
            let cut = tail.len() - TAIL_BYTES;
            let cut = tail[cut..].iter().position(|b| *b == b'\n').map_or(cut, |p| cut + p + 1);
            tail.drain(..cut);
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.procs.len() {
            // Bounded: an orphan still writing to an inherited pipe must not keep PID 1 up.
            let mut budget = 64;
            while !self.procs[i].outputs.is_empty() && budget > 0 {
                budget -= 1;
                let last = self.procs[i].outputs.len() - 1;
                // Drain what is readable now, then drop the pipe.
                let _ = sys::process::set_nonblocking(std::os::fd::AsFd::as_fd(&self.procs[i].outputs[last].fd), true);
                let before = self.procs[i].outputs.len();
                self.read_output(i, last);
                if self.procs[i].outputs.len() == before {
                    let o = self.procs[i].outputs.remove(last);
                    if !o.buf.is_empty() {
                        write_line(&self.procs[i].cfg.name, &o.buf, o.to_err);
                    }
                }
            }
        }
    }

    /// One control request per connection: a line in, the answer out, closed.
    fn serve_control(&mut self) {
        let Some(l) = &self.control else { return };
        let Ok((conn, _)) = l.accept() else { return };
        let _ = conn.set_nonblocking(false);
        let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
        let _ = conn.set_write_timeout(Some(Duration::from_secs(1)));
        // One short line, within a second: a slow or silent client can't hold PID 1.
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut line = Vec::new();
        let mut byte = [0u8; 256];
        while !line.contains(&b'\n') && line.len() < 512 && Instant::now() < deadline {
            match std::io::Read::read(&mut &conn, &mut byte) {
                Ok(0) => break,
                Ok(n) => line.extend_from_slice(&byte[..n]),
                Err(_) => {}
            }
        }
        let line = String::from_utf8_lossy(&line);
        let answer = self.control_request(line.lines().next().unwrap_or("").trim());
        let mut w = &conn;
        let _ = w.write_all(answer.as_bytes());
        // Requests are rare (a status now and then): the code that served this one needn't stay
        // resident in PID 1.
        sys::process::trim_file_pages();
    }

    /// Answers `status`, `start NAME`, `stop NAME`, `restart NAME`, `signal SIG NAME` (NAME may
    /// be `all`). The first line is `ok` or `error: MESSAGE`; `status` then lists one program a
    /// line: `name<TAB>STATE<TAB>pid<TAB>uptime seconds<TAB>description`.
    fn control_request(&mut self, req: &str) -> String {
        let words: Vec<&str> = req.split_whitespace().collect();
        let visible = |p: &Proc| p.cfg.group != "\0cron";
        let find = |procs: &[Proc], name: &str| -> Result<Vec<usize>, String> {
            let idx: Vec<usize> = procs
                .iter()
                .enumerate()
                .filter(|(_, p)| visible(p) && (name == "all" || p.cfg.name == name || p.cfg.group == name))
                .map(|(i, _)| i)
                .collect();
            if idx.is_empty() { Err(format!("error: no such process {name}\n")) } else { Ok(idx) }
        };
        let (verb, name, sig) = match words.as_slice() {
            ["status"] => {
                let mut out = String::from("ok\n");
                for p in self.procs.iter().filter(|p| visible(p)) {
                    let up = p.pid.map_or(0, |_| p.started.elapsed().as_secs());
                    let desc = match p.state {
                        State::Fatal => "Exited too quickly (process log may have details)".to_owned(),
                        State::Stopped if p.last_code.is_none() => "Not started".to_owned(),
                        State::Exited | State::Stopped | State::Backoff => {
                            p.last_code.map_or(String::new(), |c| format!("exit status {c}"))
                        }
                        _ => String::new(),
                    };
                    let pid = p.pid.map_or(0, Pid::as_raw);
                    out.push_str(&format!("{}\t{}\t{pid}\t{up}\t{desc}\n", p.cfg.name, p.state.name()));
                }
                return out;
            }
            [verb @ ("start" | "stop" | "restart" | "tail"), name] => (*verb, *name, None),
            ["signal", sig, name] => match super::config::signal(sig) {
                Some(s) => ("signal", *name, Some(s)),
                None => return format!("error: bad signal {sig}\n"),
            },
            _ => return format!("error: unknown request {req:?}: use status, start, stop, restart, signal or tail\n"),
        };
        let idx = match find(&self.procs, name) {
            Ok(idx) => idx,
            Err(e) => return e,
        };
        let mut out = String::from("ok\n");
        for i in idx {
            match verb {
                "start" if self.procs[i].pid.is_none() && self.stopping.is_none() => {
                    self.procs[i].tries = 0;
                    self.spawn_program(i);
                }
                "stop" => self.stop_one(i),
                "restart" if self.procs[i].pid.is_some() => {
                    self.procs[i].restart_after_stop = true;
                    self.stop_one(i);
                }
                "restart" if self.stopping.is_none() => {
                    self.procs[i].tries = 0;
                    self.spawn_program(i);
                }
                "tail" => out.push_str(&String::from_utf8_lossy(&self.procs[i].tail)),
                "signal" => {
                    if let (Some(pid), Some(sig)) = (self.procs[i].pid, sig) {
                        let _ = kill(pid, sig);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Stops one program (not the container): its stop signal, SIGKILL after stopwaitsecs.
    fn stop_one(&mut self, i: usize) {
        let p = &mut self.procs[i];
        match (p.pid, p.state) {
            (Some(pid), s) if s != State::Stopping => {
                p.state = State::Stopping;
                p.started = Instant::now();
                signal(pid, p.cfg.stopsignal, p.cfg.stopasgroup);
            }
            (None, State::Backoff) => {
                p.state = State::Stopped;
                p.restart_at = None;
            }
            _ => {}
        }
    }

    fn handle_signals(&mut self, sfd: &OwnedFd) {
        let mut buf = [0u8; 128];
        while let Ok(n) = nix::unistd::read(sfd, &mut buf) {
            if n < 128 {
                break;
            }
            // ssi_signo is the first u32 of signalfd_siginfo.
            let signo = i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
            match signo {
                libc::SIGCHLD => self.reap(),
                libc::SIGTERM | libc::SIGINT | libc::SIGQUIT => self.begin_stop(0),
                s => {
                    if let Ok(sig) = Signal::try_from(s) {
                        for p in &self.procs {
                            if let Some(pid) = p.pid {
                                let _ = kill(pid, sig);
                            }
                        }
                    }
                }
            }
        }
    }

    fn reap(&mut self) {
        loop {
            let st = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(st) => st,
            };
            let (pid, code, by_signal) = match st {
                WaitStatus::Exited(p, c) => (p, c, None),
                WaitStatus::Signaled(p, s, _) => (p, 128 + s as i32, Some(s)),
                _ => continue,
            };
            if let Some(j) = self.job_pids.remove(&pid.as_raw()) {
                self.sched.finished(j);
                continue;
            }
            let Some(i) = self.procs.iter().position(|p| p.pid == Some(pid)) else { continue };
            self.exited(i, code, by_signal);
        }
    }

    fn exited(&mut self, i: usize, code: i32, by_signal: Option<Signal>) {
        let stopping_all = self.stopping.is_some();
        let p = &mut self.procs[i];
        p.pid = None;
        p.last_code = Some(code);
        let expected = by_signal.is_none() && u8::try_from(code).is_ok_and(|c| p.cfg.exitcodes.contains(&c));
        match p.state {
            State::Stopping => {
                p.clean &= expected || by_signal == Some(p.cfg.stopsignal);
                p.state = State::Stopped;
                if std::mem::take(&mut p.restart_after_stop) && !stopping_all {
                    p.tries = 0;
                    self.spawn_program(i);
                }
                return;
            }
            // Judged by the time it ran, not by its state: its RUNNING tick may have come late.
            State::Starting if p.started.elapsed() < Duration::from_secs(u64::from(p.cfg.startsecs)) => {
                eprintln!("berth-init: {} exited too quickly (status {code})", p.cfg.name);
                Self::backoff_or_fatal(p);
            }
            _ => {
                p.tries = 0;
                p.state = State::Exited;
                let again = match p.cfg.autorestart {
                    AutoRestart::Always => true,
                    AutoRestart::Unexpected => !expected,
                    AutoRestart::Never => false,
                };
                if again && !stopping_all {
                    self.spawn_program(i);
                    return;
                }
            }
        }
        self.check_exit_on(i, code);
    }

    /// Starts the container's stop: no more starts; programs are stopped one by one.
    fn begin_stop(&mut self, code: i32) {
        if self.stopping.is_some() {
            return;
        }
        self.stopping = Some(code);
        self.stop_began = Some(Instant::now());
        for p in &mut self.procs {
            // Only how this stop goes counts for the exit status.
            p.clean = true;
            if p.state == State::Backoff {
                p.state = State::Stopped;
                p.restart_at = None;
            }
        }
        for pid in self.job_pids.keys() {
            let _ = killpg(Pid::from_raw(*pid), Signal::SIGTERM);
        }
        self.stop_next();
    }

    /// Stops the running programs of the highest priority still up (reverse start order).
    fn stop_next(&mut self) {
        if self.procs.iter().any(|p| p.state == State::Stopping) {
            return;
        }
        let Some(top) = self.procs.iter().filter(|p| p.pid.is_some()).map(|p| p.cfg.priority).max() else {
            // Everything is down: the status says whether all went cleanly.
            if let Some(code) = self.stopping.as_mut()
                && *code == 0
                && !self.procs.iter().all(|p| p.clean)
            {
                *code = 1;
            }
            return;
        };
        let now = Instant::now();
        for p in self.procs.iter_mut().filter(|p| p.pid.is_some() && p.cfg.priority == top) {
            p.state = State::Stopping;
            p.started = now;
            if let Some(pid) = p.pid {
                signal(pid, p.cfg.stopsignal, p.cfg.stopasgroup);
            }
        }
    }
}

fn signal(pid: Pid, sig: Signal, group: bool) {
    if group {
        let _ = killpg(pid, sig);
    } else {
        let _ = kill(pid, sig);
    }
}

/// Writes `name | line` to the init's stdout or stderr.
fn write_line(name: &str, line: &[u8], to_err: bool) {
    let mut out = Vec::with_capacity(name.len() + line.len() + 4);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b" | ");
    out.extend_from_slice(line);
    out.push(b'\n');
    // Straight to the descriptor: no std stream (its lock and line buffer) on the hot path of
    // PID 1, whose resident code is budgeted.
    // SAFETY: 1 and 2 are the init's own stdout and stderr, open for its whole life.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(if to_err { 2 } else { 1 }) };
    let mut rest: &[u8] = &out;
    while !rest.is_empty() {
        match nix::unistd::write(fd, rest) {
            Ok(n) if n > 0 => rest = &rest[n..],
            Err(nix::errno::Errno::EINTR) => {}
            _ => break,
        }
    }
}

/// A program with supervisord's defaults for `--program NAME=COMMAND`.
pub fn flag_program(name: &str, command: &str) -> Program {
    Program::with_defaults(name, command, "--program")
}

fn cron_slot(name: &str) -> Program {
    let mut p = flag_program(name, "true");
    p.autostart = false;
    p
}

/// How to start one child.
struct Spawn {
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    user: Option<String>,
    dir: Option<String>,
    umask: Option<u32>,
    stdin: Option<String>,
    merge_stderr: bool,
    discard_out: bool,
    discard_err: bool,
    new_group: bool,
}

fn cstr(s: &str) -> std::io::Result<std::ffi::CString> {
    std::ffi::CString::new(s).map_err(|_| std::io::Error::other(format!("NUL byte in {s:?}")))
}

/// The user a program runs as (a name or a number, optionally `:group`), resolved against the
/// container's /etc/passwd and /etc/group with the same rules as `docker run --user`
/// (`runtime::user`): supplementary groups from /etc/group, ids above 2^31-1 refused.
fn lookup_user(user: &str) -> std::io::Result<runtime::user::ExecUser> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    runtime::user::resolve(user, &[], &passwd, &group).map_err(|e| {
        let kind = match e {
            runtime::user::UserError::NoUser(_) | runtime::user::UserError::NoGroup(_) => std::io::ErrorKind::NotFound,
            runtime::user::UserError::Range(_) => std::io::ErrorKind::InvalidInput,
        };
        std::io::Error::new(kind, format!("user {user:?}: {e}"))
    })
}

/// Forks and execs `s`; returns the child and the read ends of its output pipes.
fn spawn(s: &Spawn) -> std::io::Result<(Pid, Vec<Output>)> {
    let argv: Vec<std::ffi::CString> = s.argv.iter().map(|a| cstr(a)).collect::<Result<_, _>>()?;
    let mut env: BTreeMap<String, String> = s.env.clone();
    let ids = match &s.user {
        Some(u) => {
            let user = lookup_user(u)?;
            env.entry("HOME".into()).or_insert(user.home);
            env.insert("USER".into(), u.clone());
            env.insert("LOGNAME".into(), u.clone());
            let groups: Vec<libc::gid_t> = user.groups;
            Some((user.uid, user.gid, groups))
        }
        None => None,
    };
    let envp: Vec<std::ffi::CString> = env.iter().map(|(k, v)| cstr(&format!("{k}={v}"))).collect::<Result<_, _>>()?;
    let dir = s.dir.as_deref().map(cstr).transpose()?;
    // Look the program up in the PATH it will run with, as supervisord does.
    let path_var = env
        .get("PATH")
        .cloned()
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    let exe = if s.argv[0].contains('/') {
        cstr(&s.argv[0])?
    } else {
        let found =
            path_var.split(':').map(|d| std::path::Path::new(d).join(&s.argv[0])).find(|p| p.is_file()).ok_or_else(
                || std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} not found in PATH", s.argv[0])),
            )?;
        cstr(&found.to_string_lossy())?
    };
    let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let err_pipe = if s.merge_stderr { None } else { Some(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?) };
    let in_pipe = match &s.stdin {
        Some(_) => Some(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?),
        None => None,
    };
    let devnull = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
    // SAFETY: the init is single-threaded; the child only calls async-signal-safe functions
    // (dup2, setpgid, setgroups/setgid/setuid, chdir, umask, execve) before exec or _exit.
    match unsafe { sys::process::fork() }? {
        sys::process::Fork::Child => {
            let _ = sys::process::reset_signals();
            if s.new_group {
                // SAFETY: setpgid(0, 0) puts the calling process in a new process group.
                unsafe { libc::setpgid(0, 0) };
            }
            let stdin_fd = in_pipe.as_ref().map_or(devnull.as_raw_fd(), |(r, _)| r.as_raw_fd());
            let out_fd = if s.discard_out { devnull.as_raw_fd() } else { out_w.as_raw_fd() };
            let err_fd = match &err_pipe {
                _ if s.discard_err => devnull.as_raw_fd(),
                Some((_, w)) => w.as_raw_fd(),
                None => out_fd,
            };
            // SAFETY: dup2 onto the stdio numbers, in the child about to exec.
            unsafe {
                libc::dup2(stdin_fd, 0);
                libc::dup2(out_fd, 1);
                libc::dup2(err_fd, 2);
            }
            // The user first, then the directory, as supervisord: a program can't get into a
            // directory its user couldn't reach.
            // SAFETY: geteuid has no preconditions.
            if let Some((uid, gid, groups)) = ids.as_ref().filter(|(uid, _, _)| unsafe { libc::geteuid() } != *uid) {
                // SAFETY: dropping to the program's user (ids checked to be at most 2^31-1, so
                // none is the "unchanged" -1); the groups pointer and length describe a live Vec.
                // Failing is fatal for the child.
                let ok = unsafe {
                    libc::setgroups(groups.len(), groups.as_ptr()) == 0
                        && libc::setgid(*gid) == 0
                        && libc::setuid(*uid) == 0
                };
                if !ok {
                    sys::process::exit_now(126);
                }
            }
            if let Some(d) = &dir {
                // SAFETY: chdir with a NUL-terminated path.
                if unsafe { libc::chdir(d.as_ptr()) } != 0 {
                    sys::process::exit_now(126);
                }
            }
            if let Some(m) = s.umask {
                sys::process::umask(m);
            }
            let _ = nix::unistd::execve(&exe, &argv, &envp);
            sys::process::exit_now(127);
        }
        sys::process::Fork::Parent(pid) => {
            drop(out_w);
            let mut outputs = vec![Output { fd: out_r, buf: Vec::new(), to_err: false }];
            if let Some((r, w)) = err_pipe {
                drop(w);
                outputs.push(Output { fd: r, buf: Vec::new(), to_err: true });
            }
            if let (Some((r, w)), Some(text)) = (in_pipe, &s.stdin) {
                drop(r);
                // Small (a crontab line): written at once, then closed.
                let mut f = std::fs::File::from(w);
                let _ = f.write_all(text.as_bytes());
            }
            Ok((Pid::from_raw(pid), outputs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_programs_have_supervisords_defaults() {
        let p = flag_program("web", "httpd -f");
        assert_eq!(p.argv().unwrap(), ["httpd", "-f"]);
        assert_eq!((p.startsecs, p.startretries, p.autorestart), (1, 3, AutoRestart::Unexpected));
        assert_eq!(State::Fatal.name(), "FATAL");
    }

    #[test]
    fn users_from_passwd_or_numbers() {
        assert_eq!(lookup_user("root").unwrap().uid, 0);
        // An unknown number: gid 0, as `docker run --user` (not gid = uid).
        let u = lookup_user("4242").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 0, "/"));
        assert_eq!(lookup_user("4242:77").unwrap().gid, 77);
        assert_eq!(lookup_user("no-such-user-here").unwrap_err().kind(), std::io::ErrorKind::NotFound);
        // -1 would mean "unchanged" to the kernel.
        let e = lookup_user("4294967295").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("uids and gids must be in range 0-2147483647"), "{e}");
    }
}
