//! Model connections from inside the sandbox, tunnelled to the controller: the sandbox has no
//! network, so this is its only way to the (proxied) model API.

use crate::serve::Agent;
use rc_agent_protocol::frame::write_frame;
use rc_agent_protocol::mux::MuxHandle;
use rc_agent_protocol::{Channel, Open, MAX_FRAME_BYTES, TUNNEL_TARGET_MODEL};
use std::sync::Arc;
use tokio::net::TcpStream;

pub(crate) async fn forward(agent: Arc<Agent>, mut tcp: TcpStream) {
    let Some(mux) = controller(&agent).await else {
        tracing::warn!(waited = ?agent.tunnel_wait, "no controller attached; closing a model connection");
        return;
    };
    let _ = tcp.set_nodelay(true);
    let mut stream = match mux.open().await {
        Ok(stream) => stream,
        Err(err) => {
            tracing::warn!(error = %err, "opening a tunnel stream failed");
            return;
        }
    };
    let header = Open::new(Channel::Tunnel {
        target: TUNNEL_TARGET_MODEL.to_owned(),
    });
    if let Err(err) = write_frame(&mut stream, &header, MAX_FRAME_BYTES).await {
        tracing::warn!(error = %err, "writing a tunnel header failed");
        return;
    }
    match tokio::io::copy_bidirectional(&mut tcp, &mut stream).await {
        Ok((up, down)) => tracing::debug!(up, down, "tunnel closed"),
        Err(err) => tracing::debug!(error = %err, "tunnel ended with an error"),
    }
}

/// The attached controller, waiting up to `tunnel_wait` for one.
async fn controller(agent: &Agent) -> Option<MuxHandle> {
    let mut current = agent.current.subscribe();
    let wait = async {
        loop {
            let live = current
                .borrow_and_update()
                .as_ref()
                .filter(|c| !c.mux.is_closed())
                .map(|c| c.mux.clone());
            if live.is_some() {
                return live;
            }
            if current.changed().await.is_err() {
                return None;
            }
        }
    };
    tokio::time::timeout(agent.tunnel_wait, wait)
        .await
        .ok()
        .flatten()
}
