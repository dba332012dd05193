//! Raw `bpf(2)` wrappers for cgroup v2 device filters: load a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program, attach it to a cgroup directory, list and detach attached programs.
//!
//! This is the only module of the crate allowed to use `unsafe` (the project keeps
//! syscalls in `sys`; move this there once that crate has a bpf wrapper). Neither `libc`,
//! `nix` nor `rustix` wrap `bpf(2)`, so the `union bpf_attr` variants we need are declared
//! here as `#[repr(C)]` prefixes of the kernel's layout (`include/uapi/linux/bpf.h`). The
//! kernel accepts a shorter `attr` than its own and treats the missing tail as zero.

use std::ffi::CStr;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

// bpf(2) commands.
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;

/// `BPF_PROG_TYPE_CGROUP_DEVICE`.
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `BPF_CGROUP_DEVICE` attach type.
const BPF_CGROUP_DEVICE: u32 = 6;
/// `BPF_F_ALLOW_MULTI`: keep other programs attached (ours and any a parent has).
const BPF_F_ALLOW_MULTI: u32 = 2;

/// One eBPF instruction (`struct bpf_insn`); `regs` is `dst | src << 4`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Insn {
    pub(crate) code: u8,
    pub(crate) regs: u8,
    pub(crate) off: i16,
    pub(crate) imm: i32,
}

/// The `BPF_PROG_LOAD` part of `union bpf_attr` up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH`/`BPF_PROG_DETACH` part.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// The `BPF_PROG_QUERY` part (`prog_ids` is a user pointer; `prog_cnt` is in/out).
#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// The `BPF_PROG_GET_FD_BY_ID` part.
#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// Marker for the attr structs above: plain `repr(C)` data with no padding, no pointers
/// other than `u64` user addresses the caller keeps alive.
trait Attr {}
impl Attr for ProgLoadAttr {}
impl Attr for AttachAttr {}
impl Attr for QueryAttr {}
impl Attr for GetFdByIdAttr {}

/// Calls `bpf(cmd, attr, sizeof attr)`.
fn sys_bpf<T: Attr>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_long> {
    let size = libc::c_uint::try_from(size_of::<T>()).expect("bpf_attr prefixes are tiny");
    // SAFETY: `attr` is an exclusive reference to a fully initialised `repr(C)` prefix of
    // `union bpf_attr` (the `Attr` types, which have no padding), valid for `size` bytes for
    // the whole call. The kernel reads at most `size` bytes and, for BPF_PROG_QUERY, writes
    // back within them. Any user addresses inside (`insns`, `license`, `log_buf`,
    // `prog_ids`) point to buffers the callers keep borrowed across this call.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd, std::ptr::from_mut(attr), size) };
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// Wraps a new fd returned by the kernel.
fn owned_fd(ret: libc::c_long) -> io::Result<OwnedFd> {
    let fd = i32::try_from(ret).map_err(|_| io::Error::other("bpf returned an fd out of range"))?;
    // SAFETY: `fd` was just returned by a successful bpf(2) call that creates a new file
    // descriptor (PROG_LOAD, PROG_GET_FD_BY_ID); nothing else owns or closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    u32::try_from(fd.as_raw_fd()).expect("open file descriptors are non-negative")
}

/// A load failure with the tail of the verifier log.
#[derive(Debug)]
pub(crate) struct LoadError {
    pub(crate) source: io::Error,
    pub(crate) log: String,
}

/// Loads a cgroup device program. On failure, loads again with the verifier log enabled
/// so the error can say why.
pub(crate) fn load_device_program(insns: &[Insn], license: &CStr) -> Result<OwnedFd, LoadError> {
    match load(insns, license, None) {
        Ok(fd) => Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            // Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK (runc #2167); raise it
            // and retry once. Children inherit the raised limit; the runtime applies the
            // container's own rlimits from the spec anyway.
            let _ = nix::sys::resource::setrlimit(
                nix::sys::resource::Resource::RLIMIT_MEMLOCK,
                nix::sys::resource::RLIM_INFINITY,
                nix::sys::resource::RLIM_INFINITY,
            );
            load(insns, license, None).map_err(|source| LoadError { source, log: String::new() })
        }
        Err(source) => {
            let mut log = vec![0u8; 64 * 1024];
            let log = match load(insns, license, Some(&mut log)) {
                // Loading succeeded the second time: return it after all.
                Ok(fd) => return Ok(fd),
                Err(_) => {
                    let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
                    let text = String::from_utf8_lossy(&log[..end]);
                    let text = text.trim();
                    let start = text.len().saturating_sub(512);
                    let start = (start..text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(0);
                    text[start..].to_owned()
                }
            };
            Err(LoadError { source, log })
        }
    }
}

fn load(insns: &[Insn], license: &CStr, log: Option<&mut [u8]>) -> io::Result<OwnedFd> {
    let mut name = [0u8; 16];
    name[..9].copy_from_slice(b"berth_dev");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..ProgLoadAttr::default()
    };
    if let Some(buf) = log {
        attr.log_level = 1;
        attr.log_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        attr.log_buf = buf.as_mut_ptr() as u64;
    }
    owned_fd(sys_bpf(BPF_PROG_LOAD, &mut attr)?)
}

/// Attaches `prog` to the cgroup directory `cgroup` with `BPF_F_ALLOW_MULTI`.
pub(crate) fn attach_device_program(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: fd_u32(cgroup),
        attach_bpf_fd: fd_u32(prog),
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..AttachAttr::default()
    };
    sys_bpf(BPF_PROG_ATTACH, &mut attr).map(drop)
}

/// Detaches `prog` from the cgroup directory `cgroup`.
pub(crate) fn detach_device_program(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: fd_u32(cgroup),
        attach_bpf_fd: fd_u32(prog),
        attach_type: BPF_CGROUP_DEVICE,
        ..AttachAttr::default()
    };
    sys_bpf(BPF_PROG_DETACH, &mut attr).map(drop)
}

/// Lists the ids of device programs attached directly to `cgroup` (not inherited ones).
pub(crate) fn query_device_programs(cgroup: BorrowedFd<'_>) -> io::Result<Vec<u32>> {
    // A cgroup holds at most 64 programs per attach type (BPF_CGROUP_MAX_PROGS); retry
    // with the count the kernel reports if it grew in between.
    let mut ids = vec![0u32; 64];
    for _ in 0..4 {
        let mut attr = QueryAttr {
            target_fd: fd_u32(cgroup),
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: u32::try_from(ids.len()).unwrap_or(u32::MAX),
            ..QueryAttr::default()
        };
        match sys_bpf(BPF_PROG_QUERY, &mut attr) {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                ids = vec![0u32; attr.prog_cnt as usize];
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("the list of attached programs kept changing"))
}

/// Opens a program by id (needed to detach programs this process did not load).
pub(crate) fn program_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdByIdAttr { prog_id: id, ..GetFdByIdAttr::default() };
    owned_fd(sys_bpf(BPF_PROG_GET_FD_BY_ID, &mut attr)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_the_kernel() {
        assert_eq!(size_of::<Insn>(), 8);
        assert_eq!(size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(size_of::<AttachAttr>(), 20);
        assert_eq!(std::mem::offset_of!(QueryAttr, prog_ids), 16);
        assert_eq!(std::mem::offset_of!(QueryAttr, prog_cnt), 24);
        assert_eq!(size_of::<GetFdByIdAttr>(), 12);
    }
}
