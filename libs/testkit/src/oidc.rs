//! A real OpenID Connect provider for login tests.
//!
//! [`OidcProvider::start`] runs `tools/oidc-provider/server.mjs` (panva's `oidc-provider`,
//! the OpenID-certified implementation) on a free port with the given clients. Its
//! development login page accepts any login name, so tests pick the user by name:
//! the e-mail is the login itself when it contains `@`, else `<login>@example.com`,
//! and `email_verified` is `false` exactly when the login starts with `unverified`.
//!
//! [`OidcProvider::login_via_browserless`] plays the browser: it follows the provider's
//! redirects, fills in the login and consent forms and returns the relying party's
//! callback URL (with `code`, `state` and `iss`).
//!
//! Needs `node` on `PATH` (or `REMOTE_CLAUDE_NODE`) and `npm ci --prefix tools/oidc-provider`
//! (`scripts/test` does that).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use url::Url;

/// How long the provider may take to print its ready line (it is usually ready in 1-3 s).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound on requests in one login (a normal login takes about 8).
const MAX_LOGIN_STEPS: usize = 25;
/// How much of the provider's stderr is kept for error messages.
const STDERR_KEEP: usize = 16 * 1024;

/// A client registered at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    pub client_id: String,
    /// `Some` → confidential client (`client_secret_basic`); `None` → public client (no auth, PKCE only).
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
}

impl OidcClient {
    /// A confidential client (a server-side relying party) using `client_secret_basic`.
    pub fn confidential(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: Some(client_secret.to_owned()),
            redirect_uris: vec![redirect_uri.to_owned()],
        }
    }

    /// A public client (e.g. the SPA): no secret, token endpoint auth method `none`.
    pub fn public(client_id: &str, redirect_uri: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: None,
            redirect_uris: vec![redirect_uri.to_owned()],
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "client_id": self.client_id,
            "redirect_uris": self.redirect_uris,
        });
        if let Some(secret) = &self.client_secret {
            v["client_secret"] = serde_json::Value::String(secret.clone());
        }
        v
    }
}

/// A running provider process; killed when dropped.
#[derive(Debug)]
pub struct OidcProvider {
    /// Issuer URL, e.g. `http://127.0.0.1:41234` (no trailing slash). Compared byte for byte
    /// by relying parties, so use exactly this string.
    pub issuer: String,
    child: Child,
    // Held open on purpose: the provider exits when its stdin closes, so it cannot outlive
    // this test process even if the process is killed before `Drop` runs.
    _stdin: Option<ChildStdin>,
    // Kept so the provider never sees a closed stdout pipe.
    _stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<String>>,
}

impl OidcProvider {
    /// Starts the provider on a free port of 127.0.0.1 and waits until it is ready.
    pub async fn start(clients: &[OidcClient]) -> anyhow::Result<Self> {
        let dir = repo_root().join("tools/oidc-provider");
        let script = dir.join("server.mjs");
        if !dir.join("node_modules/oidc-provider").is_dir() {
            bail!(
                "{} is not installed; run `npm ci --prefix tools/oidc-provider` (scripts/test does)",
                dir.join("node_modules/oidc-provider").display()
            );
        }
        let clients_json =
            serde_json::Value::Array(clients.iter().map(OidcClient::to_json).collect()).to_string();
        let node = std::env::var("REMOTE_CLAUDE_NODE").unwrap_or_else(|_| "node".to_owned());

        let mut child = Command::new(&node)
            .arg(&script)
            .args(["--port", "0", "--clients", &clients_json])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawning `{node} {}`", script.display()))?;

        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().context("child stdout")?);
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            tokio::spawn(collect_stderr(pipe, Arc::clone(&stderr)));
        }

        let ready = tokio::time::timeout(START_TIMEOUT, async {
            let mut line = String::new();
            loop {
                line.clear();
                if stdout.read_line(&mut line).await? == 0 {
                    return Ok::<_, anyhow::Error>(None);
                }
                if let Some(issuer) = line.trim().strip_prefix("OIDC_PROVIDER_READY ") {
                    return Ok(Some(issuer.to_owned()));
                }
            }
        })
        .await;

        let issuer = match ready {
            Ok(Ok(Some(issuer))) => issuer,
            Ok(Ok(None)) => {
                let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                // Give the stderr collector a moment to drain the pipe.
                tokio::time::sleep(Duration::from_millis(100)).await;
                bail!(
                    "oidc provider exited before it was ready ({status:?}); stderr:\n{}",
                    lock(&stderr)
                );
            }
            Ok(Err(e)) => {
                bail!(
                    "reading oidc provider stdout: {e}; stderr:\n{}",
                    lock(&stderr)
                )
            }
            Err(_) => bail!(
                "oidc provider not ready within {START_TIMEOUT:?}; stderr:\n{}",
                lock(&stderr)
            ),
        };

        Ok(Self {
            issuer,
            child,
            _stdin: stdin,
            _stdout: stdout,
            stderr,
        })
    }

    /// `<issuer>/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// What the provider wrote to stderr so far (last 16 KiB), for debugging failed tests.
    pub fn stderr_tail(&self) -> String {
        lock(&self.stderr).clone()
    }

    /// Stops the provider and waits for it to exit (dropping it kills it too).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.start_kill().ok();
        self.child.wait().await?;
        Ok(())
    }

    /// Logs `login` in like a browser would, starting at `authorization_url` (built by the
    /// relying party, with PKCE, state and nonce), and returns the first redirect target that
    /// leaves the provider: normally the relying party's callback URL with `code`, `state`
    /// and `iss` (or `error` when the provider refuses the request).
    ///
    /// Each call uses a fresh cookie jar, i.e. a new browser with no provider session. The
    /// password is ignored by the provider's development login page.
    pub async fn login_via_browserless(
        &self,
        authorization_url: &str,
        login: &str,
    ) -> anyhow::Result<Url> {
        let provider_origin = Url::parse(&self.issuer)?.origin();
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?;

        let mut url = Url::parse(authorization_url).context("authorization_url")?;
        if url.origin() != provider_origin {
            bail!(
                "authorization URL {url} is not on the provider {}",
                self.issuer
            );
        }
        let mut form: Option<Vec<(String, String)>> = None;

        for _ in 0..MAX_LOGIN_STEPS {
            let request = match form.take() {
                Some(fields) => http.post(url.clone()).form(&fields),
                None => http.get(url.clone()),
            };
            let response = request
                .send()
                .await
                .with_context(|| format!("request to {url}"))?;
            let status = response.status();

            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .context("redirect without Location")?
                    .to_str()?
                    .to_owned();
                let next = url
                    .join(&location)
                    .with_context(|| format!("bad Location {location:?}"))?;
                if next.origin() != provider_origin {
                    return Ok(next);
                }
                url = next;
                continue;
            }

            let body = response.text().await.unwrap_or_default();
            if !status.is_success() {
                bail!("{url} answered {status}: {}", snippet(&body));
            }
            let page = find_post_form(&body).with_context(|| {
                format!("{url} answered {status} without a form: {}", snippet(&body))
            })?;
            let action = match &page.action {
                Some(a) if !a.is_empty() => url.join(a)?,
                _ => url.clone(),
            };
            let prompt = page
                .fields
                .iter()
                .find(|(n, _)| n == "prompt")
                .map(|(_, v)| v.as_str());
            if !matches!(prompt, Some("login" | "consent")) {
                bail!(
                    "{url}: unexpected form (prompt {prompt:?}): {}",
                    snippet(&body)
                );
            }
            // Submit like a browser: hidden fields as they are, the text/password boxes filled in.
            let mut fields = page.fields;
            for name in &page.text_inputs {
                fields.push((name.clone(), login.to_owned()));
            }
            for name in &page.password_inputs {
                fields.push((name.clone(), "x".to_owned()));
            }
            url = action;
            form = Some(fields);
        }
        bail!("login did not leave the provider within {MAX_LOGIN_STEPS} requests (last: {url})")
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        // `kill_on_drop` also does this; being explicit keeps it obvious.
        self.child.start_kill().ok();
    }
}

/// `<repo>/`: this crate lives in `<repo>/libs/testkit`.
fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    root.canonicalize().unwrap_or(root)
}

fn lock(m: &Mutex<String>) -> std::sync::MutexGuard<'_, String> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn collect_stderr(mut pipe: tokio::process::ChildStderr, keep: Arc<Mutex<String>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let mut s = lock(&keep);
        s.push_str(&String::from_utf8_lossy(&buf[..n]));
        if s.len() > STDERR_KEEP {
            let mut cut = s.len() - STDERR_KEEP;
            while !s.is_char_boundary(cut) {
                cut += 1;
            }
            s.drain(..cut);
        }
    }
}

fn snippet(body: &str) -> String {
    const MAX: usize = 2000;
    if body.len() <= MAX {
        return body.to_owned();
    }
    let mut end = MAX;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &body[..end], body.len())
}

/// The first `<form method="post">` of a page, reduced to what a browser would submit.
#[derive(Debug, Default, PartialEq)]
struct PostForm {
    action: Option<String>,
    /// `type="hidden"` inputs (name, value).
    fields: Vec<(String, String)>,
    /// Names of text-like inputs (filled with the login name).
    text_inputs: Vec<String>,
    /// Names of password inputs.
    password_inputs: Vec<String>,
}

fn find_post_form(html: &str) -> Option<PostForm> {
    let mut pos = 0;
    while let Some((_, end, attrs)) = next_tag(html, pos, "form") {
        pos = end;
        let method = attrs.get("method").map(|m| m.to_ascii_lowercase());
        if method.as_deref() != Some("post") {
            continue;
        }
        let close = find_ci(html, end, "</form").unwrap_or(html.len());
        let inner = &html[end..close];
        let mut form = PostForm {
            action: attrs.get("action").cloned(),
            ..PostForm::default()
        };
        let mut ipos = 0;
        while let Some((_, iend, input)) = next_tag(inner, ipos, "input") {
            ipos = iend;
            let Some(name) = input.get("name").cloned() else {
                continue;
            };
            let kind = input
                .get("type")
                .map(|t| t.to_ascii_lowercase())
                .unwrap_or_else(|| "text".to_owned());
            match kind.as_str() {
                "hidden" => form
                    .fields
                    .push((name, input.get("value").cloned().unwrap_or_default())),
                "password" => form.password_inputs.push(name),
                "text" | "email" => form.text_inputs.push(name),
                _ => {}
            }
        }
        return Some(form);
    }
    None
}

/// Case-insensitive search for ASCII `needle` in `hay[from..]`; returns a byte index.
fn find_ci(hay: &str, from: usize, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    (from..h.len().saturating_sub(n.len()) + 1).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Finds the next `<name ...>` start tag at or after `from`: (start, index after `>`, attributes
/// with lower-cased names and entity-decoded values).
fn next_tag(
    html: &str,
    from: usize,
    name: &str,
) -> Option<(usize, usize, HashMap<String, String>)> {
    let bytes = html.as_bytes();
    let mut pos = from;
    loop {
        let start = find_ci(html, pos, &format!("<{name}"))?;
        let after = start + 1 + name.len();
        // `<form` must not match `<formula`.
        match bytes.get(after) {
            Some(b) if b.is_ascii_whitespace() || *b == b'>' || *b == b'/' => {}
            None => return None,
            _ => {
                pos = after;
                continue;
            }
        }
        let (attrs, end) = parse_attributes(html, after);
        return Some((start, end, attrs));
    }
}

/// Parses attributes from `i` up to the closing `>` of a tag; returns them and the index after `>`.
fn parse_attributes(html: &str, mut i: usize) -> (HashMap<String, String>, usize) {
    let b = html.as_bytes();
    let mut attrs = HashMap::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return (attrs, b.len());
        }
        if b[i] == b'>' {
            return (attrs, i + 1);
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let quote = b[i];
                let v_start = i + 1;
                let v_end = html[v_start..]
                    .bytes()
                    .position(|c| c == quote)
                    .map_or(b.len(), |p| v_start + p);
                value = decode_entities(&html[v_start..v_end]);
                i = (v_end + 1).min(b.len());
            } else {
                let v_start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                value = decode_entities(&html[v_start..i]);
            }
        }
        if !name.is_empty() {
            attrs.entry(name).or_insert(value);
        }
    }
}

/// Decodes the character references that HTML escapers emit in attribute values.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let entity = &rest[1..semi];
            let ch = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            ch.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dev_interaction_login_form() {
        let html = r#"<html><body><a href="/x">abort</a>
<form autocomplete="off" action="http://127.0.0.1:1/interaction/abc?a=1&amp;b=2" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
  <input required type="password" name="password" placeholder="and password" >
  <button type="submit">Sign-in</button>
</form></body></html>"#;
        let form = find_post_form(html).expect("form");
        assert_eq!(
            form.action.as_deref(),
            Some("http://127.0.0.1:1/interaction/abc?a=1&b=2")
        );
        assert_eq!(form.fields, vec![("prompt".to_owned(), "login".to_owned())]);
        assert_eq!(form.text_inputs, vec!["login".to_owned()]);
        assert_eq!(form.password_inputs, vec!["password".to_owned()]);
    }

    #[test]
    fn skips_get_forms_and_similar_tag_names() {
        let html = r#"<formula></formula><FORM method=get action=/s></FORM>
<form METHOD='POST' action='/c'><input type=hidden name=prompt value=consent></form>"#;
        let form = find_post_form(html).expect("form");
        assert_eq!(form.action.as_deref(), Some("/c"));
        assert_eq!(
            form.fields,
            vec![("prompt".to_owned(), "consent".to_owned())]
        );
        assert!(find_post_form("<p>no form</p>").is_none());
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(
            decode_entities("a&amp;b&#39;c&#x2F;d&bogus;&"),
            "a&b'c/d&bogus;&"
        );
    }
}
