use sandbox_agent::cli::{self, Command, USAGE};
use sandbox_agent::{attach, logging, serve};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(err) => {
            eprintln!("sandbox-agent: {err}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // stdout belongs to the protocol (attach), so even help goes to stderr.
    let (default_log, multi_thread) = match &command {
        Command::Help => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            eprintln!("sandbox-agent {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::Serve(_) => ("info", true),
        Command::Attach { .. } => ("warn", false),
    };
    logging::init(default_log);
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("sandbox-agent: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(command));
    // attach's stdin reader is a blocking thread that may sit in read(2) forever: don't wait.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sandbox-agent: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Serve(config) => {
            match sandbox_agent::home::seed(
                std::path::Path::new(sandbox_agent::home::DEFAULT_TEMPLATE),
                std::env::var_os("HOME").map(Into::into),
            ) {
                Ok(Some(path)) => tracing::info!(path = %path.display(), "seeded the CLI settings"),
                Ok(None) => {}
                Err(err) => tracing::warn!(%err, "could not seed ~/.claude.json"),
            }
            let server = serve::Server::bind(config).await?;
            server.run_until_stopped(shutdown_signal()).await;
        }
        Command::Attach { socket } => attach::run(&socket).await?,
        Command::Help | Command::Version => {}
    }
    Ok(())
}

/// SIGTERM (from tini when the container stops) or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
