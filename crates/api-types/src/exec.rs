//! Exec endpoints: `POST /containers/{id}/exec`, `POST /exec/{id}/start`, `GET /exec/{id}/json`.

use serde::{Deserialize, Serialize};

use crate::gojson::{null_default, str_slice};

/// The body of `POST /containers/{id}/exec` (spec `ExecConfig`, Go `ExecOptions`).
///
/// The response is an [`IdResponse`](crate::IdResponse).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ExecConfig {
    /// `user[:group]` to run as; empty means the container's user.
    #[serde(deserialize_with = "null_default")]
    pub user: String,
    /// Run with extended privileges.
    #[serde(deserialize_with = "null_default")]
    pub privileged: bool,
    /// Allocate a pseudo-TTY.
    #[serde(deserialize_with = "null_default")]
    pub tty: bool,
    /// Initial console size `[height, width]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u64; 2]>,
    /// Attach stdin.
    #[serde(deserialize_with = "null_default")]
    pub attach_stdin: bool,
    /// Attach stderr.
    #[serde(deserialize_with = "null_default")]
    pub attach_stderr: bool,
    /// Attach stdout.
    #[serde(deserialize_with = "null_default")]
    pub attach_stdout: bool,
    /// Detach key sequence override, e.g. `ctrl-p,ctrl-q`.
    #[serde(deserialize_with = "null_default")]
    pub detach_keys: String,
    /// Extra environment, `VAR=value`.
    pub env: Option<Vec<String>>,
    /// Working directory; empty means the container's.
    #[serde(deserialize_with = "null_default")]
    pub working_dir: String,
    /// Command and arguments. A string is accepted as a one-element command.
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    /// Sent by the Go client; the daemon ignores it (detaching is decided at start).
    #[serde(deserialize_with = "null_default")]
    pub detach: bool,
}

/// The body of `POST /exec/{id}/start` (spec `ExecStartConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ExecStartConfig {
    /// Start detached; the response is empty instead of a stream.
    #[serde(deserialize_with = "null_default")]
    pub detach: bool,
    /// Allocate a pseudo-TTY.
    #[serde(deserialize_with = "null_default")]
    pub tty: bool,
    /// Initial console size `[height, width]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u64; 2]>,
}

/// The response of `GET /exec/{id}/json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ExecInspectResponse {
    /// Exec instance ID.
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    /// Whether the process is running.
    #[serde(deserialize_with = "null_default")]
    pub running: bool,
    /// Exit code; `null` until the process has exited.
    pub exit_code: Option<i64>,
    /// The process that runs.
    pub process_config: Option<ProcessConfig>,
    /// stdin is attached.
    #[serde(deserialize_with = "null_default")]
    pub open_stdin: bool,
    /// stderr is attached.
    #[serde(deserialize_with = "null_default")]
    pub open_stderr: bool,
    /// stdout is attached.
    #[serde(deserialize_with = "null_default")]
    pub open_stdout: bool,
    /// Whether the exec can be removed.
    #[serde(deserialize_with = "null_default")]
    pub can_remove: bool,
    /// Container ID.
    #[serde(rename = "ContainerID", deserialize_with = "null_default")]
    pub container_id: String,
    /// Detach key bytes. dockerd encodes them as base64 (Go `[]byte`), e.g. `"EBE="` for
    /// ctrl-p,ctrl-q, and sends `null` when unset.
    pub detach_keys: Option<String>,
    /// Host PID of the process; 0 before start.
    #[serde(deserialize_with = "null_default")]
    pub pid: i64,
}

/// `ExecInspectResponse.ProcessConfig` (spec `ProcessConfig`); field names are lower case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "lowercase")]
pub struct ProcessConfig {
    /// Whether a TTY is allocated.
    #[serde(deserialize_with = "null_default")]
    pub tty: bool,
    /// The program (first element of `Cmd`).
    #[serde(deserialize_with = "null_default")]
    pub entrypoint: String,
    /// The remaining arguments.
    #[serde(deserialize_with = "null_default")]
    pub arguments: Vec<String>,
    /// Extended privileges; omitted when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// User; omitted when empty.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub user: String,
}
