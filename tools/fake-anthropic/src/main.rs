use anyhow::{bail, Context as _};
use fake_anthropic::{Config, FakeAnthropic, SERVICE};
use rc_config::{LogFormat, TelemetrySettings};

const USAGE: &str = "\
Usage: fake-anthropic [--host HOST] [--port PORT] [--max-logged-requests N] [--workers N]
                      [--log-format json|pretty]

Scripted Anthropic Messages API for tests and key-less local runs (see tools/fake-anthropic/README.md).
Defaults: --host 127.0.0.1 --port 8090 --max-logged-requests 1000 --workers 2 --log-format pretty";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some((config, log_format)) = parse_args(std::env::args().skip(1))? else {
        eprintln!("{USAGE}");
        return Ok(());
    };
    let telemetry = TelemetrySettings {
        log_format,
        ..TelemetrySettings::default()
    };
    let _telemetry = rc_telemetry::init(SERVICE, &telemetry)?;
    FakeAnthropic::bind(&config)
        .with_context(|| format!("binding {}:{}", config.host, config.port))?
        .run_until_stopped(rc_runtime::shutdown_signal())
        .await?;
    Ok(())
}

/// `None` for `--help`. A handful of flags does not justify an argument-parsing dependency.
fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> anyhow::Result<Option<(Config, LogFormat)>> {
    let mut config = Config::default();
    // A developer tool read in a terminal; `--log-format json` for log shipping.
    let mut log_format = LogFormat::Pretty;
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        match flag.as_str() {
            "--host" => config.host = value,
            "--port" => config.port = value.parse().context("--port")?,
            "--max-logged-requests" => {
                config.max_logged_requests = value.parse().context("--max-logged-requests")?;
            }
            "--workers" => config.workers = value.parse().context("--workers")?,
            "--log-format" => {
                log_format = match value.as_str() {
                    "json" => LogFormat::Json,
                    "pretty" => LogFormat::Pretty,
                    other => bail!("--log-format must be json or pretty, got {other}"),
                }
            }
            other => bail!("unknown argument {other}\n\n{USAGE}"),
        }
    }
    Ok(Some((config, log_format)))
}
