//! Process plumbing: fork, descriptors between fork and exec, terminal ioctls.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

/// Which side of a fork the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// In the new process.
    Child,
    /// In the original process; the child's PID.
    Parent(i32),
}

/// Forks the calling process.
///
/// # Safety
/// The caller must be single-threaded (berth forks only from the shim, which never starts a
/// thread), or the child may only call async-signal-safe functions until it execs.
pub unsafe fn fork() -> io::Result<Fork> {
    // SAFETY: the caller guarantees the preconditions above.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(pid)),
    }
}

/// Duplicates `fd` onto descriptor number `target` (0, 1, 2 for stdio), clearing close-on-exec.
pub fn dup_onto(fd: BorrowedFd<'_>, target: RawFd) -> io::Result<()> {
    if fd.as_raw_fd() == target {
        // dup2 would be a no-op and keep FD_CLOEXEC; clear it instead.
        // SAFETY: fcntl on a descriptor we borrow; F_SETFD takes an integer.
        let r = unsafe { libc::fcntl(target, libc::F_SETFD, 0) };
        return if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) };
    }
    // SAFETY: dup2 with a valid source descriptor; replacing `target` is the intent, and callers
    // use it only on stdio numbers in a child about to exec.
    let r = unsafe { libc::dup2(fd.as_raw_fd(), target) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Marks every descriptor from `first` up close-on-exec (close_range with CLOSE_RANGE_CLOEXEC),
/// so nothing of the shim leaks into the container's process.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes descriptor flags.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, libc::c_uint::MAX, CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        return Ok(());
    }
    // Kernels before 5.11 lack the flag: fall back to walking /proc/self/fd.
    let dir = std::fs::read_dir("/proc/self/fd")?;
    for e in dir.flatten() {
        if let Some(fd) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok())
            && fd >= first as i32
        {
            // SAFETY: F_SETFD on a descriptor number; a closed one just fails with EBADF.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    Ok(())
}

/// Makes the terminal `fd` the controlling terminal of the calling session leader.
pub fn set_controlling_tty(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Sets a terminal's window size.
pub fn set_winsize(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads one winsize struct that lives across the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws as *const libc::winsize) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Reads a terminal's window size as (rows, cols).
pub fn get_winsize(fd: BorrowedFd<'_>) -> io::Result<(u16, u16)> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one winsize struct into `ws`, which is valid and writable.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws as *mut libc::winsize) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok((ws.ws_row, ws.ws_col)) }
}

/// Leaves the calling process's process group and session: `setsid`.
pub fn setsid() -> io::Result<()> {
    // SAFETY: setsid has no arguments.
    let r = unsafe { libc::setsid() };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Ends the calling process at once, without running destructors or atexit handlers (the only
/// safe way out of a forked child that failed before exec).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// Sets the calling process's umask; returns the previous one.
pub fn umask(mask: u32) -> u32 {
    // SAFETY: umask only swaps an integer in the kernel.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

/// Unblocks every signal and sets every disposition back to the default, so that the program a
/// child execs starts with a clean slate (ignored signals and the mask survive execve; Rust's
/// runtime ignores SIGPIPE, and the shim blocks SIGCHLD for its signalfd).
pub fn reset_signals() -> io::Result<()> {
    for sig in 1..=libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL has no handler to be unsafe about; invalid numbers fail
        // harmlessly with EINVAL.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // SAFETY: `set` is a valid sigset_t initialised by sigemptyset before use.
    let r = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut())
    };
    if r != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// poll(2) over raw entries; the caller keeps the descriptors open for the call.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    loop {
        // SAFETY: `fds` is a valid, writable array of `fds.len()` pollfd structs.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Sets or clears O_NONBLOCK.
pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a borrowed, open descriptor with integer arguments.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let new = if on { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
        if new != flags && libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, new) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Blocks `signals` for the calling thread and returns a signalfd that reports them.
pub fn signalfd(signals: &[i32]) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: `set` is initialised by sigemptyset before use; the signalfd result is checked and
    // then owned by the returned OwnedFd alone.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, *s);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(std::os::fd::OwnedFd::from_raw_fd(fd))
    }
}

/// Drops this process's page-table entries for read-only file mappings that were never
/// written (code, read-only data): the pages stay in the page cache and fault back in when used.
/// A long-lived process that ran a lot of code once (the shim's set-up) then keeps only what it
/// still runs resident. Mappings with private (copied-on-write) pages are left alone: RELRO
/// regions are written at start-up (relocations) and then made read-only, and dropping them
/// would lose those writes.
pub fn trim_file_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return };
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            // A mapping header: "start-end perms offset dev inode [path]".
            let mut f = line.split_whitespace();
            let (Some(range), Some(perms), Some(_), Some(_), Some(inode)) =
                (f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                current = None;
                continue;
            };
            current = None;
            if inode == "0" || perms.as_bytes().get(1) != Some(&b'-') {
                continue;
            }
            if let Some((a, b)) = range.split_once('-')
                && let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                current = Some((start, end));
            }
        } else if let Some(rest) = line.strip_prefix("Anonymous:") {
            let Some((start, end)) = current.take() else { continue };
            if rest.trim() != "0 kB" {
                continue;
            }
            // SAFETY: [start, end) is a read-only, file-backed mapping of this process without
            // private pages (smaps says so); MADV_DONTNEED only drops page-table entries, which
            // the kernel refills from the file on the next access: no data can be lost.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        }
    }
}

/// Caps the number of glibc malloc arenas. A multi-threaded daemon otherwise gets an arena per
/// thread that ever allocated, each keeping freed memory: after a burst of requests the idle
/// RSS stays high.
pub fn limit_malloc_arenas(n: i32) {
    // SAFETY: mallopt only changes allocator parameters; M_ARENA_MAX takes a count.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, n) };
}

/// Returns free heap memory at the top of each arena to the kernel (`malloc_trim(0)`).
pub fn trim_heap() {
    // SAFETY: malloc_trim has no preconditions.
    unsafe { libc::malloc_trim(0) };
}
