use rc_config::Settings;
use session_manager::{Application, SERVICE};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let _telemetry = rc_telemetry::init(SERVICE, &settings.telemetry)?;
    Application::build(settings)
        .await?
        .run_until_stopped(rc_runtime::shutdown_signal())
        .await
}
