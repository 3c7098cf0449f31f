use crate::helpers::{spawn_app, TestApp};
use rc_auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn gql_token(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let res = reqwest::Client::new()
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn code(resp: &Value) -> &str {
    resp["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {resp}"))
}

#[tokio::test]
async fn same_use_cases_as_rest_with_catalogue_error_codes() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (_, member) = app.user_with_role(org, Role::Member).await;
    let (_, viewer) = app.user_with_role(org, Role::Viewer).await;
    let (_, stranger) = app.other_org().await;

    let created = gql_token(&app, &member, r#"mutation($i: CreateSession!) { createSession(input: $i) { id name state limits { memoryMb } } }"#, json!({ "i": { "name": "gql", "limits": { "memoryMb": 512 } } })).await;
    assert!(created["errors"].is_null(), "{created}");
    let id = created["data"]["createSession"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["data"]["createSession"]["limits"]["memoryMb"], 512);
    // The REST view of the same row.
    let (status, rest) = app
        .token_call(
            &member,
            reqwest::Method::GET,
            &format!("/api/v1/sessions/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rest["name"], "gql");

    let listed = gql_token(
        &app,
        &member,
        "{ sessions(limit: 1) { items { id } nextCursor } }",
        json!({}),
    )
    .await;
    assert_eq!(listed["data"]["sessions"]["items"][0]["id"], id);

    let bad = gql_token(
        &app,
        &member,
        r#"mutation { createSession(input: { name: "x", image: "evil" }) { id } }"#,
        json!({}),
    )
    .await;
    assert_eq!(code(&bad), "validation_failed");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "image");

    let forbidden = gql_token(
        &app,
        &viewer,
        r#"mutation { createSession(input: { name: "x" }) { id } }"#,
        json!({}),
    )
    .await;
    assert_eq!(code(&forbidden), "forbidden");
    let hidden = gql_token(
        &app,
        &stranger,
        "query($id: UUID!) { session(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(code(&hidden), "not_found");
    let audit = gql_token(
        &app,
        &member,
        "{ auditLogs { items { action } } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&audit), "forbidden");

    let task = gql_token(&app, &member, r#"mutation($s: UUID!) { createTask(sessionId: $s, input: { prompt: "hello" }) { id state position } }"#, json!({ "s": id })).await;
    assert_eq!(task["data"]["createTask"]["state"], "QUEUED", "{task}");
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"task.create".to_owned()));
}

#[tokio::test]
async fn unauthenticated_and_csrf_and_limits() {
    let mut app = spawn_app().await;
    let anon: Value = reqwest::Client::new()
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&anon), "unauthenticated");

    app.dev_login().await;
    // Cookie-authenticated GraphQL posts need the CSRF header like any mutation.
    let no_csrf: Value = app
        .browser
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&no_csrf), "csrf_rejected");
    let ok: Value = app
        .browser
        .post(app.url("/graphql"))
        .header("x-csrf-token", app.csrf.clone().unwrap())
        .json(&json!({ "query": "{ me { email } organization { name role } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ok["data"]["me"]["email"], "dev@localhost.localdomain",
        "{ok}"
    );
    assert_eq!(ok["data"]["organization"]["role"], "OWNER");

    let deep = "{ organization { policy { maxPidsPerSession: maxPids } } }";
    let fine: Value = app
        .browser
        .post(app.url("/graphql"))
        .header("x-csrf-token", app.csrf.clone().unwrap())
        .json(&json!({ "query": deep }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(fine["errors"].is_null(), "{fine}");
    let too_deep = format!("{{ {} name {} }}", "__schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType {", "} } } } } } } } } } } }");
    let rejected: Value = app
        .browser
        .post(app.url("/graphql"))
        .header("x-csrf-token", app.csrf.clone().unwrap())
        .json(&json!({ "query": too_deep }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let msg = rejected["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        msg.contains("nested") || msg.contains("depth"),
        "{rejected}"
    );
}

/// Sends a WebSocket upgrade by hand and returns the HTTP status line's code.
async fn upgrade_status(app: &TestApp, origin: Option<&str>, cookie: Option<&str>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "GET /graphql/ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n"
    );
    if let Some(o) = origin {
        request.push_str(&format!("Origin: {o}\r\n"));
    }
    if let Some(c) = cookie {
        request.push_str(&format!("Cookie: {c}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 512];
    let n = stream.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    head.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn websocket_upgrades_check_origin_and_authentication() {
    let app = spawn_app().await;
    let sid = app.new_session_id().await;
    let cookie = format!("rc_session={sid}");
    assert_eq!(
        upgrade_status(&app, Some(crate::helpers::PUBLIC_URL), Some(&cookie)).await,
        101
    );
    assert_eq!(
        upgrade_status(&app, Some("https://evil.example"), Some(&cookie)).await,
        403
    );
    assert_eq!(
        upgrade_status(&app, Some(crate::helpers::PUBLIC_URL), None).await,
        401
    );
}

fn data<'a>(resp: &'a Value, field: &str) -> &'a Value {
    assert!(resp["errors"].is_null(), "{field}: {resp}");
    &resp["data"][field]
}

#[tokio::test]
async fn every_operation_happy_path_and_role_checks() {
    let mut app = spawn_app().await;
    let owner_id = app.dev_login().await;
    let org = app.org_of(owner_id).await;
    let owner = app
        .token_for(
            org,
            owner_id,
            Role::Owner,
            vec![
                rc_auth::Scope::Read,
                rc_auth::Scope::Write,
                rc_auth::Scope::Admin,
            ],
        )
        .await;
    let (member_id, member) = app.user_with_role(org, Role::Member).await;
    let (_, viewer) = app.user_with_role(org, Role::Viewer).await;
    let (_, stranger) = app.other_org().await;

    // Organisation.
    let r = gql_token(
        &app,
        &owner,
        "{ organizations { id name role } organization { id policy { maxSessionsPerUser } } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&r, "organizations").as_array().unwrap().len(), 1);
    assert_eq!(data(&r, "organization")["policy"]["maxSessionsPerUser"], 5);
    let r = gql_token(
        &app,
        &owner,
        r#"mutation { updateOrganization(input: { name: "Renamed" }) { name } }"#,
        json!({}),
    )
    .await;
    assert_eq!(data(&r, "updateOrganization")["name"], "Renamed");
    let r = gql_token(
        &app,
        &member,
        r#"mutation { updateOrganization(input: { name: "Nope" }) { name } }"#,
        json!({}),
    )
    .await;
    assert_eq!(code(&r), "forbidden");
    let r = gql_token(
        &app,
        &owner,
        r#"mutation { createOrganization(input: { name: "Other" }) { id } }"#,
        json!({}),
    )
    .await;
    assert_eq!(code(&r), "forbidden", "tokens cannot create organisations");

    // Members and invitations.
    let r = gql_token(&app, &viewer, "{ members { userId role } }", json!({})).await;
    assert_eq!(data(&r, "members").as_array().unwrap().len(), 3);
    let r = gql_token(
        &app,
        &owner,
        "mutation($u: UUID!) { changeMemberRole(userId: $u, input: { role: VIEWER }) { role } }",
        json!({ "u": member_id }),
    )
    .await;
    assert_eq!(data(&r, "changeMemberRole")["role"], "VIEWER");
    let r = gql_token(
        &app,
        &owner,
        "mutation($u: UUID!) { changeMemberRole(userId: $u, input: { role: MEMBER }) { role } }",
        json!({ "u": member_id }),
    )
    .await;
    assert_eq!(data(&r, "changeMemberRole")["role"], "MEMBER");
    let r = gql_token(
        &app,
        &member,
        "mutation($u: UUID!) { changeMemberRole(userId: $u, input: { role: ADMIN }) { role } }",
        json!({ "u": member_id }),
    )
    .await;
    assert_eq!(code(&r), "forbidden");
    let r = gql_token(&app, &owner, r#"mutation { createInvitation(input: { email: "new@example.com", role: MEMBER }) { token invitation { id email } } }"#, json!({})).await;
    let inv = data(&r, "createInvitation");
    let inv_token = inv["token"].as_str().unwrap().to_owned();
    let inv_id = inv["invitation"]["id"].as_str().unwrap().to_owned();
    let r = gql_token(&app, &owner, "{ invitations { id email } }", json!({})).await;
    assert_eq!(data(&r, "invitations")[0]["email"], "new@example.com");
    let r = gql_token(&app, &member, "{ invitations { id } }", json!({})).await;
    assert_eq!(code(&r), "forbidden");
    let r = gql_token(
        &app,
        &stranger,
        "mutation($t: String!) { acceptInvitation(token: $t) }",
        json!({ "t": inv_token }),
    )
    .await;
    assert_eq!(code(&r), "forbidden", "addressed to someone else");
    let r = gql_token(
        &app,
        &owner,
        "mutation($i: UUID!) { revokeInvitation(id: $i) }",
        json!({ "i": inv_id }),
    )
    .await;
    assert_eq!(data(&r, "revokeInvitation"), true);
    let r = gql_token(
        &app,
        &owner,
        r#"mutation { createInvitation(input: { email: "bad", role: MEMBER }) { token } }"#,
        json!({}),
    )
    .await;
    assert_eq!(code(&r), "validation_failed");

    // Tokens.
    let r = gql_token(&app, &owner, r#"mutation { createToken(input: { name: "gql", scopes: [READ] }) { secret token { id prefix } } }"#, json!({})).await;
    let created = data(&r, "createToken");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let token_id = created["token"]["id"].as_str().unwrap().to_owned();
    let r = gql_token(&app, &secret, "{ me { id } }", json!({})).await;
    assert_eq!(data(&r, "me")["id"], owner_id.to_string());
    let r = gql_token(&app, &owner, "{ tokens { id name } }", json!({})).await;
    assert!(data(&r, "tokens")
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == token_id.as_str()));
    let r = gql_token(
        &app,
        &owner,
        "mutation($i: UUID!) { revokeToken(id: $i) }",
        json!({ "i": token_id }),
    )
    .await;
    assert_eq!(data(&r, "revokeToken"), true);
    let r = gql_token(&app, &secret, "{ me { id } }", json!({})).await;
    assert_eq!(code(&r), "unauthenticated");

    // Sessions and tasks.
    let r = gql_token(
        &app,
        &member,
        r#"mutation { createSession(input: { name: "s" }) { id } }"#,
        json!({}),
    )
    .await;
    let sid = data(&r, "createSession")["id"].as_str().unwrap().to_owned();
    let r = gql_token(
        &app,
        &member,
        r#"mutation($s: UUID!) { createTask(sessionId: $s, input: { prompt: "p" }) { id } }"#,
        json!({ "s": sid }),
    )
    .await;
    let tid = data(&r, "createTask")["id"].as_str().unwrap().to_owned();
    let r = gql_token(&app, &viewer, "query($s: UUID!, $t: UUID!) { tasks(sessionId: $s) { items { id } } task(id: $t) { state } }", json!({ "s": sid, "t": tid })).await;
    assert_eq!(data(&r, "tasks")["items"][0]["id"], tid);
    let r = gql_token(
        &app,
        &stranger,
        "query($t: UUID!) { task(id: $t) { state } }",
        json!({ "t": tid }),
    )
    .await;
    assert_eq!(code(&r), "not_found");
    let r = gql_token(
        &app,
        &member,
        "mutation($t: UUID!) { cancelTask(id: $t) { state } }",
        json!({ "t": tid }),
    )
    .await;
    assert_eq!(data(&r, "cancelTask")["state"], "CANCELLED");
    let r = gql_token(
        &app,
        &member,
        "query($t: UUID!) { task(id: $t) { result } }",
        json!({ "t": tid }),
    )
    .await;
    assert!(
        data(&r, "task")["result"].is_null(),
        "a cancelled task has no result: {r}"
    );
    let r = gql_token(
        &app,
        &viewer,
        "mutation($s: UUID!) { stopSession(id: $s) { state } }",
        json!({ "s": sid }),
    )
    .await;
    assert_eq!(code(&r), "forbidden");
    let r = gql_token(
        &app,
        &member,
        "mutation($s: UUID!) { stopSession(id: $s) { state } }",
        json!({ "s": sid }),
    )
    .await;
    assert_eq!(data(&r, "stopSession")["state"], "STOPPING");
    // Same domain rule as REST: a session still stopping cannot start yet.
    let r = gql_token(
        &app,
        &member,
        "mutation($s: UUID!) { startSession(id: $s) { state } }",
        json!({ "s": sid }),
    )
    .await;
    assert_eq!(code(&r), "conflict");
    let r = gql_token(
        &app,
        &viewer,
        "mutation($s: UUID!) { startSession(id: $s) { state } }",
        json!({ "s": sid }),
    )
    .await;
    assert_eq!(code(&r), "forbidden");
    let r = gql_token(
        &app,
        &member,
        "mutation($s: UUID!) { deleteSession(id: $s) }",
        json!({ "s": sid }),
    )
    .await;
    assert_eq!(data(&r, "deleteSession"), true);

    // Audit log and usage.
    let r = gql_token(&app, &owner, r#"{ auditLogs(filter: { action: "session.*" }, limit: 10) { items { action actorLabel } nextCursor } }"#, json!({})).await;
    let actions: Vec<&str> = data(&r, "auditLogs")["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["session.delete", "session.stop", "session.create"]
    );
    let r = gql_token(
        &app,
        &member,
        "{ usage(query: { groupBy: USER }) { key costMicros } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&r, "usage").as_array().unwrap().len(), 0);

    let r = gql_token(
        &app,
        &owner,
        r#"{ auditLogs(filter: { action: "member.role_change" }) { items { details } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        data(&r, "auditLogs")["items"][0]["details"],
        json!({ "from": "viewer", "to": "member" })
    );

    // Removing a member last (it revokes their tokens).
    let r = gql_token(
        &app,
        &owner,
        "mutation($u: UUID!) { removeMember(userId: $u) }",
        json!({ "u": member_id }),
    )
    .await;
    assert_eq!(data(&r, "removeMember"), true);
    let r = gql_token(&app, &member, "{ me { id } }", json!({})).await;
    assert_eq!(code(&r), "unauthenticated");
}
