//! Interface names from users (`-b`, `com.docker.network.bridge.name`, `-o parent=`).
//!
//! Two rules:
//! - [`check`]: the kernel's own (`dev_valid_name` in `net/core/dev.c`): 1 to 15 bytes, not
//!   `.` or `..`, no `/`, `:`, NUL or white space (the kernel's `isspace`, which counts byte
//!   0xA0 too). berth also refuses `%`: given to `RTM_NEWLINK`, `eth%d` is a template the
//!   kernel fills in (`eth0`, `eth1`...), so the link made would not be the one named. This is
//!   the rule for an interface that must already exist (a macvlan/ipvlan parent).
//! - [`check_bridge`]: a bridge name berth creates or puts its address on. On top of the
//!   kernel's rule, only the characters of Docker's object names (`[A-Za-z0-9][A-Za-z0-9_.-]*`):
//!   the name is seen by every tool on the host (`ip`, sysctl paths, other firewalls, admins'
//!   shell scripts), and a name made of those characters means the same to all of them.
//!   Every real bridge name (`docker0`, `br-0123abcd`, `virbr0`, `vmbr0`, `br0.100`) fits.
//!
//! The firewall does not rely on either: it hands names to `nft` as JSON strings (see
//! [`crate::firewall`]), so even a name from an old record can't change a rule's meaning.

use crate::NetError;

/// The kernel's `IFNAMSIZ`: a name and its NUL.
pub const IFNAMSIZ: usize = 16;

/// Why `name` is not an interface name the kernel accepts, or `None`.
fn kernel_fault(name: &str) -> Option<String> {
    let b = name.as_bytes();
    if b.is_empty() {
        return Some("it is empty".into());
    }
    if b.len() >= IFNAMSIZ {
        return Some(format!("it is {} bytes long, the kernel's limit is {}", b.len(), IFNAMSIZ - 1));
    }
    if name == "." || name == ".." {
        return Some("'.' and '..' are not interface names".into());
    }
    // The kernel's isspace(): \t \n \v \f \r, space, and Latin-1's non-breaking space (0xA0).
    let space = |c: u8| matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0xa0);
    if let Some(&c) = b.iter().find(|&&c| c == b'/' || c == b':' || c == 0 || space(c)) {
        return Some(format!("it contains {:?}, which the kernel refuses ('/', ':', NUL, white space)", c as char));
    }
    if b.contains(&b'%') {
        return Some("it contains '%', which the kernel takes as a template for a name of its choice".into());
    }
    None
}

/// Checks an interface name by the kernel's rules; `what` names it in the error
/// (`parent interface`).
pub fn check(what: &str, name: &str) -> Result<(), NetError> {
    match kernel_fault(name) {
        Some(why) => Err(NetError::Invalid(format!("invalid {what} name {name:?}: {why}"))),
        None => Ok(()),
    }
}

/// Checks the name of a bridge berth creates or uses: the kernel's rules, and only letters,
/// digits, `_`, `.` and `-`, starting with a letter or digit.
pub fn check_bridge(name: &str) -> Result<(), NetError> {
    check("bridge", name)?;
    let ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !ok {
        return Err(NetError::Invalid(format!(
            "invalid bridge name {name:?}: a bridge name is 1 to 15 letters, digits, '_', '.' or '-', \
             starting with a letter or digit"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_rules() {
        for ok in ["eth0", "br-0123456789ab", "a", "eth0.10", "x\"y", "a;b}", "veth@1", "..."] {
            assert!(check("parent interface", ok).is_ok(), "{ok:?}");
        }
        let cases = [
            ("", "empty"),
            ("0123456789abcdef", "16 bytes long"),
            (".", "'.'"),
            ("..", "'..'"),
            ("a/b", "'/'"),
            ("a:b", "':'"),
            ("a b", "' '"),
            ("a\nb", "'\\n'"),
            ("a\tb", "'\\t'"),
            ("a\0b", "NUL"),
            ("a\u{a0}", "white space"),
            ("eth%d", "template"),
        ];
        for (name, want) in cases {
            let e = check("parent interface", name).unwrap_err().to_string();
            assert!(e.starts_with("invalid parent interface name"), "{name:?}: {e}");
            assert!(e.contains(want), "{name:?}: {e}");
        }
        // 15 bytes is the longest name; a multi-byte character counts its bytes.
        assert!(check("x", "0123456789abcde").is_ok());
        assert!(check("x", "0123456789abcdé").is_err());
    }

    #[test]
    fn bridge_names() {
        for ok in ["berth0", "br-0123456789ab", "docker_gwbridge", "br0.100", "B1", "0"] {
            assert!(check_bridge(ok).is_ok(), "{ok:?}");
        }
        let hostile = [
            "x\"}",
            "a;b",
            "}",
            "a\"; flush ruleset",
            "a\ndelete",
            "a b",
            "-b",
            ".hidden",
            "$(reboot)",
            "a'b",
            "a\\b",
            "0123456789abcdef",
            "é",
        ];
        for name in hostile {
            let e = check_bridge(name).unwrap_err().to_string();
            assert!(e.starts_with("invalid bridge name"), "{name:?}: {e}");
        }
    }
}
