use crate::helpers::{assert_error, spawn_app};
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use uuid::Uuid;

async fn record(
    app: &crate::helpers::TestApp,
    org: Uuid,
    user: Uuid,
    session: Option<Uuid>,
    input: i64,
    cost: i64,
    at: &str,
) {
    sqlx::query("INSERT INTO usage_records (org_id, user_id, session_id, model, input_tokens, output_tokens, cost_micros, created_at) VALUES ($1, $2, $3, 'claude-x', $4, 10, $5, $6::timestamptz)")
        .bind(org)
        .bind(user)
        .bind(session)
        .bind(input)
        .bind(cost)
        .bind(at)
        .execute(&app.db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn usage_by_user_session_and_day_members_see_only_their_own() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (member_id, member) = app.user_with_role(org, Role::Member).await;
    record(&app, org, owner, None, 100, 1_000, "2026-11-01T10:00:00Z").await;
    record(&app, org, owner, None, 50, 500, "2026-11-02T10:00:00Z").await;
    record(&app, org, member_id, None, 7, 70, "2026-11-02T11:00:00Z").await;
    let (other, _) = app.other_org().await;
    let stranger = app.insert_user("s@x.example").await;
    record(
        &app,
        other,
        stranger,
        None,
        9999,
        9999,
        "2026-11-02T11:00:00Z",
    )
    .await;

    let range = "from=2026-10-01T00:00:00Z&to=2026-12-01T00:00:00Z";
    let (status, by_user) = app
        .browser_call(
            Method::GET,
            &format!("/api/v1/usage?group_by=user&{range}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_user}");
    let rows = by_user.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let mine = rows.iter().find(|r| r["key"] == owner.to_string()).unwrap();
    assert_eq!(mine["input_tokens"], 150);
    assert_eq!(mine["cost_micros"], 1_500);
    assert_eq!(mine["model_calls"], 2);

    let (_, by_day) = app
        .browser_call(
            Method::GET,
            &format!("/api/v1/usage?group_by=day&{range}"),
            None,
        )
        .await;
    let days: Vec<&str> = by_day
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2026-11-01", "2026-11-02"]);
    assert_eq!(by_day[1]["input_tokens"], 57);

    let (_, member_view) = app
        .token_call(
            &member,
            Method::GET,
            &format!("/api/v1/usage?group_by=user&{range}"),
            None,
        )
        .await;
    assert_eq!(member_view.as_array().unwrap().len(), 1);
    assert_eq!(member_view[0]["key"], member_id.to_string());

    let (status, err) = app
        .browser_call(Method::GET, "/api/v1/usage?group_by=planet", None)
        .await;
    assert_error(status, &err, 400, "invalid_query");
    let (status, err) = app
        .browser_call(
            Method::GET,
            "/api/v1/usage?group_by=day&from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            None,
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
}

#[tokio::test]
async fn extreme_dates_are_400_not_a_crash() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let (status, err) = app
        .browser_call(
            Method::GET,
            "/api/v1/usage?group_by=day&to=-262143-01-01T00:00:00Z",
            None,
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
    // The server is still there.
    let (status, _) = app
        .browser_call(Method::GET, "/api/v1/usage?group_by=day", None)
        .await;
    assert_eq!(status, StatusCode::OK);
}
