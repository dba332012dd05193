//! Resolving `-u user[:group]` against the container's /etc/passwd and /etc/group, as runc's
//! `libcontainer/user` does (Docker's semantics): names must exist, numbers need not.
//!
//! Every id that comes out is at most [`MAX_ID`] (2^31-1), as runc enforces: the kernel's
//! set*id calls take `-1` (4294967295) to mean "leave unchanged", so `--user 4294967295` would
//! otherwise keep the process root, and ids above 2^31 are not portable across the kernel's
//! signed and unsigned views. The same check runs everywhere a user is set: `run`/`create`
//! and `exec` in the engine ([`check_spec`], before anything exists), in the container's first
//! process and exec'd processes (the resolved ids), and in the supervisor's `user=`.

/// A resolved user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    /// User ID.
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
    /// Supplementary group IDs (membership in /etc/group plus `--group-add`).
    pub groups: Vec<u32>,
    /// Home directory (for `HOME` when the environment lacks it).
    pub home: String,
}

/// Why a user spec could not be resolved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    /// A user name not in /etc/passwd.
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoUser(String),
    /// A group name not in /etc/group.
    #[error("unable to find group {0}: no matching entries in group file")]
    NoGroup(String),
    /// An id out of range (runc's message), from the spec or from an entry of the image's files.
    #[error("uids and gids must be in range 0-{MAX_ID}: {0}")]
    Range(u64),
}

/// The largest uid or gid a container process may get (runc's `maxId`).
pub const MAX_ID: u32 = i32::MAX as u32;

/// Parses a numeric id: `Ok(None)` when `s` is not a number (a name), an error when it is a
/// number out of range (including ones above u32, which `str::parse::<u32>` would take for names).
fn numeric_id(s: &str) -> Result<Option<u32>, UserError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match s.parse::<u64>() {
        Ok(n) if n <= u64::from(MAX_ID) => Ok(Some(n as u32)),
        Ok(n) => Err(UserError::Range(n)),
        Err(_) => Err(UserError::Range(u64::MAX)),
    }
}

fn in_range(id: u32) -> Result<u32, UserError> {
    if id > MAX_ID { Err(UserError::Range(id.into())) } else { Ok(id) }
}

/// Checks the numeric parts of a user spec (`uid`, `uid:gid`, `name:gid`) and of extra groups
/// without any passwd or group file: what can be refused before a container exists.
pub fn check_spec(spec: &str, extra_groups: &[String]) -> Result<(), UserError> {
    let (u, g) = spec.split_once(':').unwrap_or((spec, ""));
    numeric_id(u)?;
    numeric_id(g)?;
    for g in extra_groups {
        numeric_id(g)?;
    }
    Ok(())
}

struct Passwd<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

struct Group<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

fn parse_passwd(s: &str) -> impl Iterator<Item = Passwd<'_>> {
    s.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 4 || l.starts_with('#') {
            return None;
        }
        Some(Passwd {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f.get(5).copied().unwrap_or(""),
        })
    })
}

fn parse_group(s: &str) -> impl Iterator<Item = Group<'_>> {
    s.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 3 || l.starts_with('#') {
            return None;
        }
        let members = f.get(3).map(|m| m.split(',').filter(|x| !x.is_empty()).collect()).unwrap_or_default();
        Some(Group { name: f[0], gid: f[2].parse().ok()?, members })
    })
}

/// Resolves `spec` (`""`, `user`, `uid`, `user:group`, `uid:gid`, ...) and extra groups with the
/// text of the container's passwd and group files (empty when the files are missing).
pub fn resolve(spec: &str, extra_groups: &[String], passwd: &str, group: &str) -> Result<ExecUser, UserError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let mut out = ExecUser { uid: 0, gid: 0, groups: Vec::new(), home: "/".into() };
    let mut user_name: Option<String> = None;
    if user_part.is_empty() {
        // Default: root, with root's passwd entry if there is one.
        if let Some(p) = parse_passwd(passwd).find(|p| p.uid == 0) {
            out.gid = p.gid;
            out.home = p.home.to_owned();
            user_name = Some(p.name.to_owned());
        }
    } else if let Some(uid) = numeric_id(user_part)? {
        out.uid = uid;
        if let Some(p) = parse_passwd(passwd).find(|p| p.uid == uid) {
            out.gid = p.gid;
            out.home = p.home.to_owned();
            user_name = Some(p.name.to_owned());
        }
    } else {
        let p = parse_passwd(passwd)
            .find(|p| p.name == user_part)
            .ok_or_else(|| UserError::NoUser(user_part.to_owned()))?;
        out.uid = p.uid;
        out.gid = p.gid;
        out.home = p.home.to_owned();
        user_name = Some(p.name.to_owned());
    }
    // A passwd entry of the image may carry any number.
    in_range(out.uid)?;
    in_range(out.gid)?;
    if out.home.is_empty() {
        out.home = "/".into();
    }
    match group_part {
        Some(g) if !g.is_empty() => {
            out.gid = lookup_group(g, group)?;
        }
        _ => {
            // Supplementary groups from /etc/group membership, only when no group was given.
            if let Some(name) = &user_name {
                out.groups =
                    parse_group(group).filter(|g| g.members.iter().any(|m| m == name)).map(|g| g.gid).collect();
            }
        }
    }
    for g in extra_groups {
        let gid = lookup_group(g, group)?;
        if !out.groups.contains(&gid) {
            out.groups.push(gid);
        }
    }
    for g in &out.groups {
        in_range(*g)?;
    }
    Ok(out)
}

fn lookup_group(g: &str, group: &str) -> Result<u32, UserError> {
    if let Some(gid) = numeric_id(g)? {
        return Ok(gid);
    }
    let gid =
        parse_group(group).find(|x| x.name == g).map(|x| x.gid).ok_or_else(|| UserError::NoGroup(g.to_owned()))?;
    in_range(gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n#c\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nwww:x:33:33::/var/www:/bin/sh\nbad line\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:root,www\nwww-data:x:33:\nusers:x:100:www\nnogroup:x:65534:\n";

    #[test]
    fn default_is_root_with_home() {
        let u = resolve("", &[], PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert_eq!(u.groups, vec![10]);
    }

    #[test]
    fn by_name_and_number() {
        let u = resolve("www", &[], PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (33, 33, "/var/www"));
        assert_eq!(u.groups, vec![10, 100]);
        let u = resolve("1234", &[], PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1234, 0, "/"));
        let u = resolve("1234:5678", &[], PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (1234, 5678));
        let u = resolve("nobody:www-data", &[], PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (65534, 33));
        assert!(u.groups.is_empty());
    }

    #[test]
    fn missing_names_are_errors() {
        assert_eq!(resolve("ghost", &[], PASSWD, GROUP), Err(UserError::NoUser("ghost".into())));
        assert_eq!(resolve("root:ghosts", &[], PASSWD, GROUP), Err(UserError::NoGroup("ghosts".into())));
        assert_eq!(resolve("0", &["ghosts".into()], PASSWD, GROUP), Err(UserError::NoGroup("ghosts".into())));
    }

    #[test]
    fn extra_groups() {
        let u = resolve("nobody", &["users".into(), "4242".into()], PASSWD, GROUP).unwrap();
        assert_eq!(u.groups, vec![100, 4242]);
    }

    #[test]
    fn ids_above_2_31_are_refused() {
        let range = |n: u64| Err(UserError::Range(n));
        // -1 to setresuid means "unchanged": the process would stay root.
        assert_eq!(resolve("4294967295", &[], PASSWD, GROUP), range(4294967295));
        assert_eq!(resolve("2147483648", &[], PASSWD, GROUP), range(2147483648));
        assert_eq!(resolve("0:4294967295", &[], PASSWD, GROUP), range(4294967295));
        assert_eq!(resolve("0", &["2147483648".into()], PASSWD, GROUP), range(2147483648));
        // Beyond u32 is a number too, not a user name.
        assert_eq!(resolve("99999999999999999999", &[], PASSWD, GROUP), range(u64::MAX));
        assert_eq!(resolve("2147483647", &[], PASSWD, GROUP).unwrap().uid, 2147483647);
        // Entries of the image's files are checked as well.
        let passwd = "evil:x:4294967295:0::/:/bin/sh\ngevil:x:1:4294967295::/:/bin/sh\n";
        let group = "big:x:4294967295:gevil\n";
        assert_eq!(resolve("evil", &[], passwd, group), range(4294967295));
        assert_eq!(resolve("gevil", &[], passwd, group), range(4294967295));
        assert_eq!(resolve("0:big", &[], passwd, group), range(4294967295));
        assert_eq!(resolve("0", &["big".into()], passwd, group), range(4294967295));
        assert_eq!(UserError::Range(4294967295).to_string(), "uids and gids must be in range 0-2147483647: 4294967295");
        assert!(check_spec("4294967295", &[]).is_err());
        assert!(check_spec("www:4294967295", &[]).is_err());
        assert!(check_spec("0", &["2147483648".into()]).is_err());
        assert!(check_spec("www:users", &["wheel".into(), "10".into()]).is_ok());
    }

    #[test]
    fn no_files() {
        let u = resolve("", &[], "", "").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/"));
        assert!(resolve("root", &[], "", "").is_err());
    }
}
