//! The file routes are forwarded to file-service, so their OpenAPI schemas are written by
//! hand (`routes/files_doc.rs`). These tests serialise file-service's own answer types and
//! compare their fields with the published document, so the two cannot drift apart silently.

use std::collections::BTreeSet;

fn schema_fields(doc: &serde_json::Value, name: &str) -> BTreeSet<String> {
    doc["components"]["schemas"][name]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {name}"))
        .keys()
        .cloned()
        .collect()
}

fn json_fields(value: impl serde::Serialize) -> BTreeSet<String> {
    serde_json::to_value(value)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn documented_file_shapes_match_file_service() {
    let doc: serde_json::Value = serde_json::from_str(&api::openapi::document()).unwrap();
    let entry = file_service::routes::Entry {
        path: "a/b.txt".into(),
        info: rc_agent_protocol::FileInfo {
            name: "b.txt".into(),
            kind: rc_agent_protocol::FileKind::File,
            size: 1,
            mode: 0o644,
            modified_ms: 0,
            etag: Some("00".into()),
        },
    };
    assert_eq!(schema_fields(&doc, "FileEntry"), json_fields(&entry));
    let snapshot = file_service::snapshots::Snapshot {
        id: uuid::Uuid::nil(),
        session_id: None,
        created_by: uuid::Uuid::nil(),
        name: "s".into(),
        size_bytes: 0,
        content_bytes: 0,
        file_count: 0,
        created_at: chrono::Utc::now(),
    };
    assert_eq!(schema_fields(&doc, "Snapshot"), json_fields(&snapshot));
    assert_eq!(
        schema_fields(&doc, "RestoreReport"),
        json_fields(file_service::snapshots::Counts::default())
    );
    // The kinds file-service sends.
    let kinds: BTreeSet<String> = doc["components"]["schemas"]["FileKind"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    for kind in [
        rc_agent_protocol::FileKind::File,
        rc_agent_protocol::FileKind::Dir,
        rc_agent_protocol::FileKind::Symlink,
        rc_agent_protocol::FileKind::Other,
    ] {
        let name = serde_json::to_value(kind).unwrap();
        assert!(kinds.contains(name.as_str().unwrap()), "{name}");
    }
}

#[test]
fn the_file_routes_and_the_terminal_are_documented_with_their_headers() {
    let doc: serde_json::Value = serde_json::from_str(&api::openapi::document()).unwrap();
    let paths = &doc["paths"];
    let write = &paths["/api/v1/sessions/{id}/files/content"]["put"];
    let params: Vec<&str> = write["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        params.contains(&"If-Match") && params.contains(&"If-None-Match"),
        "{params:?}"
    );
    for status in ["200", "201", "412", "413"] {
        assert!(
            write["responses"][status].is_object(),
            "PUT content {status}"
        );
    }
    assert!(write["responses"]["200"]["headers"]["ETag"].is_object());
    assert!(write["requestBody"]["content"]["application/octet-stream"].is_object());
    let read = &paths["/api/v1/sessions/{id}/files/content"]["get"];
    assert!(read["responses"]["200"]["headers"]["ETag"].is_object());
    let upload = &paths["/api/v1/sessions/{id}/files/upload"]["post"];
    assert!(upload["requestBody"]["content"]["multipart/form-data"].is_object());
    assert!(upload["responses"]["413"].is_object());
    for (path, method) in [
        ("/api/v1/sessions/{id}/files/tree", "get"),
        ("/api/v1/sessions/{id}/files/stat", "get"),
        ("/api/v1/sessions/{id}/files/create", "post"),
        ("/api/v1/sessions/{id}/files/rename", "post"),
        ("/api/v1/sessions/{id}/files", "delete"),
        ("/api/v1/sessions/{id}/files/zip", "get"),
        ("/api/v1/sessions/{id}/snapshots", "get"),
        ("/api/v1/sessions/{id}/snapshots", "post"),
        ("/api/v1/sessions/{id}/snapshots/{snapshot}/restore", "post"),
        ("/api/v1/sessions/{id}/artifacts", "post"),
        ("/api/v1/sessions/{id}/artifacts/{artifact}/url", "post"),
        ("/api/v1/sessions/{id}/terminal", "get"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} undocumented"
        );
    }
    let terminal = &paths["/api/v1/sessions/{id}/terminal"]["get"];
    assert!(terminal["responses"]["101"].is_object());
    for schema in ["TerminalClientMessage", "TerminalServerMessage"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
