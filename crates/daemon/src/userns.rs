//! `--userns-remap default|USER[:GROUP]|UID[:GID]`, as dockerd reads it (moby
//! `parseRemappedRoot`, `setupRemappedRoot`): the user and group are looked up in /etc/passwd
//! and /etc/group, their subordinate ranges in /etc/subuid and /etc/subgid (by name or number,
//! in file order) become the containers' id mappings: container id 0 is the first id of the
//! first range, and so on. `default` is the `dockremap` user and group, made when missing with
//! the distribution's tools (`useradd`/`adduser`, then `usermod -v/-w` for a free 65536-id
//! range from 100000 up, as dockerd does), which also take the files' locks.
//!
//! Before the engine starts, [`runtime::userns::probe`] checks that the kernel and the data
//! root's filesystem idmap overlay lower layers, which is how remapped containers see their
//! image; without that, the daemon refuses to start rather than run containers whose files
//! have the wrong owners.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use runtime::{IdMap, IdMapping};

/// dockerd's name for `default`.
pub const DEFAULT_USER: &str = "dockremap";
/// Size of the range made for `dockremap`.
const RANGE_LEN: u32 = 65_536;
/// Where ranges made for `dockremap` start at the earliest.
const RANGE_START: u32 = 100_000;

/// An /etc/passwd or /etc/group entry: name and id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    id: u32,
}

/// Entries of /etc/passwd or /etc/group text (name:x:id:...).
fn entries(text: &str) -> Vec<Entry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?.to_owned();
            let id = f.nth(1)?.parse().ok()?;
            (!name.is_empty()).then_some(Entry { name, id })
        })
        .collect()
}

/// The ranges of /etc/subuid or /etc/subgid text that belong to `e` (by name or number), in
/// file order: (first host id, count).
fn ranges(text: &str, e: &Entry) -> Result<Vec<(u32, u32)>, String> {
    let id = e.id.to_string();
    let mut out = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.split(':').collect();
        if f.len() != 3 {
            return Err(format!("line {}: want name:start:count, got {l:?}", n + 1));
        }
        if f[0] != e.name && f[0] != id {
            continue;
        }
        let (Ok(start), Ok(count)) = (f[1].parse::<u32>(), f[2].parse::<u32>()) else {
            return Err(format!("line {}: bad numbers in {l:?}", n + 1));
        };
        out.push((start, count));
    }
    Ok(out)
}

/// Container ids from 0 up, over the ranges in order (moby `createIDMap`).
fn id_maps(ranges: &[(u32, u32)]) -> Vec<IdMap> {
    let mut container_id = 0u32;
    ranges
        .iter()
        .map(|&(host_id, size)| {
            let m = IdMap { container_id, host_id, size };
            container_id = container_id.saturating_add(size);
            m
        })
        .collect()
}

/// Where a new 65536-id range can start, given the ranges of a subordinate id file (moby
/// `findNextRangeStart`).
fn next_range_start(text: &str) -> u32 {
    let mut all: Vec<(u64, u64)> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            (f.len() == 3).then(|| Some((f[1].parse().ok()?, f[2].parse().ok()?))).flatten()
        })
        .collect();
    all.sort_unstable();
    let mut start = u64::from(RANGE_START);
    for (s, n) in all {
        let end = start + u64::from(RANGE_LEN);
        if start < s + n && s < end {
            start = s + n;
        }
    }
    u32::try_from(start).unwrap_or(u32::MAX)
}

fn read(path: &str) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e).with_context(|| format!("reading {path}")),
    }
}

fn run(cmd: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(cmd).args(args).output().with_context(|| format!("running {cmd}"))?;
    if !out.status.success() {
        bail!("{cmd} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Makes the `dockremap` system user and group and gives them a subordinate range each, as
/// dockerd does.
fn add_default_user() -> anyhow::Result<()> {
    let r = if Path::new("/usr/sbin/adduser").exists() {
        run(
            "adduser",
            &[
                "--system",
                "--shell",
                "/bin/false",
                "--no-create-home",
                "--disabled-login",
                "--disabled-password",
                "--group",
                DEFAULT_USER,
            ],
        )
    } else {
        run("useradd", &["-r", "-s", "/bin/false", DEFAULT_USER])
    };
    r.with_context(|| format!("adding the user {DEFAULT_USER:?}"))?;
    let passwd = read("/etc/passwd")?;
    let user = entries(&passwd)
        .into_iter()
        .find(|e| e.name == DEFAULT_USER)
        .with_context(|| format!("{DEFAULT_USER} is not in /etc/passwd after adding it"))?;
    for (file, flag) in [("/etc/subuid", "-v"), ("/etc/subgid", "-w")] {
        let text = read(file)?;
        if ranges(&text, &user).map_err(|e| anyhow::anyhow!("{file}: {e}"))?.is_empty() {
            let start = next_range_start(&text);
            let range = format!("{start}-{}", u64::from(start) + u64::from(RANGE_LEN) - 1);
            run("usermod", &[flag, &range, DEFAULT_USER])
                .with_context(|| format!("giving {DEFAULT_USER} the subordinate ids {range} in {file}"))?;
        }
    }
    Ok(())
}

/// Resolves `--userns-remap` to the containers' id mappings (`None` for `root`, as dockerd,
/// which then runs without user namespaces).
pub fn resolve(spec: &str) -> anyhow::Result<Option<(String, IdMapping)>> {
    let bad = || anyhow::anyhow!("invalid --userns-remap {spec:?}: want default, USER[:GROUP] or UID[:GID]");
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let mut passwd = read("/etc/passwd")?;
    let mut group = read("/etc/group")?;
    let name = if parts[0] == "default" { DEFAULT_USER } else { parts[0] };
    let find_user = |passwd: &str| -> Option<Entry> {
        let users = entries(passwd);
        match name.parse::<u32>() {
            Ok(uid) => users.into_iter().find(|e| e.id == uid),
            Err(_) => users.into_iter().find(|e| e.name == name),
        }
    };
    let user = match find_user(&passwd) {
        Some(u) => u,
        None if parts[0] == "default" && parts.len() == 1 => {
            add_default_user()?;
            passwd = read("/etc/passwd")?;
            group = read("/etc/group")?;
            find_user(&passwd).with_context(|| format!("{DEFAULT_USER} is not in /etc/passwd after adding it"))?
        }
        None => bail!("--userns-remap: user {name:?} has no entry in /etc/passwd"),
    };
    // The group: given, else the user's number (for a number) or name.
    let gname = match parts.get(1) {
        Some(g) => (*g).to_owned(),
        None if name.parse::<u32>().is_ok() => user.id.to_string(),
        None => user.name.clone(),
    };
    let groups = entries(&group);
    let grp = match gname.parse::<u32>() {
        Ok(gid) => groups.into_iter().find(|e| e.id == gid),
        Err(_) => groups.into_iter().find(|e| e.name == gname),
    }
    .with_context(|| format!("--userns-remap: group {gname:?} has no entry in /etc/group"))?;
    if user.name == "root" {
        tracing::warn!("user namespaces: root cannot be remapped with itself; user namespaces are OFF");
        return Ok(None);
    }
    let uids = ranges(&read("/etc/subuid")?, &user).map_err(|e| anyhow::anyhow!("/etc/subuid: {e}"))?;
    if uids.is_empty() {
        bail!("--userns-remap: no subuid ranges found for user {:?} in /etc/subuid", user.name);
    }
    let gids = ranges(&read("/etc/subgid")?, &grp).map_err(|e| anyhow::anyhow!("/etc/subgid: {e}"))?;
    if gids.is_empty() {
        bail!("--userns-remap: no subgid ranges found for group {:?} in /etc/subgid", grp.name);
    }
    let map = IdMapping { uids: id_maps(&uids), gids: id_maps(&gids) };
    map.check().map_err(|e| anyhow::anyhow!("--userns-remap {}:{}: {e}", user.name, grp.name))?;
    Ok(Some((format!("{}:{}", user.name, grp.name), map)))
}

/// Checks, before any thread of the daemon starts, that remapped containers can be run on
/// `root`'s filesystem (idmapped overlay lower layers): forks, so the process must still be
/// single-threaded.
pub fn probe(root: &Path, map: &IdMapping) -> anyhow::Result<()> {
    let threads = read("/proc/self/status")?
        .lines()
        .find_map(|l| l.strip_prefix("Threads:").map(|n| n.trim().to_owned()))
        .unwrap_or_default();
    if threads != "1" {
        bail!("internal error: the user namespace probe must run before the daemon starts threads");
    }
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    // Leftovers of daemons killed while probing.
    for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(".userns-probe-")
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let dir = root.join(format!(".userns-probe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    runtime::userns::probe(&dir, map).map_err(|e| {
        anyhow::anyhow!(
            "--userns-remap needs idmapped mounts as overlayfs lower layers (Linux 5.19+) on the filesystem of {}: {e}",
            root.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_subid_files() {
        let users = entries("root:x:0:0:root:/root:/bin/sh\n#c\nbad\ndockremap:x:999:999::/:/bin/false\n");
        assert_eq!(users, vec![Entry { name: "root".into(), id: 0 }, Entry { name: "dockremap".into(), id: 999 }]);
        let u = &users[1];
        let sub = "root:1:2\ndockremap:100000:65536\n# c\n999:300000:10\nother:165536:65536\n";
        assert_eq!(ranges(sub, u).unwrap(), vec![(100_000, 65_536), (300_000, 10)]);
        assert!(ranges("dockremap:x:1\n", u).is_err());
        assert!(ranges("dockremap:1\n", u).is_err());
        let maps = id_maps(&ranges(sub, u).unwrap());
        assert_eq!(
            maps,
            vec![
                IdMap { container_id: 0, host_id: 100_000, size: 65_536 },
                IdMap { container_id: 65_536, host_id: 300_000, size: 10 }
            ]
        );
    }

    #[test]
    fn next_free_range() {
        assert_eq!(next_range_start(""), 100_000);
        assert_eq!(next_range_start("a:100000:65536\n"), 165_536);
        assert_eq!(next_range_start("b:165536:65536\na:100000:65536\n"), 231_072);
        // A range far above leaves the first slot free.
        assert_eq!(next_range_start("a:1000000:65536\n"), 100_000);
        assert_eq!(next_range_start("a:150000:10\n"), 150_010);
    }
}
