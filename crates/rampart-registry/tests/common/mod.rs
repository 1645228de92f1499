//! A registry served on 127.0.0.1:0 from a background thread, shared by the HTTP test suites.

use std::sync::Arc;

use rampart_registry::{Registry, ServeOptions};

/// A running server: stopped and joined when dropped.
pub struct Running {
    /// `http://127.0.0.1:PORT` or `https://…`.
    pub base: String,
    /// A client that trusts the test certificate and never follows redirects.
    pub agent: ureq::Agent,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn tls_fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tls")
            .join(name),
    )
    .expect("tls fixture")
}

/// Serves `registry` (over TLS with the test certificate when `tls`) until dropped.
pub fn serve_in_background(registry: Arc<Registry>, options: ServeOptions, tls: bool) -> Running {
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let (address_sender, address) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            address_sender
                .send(listener.local_addr().expect("address"))
                .expect("send");
            let stop = async move {
                let _ = stop.await;
            };
            if tls {
                let config = rampart_registry::tls::server_config(
                    &tls_fixture("server.cert.pem"),
                    &tls_fixture("server.key.pem"),
                )
                .expect("tls config");
                let listener =
                    rampart_registry::tls::TlsListener::new(listener, config).expect("listener");
                rampart_registry::serve(registry, listener, options, stop).await
            } else {
                rampart_registry::serve(registry, listener, options, stop).await
            }
            .expect("serve");
        });
    });
    let address = address.recv().expect("address");
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0);
    if tls {
        let root =
            ureq::tls::Certificate::from_pem(&tls_fixture("server.cert.pem")).expect("certificate");
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
                .build(),
        );
    }
    Running {
        base: format!("{}://{address}", if tls { "https" } else { "http" }),
        agent: config.build().into(),
        shutdown: Some(shutdown),
        thread: Some(thread),
    }
}

/// The blob storage under test: the data directory, or a fresh prefix of the bucket in
/// `RAMPART_TEST_STORAGE_URL` (`s3://BUCKET?endpoint=…`, as tests/interop/registry_pg_s3.sh
/// sets it) for each server, so tests never see each other's blobs.
#[allow(dead_code)] // the UI suite keeps its blobs in the data directory
pub fn test_storage() -> Option<String> {
    static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let url = std::env::var("RAMPART_TEST_STORAGE_URL")
        .ok()
        .filter(|url| !url.is_empty())?;
    let (location, query) = url.split_once('?').unwrap_or((&url, ""));
    let prefix = format!(
        "test-{}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default(),
        SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    Some(format!(
        "{}/{prefix}?{query}",
        location.trim_end_matches('/')
    ))
}
