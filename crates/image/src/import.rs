//! `docker import`: a root filesystem tar (plain, gzip or zstd; possibly a non-seekable
//! stream) becomes a one-layer image.
//!
//! One pass: the decompressed stream is copied into the layer blob (the blob is the
//! uncompressed tar, as Docker stores it, so its digest is the diff ID and is computed once)
//! while the tar parser unpacks it into a staged layer directory.

use std::io::Read;

use chrono::{SecondsFormat, Utc};
use oci::{Digest, Reference};

use crate::archive::{Descriptor, Manifest};
use crate::change::apply_changes;
use crate::compress;
use crate::config::{ContainerConfig, History, ImageConfig, RootFs};
use crate::error::ImageError;
use crate::layer::{LayerMeta, Unpacked};
use crate::store::{ImageStore, Lease, Record, RecordLayer, parse_tag_target};

/// Options of [`ImageStore::import`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `repo[:tag]` to tag the image with (`latest` if no tag).
    pub reference: Option<String>,
    /// The commit message (config `comment` and history comment).
    pub message: Option<String>,
    /// Dockerfile-like `--change` lines.
    pub changes: Vec<String>,
    /// Where the tar came from, for the history (`Imported from -` for stdin, the default).
    pub source: Option<String>,
}

impl ImageStore {
    /// Puts an unpacked layer in place as `chain_id` (its parent's chain ID in `parent`), unless
    /// the store has that layer already; returns the layer's size.
    pub(crate) fn place_layer(
        &self,
        unpacked: Unpacked,
        chain_id: &Digest,
        parent: Option<Digest>,
    ) -> Result<u64, ImageError> {
        if let Some(existing) = self.layers.meta(chain_id)? {
            return Ok(existing.size);
        }
        let meta = LayerMeta {
            version: 1,
            chain_id: chain_id.clone(),
            diff_id: unpacked.diff_id.clone(),
            parent,
            size: unpacked.size,
        };
        unpacked.staged.commit(&meta)?;
        Ok(meta.size)
    }

    /// Imports a root filesystem tar as a one-layer image and returns its ID. The reference
    /// and changes are checked before the stream is read.
    ///
    /// Memory stays bounded: the tar streams to disk (entries the `tar` crate would buffer are
    /// bounded by the tar guard), and a refused import leaves no blob or layer behind.
    pub fn import(&self, r: impl Read, opts: &ImportOptions) -> Result<Digest, ImageError> {
        let tag = opts.reference.as_deref().map(parse_tag_target).transpose()?;
        let mut container = ContainerConfig::default();
        apply_changes(&mut container, &opts.changes)?;
        let mut lease = self.lease();
        let id = self.import_leased(r, opts, container, tag, &mut lease);
        let cleaned = self.release(lease);
        let id = id?;
        cleaned?;
        Ok(id)
    }

    fn import_leased(
        &self,
        r: impl Read,
        opts: &ImportOptions,
        container: ContainerConfig,
        tag: Option<Reference>,
        lease: &mut Lease<'_>,
    ) -> Result<Digest, ImageError> {
        let (_, input) = compress::decompress(r).map_err(ImageError::Input)?;
        let staged = self.layers.stage()?;
        let unpacked = staged.unpack(input, Some((self.content.writer()?, None)), &mut |d| lease.hold(d))?;
        let (blob, blob_size) = unpacked.blob.clone().expect("import always writes the layer blob");
        let diff_id = unpacked.diff_id.clone();
        // Single layer: the chain ID is the diff ID, already leased as the blob digest.
        let size = self.place_layer(unpacked, &diff_id, None)?;

        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
        let config = ImageConfig {
            created: Some(now.clone()),
            architecture: "amd64".into(),
            os: "linux".into(),
            comment: opts.message.clone().filter(|m| !m.is_empty()),
            config: Some(container),
            rootfs: RootFs { kind: "layers".into(), diff_ids: vec![diff_id.clone()] },
            history: vec![History {
                created: Some(now.clone()),
                created_by: Some(format!("Imported from {}", opts.source.as_deref().unwrap_or("-"))),
                comment: opts.message.clone().filter(|m| !m.is_empty()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let config_bytes = serde_json::to_vec(&config).expect("image configs serialise");
        let id = Digest::of(&config_bytes);
        lease.hold(&id);
        self.content.put(&config_bytes)?;
        let layer_desc = Descriptor::new(oci::media::OCI_LAYER_TAR, blob, blob_size);
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(oci::media::OCI_MANIFEST.into()),
            config: Descriptor::new(oci::media::OCI_CONFIG, id.clone(), config_bytes.len() as u64),
            layers: vec![layer_desc.clone()],
        };
        let manifest_bytes = serde_json::to_vec(&manifest).expect("manifests serialise");
        let manifest_digest = Digest::of(&manifest_bytes);
        lease.hold(&manifest_digest);
        self.content.put(&manifest_bytes)?;

        let record = Record {
            version: 1,
            id: id.clone(),
            manifest: manifest_digest,
            layers: vec![RecordLayer { chain_id: diff_id.clone(), diff_id, blob: layer_desc, size }],
            size,
            recorded: now,
            retained: false,
            config,
        };
        self.commit(record, tag.as_slice())?;
        tracing::debug!(image = %id, "imported image");
        Ok(id)
    }
}
