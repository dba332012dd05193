//! The local image store: images loaded from archives (`docker load`), imported from root
//! filesystem tars (`docker import`), saved back (`docker save`), tagged, listed, removed and
//! garbage collected. Registries come later; they will feed the same store.
//!
//! Main types:
//! - [`ImageStore`]: the store, opened on a root directory. Thread-safe (`Send + Sync`); its
//!   methods are synchronous and meant to be called from `spawn_blocking`.
//! - [`Image`], [`ImageSummary`], [`HistoryEntry`]: what `inspect`, `images` and `history` show.
//! - [`ImageConfig`]: the Docker image configuration (`config.json` of an image).
//! - [`ImportOptions`] and [`apply_changes`]: `docker import` and its Dockerfile-like `--change` lines.
//! - [`changes()`]: a container's filesystem changes from its overlayfs upper dir (`docker diff`).
//! - [`collisions()`]: what a container changed that an image update changed too (`berth upgrade`).
//! - [`CommitOptions`] and [`ImageStore::commit_container`]: `docker commit`, an upper dir packed
//!   by [`pack_layer`] (overlayfs whiteouts in OCI form) as a new layer on the container's image.
//! - [`pack_dir`], [`pack_path`], [`unpack_into`]: tar streams of a directory tree (`export`,
//!   `cp` out of a container) and a scoped, symlink-safe unpack into a container (`cp` in);
//!   with an [`OwnerMap`] for containers in a user namespace.
//! - [`ImageError`] with [`ImageError::kind`]; [`UnpackError`] (unsafe or corrupt tars),
//!   [`LayerError`] and [`ContentError`] inside it.
//!
//! On-disk layout (all under the store root; every file is replaced atomically by writing a
//! `.tmp-*` sibling, fsyncing and renaming; `.tmp-*` leftovers are removed by [`ImageStore::open`]):
//!
//! ```text
//! blobs/sha256/<hex>          content-addressed blobs: configs, manifests, layer tars as received
//! layers/<chain-id hex>/diff  one unpacked layer, shared by every image that has it
//! layers/<chain-id hex>/layer.json   {"diff_id", "parent", "size"}
//! images/<image-id hex>.json  image record: manifest digest, layers, size (written last)
//! repositories.json           references: {"refs": {"docker.io/library/busybox:latest": "sha256:…"}}
//! ```
//!
//! The formats of `layer.json`, the image records and `repositories.json` are documented in
//! `store.rs` and `layer.rs` next to their serde types; all carry `"version": 1`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod archive;
mod change;
mod changes;
mod collide;
mod commit;
mod compress;
mod config;
mod content;
mod durable;
mod error;
mod import;
mod layer;
mod load;
mod owners;
mod pack;
mod remove;
mod safepath;
mod save;
mod store;
mod targuard;
mod tarmeta;
#[cfg(test)]
mod testtar;
mod unpack;

pub use change::{ChangeError, apply_changes};
pub use changes::{Change, ChangeKind, ChangesError, changes};
pub use collide::{CollideError, collisions};
pub use commit::CommitOptions;
pub use config::{ContainerConfig, Empty, HealthConfig, History, ImageConfig, RootFs};
pub use content::ContentError;
pub use error::{ErrorKind, ImageError};
pub use import::ImportOptions;
pub use layer::LayerError;
pub use load::LoadedImage;
pub use owners::OwnerMap;
pub use pack::{PackError, pack_at, pack_dir, pack_dir_mapped, pack_layer, pack_path, pack_path_mapped};
pub use remove::{ContainerUse, PruneReport, RemoveEntry};
pub use safepath::UnsafeReason;
pub use store::{GcReport, HistoryEntry, Image, ImageStore, ImageSummary};
pub use unpack::{UnpackError, UnpackOptions, UnpackStats, unpack_into};

/// Entry points for the fuzz targets in `/fuzz` (feature `fuzzing`); not an API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use std::io::Read;
    use std::path::Path;

    /// Unpacks a layer tar into the empty directory `dir` (whiteouts to overlayfs form), as the
    /// layer store does.
    pub fn unpack_layer(dir: &Path, r: impl Read) -> Result<crate::UnpackStats, crate::UnpackError> {
        crate::unpack::unpack_layer(dir, r)
    }
}
