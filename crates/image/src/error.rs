//! The error type of the store's operations and its coarse [`ErrorKind`] for the API layer.

use std::io;
use std::path::PathBuf;

use oci::Digest;

use crate::change::ChangeError;
use crate::content::ContentError;
use crate::layer::LayerError;
use crate::pack::PackError;
use crate::unpack::UnpackError;

/// What kind of failure an [`ImageError`] is; the API maps it to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No such image (404).
    NotFound,
    /// The operation conflicts with the current state, e.g. an image in use (409).
    Conflict,
    /// Bad input: a malformed reference, change line or archive (400).
    InvalidArgument,
    /// Our fault or the host's: I/O errors, corrupt store files (500).
    Internal,
}

/// Why an image operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Docker's wording: `No such image: busybox:latest`.
    #[error("No such image: {0}")]
    NotFound(String),
    /// A malformed image reference.
    #[error(transparent)]
    Reference(#[from] oci::ReferenceError),
    /// A malformed `--change` line.
    #[error(transparent)]
    Change(#[from] ChangeError),
    /// `docker tag x repo@sha256:…`.
    #[error("refusing to create a tag with a digest reference")]
    TagWithDigest,
    /// `docker tag x sha256:abc`.
    #[error("refusing to create an ambiguous tag using digest algorithm as name")]
    TagAmbiguous,
    /// A repository name that looks like an image ID.
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexRepository(String),
    /// Docker's image delete conflict.
    #[error("conflict: unable to delete {image} ({}) - {reason}", if *.hard { "cannot be forced" } else { "must be forced" })]
    DeleteConflict {
        /// Short image ID.
        image: String,
        /// Whether `force` cannot override it (a running container).
        hard: bool,
        /// Docker's reason text.
        reason: String,
    },
    /// Removing the last reference of an image a container uses.
    #[error(
        "conflict: unable to remove repository reference {reference:?} (must force) - container {container} is using its referenced image {image}"
    )]
    ReferenceInUse {
        /// The reference as the user gave it.
        reference: String,
        /// Short container ID.
        container: String,
        /// Short image ID.
        image: String,
    },
    /// A layer could not be unpacked or stored.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// A blob could not be stored or read.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// Reading the client's stream failed.
    #[error("failed to read input stream")]
    Input(#[source] io::Error),
    /// Writing the output stream failed.
    #[error("failed to write output stream")]
    Output(#[source] io::Error),
    /// The archive is not a valid tar or ends early.
    #[error("invalid or truncated archive")]
    CorruptArchive(#[source] io::Error),
    /// The archive has no `manifest.json` and no `index.json`.
    #[error("invalid archive: neither manifest.json nor index.json found")]
    NoManifest,
    /// A file the archive's manifest names is missing.
    #[error("invalid archive: file {0:?} not found")]
    MissingFile(String),
    /// A non-layer entry larger than image metadata can be.
    #[error(
        "invalid archive: {entry:?} is {size} bytes and not a layer: image metadata (manifests, indexes, configs) is at most {} MiB",
        .limit >> 20
    )]
    NotMetadata {
        /// The archive path.
        entry: String,
        /// Its size.
        size: u64,
        /// [`crate::load::MAX_DOCUMENT`].
        limit: u64,
    },
    /// The archive's table of contents (entry names, metadata files) outgrows what a load keeps
    /// in memory.
    #[error(
        "invalid archive: more entries and metadata than an image archive has (over {} MiB at {entry:?})",
        .limit >> 20
    )]
    ArchiveTooLarge {
        /// The entry that crossed the limit.
        entry: String,
        /// [`crate::load::MAX_CONTENTS`].
        limit: u64,
    },
    /// A JSON file of the archive does not parse.
    #[error("invalid archive: cannot parse {file}")]
    ArchiveJson {
        /// The file (path or digest).
        file: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A manifest of a media type we cannot load.
    #[error("invalid archive: unsupported manifest media type {0:?}")]
    MediaType(String),
    /// An index without a linux/amd64 manifest.
    #[error("no matching manifest for linux/amd64 in the manifest list entries")]
    NoPlatform,
    /// Config and manifest disagree on the number of layers.
    #[error("invalid archive: config {config} lists {expected} layers but {actual} were given")]
    LayerCount {
        /// The config digest.
        config: Digest,
        /// Layers in the config.
        expected: usize,
        /// Layers in the manifest.
        actual: usize,
    },
    /// A layer's uncompressed digest differs from the config's diff ID.
    #[error("layer {layer}: diff id mismatch: expected {expected}, got {actual}")]
    DiffIdMismatch {
        /// The layer (blob path or digest).
        layer: String,
        /// From the config.
        expected: Digest,
        /// Computed.
        actual: Digest,
    },
    /// A filesystem operation of the store failed.
    #[error("failed to {op} {path}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A container's writable layer could not be packed (`commit`).
    #[error(transparent)]
    Pack(#[from] PackError),
    /// A store file (image record, references) that does not parse.
    #[error("corrupt store file {path}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

impl ImageError {
    /// The coarse kind, for mapping to API status codes. Never match on message text.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::DeleteConflict { .. } | Self::ReferenceInUse { .. } => ErrorKind::Conflict,
            Self::Reference(_)
            | Self::Change(_)
            | Self::TagWithDigest
            | Self::TagAmbiguous
            | Self::HexRepository(_)
            | Self::Input(_)
            | Self::CorruptArchive(_)
            | Self::NoManifest
            | Self::MissingFile(_)
            | Self::NotMetadata { .. }
            | Self::ArchiveTooLarge { .. }
            | Self::ArchiveJson { .. }
            | Self::MediaType(_)
            | Self::NoPlatform
            | Self::LayerCount { .. }
            | Self::DiffIdMismatch { .. } => ErrorKind::InvalidArgument,
            Self::Layer(LayerError::Unpack(UnpackError::Io { .. })) => ErrorKind::Internal,
            Self::Layer(
                LayerError::Unpack(_) | LayerError::Read(_) | LayerError::Content(ContentError::DigestMismatch { .. }),
            ) => ErrorKind::InvalidArgument,
            Self::Content(ContentError::DigestMismatch { .. }) => ErrorKind::InvalidArgument,
            Self::Layer(_)
            | Self::Content(_)
            | Self::Output(_)
            | Self::Io { .. }
            | Self::Corrupt { .. }
            | Self::Pack(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_kinds() {
        let e = ImageError::NotFound("busybox:latest".into());
        assert_eq!(e.to_string(), "No such image: busybox:latest");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = ImageError::DeleteConflict {
            image: "0123456789ab".into(),
            hard: false,
            reason: "image is being used by stopped container abc".into(),
        };
        assert_eq!(
            e.to_string(),
            "conflict: unable to delete 0123456789ab (must be forced) - image is being used by stopped container abc"
        );
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let e = ImageError::ReferenceInUse { reference: "busybox".into(), container: "c1".into(), image: "i1".into() };
        assert_eq!(
            e.to_string(),
            r#"conflict: unable to remove repository reference "busybox" (must force) - container c1 is using its referenced image i1"#
        );
    }
}
