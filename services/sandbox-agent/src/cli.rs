//! Command-line parsing. A handful of flags does not justify an argument-parsing dependency
//! (and the binary ships in every sandbox image).

use crate::serve::ServeConfig;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_SOCKET: &str = "/tmp/sandbox-agent.sock";

pub const USAGE: &str = "\
Usage:
  sandbox-agent serve  [--socket PATH] [--model-listen ADDR] [--buffer-lines N]
                       [--buffer-bytes N] [--tunnel-wait-ms MS]
  sandbox-agent attach [--socket PATH]

serve   the container's main process: owns the Claude process and terminals, listens on
        the unix socket (one controller at a time: the newest connection that completes the
        hello handshake wins) and on the model port, whose connections it tunnels to it.
attach  copies stdin to the socket and the socket to stdout (run by the controller through
        `docker exec -i`). Logs go to stderr only.

Defaults: --socket /tmp/sandbox-agent.sock --model-listen 127.0.0.1:8787
          --buffer-lines 20000 --buffer-bytes 134217728 --tunnel-wait-ms 10000
Logging: RUST_LOG (default info for serve, warn for attach).";

#[derive(Debug)]
pub enum Command {
    Serve(ServeConfig),
    Attach { socket: PathBuf },
    Help,
    Version,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("missing command (serve or attach)")]
    MissingCommand,
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    #[error("unknown flag {flag:?} for {command}")]
    UnknownFlag { command: &'static str, flag: String },
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("invalid value {value:?} for {flag}: {reason}")]
    InvalidValue {
        flag: String,
        value: String,
        reason: String,
    },
}

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, CliError> {
    let command = args.next().ok_or(CliError::MissingCommand)?;
    match command.as_str() {
        "serve" => parse_serve(args).map(Command::Serve),
        "attach" => parse_attach(args),
        "-h" | "--help" | "help" => Ok(Command::Help),
        "-V" | "--version" => Ok(Command::Version),
        _ => Err(CliError::UnknownCommand(command)),
    }
}

fn parse_serve(mut args: impl Iterator<Item = String>) -> Result<ServeConfig, CliError> {
    let mut config = ServeConfig::default();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--socket" => config.socket = PathBuf::from(value(&flag, &mut args)?),
            "--model-listen" => config.model_listen = parsed(&flag, &mut args)?,
            "--buffer-lines" => config.buffer_lines = positive(&flag, &mut args)?,
            "--buffer-bytes" => config.buffer_bytes = positive(&flag, &mut args)?,
            "--tunnel-wait-ms" => {
                config.tunnel_wait = Duration::from_millis(parsed(&flag, &mut args)?);
            }
            _ => {
                return Err(CliError::UnknownFlag {
                    command: "serve",
                    flag,
                })
            }
        }
    }
    Ok(config)
}

fn parse_attach(mut args: impl Iterator<Item = String>) -> Result<Command, CliError> {
    let mut socket = PathBuf::from(DEFAULT_SOCKET);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--socket" => socket = PathBuf::from(value(&flag, &mut args)?),
            _ => {
                return Err(CliError::UnknownFlag {
                    command: "attach",
                    flag,
                })
            }
        }
    }
    Ok(Command::Attach { socket })
}

fn value(flag: &str, args: &mut impl Iterator<Item = String>) -> Result<String, CliError> {
    args.next()
        .ok_or_else(|| CliError::MissingValue(flag.to_owned()))
}

fn parsed<T>(flag: &str, args: &mut impl Iterator<Item = String>) -> Result<T, CliError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw = value(flag, args)?;
    raw.parse().map_err(|err: T::Err| CliError::InvalidValue {
        flag: flag.to_owned(),
        value: raw.clone(),
        reason: err.to_string(),
    })
}

fn positive(flag: &str, args: &mut impl Iterator<Item = String>) -> Result<usize, CliError> {
    let n: usize = parsed(flag, args)?;
    if n == 0 {
        return Err(CliError::InvalidValue {
            flag: flag.to_owned(),
            value: "0".to_owned(),
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> impl Iterator<Item = String> + '_ {
        s.split_whitespace().map(str::to_owned)
    }

    #[test]
    fn serve_defaults_and_flags() {
        let Command::Serve(config) = parse(args("serve")).unwrap() else {
            panic!("not serve");
        };
        assert_eq!(config.socket, PathBuf::from(DEFAULT_SOCKET));
        assert_eq!(config.model_listen.to_string(), "127.0.0.1:8787");
        assert_eq!(config.buffer_lines, 20_000);

        let Command::Serve(config) = parse(args(
            "serve --socket /tmp/x.sock --model-listen 127.0.0.1:0 --buffer-lines 5 --tunnel-wait-ms 20",
        ))
        .unwrap() else {
            panic!("not serve");
        };
        assert_eq!(config.socket, PathBuf::from("/tmp/x.sock"));
        assert_eq!(config.model_listen.port(), 0);
        assert_eq!(config.buffer_lines, 5);
        assert_eq!(config.tunnel_wait, Duration::from_millis(20));
    }

    #[test]
    fn errors_name_the_flag() {
        let err = parse(args("serve --buffer-lines lots")).unwrap_err();
        assert!(err.to_string().contains("--buffer-lines"), "{err}");
        let err = parse(args("serve --buffer-lines 0")).unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
        assert!(matches!(
            parse(args("attach --model-listen x")),
            Err(CliError::UnknownFlag { .. })
        ));
        assert!(matches!(
            parse(args("attach --socket")),
            Err(CliError::MissingValue(_))
        ));
        assert!(matches!(parse(args("")), Err(CliError::MissingCommand)));
    }
}
