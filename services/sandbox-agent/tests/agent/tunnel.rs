use crate::helpers::{TestAgent, TIMEOUT};
use rc_agent_protocol::TUNNEL_TARGET_MODEL;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The controller's end of a tunnel: echo everything back.
fn echo(tunnel: rc_agent_protocol::TunnelStream) {
    tokio::spawn(async move {
        let (mut read, mut write) = tokio::io::split(tunnel);
        tokio::io::copy(&mut read, &mut write).await.expect("echo");
        write.shutdown().await.expect("shutdown echo");
    });
}

#[tokio::test]
async fn a_model_connection_round_trips_a_mebibyte() {
    let agent = TestAgent::spawn().await;
    let (_client, mut tunnels, _attach) = agent.connect().await;

    let mut tcp = TcpStream::connect(("127.0.0.1", agent.model_port))
        .await
        .expect("connect to the model port");
    let tunnel = timeout(TIMEOUT, tunnels.next())
        .await
        .expect("tunnel in time")
        .expect("a tunnel");
    assert_eq!(tunnel.target, TUNNEL_TARGET_MODEL);
    echo(tunnel);

    let payload: Vec<u8> = (0..1024 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let (mut read, mut write) = tcp.split();
    let sent = payload.clone();
    let writer = async move {
        write.write_all(&sent).await.expect("write");
        write.shutdown().await.expect("half-close");
    };
    let mut echoed = Vec::new();
    let reader = read.read_to_end(&mut echoed);
    let ((), read_result) = timeout(TIMEOUT, async { tokio::join!(writer, reader) })
        .await
        .expect("round trip in time");
    read_result.expect("read echo");
    assert_eq!(echoed.len(), payload.len());
    assert!(echoed == payload, "echoed bytes differ");
}

#[tokio::test]
async fn a_model_connection_waits_for_a_controller() {
    let agent = TestAgent::spawn().await;
    let mut tcp = TcpStream::connect(("127.0.0.1", agent.model_port))
        .await
        .expect("connect to the model port");
    // Sent before any controller exists: the bytes wait in the socket, none are lost.
    tcp.write_all(b"early bytes").await.expect("write");

    let (_client, mut tunnels, _attach) = agent.connect().await;
    let tunnel = timeout(TIMEOUT, tunnels.next())
        .await
        .expect("tunnel in time")
        .expect("a tunnel");
    echo(tunnel);
    let mut buf = [0u8; 11];
    timeout(TIMEOUT, tcp.read_exact(&mut buf))
        .await
        .expect("echo in time")
        .expect("read echo");
    assert_eq!(&buf, b"early bytes");
}

#[tokio::test]
async fn a_model_connection_is_closed_when_no_controller_comes() {
    let agent = TestAgent::spawn_with(&["--tunnel-wait-ms", "200"]).await;
    let mut tcp = TcpStream::connect(("127.0.0.1", agent.model_port))
        .await
        .expect("connect to the model port");
    let mut buf = [0u8; 16];
    let read = timeout(TIMEOUT, tcp.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "expected the connection closed, got {read:?}"
    );
}
