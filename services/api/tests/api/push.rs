//! Web Push subscriptions over REST and GraphQL (the worker's sending is tested in
//! services/worker/tests/push.rs against a local push service).

use crate::helpers::{assert_error, spawn_app};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// web-push's own test key.
const VAPID_PRIVATE: &str = "IQ9Ur0ykXoHS9gzfYX0aBjy9lvdrjx_PFUXmie9YRcY";

fn subscription(endpoint: &str) -> Value {
    // Any valid P-256 point will do as the browser's key.
    json!({
        "endpoint": endpoint,
        "expirationTime": null,
        "keys": {
            "p256dh": rc_domain::push::public_key(VAPID_PRIVATE).unwrap(),
            "auth": B64.encode([9u8; 16]),
        }
    })
}

#[tokio::test]
async fn push_config_and_own_subscriptions_for_every_role() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let owner_token = app.member_token(org, owner, Role::Owner).await;
    let (_, viewer) = app.user_with_role(org, Role::Viewer).await;
    let (_, stranger) = app.other_org().await;

    // Without a key push is off.
    let (status, config) = app
        .token_call(&viewer, Method::GET, "/api/v1/push/config", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(config, json!({"enabled": false, "public_key": null}));
    let res = reqwest::get(app.url("/api/v1/push/config")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    app.settings.push.vapid_private_key = rc_config::Secret::new(VAPID_PRIVATE);
    app.settings.push.subject = "mailto:ops@example.com".into();
    app.restart().await;
    let (_, config) = app
        .token_call(&viewer, Method::GET, "/api/v1/push/config", None)
        .await;
    assert_eq!(config["enabled"], true);
    let public = config["public_key"].as_str().unwrap();
    assert_eq!(public, rc_domain::push::public_key(VAPID_PRIVATE).unwrap());
    assert_eq!(B64.decode(public).unwrap().len(), 65);

    // A viewer subscribes (PushSubscription.toJSON() as it is); the keys are not echoed.
    let endpoint = "https://push.example.com/v/viewer-1";
    let (status, created) = app
        .token_call(
            &viewer,
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(subscription(endpoint)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["endpoint"], endpoint);
    assert_eq!(created["failure_count"], 0);
    assert!(created["last_success_at"].is_null());
    assert!(created.get("keys").is_none() && created.get("p256dh").is_none());
    // The same endpoint again replaces, never duplicates.
    let (status, again) = app
        .token_call(
            &viewer,
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(subscription(endpoint)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    let (_, mine) = app
        .token_call(&viewer, Method::GET, "/api/v1/push/subscriptions", None)
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let (_, owners) = app
        .token_call(
            &owner_token,
            Method::GET,
            "/api/v1/push/subscriptions",
            None,
        )
        .await;
    assert_eq!(
        owners,
        json!([]),
        "nobody sees another user's subscriptions"
    );

    // Validation names the field.
    let mut bad_p256dh = subscription("https://push.example.com/v/x");
    bad_p256dh["keys"]["p256dh"] = json!(B64.encode([4u8; 65]));
    let mut bad_auth = subscription("https://push.example.com/v/x");
    bad_auth["keys"]["auth"] = json!("short");
    let cases = [
        (bad_p256dh, "keys.p256dh"),
        (bad_auth, "keys.auth"),
        (subscription("ftp://push.example.com/x"), "endpoint"),
    ];
    for (bad, field) in cases {
        let (status, body) = app
            .token_call(
                &viewer,
                Method::POST,
                "/api/v1/push/subscriptions",
                Some(bad),
            )
            .await;
        assert_error(status, &body, 400, "validation_failed");
        assert_eq!(body["error"]["field"], field, "{body}");
    }

    // Only the subscriber removes it: another user, another organisation: 404.
    let gone = json!({ "endpoint": endpoint });
    for token in [&owner_token, &stranger] {
        let (status, body) = app
            .token_call(
                token,
                Method::DELETE,
                "/api/v1/push/subscriptions",
                Some(gone.clone()),
            )
            .await;
        assert_error(status, &body, 404, "not_found");
    }
    let (status, _) = app
        .token_call(
            &viewer,
            Method::DELETE,
            "/api/v1/push/subscriptions",
            Some(gone.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app
        .token_call(
            &viewer,
            Method::DELETE,
            "/api/v1/push/subscriptions",
            Some(gone),
        )
        .await;
    assert_error(status, &body, 404, "not_found");

    // GraphQL: the same use cases.
    let gql = |token: String, query: &'static str, variables: Value| {
        let url = app.url("/graphql");
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let config = gql(
        viewer.clone(),
        "{ pushConfig { enabled publicKey } }",
        json!({}),
    )
    .await;
    assert_eq!(
        config["data"]["pushConfig"]["publicKey"], public,
        "{config}"
    );
    let input = json!({
        "endpoint": "https://push.example.com/v/gql",
        "keys": { "p256dh": rc_domain::push::public_key(VAPID_PRIVATE).unwrap(), "auth": B64.encode([1u8; 16]) }
    });
    let created = gql(
        owner_token.clone(),
        "mutation($i: SubscribePush!) { subscribePush(input: $i) { id endpoint failureCount } }",
        json!({ "i": input }),
    )
    .await;
    assert_eq!(
        created["data"]["subscribePush"]["endpoint"], "https://push.example.com/v/gql",
        "{created}"
    );
    let listed = gql(
        owner_token.clone(),
        "{ pushSubscriptions { endpoint } }",
        json!({}),
    )
    .await;
    assert_eq!(
        listed["data"]["pushSubscriptions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let bad = gql(
        owner_token.clone(),
        "mutation($i: SubscribePush!) { subscribePush(input: $i) { id } }",
        json!({ "i": { "endpoint": "https://push.example.com/v/y", "keys": { "p256dh": "AAAA", "auth": B64.encode([1u8; 16]) } } }),
    )
    .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["field"], "keys.p256dh",
        "{bad}"
    );
    let removed = gql(
        owner_token.clone(),
        "mutation($i: UnsubscribePush!) { unsubscribePush(input: $i) }",
        json!({ "i": { "endpoint": "https://push.example.com/v/gql" } }),
    )
    .await;
    assert_eq!(removed["data"]["unsubscribePush"], true, "{removed}");

    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|a| a == "push.subscribe"), "{actions:?}");
    assert!(
        actions.iter().any(|a| a == "push.unsubscribe"),
        "{actions:?}"
    );
}
