//! The provisioning listener: its own socket (`provisioning.listen`), TLS when
//! `provisioning.tls_cert` and `tls_key` are set (rustls), served by the daemon's HTTP accept
//! loop so plain, TLS and the API treat slow clients alike. On shutdown it stops accepting, asks
//! every connection to finish its request in flight, and waits up to the grace period.

use super::server::Server;
use crate::http::listener;
use axum::body::Body;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// A client must send its request headers (and finish a TLS handshake) within this, and a
/// kept-alive phone that asks nothing for as long is let go.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS acceptor for a certificate chain and key in PEM files; the error names the file.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("provisioning.tls_cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "provisioning.tls_cert {}: no certificate in the file",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("provisioning.tls_key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("provisioning TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("provisioning.tls_key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts until `shutdown`, then drains connections for at most `grace`: the daemon's one
/// HTTP accept loop ([`crate::http::listener`]), with this listener's timeouts and no caps
/// (phones behind one NAT share an address, and a boot storm is many of them at once).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    server: Arc<Server>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let settings = listener::Settings {
        name: "provisioning",
        header_timeout: HEADER_TIMEOUT,
        idle_timeout: HEADER_TIMEOUT,
        caps: listener::Caps::default(),
        grace,
    };
    listener::serve(listener, tls, Phones(server), settings, shutdown).await;
}

/// The provisioning server as the listener calls it.
#[derive(Clone)]
struct Phones(Arc<Server>);

impl listener::Handler for Phones {
    fn handle(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response<Body>> + Send + use<> {
        let server = self.0.clone();
        async move { server.handle(request, peer.ip()).await }
    }
}
