//! The socketpair between the runtime (parent) and the process it is setting up (child).
//!
//! One `SOCK_SEQPACKET` pair, close-on-exec on both ends, so every message is one packet and the
//! child's end closes by itself when its `execve` succeeds: the parent reads end-of-file.
//!
//! | from   | packet                      | meaning                                   |
//! |--------|-----------------------------|-------------------------------------------|
//! | child  | `R`                         | set up, waiting for `G`                   |
//! | child  | `T` + SCM_RIGHTS(master)    | the terminal's master side                |
//! | child  | `E` code(u8) message(utf-8) | failed; `code` is the exit status to use  |
//! | parent | `G`                         | go: exec the process                      |

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg, sendmsg, socketpair,
};

/// A message from the child.
#[derive(Debug)]
pub(crate) enum FromChild {
    Ready,
    Tty(OwnedFd),
    Error {
        code: u8,
        message: String,
    },
    /// The child's end closed: it exec'd (or died).
    Closed,
}

/// One end of the channel.
#[derive(Debug)]
pub(crate) struct Channel(OwnedFd);

pub(crate) fn pair() -> nix::Result<(Channel, Channel)> {
    let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
    Ok((Channel(a), Channel(b)))
}

impl Channel {
    fn send(&self, data: &[u8], fds: &[RawFd]) -> nix::Result<()> {
        let iov = [IoSlice::new(data)];
        let cmsg = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &cmsg };
        loop {
            match sendmsg::<()>(self.0.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => return r.map(|_| ()),
            }
        }
    }

    /// Child side: ready.
    pub(crate) fn ready(&self) -> nix::Result<()> {
        self.send(b"R", &[])
    }

    /// Child side: the terminal master.
    pub(crate) fn send_tty(&self, master: &OwnedFd) -> nix::Result<()> {
        self.send(b"T", &[master.as_fd().as_raw_fd()])
    }

    /// Child side: failure.
    pub(crate) fn error(&self, code: u8, message: &str) {
        let mut buf = Vec::with_capacity(2 + message.len());
        buf.push(b'E');
        buf.push(code);
        buf.extend_from_slice(&message.as_bytes()[..message.len().min(60_000)]);
        let _ = self.send(&buf, &[]);
    }

    /// Parent side: go.
    pub(crate) fn go(&self) -> nix::Result<()> {
        self.send(b"G", &[])
    }

    /// Child side: waits for go; false when the parent went away instead.
    pub(crate) fn wait_go(&self) -> bool {
        let mut b = [0u8; 1];
        loop {
            match nix::unistd::read(&self.0, &mut b) {
                Ok(1) => return b[0] == b'G',
                Err(nix::errno::Errno::EINTR) => continue,
                _ => return false,
            }
        }
    }

    /// Parent side: the next message.
    pub(crate) fn recv(&self) -> nix::Result<FromChild> {
        let mut buf = vec![0u8; 65_536];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = match recvmsg::<()>(self.0.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => r?,
            };
            let mut fd = None;
            for c in msg.cmsgs()? {
                if let ControlMessageOwned::ScmRights(fds) = c {
                    for f in fds {
                        // SAFETY: SCM_RIGHTS just gave us this descriptor; nothing else owns it.
                        let owned = unsafe { OwnedFd::from_raw_fd(f) };
                        fd.get_or_insert(owned);
                    }
                }
            }
            let n = msg.bytes;
            return Ok(match (n, buf.first()) {
                (0, _) => FromChild::Closed,
                (_, Some(b'R')) => FromChild::Ready,
                (_, Some(b'T')) => match fd {
                    Some(f) => FromChild::Tty(f),
                    None => FromChild::Error { code: 125, message: "terminal message without a descriptor".into() },
                },
                (_, Some(b'E')) if n >= 2 => {
                    FromChild::Error { code: buf[1], message: String::from_utf8_lossy(&buf[2..n]).into_owned() }
                }
                _ => FromChild::Error { code: 125, message: "garbled message from the container process".into() },
            });
        }
    }
}
