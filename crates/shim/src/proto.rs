//! The shim's socket protocol: frames over a unix stream socket.
//!
//! Every frame is `kind: u8`, `len: u32` (big endian), then `len` bytes. A connection starts with
//! one [`Request`] frame and gets one [`Response`] frame. Control requests (`start`, `resize`,
//! `kill`, `close_stdin`, `state`) end there and the client may send another request. Stream
//! requests (`attach`, `wait`, `exec`) turn the connection into a stream: the shim sends output
//! frames and finally one [`Exit`] frame, the client may send stdin frames.
//!
//! | kind | direction | payload |
//! |------|-----------|---------|
//! | 1 `REQUEST`  | client → shim | JSON [`Request`] |
//! | 2 `STDIN`    | client → shim | bytes for the process's stdin |
//! | 3 `STDIN_EOF`| client → shim | none: close the process's stdin (exec streams, and attach streams with stdin) |
//! | 1 `RESPONSE` | shim → client | JSON [`Response`] |
//! | 4 `STDOUT`   | shim → client | output bytes (all output, with a terminal) |
//! | 5 `STDERR`   | shim → client | error output bytes |
//! | 6 `EXIT`     | shim → client | JSON [`Exit`] |
//! | 7 `ACK`      | client → shim | none: the exit (of a `wait` stream) is recorded; no exit file needed |

use serde::{Deserialize, Serialize};

/// Frame kinds.
pub mod kind {
    /// A request (client → shim).
    pub const REQUEST: u8 = 1;
    /// A response (shim → client); same number as REQUEST, the direction tells them apart.
    pub const RESPONSE: u8 = 1;
    /// Standard input data.
    pub const STDIN: u8 = 2;
    /// End of standard input.
    pub const STDIN_EOF: u8 = 3;
    /// Standard output data.
    pub const STDOUT: u8 = 4;
    /// Standard error data.
    pub const STDERR: u8 = 5;
    /// Process exit.
    pub const EXIT: u8 = 6;
    /// The daemon recorded the exit it was sent.
    pub const ACK: u8 = 7;
}

/// Largest payload accepted; larger frames are a protocol error.
pub const MAX_FRAME: usize = 1 << 20;

/// What a client asks of the shim.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Let the container's first process exec its command.
    Start,
    /// Stream the first process's output (and feed its stdin).
    Attach {
        /// Forward stdin frames.
        stdin: bool,
        /// Send stdout.
        stdout: bool,
        /// Send stderr.
        stderr: bool,
    },
    /// Send an [`Exit`] frame when the first process exits (at once if it has).
    Wait,
    /// Set a terminal's size.
    Resize {
        /// An exec's ID, or the first process when absent.
        #[serde(default)]
        exec: Option<String>,
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
    /// Send a signal.
    Kill {
        /// An exec's ID, or the first process when absent.
        #[serde(default)]
        exec: Option<String>,
        /// Signal number.
        signal: i32,
        /// Every process of the container (from its cgroup), not just the first.
        #[serde(default)]
        all: bool,
    },
    /// Close the first process's stdin.
    CloseStdin,
    /// Report the shim's state.
    State,
    /// Start a process in the container; the connection carries its stdio.
    Exec {
        /// The exec's ID.
        id: String,
        /// What to run.
        process: Box<runtime::Process>,
        /// Keep its stdin open for stdin frames (otherwise /dev/null).
        stdin: bool,
    },
}

/// The shim's answer to a request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Response {
    /// Set when the request failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For failed starts and execs: the exit status Docker reports (126, 127, 125).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
    /// A PID (exec, state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// For `state`: whether the first process was started.
    #[serde(default)]
    pub started: bool,
    /// For `state`: the first process's exit, if it has exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<Exit>,
}

impl Response {
    /// A failure.
    pub fn error(msg: impl Into<String>, code: Option<u8>) -> Self {
        Response { error: Some(msg.into()), code, ..Default::default() }
    }
}

/// How a process ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Exit {
    /// Exit status as Docker reports it: the code, or 128+N when killed by signal N.
    pub code: i32,
    /// The signal that killed it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// When, in nanoseconds since the epoch.
    pub at_ns: i64,
    /// Whether the kernel's OOM killer ended it (set by the daemon, which reads the cgroup).
    #[serde(default)]
    pub oom_killed: bool,
}

/// Encodes one frame.
pub fn encode(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + payload.len());
    v.push(kind);
    v.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// Encodes a JSON frame.
pub fn encode_json<T: Serialize>(kind: u8, value: &T) -> Vec<u8> {
    encode(kind, &serde_json::to_vec(value).expect("protocol types always serialise"))
}

/// Accumulates bytes and yields whole frames.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

/// A frame that is too large.
#[derive(Debug, thiserror::Error)]
#[error("shim protocol frame of {0} bytes exceeds the limit")]
pub struct FrameTooLarge(pub usize);

impl Decoder {
    /// Adds received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<(u8, Vec<u8>)>, FrameTooLarge> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(FrameTooLarge(len));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let kind = self.buf[0];
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((kind, payload)))
    }

    /// Bytes buffered and not yet returned.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_pieces() {
        let mut wire = encode_json(kind::REQUEST, &Request::Attach { stdin: true, stdout: true, stderr: false });
        wire.extend(encode(kind::STDIN, b"hello"));
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for b in wire.chunks(3) {
            d.push(b);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got.len(), 2);
        let r: Request = serde_json::from_slice(&got[0].1).unwrap();
        assert!(matches!(r, Request::Attach { stdin: true, stdout: true, stderr: false }));
        assert_eq!(got[1], (kind::STDIN, b"hello".to_vec()));
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn rejects_huge_frames() {
        let mut d = Decoder::default();
        d.push(&[1, 0xff, 0xff, 0xff, 0xff]);
        assert!(d.next_frame().is_err());
    }

    #[test]
    fn request_json_shape() {
        let j = serde_json::to_string(&Request::Kill { exec: None, signal: 15, all: false }).unwrap();
        assert_eq!(j, r#"{"op":"kill","exec":null,"signal":15,"all":false}"#);
        let r: Request = serde_json::from_str(r#"{"op":"resize","rows":24,"cols":80}"#).unwrap();
        assert!(matches!(r, Request::Resize { exec: None, rows: 24, cols: 80 }));
    }
}
