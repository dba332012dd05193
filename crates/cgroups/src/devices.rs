//! Device access rules: the typed rule list, Docker's default allow-list, and the two ways
//! of enforcing it.
//!
//! - cgroup v1 has a file interface: write `a` to `devices.deny` (drop everything,
//!   allow-list mode), then each rule to `devices.allow` or `devices.deny`. The kernel keeps
//!   the exception list.
//! - cgroup v2 has no file interface. We replay the same rules through [`effective`], which
//!   mirrors the v1 kernel's bookkeeping, compile the result to an eBPF program
//!   ([`crate::filter`]) and attach it to the cgroup directory ([`crate::bpf`]). Going through
//!   one model means a rule list means the same thing on both versions.

use std::fmt;
use std::path::Path;

use crate::error::CgroupError;
use crate::plan::{Step, Write};

/// Which device nodes a rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// `a`: every device; a rule of this kind resets the whole list (as in v1).
    All,
    /// `c`: character devices.
    Char,
    /// `b`: block devices.
    Block,
}

impl DeviceKind {
    /// The v1 letter: `a`, `c` or `b`.
    pub fn letter(self) -> char {
        match self {
            Self::All => 'a',
            Self::Char => 'c',
            Self::Block => 'b',
        }
    }

    /// Parses `a`, `c` or `b`.
    pub fn from_letter(letter: char) -> Option<Self> {
        match letter {
            'a' => Some(Self::All),
            'c' => Some(Self::Char),
            'b' => Some(Self::Block),
            _ => None,
        }
    }
}

/// The access a rule grants or denies: any of read, write and mknod.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DeviceAccess {
    /// `r`: open for reading.
    pub read: bool,
    /// `w`: open for writing.
    pub write: bool,
    /// `m`: create the node with mknod(2).
    pub mknod: bool,
}

impl DeviceAccess {
    /// `rwm`.
    pub const RWM: Self = Self { read: true, write: true, mknod: true };
    /// `m` only.
    pub const MKNOD: Self = Self { read: false, write: false, mknod: true };

    /// Parses a string of `r`, `w` and `m` (any order, each at most once, not empty).
    pub fn parse(text: &str) -> Option<Self> {
        let mut access = Self::default();
        for ch in text.chars() {
            let flag = match ch {
                'r' => &mut access.read,
                'w' => &mut access.write,
                'm' => &mut access.mknod,
                _ => return None,
            };
            if *flag {
                return None;
            }
            *flag = true;
        }
        (!access.is_empty()).then_some(access)
    }

    /// True if no access is included.
    pub fn is_empty(self) -> bool {
        !(self.read || self.write || self.mknod)
    }

    /// The `BPF_DEVCG_ACC_*` bit mask (mknod 1, read 2, write 4).
    pub(crate) fn bits(self) -> u8 {
        u8::from(self.mknod) | (u8::from(self.read) << 1) | (u8::from(self.write) << 2)
    }

    pub(crate) fn from_bits(bits: u8) -> Self {
        Self { mknod: bits & 1 != 0, read: bits & 2 != 0, write: bits & 4 != 0 }
    }
}

impl fmt::Display for DeviceAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, ch) in [(self.read, "r"), (self.write, "w"), (self.mknod, "m")] {
            if on {
                f.write_str(ch)?;
            }
        }
        Ok(())
    }
}

/// One device access rule, in the order-dependent v1 sense.
///
/// `major`/`minor` of `None` mean "any" (`*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceRule {
    /// Allow (true) or deny (false).
    pub allow: bool,
    /// Device kind.
    pub kind: DeviceKind,
    /// Major number, or any.
    pub major: Option<u32>,
    /// Minor number, or any.
    pub minor: Option<u32>,
    /// The access covered.
    pub access: DeviceAccess,
}

impl DeviceRule {
    /// `deny a *:* rwm`: the usual first rule, switching to allow-list mode.
    pub const DENY_ALL: Self =
        Self { allow: false, kind: DeviceKind::All, major: None, minor: None, access: DeviceAccess::RWM };

    /// `allow a *:* rwm` (privileged containers).
    pub const ALLOW_ALL: Self =
        Self { allow: true, kind: DeviceKind::All, major: None, minor: None, access: DeviceAccess::RWM };

    /// An allow rule for a character device.
    pub const fn allow_char(major: Option<u32>, minor: Option<u32>, access: DeviceAccess) -> Self {
        Self { allow: true, kind: DeviceKind::Char, major, minor, access }
    }

    fn same_device(&self, other: &Self) -> bool {
        self.kind == other.kind && self.major == other.major && self.minor == other.minor
    }
}

/// v1 syntax, e.g. `c 1:3 rwm` or `c 136:* rwm` (without the allow/deny direction).
impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        write!(f, "{} {}:{} {}", self.kind.letter(), num(self.major), num(self.minor), self.access)
    }
}

/// Docker's default device allow-list (moby `oci/defaults.go` plus the devices every
/// container gets): deny everything, then allow mknod of any node, and full access to
/// null, zero, full, tty, random, urandom, the pts range, ptmx, tun and console.
pub fn default_device_rules() -> Vec<DeviceRule> {
    let rwm = DeviceAccess::RWM;
    let c = |major, minor| DeviceRule::allow_char(Some(major), Some(minor), rwm);
    vec![
        DeviceRule::DENY_ALL,
        DeviceRule::allow_char(None, None, DeviceAccess::MKNOD),
        DeviceRule { kind: DeviceKind::Block, ..DeviceRule::allow_char(None, None, DeviceAccess::MKNOD) },
        c(1, 3),                                      // /dev/null
        c(1, 5),                                      // /dev/zero
        c(1, 7),                                      // /dev/full
        c(5, 0),                                      // /dev/tty
        c(1, 8),                                      // /dev/random
        c(1, 9),                                      // /dev/urandom
        DeviceRule::allow_char(Some(136), None, rwm), // /dev/pts/*
        c(5, 2),                                      // /dev/ptmx
        c(10, 200),                                   // /dev/net/tun
        c(5, 1),                                      // /dev/console
    ]
}

/// Rejects rules the kernel would misread.
pub(crate) fn validate(rules: &[DeviceRule], dir: &Path) -> Result<(), CgroupError> {
    for rule in rules {
        let reason = if rule.access.is_empty() {
            Some("the access is empty")
        } else if rule.kind == DeviceKind::All && (rule.major.is_some() || rule.minor.is_some()) {
            Some("an `a` rule covers every device and takes no major or minor number")
        } else if rule.major.is_some_and(|m| m > MAX_NUMBER) || rule.minor.is_some_and(|m| m > MAX_NUMBER) {
            Some("the major or minor number is out of range")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(CgroupError::InvalidDeviceRule { rule: rule.to_string(), path: dir.to_owned(), reason });
        }
    }
    Ok(())
}

/// Largest major/minor accepted: the BPF filter compares them as signed 32-bit immediates
/// (real numbers are 12 and 20 bits wide).
const MAX_NUMBER: u32 = i32::MAX as u32;

/// The outcome of a rule list, as the v1 kernel would hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Effective {
    /// Allow devices no exception matches (deny-list mode) or not (allow-list mode).
    pub(crate) default_allow: bool,
    /// Exceptions to the default, each with `allow == !default_allow`.
    pub(crate) exceptions: Vec<DeviceRule>,
}

/// Replays `rules` over a deny-all start the way the v1 kernel does: an `a` rule resets
/// the mode and clears the list; a rule against the current default adds (merging access
/// into an identical entry); a rule in the default's direction removes that access from an
/// identical entry.
pub(crate) fn effective(rules: &[DeviceRule]) -> Effective {
    let mut eff = Effective { default_allow: false, exceptions: Vec::new() };
    for rule in rules {
        if rule.kind == DeviceKind::All {
            eff.default_allow = rule.allow;
            eff.exceptions.clear();
        } else if rule.allow != eff.default_allow {
            match eff.exceptions.iter_mut().find(|e| e.same_device(rule)) {
                Some(e) => e.access = DeviceAccess::from_bits(e.access.bits() | rule.access.bits()),
                None => eff.exceptions.push(*rule),
            }
        } else {
            for e in eff.exceptions.iter_mut().filter(|e| e.same_device(rule)) {
                e.access = DeviceAccess::from_bits(e.access.bits() & !rule.access.bits());
            }
            eff.exceptions.retain(|e| !e.access.is_empty());
        }
    }
    eff
}

/// The v1 writes for `rules`: `a` to `devices.deny` (unless the rules start from an all-devices
/// rule of their own, as the default rules do), then each rule in order.
pub(crate) fn v1_steps(dir: &Path, rules: &[DeviceRule]) -> Vec<Step> {
    let deny = dir.join("devices.deny");
    let allow = dir.join("devices.allow");
    let mut steps = Vec::with_capacity(rules.len() + 1);
    if rules.first().is_none_or(|r| r.kind != DeviceKind::All) {
        steps.push(Step::Write(Write::new("devices", deny.clone(), "a")));
    }
    for rule in rules {
        let file = if rule.allow { &allow } else { &deny };
        let value = if rule.kind == DeviceKind::All { "a".to_owned() } else { rule.to_string() };
        steps.push(Step::Write(Write::new("devices", file.clone(), value)));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(allow: bool, kind: char, major: Option<u32>, minor: Option<u32>, access: &str) -> DeviceRule {
        DeviceRule {
            allow,
            kind: DeviceKind::from_letter(kind).expect("valid kind"),
            major,
            minor,
            access: DeviceAccess::parse(access).expect("valid access"),
        }
    }

    #[test]
    fn access_parse_and_display() {
        assert_eq!(DeviceAccess::parse("rwm"), Some(DeviceAccess::RWM));
        assert_eq!(DeviceAccess::parse("mr").map(|a| a.to_string()).as_deref(), Some("rm"));
        assert_eq!(DeviceAccess::parse(""), None);
        assert_eq!(DeviceAccess::parse("rr"), None);
        assert_eq!(DeviceAccess::parse("x"), None);
        assert_eq!(DeviceAccess::RWM.bits(), 7);
        assert_eq!(DeviceAccess::from_bits(2), DeviceAccess::parse("r").expect("valid"));
    }

    #[test]
    fn default_rules_render_like_docker() {
        let text: Vec<String> = default_device_rules().iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "a *:* rwm",
                "c *:* m",
                "b *:* m",
                "c 1:3 rwm",
                "c 1:5 rwm",
                "c 1:7 rwm",
                "c 5:0 rwm",
                "c 1:8 rwm",
                "c 1:9 rwm",
                "c 136:* rwm",
                "c 5:2 rwm",
                "c 10:200 rwm",
                "c 5:1 rwm",
            ]
        );
        assert!(default_device_rules().iter().skip(1).all(|r| r.allow));
    }

    #[test]
    fn v1_plan_denies_all_first() {
        let dir = Path::new("/sys/fs/cgroup/devices/berth/x");
        let rules =
            [DeviceRule::DENY_ALL, rule(true, 'c', Some(1), Some(3), "rwm"), rule(false, 'b', Some(8), None, "w")];
        let writes: Vec<_> = v1_steps(dir, &rules).iter().flat_map(Step::pairs).collect();
        assert_eq!(
            writes,
            [
                ("/sys/fs/cgroup/devices/berth/x/devices.deny".to_owned(), "a".to_owned()),
                ("/sys/fs/cgroup/devices/berth/x/devices.allow".to_owned(), "c 1:3 rwm".to_owned()),
                ("/sys/fs/cgroup/devices/berth/x/devices.deny".to_owned(), "b 8:* w".to_owned()),
            ]
        );
        // Rules that don't start from all devices are made to.
        let writes: Vec<_> = v1_steps(dir, &rules[1..2]).iter().flat_map(Step::pairs).collect();
        assert_eq!(
            writes,
            [
                ("/sys/fs/cgroup/devices/berth/x/devices.deny".to_owned(), "a".to_owned()),
                ("/sys/fs/cgroup/devices/berth/x/devices.allow".to_owned(), "c 1:3 rwm".to_owned()),
            ]
        );
    }

    #[test]
    fn effective_mirrors_v1_bookkeeping() {
        let eff = effective(&default_device_rules());
        assert!(!eff.default_allow);
        assert_eq!(eff.exceptions.len(), 12);

        // Allow-all resets; a later deny becomes an exception.
        let eff = effective(&[DeviceRule::ALLOW_ALL, rule(false, 'c', Some(1), Some(5), "w")]);
        assert!(eff.default_allow);
        assert_eq!(eff.exceptions, [rule(false, 'c', Some(1), Some(5), "w")]);

        // Identical entries merge; denying part of an allowed entry removes that access.
        let eff = effective(&[
            DeviceRule::DENY_ALL,
            rule(true, 'c', Some(1), Some(3), "r"),
            rule(true, 'c', Some(1), Some(3), "w"),
            rule(true, 'c', Some(1), Some(5), "rw"),
            rule(false, 'c', Some(1), Some(5), "rw"),
            rule(false, 'c', Some(1), Some(3), "r"),
        ]);
        assert_eq!(eff.exceptions, [rule(true, 'c', Some(1), Some(3), "w")]);

        // With no rules at all, nothing is allowed.
        assert_eq!(effective(&[]), Effective { default_allow: false, exceptions: vec![] });
    }

    #[test]
    fn validate_rejects_bad_rules() {
        let dir = Path::new("/cg");
        let bad_all = DeviceRule { major: Some(1), ..DeviceRule::DENY_ALL };
        let err = validate(&[bad_all], dir).unwrap_err();
        assert!(err.to_string().starts_with("invalid device rule \"a 1:* rwm\" for /cg"), "{err}");
        let empty = DeviceRule { access: DeviceAccess::default(), ..DeviceRule::ALLOW_ALL };
        assert!(validate(&[empty], dir).is_err());
        assert!(validate(&[DeviceRule::allow_char(Some(u32::MAX), None, DeviceAccess::RWM)], dir).is_err());
        assert!(validate(&default_device_rules(), dir).is_ok());
    }
}
