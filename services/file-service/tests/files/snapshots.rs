//! Snapshots to S3 and back into another session; artifacts shared by presigned URL.

use crate::helpers::{error_code, running_session, Harness};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn a_snapshot_restores_into_another_session_and_artifacts_are_shared_by_url() {
    let h = Harness::new(|_| {}).await;
    let (source, source_box) = running_session(&h).await;
    let (target, target_box) = running_session(&h).await;
    let long_dir = "d".repeat(120);
    source_box
        .sh(&format!(
            "cd /workspace && mkdir -p src/{long_dir} empty && printf 'fn main() {{}}\\n' > src/main.rs \
             && head -c 1500000 /dev/urandom > src/blob.bin && chmod 0750 src/main.rs \
             && echo deep > src/{long_dir}/x.txt && ln -s main.rs src/link.rs \
             && ln -s /etc/passwd outside-link"
        ))
        .await;
    // What must survive the round trip: contents, a mode, a symlink, an empty directory.
    let script = format!(
        "cd /workspace && sha256sum src/main.rs src/blob.bin src/{long_dir}/x.txt \
         && stat -c '%a %n' src/main.rs && readlink src/link.rs && ls -d empty"
    );
    let before = source_box.sh(&script).await;
    assert!(before.contains("750 src/main.rs"), "{before}");

    let res = h
        .request(Method::POST, "/internal/v1/snapshots", source, "read")
        .json(&json!({"name": "before refactor"}))
        .send()
        .await
        .expect("snapshot");
    assert_eq!(res.status(), 201);
    let snapshot: Value = res.json().await.expect("json");
    let id = snapshot["id"].as_str().expect("id").to_owned();
    assert_eq!(snapshot["name"], "before refactor");
    assert_eq!(snapshot["file_count"], 3);
    assert!(snapshot["size_bytes"].as_i64().expect("size") > 1_000_000);
    // Stored where documented.
    h.s3()
        .head_object()
        .bucket(&h.settings.s3.bucket)
        .key(format!("snapshots/{}/{id}.tar.gz", h.org_id))
        .send()
        .await
        .expect("the object exists");
    let listed: Value = h
        .request(Method::GET, "/internal/v1/snapshots", source, "read")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"][0]["id"], id.as_str());

    // Restore into the other session: same bytes, modes, links; the escaping link is left out.
    let res = h
        .request(
            Method::POST,
            &format!("/internal/v1/snapshots/{id}/restore"),
            target,
            "write",
        )
        .send()
        .await
        .expect("restore");
    assert_eq!(res.status(), 200);
    let counts: Value = res.json().await.expect("json");
    assert_eq!(counts["files"], 3, "{counts}");
    assert_eq!(counts["symlinks"], 1, "{counts}");
    assert_eq!(counts["skipped"], 1, "{counts}");
    let after = target_box.sh(&script).await;
    assert_eq!(after, before);
    assert!(
        !target_box
            .sh("ls -A /workspace")
            .await
            .contains("outside-link"),
        "the link to /etc/passwd was not restored"
    );

    // Restoring needs the write right; another organisation's snapshot does not exist.
    let res = h
        .request(
            Method::POST,
            &format!("/internal/v1/snapshots/{id}/restore"),
            target,
            "read",
        )
        .send()
        .await
        .expect("restore read-only");
    assert_eq!(error_code(res).await.1, "forbidden");
    let other_org = h.other_org().await;
    let res = h
        .request_as(
            Method::POST,
            &format!("/internal/v1/snapshots/{id}/restore"),
            other_org,
            target,
            "write",
        )
        .send()
        .await
        .expect("foreign restore");
    assert_eq!(error_code(res).await.0, 404);

    // An artifact: one file, shared by a presigned URL that works without credentials.
    let res = h
        .request(Method::POST, "/internal/v1/artifacts", source, "read")
        .json(&json!({"path": "src/main.rs", "expires_secs": 600}))
        .send()
        .await
        .expect("artifact");
    assert_eq!(res.status(), 201);
    let artifact: Value = res.json().await.expect("json");
    assert_eq!(artifact["name"], "main.rs");
    let url = artifact["url"].as_str().expect("url");
    assert!(url.contains("X-Amz-Expires=600"), "{url}");
    let fetched = reqwest::get(url).await.expect("presigned get");
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.text().await.expect("body"), "fn main() {}\n");
    let again: Value = h
        .request(
            Method::POST,
            &format!(
                "/internal/v1/artifacts/{}/url",
                artifact["id"].as_str().expect("id")
            ),
            source,
            "read",
        )
        .json(&json!({"expires_secs": 60}))
        .send()
        .await
        .expect("new url")
        .json()
        .await
        .expect("json");
    assert!(again["url"]
        .as_str()
        .expect("url")
        .contains("X-Amz-Expires=60"));
    let res = h
        .request(Method::POST, "/internal/v1/artifacts", source, "read")
        .json(&json!({"path": "src/main.rs", "expires_secs": 999_999_999}))
        .send()
        .await
        .expect("too long");
    let (status, _, message) = error_code(res).await;
    assert_eq!(status, 400);
    assert!(message.contains("expires_secs"), "{message}");
}
