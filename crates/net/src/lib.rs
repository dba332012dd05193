//! berth's networking: the pieces the engine puts together into Docker's network model.
//!
//! - [`link`]: links, addresses and routes over rtnetlink, in the host and in containers'
//!   namespaces (veth pairs born inside the container, macvlan/ipvlan, 802.1q parents);
//! - [`ifname`]: interface names from users, checked by the kernel's rules (and berth's, for
//!   bridges);
//! - [`ipam`]: subnets from pools, addresses from subnets;
//! - [`firewall`]: berth's own nftables table, generated whole and replaced atomically;
//! - [`ports`]: host ports held by bound sockets, one owner each;
//! - [`dns`]: the embedded name server of user-defined networks.
//!
//! None of this knows about containers: the engine's `network` module does.
#![warn(missing_docs)]

pub mod dns;
pub mod firewall;
pub mod ifname;
pub mod ipam;
pub mod link;
pub mod ports;

/// A networking failure.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A netlink request failed.
    #[error("{what}: {message}")]
    Netlink {
        /// What was being done.
        what: String,
        /// The kernel's errno (positive), 0 when not from the kernel.
        errno: i32,
        /// The error.
        message: String,
    },
    /// A system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `nft` refused the ruleset.
    #[error("applying the firewall rules: {0}")]
    Firewall(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Already taken (an address, a port).
    #[error("{0}")]
    Conflict(String),
    /// Nothing left to hand out.
    #[error("{0}")]
    Exhausted(String),
    /// A link vanished while being set up.
    #[error("link {0} disappeared")]
    Gone(String),
}

impl NetError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        NetError::Io { what: what.into(), source }
    }
}
