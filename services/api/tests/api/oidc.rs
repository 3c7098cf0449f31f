//! Login through a real OpenID provider (panva's oidc-provider, started per test).

use crate::helpers::{spawn_app_with, Options, TestApp, PUBLIC_URL};
use rc_testkit::oidc::{OidcClient, OidcProvider};
use reqwest::StatusCode;

const CLIENT_ID: &str = "remote-claude";
const CLIENT_SECRET: &str = "test-secret";

async fn app_with_provider(allowed_domains: Vec<String>) -> (TestApp, OidcProvider) {
    let callback = format!("{PUBLIC_URL}/api/v1/auth/oidc/callback");
    let provider = OidcProvider::start(&[OidcClient::confidential(
        CLIENT_ID,
        CLIENT_SECRET,
        &callback,
    )])
    .await
    .expect("provider starts");
    let oidc = rc_config::OidcSettings {
        issuer_url: provider.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(rc_config::Secret::new(CLIENT_SECRET)),
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
    };
    let app = spawn_app_with(Options {
        oidc: Some(oidc),
        allowed_domains,
        ..Options::default()
    })
    .await;
    (app, provider)
}

/// Runs the browser flow; returns the api's final response to the callback.
async fn login(app: &TestApp, provider: &OidcProvider, login: &str) -> reqwest::Response {
    let res = app
        .browser
        .get(app.url("/api/v1/auth/oidc/login?return_to=/sessions/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let auth_url = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        auth_url.contains("code_challenge_method=S256"),
        "{auth_url}"
    );
    assert!(auth_url.contains("nonce="), "{auth_url}");
    let callback = provider
        .login_via_browserless(&auth_url, login)
        .await
        .expect("provider login");
    // The callback URL names the public URL; call the test server at the same path.
    let local = app.url(&format!(
        "{}?{}",
        callback.path(),
        callback.query().unwrap_or_default()
    ));
    app.browser.get(local).send().await.unwrap()
}

#[tokio::test]
async fn oidc_login_creates_the_first_user_as_owner_and_sets_a_session() {
    let (mut app, provider) = app_with_provider(vec![]).await;
    let res = login(&app, &provider, "alice@corp.example").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/sessions/abc");
    let (status, me) = app
        .browser_call(reqwest::Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["email"], "alice@corp.example");
    assert_eq!(me["organizations"][0]["role"], "owner");
    app.csrf = me["csrf_token"].as_str().map(str::to_owned);
    let issuer: Option<String> = sqlx::query_scalar("SELECT oidc_issuer FROM users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(issuer.as_deref(), Some(provider.issuer.as_str()));
    // Second login of the same person: same user, no new organisation.
    let res = login(&app, &provider, "alice@corp.example").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let orgs: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!((users, orgs), (1, 1));
    // A replayed callback (state already used) fails clearly.
    let (status, _) = app
        .browser_call(
            reqwest::Method::GET,
            "/api/v1/auth/oidc/callback?code=x&state=reused",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn unverified_email_and_disallowed_domain_are_refused_with_a_message() {
    let (app, provider) = app_with_provider(vec!["corp.example".into()]).await;
    let res = login(&app, &provider, "unverified-bob@corp.example").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/login?error=") && location.contains("not+verified"),
        "{location}"
    );
    assert!(location.contains("code=login_failed"), "{location}");

    let res = login(&app, &provider, "mallory@elsewhere.example").await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("not+allowed"), "{location}");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn identity_provider_down_gives_a_clear_error() {
    let oidc = rc_config::OidcSettings {
        issuer_url: "http://127.0.0.1:1".into(),
        client_id: CLIENT_ID.into(),
        client_secret: None,
        scopes: vec!["openid".into()],
    };
    let app = spawn_app_with(Options {
        oidc: Some(oidc),
        ..Options::default()
    })
    .await;
    let res = app
        .browser
        .get(app.url("/api/v1/auth/oidc/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(
        location.contains("identity+provider+is+unreachable")
            && location.contains("code=service_unavailable"),
        "{location}"
    );
    // With SSO configured the dev login is off.
    let res = app
        .browser
        .post(app.url("/api/v1/auth/dev-login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_reassigned_email_does_not_take_over_the_old_account() {
    let (app, provider) = app_with_provider(vec![]).await;
    let res = login(&app, &provider, "alice@corp.example").await;
    assert_eq!(res.headers()["location"], "/sessions/abc");
    // The provider now maps alice@corp.example to a different subject (a new employee got the
    // address): simulate by re-binding the stored account to another subject.
    sqlx::query("UPDATE users SET oidc_subject = 'someone-else'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let res = login(&app, &provider, "alice@corp.example").await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("different+account") && location.contains("code=login_failed"),
        "{location}"
    );
    let subject: String = sqlx::query_scalar("SELECT oidc_subject FROM users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(subject, "someone-else", "the account was re-bound");
}

#[tokio::test]
async fn a_callback_from_another_browser_is_refused() {
    let (app, provider) = app_with_provider(vec![]).await;
    // The attacker starts a login in their own browser and completes it at the provider...
    let attacker = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = attacker
        .get(app.url("/api/v1/auth/oidc/login"))
        .send()
        .await
        .unwrap();
    let auth_url = res.headers()["location"].to_str().unwrap().to_owned();
    let callback = provider
        .login_via_browserless(&auth_url, "mallory@corp.example")
        .await
        .unwrap();
    // ...then gets the victim's browser to open the callback.
    let victim = app
        .browser
        .get(app.url(&format!(
            "{}?{}",
            callback.path(),
            callback.query().unwrap_or_default()
        )))
        .send()
        .await
        .unwrap();
    let location = victim.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("another+browser"), "{location}");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(users, 0, "the victim was logged in as the attacker");
}
