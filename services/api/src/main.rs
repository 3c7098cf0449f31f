use api::startup::Application;
use rc_config::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let _telemetry = rc_telemetry::init(api::SERVICE, &settings.telemetry)?;
    let app = Application::build(settings).await?;
    app.run_until_stopped(rc_runtime::shutdown_signal()).await
}
