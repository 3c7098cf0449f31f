use crate::helpers::{assert_error, spawn_app};
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn audit_log_is_append_only_in_the_database() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let update = sqlx::query("UPDATE audit_logs SET action = 'forged'")
        .execute(&app.db.pool)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_logs")
        .execute(&app.db.pool)
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    let truncate = sqlx::query("TRUNCATE audit_logs")
        .execute(&app.db.pool)
        .await;
    assert!(truncate.is_err());
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn audit_rows_carry_actor_ip_agent_request_id_and_filters_work() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    for i in 0..3 {
        app.browser_call(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({ "name": format!("s{i}") })),
        )
        .await;
    }
    let (status, page) = app
        .browser_call(
            Method::GET,
            "/api/v1/audit-logs?action=session.create&limit=2",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let row = &items[0];
    assert_eq!(row["actor_id"], owner.to_string());
    assert_eq!(row["actor_label"], "dev@localhost.localdomain");
    assert_eq!(row["ip"], "127.0.0.1");
    assert!(row["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(row["user_agent"].is_string() || row["user_agent"].is_null());
    let (_, page2) = app
        .browser_call(
            Method::GET,
            &format!(
                "/api/v1/audit-logs?action=session.create&limit=2&cursor={}",
                page["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert!(page2["next_cursor"].is_null());
    let (_, prefix) = app
        .browser_call(Method::GET, "/api/v1/audit-logs?action=auth.*", None)
        .await;
    assert_eq!(prefix["items"].as_array().unwrap().len(), 1);
    let (_, by_actor) = app
        .browser_call(
            Method::GET,
            &format!("/api/v1/audit-logs?actor_id={owner}"),
            None,
        )
        .await;
    assert_eq!(by_actor["items"].as_array().unwrap().len(), 4);
    let (_, future) = app
        .browser_call(
            Method::GET,
            "/api/v1/audit-logs?from=2999-01-01T00:00:00Z",
            None,
        )
        .await;
    assert_eq!(future["items"].as_array().unwrap().len(), 0);
    let (status, err) = app
        .browser_call(
            Method::GET,
            "/api/v1/audit-logs?from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z",
            None,
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
    let (status, err) = app
        .browser_call(Method::GET, "/api/v1/audit-logs?from=yesterday", None)
        .await;
    assert_error(status, &err, 400, "invalid_query");
}

#[tokio::test]
async fn export_csv_and_json_and_rbac() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    app.browser_call(
        Method::POST,
        "/api/v1/sessions",
        Some(json!({ "name": "=cmd()" })),
    )
    .await;
    let res = app
        .browser
        .get(app.url("/api/v1/audit-logs/export?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,created_at,actor_id"));
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(csv.contains("session.create"));
    let (_, json_rows) = app
        .browser_call(Method::GET, "/api/v1/audit-logs/export?format=json", None)
        .await;
    assert_eq!(json_rows.as_array().unwrap().len(), 2);
    let (status, err) = app
        .browser_call(Method::GET, "/api/v1/audit-logs/export?format=xml", None)
        .await;
    assert_error(status, &err, 400, "validation_failed");

    let (_, member) = app.user_with_role(org, Role::Member).await;
    let (status, err) = app
        .token_call(&member, Method::GET, "/api/v1/audit-logs", None)
        .await;
    assert_error(status, &err, 403, "forbidden");
    let (_, stranger) = app.other_org().await;
    let (status, rows) = app
        .token_call(&stranger, Method::GET, "/api/v1/audit-logs", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let leaked: Vec<&serde_json::Value> = rows["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["org_id"] == org.to_string())
        .collect();
    assert!(
        leaked.is_empty(),
        "another org's audit rows leaked: {leaked:?}"
    );
    assert!(
        rows["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["action"] == "token.create"),
        "{rows}"
    );
}

#[tokio::test]
async fn org_can_be_selected_by_query_parameter_for_download_links() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let (_, second) = app
        .browser_call(
            Method::POST,
            "/api/v1/organizations",
            Some(json!({ "name": "Second" })),
        )
        .await;
    let second_id = second["id"].as_str().unwrap();
    let csv = app
        .browser
        .get(app.url(&format!(
            "/api/v1/audit-logs/export?format=csv&org_id={second_id}"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("org.create"), "{csv}");
    assert!(
        !csv.contains("auth.login"),
        "the default organisation's rows leaked into the other's export: {csv}"
    );
    let res = app
        .browser
        .get(app.url(&format!(
            "/api/v1/audit-logs/export?org_id={}",
            uuid::Uuid::now_v7()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .browser
        .get(app.url("/api/v1/audit-logs/export?org_id=nope"))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_error(status, &body, 400, "validation_failed");
    assert_eq!(body["error"]["field"], "org_id");
}
