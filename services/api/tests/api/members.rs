use crate::helpers::{assert_error, spawn_app};
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn invite_accept_change_role_remove() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (status, inv) = app
        .browser_call(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({ "email": "Carol@Example.com", "role": "member" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["invitation"]["email"], "carol@example.com");
    let secret = inv["token"].as_str().unwrap().to_owned();
    assert!(inv["url"].as_str().unwrap().contains(&secret));
    let (_, list) = app
        .browser_call(Method::GET, "/api/v1/invitations", None)
        .await;
    assert!(
        !list.to_string().contains(&secret),
        "listing leaks the invitation secret"
    );

    // Carol exists in another org; she accepts with her own credentials.
    let (_, dave_token) = app.other_org().await;
    let (status, err) = app
        .token_call(
            &dave_token,
            Method::POST,
            "/api/v1/invitations/accept",
            Some(json!({ "token": secret })),
        )
        .await;
    assert_error(status, &err, 403, "forbidden");
    let carol = app.insert_user("carol@example.com").await;
    let (other_org, _) = app.other_org().await;
    let carol_token = app.member_token(other_org, carol, Role::Member).await;
    // Not with an API token: joining is the person's decision, made in the browser.
    let (status, err) = app
        .token_call(
            &carol_token,
            Method::POST,
            "/api/v1/invitations/accept",
            Some(json!({ "token": secret })),
        )
        .await;
    assert_error(status, &err, 403, "forbidden");
    let (carol_browser, carol_csrf) = app.browser_for(carol).await;
    let accept = || {
        carol_browser
            .post(app.url("/api/v1/invitations/accept"))
            .header("x-csrf-token", carol_csrf.clone())
            .json(&json!({ "token": secret }))
            .send()
    };
    let res = accept().await.unwrap();
    let status = res.status();
    let accepted: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["org_id"], org.to_string());
    let res = accept().await.unwrap();
    let status = res.status();
    assert_error(status, &res.json().await.unwrap(), 409, "conflict");

    let (status, member) = app
        .browser_call(
            Method::PATCH,
            &format!("/api/v1/members/{carol}"),
            Some(json!({ "role": "admin" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    assert_eq!(member["role"], "admin");
    let details: serde_json::Value =
        sqlx::query_scalar("SELECT details FROM audit_logs WHERE action = 'member.role_change'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(details, json!({ "from": "member", "to": "admin" }));
    let (status, filtered) = app
        .browser_call(
            Method::GET,
            "/api/v1/audit-logs?action=member.role_change",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filtered}");
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);

    let (status, _) = app
        .browser_call(Method::DELETE, &format!("/api/v1/members/{carol}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, members) = app.browser_call(Method::GET, "/api/v1/members", None).await;
    assert_eq!(members.as_array().unwrap().len(), 1);
    let actions = app.audit_actions().await;
    for a in [
        "invitation.create",
        "invitation.accept",
        "member.role_change",
        "member.remove",
    ] {
        assert!(
            actions.contains(&a.to_owned()),
            "{a} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn last_owner_stays_and_admins_cannot_touch_owners() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (status, err) = app
        .browser_call(
            Method::PATCH,
            &format!("/api/v1/members/{owner}"),
            Some(json!({ "role": "member" })),
        )
        .await;
    assert_error(status, &err, 409, "conflict");
    let (admin_id, admin) = app.user_with_role(org, Role::Admin).await;
    let (member_id, member) = app.user_with_role(org, Role::Member).await;
    let (status, err) = app
        .token_call(
            &admin,
            Method::PATCH,
            &format!("/api/v1/members/{owner}"),
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_error(status, &err, 403, "forbidden");
    let (status, err) = app
        .token_call(
            &admin,
            Method::PATCH,
            &format!("/api/v1/members/{member_id}"),
            Some(json!({ "role": "owner" })),
        )
        .await;
    assert_error(status, &err, 403, "forbidden");
    let (status, _) = app
        .token_call(
            &admin,
            Method::PATCH,
            &format!("/api/v1/members/{member_id}"),
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Members cannot manage anyone; another org's admin sees a 404.
    let (status, err) = app
        .token_call(
            &member,
            Method::PATCH,
            &format!("/api/v1/members/{admin_id}"),
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_error(status, &err, 403, "forbidden");
    let (_, stranger) = app.other_org().await;
    let (status, err) = app
        .token_call(
            &stranger,
            Method::PATCH,
            &format!("/api/v1/members/{admin_id}"),
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_error(status, &err, 404, "not_found");
    let (status, err) = app
        .browser_call(
            Method::PATCH,
            &format!("/api/v1/members/{admin_id}"),
            Some(json!({ "role": "emperor" })),
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
    let (status, err) = app
        .browser_call(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({ "email": "nope", "role": "member" })),
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
    assert_eq!(err["error"]["field"], "email");
}

#[tokio::test]
async fn organisation_policy_is_owner_only_and_validated() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (_, admin) = app.user_with_role(org, Role::Admin).await;
    let (status, err) = app
        .token_call(
            &admin,
            Method::PATCH,
            "/api/v1/organization",
            Some(json!({ "name": "Hijacked" })),
        )
        .await;
    assert_error(status, &err, 403, "forbidden");
    let (_, current) = app
        .browser_call(Method::GET, "/api/v1/organization", None)
        .await;
    let mut policy = current["policy"].clone();
    policy["max_sessions_per_user"] = json!(-1);
    let (status, err) = app
        .browser_call(
            Method::PATCH,
            "/api/v1/organization",
            Some(json!({ "policy": policy })),
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
    assert_eq!(err["error"]["field"], "policy.max_sessions_per_user");
    let (status, updated) = app
        .browser_call(
            Method::PATCH,
            "/api/v1/organization",
            Some(json!({ "name": "Acme" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["name"], "Acme");
    let (status, created) = app
        .browser_call(
            Method::POST,
            "/api/v1/organizations",
            Some(json!({ "name": "Second" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["role"], "owner");
    let (_, orgs) = app
        .browser_call(Method::GET, "/api/v1/organizations", None)
        .await;
    assert_eq!(orgs.as_array().unwrap().len(), 2);
    // Selecting the second org by header.
    let res = app
        .browser
        .get(app.url("/api/v1/organization"))
        .header("x-org-id", created["id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["name"], "Second");
}

#[tokio::test]
async fn every_id_addressed_endpoint_hides_other_organisations() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (_, member) = app.user_with_role(org, Role::Member).await;
    let session = app.create_session(&member, "s").await;
    let sid = session["id"].as_str().unwrap().to_owned();
    let (_, task) = app
        .token_call(
            &member,
            Method::POST,
            &format!("/api/v1/sessions/{sid}/tasks"),
            Some(json!({ "prompt": "p" })),
        )
        .await;
    let tid = task["id"].as_str().unwrap().to_owned();
    let (_, inv) = app
        .browser_call(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({ "email": "x@example.com", "role": "member" })),
        )
        .await;
    let iid = inv["invitation"]["id"].as_str().unwrap().to_owned();
    let (_, tok) = app
        .browser_call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "t", "scopes": ["read"] })),
        )
        .await;
    let token_id = tok["token"]["id"].as_str().unwrap().to_owned();

    let (_, stranger) = app.other_org().await;
    let role = json!({ "role": "viewer" });
    let cases: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/api/v1/sessions/{sid}"), None),
        (Method::POST, format!("/api/v1/sessions/{sid}/stop"), None),
        (Method::DELETE, format!("/api/v1/sessions/{sid}"), None),
        (Method::GET, format!("/api/v1/sessions/{sid}/tasks"), None),
        (
            Method::POST,
            format!("/api/v1/sessions/{sid}/tasks"),
            Some(json!({ "prompt": "x" })),
        ),
        (Method::GET, format!("/api/v1/tasks/{tid}"), None),
        (Method::POST, format!("/api/v1/tasks/{tid}/cancel"), None),
        (
            Method::PATCH,
            format!("/api/v1/members/{owner}"),
            Some(role),
        ),
        (Method::DELETE, format!("/api/v1/members/{owner}"), None),
        (Method::DELETE, format!("/api/v1/invitations/{iid}"), None),
        (Method::DELETE, format!("/api/v1/tokens/{token_id}"), None),
    ];
    for (method, path, body) in cases {
        let (status, err) = app.token_call(&stranger, method.clone(), &path, body).await;
        assert_eq!(status.as_u16(), 404, "{method} {path}: {err}");
        assert_error(status, &err, 404, "not_found");
    }
    // Nothing was changed by the attempts.
    let (_, s) = app
        .token_call(
            &member,
            Method::GET,
            &format!("/api/v1/sessions/{sid}"),
            None,
        )
        .await;
    assert_eq!(s["state"], "pending");
    let (_, t) = app
        .token_call(&member, Method::GET, &format!("/api/v1/tasks/{tid}"), None)
        .await;
    assert_eq!(t["state"], "queued");
    let (_, members) = app.browser_call(Method::GET, "/api/v1/members", None).await;
    assert_eq!(members.as_array().unwrap().len(), 2);
}
