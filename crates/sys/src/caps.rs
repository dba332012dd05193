//! Linux capabilities: names, sets and applying them to the calling thread.

use std::fmt;
use std::io;

/// All capability names the kernel knows, in number order (`CAP_CHOWN` = 0 …).
const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capability set (moby `oci/caps/defaults.go`).
pub const DOCKER_DEFAULTS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// A name that is not a capability (shown with its `CAP_` prefix, as Docker does).
#[derive(Debug, thiserror::Error)]
#[error("unknown capability: {:?}", normalise(.0))]
pub struct UnknownCapError(pub String);

fn normalise(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") }
}

/// Parses `CAP_CHOWN`, `chown` or `cap_chown` (Docker accepts all three) into a number.
pub fn from_name(name: &str) -> Result<u8, UnknownCapError> {
    let full = normalise(name);
    NAMES
        .iter()
        .position(|n| *n == full)
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| UnknownCapError(name.to_owned()))
}

/// The name of capability `n`.
pub fn name(n: u8) -> Option<&'static str> {
    NAMES.get(usize::from(n)).copied()
}

/// Every capability name berth knows.
pub fn all_names() -> &'static [&'static str] {
    &NAMES
}

/// A set of capabilities as a bit mask.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CapSet(pub u64);

impl CapSet {
    /// The empty set.
    pub const EMPTY: CapSet = CapSet(0);

    /// Every capability up to `last` (from `/proc/sys/kernel/cap_last_cap`).
    pub fn all(last: u8) -> Self {
        let bits = if last >= 63 { u64::MAX } else { (1u64 << (last + 1)) - 1 };
        CapSet(bits)
    }

    /// The set of the named capabilities.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownCapError> {
        let mut s = CapSet::EMPTY;
        for n in names {
            s.insert(from_name(n.as_ref())?);
        }
        Ok(s)
    }

    /// Adds capability `n`.
    pub fn insert(&mut self, n: u8) {
        if n < 64 {
            self.0 |= 1 << n;
        }
    }

    /// Removes capability `n`.
    pub fn remove(&mut self, n: u8) {
        if n < 64 {
            self.0 &= !(1 << n);
        }
    }

    /// Whether `n` is in the set.
    pub fn contains(&self, n: u8) -> bool {
        n < 64 && self.0 & (1 << n) != 0
    }

    /// The names in the set, in number order.
    pub fn names(&self) -> Vec<&'static str> {
        (0..64u8).filter(|n| self.contains(*n)).filter_map(name).collect()
    }
}

impl fmt::Debug for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

/// The highest capability number the running kernel knows.
pub fn last_cap() -> io::Result<u8> {
    let s = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")?;
    s.trim().parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad cap_last_cap {s:?}")))
}

/// Drops every capability not in `keep` from the calling thread's bounding set, up to the last
/// one the kernel knows (capability numbers are dense: the first `EINVAL` ends the list), so no
/// read of `/proc/sys/kernel/cap_last_cap` is needed.
pub fn drop_bounding(keep: CapSet) -> io::Result<()> {
    for n in 0..64u8 {
        if keep.contains(n) {
            continue;
        }
        // SAFETY: PR_CAPBSET_DROP takes a capability number and touches no memory.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(n), 0, 0, 0) };
        if r != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINVAL) {
                break;
            }
            return Err(e);
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Sets the calling thread's effective, permitted and inheritable sets.
pub fn set(effective: CapSet, permitted: CapSet, inheritable: CapSet) -> io::Result<()> {
    let mut hdr = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let split = |s: CapSet| (s.0 as u32, (s.0 >> 32) as u32);
    let (e0, e1) = split(effective);
    let (p0, p1) = split(permitted);
    let (i0, i1) = split(inheritable);
    let data = [
        CapData { effective: e0, permitted: p0, inheritable: i0 },
        CapData { effective: e1, permitted: p1, inheritable: i1 },
    ];
    // SAFETY: capset reads one header and two data structs (version 3 layout), both valid for
    // the duration of the call.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// The calling thread's permitted set.
pub fn permitted() -> io::Result<CapSet> {
    let mut hdr = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget writes two data structs (version 3 layout) into `data`, which is valid and
    // writable, and reads the header.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr as *mut CapHeader, data.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(CapSet(u64::from(data[0].permitted) | (u64::from(data[1].permitted) << 32)))
}

/// Clears the ambient set, then raises each capability of `ambient` in it. Each must already be
/// permitted and inheritable.
pub fn set_ambient(ambient: CapSet) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    for n in 0..64u8 {
        if ambient.contains(n) {
            // SAFETY: prctl with integer arguments only.
            let r =
                unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, libc::c_ulong::from(n), 0, 0) };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(from_name("CAP_CHOWN").unwrap(), 0);
        assert_eq!(from_name("chown").unwrap(), 0);
        assert_eq!(from_name("cap_sys_admin").unwrap(), 21);
        assert_eq!(from_name("CAP_CHECKPOINT_RESTORE").unwrap(), 40);
        assert!(from_name("CAP_NOPE").is_err());
        for (i, n) in NAMES.iter().enumerate() {
            assert_eq!(usize::from(from_name(n).unwrap()), i);
        }
    }

    #[test]
    fn sets() {
        let s = CapSet::from_names(&DOCKER_DEFAULTS).unwrap();
        assert_eq!(s.names().len(), 14);
        assert!(s.contains(from_name("CAP_KILL").unwrap()));
        assert!(!s.contains(from_name("CAP_SYS_ADMIN").unwrap()));
        assert_eq!(CapSet::all(40).names().len(), 41);
        let mut t = s;
        t.remove(0);
        assert!(!t.contains(0));
    }
}
