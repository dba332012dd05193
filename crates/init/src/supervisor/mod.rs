//! berth's built-in supervisor: runs the programs of a supervisord configuration found in the
//! image, so images built for supervisord run without Python.
//!
//! - [`config`]: finds and parses supervisord's configuration into typed programs (no process
//!   handling).

pub mod config;
