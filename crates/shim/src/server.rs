//! The shim's single-threaded event loop: the container's stdio, its log, its exit, and the
//! clients on the control socket.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::ShimConfig;
use crate::log;
use crate::proto::{self, Decoder, Exit, Request, Response, kind};

/// A client whose unsent output grows past this is too slow and is dropped, so that it can
/// never stall the container.
const MAX_CLIENT_BACKLOG: usize = 8 << 20;
/// Stop reading a client's stdin frames while this much is waiting for the process.
const MAX_STDIN_BACKLOG: usize = 1 << 20;
/// After the first process exits, how long to wait for the last output.
const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// How long, after the first process's exit, the shim waits for its output to reach the clients
/// and for the daemon's acknowledgement before it writes the exit file and leaves.
const ACK_GRACE: Duration = Duration::from_secs(2);
/// Output read buffer.
const READ_BUF: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Control,
    Attach { stdin: bool, stdout: bool, stderr: bool },
    Wait,
    Exec(String),
}

#[derive(Debug)]
struct Client {
    sock: UnixStream,
    dec: Decoder,
    out: Vec<u8>,
    mode: Mode,
    closing: bool,
    dead: bool,
    /// The client shut down its sending side (it may still read).
    eof: bool,
}

impl Client {
    fn send(&mut self, kind: u8, payload: &[u8]) {
        if self.dead {
            return;
        }
        self.out.extend_from_slice(&proto::encode(kind, payload));
        if self.out.len() > MAX_CLIENT_BACKLOG {
            self.dead = true;
        }
    }

    fn respond(&mut self, r: &Response) {
        self.send(kind::RESPONSE, &serde_json::to_vec(r).expect("responses serialise"));
    }
}

/// A process the shim watches: the first one or an exec.
#[derive(Debug, Default)]
struct Proc {
    pid: i32,
    stdin: Option<OwnedFd>,
    stdin_buf: Vec<u8>,
    stdin_eof: bool,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    tty: Option<OwnedFd>,
    exit: Option<Exit>,
    /// For execs: the client that streams its stdio.
    client: Option<usize>,
    reported: bool,
}

impl Proc {
    fn drained(&self) -> bool {
        self.stdout.is_none() && self.stderr.is_none()
    }
}

/// Which descriptor a poll entry stands for.
#[derive(Debug, Clone, Copy)]
enum Token {
    Listener,
    Signal,
    Out { exec: Option<usize>, stream: u8 },
    In { exec: Option<usize> },
    Client(usize),
}

pub(crate) struct Server {
    cfg: ShimConfig,
    listener: UnixListener,
    sigfd: OwnedFd,
    log: Option<log::Writer<std::fs::File>>,
    created: Option<runtime::Created>,
    started: bool,
    main: Proc,
    /// Execs by slot; `exec_ids` maps IDs to slots.
    execs: Vec<Option<Proc>>,
    exec_ids: HashMap<String, usize>,
    clients: Vec<Option<Client>>,
    finished: bool,
    /// The daemon acknowledged the exit: no exit file needed.
    acked: bool,
    drain_deadline: Option<Instant>,
    buf: Vec<u8>,
}

pub(crate) fn now_ns() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn exit_of(status: WaitStatus) -> Option<(i32, Exit)> {
    match status {
        WaitStatus::Exited(pid, code) => {
            Some((pid.as_raw(), Exit { code, signal: None, at_ns: now_ns(), oom_killed: false }))
        }
        WaitStatus::Signaled(pid, sig, _) => {
            let n = sig as i32;
            Some((pid.as_raw(), Exit { code: 128 + n, signal: Some(n), at_ns: now_ns(), oom_killed: false }))
        }
        _ => None,
    }
}

impl Server {
    pub(crate) fn new(
        cfg: ShimConfig,
        listener: UnixListener,
        sigfd: OwnedFd,
        log: Option<log::Writer<std::fs::File>>,
        created: runtime::Created,
        io: MainIo,
    ) -> Self {
        let main = Proc {
            pid: created.pid(),
            stdin: io.stdin,
            stdout: io.stdout,
            stderr: io.stderr,
            tty: io.tty,
            ..Default::default()
        };
        Server {
            cfg,
            listener,
            sigfd,
            log,
            created: Some(created),
            started: false,
            main,
            execs: Vec::new(),
            exec_ids: HashMap::new(),
            clients: Vec::new(),
            finished: false,
            acked: false,
            drain_deadline: None,
            buf: vec![0u8; READ_BUF],
        }
    }

    /// Runs until the first process has exited, its output is drained, its exit is recorded and
    /// every client has been told.
    pub(crate) fn run(mut self) -> io::Result<()> {
        let mut finished_at: Option<Instant> = None;
        loop {
            let (mut fds, tokens) = self.poll_set();
            let timeout = match (self.drain_deadline, finished_at) {
                (_, Some(t)) => remaining_ms(t + ACK_GRACE),
                (Some(d), None) => remaining_ms(d),
                _ => -1,
            };
            sys::process::poll(&mut fds, timeout)?;
            for (pfd, tok) in fds.iter().zip(tokens.iter()) {
                if pfd.revents != 0 {
                    self.handle(*tok, pfd.revents);
                }
            }
            self.reap_clients();
            if !self.finished
                && self.main.exit.is_some()
                && (self.main.drained() || self.drain_deadline.is_some_and(|d| Instant::now() >= d))
            {
                self.finish();
                finished_at = Some(Instant::now());
            }
            if let Some(t) = finished_at {
                let flushed = self.clients.iter().flatten().all(|c| c.out.is_empty());
                // A daemon that waits will acknowledge; without one, leave the exit file.
                let waiter = self.clients.iter().flatten().any(|c| c.mode == Mode::Wait && !c.dead);
                if (flushed && (self.acked || !waiter)) || t.elapsed() >= ACK_GRACE {
                    if !self.acked {
                        let exit = self.main.exit.clone().expect("finished after the exit");
                        if let Err(e) = write_exit_file(&self.cfg.exit_file, &exit) {
                            eprintln!("berth-shim {}: writing {}: {e}", self.cfg.id, self.cfg.exit_file.display());
                        }
                    }
                    let _ = std::fs::remove_file(&self.cfg.socket);
                    return Ok(());
                }
            }
        }
    }

    fn poll_set(&self) -> (Vec<libc::pollfd>, Vec<Token>) {
        let mut fds = Vec::with_capacity(8 + self.clients.len());
        let mut toks = Vec::with_capacity(fds.capacity());
        let mut add = |fd: RawFd, events: i16, t: Token| {
            fds.push(libc::pollfd { fd, events, revents: 0 });
            toks.push(t);
        };
        if !self.finished {
            add(self.listener.as_raw_fd(), libc::POLLIN, Token::Listener);
        }
        add(self.sigfd.as_raw_fd(), libc::POLLIN, Token::Signal);
        let procs = std::iter::once((None, &self.main))
            .chain(self.execs.iter().enumerate().filter_map(|(i, p)| p.as_ref().map(|p| (Some(i), p))));
        for (exec, p) in procs {
            if let Some(fd) = &p.stdout {
                add(fd.as_raw_fd(), libc::POLLIN, Token::Out { exec, stream: log::STDOUT });
            }
            if let Some(fd) = &p.stderr {
                add(fd.as_raw_fd(), libc::POLLIN, Token::Out { exec, stream: log::STDERR });
            }
            if let Some(fd) = &p.stdin
                && !p.stdin_buf.is_empty()
            {
                add(fd.as_raw_fd(), libc::POLLOUT, Token::In { exec });
            }
        }
        for (i, c) in self.clients.iter().enumerate() {
            let Some(c) = c else { continue };
            let mut ev = 0;
            if !c.closing && !c.eof && self.stdin_room(&c.mode) {
                ev |= libc::POLLIN;
            }
            if !c.out.is_empty() {
                ev |= libc::POLLOUT;
            }
            add(c.sock.as_raw_fd(), ev, Token::Client(i));
        }
        (fds, toks)
    }

    /// Whether the process a client feeds can take more stdin now.
    fn stdin_room(&self, mode: &Mode) -> bool {
        match mode {
            Mode::Attach { .. } => self.main.stdin_buf.len() < MAX_STDIN_BACKLOG,
            Mode::Exec(id) => self
                .exec_ids
                .get(id)
                .and_then(|i| self.execs[*i].as_ref())
                .is_none_or(|p| p.stdin_buf.len() < MAX_STDIN_BACKLOG),
            _ => true,
        }
    }

    fn proc_mut(&mut self, exec: Option<usize>) -> Option<&mut Proc> {
        match exec {
            None => Some(&mut self.main),
            Some(i) => self.execs.get_mut(i).and_then(|p| p.as_mut()),
        }
    }

    fn handle(&mut self, tok: Token, revents: i16) {
        match tok {
            Token::Listener => self.accept(),
            Token::Signal => self.reap(),
            Token::Out { exec, stream } => self.read_output(exec, stream),
            Token::In { exec } => self.write_stdin(exec),
            Token::Client(i) => {
                if revents & libc::POLLOUT != 0 {
                    self.flush_client(i);
                }
                if revents & (libc::POLLHUP | libc::POLLERR) != 0 {
                    // Gone both ways.
                    if let Some(c) = self.client(i) {
                        c.dead = true;
                    }
                } else if revents & libc::POLLIN != 0 {
                    self.read_client(i);
                }
            }
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((sock, _)) => {
                    let _ = sock.set_nonblocking(true);
                    let c = Client {
                        sock,
                        dec: Decoder::default(),
                        out: Vec::new(),
                        mode: Mode::Control,
                        closing: false,
                        dead: false,
                        eof: false,
                    };
                    match self.clients.iter().position(|c| c.is_none()) {
                        Some(i) => self.clients[i] = Some(c),
                        None => self.clients.push(Some(c)),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn reap(&mut self) {
        // Drain the signalfd; the statuses come from waitpid.
        let mut b = [0u8; 128 * 8];
        while matches!(nix::unistd::read(&self.sigfd, &mut b), Ok(n) if n > 0) {}
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(st) => {
                    let Some((pid, exit)) = exit_of(st) else { continue };
                    if pid == self.main.pid && self.main.exit.is_none() {
                        self.main.exit = Some(exit);
                        self.main.stdin = None;
                        self.drain_deadline = Some(Instant::now() + DRAIN_GRACE);
                        // Without its own PID namespace the container's other processes outlive
                        // PID 1; end them as Docker does, so the output pipes close. (In a PID
                        // namespace of its own, the kernel has killed them.)
                        let own_pid_ns = self
                            .cfg
                            .runtime
                            .namespaces
                            .iter()
                            .any(|n| n.kind == runtime::NamespaceKind::Pid && n.path.is_none());
                        if !own_pid_ns {
                            self.kill_all(libc::SIGKILL);
                        }
                    } else if let Some(i) = self.execs.iter().position(|p| p.as_ref().is_some_and(|p| p.pid == pid)) {
                        if let Some(p) = self.execs[i].as_mut() {
                            p.exit = Some(exit);
                            p.stdin = None;
                        }
                        self.read_output(Some(i), log::STDOUT);
                        self.read_output(Some(i), log::STDERR);
                        self.finish_exec(i);
                    }
                }
            }
        }
    }

    /// Reads what a process wrote; logs it (first process only) and forwards it.
    fn read_output(&mut self, exec: Option<usize>, stream: u8) {
        let mut buf = std::mem::take(&mut self.buf);
        if buf.len() < READ_BUF {
            buf.resize(READ_BUF, 0);
        }
        loop {
            let r = {
                let Some(p) = self.proc_mut(exec) else { break };
                let fd = if stream == log::STDOUT { &p.stdout } else { &p.stderr };
                let Some(fd) = fd else { break };
                nix::unistd::read(fd, &mut buf)
            };
            match r {
                Err(nix::errno::Errno::EAGAIN) => break,
                Err(nix::errno::Errno::EINTR) => continue,
                // EOF, or EIO from a terminal whose other side is gone.
                Ok(0) | Err(_) => {
                    if let Some(p) = self.proc_mut(exec) {
                        if stream == log::STDOUT { p.stdout = None } else { p.stderr = None }
                    }
                    break;
                }
                Ok(n) => {
                    self.forward(exec, stream, &buf[..n]);
                    if n < buf.len() {
                        break;
                    }
                }
            }
        }
        self.buf = buf;
    }

    /// Logs (first process only) and sends output to the clients that want it.
    fn forward(&mut self, exec: Option<usize>, stream: u8, data: &[u8]) {
        let frame_kind = if stream == log::STDOUT { kind::STDOUT } else { kind::STDERR };
        match exec {
            None => {
                if let Some(l) = &mut self.log {
                    let _ = l.log(stream, now_ns(), data);
                }
                for c in self.clients.iter_mut().flatten() {
                    if let Mode::Attach { stdout, stderr, .. } = c.mode
                        && ((stream == log::STDOUT && stdout) || (stream == log::STDERR && stderr))
                    {
                        c.send(frame_kind, data);
                    }
                }
            }
            Some(i) => {
                let client = self.execs.get(i).and_then(|p| p.as_ref()).and_then(|p| p.client);
                if let Some(c) = client.and_then(|c| self.clients.get_mut(c)).and_then(|c| c.as_mut()) {
                    c.send(frame_kind, data);
                }
            }
        }
    }

    fn write_stdin(&mut self, exec: Option<usize>) {
        let Some(p) = self.proc_mut(exec) else { return };
        let Some(fd) = &p.stdin else {
            p.stdin_buf.clear();
            return;
        };
        match nix::unistd::write(fd, &p.stdin_buf) {
            Ok(n) => {
                p.stdin_buf.drain(..n);
            }
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
            Err(_) => {
                p.stdin_buf.clear();
                p.stdin = None;
            }
        }
        if p.stdin_buf.is_empty() && p.stdin_eof && p.tty.is_none() {
            p.stdin = None;
        }
    }

    fn queue_stdin(&mut self, exec: Option<usize>, data: &[u8]) {
        if let Some(p) = self.proc_mut(exec)
            && p.stdin.is_some()
        {
            p.stdin_buf.extend_from_slice(data);
        }
        self.write_stdin(exec);
    }

    fn close_stdin(&mut self, exec: Option<usize>) {
        if let Some(p) = self.proc_mut(exec) {
            p.stdin_eof = true;
            // A terminal can't be half-closed: its stdin stays as it is (as containerd).
            if p.stdin_buf.is_empty() && p.tty.is_none() {
                p.stdin = None;
            }
        }
    }

    fn flush_client(&mut self, i: usize) {
        let Some(c) = self.clients.get_mut(i).and_then(|c| c.as_mut()) else { return };
        while !c.out.is_empty() {
            match c.sock.write(&c.out) {
                Ok(0) => {
                    c.dead = true;
                    return;
                }
                Ok(n) => {
                    c.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    c.dead = true;
                    return;
                }
            }
        }
        if c.closing {
            c.dead = true;
        }
    }

    fn read_client(&mut self, i: usize) {
        let mut frames = Vec::new();
        {
            let Some(c) = self.clients.get_mut(i).and_then(|c| c.as_mut()) else { return };
            let mut buf = [0u8; 32 * 1024];
            match c.sock.read(&mut buf) {
                Ok(0) => {
                    // A half-close: a stream client may still want output. A control client
                    // with nothing left to read is done.
                    c.eof = true;
                    if c.mode == Mode::Control && c.out.is_empty() {
                        c.dead = true;
                    }
                }
                Ok(n) => c.dec.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => c.dead = true,
            }
            loop {
                match c.dec.next_frame() {
                    Ok(Some(f)) => frames.push(f),
                    Ok(None) => break,
                    Err(_) => {
                        c.dead = true;
                        break;
                    }
                }
            }
        }
        for (k, payload) in frames {
            self.client_frame(i, k, &payload);
        }
    }

    fn client_mode(&self, i: usize) -> Option<Mode> {
        self.clients.get(i).and_then(|c| c.as_ref()).map(|c| c.mode.clone())
    }

    fn client(&mut self, i: usize) -> Option<&mut Client> {
        self.clients.get_mut(i).and_then(|c| c.as_mut())
    }

    fn client_frame(&mut self, i: usize, k: u8, payload: &[u8]) {
        let Some(mode) = self.client_mode(i) else { return };
        match (k, &mode) {
            (kind::REQUEST, Mode::Control) => match serde_json::from_slice::<Request>(payload) {
                Ok(req) => self.request(i, req),
                Err(e) => {
                    if let Some(c) = self.client(i) {
                        c.respond(&Response::error(format!("bad request: {e}"), None));
                        c.closing = true;
                    }
                }
            },
            (kind::STDIN, Mode::Attach { stdin: true, .. }) => self.queue_stdin(None, payload),
            // In order with the data before it (a separate close_stdin request could overtake it).
            (kind::STDIN_EOF, Mode::Attach { stdin: true, .. }) => self.close_stdin(None),
            (kind::STDIN, Mode::Exec(id)) => {
                let slot = self.exec_ids.get(id).copied();
                if slot.is_some() {
                    self.queue_stdin(slot, payload);
                }
            }
            (kind::ACK, Mode::Wait) => {
                self.acked = true;
                if let Some(c) = self.client(i) {
                    c.closing = true;
                }
            }
            (kind::STDIN_EOF, Mode::Exec(id)) => {
                let slot = self.exec_ids.get(id).copied();
                if slot.is_some() {
                    self.close_stdin(slot);
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, i: usize, req: Request) {
        let resp = match req {
            Request::Start => self.start(),
            Request::Attach { stdin, stdout, stderr } => {
                let exit = if self.finished { self.main.exit.clone() } else { None };
                if let Some(c) = self.client(i) {
                    c.mode = Mode::Attach { stdin, stdout, stderr };
                    c.respond(&Response::default());
                    if let Some(e) = exit {
                        c.send(kind::EXIT, &serde_json::to_vec(&e).expect("serialises"));
                        c.closing = true;
                    }
                }
                return;
            }
            Request::Wait => {
                let exit = if self.finished { self.main.exit.clone() } else { None };
                if let Some(c) = self.client(i) {
                    c.mode = Mode::Wait;
                    c.respond(&Response::default());
                    if let Some(e) = exit {
                        c.send(kind::EXIT, &serde_json::to_vec(&e).expect("serialises"));
                    }
                }
                return;
            }
            Request::Resize { exec, rows, cols } => {
                let slot = match &exec {
                    None => Ok(None),
                    Some(id) => self.exec_ids.get(id).copied().map(Some).ok_or(()),
                };
                match slot.ok().and_then(|s| self.proc_mut(s)).and_then(|p| p.tty.as_ref()) {
                    Some(tty) => match sys::process::set_winsize(tty.as_fd(), rows, cols) {
                        Ok(()) => Response::default(),
                        Err(e) => Response::error(format!("resizing the terminal: {e}"), None),
                    },
                    None => Response::error("the process has no terminal", None),
                }
            }
            Request::Kill { exec, signal, all } => self.kill(exec.as_deref(), signal, all),
            Request::CloseStdin => {
                self.close_stdin(None);
                Response::default()
            }
            Request::State => Response {
                pid: Some(self.main.pid),
                started: self.started,
                exit: self.main.exit.clone(),
                ..Default::default()
            },
            Request::Exec { id, process, stdin } => {
                let resp = self.exec(i, id.clone(), &process, stdin);
                let ok = resp.error.is_none();
                if let Some(c) = self.client(i) {
                    c.respond(&resp);
                    if ok {
                        c.mode = Mode::Exec(id);
                    } else {
                        c.closing = true;
                    }
                }
                return;
            }
        };
        if let Some(c) = self.client(i) {
            c.respond(&resp);
        }
    }

    fn start(&mut self) -> Response {
        let Some(created) = self.created.take() else {
            return if self.started {
                Response::default()
            } else {
                Response::error("container cannot be started", None)
            };
        };
        match created.start() {
            Ok(()) => {
                self.started = true;
                Response::default()
            }
            Err(e) => Response::error(e.to_string(), Some(e.exit_code())),
        }
    }

    fn kill(&mut self, exec: Option<&str>, signal: i32, all: bool) -> Response {
        let Ok(sig) = Signal::try_from(signal) else {
            return Response::error(format!("invalid signal: {signal}"), None);
        };
        if all {
            self.kill_all(signal);
        }
        let p = match exec {
            None => Some(&self.main),
            Some(id) => self.exec_ids.get(id).and_then(|i| self.execs[*i].as_ref()),
        };
        match p {
            // Only an unreaped PID is ours to signal: after waitpid it may belong to anyone.
            Some(p) if p.exit.is_none() => match nix::sys::signal::kill(Pid::from_raw(p.pid), sig) {
                Ok(()) => Response::default(),
                Err(e) => Response::error(format!("sending {sig} to {}: {e}", p.pid), None),
            },
            Some(_) if all => Response::default(),
            Some(_) => Response::error("process already exited", None),
            None => Response::error("no such exec", None),
        }
    }

    /// Signals every process in the container's cgroup (the first cgroup.procs file lists them)
    /// but the first process, which its callers signal themselves (or have reaped).
    fn kill_all(&self, signal: i32) {
        let Some(procs) = self.cfg.runtime.cgroup_procs.first() else { return };
        let Ok(s) = std::fs::read_to_string(procs) else { return };
        let Ok(sig) = Signal::try_from(signal) else { return };
        for pid in s.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            if pid != self.main.pid {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), sig);
            }
        }
    }

    fn exec(&mut self, client: usize, id: String, process: &runtime::Process, want_stdin: bool) -> Response {
        if self.main.exit.is_some() || !self.started {
            return Response::error(format!("container {} is not running", self.cfg.id), None);
        }
        if self.exec_ids.contains_key(&id) {
            return Response::error(format!("exec {id} already exists"), None);
        }
        let (stdio, mut io) = match make_stdio(process.terminal, want_stdin) {
            Ok(x) => x,
            Err(e) => return Response::error(format!("creating exec stdio: {e}"), None),
        };
        let mut created = match runtime::exec(self.main.pid, &self.cfg.runtime, process, stdio) {
            Ok(c) => c,
            Err(e) => return Response::error(e.to_string(), Some(e.exit_code())),
        };
        if process.terminal {
            match created.take_pty().map(|m| tty_io(m, want_stdin)) {
                Some(Ok(t)) => io = t,
                _ => return Response::error("exec terminal setup failed", None),
            }
        }
        let pid = created.pid();
        if let Err(e) = created.start() {
            return Response::error(e.to_string(), Some(e.exit_code()));
        }
        let p = Proc {
            pid,
            stdin: io.stdin,
            stdout: io.stdout,
            stderr: io.stderr,
            tty: io.tty,
            client: Some(client),
            ..Default::default()
        };
        let slot = match self.execs.iter().position(|p| p.is_none()) {
            Some(s) => {
                self.execs[s] = Some(p);
                s
            }
            None => {
                self.execs.push(Some(p));
                self.execs.len() - 1
            }
        };
        self.exec_ids.insert(id, slot);
        Response { pid: Some(pid), ..Default::default() }
    }

    /// Reports an exec's exit to its client once it has exited (output read so far is sent).
    fn finish_exec(&mut self, slot: usize) {
        let Some(p) = self.execs[slot].as_mut() else { return };
        if p.reported {
            return;
        }
        let Some(exit) = p.exit.clone() else { return };
        p.reported = true;
        // Close its output: a background child of the exec must not hold the stream open.
        p.stdout = None;
        p.stderr = None;
        let client = p.client;
        if let Some(c) = client.and_then(|c| self.clients.get_mut(c)).and_then(|c| c.as_mut()) {
            c.send(kind::EXIT, &serde_json::to_vec(&exit).expect("serialises"));
            c.closing = true;
        }
        self.execs[slot] = None;
        self.exec_ids.retain(|_, s| *s != slot);
    }

    /// The first process is gone and its output drained: record the exit, tell everyone.
    fn finish(&mut self) {
        self.finished = true;
        let exit = self.main.exit.clone().expect("finish runs after the exit");
        self.main.stdout = None;
        self.main.stderr = None;
        let payload = serde_json::to_vec(&exit).expect("serialises");
        for c in self.clients.iter_mut().flatten() {
            if matches!(c.mode, Mode::Attach { .. }) {
                c.send(kind::EXIT, &payload);
                c.closing = true;
            } else if c.mode == Mode::Wait {
                // Kept open for the daemon's ACK.
                c.send(kind::EXIT, &payload);
            }
        }
    }

    fn reap_clients(&mut self) {
        for i in 0..self.clients.len() {
            let dead = self.clients[i].as_ref().is_some_and(|c| c.dead);
            if dead {
                self.clients[i] = None;
                // An exec whose client left keeps running; its output now goes nowhere.
                for p in self.execs.iter_mut().flatten() {
                    if p.client == Some(i) {
                        p.client = None;
                    }
                }
            }
        }
    }
}

fn remaining_ms(t: Instant) -> i32 {
    let left = t.saturating_duration_since(Instant::now());
    i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1)
}

/// Writes the exit record atomically (temp file + rename), so a reader never sees half of it.
pub(crate) fn write_exit_file(path: &Path, exit: &Exit) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(exit).expect("serialises"))?;
    std::fs::rename(&tmp, path)
}

/// The shim's ends of a process's stdio.
#[derive(Debug, Default)]
pub(crate) struct MainIo {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    pub tty: Option<OwnedFd>,
}

/// Makes the pipes for a process (or asks for a terminal) and returns the child's and our ends.
pub(crate) fn make_stdio(tty: bool, stdin: bool) -> io::Result<(runtime::Stdio, MainIo)> {
    if tty {
        return Ok((runtime::Stdio::Tty, MainIo::default()));
    }
    let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let (in_child, in_ours) = if stdin {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        (r, Some(w))
    } else {
        (OwnedFd::from(std::fs::File::open("/dev/null")?), None)
    };
    for fd in [Some(&out_r), Some(&err_r), in_ours.as_ref()].into_iter().flatten() {
        sys::process::set_nonblocking(fd.as_fd(), true)?;
    }
    Ok((
        runtime::Stdio::Pipes { stdin: in_child, stdout: out_w, stderr: err_w },
        MainIo { stdin: in_ours, stdout: Some(out_r), stderr: Some(err_r), tty: None },
    ))
}

/// Our ends of a terminal: the master read for output, a duplicate written for stdin (when
/// stdin is open), and one kept for resizing.
pub(crate) fn tty_io(master: OwnedFd, stdin: bool) -> io::Result<MainIo> {
    sys::process::set_nonblocking(master.as_fd(), true)?;
    let write = if stdin { Some(master.try_clone()?) } else { None };
    let resize = master.try_clone()?;
    Ok(MainIo { stdin: write, stdout: Some(master), stderr: None, tty: Some(resize) })
}
