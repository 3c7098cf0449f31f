//! Seeds the CLI's `~/.claude.json` from the image's template on first start, so the
//! interactive TUI opens without onboarding, theme, trust or API-key dialogs
//! (claude-cli.md §8). The home is a volume: a file the CLI already wrote is never touched.

use std::path::{Path, PathBuf};

/// The template's place in the sandbox image (deploy/sandbox/Dockerfile).
pub const DEFAULT_TEMPLATE: &str = "/etc/remote-claude/claude.json.template";

/// Copies `template` to `$HOME/.claude.json` unless that exists. Returns the file written.
pub fn seed(template: &Path, home: Option<PathBuf>) -> std::io::Result<Option<PathBuf>> {
    let Some(home) = home else {
        return Ok(None);
    };
    let target = home.join(".claude.json");
    if target.exists() || !template.is_file() {
        return Ok(None);
    }
    std::fs::copy(template, &target)?;
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_once_and_never_overwrites() {
        let dir = std::env::temp_dir().join(format!("seed-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let template = dir.join("template.json");
        std::fs::write(&template, r#"{"hasCompletedOnboarding":true}"#).unwrap();
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let written = seed(&template, Some(home.clone())).unwrap();
        assert_eq!(written, Some(home.join(".claude.json")));
        std::fs::write(home.join(".claude.json"), "{\"mine\":1}").unwrap();
        assert_eq!(seed(&template, Some(home.clone())).unwrap(), None);
        assert_eq!(
            std::fs::read_to_string(home.join(".claude.json")).unwrap(),
            "{\"mine\":1}"
        );
        assert_eq!(
            seed(&dir.join("missing"), Some(dir.join("other"))).unwrap(),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
