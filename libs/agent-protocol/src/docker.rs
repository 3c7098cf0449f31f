//! The controller's end of the sandbox's one channel on a Docker engine: `docker exec -i
//! <container> sandbox-agent attach`, whose stdin and stdout carry the protocol. Used by
//! session-manager (the controller) and file-service (the `files` role); the agent itself is
//! built without this module (feature `docker`).

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use futures::StreamExt as _;
use tokio::io::{AsyncRead, AsyncWrite};

/// The attach process's stdout and stdin as one byte stream.
pub type AgentIo =
    tokio::io::Join<Box<dyn AsyncRead + Send + Unpin>, Box<dyn AsyncWrite + Send + Unpin>>;

/// The sandbox user (the agent refuses other connections' channels anyway; never root).
pub const SANDBOX_USER: &str = "1000:1000";

/// Runs `sandbox-agent attach` in `container` as the sandbox user. The agent's stderr goes to
/// this process's log, one line an entry.
pub async fn attach(docker: &Docker, container: &str) -> Result<AgentIo, bollard::errors::Error> {
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(vec!["sandbox-agent", "attach"]),
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(false),
                user: Some(SANDBOX_USER),
                ..Default::default()
            },
        )
        .await?;
    let StartExecResults::Attached { output, input } = docker.start_exec(&exec.id, None).await?
    else {
        return Err(bollard::errors::Error::IOError {
            err: std::io::Error::other("the exec started detached"),
        });
    };
    let sandbox = container.to_owned();
    let stdout = output.filter_map(move |item| {
        let sandbox = sandbox.clone();
        async move {
            match item {
                Ok(LogOutput::StdOut { message }) => Some(Ok(message)),
                Ok(LogOutput::StdErr { message }) => {
                    for line in String::from_utf8_lossy(&message).lines() {
                        tracing::info!(%sandbox, agent = %line, "sandbox-agent");
                    }
                    None
                }
                Ok(_) => None,
                Err(err) => Some(Err(std::io::Error::other(err))),
            }
        }
    });
    let reader: Box<dyn AsyncRead + Send + Unpin> =
        Box::new(tokio_util::io::StreamReader::new(Box::pin(stdout)));
    let writer: Box<dyn AsyncWrite + Send + Unpin> = Box::new(input);
    Ok(tokio::io::join(reader, writer))
}
