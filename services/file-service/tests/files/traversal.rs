//! The traversal corpus over HTTP, against a real sandbox whose workspace holds symlinks that
//! lead out (created by a process in the sandbox, as Claude could).

use crate::helpers::{error_code, running_session, Harness};
use reqwest::Method;

#[tokio::test]
async fn no_request_reaches_outside_the_workspace() {
    let h = Harness::new(|_| {}).await;
    let (session, sandbox) = running_session(&h).await;
    sandbox
        .sh("cd /workspace && mkdir -p sub && echo inside > sub/f.txt \
             && ln -s /etc link && ln -s /home/agent home && ln -s chain2 chain1 \
             && ln -s ../home/agent chain2 && ln -s .. up && ln -s sub inner \
             && echo secret > /home/agent/secret.txt")
        .await;

    // (query string as sent on the wire, expected status, expected code)
    let long = "x".repeat(300);
    let corpus: Vec<(String, u16, &str)> = vec![
        ("../etc/passwd".into(), 400, "validation_failed"),
        ("/etc/passwd".into(), 400, "validation_failed"),
        ("a/../../x".into(), 400, "validation_failed"),
        ("sub/../../etc/passwd".into(), 400, "validation_failed"),
        ("%2e%2e/etc/passwd".into(), 400, "validation_failed"),
        ("%2E%2E%2Fetc%2Fpasswd".into(), 400, "validation_failed"),
        ("%2fetc%2fpasswd".into(), 400, "validation_failed"),
        ("sub%00.txt".into(), 400, "validation_failed"),
        (long, 400, "validation_failed"),
        // double-encoded: a literal (missing) name inside the workspace
        ("%252e%252e/etc/passwd".into(), 404, "not_found"),
        ("link/passwd".into(), 403, "forbidden"),
        ("home/secret.txt".into(), 403, "forbidden"),
        ("chain1/secret.txt".into(), 403, "forbidden"),
        ("up/etc/passwd".into(), 403, "forbidden"),
        ("up/home/agent/secret.txt".into(), 403, "forbidden"),
    ];
    for (path, status, code) in &corpus {
        for route in ["content", "stat", "tree", "zip"] {
            let res = h
                .request(
                    Method::GET,
                    &format!("/internal/v1/files/{route}?path={path}"),
                    session,
                    "read",
                )
                .send()
                .await
                .expect("request");
            let got = error_code(res).await;
            // `stat` describes the last component itself; a symlink's own entry is fine to
            // describe, so only the paths *through* links are checked for it.
            assert_eq!(
                (got.0, got.1.as_str()),
                (*status, *code),
                "GET {route}?path={path}: {}",
                got.2
            );
        }
    }

    // Writes through escaping links, in every shape.
    let writes = [
        (
            Method::PUT,
            "/internal/v1/files/content?path=link/planted".to_owned(),
            None,
        ),
        (
            Method::PUT,
            "/internal/v1/files/content?path=home/secret.txt".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/internal/v1/files/create".to_owned(),
            Some(serde_json::json!({"path": "chain1/newdir", "kind": "dir", "parents": true})),
        ),
        (
            Method::POST,
            "/internal/v1/files/rename".to_owned(),
            Some(serde_json::json!({"from": "sub/f.txt", "to": "up/f.txt"})),
        ),
        (
            Method::DELETE,
            "/internal/v1/files?path=home/secret.txt".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/internal/v1/files/upload?path=home".to_owned(),
            None,
        ),
    ];
    for (method, path, json) in writes {
        let mut req = h.request(method.clone(), &path, session, "write");
        req = match json {
            Some(json) => req.json(&json),
            None if path.contains("upload") => req.multipart(reqwest::multipart::Form::new().part(
                "f",
                reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("planted"),
            )),
            None => req.body("overwritten"),
        };
        let got = error_code(req.send().await.expect("request")).await;
        assert_eq!(got.0, 403, "{method} {path}: {}", got.2);
    }

    // Deleting the link removes the link, never its target; links inside are followed.
    let res = h
        .request(
            Method::DELETE,
            "/internal/v1/files?path=home",
            session,
            "write",
        )
        .send()
        .await
        .expect("delete link");
    assert_eq!(res.status(), 204);
    let res = h
        .request(
            Method::GET,
            "/internal/v1/files/content?path=inner/f.txt",
            session,
            "read",
        )
        .send()
        .await
        .expect("inner");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.expect("body"), "inside\n");

    // Outside the workspace nothing changed.
    let home = sandbox
        .sh("ls -A /home/agent; cat /home/agent/secret.txt")
        .await;
    assert!(!home.contains("planted"), "{home}");
    assert!(home.contains("secret"), "{home}");
    let etc = sandbox.sh("ls /etc | grep -c planted; true").await;
    assert_eq!(etc.trim(), "0");
    assert!(sandbox.sh("ls /workspace/sub").await.contains("f.txt"));
}
