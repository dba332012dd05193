//! TLS of the TCP listeners, with dockerd's flags and defaults (`--tls`, `--tlsverify`,
//! `--tlscacert`, `--tlscert`, `--tlskey`).
//!
//! dockerd's rules (`cmd/dockerd`, `setDefaultOptions` and `loadDaemonCliConfig`): giving
//! `--tlsverify` at all, even `=false`, turns TLS on; `--tls` turns verification on unless
//! `--tlsverify=false` was given; the files default to `ca.pem`, `cert.pem` and `key.pem` in
//! `$DOCKER_CERT_PATH`, else `$DOCKER_CONFIG`, else `~/.docker`. With verification the client
//! must present a certificate signed by the CA of `--tlscacert` (that CA alone: the system's
//! roots are not trusted).
//!
//! Where berth is stricter: dockerd still listens on TCP without client verification (after
//! warnings and a delay); berth refuses to unless that was asked for explicitly with
//! `--tls=false` (plain TCP) or `--tlsverify=false` (TLS, any client), the explicit opt-outs
//! dockerd itself names, and then logs loud warnings ([`TcpPolicy`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS flags as given (`None`: not given).
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// `--tls[=BOOL]`.
    pub tls: Option<bool>,
    /// `--tlsverify[=BOOL]`.
    pub verify: Option<bool>,
    /// `--tlscacert`.
    pub ca: Option<PathBuf>,
    /// `--tlscert`.
    pub cert: Option<PathBuf>,
    /// `--tlskey`.
    pub key: Option<PathBuf>,
}

/// What TCP listeners get, after dockerd's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// TLS at all.
    pub tls: bool,
    /// Client certificates required and verified against [`Resolved::ca`].
    pub verify: bool,
    /// `--tls` or `--tlsverify` was given (the explicit intent that allows a TCP listener
    /// without client verification).
    pub explicit: bool,
    /// The CA file.
    pub ca: PathBuf,
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// The server's key.
    pub key: PathBuf,
}

/// Whether a TCP listener may start, and how loudly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpPolicy {
    /// TLS with client certificates: the safe setting.
    Verified,
    /// No client authentication, asked for explicitly: start, with warnings.
    InsecureExplicit,
    /// No client authentication and no explicit flag: refuse to start.
    Refused,
}

/// The directory of the default files: `$DOCKER_CERT_PATH`, `$DOCKER_CONFIG`, `$HOME/.docker`.
pub fn default_cert_dir(env: impl Fn(&str) -> Option<String>) -> PathBuf {
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(d) = set("DOCKER_CERT_PATH").or_else(|| set("DOCKER_CONFIG")) {
        return PathBuf::from(d);
    }
    PathBuf::from(set("HOME").unwrap_or_else(|| "/root".into())).join(".docker")
}

impl TlsOptions {
    /// Applies dockerd's defaults; `cert_dir` holds the default files.
    pub fn resolve(&self, cert_dir: &Path) -> Resolved {
        let tls = self.verify.is_some() || self.tls.unwrap_or(false);
        let verify = tls && self.verify.unwrap_or(true);
        Resolved {
            tls,
            verify,
            explicit: self.tls.is_some() || self.verify.is_some(),
            ca: self.ca.clone().unwrap_or_else(|| cert_dir.join("ca.pem")),
            cert: self.cert.clone().unwrap_or_else(|| cert_dir.join("cert.pem")),
            key: self.key.clone().unwrap_or_else(|| cert_dir.join("key.pem")),
        }
    }
}

impl Resolved {
    /// The policy for TCP listeners.
    pub fn tcp_policy(&self) -> TcpPolicy {
        if self.verify {
            TcpPolicy::Verified
        } else if self.explicit {
            TcpPolicy::InsecureExplicit
        } else {
            TcpPolicy::Refused
        }
    }

    /// The refusal for a TCP listener at `host` under [`TcpPolicy::Refused`].
    pub fn refusal(&self, host: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "refusing to listen on {host} without TLS client authentication: anyone who can reach it would be root on this machine. \
             Use --tlsverify with --tlscacert, --tlscert and --tlskey, or accept the risk explicitly with --tls=false (plain TCP) \
             or --tlsverify=false (TLS without client certificates)"
        )
    }

    /// The rustls configuration: the server's chain and key, and with verification a client
    /// verifier trusting only the CA file.
    pub fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        // rustls 0.23.48 deprecated this only because ring has no post-quantum key exchange
        // (X25519MLKEM768): clients that offer it (Go 1.24+, so the docker CLI) get X25519.
        // aws-lc-rs has it, at the cost of a larger C build in the static binary (Cargo.toml).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = read_certs(&self.cert).with_context(|| format!("--tlscert {}", self.cert.display()))?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| anyhow::anyhow!("--tlskey {}: {}", self.key.display(), pem_error(e)))?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?;
        let builder = if self.verify {
            let mut roots = rustls::RootCertStore::empty();
            for c in read_certs(&self.ca).with_context(|| format!("--tlscacert {}", self.ca.display()))? {
                roots.add(c).with_context(|| {
                    format!("--tlscacert {}: a certificate can't be a trust anchor", self.ca.display())
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .with_context(|| format!("--tlscacert {}", self.ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut cfg = builder.with_single_cert(certs, key).with_context(|| {
            format!("--tlscert {} and --tlskey {} don't make a usable pair", self.cert.display(), self.key.display())
        })?;
        // The API is HTTP/1.1 only (hijacked streams); a client offering h2 falls back to it.
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}

fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM item of the wanted kind in the file".into(),
        other => format!("{other:?}"),
    }
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| anyhow::anyhow!(pem_error(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!(pem_error(e)))?;
    if certs.is_empty() {
        bail!("no certificate (BEGIN CERTIFICATE) in the file");
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(tls: Option<bool>, verify: Option<bool>) -> Resolved {
        TlsOptions { tls, verify, ..Default::default() }.resolve(Path::new("/c"))
    }

    #[test]
    fn dockerd_defaults() {
        let none = opts(None, None);
        assert!(!none.tls && !none.verify && !none.explicit);
        assert_eq!(none.tcp_policy(), TcpPolicy::Refused);
        assert_eq!(none.ca, Path::new("/c/ca.pem"));
        assert_eq!(none.cert, Path::new("/c/cert.pem"));
        assert_eq!(none.key, Path::new("/c/key.pem"));
        // --tls alone verifies.
        let tls = opts(Some(true), None);
        assert!(tls.tls && tls.verify);
        assert_eq!(tls.tcp_policy(), TcpPolicy::Verified);
        // --tlsverify turns TLS on, even over --tls=false.
        let v = opts(Some(false), Some(true));
        assert!(v.tls && v.verify);
        // --tlsverify=false: TLS without client certificates, explicit.
        let nv = opts(None, Some(false));
        assert!(nv.tls && !nv.verify);
        assert_eq!(nv.tcp_policy(), TcpPolicy::InsecureExplicit);
        // --tls=false: plain, explicit.
        let plain = opts(Some(false), None);
        assert!(!plain.tls && !plain.verify);
        assert_eq!(plain.tcp_policy(), TcpPolicy::InsecureExplicit);
        assert!(none.refusal("tcp://127.0.0.1:2375").to_string().contains("--tls=false"));
    }

    #[test]
    fn cert_dir() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(default_cert_dir(env(&[("HOME", "/home/a")])), Path::new("/home/a/.docker"));
        assert_eq!(default_cert_dir(env(&[("HOME", "/h"), ("DOCKER_CONFIG", "/cfg")])), Path::new("/cfg"));
        assert_eq!(
            default_cert_dir(env(&[("DOCKER_CONFIG", "/cfg"), ("DOCKER_CERT_PATH", "/certs")])),
            Path::new("/certs")
        );
        assert_eq!(default_cert_dir(env(&[])), Path::new("/root/.docker"));
    }

    #[test]
    fn missing_files_are_named() {
        let r = TlsOptions { tls: Some(true), ..Default::default() }.resolve(Path::new("/nonexistent-berth"));
        let e = format!("{:#}", r.server_config().unwrap_err());
        assert!(e.contains("--tlscert /nonexistent-berth/cert.pem"), "{e}");
    }
}
