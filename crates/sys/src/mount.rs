//! `mount_setattr(2)`, which neither nix nor rustix wraps: making a mount tree read-only
//! recursively (Docker 25+'s read-only binds) in one call.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `struct mount_attr` of `<linux/mount.h>`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const AT_RECURSIVE: libc::c_uint = 0x8000;

/// Makes the mount `fd` refers to (an `O_PATH` descriptor of its root, or a detached tree)
/// and every mount below it read-only. Fails with `ENOSYS` before Linux 5.12.
pub fn make_tree_read_only(fd: BorrowedFd<'_>) -> io::Result<()> {
    let attr = MountAttr { attr_set: MOUNT_ATTR_RDONLY, attr_clr: 0, propagation: 0, userns_fd: 0 };
    let flags = libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE;
    // SAFETY: a valid descriptor, an empty NUL-terminated path, and a pointer to an initialised
    // `mount_attr` whose size is passed; the kernel only reads it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}
