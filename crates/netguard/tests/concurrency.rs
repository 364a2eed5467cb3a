//! Many tunnels at once.

mod common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use wayfarer_netguard::StubResolver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_tunnels_complete() {
    // An echo server on 127.0.0.1.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    let resolver = StubResolver::new().with("echo.test", &[LOCALHOST]);
    let (guard, connector) = guard(open_policy(), &resolver).await;
    let guard = std::sync::Arc::new(guard);

    let mut tasks = JoinSet::new();
    for i in 0..50u32 {
        let guard = guard.clone();
        tasks.spawn(async move {
            let (head, mut stream) = connect(&guard, &format!("echo.test:{}", echo.port())).await;
            assert_eq!(head.status(), 200);
            // Enough data to need several relay buffers in each direction.
            let payload: Vec<u8> = (0..64 * 1024)
                .map(|j| ((i as usize + j) % 251) as u8)
                .collect();
            let (mut r, mut w) = stream.split();
            let send = async {
                w.write_all(&payload).await.unwrap();
                w.shutdown().await.unwrap();
            };
            let mut back = Vec::new();
            let recv = async { r.read_to_end(&mut back).await.unwrap() };
            tokio::join!(send, recv);
            assert_eq!(back, payload);
        });
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
        done += 1;
    }
    assert_eq!(done, 50);
    assert_eq!(connector.calls().len(), 50);
    assert_eq!(resolver.lookups().len(), 50);
}
