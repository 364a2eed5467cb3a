//! Moving bytes once a destination is connected: a blind tunnel for CONNECT
//! and upgraded connections, and a head-aware relay for plain HTTP.

use tokio::io::{AsyncWriteExt, copy, copy_bidirectional};
use tokio::net::TcpStream;

use crate::head::{HeadError, client_response_head, read_head_after};
use crate::reply::Reply;

/// Most informational (1xx) responses passed before the final one; a
/// server sending more is treated as broken.
const MAX_INFORMATIONAL: usize = 16;

/// Relays both directions until both have ended. Bounded: one fixed 8 KiB
/// buffer per direction.
pub(crate) async fn tunnel(client: &mut TcpStream, server: &mut TcpStream) {
    if let Err(e) = copy_bidirectional(client, server).await {
        tracing::trace!(error = %e, "network guard: tunnel ended");
    }
}

/// Relays a forwarded plain-HTTP exchange. The request side is copied
/// blindly (the rewritten head was already sent); on the response side the
/// final response head gets `Connection: close` (see
/// [`client_response_head`]) before the body is copied. A `101` switches to
/// a blind tunnel. `early` holds response bytes already read (from an
/// upstream proxy's answer).
pub(crate) async fn relay_http(client: &mut TcpStream, server: &mut TcpStream, early: Vec<u8>) {
    let (mut client_rd, mut client_wr) = client.split();
    let (mut server_rd, mut server_wr) = server.split();
    let requests = async {
        let _ = copy(&mut client_rd, &mut server_wr).await;
        let _ = server_wr.shutdown().await;
    };
    let responses = async {
        let mut pending = early;
        let mut informational = 0;
        loop {
            let raw = match read_head_after(&mut server_rd, pending).await {
                Ok(raw) => raw,
                Err(HeadError::Closed) => break,
                Err(e) => {
                    let reply =
                        Reply::error(502, "bad_response", format!("unreadable response: {e}"));
                    let _ = client_wr.write_all(&reply.to_bytes()).await;
                    break;
                }
            };
            let Some((status, head)) = client_response_head(&raw.head) else {
                let reply = Reply::error(502, "bad_response", "unparsable response head");
                let _ = client_wr.write_all(&reply.to_bytes()).await;
                break;
            };
            if client_wr.write_all(&head).await.is_err() {
                break;
            }
            let interim = (100..200).contains(&status) && status != 101;
            if interim && informational < MAX_INFORMATIONAL {
                informational += 1;
                pending = raw.rest;
                continue;
            }
            if client_wr.write_all(&raw.rest).await.is_ok() {
                let _ = copy(&mut server_rd, &mut client_wr).await;
            }
            break;
        }
        let _ = client_wr.shutdown().await;
    };
    tokio::join!(requests, responses);
}
