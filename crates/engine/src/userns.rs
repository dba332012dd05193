//! `--userns-remap` in the engine: which containers get a user namespace, what dockerd refuses
//! to combine with one, and the one place where the engine gives files to a container's
//! remapped root ([`give_to_remapped_root`]).
//!
//! The daemon resolves the flag into id mappings ([`runtime::IdMapping`], from `/etc/subuid`
//! and `/etc/subgid`) once; a container created while it is set records them in
//! `HostConfig::userns_remap` (unless `--userns=host`), and runs with them from then on: its
//! writable layer and its new volumes are owned by its root's subordinate ids, which must not
//! change under it. The runtime makes the namespace and idmaps the image's layers (see the
//! `runtime::userns` docs); nothing on disk is copied or chowned besides what is listed here.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;

pub use runtime::{IdMap, IdMapping};

use crate::model::{Container, HostConfig};
use crate::{Engine, EngineError};

/// The daemon's `--userns-remap`: the mappings new containers get, and a user namespace with
/// them, made by the daemon before it started threads (it can't make one afterwards), with
/// which the engine idmaps the layers of a stopped container's detached root (`cp`, `export`).
#[derive(Debug, Clone)]
pub struct Remap {
    /// The mappings.
    pub map: IdMapping,
    /// A user namespace with them.
    pub ns: Arc<OwnedFd>,
}

impl Engine {
    /// The daemon's remapping, if any.
    pub fn remap(&self) -> Option<&IdMapping> {
        self.cfg().userns.as_ref().map(|r| &r.map)
    }
}

/// Owner translation of archives into a container with `map` (`cp` in): its ids to host ids.
pub(crate) fn to_host(map: &IdMapping) -> image::OwnerMap {
    let r = |v: &[IdMap]| v.iter().map(|m| (m.container_id, m.host_id, m.size)).collect();
    image::OwnerMap::new(r(&map.uids), r(&map.gids))
}

/// Owner translation of archives out of a container with `map` (`cp` out, `export`, `commit`).
pub(crate) fn to_container(map: &IdMapping) -> image::OwnerMap {
    to_host(map).inverse()
}

/// dockerd's refusal of `--privileged` in a user namespace.
pub const PRIVILEGED_MSG: &str = "privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode";

/// Checks a new container's settings against the daemon's remapping, as dockerd does
/// (moby `verifyPlatformContainerSettings`): in a user namespace a container can't be
/// privileged nor share the host's network or PID namespace; `--userns=host` opts out.
pub(crate) fn validate(hc: &HostConfig, remap: Option<&IdMapping>) -> Result<(), EngineError> {
    if !matches!(hc.userns_mode.as_str(), "" | "host") {
        return Err(EngineError::InvalidArgument(format!(
            "invalid --userns {:?}: the only mode is \"host\" (the host's user namespace)",
            hc.userns_mode
        )));
    }
    if remap.is_none() || hc.userns_mode == "host" {
        return Ok(());
    }
    if hc.privileged {
        return Err(EngineError::InvalidArgument(PRIVILEGED_MSG.into()));
    }
    if hc.network_mode == "host" {
        return Err(EngineError::InvalidArgument(
            "cannot share the host's network namespace when user namespaces are enabled".into(),
        ));
    }
    if hc.pid_mode == "host" {
        return Err(EngineError::InvalidArgument(
            "cannot share the host PID namespace when user namespaces are enabled".into(),
        ));
    }
    Ok(())
}

/// The mappings a new container records: the daemon's, unless it opted out.
pub(crate) fn for_new(hc: &HostConfig, remap: Option<&IdMapping>) -> Option<IdMapping> {
    (hc.userns_mode != "host").then(|| remap.cloned()).flatten()
}

/// A container starts with the mappings it was created with (`spec::build` reads them from
/// its record). One created before the daemon remapped, without `--userns=host`, is refused
/// rather than run as the host's root: its files are owned for the host's user namespace.
pub(crate) fn check_start(c: &Container, remap: Option<&IdMapping>) -> Result<(), EngineError> {
    let hc = &c.host_config;
    if hc.userns_remap.is_none() && remap.is_some() && hc.userns_mode != "host" {
        return Err(EngineError::Conflict(format!(
            "container {} was created before the daemon ran with --userns-remap: it can only run in the host's user namespace; recreate it (with --userns=host to keep it there)",
            c.id
        )));
    }
    Ok(())
}

/// Gives `paths` (the container's writable layer, its /etc files, a new volume, a bind source
/// berth created) to the container's root: the host ids of its uid and gid 0, so that it can
/// write there as root writes in a container without a user namespace. The only ownership
/// change the engine makes for remapping; symlinks are not followed.
pub(crate) fn give_to_remapped_root(map: &IdMapping, paths: &[&Path]) -> Result<(), EngineError> {
    let (uid, gid) = map.root();
    for p in paths {
        std::os::unix::fs::lchown(p, Some(uid), Some(gid))
            .map_err(|e| EngineError::io(format!("giving {} to the container's root ({uid}:{gid})", p.display()), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> IdMapping {
        let r = IdMap { container_id: 0, host_id: 100_000, size: 65_536 };
        IdMapping { uids: vec![r], gids: vec![r] }
    }

    #[test]
    fn dockerd_conflicts() {
        let m = map();
        let hc = |f: &dyn Fn(&mut HostConfig)| {
            let mut h = HostConfig::default();
            f(&mut h);
            h
        };
        let privileged = hc(&|h| h.privileged = true);
        assert_eq!(validate(&privileged, Some(&m)).unwrap_err().to_string(), PRIVILEGED_MSG);
        assert!(validate(&privileged, None).is_ok());
        let host_net = hc(&|h| h.network_mode = "host".into());
        assert!(validate(&host_net, Some(&m)).unwrap_err().to_string().contains("network namespace"));
        let host_pid = hc(&|h| h.pid_mode = "host".into());
        assert!(validate(&host_pid, Some(&m)).unwrap_err().to_string().contains("PID namespace"));
        let opted_out = hc(&|h| {
            h.privileged = true;
            h.pid_mode = "host".into();
            h.userns_mode = "host".into();
        });
        assert!(validate(&opted_out, Some(&m)).is_ok());
        assert!(for_new(&opted_out, Some(&m)).is_none());
        assert_eq!(for_new(&HostConfig::default(), Some(&m)), Some(m.clone()));
        assert!(validate(&hc(&|h| h.userns_mode = "private".into()), None).is_err());
    }
}
