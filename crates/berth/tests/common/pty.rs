//! A pseudo-terminal for driving interactive commands (`run -it`, `exec -it`) the way a user's
//! terminal does.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A command running on a pty.
pub struct Pty {
    master: std::fs::File,
    pub child: Child,
    pub seen: Vec<u8>,
}

impl Pty {
    /// Starts `cmd` with a new pty of `rows` x `cols` as its stdin, stdout and stderr.
    pub fn spawn(mut cmd: Command, rows: u16, cols: u16) -> Pty {
        let ws = nix::pty::Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        let p = nix::pty::openpty(Some(&ws), None).expect("openpty");
        let slave: OwnedFd = p.slave;
        cmd.stdin(Stdio::from(slave.try_clone().expect("dup")))
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::from(slave));
        let child = cmd.spawn().expect("spawning on a pty");
        let master = std::fs::File::from(p.master);
        let fl = nix::fcntl::fcntl(master.as_fd(), nix::fcntl::FcntlArg::F_GETFL).expect("getfl");
        let mut flags = nix::fcntl::OFlag::from_bits_truncate(fl);
        flags.insert(nix::fcntl::OFlag::O_NONBLOCK);
        nix::fcntl::fcntl(master.as_fd(), nix::fcntl::FcntlArg::F_SETFL(flags)).expect("setfl");
        Pty { master, child, seen: Vec::new() }
    }

    /// Types bytes.
    pub fn send(&mut self, b: &[u8]) {
        self.master.write_all(b).expect("writing to the pty");
    }

    fn pump(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                self.seen.extend_from_slice(&buf[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(_) => false,
        }
    }

    /// Reads until `needle` has been seen, or panics after `secs`.
    #[track_caller]
    pub fn expect(&mut self, needle: &str, secs: u64) {
        let t = Instant::now();
        loop {
            while self.pump() {}
            if String::from_utf8_lossy(&self.seen).contains(needle) {
                return;
            }
            if t.elapsed() > Duration::from_secs(secs) {
                panic!("did not see {needle:?} within {secs} s; got {:?}", String::from_utf8_lossy(&self.seen));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the command to exit; returns its status code.
    #[track_caller]
    pub fn wait(&mut self, secs: u64) -> i32 {
        let t = Instant::now();
        loop {
            while self.pump() {}
            if let Ok(Some(st)) = self.child.try_wait() {
                while self.pump() {}
                return st.code().unwrap_or(-1);
            }
            if t.elapsed() > Duration::from_secs(secs) {
                let _ = self.child.kill();
                panic!("command did not exit within {secs} s; output {:?}", String::from_utf8_lossy(&self.seen));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// All output so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }
}

impl Drop for Pty {
    /// Kills the command if it is still running (a test that failed half-way) and reaps it.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
