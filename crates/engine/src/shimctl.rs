//! The daemon's side of the shim protocol (see `shim::proto`), over tokio.

use std::io;
use std::path::Path;

use shim::proto::{self, Decoder, Exit, Request, Response, kind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

/// Connects to a unix socket, also at paths longer than `sun_path` allows (107 bytes): those
/// are reached through `/proc/self/fd/N/name` of their directory.
async fn connect_path(socket: &Path) -> io::Result<UnixStream> {
    if socket.as_os_str().len() < 100 {
        return UnixStream::connect(socket).await;
    }
    let dir = socket.parent().ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let name = socket.file_name().ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let d = std::fs::File::open(dir)?;
    let short = Path::new("/proc/self/fd").join(std::os::fd::AsRawFd::as_raw_fd(&d).to_string()).join(name);
    let r = UnixStream::connect(&short).await;
    drop(d);
    r
}

/// A connection to a container's shim.
#[derive(Debug)]
pub struct ShimConn {
    stream: UnixStream,
    dec: Decoder,
}

/// Frames from a shim stream.
#[derive(Debug)]
pub enum Frame {
    /// Output (stream 1 = stdout, 2 = stderr).
    Output(u8, Vec<u8>),
    /// The process exited.
    Exit(Exit),
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn to_frame(kind_: u8, payload: Vec<u8>) -> io::Result<Frame> {
    match kind_ {
        kind::STDOUT => Ok(Frame::Output(1, payload)),
        kind::STDERR => Ok(Frame::Output(2, payload)),
        kind::EXIT => {
            Ok(Frame::Exit(serde_json::from_slice(&payload).map_err(|e| bad(format!("bad exit frame: {e}")))?))
        }
        k => Err(bad(format!("unexpected shim frame kind {k}"))),
    }
}

async fn read_frame(r: &mut (impl AsyncReadExt + Unpin), dec: &mut Decoder) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut buf = [0u8; 32 * 1024];
    loop {
        if let Some(f) = dec.next_frame().map_err(|e| bad(e.to_string()))? {
            return Ok(Some(f));
        }
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        dec.push(&buf[..n]);
    }
}

impl ShimConn {
    /// Connects to the shim listening at `socket`.
    pub async fn connect(socket: &Path) -> io::Result<Self> {
        Ok(Self { stream: connect_path(socket).await?, dec: Decoder::default() })
    }

    /// Sends a request and reads its response.
    pub async fn request(&mut self, req: &Request) -> io::Result<Response> {
        self.stream.write_all(&proto::encode_json(kind::REQUEST, req)).await?;
        match read_frame(&mut self.stream, &mut self.dec).await? {
            Some((kind::RESPONSE, p)) => serde_json::from_slice(&p).map_err(|e| bad(format!("bad shim response: {e}"))),
            Some((k, _)) => Err(bad(format!("unexpected shim frame kind {k}"))),
            None => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "shim closed the connection")),
        }
    }

    /// One request on a fresh connection; an error response becomes `Err`.
    pub async fn call(socket: &Path, req: &Request) -> io::Result<Response> {
        let mut c = Self::connect(socket).await?;
        let r = c.request(req).await?;
        match &r.error {
            Some(e) => Err(io::Error::other(e.clone())),
            None => Ok(r),
        }
    }

    /// The next output or exit frame; None when the shim closed the stream.
    pub async fn next(&mut self) -> io::Result<Option<Frame>> {
        match read_frame(&mut self.stream, &mut self.dec).await? {
            Some((k, p)) => to_frame(k, p).map(Some),
            None => Ok(None),
        }
    }

    /// Tells the shim its exit was recorded (on a `wait` stream).
    pub async fn ack(&mut self) -> io::Result<()> {
        self.stream.write_all(&proto::encode(kind::ACK, &[])).await
    }

    /// Splits into a reader of frames and a writer of stdin.
    pub fn split(self) -> (ShimReader, ShimWriter) {
        let (r, w) = self.stream.into_split();
        (ShimReader { r, dec: self.dec }, ShimWriter { w })
    }
}

/// The reading half of a shim stream.
#[derive(Debug)]
pub struct ShimReader {
    r: OwnedReadHalf,
    dec: Decoder,
}

impl ShimReader {
    /// The next output or exit frame; None at the end.
    pub async fn next(&mut self) -> io::Result<Option<Frame>> {
        match read_frame(&mut self.r, &mut self.dec).await? {
            Some((k, p)) => to_frame(k, p).map(Some),
            None => Ok(None),
        }
    }
}

/// The writing half of a shim stream: stdin.
#[derive(Debug)]
pub struct ShimWriter {
    w: OwnedWriteHalf,
}

impl ShimWriter {
    /// Feeds the process's stdin.
    pub async fn stdin(&mut self, data: &[u8]) -> io::Result<()> {
        self.w.write_all(&proto::encode(kind::STDIN, data)).await
    }

    /// Closes the process's stdin (execs; the first process's stdin is closed with a request).
    pub async fn close_stdin(&mut self) -> io::Result<()> {
        self.w.write_all(&proto::encode(kind::STDIN_EOF, &[])).await
    }
}
