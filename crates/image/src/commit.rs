//! `docker commit`: a container's writable layer (an overlayfs upper dir) on top of its image
//! becomes a new image.
//!
//! The upper dir is packed as an OCI layer tar ([`crate::pack_layer`]: whiteouts in `.wh.`
//! form) by a thread writing into a pipe, and the other end goes through the same single pass
//! as an import: the uncompressed tar is stored as the layer blob (its digest is the diff ID)
//! while it is unpacked into a staged layer directory. So a committed layer is stored,
//! addressed and unpacked exactly like a loaded one; nothing reads the upper dir twice.

use std::path::Path;

use chrono::{SecondsFormat, Utc};
use oci::Digest;

use crate::archive::{Descriptor, Manifest};
use crate::change::apply_changes;
use crate::config::{ContainerConfig, History, ImageConfig};
use crate::error::ImageError;
use crate::layer::chain_id;
use crate::pack::pack_layer_with;
use crate::store::{ImageStore, Record, RecordLayer, parse_tag_target};

/// Options of [`ImageStore::commit_container`].
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// `repo[:tag]` to tag the image with (`latest` if no tag).
    pub reference: Option<String>,
    /// The commit message (config `comment` and history comment).
    pub comment: Option<String>,
    /// The author (config `author` and history author).
    pub author: Option<String>,
    /// Dockerfile-like `--change` lines, applied to `config`.
    pub changes: Vec<String>,
    /// The new image's container configuration before the changes (the container's own).
    pub config: ContainerConfig,
    /// The history entry's `created_by` (the container's command, as Docker writes it).
    pub created_by: String,
    /// The upper dir's owners become these ids in the layer (a container in a user namespace:
    /// its host ids to the ids it sees).
    pub owners: Option<crate::OwnerMap>,
}

impl ImageStore {
    /// Makes a new image of `parent` (an image ID; retained images too) plus one layer packed
    /// from `upper`, with `opts.config` (and the parent's health check unless it has one)
    /// changed by `opts.changes`. The reference and changes are checked before anything is
    /// written. Returns the new image's ID.
    pub fn commit_container(&self, parent: &Digest, upper: &Path, opts: &CommitOptions) -> Result<Digest, ImageError> {
        let tag = opts.reference.as_deref().map(parse_tag_target).transpose()?;
        let base = {
            let st = self.lock();
            st.images.get(parent).cloned().ok_or_else(|| ImageError::NotFound(parent.to_string()))?
        };
        let mut container = opts.config.clone();
        // A container's config carries its image's health check in Docker; here the engine
        // keeps none, so the parent's is carried over (a HEALTHCHECK change still wins).
        if container.healthcheck.is_none() {
            container.healthcheck = base.config.config.as_ref().and_then(|c| c.healthcheck.clone());
        }
        apply_changes(&mut container, &opts.changes)?;

        let mut lease = self.lease();
        for l in &base.layers {
            lease.hold(&l.chain_id);
        }
        let staged = self.layers.stage()?;
        let writer = self.content.writer()?;
        let (reader, pipe) = std::io::pipe().map_err(ImageError::io("create a pipe for", upper))?;
        let (unpacked, packed) = std::thread::scope(|s| {
            let owners = opts.owners.as_ref();
            let packer = s.spawn(move || pack_layer_with(upper, owners, pipe));
            let unpacked = staged.unpack(reader, Some((writer, None)), &mut |d| lease.hold(d));
            (unpacked, packer.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        });
        // A packing error ends the stream early (which may even look like a complete tar), and
        // an unpacking error closes the pipe under the packer: report the real cause.
        let unpacked = match (unpacked, packed) {
            (Ok(u), Ok(())) => u,
            (Err(e), Err(p)) if p.is_broken_pipe() => return Err(e.into()),
            (_, Err(p)) => return Err(p.into()),
            (Err(e), Ok(())) => return Err(e.into()),
        };
        let (blob, blob_size) = unpacked.blob.clone().expect("commit always writes the layer blob");
        let diff_id = unpacked.diff_id.clone();
        let parent_chain = base.layers.last().map(|l| l.chain_id.clone());
        let chain = chain_id(parent_chain.as_ref(), &diff_id);
        lease.hold(&chain);
        let size = self.place_layer(unpacked, &chain, parent_chain)?;

        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
        let comment = opts.comment.clone().filter(|m| !m.is_empty());
        let author = opts.author.clone().filter(|a| !a.is_empty());
        let mut config = ImageConfig {
            created: Some(now.clone()),
            author: author.clone(),
            comment: comment.clone(),
            config: Some(container),
            ..base.config.clone()
        };
        config.rootfs.diff_ids.push(diff_id.clone());
        config.history.push(History {
            created: Some(now.clone()),
            author,
            created_by: Some(opts.created_by.clone()),
            comment,
            empty_layer: false,
        });
        let config_bytes = serde_json::to_vec(&config).expect("image configs serialise");
        let id = Digest::of(&config_bytes);
        lease.hold(&id);
        self.content.put(&config_bytes)?;
        let layer_desc = Descriptor::new(oci::media::OCI_LAYER_TAR, blob, blob_size);
        let mut layers: Vec<RecordLayer> = base.layers.clone();
        layers.push(RecordLayer { chain_id: chain, diff_id, blob: layer_desc, size });
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(oci::media::OCI_MANIFEST.into()),
            config: Descriptor::new(oci::media::OCI_CONFIG, id.clone(), config_bytes.len() as u64),
            layers: layers.iter().map(|l| l.blob.clone()).collect(),
        };
        let manifest_bytes = serde_json::to_vec(&manifest).expect("manifests serialise");
        let manifest_digest = Digest::of(&manifest_bytes);
        lease.hold(&manifest_digest);
        self.content.put(&manifest_bytes)?;

        let record = Record {
            version: 1,
            id: id.clone(),
            manifest: manifest_digest,
            size: layers.iter().map(|l| l.size).sum(),
            layers,
            recorded: now,
            retained: false,
            config,
        };
        self.commit(record, tag.as_slice())?;
        drop(lease);
        tracing::debug!(image = %id, parent = %parent, "committed image");
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use std::path::PathBuf;

    use rustix::fs::{self as rfs, FileType, Mode, XattrFlags};

    use super::*;
    use crate::import::ImportOptions;
    use crate::pack::pack_layer;
    use crate::testtar::{Entry, tar_of};

    /// An overlayfs upper dir as a container leaves it: a new file owned by 12:34 with a user
    /// xattr, a hard link to it, a symlink, a whiteout (deleted `/etc/gone`) and an opaque
    /// directory (`/opt` emptied and refilled).
    fn upper(dir: &Path) -> PathBuf {
        let u = dir.join("upper");
        fs::create_dir_all(u.join("etc")).unwrap();
        fs::create_dir_all(u.join("opt")).unwrap();
        fs::write(u.join("etc/new"), b"new").unwrap();
        rfs::chown(u.join("etc/new").as_path(), Some(rfs::Uid::from_raw(12)), Some(rfs::Gid::from_raw(34))).unwrap();
        rfs::setxattr(u.join("etc/new").as_path(), "user.note", b"kept", XattrFlags::empty()).unwrap();
        fs::hard_link(u.join("etc/new"), u.join("etc/new.link")).unwrap();
        std::os::unix::fs::symlink("/etc/new", u.join("sym")).unwrap();
        rfs::mknodat(rfs::CWD, u.join("etc/gone").as_path(), FileType::CharacterDevice, Mode::empty(), 0).unwrap();
        rfs::setxattr(u.join("opt").as_path(), "trusted.overlay.opaque", b"y", XattrFlags::empty()).unwrap();
        rfs::setxattr(u.join("etc").as_path(), "trusted.overlay.origin", b"x", XattrFlags::empty()).unwrap();
        fs::write(u.join("opt/fresh"), b"fresh").unwrap();
        u
    }

    #[test]
    fn layer_tar_has_oci_whiteouts_and_no_overlay_xattrs() {
        let dir = tempfile::tempdir().unwrap();
        let u = upper(dir.path());
        let mut tar = Vec::new();
        pack_layer(&u, &mut tar).unwrap();
        let mut seen = Vec::new();
        for e in tar::Archive::new(&tar[..]).entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().display().to_string();
            let keys: Vec<String> = e
                .pax_extensions()
                .unwrap()
                .into_iter()
                .flatten()
                .map(|x| x.unwrap().key().unwrap().to_owned())
                .filter(|k| k.starts_with("SCHILY.xattr."))
                .collect();
            let kind = match e.header().entry_type() {
                tar::EntryType::Regular => "f",
                tar::EntryType::Directory => "d",
                tar::EntryType::Link => "h",
                tar::EntryType::Symlink => "l",
                _ => "?",
            };
            seen.push(format!("{kind} {path} {}", keys.join(",")).trim_end().to_owned());
        }
        assert_eq!(
            seen,
            [
                "d etc/",
                "f etc/.wh.gone",
                "f etc/new SCHILY.xattr.user.note",
                "h etc/new.link",
                "d opt/",
                "f opt/.wh..wh..opq",
                "f opt/fresh",
                "l sym",
            ]
        );
    }

    #[test]
    fn commit_adds_one_layer_in_overlay_form() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(&dir.path().join("store")).unwrap();
        let base_tar = tar_of(&[
            Entry::dir("etc"),
            Entry::file("etc/gone", b"old"),
            Entry::dir("opt"),
            Entry::file("opt/hidden", b"h"),
        ]);
        let base = store
            .import(
                &base_tar[..],
                &ImportOptions {
                    changes: vec!["CMD [\"sh\"]".into(), "HEALTHCHECK CMD true".into()],
                    ..Default::default()
                },
            )
            .unwrap();
        let u = upper(dir.path());
        let opts = CommitOptions {
            reference: Some("committed:v1".into()),
            comment: Some("a message".into()),
            author: Some("me".into()),
            changes: vec!["ENV A=b".into()],
            config: ContainerConfig { cmd: Some(vec!["sh".into()]), ..Default::default() },
            created_by: "sh".into(),
            ..Default::default()
        };
        let id = store.commit_container(&base, &u, &opts).unwrap();
        let img = store.resolve("committed:v1").unwrap();
        assert_eq!(img.id, id);
        assert_eq!(img.config.rootfs.diff_ids.len(), 2);
        assert_eq!(img.config.author.as_deref(), Some("me"));
        assert_eq!(img.config.comment.as_deref(), Some("a message"));
        let cfg = img.config.config.as_ref().unwrap();
        assert_eq!(cfg.cmd, Some(vec!["sh".to_owned()]));
        assert_eq!(cfg.env, Some(vec!["A=b".to_owned()]));
        assert_eq!(cfg.healthcheck.as_ref().map(|h| h.test.clone()), Some(vec!["CMD-SHELL".into(), "true".into()]));
        let hist = store.history("committed:v1").unwrap();
        assert_eq!((hist[0].created_by.as_str(), hist[0].comment.as_str()), ("sh", "a message"));

        let layers = store.layers(&id).unwrap();
        assert_eq!(layers.len(), 2);
        let top = &layers[1];
        let gone = fs::symlink_metadata(top.join("etc/gone")).unwrap();
        assert_eq!((gone.file_type().is_char_device_like(), gone.rdev()), (true, 0));
        let mut buf = [0u8; 4];
        let n = rfs::getxattr(top.join("opt").as_path(), "trusted.overlay.opaque", &mut buf[..]).unwrap();
        assert_eq!(&buf[..n], b"y");
        assert!(rfs::getxattr(top.join("etc").as_path(), "trusted.overlay.origin", &mut buf[..]).is_err());
        let new = fs::metadata(top.join("etc/new")).unwrap();
        assert_eq!((new.uid(), new.gid(), new.nlink()), (12, 34, 2));
        let n = rfs::getxattr(top.join("etc/new").as_path(), "user.note", &mut buf[..]).unwrap();
        assert_eq!(&buf[..n], b"kept");
        assert_eq!(fs::read_link(top.join("sym")).unwrap(), Path::new("/etc/new"));
        assert_eq!(fs::read(top.join("opt/fresh")).unwrap(), b"fresh");

        // Bad input is refused before anything is written.
        let bad = CommitOptions { changes: vec!["FROM x".into()], ..opts.clone() };
        assert!(matches!(store.commit_container(&base, &u, &bad), Err(ImageError::Change(_))));
        let bad = CommitOptions { reference: Some("Bad:Ref".into()), ..opts };
        assert!(matches!(store.commit_container(&base, &u, &bad), Err(ImageError::Reference(_))));
        assert_eq!(store.list().len(), 2);
    }

    trait CharDev {
        fn is_char_device_like(&self) -> bool;
    }

    impl CharDev for fs::FileType {
        fn is_char_device_like(&self) -> bool {
            std::os::unix::fs::FileTypeExt::is_char_device(self)
        }
    }
}
