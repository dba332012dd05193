//! Resolving `-u user[:group]` against the container's /etc/passwd and /etc/group, as runc's
//! `libcontainer/user` does (Docker's semantics): names must exist, numbers need not.

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
    } else if let Ok(uid) = user_part.parse::<u32>() {
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
    Ok(out)
}

fn lookup_group(g: &str, group: &str) -> Result<u32, UserError> {
    if let Ok(gid) = g.parse::<u32>() {
        return Ok(gid);
    }
    parse_group(group).find(|x| x.name == g).map(|x| x.gid).ok_or_else(|| UserError::NoGroup(g.to_owned()))
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
    fn no_files() {
        let u = resolve("", &[], "", "").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/"));
        assert!(resolve("root", &[], "", "").is_err());
    }
}
