//! The test OpenID provider behaves like a real one: discovery, the authorization-code flow
//! with PKCE (enforced), client_secret_basic, userinfo with email/email_verified.

use anyhow::{bail, ensure, Context as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rc_testkit::oidc::{OidcClient, OidcProvider};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

const CLIENT_ID: &str = "rc-test-web";
const CLIENT_SECRET: &str = "rc-test-secret";
// Never contacted: the login stops at the first redirect that leaves the provider.
const REDIRECT_URI: &str = "http://127.0.0.1:9/auth/callback";

async fn start() -> anyhow::Result<OidcProvider> {
    OidcProvider::start(&[
        OidcClient::confidential(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI),
        OidcClient::public("rc-test-spa", "http://127.0.0.1:9/spa/callback"),
    ])
    .await
}

async fn discovery(op: &OidcProvider) -> anyhow::Result<Value> {
    let doc: Value = reqwest::get(op.discovery_url())
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(doc)
}

fn endpoint(doc: &Value, name: &str) -> anyhow::Result<String> {
    doc[name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("discovery lacks {name}: {doc}"))
}

/// One authorization request as a relying party would build it.
struct AuthRequest {
    url: String,
    state: String,
    nonce: String,
    verifier: String,
}

fn random_token() -> String {
    // 64 chars of [0-9a-f]: a valid PKCE verifier (43-128 unreserved chars).
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn auth_request(doc: &Value) -> anyhow::Result<AuthRequest> {
    let verifier = random_token();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random_token();
    let nonce = random_token();
    let mut url = Url::parse(&endpoint(doc, "authorization_endpoint")?)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(AuthRequest {
        url: url.into(),
        state,
        nonce,
        verifier,
    })
}

/// Logs `login` in and returns the authorization code, after checking the callback.
async fn login(op: &OidcProvider, req: &AuthRequest, login: &str) -> anyhow::Result<String> {
    let callback = op.login_via_browserless(&req.url, login).await?;
    ensure!(
        callback.as_str().starts_with(REDIRECT_URI),
        "unexpected callback {callback}"
    );
    let params: std::collections::HashMap<String, String> =
        callback.query_pairs().into_owned().collect();
    ensure!(
        params.get("state") == Some(&req.state),
        "state mismatch: {callback}"
    );
    ensure!(
        params.get("iss") == Some(&op.issuer),
        "iss mismatch: {callback}"
    );
    params
        .get("code")
        .cloned()
        .with_context(|| format!("no code in {callback}"))
}

/// POSTs to the token endpoint with client_secret_basic; returns (HTTP status, JSON body).
async fn exchange(
    doc: &Value,
    code: &str,
    verifier: Option<&str>,
) -> anyhow::Result<(reqwest::StatusCode, Value)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let response = reqwest::Client::new()
        .post(endpoint(doc, "token_endpoint")?)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&form)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    Ok((status, body))
}

fn jwt_payload(jwt: &str) -> anyhow::Result<Value> {
    let parts: Vec<&str> = jwt.split('.').collect();
    ensure!(parts.len() == 3, "not a JWS: {jwt}");
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1])?)?)
}

/// Full code flow for `login`; returns the userinfo document.
async fn code_flow_userinfo(
    op: &OidcProvider,
    doc: &Value,
    login_name: &str,
) -> anyhow::Result<Value> {
    let req = auth_request(doc)?;
    let code = login(op, &req, login_name).await?;
    let (status, tokens) = exchange(doc, &code, Some(&req.verifier)).await?;
    ensure!(
        status.is_success(),
        "token exchange failed: {status} {tokens}"
    );

    let id_token = tokens["id_token"].as_str().context("no id_token")?;
    let access_token = tokens["access_token"].as_str().context("no access_token")?;
    ensure!(!access_token.is_empty());
    let claims = jwt_payload(id_token)?;
    ensure!(
        claims["iss"] == op.issuer.as_str(),
        "id_token iss: {claims}"
    );
    ensure!(claims["aud"] == CLIENT_ID, "id_token aud: {claims}");
    ensure!(
        claims["nonce"] == req.nonce.as_str(),
        "id_token nonce: {claims}"
    );
    ensure!(claims["sub"] == login_name, "id_token sub: {claims}");

    let userinfo: Value = reqwest::Client::new()
        .get(endpoint(doc, "userinfo_endpoint")?)
        .bearer_auth(access_token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(userinfo)
}

#[tokio::test]
async fn discovery_login_token_and_userinfo() -> anyhow::Result<()> {
    let op = start().await?;
    let doc = discovery(&op).await?;
    ensure!(
        doc["issuer"] == op.issuer.as_str(),
        "issuer {} vs {}",
        doc["issuer"],
        op.issuer
    );
    ensure!(
        doc["code_challenge_methods_supported"] == serde_json::json!(["S256"]),
        "{doc}"
    );

    let userinfo = code_flow_userinfo(&op, &doc, "alice").await?;
    ensure!(userinfo["sub"] == "alice", "{userinfo}");
    ensure!(userinfo["email"] == "alice@example.com", "{userinfo}");
    ensure!(userinfo["email_verified"] == true, "{userinfo}");
    ensure!(userinfo["name"] == "alice", "{userinfo}");

    // A login name that is already an e-mail address is used as is.
    let userinfo = code_flow_userinfo(&op, &doc, "carol@corp.test").await?;
    ensure!(userinfo["email"] == "carol@corp.test", "{userinfo}");
    ensure!(userinfo["email_verified"] == true, "{userinfo}");
    Ok(())
}

#[tokio::test]
async fn unverified_login_has_unverified_email() -> anyhow::Result<()> {
    let op = start().await?;
    let doc = discovery(&op).await?;
    let userinfo = code_flow_userinfo(&op, &doc, "unverified-bob").await?;
    ensure!(
        userinfo["email"] == "unverified-bob@example.com",
        "{userinfo}"
    );
    ensure!(userinfo["email_verified"] == false, "{userinfo}");
    Ok(())
}

#[tokio::test]
async fn pkce_is_enforced() -> anyhow::Result<()> {
    let op = start().await?;
    let doc = discovery(&op).await?;

    // The code exchange without the verifier fails.
    let req = auth_request(&doc)?;
    let code = login(&op, &req, "dave").await?;
    let (status, body) = exchange(&doc, &code, None).await?;
    ensure!(
        status.is_client_error(),
        "exchange without verifier: {status} {body}"
    );
    ensure!(body["access_token"].is_null(), "{body}");

    // So does one with a wrong verifier.
    let req = auth_request(&doc)?;
    let code = login(&op, &req, "dave").await?;
    let (status, body) = exchange(&doc, &code, Some(&random_token())).await?;
    ensure!(
        status.is_client_error(),
        "exchange with wrong verifier: {status} {body}"
    );

    // And an authorization request without a code_challenge is refused at the provider.
    let mut url = Url::parse(&req.url)?;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let callback = op.login_via_browserless(url.as_str(), "dave").await?;
    let error = callback
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned());
    if error.as_deref() != Some("invalid_request") {
        bail!("authorization without PKCE was not refused: {callback}");
    }
    Ok(())
}

#[tokio::test]
async fn start_failure_reports_provider_stderr() -> anyhow::Result<()> {
    let bad = OidcClient {
        client_id: "no-redirects".to_owned(),
        client_secret: None,
        redirect_uris: vec![],
    };
    let Err(err) = OidcProvider::start(&[bad]).await else {
        bail!("a client without redirect URIs was accepted");
    };
    let message = format!("{err:#}");
    ensure!(
        message.contains("exited before it was ready")
            && message.contains("redirect_uris must be a non-empty array"),
        "{message}"
    );
    Ok(())
}
