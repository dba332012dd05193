//! Named crash points for the crash tests: a daemon started with `BERTH_FAILPOINT=NAME` in its
//! environment kills itself with SIGKILL when it reaches the step `NAME` (as a power cut or an
//! OOM kill would), so a test can restart it and check that nothing was lost or leaked. Without
//! the variable a failpoint is one load of a cached `None`. The names are listed where they are
//! reached (`grep -rn 'failpoint("'`); the crash test (`crates/berth/tests/crash.rs`) runs them
//! all.

use std::sync::OnceLock;

/// The environment variable naming the failpoint to die at.
pub const ENV: &str = "BERTH_FAILPOINT";

fn armed() -> Option<&'static str> {
    static POINT: OnceLock<Option<String>> = OnceLock::new();
    POINT.get_or_init(|| std::env::var(ENV).ok().filter(|s| !s.is_empty())).as_deref()
}

/// Kills the calling process with SIGKILL if `name` is the armed failpoint.
pub fn hit(name: &str) {
    if armed() == Some(name) {
        eprintln!("berth: failpoint {name}: killing the process");
        // SAFETY: kill(2) on our own PID with a valid signal number; no memory is involved.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        // SIGKILL is delivered before kill(2) returns to a single target that is the caller;
        // never go on past the point.
        loop {
            std::thread::park();
        }
    }
}
