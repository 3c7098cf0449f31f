//! Input validation helpers; every error names its field.

use rc_errors::{AppError, AppResult};

pub fn name(field: &str, value: &str) -> AppResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 {
        return Err(AppError::validation(field, "must be 1 to 100 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(AppError::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A deliberately simple check: one `@`, a dot in the domain, no spaces. The identity
/// provider or the invitee's login is the real verification.
pub fn email(field: &str, value: &str) -> AppResult<String> {
    let email = value.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@'));
    if !valid {
        return Err(AppError::validation(field, "is not a valid e-mail address"));
    }
    Ok(email)
}

pub fn in_range(field: &str, value: i64, min: i64, max: i64) -> AppResult<()> {
    if value < min || value > max {
        return Err(AppError::validation(
            field,
            format!("must be between {min} and {max}"),
        ));
    }
    Ok(())
}

/// Git remote URLs: https/http/ssh/git URLs, or scp-like `user@host:path`.
pub fn repository_url(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    let bad = || {
        AppError::validation(
            field,
            "must be a git URL (https://host/org/repo.git or git@host:org/repo.git)",
        )
    };
    // A leading `-` would be read as an option by git once the URL reaches a command line.
    if value.len() > 2048
        || value.starts_with('-')
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad());
    }
    if let Ok(url) = url::Url::parse(value) {
        let ok_scheme = matches!(url.scheme(), "https" | "http" | "ssh" | "git");
        let has_path = !url.path().trim_matches('/').is_empty();
        if ok_scheme && url.host_str().is_some_and(|h| !h.is_empty()) && has_path {
            // Credentials in the URL would be stored and shown to every viewer of the session.
            if url.password().is_some() || (!url.username().is_empty() && url.scheme() != "ssh") {
                return Err(AppError::validation(
                    field,
                    "must not embed credentials; use the organisation's git credentials",
                ));
            }
            return Ok(value.to_owned());
        }
        return Err(bad());
    }
    // scp-like: user@host:path (no scheme)
    match value.split_once(':') {
        Some((user_host, path))
            if user_host.contains('@') && !path.is_empty() && !path.starts_with("//") =>
        {
            Ok(value.to_owned())
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls() {
        for ok in [
            "https://github.com/a/b.git",
            "git@github.com:a/b.git",
            "ssh://git@host/x/y",
            "http://gitea.local/x/y",
        ] {
            assert!(repository_url("r", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "not a url",
            "ftp://host/x",
            "https://",
            "file:///etc/passwd",
            "https://u:p@host/x/y",
            "https://ghp_token@github.com/a/b",
            "https://host",
            "--upload-pack=x@h:p",
            "-x@host:repo",
        ] {
            let err = repository_url("repository_url", bad).expect_err(bad);
            assert_eq!(err.field.as_deref(), Some("repository_url"));
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            email("e", " Bob@Example.COM ").expect("valid"),
            "bob@example.com"
        );
        for bad in ["", "bob", "bob@", "@x.com", "a b@x.com", "a@x", "a@@x.com"] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
    }
}
