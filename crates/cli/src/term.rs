//! The local terminal: raw mode for `-t` sessions and its size.

use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::termios::{self, SetArg, Termios};

/// Puts stdin in raw mode; restores it when dropped.
#[derive(Debug)]
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Raw mode if stdin is a terminal; otherwise a no-op guard.
    pub fn enable() -> Self {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Self { saved: None };
        }
        let fd = stdin.as_fd();
        let Ok(saved) = termios::tcgetattr(fd) else { return Self { saved: None } };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        // Keep output post-processing as docker's raw mode does (moby/term MakeRaw clears OPOST
        // too; the container's pty does the \n -> \r\n translation).
        let _ = termios::tcsetattr(fd, SetArg::TCSANOW, &raw);
        Self { saved: Some(saved) }
    }

    /// Restores the terminal now.
    pub fn restore(&mut self) {
        if let Some(s) = self.saved.take() {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &s);
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.restore();
    }
}

fn size_of(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    let ws = rustix::termios::tcgetwinsize(fd).ok()?;
    (ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// The terminal's size (rows, cols), from stdout or stdin.
pub fn size() -> Option<(u16, u16)> {
    size_of(std::io::stdout().as_fd()).or_else(|| size_of(std::io::stdin().as_fd()))
}

/// Whether stdin is a terminal.
pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// Whether stdout is a terminal.
pub fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}
