//! berth's init for `--init`: PID 1 that runs the command as its child, forwards every signal
//! it can to it, reaps orphaned zombies, and exits with the child's status (128+N when killed by
//! signal N), as tini does for Docker.
//!
//! It is the same static binary as the rest of berth, bind-mounted read-only at
//! `/sbin/docker-init`; it needs nothing from the image.

pub mod cron;
pub mod supervisor;

use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

fn status_code(st: WaitStatus) -> Option<(Pid, i32)> {
    match st {
        WaitStatus::Exited(p, c) => Some((p, c)),
        WaitStatus::Signaled(p, s, _) => Some((p, 128 + s as i32)),
        _ => None,
    }
}

/// Runs the init with `args` (`argv[0]`, optionally `--`, then the command). Returns the exit
/// status.
pub fn main(args: Vec<String>) -> i32 {
    if args.get(1).map(String::as_str) == Some("--supervise") {
        return supervisor::main(&args[2..]);
    }
    let mut cmd: Vec<String> = args.into_iter().skip(1).collect();
    if cmd.first().map(String::as_str) == Some("--") {
        cmd.remove(0);
    }
    if cmd.is_empty() {
        eprintln!("berth-init: no command given");
        return 2;
    }
    let all = SigSet::all();
    let mut old = SigSet::empty();
    if let Err(e) = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&all), Some(&mut old)) {
        eprintln!("berth-init: blocking signals: {e}");
        return 1;
    }
    let argv: Vec<std::ffi::CString> = match cmd.iter().map(|a| std::ffi::CString::new(a.as_bytes())).collect() {
        Ok(v) => v,
        Err(_) => {
            eprintln!("berth-init: NUL byte in the command");
            return 2;
        }
    };
    // SAFETY: the init is single-threaded; the child only resets its signal state and execs.
    let child = match unsafe { sys::process::fork() } {
        Ok(sys::process::Fork::Child) => {
            let _ = sys::process::reset_signals();
            let e = nix::unistd::execvp(&argv[0], &argv).unwrap_err();
            eprintln!("berth-init: exec {}: {e}", cmd[0]);
            sys::process::exit_now(if e == nix::errno::Errno::ENOENT { 127 } else { 126 });
        }
        Ok(sys::process::Fork::Parent(pid)) => {
            // From here on only the signal loop runs: let the pages of everything else go (the
            // binary is all of berth; they stay in the page cache, shared with the daemon).
            sys::process::trim_file_pages();
            Pid::from_raw(pid)
        }
        Err(e) => {
            eprintln!("berth-init: fork: {e}");
            return 1;
        }
    };
    loop {
        let sig = match all.wait() {
            Ok(s) => s,
            Err(_) => continue,
        };
        if sig == Signal::SIGCHLD {
            loop {
                match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) | Err(_) => break,
                    Ok(st) => {
                        if let Some((pid, code)) = status_code(st)
                            && pid == child
                        {
                            return code;
                        }
                    }
                }
            }
        } else {
            let _ = kill(child, sig);
        }
    }
}
