use crate::helpers::{TestAgent, TIMEOUT};
use rc_agent_protocol::files::FileErrorKind;
use rc_agent_protocol::{FileKind, FilesChannel, FilesRequest, FilesResponse};

async fn call(channel: &mut FilesChannel, request: FilesRequest) -> FilesResponse {
    let id = request.request_id();
    channel.send(request).await.expect("send files request");
    let response = tokio::time::timeout(TIMEOUT, channel.recv())
        .await
        .expect("response in time")
        .expect("channel open")
        .expect("valid response");
    assert_eq!(response.request_id(), Some(id), "{response:?}");
    response
}

fn done(response: FilesResponse) {
    assert!(
        matches!(response, FilesResponse::Done { .. }),
        "{response:?}"
    );
}

#[tokio::test]
async fn files_are_written_read_listed_moved_and_deleted() {
    let agent = TestAgent::spawn().await;
    let (client, _tunnels, _attach) = agent.connect().await;
    let mut files = client.open_files().await.expect("open files channel");
    let root = agent.path("ws");
    let dir = root.join("a/b");
    let file = dir.join("f.bin");
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();

    done(
        call(
            &mut files,
            FilesRequest::Mkdir {
                request_id: 1,
                path: path(&dir),
                parents: true,
            },
        )
        .await,
    );
    // Two chunks: the first creates and truncates, the second continues at its offset.
    let first: Vec<u8> = (0..300_000u32).map(|i| (i % 256) as u8).collect();
    let second = b"tail".to_vec();
    done(
        call(
            &mut files,
            FilesRequest::Write {
                request_id: 2,
                path: path(&file),
                offset: 0,
                data: first.clone(),
                create: true,
                truncate: true,
            },
        )
        .await,
    );
    done(
        call(
            &mut files,
            FilesRequest::Write {
                request_id: 3,
                path: path(&file),
                offset: first.len() as u64,
                data: second.clone(),
                create: false,
                truncate: false,
            },
        )
        .await,
    );
    let mut expected = first;
    expected.extend_from_slice(&second);
    assert_eq!(std::fs::read(&file).expect("read back"), expected);

    match call(
        &mut files,
        FilesRequest::Read {
            request_id: 4,
            path: path(&file),
            offset: 299_998,
            len: 100,
        },
    )
    .await
    {
        FilesResponse::Data { data, eof, .. } => {
            assert_eq!(data, expected[299_998..]);
            assert!(eof);
        }
        other => panic!("expected data, got {other:?}"),
    }

    match call(
        &mut files,
        FilesRequest::Stat {
            request_id: 5,
            path: path(&file),
        },
    )
    .await
    {
        FilesResponse::Info { info, .. } => {
            assert_eq!(info.name, "f.bin");
            assert_eq!(info.kind, FileKind::File);
            assert_eq!(info.size, expected.len() as u64);
        }
        other => panic!("expected info, got {other:?}"),
    }

    let moved = root.join("a/moved.bin");
    done(
        call(
            &mut files,
            FilesRequest::Rename {
                request_id: 6,
                from: path(&file),
                to: path(&moved),
            },
        )
        .await,
    );
    match call(
        &mut files,
        FilesRequest::List {
            request_id: 7,
            path: path(&root.join("a")),
        },
    )
    .await
    {
        FilesResponse::Entries { entries, .. } => {
            let names: Vec<_> = entries.iter().map(|e| (e.name.as_str(), e.kind)).collect();
            assert_eq!(
                names,
                vec![("b", FileKind::Dir), ("moved.bin", FileKind::File)]
            );
        }
        other => panic!("expected entries, got {other:?}"),
    }

    // A non-empty directory needs `recursive`.
    match call(
        &mut files,
        FilesRequest::Delete {
            request_id: 8,
            path: path(&root),
            recursive: false,
        },
    )
    .await
    {
        FilesResponse::Error { kind, .. } => assert_eq!(kind, FileErrorKind::DirectoryNotEmpty),
        other => panic!("expected an error, got {other:?}"),
    }
    done(
        call(
            &mut files,
            FilesRequest::Delete {
                request_id: 9,
                path: path(&root),
                recursive: true,
            },
        )
        .await,
    );
    assert!(!root.exists());

    match call(
        &mut files,
        FilesRequest::Stat {
            request_id: 10,
            path: path(&root),
        },
    )
    .await
    {
        FilesResponse::Error { kind, .. } => assert_eq!(kind, FileErrorKind::NotFound),
        other => panic!("expected an error, got {other:?}"),
    }
    match call(
        &mut files,
        FilesRequest::Stat {
            request_id: 11,
            path: "relative/path".to_owned(),
        },
    )
    .await
    {
        FilesResponse::Error { kind, .. } => assert_eq!(kind, FileErrorKind::InvalidRequest),
        other => panic!("expected an error, got {other:?}"),
    }
}
