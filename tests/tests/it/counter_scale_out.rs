//! The remote counter scaled out: a web node without media and two `madoguchi media` processes
//! on one PostgreSQL. A room is placed on one media node, both participants are sent there and
//! exchange media through it; the node is killed (SIGKILL, nothing retired), the web node
//! notices it is lost, moves the room to the other node (audited), and the participants,
//! asking for fresh grants as the call page does, meet again there.

use crate::counter_signalling::called_into_room;
use madoguchi_testpeer::{PeerOptions, Publish, TestPeer, wait_for_mesh};
use madoguchi_tests::app::{Backend, Options, TestApp, spawn};
use madoguchi_tests::clients::api_call as call;
use madoguchi_tests::signal_ws::WsSignalling;
use reqwest::Method;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;

/// Shared by the web node and the media nodes: grants one signs, the others check.
const GRANT_SECRET: &str = "scale-out-test-grant-secret-0123456789";
/// The web node counts a media node lost after this long without a report (they report every
/// two seconds).
const LOST_AFTER_S: i64 = 4;
/// How long a media process may take to start and register on a loaded machine.
const START_WITHIN: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_media_node_s_room_moves_and_its_participants_meet_again_on_another()
-> anyhow::Result<()> {
    let mut options = Options::new(Backend::Postgres);
    options.tweak = Box::new(|config| {
        config.counter.grant_secret = secrecy::SecretString::from(GRANT_SECRET.to_owned());
        config.counter.placement.lost_after = time::Duration::seconds(LOST_AFTER_S);
    });
    let Some(app) = spawn(options).await? else {
        eprintln!(
            "PostgreSQL not available; skipped (set MADOGUCHI_REQUIRE_POSTGRES=1 to fail instead)"
        );
        return Ok(());
    };
    let data = tempfile::tempdir()?;

    // No media node yet: a grant cannot be placed, and says so.
    let called = called_into_room(&app).await?;
    let room = called.room.as_str();
    let (status, body) = grant(&app, room, &called.resident, "resident").await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("media_unavailable")),
        "{body}"
    );

    let mut first = MediaProcess::start(&app, data.path(), "a").await?;
    let (status, body) = grant(&app, room, &called.resident, "resident").await?;
    assert_eq!(status, 201, "{body}");
    let second = MediaProcess::start(&app, data.path(), "b").await?;

    // Both participants are sent to the node the room was placed on (the first: the second
    // came later and the room stays), and meet there.
    let (resident_grant, specialist_grant) = (
        grant(&app, room, &called.resident, "resident").await?.1,
        grant(&app, room, &called.hq, "specialist").await?.1,
    );
    for placed in [&resident_grant, &specialist_grant] {
        assert!(
            signal_url(placed).starts_with(&first.ws_url),
            "placed on {} rather than the first node {}",
            signal_url(placed),
            first.ws_url
        );
    }
    let peers = vec![join(&resident_grant).await?, join(&specialist_grant).await?];
    wait_for_mesh(&peers, 50)
        .await
        .map_err(|e| first.failed(e))?;

    // A grant presented to the wrong node is refused there (every participant meets on one).
    let elsewhere = WsSignalling::connect_url(
        &signal_url(&resident_grant).replace(&first.ws_url, &second.ws_url),
        token(&resident_grant),
    )
    .await?;
    let reply = elsewhere
        .request(json!({"type": "join", "grant": token(&resident_grant), "sdp": "v=0"}))
        .await?;
    assert_eq!(reply["code"], "media_unavailable", "{reply}");

    // The first node dies without a word.
    first.kill().await?;
    for peer in peers {
        peer.vanish().await?;
    }
    // Until it is counted lost the room stays where it was.
    let (_, still) = grant(&app, room, &called.resident, "resident").await?;
    assert!(signal_url(&still).starts_with(&first.ws_url), "{still}");
    tokio::time::sleep(Duration::from_secs(LOST_AFTER_S as u64 + 1)).await;

    // Fresh grants (what the call page asks for when its socket drops) name the second node.
    let (resident_grant, specialist_grant) = (
        grant(&app, room, &called.resident, "resident").await?.1,
        grant(&app, room, &called.hq, "specialist").await?.1,
    );
    for placed in [&resident_grant, &specialist_grant] {
        assert!(
            signal_url(placed).starts_with(&second.ws_url),
            "moved to {} rather than the second node {}",
            signal_url(placed),
            second.ws_url
        );
    }
    let (resident_ws, resident) = join_signalling(&resident_grant).await?;
    let peers = vec![resident, join(&specialist_grant).await?];
    wait_for_mesh(&peers, 50)
        .await
        .map_err(|e| second.failed(e))?;

    // What reaches the resident, reported to the media node, shows on the web node's console.
    let reply = resident_ws
        .request(json!({"type": "stats", "packets_received": 995, "packets_lost": 5, "freezes": 1, "join_ms": 1234}))
        .await?;
    assert_eq!(reply["type"], "ok", "{reply}");
    let console =
        madoguchi_tests::clients::staff_client(&app, madoguchi_domain::Role::HqStaff).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let page = console
            .get(app.at("/staff/counter"))
            .send()
            .await?
            .text()
            .await?;
        if page.contains("受信損失 0.5%・映像の停止 1 回") {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            second.failed("the console never showed the media node's quality report")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The move is in the city's audit log, once.
    let moves: i64 = match app.raw_pool() {
        madoguchi_tests::app::RawPool::Postgres(pool) => sqlx::query_scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'counter.room_moved' AND target = $1",
        )
        .bind(room)
        .fetch_one(pool)
        .await?,
        madoguchi_tests::app::RawPool::Sqlite(_) => anyhow::bail!("this story runs on PostgreSQL"),
    };
    assert_eq!(moves, 1);
    for peer in peers {
        peer.leave().await?;
    }
    drop(second);
    Ok(())
}

/// `POST /api/v1/counter/rooms/{room}/grants` as `role`: (status, body).
async fn grant(
    app: &TestApp,
    room: &str,
    bearer: &str,
    role: &str,
) -> anyhow::Result<(u16, Value)> {
    call(
        app,
        Method::POST,
        &format!("/api/v1/counter/rooms/{room}/grants"),
        bearer,
        Some(json!({"role": role})),
    )
    .await
}

fn signal_url(grant: &Value) -> String {
    grant["signal_url"].as_str().unwrap_or_default().to_owned()
}

fn token(grant: &Value) -> &str {
    grant["token"].as_str().unwrap_or_default()
}

/// Joins through the grant's node, sending audio and video.
async fn join(grant: &Value) -> anyhow::Result<TestPeer> {
    Ok(join_signalling(grant).await?.1)
}

/// [`join`], keeping the signalling socket.
async fn join_signalling(
    grant: &Value,
) -> anyhow::Result<(std::sync::Arc<WsSignalling>, TestPeer)> {
    let signalling = WsSignalling::connect_url(&signal_url(grant), token(grant)).await?;
    let participant = grant["participant"].as_str().unwrap_or_default();
    let mut peer = TestPeer::join(
        signalling.clone(),
        participant,
        &PeerOptions::new(&[Publish::Audio, Publish::Video]),
    )
    .await?;
    peer.start_writers();
    Ok((signalling, peer))
}

/// `madoguchi media` as a child process on the app's database.
struct MediaProcess {
    child: tokio::process::Child,
    /// Its signalling's base, as `ws://127.0.0.1:PORT`.
    ws_url: String,
    log: std::path::PathBuf,
}

impl MediaProcess {
    /// Starts one and waits until it registered (a new live row in `media_nodes`).
    async fn start(app: &TestApp, dir: &std::path::Path, name: &str) -> anyhow::Result<Self> {
        let before = live_nodes(app).await?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = dir.join(format!("media-{name}.log"));
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_madoguchi-under-test"))
            .args(["media", "--addr"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.join(name))
            .arg("--database-url")
            .arg(app.database_url())
            .env("MADOGUCHI_COUNTER__GRANT_SECRET", GRANT_SECRET)
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()?;
        let mut process = MediaProcess {
            child,
            ws_url: format!("ws://127.0.0.1:{port}"),
            log,
        };
        let deadline = tokio::time::Instant::now() + START_WITHIN;
        while live_nodes(app).await? <= before {
            if let Some(status) = process.child.try_wait()? {
                anyhow::bail!(process.failed(format!("madoguchi media exited: {status}")));
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                process.failed(format!("not registered within {START_WITHIN:?}"))
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(process)
    }

    /// SIGKILL: nothing retired, the node just falls silent.
    async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    /// A failure's message with the process's log.
    fn failed(&self, error: impl std::fmt::Display) -> anyhow::Error {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        anyhow::anyhow!("{error}\n--- media node log ---\n{log}")
    }
}

/// Registered media nodes that are not retired.
async fn live_nodes(app: &TestApp) -> anyhow::Result<usize> {
    Ok(app
        .storage
        .media_nodes()
        .await?
        .iter()
        .filter(|n| n.retired_at.is_none())
        .count())
}
