//! Opening TCP connections, behind a trait so tests can prove which
//! connections the guard attempted (and that refused ones were never tried).

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::resolver::BoxFuture;

/// Opens a TCP connection to an address the guard has already checked.
///
/// The guard only ever passes addresses that passed
/// [`classify`](crate::classify) — the destination's, or the upstream
/// proxy's — never a name.
pub trait Connector: Send + Sync + 'static {
    /// Connects to `addr`. The guard applies its own timeout around this.
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>>;
}

/// Plain TCP via [`TcpStream::connect`], with `TCP_NODELAY` since the guard
/// relays interactive traffic (TLS handshakes, WebSocket frames).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpConnector;

impl Connector for TcpConnector {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>> {
        Box::pin(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    }
}
