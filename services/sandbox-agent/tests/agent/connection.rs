use crate::helpers::{attach_claude, attach_io, TestAgent, TIMEOUT};
use rc_agent_protocol::frame::{read_frame, write_frame};
use rc_agent_protocol::mux::{self, Mode};
use rc_agent_protocol::{
    Channel, ControlEvent, ControlRequest, ErrorFrame, Open, MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use tokio::time::timeout;

#[tokio::test]
async fn hello_reports_the_agent_and_a_stable_boot_id() {
    let agent = TestAgent::spawn().await;
    let (first, _tunnels, _attach) = agent.connect().await;
    let hello = first.hello().clone();
    assert_eq!(hello.protocol_version, PROTOCOL_VERSION);
    assert_eq!(hello.agent_version, env!("CARGO_PKG_VERSION"));
    assert!(hello.pid > 0);
    first.close();
    timeout(TIMEOUT, first.closed()).await.expect("closed");

    let (second, _tunnels, _attach) = agent.connect().await;
    assert_eq!(
        second.hello().boot_id,
        hello.boot_id,
        "same agent process, same boot"
    );
}

#[tokio::test]
async fn a_new_connection_replaces_the_old_one() {
    let agent = TestAgent::spawn().await;
    let (old, _old_tunnels, _old_attach) = agent.connect().await;
    let (new, _new_tunnels, _new_attach) = agent.connect().await;
    timeout(TIMEOUT, old.closed())
        .await
        .expect("the old connection is dropped");
    assert!(!new.is_closed());
    attach_claude(&new, 0).await;
}

#[tokio::test]
async fn streams_with_another_protocol_version_are_refused() {
    let agent = TestAgent::spawn().await;
    let mut attach = agent.spawn_attach();
    let (mux, _inbound) = mux::spawn(attach_io(&mut attach), Mode::Client);

    let mut stream = mux.open().await.expect("open stream");
    let header = Open {
        version: PROTOCOL_VERSION + 98,
        channel: Channel::Claude,
    };
    write_frame(&mut stream, &header, MAX_FRAME_BYTES)
        .await
        .expect("write header");
    let reply: ErrorFrame = timeout(TIMEOUT, read_frame(&mut stream, MAX_FRAME_BYTES))
        .await
        .expect("reply in time")
        .expect("read reply")
        .expect("a reply, not the end");
    assert!(
        reply
            .message
            .contains(&format!("version {PROTOCOL_VERSION}"))
            && reply
                .message
                .contains(&format!("version {}", PROTOCOL_VERSION + 98)),
        "{}",
        reply.message
    );
    let end = timeout(
        TIMEOUT,
        read_frame::<_, ErrorFrame>(&mut stream, MAX_FRAME_BYTES),
    )
    .await
    .expect("end in time")
    .expect("clean end");
    assert!(end.is_none(), "the agent closes the refused stream");

    // A Hello announcing another version is refused on the control channel too.
    let mut control = mux.open().await.expect("open control");
    write_frame(&mut control, &Open::new(Channel::Control), MAX_FRAME_BYTES)
        .await
        .expect("control header");
    let hello = ControlRequest::Hello {
        protocol_version: PROTOCOL_VERSION + 1,
        client: "from-the-future".to_owned(),
        role: rc_agent_protocol::Role::Controller,
    };
    write_frame(&mut control, &hello, MAX_FRAME_BYTES)
        .await
        .expect("hello");
    let reply: ControlEvent = timeout(TIMEOUT, read_frame(&mut control, MAX_FRAME_BYTES))
        .await
        .expect("reply in time")
        .expect("read reply")
        .expect("a reply");
    match reply {
        ControlEvent::Error { message } => assert!(message.contains("version"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_controller_opened_tunnel_is_refused() {
    let agent = TestAgent::spawn().await;
    let mut attach = agent.spawn_attach();
    let (mux, _inbound) = mux::spawn(attach_io(&mut attach), Mode::Client);
    let mut stream = mux.open().await.expect("open stream");
    let header = Open::new(Channel::Tunnel {
        target: "model".to_owned(),
    });
    write_frame(&mut stream, &header, MAX_FRAME_BYTES)
        .await
        .expect("header");
    let reply: ErrorFrame = timeout(TIMEOUT, read_frame(&mut stream, MAX_FRAME_BYTES))
        .await
        .expect("reply in time")
        .expect("read reply")
        .expect("a reply");
    assert!(reply.message.contains("tunnels"), "{}", reply.message);
}

#[tokio::test]
async fn channels_need_a_hello_first() {
    // A process inside the sandbox can reach the socket; without saying hello it must not
    // attach to Claude's output, terminals or files.
    let agent = TestAgent::spawn().await;
    let mut attach = agent.spawn_attach();
    let (mux, _inbound) = mux::spawn(attach_io(&mut attach), Mode::Client);
    for channel in [Channel::Claude, Channel::Pty, Channel::Files] {
        let mut stream = mux.open().await.expect("open stream");
        write_frame(&mut stream, &Open::new(channel.clone()), MAX_FRAME_BYTES)
            .await
            .expect("header");
        let reply: ErrorFrame = timeout(TIMEOUT, read_frame(&mut stream, MAX_FRAME_BYTES))
            .await
            .expect("reply in time")
            .expect("read reply")
            .expect("a reply");
        assert!(
            reply.message.contains("hello"),
            "{channel:?}: {}",
            reply.message
        );
    }
}
