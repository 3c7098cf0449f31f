use crate::helpers::{error_code, running_session, Harness, TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn callers_need_the_token_the_right_and_a_running_session_of_their_org() {
    let h = Harness::new(|_| {}).await;
    let stopped = h.session("stopped", Some("rc-files-test-gone")).await;
    let url = format!("{}/internal/v1/files/tree", h.base);

    let res = h.http.get(&url).send().await.expect("request");
    assert_eq!(error_code(res).await.1, "unauthenticated");
    let res = h
        .http
        .get(&url)
        .bearer_auth(format!("{TOKEN}x"))
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(res).await.0, 401);
    // Token but no caller headers: a clear validation error naming the header.
    let res = h
        .http
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("request");
    let (status, code, message) = error_code(res).await;
    assert_eq!((status, code.as_str()), (400, "validation_failed"));
    assert!(message.contains("x-rc-org-id"), "{message}");

    // A stopped session: 409, saying what to do.
    let res = h
        .request(Method::GET, "/internal/v1/files/tree", stopped, "read")
        .send()
        .await
        .expect("request");
    let (status, code, message) = error_code(res).await;
    assert_eq!((status, code.as_str()), (409, "conflict"));
    assert!(message.contains("start the session"), "{message}");

    // Another organisation's session does not exist for this caller.
    let other_org = h.other_org().await;
    let foreign = h.session_in(other_org, "running", Some("x")).await;
    let res = h
        .request(Method::GET, "/internal/v1/files/tree", foreign, "read")
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(res).await.0, 404);

    // Changes need the write right (checked before anything else happens).
    let res = h
        .request(
            Method::PUT,
            "/internal/v1/files/content?path=a.txt",
            stopped,
            "read",
        )
        .body("x")
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(res).await.1, "forbidden");
    let res = h
        .request(Method::GET, "/internal/v1/files/tree", stopped, "admin")
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(res).await.1, "validation_failed");
}

#[test]
fn the_prod_profile_refuses_the_dev_token() {
    let mut settings = rc_config::Settings::default();
    assert!(
        file_service::check_settings(&settings).is_ok(),
        "dev is fine"
    );
    settings.profile = rc_config::Profile::Prod;
    let err = file_service::check_settings(&settings).expect_err("refused");
    assert!(err.to_string().contains("internal_token"), "{err}");
    assert!(!err.to_string().contains(TOKEN), "never echoes the token");
    settings.file_service.internal_token = rc_config::Secret::new("z".repeat(40));
    assert!(file_service::check_settings(&settings).is_ok());
}

async fn put(h: &Harness, session: uuid::Uuid, path: &str, body: Vec<u8>) -> reqwest::Response {
    h.request(
        Method::PUT,
        &format!("/internal/v1/files/content?path={path}"),
        session,
        "write",
    )
    .body(body)
    .send()
    .await
    .expect("put")
}

async fn get_bytes(h: &Harness, session: uuid::Uuid, path: &str) -> (u16, Option<String>, Vec<u8>) {
    let res = h
        .request(
            Method::GET,
            &format!("/internal/v1/files/content?path={path}"),
            session,
            "read",
        )
        .send()
        .await
        .expect("get");
    let status = res.status().as_u16();
    let etag = res
        .headers()
        .get("etag")
        .map(|v| v.to_str().expect("ascii").to_owned());
    (status, etag, res.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn files_are_created_written_read_listed_renamed_uploaded_zipped_and_deleted() {
    let h = Harness::new(|s| s.file_service.max_upload_bytes = 2 * MIB as u64).await;
    let (session, _sandbox) = running_session(&h).await;

    // create a directory (with parents) and an empty file
    let res = h
        .request(Method::POST, "/internal/v1/files/create", session, "write")
        .json(&json!({"path": "src/deep", "kind": "dir", "parents": true}))
        .send()
        .await
        .expect("mkdir");
    assert_eq!(res.status(), 201);
    let res = h
        .request(Method::POST, "/internal/v1/files/create", session, "write")
        .json(&json!({"path": "src/empty.txt", "kind": "file"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    let res = h
        .request(Method::POST, "/internal/v1/files/create", session, "write")
        .json(&json!({"path": "src/empty.txt", "kind": "file"}))
        .send()
        .await
        .expect("create again");
    assert_eq!(error_code(res).await.0, 409);

    // write a multi-chunk file and read it back, byte for byte, with its ETag
    let big: Vec<u8> = (0..(MIB + MIB / 2)).map(|i| (i * 31 % 251) as u8).collect();
    let res = put(&h, session, "src/big.bin", big.clone()).await;
    assert_eq!(res.status(), 201, "created");
    let created_etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let (status, etag, body) = get_bytes(&h, session, "src/big.bin").await;
    assert_eq!(status, 200);
    assert_eq!(etag.as_deref(), Some(created_etag.as_str()));
    assert!(
        body == big,
        "round trip differs ({} bytes back)",
        body.len()
    );

    // If-Match: the current ETag wins, a stale one gets 412 and changes nothing
    let res = h
        .request(
            Method::PUT,
            "/internal/v1/files/content?path=src/big.bin",
            session,
            "write",
        )
        .header("if-match", &created_etag)
        .body("v2")
        .send()
        .await
        .expect("put v2");
    assert_eq!(res.status(), 200);
    let v2_etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    assert_ne!(v2_etag, created_etag);
    let res = h
        .request(
            Method::PUT,
            "/internal/v1/files/content?path=src/big.bin",
            session,
            "write",
        )
        .header("if-match", &created_etag)
        .body("lost update")
        .send()
        .await
        .expect("stale put");
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (412, "precondition_failed"));
    assert_eq!(get_bytes(&h, session, "src/big.bin").await.2, b"v2");
    // If-None-Match: * creates only
    let res = h
        .request(
            Method::PUT,
            "/internal/v1/files/content?path=src/big.bin",
            session,
            "write",
        )
        .header("if-none-match", "*")
        .body("x")
        .send()
        .await
        .expect("create-only put");
    assert_eq!(error_code(res).await.0, 412);
    // Too large: 413, and the file keeps its content
    let res = put(&h, session, "src/big.bin", vec![7u8; 2 * MIB + 1]).await;
    assert_eq!(error_code(res).await.1, "payload_too_large");
    assert_eq!(get_bytes(&h, session, "src/big.bin").await.2, b"v2");

    // tree (two levels) and stat
    let tree: Value = h
        .request(
            Method::GET,
            "/internal/v1/files/tree?depth=2",
            session,
            "read",
        )
        .send()
        .await
        .expect("tree")
        .json()
        .await
        .expect("json");
    let paths: Vec<&str> = tree["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    for want in ["src", "src/big.bin", "src/deep", "src/empty.txt"] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
    assert!(
        !paths.iter().any(|p| p.contains(".rc-upload-")),
        "no temp files left: {paths:?}"
    );
    let stat: Value = h
        .request(
            Method::GET,
            "/internal/v1/files/stat?path=src/big.bin",
            session,
            "read",
        )
        .send()
        .await
        .expect("stat")
        .json()
        .await
        .expect("json");
    assert_eq!(stat["kind"], "file");
    assert_eq!(stat["size"], 2);
    assert_eq!(
        format!("\"{}\"", stat["etag"].as_str().expect("etag")),
        v2_etag
    );

    // rename never replaces; then moves
    let res = h
        .request(Method::POST, "/internal/v1/files/rename", session, "write")
        .json(&json!({"from": "src/big.bin", "to": "src/empty.txt"}))
        .send()
        .await
        .expect("rename onto");
    assert_eq!(error_code(res).await.0, 409);
    let res = h
        .request(Method::POST, "/internal/v1/files/rename", session, "write")
        .json(&json!({"from": "src/big.bin", "to": "src/deep/moved.bin"}))
        .send()
        .await
        .expect("rename");
    assert_eq!(res.status(), 200);
    assert_eq!(get_bytes(&h, session, "src/deep/moved.bin").await.2, b"v2");

    // multipart upload into a directory; over the limit → 413
    let form = reqwest::multipart::Form::new()
        .part(
            "a",
            reqwest::multipart::Part::bytes(b"alpha".to_vec()).file_name("a.txt"),
        )
        .part(
            "b",
            reqwest::multipart::Part::bytes(vec![1u8; MIB]).file_name("b.bin"),
        );
    let res = h
        .request(
            Method::POST,
            "/internal/v1/files/upload?path=src/deep",
            session,
            "write",
        )
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), 201);
    let uploaded: Value = res.json().await.expect("json");
    assert_eq!(uploaded["files"][0]["path"], "src/deep/a.txt");
    assert_eq!(uploaded["files"][1]["size"], MIB);
    assert_eq!(get_bytes(&h, session, "src/deep/a.txt").await.2, b"alpha");
    let form = reqwest::multipart::Form::new().part(
        "c",
        reqwest::multipart::Part::bytes(vec![2u8; 3 * MIB]).file_name("c.bin"),
    );
    let res = h
        .request(
            Method::POST,
            "/internal/v1/files/upload?path=src",
            session,
            "write",
        )
        .multipart(form)
        .send()
        .await
        .expect("upload too large");
    assert_eq!(error_code(res).await.0, 413);
    let form = reqwest::multipart::Form::new().part(
        "d",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("../d.txt"),
    );
    let res = h
        .request(
            Method::POST,
            "/internal/v1/files/upload?path=src",
            session,
            "write",
        )
        .multipart(form)
        .send()
        .await
        .expect("upload bad name");
    assert_eq!(error_code(res).await.1, "validation_failed");

    // zip of a folder, streamed
    let res = h
        .request(
            Method::GET,
            "/internal/v1/files/zip?path=src",
            session,
            "read",
        )
        .send()
        .await
        .expect("zip");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let bytes = res.bytes().await.expect("zip body").to_vec();
    let zip = async_zip::base::read::mem::ZipFileReader::new(bytes)
        .await
        .expect("a valid zip");
    let mut names = Vec::new();
    let mut alpha = None;
    for (index, entry) in zip.file().entries().iter().enumerate() {
        let name = entry.filename().as_str().expect("utf-8").to_owned();
        if name == "deep/a.txt" {
            let mut reader = zip.reader_with_entry(index).await.expect("entry");
            let mut content = Vec::new();
            reader
                .read_to_end_checked(&mut content)
                .await
                .expect("read");
            alpha = Some(content);
        }
        names.push(name);
    }
    names.sort();
    assert_eq!(
        names,
        vec![
            "deep/",
            "deep/a.txt",
            "deep/b.bin",
            "deep/moved.bin",
            "empty.txt"
        ]
    );
    assert_eq!(alpha.as_deref(), Some(&b"alpha"[..]));

    // delete: a non-empty directory needs recursive
    let res = h
        .request(
            Method::DELETE,
            "/internal/v1/files?path=src",
            session,
            "write",
        )
        .send()
        .await
        .expect("delete");
    assert_eq!(error_code(res).await.0, 409);
    let res = h
        .request(
            Method::DELETE,
            "/internal/v1/files?path=src&recursive=true",
            session,
            "write",
        )
        .send()
        .await
        .expect("delete recursive");
    assert_eq!(res.status(), 204);
    let res = h
        .request(
            Method::GET,
            "/internal/v1/files/stat?path=src",
            session,
            "read",
        )
        .send()
        .await
        .expect("stat gone");
    assert_eq!(error_code(res).await.1, "not_found");
}
