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

async fn record_at(
    app: &crate::helpers::TestApp,
    org: Uuid,
    user: Uuid,
    input: i64,
    at: chrono::DateTime<chrono::Utc>,
) {
    sqlx::query("INSERT INTO usage_records (org_id, user_id, model, input_tokens, output_tokens, cache_read_tokens, cost_micros, created_at) VALUES ($1, $2, 'claude-x', $3, 10, 5, 250000, $4)")
        .bind(org)
        .bind(user)
        .bind(input)
        .bind(at)
        .execute(&app.db.pool)
        .await
        .unwrap();
}

fn floor_hour(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::DurationRound as _;
    t.duration_trunc(chrono::Duration::hours(1)).unwrap()
}

#[tokio::test]
async fn the_usage_block_is_the_callers_current_five_hours_in_this_org_only() {
    use chrono::{Duration, Utc};
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let now = Utc::now();
    // Block one: from the hour of now-9h, over by now-4h at the latest.
    record_at(&app, org, owner, 1000, now - Duration::hours(9)).await;
    record_at(&app, org, owner, 2000, now - Duration::hours(8)).await;
    // The first record after it starts the current block at its hour.
    let first = now - Duration::minutes(210);
    record_at(&app, org, owner, 100, first).await;
    record_at(&app, org, owner, 20, now - Duration::minutes(10)).await;
    // Not counted: a colleague's usage, and the same user's usage in another organisation.
    let (colleague, _) = app.user_with_role(org, Role::Member).await;
    record_at(&app, org, colleague, 50_000, now - Duration::minutes(5)).await;
    let (other, _) = app.other_org().await;
    record_at(&app, other, owner, 70_000, now - Duration::minutes(5)).await;

    let (status, block) = app
        .browser_call(Method::GET, "/api/v1/usage/block", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{block}");
    let started = floor_hour(first);
    assert_eq!(block["active"], true, "{block}");
    let started_at: chrono::DateTime<Utc> = block["started_at"].as_str().unwrap().parse().unwrap();
    let ends_at: chrono::DateTime<Utc> = block["ends_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(started_at, started);
    assert_eq!(ends_at, started + Duration::hours(5));
    assert_eq!(block["input_tokens"], 120);
    assert_eq!(block["output_tokens"], 20);
    assert_eq!(block["total_tokens"], 120 + 20 + 10);
    assert_eq!(block["model_calls"], 2);
    assert_eq!(block["cost_usd"].as_f64().unwrap(), 0.5);
    let left = block["time_left_secs"].as_i64().unwrap();
    let expected_left = (ends_at - Utc::now()).num_seconds();
    assert!(
        (left - expected_left).abs() <= 5,
        "{left} vs {expected_left}"
    );
    let elapsed_min = (Utc::now() - started).num_seconds() as f64 / 60.0;
    let burn = block["burn_rate_tokens_per_minute"].as_f64().unwrap();
    assert!((burn - 150.0 / elapsed_min).abs() < 0.05, "{burn}");
    let per_hour = block["cost_per_hour_usd"].as_f64().unwrap();
    assert!(
        (per_hour - 0.5 / (elapsed_min / 60.0)).abs() < 0.01,
        "{per_hour}"
    );
    // Exactly the documented fields.
    let mut keys: Vec<&str> = block
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "active",
            "burn_rate_tokens_per_minute",
            "cost_per_hour_usd",
            "cost_usd",
            "ends_at",
            "input_tokens",
            "model_calls",
            "output_tokens",
            "started_at",
            "time_left_secs",
            "total_tokens"
        ]
    );

    // A viewer reads their own block: none yet, then one.
    let (viewer_id, viewer) = app.user_with_role(org, Role::Viewer).await;
    let (status, empty) = app
        .token_call(&viewer, Method::GET, "/api/v1/usage/block", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(empty["active"], false);
    assert!(empty["started_at"].is_null() && empty["ends_at"].is_null());
    assert_eq!(empty["total_tokens"], 0);
    assert_eq!(empty["time_left_secs"], 0);
    record_at(&app, org, viewer_id, 3, now - Duration::minutes(1)).await;
    let (_, mine) = app
        .token_call(&viewer, Method::GET, "/api/v1/usage/block", None)
        .await;
    assert_eq!(mine["active"], true);
    assert_eq!(mine["input_tokens"], 3);

    // The same through GraphQL.
    let res: serde_json::Value = reqwest::Client::new()
        .post(app.url("/graphql"))
        .bearer_auth(&viewer)
        .json(&serde_json::json!({"query": "{ usageBlock { active startedAt endsAt totalTokens inputTokens costUsd modelCalls timeLeftSecs burnRateTokensPerMinute costPerHourUsd } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(res["errors"].is_null(), "{res}");
    assert_eq!(res["data"]["usageBlock"]["inputTokens"], 3);
    assert_eq!(res["data"]["usageBlock"]["active"], true);

    // No credentials: 401.
    let res = reqwest::get(app.url("/api/v1/usage/block")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
