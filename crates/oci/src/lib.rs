//! Image specification data shared by every berth crate. Pure data, no I/O.
//!
//! - [`Digest`]: a content address (`sha256:<64 hex>`), parsed and verified.
//! - [`Reference`]: an image reference as users type it (`busybox`, `localhost:5000/app:1`,
//!   `repo@sha256:…`), normalised the way Docker does (`docker.io/library/busybox:latest`)
//!   and printed back in Docker's short ("familiar") form.
//! - [`media`]: the media types of the OCI and Docker image formats.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod digest;
pub mod media;
mod reference;

pub use digest::{Digest, DigestError, Sha256Writer};
pub use reference::{Reference, ReferenceError};
