//! The `files` role (file-service's connection): it gets files channels confined to its root
//! and nothing else, never displaces the controller, and no path — `..`, absolute, NUL, too
//! long, or any symlink trick — reaches outside the root. Commits with `if_match` never lose
//! an update.

use crate::helpers::{attach_io, TestAgent, TIMEOUT};
use rc_agent_protocol::files::FileErrorKind;
use rc_agent_protocol::{
    AgentClient, FileKind, FilesChannel, FilesRequest, FilesResponse, ProtocolError,
};
use std::path::Path;
use tokio::time::timeout;

/// A files-role connection through its own `sandbox-agent attach`.
async fn connect_files(agent: &TestAgent, root: &Path) -> (AgentClient, tokio::process::Child) {
    let mut child = agent.spawn_attach();
    let io = attach_io(&mut child);
    let client = timeout(
        TIMEOUT,
        AgentClient::connect_files(io, "files-tests", &root.to_string_lossy()),
    )
    .await
    .expect("connect in time")
    .expect("connect with the files role");
    (client, child)
}

async fn call(channel: &mut FilesChannel, request: FilesRequest) -> FilesResponse {
    let id = request.request_id();
    channel.send(request).await.expect("send files request");
    let response = timeout(TIMEOUT, channel.recv())
        .await
        .expect("response in time")
        .expect("channel open")
        .expect("valid response");
    assert_eq!(response.request_id(), Some(id), "{response:?}");
    response
}

fn error_kind(response: &FilesResponse) -> Option<FileErrorKind> {
    match response {
        FilesResponse::Error { kind, .. } => Some(*kind),
        _ => None,
    }
}

fn read(path: &str) -> FilesRequest {
    FilesRequest::Read {
        request_id: 1,
        path: path.to_owned(),
        offset: 0,
        len: 1024,
    }
}

/// ws/ (the root) with sub/f.txt, and next to it outside/secret.txt; symlinks in ws that try
/// every way out, and one that stays inside.
fn layout(agent: &TestAgent) -> (std::path::PathBuf, std::path::PathBuf) {
    let ws = agent.path("ws");
    let outside = agent.path("outside");
    std::fs::create_dir_all(ws.join("sub")).expect("ws");
    std::fs::create_dir_all(&outside).expect("outside");
    std::fs::write(ws.join("sub/f.txt"), b"inside").expect("f.txt");
    std::fs::write(outside.join("secret.txt"), b"secret").expect("secret");
    let link = |target: &Path, name: &str| {
        std::os::unix::fs::symlink(target, ws.join(name)).expect("symlink");
    };
    link(&outside, "abs"); // absolute, outside
    link(Path::new("../outside"), "rel"); // relative, escapes
    link(Path::new("chain2"), "chain1"); // a chain whose last link escapes
    link(Path::new("../outside"), "chain2");
    link(Path::new(".."), "up"); // the root's parent
    link(Path::new("/etc"), "etc"); // the classic
    link(Path::new("/proc/self/root"), "magic"); // a magic link
    link(Path::new("sub"), "inner"); // stays inside: allowed
    (ws, outside)
}

#[tokio::test]
async fn a_files_connection_opens_only_files_and_leaves_the_controller_alone() {
    let agent = TestAgent::spawn().await;
    let (ws, _) = layout(&agent);
    let (controller, mut tunnels, _attach) = agent.connect().await;
    let (files_client, _child) = connect_files(&agent, &ws).await;
    assert_eq!(
        files_client.hello().role,
        rc_agent_protocol::Role::Files {
            root: ws.to_string_lossy().into_owned()
        }
    );

    // Its files channel works, relative to the root…
    let mut files = files_client.open_files().await.expect("open files");
    match call(
        &mut files,
        FilesRequest::List {
            request_id: 1,
            path: String::new(),
        },
    )
    .await
    {
        FilesResponse::Entries { entries, .. } => {
            assert!(entries.iter().any(|e| e.name == "sub"), "{entries:?}");
        }
        other => panic!("expected entries, got {other:?}"),
    }
    // …every other channel is refused (the stream opens; the refusal is its first frame).
    let mut pty = files_client.open_pty().await.expect("open");
    match timeout(TIMEOUT, pty.recv()).await.expect("answer in time") {
        Some(Ok(rc_agent_protocol::PtyEvent::Error { message })) => {
            assert!(message.contains("only the files channel"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut claude = files_client.open_claude().await.expect("open");
    match timeout(TIMEOUT, claude.recv())
        .await
        .expect("answer in time")
    {
        Some(Ok(rc_agent_protocol::ClaudeEvent::Error { message })) => {
            assert!(message.contains("only the files channel"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // The controller is still the controller: it was not closed, it can open channels, and
    // model connections are tunnelled to it (not to the files connection).
    assert!(!controller.is_closed());
    controller
        .open_claude()
        .await
        .expect("controller still works");
    let _tcp = tokio::net::TcpStream::connect(("127.0.0.1", agent.model_port))
        .await
        .expect("connect to the model port");
    let tunnel = timeout(TIMEOUT, tunnels.next())
        .await
        .expect("tunnel in time")
        .expect("a tunnel for the controller");
    assert_eq!(tunnel.target, rc_agent_protocol::TUNNEL_TARGET_MODEL);
    assert!(!files_client.is_closed());
}

#[tokio::test]
async fn a_files_role_needs_an_absolute_existing_root() {
    let agent = TestAgent::spawn().await;
    for root in ["relative/dir", "/no/such/dir/anywhere"] {
        let mut child = agent.spawn_attach();
        let err = AgentClient::connect_files(attach_io(&mut child), "files-tests", root)
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, ProtocolError::Remote(m) if m.contains("files root")),
            "{root}: {err}"
        );
    }
}

#[tokio::test]
async fn no_path_leaves_the_root() {
    let agent = TestAgent::spawn().await;
    let (ws, outside) = layout(&agent);
    let (client, _child) = connect_files(&agent, &ws).await;
    let mut files = client.open_files().await.expect("open files");
    let long_name = "x".repeat(300);

    // Refused before any lookup: `..`, absolute, NUL, too long.
    for path in [
        "../outside/secret.txt",
        "/etc/passwd",
        "sub/../../outside/secret.txt",
        "a/../../x",
        "..",
        "sub/..",
        "a\0b",
        long_name.as_str(),
    ] {
        let response = call(&mut files, read(path)).await;
        assert_eq!(
            error_kind(&response),
            Some(FileErrorKind::InvalidRequest),
            "{path:?}: {response:?}"
        );
    }
    let too_deep = "a/".repeat(2100);
    let response = call(&mut files, read(&too_deep)).await;
    assert_eq!(error_kind(&response), Some(FileErrorKind::InvalidRequest));

    // Refused by the kernel while resolving: every symlink way out.
    for path in [
        "abs/secret.txt",
        "rel/secret.txt",
        "chain1/secret.txt",
        "up/outside/secret.txt",
        "etc/passwd",
        "magic/etc/passwd",
    ] {
        let response = call(&mut files, read(path)).await;
        assert_eq!(
            error_kind(&response),
            Some(FileErrorKind::OutsideRoot),
            "{path}: {response:?}"
        );
    }
    for path in ["abs", "up", "etc"] {
        let response = call(
            &mut files,
            FilesRequest::List {
                request_id: 2,
                path: path.to_owned(),
            },
        )
        .await;
        assert_eq!(
            error_kind(&response),
            Some(FileErrorKind::OutsideRoot),
            "{path}"
        );
    }

    // Writes through an escaping symlinked directory.
    let attempts = [
        FilesRequest::Write {
            request_id: 3,
            path: "abs/planted.txt".to_owned(),
            offset: 0,
            data: b"x".to_vec(),
            create: true,
            truncate: true,
        },
        FilesRequest::Write {
            request_id: 3,
            path: "abs/secret.txt".to_owned(),
            offset: 0,
            data: b"overwritten".to_vec(),
            create: false,
            truncate: true,
        },
        FilesRequest::Mkdir {
            request_id: 4,
            path: "rel/newdir/deeper".to_owned(),
            parents: true,
        },
        FilesRequest::Rename {
            request_id: 5,
            from: "sub/f.txt".to_owned(),
            to: "chain1/f.txt".to_owned(),
        },
        FilesRequest::Symlink {
            request_id: 6,
            path: "up/planted-link".to_owned(),
            target: "/etc/passwd".to_owned(),
        },
        FilesRequest::Delete {
            request_id: 7,
            path: "abs/secret.txt".to_owned(),
            recursive: false,
        },
        FilesRequest::Commit {
            request_id: 8,
            temp: "sub/f.txt".to_owned(),
            path: "abs/secret.txt".to_owned(),
            if_match: None,
            create_only: false,
        },
    ];
    for request in attempts {
        let response = call(&mut files, request.clone()).await;
        assert_eq!(
            error_kind(&response),
            Some(FileErrorKind::OutsideRoot),
            "{request:?}: {response:?}"
        );
    }

    // A percent-encoded `..` is just a name here (decoding is the HTTP layer's business).
    let response = call(&mut files, read("%2e%2e/outside/secret.txt")).await;
    assert_eq!(error_kind(&response), Some(FileErrorKind::NotFound));

    // A symlink that stays inside is followed; stat and delete act on the link itself.
    match call(&mut files, read("inner/f.txt")).await {
        FilesResponse::Data { data, .. } => assert_eq!(data, b"inside"),
        other => panic!("expected data, got {other:?}"),
    }
    match call(
        &mut files,
        FilesRequest::Stat {
            request_id: 9,
            path: "abs".to_owned(),
        },
    )
    .await
    {
        FilesResponse::Info { info, .. } => assert_eq!(info.kind, FileKind::Symlink),
        other => panic!("expected info, got {other:?}"),
    }
    let response = call(
        &mut files,
        FilesRequest::Delete {
            request_id: 10,
            path: "abs".to_owned(),
            recursive: true,
        },
    )
    .await;
    assert!(
        matches!(response, FilesResponse::Done { .. }),
        "{response:?}"
    );
    // The root itself cannot be deleted or renamed.
    let response = call(
        &mut files,
        FilesRequest::Delete {
            request_id: 11,
            path: String::new(),
            recursive: true,
        },
    )
    .await;
    assert_eq!(error_kind(&response), Some(FileErrorKind::InvalidRequest));

    // Nothing outside changed.
    let mut names: Vec<_> = std::fs::read_dir(&outside)
        .expect("read outside")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(names, vec![std::ffi::OsString::from("secret.txt")]);
    assert_eq!(
        std::fs::read(outside.join("secret.txt")).expect("secret"),
        b"secret"
    );
    assert!(ws.join("sub/f.txt").exists(), "the rename was refused");
}

async fn write_temp(files: &mut FilesChannel, path: &str, data: &[u8]) {
    let response = call(
        files,
        FilesRequest::Write {
            request_id: 20,
            path: path.to_owned(),
            offset: 0,
            data: data.to_vec(),
            create: true,
            truncate: true,
        },
    )
    .await;
    assert!(
        matches!(response, FilesResponse::Done { .. }),
        "{response:?}"
    );
}

fn commit(temp: &str, path: &str, if_match: Option<&str>, create_only: bool) -> FilesRequest {
    FilesRequest::Commit {
        request_id: 21,
        temp: temp.to_owned(),
        path: path.to_owned(),
        if_match: if_match.map(str::to_owned),
        create_only,
    }
}

async fn etag(files: &mut FilesChannel, path: &str) -> String {
    match call(
        files,
        FilesRequest::Stat {
            request_id: 22,
            path: path.to_owned(),
        },
    )
    .await
    {
        FilesResponse::Info { info, .. } => info.etag.expect("files have an etag"),
        other => panic!("expected info, got {other:?}"),
    }
}

#[tokio::test]
async fn commits_with_a_stale_etag_fail_and_only_one_of_two_racing_writers_wins() {
    use std::os::unix::fs::PermissionsExt as _;
    let agent = TestAgent::spawn().await;
    let (ws, _) = layout(&agent);
    let (client, _child) = connect_files(&agent, &ws).await;
    let mut files = client.open_files().await.expect("open files");

    std::fs::write(ws.join("doc.sh"), b"v1").expect("v1");
    std::fs::set_permissions(ws.join("doc.sh"), std::fs::Permissions::from_mode(0o750))
        .expect("chmod");
    let v1 = etag(&mut files, "doc.sh").await;
    // The etag is the content's SHA-256.
    assert_eq!(
        v1,
        "3bfc269594ef649228e9a74bab00f042efc91d5acc6fbee31a382e80d42388fe"
    );

    // Two writers read v1 and race to save: exactly one wins, the other gets
    // precondition_failed and its temp file is gone.
    let mut other = client.open_files().await.expect("second channel");
    write_temp(&mut files, ".tmp-a", b"from a").await;
    write_temp(&mut other, ".tmp-b", b"from b").await;
    let (a, b) = tokio::join!(
        call(&mut files, commit(".tmp-a", "doc.sh", Some(&v1), false)),
        call(&mut other, commit(".tmp-b", "doc.sh", Some(&v1), false)),
    );
    let outcomes = [&a, &b].map(|r| matches!(r, FilesResponse::Info { .. }));
    assert_eq!(
        outcomes.iter().filter(|won| **won).count(),
        1,
        "{a:?} / {b:?}"
    );
    let loser = if outcomes[0] { &b } else { &a };
    assert_eq!(
        error_kind(loser),
        Some(FileErrorKind::PreconditionFailed),
        "{loser:?}"
    );
    let content = std::fs::read(ws.join("doc.sh")).expect("read");
    assert!(content == b"from a" || content == b"from b");
    assert!(!ws.join(".tmp-a").exists() && !ws.join(".tmp-b").exists());
    // The winner's answer carries the new etag; the permission bits survived the replace.
    let winner = if outcomes[0] { &a } else { &b };
    match winner {
        FilesResponse::Info { info, .. } => {
            assert_ne!(info.etag.as_deref(), Some(v1.as_str()));
            assert_eq!(info.mode, 0o750);
        }
        other => panic!("{other:?}"),
    }

    // A stale etag fails later too; create_only refuses an existing name; a new name works.
    write_temp(&mut files, ".tmp-c", b"late").await;
    let response = call(&mut files, commit(".tmp-c", "doc.sh", Some(&v1), false)).await;
    assert_eq!(
        error_kind(&response),
        Some(FileErrorKind::PreconditionFailed)
    );
    write_temp(&mut files, ".tmp-d", b"new").await;
    let response = call(&mut files, commit(".tmp-d", "doc.sh", None, true)).await;
    assert_eq!(error_kind(&response), Some(FileErrorKind::AlreadyExists));
    let response = call(&mut files, commit(".tmp-d", "new.txt", None, true)).await;
    assert!(
        matches!(&response, FilesResponse::Info { info, .. } if info.size == 3),
        "{response:?}"
    );
    // If-Match on a file that vanished fails as well.
    write_temp(&mut files, ".tmp-e", b"e").await;
    let response = call(&mut files, commit(".tmp-e", "gone.txt", Some(&v1), false)).await;
    assert_eq!(
        error_kind(&response),
        Some(FileErrorKind::PreconditionFailed)
    );

    // Symlinks round-trip (for snapshots).
    let response = call(
        &mut files,
        FilesRequest::Symlink {
            request_id: 30,
            path: "sub/link".to_owned(),
            target: "../new.txt".to_owned(),
        },
    )
    .await;
    assert!(
        matches!(response, FilesResponse::Done { .. }),
        "{response:?}"
    );
    match call(
        &mut files,
        FilesRequest::Readlink {
            request_id: 31,
            path: "sub/link".to_owned(),
        },
    )
    .await
    {
        FilesResponse::Link { target, .. } => assert_eq!(target, "../new.txt"),
        other => panic!("expected a link, got {other:?}"),
    }

    // Modes (for restores): set on files, refused on links.
    let response = call(
        &mut files,
        FilesRequest::Chmod {
            request_id: 32,
            path: "new.txt".to_owned(),
            mode: 0o640,
        },
    )
    .await;
    assert!(
        matches!(response, FilesResponse::Done { .. }),
        "{response:?}"
    );
    let mode = std::fs::metadata(ws.join("new.txt"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    let response = call(
        &mut files,
        FilesRequest::Chmod {
            request_id: 33,
            path: "sub/link".to_owned(),
            mode: 0o600,
        },
    )
    .await;
    assert_eq!(error_kind(&response), Some(FileErrorKind::InvalidRequest));
}
