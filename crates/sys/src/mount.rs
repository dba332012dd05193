//! `mount_setattr(2)`, which neither nix nor rustix wraps: making a mount tree read-only
//! recursively (Docker 25+'s read-only binds) in one call, and idmapping a detached mount
//! (`--userns-remap`'s image layers).

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
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const AT_RECURSIVE: libc::c_uint = 0x8000;

fn mount_setattr(fd: BorrowedFd<'_>, flags: libc::c_uint, attr: &MountAttr) -> io::Result<()> {
    // SAFETY: a valid descriptor, an empty NUL-terminated path, and a pointer to an initialised
    // `mount_attr` whose size is passed; the kernel only reads it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Makes the mount `fd` refers to (an `O_PATH` descriptor of its root, or a detached tree)
/// and every mount below it read-only. Fails with `ENOSYS` before Linux 5.12.
pub fn make_tree_read_only(fd: BorrowedFd<'_>) -> io::Result<()> {
    let attr = MountAttr { attr_set: MOUNT_ATTR_RDONLY, attr_clr: 0, propagation: 0, userns_fd: 0 };
    mount_setattr(fd, libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE, &attr)
}

/// Idmaps the detached mount `fd` (from `open_tree(OPEN_TREE_CLONE)`, not attached yet) with
/// the id mappings of the user namespace `userns`: a file owned by id N on disk is seen as
/// owned by the host id that N maps to in that namespace. Linux 5.12+, and a filesystem that
/// supports it (`EINVAL` otherwise).
pub fn idmap(fd: BorrowedFd<'_>, userns: BorrowedFd<'_>) -> io::Result<()> {
    let userns_fd = u64::try_from(userns.as_raw_fd()).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    let attr = MountAttr { attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: 0, userns_fd };
    mount_setattr(fd, libc::AT_EMPTY_PATH as libc::c_uint, &attr)
}
