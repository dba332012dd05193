//! `docker rmi` and `docker image prune`, following the Docker daemon's rules
//! (`daemon/images/image_delete.go`).
//!
//! [`plan_remove`] is pure: from the name, the image's references and the container using it,
//! it decides which references to remove and whether to delete the image, or returns Docker's
//! conflict error. [`ImageStore::remove`] applies the plan and garbage-collects the layers no
//! image uses any more.
//!
//! Rules, by how the image was named:
//! - by reference: that reference is removed. If it was the image's only reference (ignoring
//!   digest references of the same repository) and a container uses the image, `force` is
//!   needed. The image is then deleted if no reference is left and no container uses it.
//! - by ID: with at most one tag, all references are removed; otherwise `force` is needed
//!   ("image is referenced in multiple repositories"). A running container blocks deletion
//!   even with `force`; a stopped one needs `force`. An image deleted while a stopped
//!   container still uses it is *retained*: hidden, but its layers stay for the container.

use oci::{Digest, Reference};

use crate::error::ImageError;
use crate::store::{ImageStore, Resolved, State};

/// A container that uses an image, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUse {
    /// The container's ID.
    pub container_id: String,
    /// Whether it is running (a hard conflict that `force` cannot override).
    pub running: bool,
}

/// One line of `docker rmi` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveEntry {
    /// `Untagged: busybox:latest`.
    Untagged(String),
    /// `Deleted: sha256:…` (the image, then each removed layer by chain ID).
    Deleted(Digest),
}

impl std::fmt::Display for RemoveEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Untagged(r) => write!(f, "Untagged: {r}"),
            Self::Deleted(d) => write!(f, "Deleted: {d}"),
        }
    }
}

/// What `docker image prune` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Untagged references and deleted images and layers.
    pub entries: Vec<RemoveEntry>,
    /// Unpacked bytes of the removed layers.
    pub space_reclaimed: u64,
}

/// The outcome of [`plan_remove`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RemovePlan {
    pub(crate) untag: Vec<Reference>,
    pub(crate) delete: bool,
    /// Delete, but keep the layers for the (stopped) container that uses the image.
    pub(crate) retain: bool,
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

/// Docker's `isImageIDPrefix`.
fn is_id_prefix(id: &Digest, name: &str) -> bool {
    id.to_string().starts_with(name) || id.hex().starts_with(name)
}

/// Docker's `isSingleReference`: all references are of one repository and at most one is a tag.
fn is_single_reference(refs: &[Reference]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let tags: Vec<&Reference> = refs.iter().filter(|r| r.digest().is_none()).collect();
    if tags.len() > 1 {
        return false;
    }
    let repos: std::collections::BTreeSet<String> =
        refs.iter().filter(|r| r.digest().is_some()).map(Reference::repository).collect();
    let single = tags.first().copied().unwrap_or(&refs[0]);
    repos.len() == 1 && repos.contains(&single.repository())
}

/// Decides what `rmi name` does (see the module docs).
pub(crate) fn plan_remove(
    name: &str,
    resolved: &Resolved,
    refs: &[Reference],
    user: Option<&ContainerUse>,
    force: bool,
) -> Result<RemovePlan, ImageError> {
    let id = resolved.id();
    let mut refs = refs.to_vec();
    let mut plan = RemovePlan::default();
    let conflict =
        |hard: bool, reason: String| ImageError::DeleteConflict { image: id.short().to_owned(), hard, reason };
    let running = |u: &ContainerUse| {
        conflict(true, format!("image is being used by running container {}", short(&u.container_id)))
    };
    let stopped = |u: &ContainerUse| {
        conflict(false, format!("image is being used by stopped container {}", short(&u.container_id)))
    };

    if let Resolved::Ref(r, _) = resolved
        && !is_id_prefix(id, name)
    {
        if !force
            && is_single_reference(&refs)
            && let Some(u) = user
        {
            return Err(ImageError::ReferenceInUse {
                reference: name.to_owned(),
                container: short(&u.container_id),
                image: id.short().to_owned(),
            });
        }
        refs.retain(|x| x != r);
        plan.untag.push(r.clone());
        // Removing a repository's last tag also removes its digest references.
        if r.digest().is_none() && !refs.iter().any(|x| x.digest().is_none() && x.repository() == r.repository()) {
            let (same, rest): (Vec<_>, Vec<_>) = refs.into_iter().partition(|x| x.repository() == r.repository());
            plan.untag.extend(same);
            refs = rest;
        }
        if !refs.is_empty() {
            return Ok(plan);
        }
        // The image is now dangling: delete it quietly, unless a container uses it.
        match user {
            Some(u) if u.running || !force => {}
            Some(_) => {
                plan.delete = true;
                plan.retain = true;
            }
            None => plan.delete = true,
        }
        return Ok(plan);
    }

    if is_single_reference(&refs) {
        match user {
            Some(u) if u.running => return Err(running(u)),
            Some(u) if !force => return Err(stopped(u)),
            _ => {}
        }
        plan.untag.append(&mut refs);
    }
    match user {
        Some(u) if u.running => return Err(running(u)),
        _ if !force && !refs.is_empty() => {
            return Err(conflict(false, "image is referenced in multiple repositories".into()));
        }
        Some(u) if !force => return Err(stopped(u)),
        _ => {}
    }
    plan.untag.append(&mut refs);
    plan.delete = true;
    plan.retain = user.is_some();
    Ok(plan)
}

fn familiar(r: &Reference) -> String {
    match r.digest() {
        Some(d) => format!("{}@{d}", r.familiar_repository()),
        None => r.familiar(),
    }
}

impl ImageStore {
    /// `docker rmi [-f] name`: returns Docker's `Untagged:`/`Deleted:` lines. `in_use` tells
    /// whether a container uses an image; it is called with the store's lock held and must
    /// not call back into the store.
    pub fn remove(
        &self,
        name: &str,
        force: bool,
        in_use: &dyn Fn(&Digest) -> Option<ContainerUse>,
    ) -> Result<Vec<RemoveEntry>, ImageError> {
        let (out, detached) = {
            let mut st = self.lock();
            let resolved = Self::lookup(&st, name)?;
            let id = resolved.id().clone();
            let user = in_use(&id);
            let plan = plan_remove(name, &resolved, &st.refs_of(&id), user.as_ref(), force)?;
            self.apply(&mut st, &id, &plan)?
        };
        self.purge(&detached)?;
        Ok(out)
    }

    fn apply(
        &self,
        st: &mut State,
        id: &Digest,
        plan: &RemovePlan,
    ) -> Result<(Vec<RemoveEntry>, Vec<std::path::PathBuf>), ImageError> {
        if !plan.untag.is_empty() {
            self.update_refs(st, |refs| plan.untag.iter().for_each(|r| drop(refs.remove(r))))?;
        }
        let mut out: Vec<RemoveEntry> = plan.untag.iter().map(|r| RemoveEntry::Untagged(familiar(r))).collect();
        let mut detached = Vec::new();
        if plan.delete {
            self.drop_record(st, id, plan.retain)?;
            out.push(RemoveEntry::Deleted(id.clone()));
            let (report, d) = self.gc_locked(st)?;
            out.extend(report.layers.into_iter().map(RemoveEntry::Deleted));
            detached = d;
        }
        Ok((out, detached))
    }

    /// `docker image prune [-a]`: deletes dangling (untagged) images, or with `all` every
    /// image, that no container uses, then their unused layers. Also forgets retained images
    /// no container uses any more.
    pub fn prune(
        &self,
        all: bool,
        in_use: &dyn Fn(&Digest) -> Option<ContainerUse>,
    ) -> Result<PruneReport, ImageError> {
        let mut report = PruneReport::default();
        let detached = {
            let mut st = self.lock();
            let candidates: Vec<Digest> = st
                .images
                .values()
                .filter(|r| in_use(&r.id).is_none() && (r.retained || all || st.refs_of(&r.id).is_empty()))
                .map(|r| r.id.clone())
                .collect();
            // Untag first: a failure after that leaves untagged images, never tags of deleted ones.
            let candidates: Vec<(Digest, Vec<Reference>)> = candidates
                .into_iter()
                .map(|id| {
                    let refs = st.refs_of(&id);
                    (id, refs)
                })
                .collect();
            if candidates.iter().any(|(_, refs)| !refs.is_empty()) {
                self.update_refs(&mut st, |all| {
                    candidates.iter().flat_map(|(_, refs)| refs).for_each(|r| drop(all.remove(r)));
                })?;
            }
            for (id, refs) in candidates {
                let retained = st.images.get(&id).is_some_and(|r| r.retained);
                report.entries.extend(refs.iter().map(|r| RemoveEntry::Untagged(familiar(r))));
                self.drop_record(&mut st, &id, false)?;
                if !retained {
                    report.entries.push(RemoveEntry::Deleted(id));
                }
            }
            let (gc, detached) = self.gc_locked(&st)?;
            report.space_reclaimed = gc.reclaimed;
            report.entries.extend(gc.layers.into_iter().map(RemoveEntry::Deleted));
            detached
        };
        self.purge(&detached)?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    fn id() -> Digest {
        Digest::of(b"image")
    }

    fn used(running: bool) -> ContainerUse {
        ContainerUse { container_id: "c0ffee0123456789".into(), running }
    }

    fn by_ref(name: &str) -> Resolved {
        Resolved::Ref(r(name), id())
    }

    #[test]
    fn untag_one_of_several_tags() {
        let refs = [r("busybox:latest"), r("busybox:1")];
        let plan = plan_remove("busybox", &by_ref("busybox"), &refs, None, false).unwrap();
        assert_eq!(plan, RemovePlan { untag: vec![r("busybox:latest")], delete: false, retain: false });
    }

    #[test]
    fn last_tag_deletes_and_drops_digest_refs() {
        let d = format!("busybox@{}", Digest::of(b"m"));
        let refs = [r("busybox:latest"), r(&d)];
        let plan = plan_remove("busybox:latest", &by_ref("busybox:latest"), &refs, None, false).unwrap();
        assert_eq!(plan, RemovePlan { untag: vec![r("busybox:latest"), r(&d)], delete: true, retain: false });
    }

    #[test]
    fn last_reference_in_use_needs_force() {
        let refs = [r("busybox:latest")];
        let err = plan_remove("busybox", &by_ref("busybox"), &refs, Some(&used(false)), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                r#"conflict: unable to remove repository reference "busybox" (must force) - container c0ffee012345 is using its referenced image {}"#,
                id().short()
            )
        );
        // Forced: untagged; the image stays (dangling) for the running container…
        let plan = plan_remove("busybox", &by_ref("busybox"), &refs, Some(&used(true)), true).unwrap();
        assert_eq!(plan, RemovePlan { untag: vec![r("busybox:latest")], delete: false, retain: false });
        // …and is deleted but retained for a stopped one.
        let plan = plan_remove("busybox", &by_ref("busybox"), &refs, Some(&used(false)), true).unwrap();
        assert!(plan.delete && plan.retain);
    }

    #[test]
    fn by_id_rules() {
        let name = id().hex()[..8].to_owned();
        let by_id = Resolved::Id(id());
        let one = [r("busybox:latest")];
        let plan = plan_remove(&name, &by_id, &one, None, false).unwrap();
        assert_eq!(plan, RemovePlan { untag: one.to_vec(), delete: true, retain: false });
        let two = [r("busybox:latest"), r("other:1")];
        let err = plan_remove(&name, &by_id, &two, None, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                id().short()
            )
        );
        let plan = plan_remove(&name, &by_id, &two, None, true).unwrap();
        assert_eq!(plan, RemovePlan { untag: two.to_vec(), delete: true, retain: false });
        let err = plan_remove(&name, &by_id, &one, Some(&used(false)), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "conflict: unable to delete {} (must be forced) - image is being used by stopped container c0ffee012345",
                id().short()
            )
        );
        let err = plan_remove(&name, &by_id, &one, Some(&used(true)), true).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "conflict: unable to delete {} (cannot be forced) - image is being used by running container c0ffee012345",
                id().short()
            )
        );
        let plan = plan_remove(&name, &by_id, &[], Some(&used(false)), true).unwrap();
        assert!(plan.delete && plan.retain);
    }

    #[test]
    fn single_reference() {
        let d = format!("busybox@{}", Digest::of(b"m"));
        assert!(!is_single_reference(&[]));
        assert!(is_single_reference(&[r("a:1")]));
        assert!(is_single_reference(&[r("busybox:1"), r(&d)]));
        assert!(!is_single_reference(&[r("busybox:1"), r("busybox:2")]));
        assert!(!is_single_reference(&[r("other:1"), r(&d)]));
    }
}
