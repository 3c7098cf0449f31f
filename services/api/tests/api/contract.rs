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
