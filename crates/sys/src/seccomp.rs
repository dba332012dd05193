//! Loading a precompiled seccomp program (classic BPF, `struct sock_filter` array).
//!
//! Compiling a Docker-sized profile takes milliseconds; berth compiles each profile once
//! (crate `seccomp`) and loads the bytes here in every container.

use std::io;

/// Installs `program` (a sequence of 8-byte `struct sock_filter`) as the calling thread's
/// seccomp filter. The thread must have no_new_privs set or hold CAP_SYS_ADMIN.
pub fn load_filter(program: &[u8]) -> io::Result<()> {
    const INSN: usize = std::mem::size_of::<libc::sock_filter>();
    if program.is_empty() || !program.len().is_multiple_of(INSN) || program.len() / INSN > usize::from(u16::MAX) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "seccomp program has an invalid size"));
    }
    // Copy into properly aligned storage: the byte slice may have any alignment.
    let insns: Vec<libc::sock_filter> = program
        .chunks_exact(INSN)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    let prog = libc::sock_fprog {
        len: u16::try_from(insns.len()).expect("checked against u16::MAX above"),
        filter: insns.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `insns`, which lives until after the call; the kernel copies the
    // program during the syscall.
    let r =
        unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog as *const libc::sock_fprog) };
    if r != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}
