//! Layering, secrets and the example file. figment's `Jail` gives each test its own
//! environment and working directory, so these never see the developer's `RC_*` variables.

// figment::Jail closures return figment::Error, which is large; that is figment's API.
#![allow(clippy::result_large_err)]

use figment::Jail;
use rc_config::{LogFormat, Profile, Settings};
use std::path::{Path, PathBuf};

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/remote-claude.example.toml")
}

fn keys(value: &toml::Value, prefix: &str, out: &mut Vec<String>) {
    if let toml::Value::Table(table) = value {
        for (k, v) in table {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_table() {
                keys(v, &path, out);
            } else {
                out.push(path);
            }
        }
    }
}

#[test]
fn zero_configuration_loads_defaults() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        let s = Settings::load().expect("defaults load");
        assert_eq!(s.profile, Profile::Dev);
        assert_eq!(s.api.port, 8080);
        assert_eq!(s.session_manager.port, 8081);
        assert!(s.dev_login_enabled());
        Ok(())
    });
}

#[test]
fn example_file_matches_defaults_key_for_key() {
    let example = std::fs::read_to_string(example_path()).expect("example exists");
    let example_value: toml::Value = toml::from_str(&example).expect("example parses");
    let default_value = toml::Value::try_from(Settings::default()).expect("defaults serialise");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    keys(&example_value, "", &mut a);
    keys(&default_value, "", &mut b);
    a.sort();
    b.sort();
    assert_eq!(
        a, b,
        "config/remote-claude.example.toml and Settings::default() list different keys"
    );

    Jail::expect_with(|jail| {
        jail.clear_env();
        let loaded = Settings::load_from(Some(&example_path())).expect("example loads");
        assert_eq!(
            toml::Value::try_from(&loaded).expect("serialise"),
            default_value,
            "a value in the example differs from its default"
        );
        Ok(())
    });
}

#[test]
fn env_overrides_file_with_double_underscore_nesting() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.create_file(
            "rc.toml",
            "[api]\nport = 9000\n[telemetry]\nlog_format = \"pretty\"\n",
        )?;
        jail.set_env("RC_CONFIG_FILE", "rc.toml");
        jail.set_env("RC_API__PORT", "9100");
        jail.set_env("RC_API__RATE_LIMIT__BURST", "7");
        let s = Settings::load().expect("loads");
        assert_eq!(s.api.port, 9100);
        assert_eq!(s.api.rate_limit.burst, 7);
        assert_eq!(s.telemetry.log_format, LogFormat::Pretty);
        Ok(())
    });
}

#[test]
fn unknown_keys_are_rejected_naming_the_key() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("RC_DATABASE__MAX_CONECTIONS", "3");
        let err = Settings::load().expect_err("typo must fail").to_string();
        assert!(err.contains("max_conections"), "{err}");

        jail.clear_env();
        jail.create_file("bad.toml", "[api]\nprot = 1\n")?;
        let err = Settings::load_from(Some(Path::new("bad.toml")))
            .expect_err("typo")
            .to_string();
        assert!(err.contains("prot"), "{err}");
        Ok(())
    });
}

#[test]
fn wrong_types_and_bad_values_name_the_key() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("RC_API__PORT", "eighty");
        let err = Settings::load().expect_err("bad port").to_string();
        assert!(err.to_lowercase().contains("api.port"), "{err}");

        jail.clear_env();
        jail.set_env("RC_API__PUBLIC_URL", "not a url");
        let err = Settings::load().expect_err("bad url").to_string();
        assert!(err.contains("api.public_url"), "{err}");
        Ok(())
    });
}

#[test]
fn secret_file_variants_are_read_and_redacted() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.create_file("db-url", "postgres://u:s3cr3t@db/rc\n")?;
        jail.set_env("RC_DATABASE__URL_FILE", "db-url");
        let s = Settings::load().expect("loads");
        assert_eq!(s.database.url.expose(), "postgres://u:s3cr3t@db/rc");
        let debug = format!("{s:?}");
        assert!(!debug.contains("s3cr3t"), "Debug leaks a secret: {debug}");
        assert!(
            !debug.contains("guest:guest"),
            "Debug leaks the AMQP password"
        );

        jail.set_env("RC_REDIS__URL_FILE", "missing-file");
        let err = Settings::load()
            .expect_err("missing secret file")
            .to_string();
        assert!(err.contains("RC_REDIS__URL_FILE"), "{err}");
        Ok(())
    });
}

#[test]
fn prod_profile_turns_off_dev_login_and_insecure_cookies() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("RC_PROFILE", "prod");
        let s = Settings::load().expect("loads");
        assert!(!s.dev_login_enabled());
        assert!(s.cookie_secure());
        Ok(())
    });
}

/// compose.prod.yaml gives the api and the worker the keys file deploy/prod/gen-secrets.sh
/// writes as their config file: it must load and validate, or production could not mint or
/// verify approval links nor send pushes.
#[test]
fn the_production_keys_file_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Jail::expect_with(|jail| {
        jail.clear_env();
        let dir = jail.directory().join("secrets");
        let status = std::process::Command::new("bash")
            .arg(root.join("deploy/prod/gen-secrets.sh"))
            .arg(&dir)
            .env("PUSH_SUBJECT", "mailto:ops@example.com")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("bash runs gen-secrets.sh");
        assert!(status.success(), "gen-secrets.sh failed");
        let s = Settings::load_from(Some(&dir.join("rc_keys_toml"))).expect("the keys file loads");
        assert_eq!(s.approvals.link_keys.len(), 1);
        assert!(s.approvals.link_keys[0].secret.expose().len() >= 64);
        assert!(s.push.enabled(), "push is on with the generated VAPID key");
        assert_eq!(s.push.subject, "mailto:ops@example.com");
        Ok(())
    });
}
