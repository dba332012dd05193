//! The one piece of network configuration a container always gets: its loopback interface up.

use std::io;

/// Brings the calling thread's network namespace's `lo` up (as a new namespace starts with it
/// down), with the SIOCSIFFLAGS ioctl: no netlink needed for one flag.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: a plain socket(2) call; the descriptor is closed below on every path.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `ifreq` is plain data; zeroed is a valid value for it.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in b"lo\0".iter().enumerate() {
        req.ifr_name[i] = *b as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the `ifreq` we own, on our socket.
    let r = unsafe {
        let mut r = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req as *mut libc::ifreq);
        if r == 0 {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            r = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req as *const libc::ifreq);
        }
        r
    };
    let err = io::Error::last_os_error();
    // SAFETY: `fd` is ours and still open.
    unsafe { libc::close(fd) };
    if r != 0 { Err(err) } else { Ok(()) }
}
