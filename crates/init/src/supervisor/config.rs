//! supervisord's configuration, read the way supervisord reads it.
//!
//! This commit adds the Python pieces supervisord's parser is made of; the typed loader follows.

// Used by the loader in the next commit.
#[allow(dead_code)]
mod format;
#[allow(dead_code)]
mod glob;
#[allow(dead_code)]
mod ini;
#[allow(dead_code)]
mod shlex;

pub use shlex::{SplitError, split_command};
