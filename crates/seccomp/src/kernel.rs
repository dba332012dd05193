//! Kernel versions, as the `minKernel` conditions of a profile compare them.
//!
//! Only the first two numbers count: moby treats `3.12.25-gentoo`, `3.12-1-amd64` and `3.12` as the
//! same kernel (kernel 3, major revision 12). See moby `profiles/seccomp/kernel_linux.go`.

use std::fmt;
use std::str::FromStr;

/// A kernel version reduced to `<major>.<minor>` (`6.18.44-fc-v595` is 6.18).
///
/// Ordered the way moby's `kernelGreaterEqualThan` compares: by major, then minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    /// The first number ("kernel version" in moby's terms), e.g. 6.
    pub major: u32,
    /// The second number ("major revision" in moby's terms), e.g. 18.
    pub minor: u32,
}

/// Why a kernel version could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum KernelVersionError {
    /// A `uname` release string that does not start with `<number>.<number>`.
    #[error("invalid kernel release {release:?}: expected it to start with <major>.<minor>")]
    Release {
        /// The release string as the kernel reported it.
        release: String,
    },
    /// A `minKernel` value in a profile that is not `<major>.<minor>` with numbers up to 255.
    #[error("invalid kernel version {version:?}: expected \"<kernel>.<major>\" (e.g. \"4.8\"), not 0.0")]
    MinKernel {
        /// The value as written in the profile.
        version: String,
    },
}

impl KernelVersion {
    /// Makes a version from its two numbers.
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// The version of the running kernel, from `uname(2)`.
    pub fn current() -> Result<Self, KernelVersionError> {
        let uts = rustix::system::uname();
        let release = uts.release().to_string_lossy();
        Self::from_release(&release)
    }

    /// Parses a `uname -r` release string the way moby does (`fmt.Sscanf(release, "%d.%d")`):
    /// two leading numbers separated by a dot; whatever follows is ignored.
    pub fn from_release(release: &str) -> Result<Self, KernelVersionError> {
        let bad = || KernelVersionError::Release { release: release.to_owned() };
        let (major, rest) = leading_number(release).ok_or_else(bad)?;
        let rest = rest.strip_prefix('.').ok_or_else(bad)?;
        let (minor, _) = leading_number(rest).ok_or_else(bad)?;
        Ok(Self { major, minor })
    }

    /// Parses a profile's `minKernel` value the way moby's `KernelVersion.UnmarshalJSON` does:
    /// exactly `<kernel>.<major>`, each a decimal number that fits in 8 bits, and not `0.0`.
    pub fn from_min_kernel(version: &str) -> Result<Self, KernelVersionError> {
        let bad = || KernelVersionError::MinKernel { version: version.to_owned() };
        let (major, minor) = version.split_once('.').ok_or_else(bad)?;
        let parse = |s: &str| -> Option<u32> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse::<u8>().ok().map(u32::from)
        };
        let (major, minor) = (parse(major).ok_or_else(bad)?, parse(minor).ok_or_else(bad)?);
        if major == 0 && minor == 0 {
            return Err(bad());
        }
        Ok(Self { major, minor })
    }
}

/// Splits `s` into its leading decimal number and the rest; `None` if it does not start with a digit
/// or the number does not fit.
fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
    let number = s[..end].parse().ok()?;
    Some((number, &s[end..]))
}

impl FromStr for KernelVersion {
    type Err = KernelVersionError;

    /// Same as [`KernelVersion::from_release`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_release(s)
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_strings() {
        let cases = [
            ("6.18.44-fc-v595", (6, 18)),
            ("3.12.25-gentoo", (3, 12)),
            ("3.12-1-amd64", (3, 12)),
            ("5.4rc1", (5, 4)),
            ("4.8", (4, 8)),
            ("10.300.1", (10, 300)),
        ];
        for (release, (major, minor)) in cases {
            assert_eq!(KernelVersion::from_release(release).unwrap(), KernelVersion::new(major, minor), "{release}");
        }
        for bad in ["", "6", "6.", ".18", "v6.18", "6-18", "99999999999.1"] {
            assert!(KernelVersion::from_release(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn min_kernel_strings() {
        assert_eq!(KernelVersion::from_min_kernel("4.8").unwrap(), KernelVersion::new(4, 8));
        assert_eq!(KernelVersion::from_min_kernel("0.1").unwrap(), KernelVersion::new(0, 1));
        for bad in ["", "4", "4.8.1", "0.0", "4.256", "+4.8", "4.-1", "a.b", "4.8-rc1"] {
            let err = KernelVersion::from_min_kernel(bad).unwrap_err();
            assert!(err.to_string().starts_with("invalid kernel version"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn ordering_is_major_then_minor() {
        let v = KernelVersion::new;
        assert!(v(4, 8) < v(4, 9));
        assert!(v(4, 20) < v(5, 0));
        assert!(v(6, 18) >= v(6, 18));
        assert!(v(3, 99) < v(4, 0));
    }

    #[test]
    fn current_kernel_parses() {
        let current = KernelVersion::current().unwrap();
        assert!(current >= KernelVersion::new(3, 0), "{current}");
    }
}
