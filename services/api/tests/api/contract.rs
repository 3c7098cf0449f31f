//! The API contracts are checked-in artifacts: these tests fail when the code and the files in
//! `docs/api/` drift apart. Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p api contract`.

use crate::helpers::spawn_app;
use std::path::PathBuf;

fn docs(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/api")
        .join(name)
}

fn check_snapshot(name: &str, current: &str) {
    let path = docs(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, current).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == current,
        "{} is stale; run `UPDATE_SNAPSHOTS=1 cargo test -p api contract` and commit the result",
        path.display()
    );
}

#[test]
fn openapi_document_is_checked_in() {
    check_snapshot("openapi.json", &api::openapi::document());
}

#[test]
fn graphql_sdl_is_checked_in() {
    let mut sdl = api::graphql::build_schema().sdl();
    if !sdl.ends_with('\n') {
        sdl.push('\n');
    }
    check_snapshot("schema.graphql", &sdl);
}

#[test]
fn every_operation_is_documented() {
    let doc: serde_json::Value = serde_json::from_str(&api::openapi::document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "only {} paths documented", paths.len());
    // Client generators need unique operation ids and resolvable references.
    let mut ids = std::collections::HashSet::new();
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref to {name}"
        );
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(
                ids.insert(id.clone()),
                "{method} {path}: operationId {id:?} is not unique"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no responses"
            );
        }
    }
}

#[tokio::test]
async fn openapi_and_interactive_docs_are_served_offline() {
    let app = spawn_app().await;
    let served = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served, api::openapi::document());
    let res = reqwest::get(app.url("/api/docs/")).await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("://unpkg.com") && !html.contains("://cdn."),
        "docs page loads assets from the internet"
    );
    let asset = reqwest::get(app.url("/api/docs/swagger-ui-bundle.js"))
        .await
        .unwrap();
    assert_eq!(asset.status(), 200, "vendored swagger assets are served");
    let console = reqwest::get(app.url("/graphql"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(console.contains("GraphQL console") && !console.contains("://cdn."));
}

#[tokio::test]
async fn the_built_frontend_and_its_graphiql_page_are_served() {
    let dir = std::env::temp_dir().join(format!("rc-frontend-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>app shell</title>",
    )
    .unwrap();
    std::fs::write(
        dir.join("graphiql.html"),
        "<!doctype html><title>GraphiQL</title>",
    )
    .unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    let options = crate::helpers::Options {
        frontend_dir: dir.to_string_lossy().into_owned(),
        ..Default::default()
    };
    let app = crate::helpers::spawn_app_with(options).await;
    let page = reqwest::get(app.url("/graphql"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<title>GraphiQL</title>"), "{page}");
    // Client-side routes get the app shell; assets are served; API routes stay JSON.
    let shell = reqwest::get(app.url("/sessions/123"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shell.contains("app shell"), "{shell}");
    let asset = reqwest::get(app.url("/assets/app.js")).await.unwrap();
    assert_eq!(asset.status(), 200);
    let api = reqwest::get(app.url("/api/v1/nope")).await.unwrap();
    assert_eq!(api.status(), 404);
    assert!(api.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("json"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_pwa_service_worker_and_manifest_are_served_from_the_frontend_root() {
    let dir = std::env::temp_dir().join(format!("rc-pwa-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>app shell</title>",
    )
    .unwrap();
    std::fs::write(
        dir.join("sw.js"),
        "self.addEventListener('push', () => {});",
    )
    .unwrap();
    std::fs::write(
        dir.join("manifest.webmanifest"),
        r#"{"name":"Remote Claude"}"#,
    )
    .unwrap();
    let options = crate::helpers::Options {
        frontend_dir: dir.to_string_lossy().into_owned(),
        ..Default::default()
    };
    let app = crate::helpers::spawn_app_with(options).await;

    let sw = reqwest::get(app.url("/sw.js")).await.unwrap();
    assert_eq!(sw.status(), 200);
    let headers = sw.headers().clone();
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["service-worker-allowed"], "/");
    assert!(sw.text().await.unwrap().contains("addEventListener('push'"));

    let manifest = reqwest::get(app.url("/manifest.webmanifest"))
        .await
        .unwrap();
    assert_eq!(manifest.status(), 200);
    assert_eq!(
        manifest.headers()["content-type"],
        "application/manifest+json"
    );
    let body: serde_json::Value = manifest.json().await.unwrap();
    assert_eq!(body["name"], "Remote Claude");

    // Whatever CSP the app shell gets must let the service worker and Monaco's workers run.
    let shell = reqwest::get(app.url("/sessions/1")).await.unwrap();
    assert_eq!(shell.status(), 200);
    if let Some(csp) = shell.headers().get("content-security-policy") {
        let csp = csp.to_str().unwrap();
        let workers = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("worker-src"))
            .unwrap_or_else(|| panic!("no worker-src in {csp}"));
        assert!(
            workers.contains("'self'") && workers.contains("blob:"),
            "{csp}"
        );
    }

    // Absent files: the JSON 404, never the app shell; other methods: 405.
    std::fs::remove_file(dir.join("sw.js")).unwrap();
    std::fs::remove_file(dir.join("manifest.webmanifest")).unwrap();
    for path in ["/sw.js", "/manifest.webmanifest"] {
        let res = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("json"));
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "route_not_found", "{path}");
    }
    let res = reqwest::Client::new()
        .post(app.url("/sw.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn without_a_built_frontend_the_pwa_files_are_a_json_404() {
    let app = spawn_app().await;
    for path in ["/sw.js", "/manifest.webmanifest"] {
        let res = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "route_not_found", "{path}");
    }
}
