//! Web Push end to end, without mocks of our code: the worker consumes jobs from the real
//! broker, reads the real database, and sends to a local HTTP server that plays the push
//! service the way one checks a request — it verifies the VAPID `Authorization` header (ES256
//! JWT signed by the key the api publishes, audience = its own origin, subject, expiry) and
//! decrypts the aes128gcm body with the subscription's private key, as a browser would.

#![allow(clippy::unwrap_used)]

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use rc_config::{LinkKey, Secret, Settings};
use rc_domain::push::PushJob;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;
use worker::Application;

/// web-push's own test key.
const VAPID_PRIVATE: &str = "IQ9Ur0ykXoHS9gzfYX0aBjy9lvdrjx_PFUXmie9YRcY";
const SUBJECT: &str = "mailto:ops@remote-claude.example";

struct Received {
    name: String,
    headers: actix_web::http::header::HeaderMap,
    body: Vec<u8>,
}

/// The push service: `/push/gone` answers 410 like an expired subscription; every other
/// name accepts (201) and hands the request to the test.
async fn push_service() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel::<Received>();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let tx = tx.clone();
        App::new().route(
            "/push/{name}",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let tx = tx.clone();
                async move {
                    let name = req.match_info().get("name").unwrap_or_default().to_owned();
                    let gone = name == "gone";
                    let _ = tx.send(Received {
                        name,
                        headers: req.headers().clone(),
                        body: body.to_vec(),
                    });
                    if gone {
                        HttpResponse::Gone().finish()
                    } else {
                        HttpResponse::Created().finish()
                    }
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}"), rx)
}

/// Checks the request as a push service must (RFC 8292) and returns the decrypted payload.
fn open(received: &Received, origin: &str, keys: &dyn ece::LocalKeyPair, auth: &[u8]) -> Value {
    let header = |name: &str| {
        received
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("content-encoding").as_deref(), Some("aes128gcm"));
    assert!(header("ttl").unwrap().parse::<u32>().unwrap() > 0);
    let authorization = header("authorization").expect("VAPID Authorization header");
    let rest = authorization.strip_prefix("vapid ").expect("vapid scheme");
    let mut token = None;
    let mut key = None;
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=').unwrap();
        match name {
            "t" => token = Some(value.to_owned()),
            "k" => key = Some(value.to_owned()),
            _ => panic!("unexpected {name}"),
        }
    }
    let (token, key) = (token.unwrap(), key.unwrap());
    // `k` is the installation's public key, the one the api hands to browsers.
    assert_eq!(key, rc_domain::push::public_key(VAPID_PRIVATE).unwrap());
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&B64.decode(&key).unwrap()).unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&B64.decode(signature).unwrap()).unwrap();
    verifying
        .verify(signed.as_bytes(), &signature)
        .expect("the JWT is signed by the VAPID key");
    let (jwt_header, claims) = signed.split_once('.').unwrap();
    let jwt_header: Value = serde_json::from_slice(&B64.decode(jwt_header).unwrap()).unwrap();
    assert_eq!(jwt_header["alg"], "ES256");
    let claims: Value = serde_json::from_slice(&B64.decode(claims).unwrap()).unwrap();
    assert_eq!(
        claims["aud"], origin,
        "audience is the push service's origin"
    );
    assert_eq!(claims["sub"], SUBJECT);
    let exp = claims["exp"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(exp > now && exp <= now + 24 * 3600, "exp {exp} within 24 h");
    let plain = ece::decrypt(&keys.raw_components().unwrap(), auth, &received.body)
        .expect("the payload decrypts with the subscription's keys");
    serde_json::from_slice(&plain).unwrap()
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a push arrives")
        .unwrap()
}

#[tokio::test]
async fn approvals_and_finished_turns_reach_the_owners_subscriptions_encrypted_and_signed() {
    rc_telemetry::init_for_test();
    let db = rc_testkit::TestDb::new().await.expect("database");
    let (origin, mut pushes) = push_service().await;
    let mut settings = Settings::default();
    settings.database = db.settings();
    settings.worker.port = 0;
    settings.amqp.exchange = format!("rctest-{}", Uuid::new_v4().simple());
    settings.api.public_url = "https://rc.example".into();
    settings.push.vapid_private_key = Secret::new(VAPID_PRIVATE);
    settings.push.subject = SUBJECT.into();
    settings.approvals.link_keys = vec![LinkKey {
        id: "test".into(),
        secret: Secret::new("a-test-link-secret-of-at-least-32-chars"),
    }];

    // An organisation, the session's owner with two browsers (one expired at the push
    // service), a colleague with a browser, and a pending request and a task.
    let pool = &db.pool;
    let (org, owner, colleague, session, task, approval) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Org', $2)")
        .bind(org)
        .bind(format!("o-{}", org.simple()))
        .execute(pool)
        .await
        .unwrap();
    for (user, role) in [(owner, "member"), (colleague, "admin")] {
        sqlx::query("INSERT INTO users (id, email, email_verified) VALUES ($1, $2, true)")
            .bind(user)
            .bind(format!("{}@example.com", user.simple()))
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3::org_role)",
        )
        .bind(org)
        .bind(user)
        .bind(role)
        .execute(pool)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO sessions (id, org_id, owner_id, name, state, image, limits, network_policy, model, permission_mode) VALUES ($1, $2, $3, 'refactor', 'running', 'img', '{\"cpu_millis\": 1000, \"memory_mb\": 512, \"pids\": 256, \"idle_timeout_secs\": 600, \"max_duration_secs\": 3600}', 'none', 'm', 'default')")
        .bind(session)
        .bind(org)
        .bind(owner)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO tasks (id, org_id, session_id, created_by, prompt, state, position) VALUES ($1, $2, $3, $4, 'fix the tests', 'succeeded', 1)")
        .bind(task)
        .bind(org)
        .bind(session)
        .bind(owner)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO approvals (id, org_id, session_id, task_id, request_id, tool_name, input, expires_at) VALUES ($1, $2, $3, $4, 'r1', 'Bash', '{\"command\": \"rm -rf build\"}', now() + interval '10 minutes')")
        .bind(approval)
        .bind(org)
        .bind(session)
        .bind(task)
        .execute(pool)
        .await
        .unwrap();
    let subscribe = |user: Uuid, name: &'static str| {
        let (keys, auth) = ece::generate_keypair_and_auth_secret().unwrap();
        let endpoint = format!("{origin}/push/{name}");
        let p256dh = B64.encode(keys.pub_as_raw().unwrap());
        let auth_b64 = B64.encode(auth);
        async move {
            sqlx::query("INSERT INTO push_subscriptions (id, org_id, user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(Uuid::now_v7())
                .bind(org)
                .bind(user)
                .bind(endpoint)
                .bind(p256dh)
                .bind(auth_b64)
                .execute(pool)
                .await
                .unwrap();
            (keys, auth)
        }
    };
    let (phone, phone_auth) = subscribe(owner, "phone").await;
    let _gone = subscribe(owner, "gone").await;
    let _colleague = subscribe(colleague, "colleague").await;

    let app = Application::build(settings.clone()).await.expect("builds");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let bus = rc_bus::Bus::new(&settings.amqp);
    bus.publish(&PushJob::ApprovalRequested {
        approval_id: approval,
        session_id: session,
        org_id: org,
    })
    .await
    .unwrap();

    // The owner's two browsers get it (one of them is gone); the colleague's does not.
    let mut got = [next(&mut pushes).await, next(&mut pushes).await];
    got.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(got[0].name, "gone");
    assert_eq!(got[1].name, "phone");
    let payload = open(&got[1], &origin, phone.as_ref(), &phone_auth);
    assert_eq!(payload["type"], "approval_requested");
    assert_eq!(payload["approval_id"], approval.to_string());
    assert_eq!(payload["session_id"], session.to_string());
    assert_eq!(payload["title"], "Claude asks to use Bash");
    assert_eq!(payload["body"], "refactor: rm -rf build");
    assert_eq!(
        payload["url"],
        format!("https://rc.example/sessions/{session}")
    );
    assert_eq!(got[1].headers.get("urgency").unwrap(), "high");
    // The one-tap link was minted for the subscriber (it decides as the session's owner).
    let link = payload["approve_url"].as_str().unwrap();
    let token = link.strip_prefix("https://rc.example/approve/").unwrap();
    let keys = rc_domain::approval_links::LinkKeys::from_settings(&settings).unwrap();
    let claims = rc_domain::approval_links::verify(&keys, token, chrono::Utc::now()).unwrap();
    assert_eq!(claims.approval_id, approval);
    assert_eq!(claims.user_id, owner);
    assert_eq!(claims.org_id, org);

    // A finished turn.
    bus.publish(&PushJob::TurnFinished {
        task_id: task,
        session_id: session,
        org_id: org,
        state: "succeeded".into(),
    })
    .await
    .unwrap();
    let turn = next(&mut pushes).await;
    assert_eq!(turn.name, "phone", "the gone subscription was deleted");
    let payload = open(&turn, &origin, phone.as_ref(), &phone_auth);
    assert_eq!(payload["type"], "turn_finished");
    assert_eq!(payload["task_id"], task.to_string());
    assert_eq!(payload["state"], "succeeded");
    assert_eq!(payload["body"], "refactor: fix the tests");

    // Bookkeeping: gone deleted, success recorded; the colleague's browser was never called.
    let rows: Vec<(String, Option<chrono::DateTime<chrono::Utc>>, i32)> = sqlx::query_as(
        "SELECT endpoint, last_success_at, failure_count FROM push_subscriptions WHERE user_id = $1",
    )
    .bind(owner)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].0.ends_with("/push/phone"));
    assert!(rows[0].1.is_some() && rows[0].2 == 0);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_logs WHERE action = 'approval.link_create' AND actor_id = $1",
    )
    .bind(owner)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), pushes.recv())
            .await
            .is_err(),
        "nothing else was sent"
    );

    stop.send(()).unwrap();
    worker.await.unwrap().unwrap();
    bus.close().await;
    rc_testkit::service::delete_bus_topology(&settings.amqp).await;
}
