//! Media through a real TURN server: coturn (`turnserver`, Debian's `coturn`) started by the
//! test on free loopback ports with the shared-secret scheme Madoguchi's credentials use, and
//! peers that may only use relay candidates (`iceTransportPolicy: "relay"`), as a resident
//! behind a UDP-blocking firewall does.
//!
//! Without `turnserver` on the PATH the tests print why and pass, unless
//! `MADOGUCHI_REQUIRE_TURN=1` (CI sets it), in which case they fail.

// Test code: a failed setup or a poisoned lock is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{PeerOptions, Publish, TestPeer, room, start_sfu, wait_for_mesh};
use madoguchi_auth::turn::{TURN_CREDENTIAL_LIFETIME, TurnCredential, turn_credential};
use time::OffsetDateTime;
use webrtc::peer_connection::{RTCIceServer, RTCPeerConnectionState};

const SECRET: &[u8] = b"madoguchi-turn-test-secret";

/// `turnserver`'s path, or `None` when the test may skip (after saying why).
fn turnserver() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("turnserver"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        let required = std::env::var("MADOGUCHI_REQUIRE_TURN")
            .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
        assert!(
            !required,
            "MADOGUCHI_REQUIRE_TURN is set but turnserver is not on the PATH (apt-get install coturn)"
        );
        eprintln!("skipped: turnserver is not on the PATH (apt-get install coturn)");
    }
    found
}

/// A coturn process on 127.0.0.1, killed when dropped.
struct Coturn {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Coturn {
    fn start(binary: &Path) -> Coturn {
        let dir = tempfile::tempdir().unwrap();
        let port = free_udp_port();
        // Relayed ports: a random stretch, so parallel tests (each with its own coturn) rarely
        // share one; coturn skips ports it cannot bind.
        let min_port = 20_000 + (rand::random::<u16>() % 400) * 100;
        let config = format!(
            "\
listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port={port}
min-port={min_port}
max-port={max_port}
use-auth-secret
static-auth-secret={secret}
realm=madoguchi.test
fingerprint
no-tls
no-dtls
no-tcp
no-cli
no-software-attribute
# As in production (infra/coturn/turnserver.conf), loopback is denied except the SFU's
# address: here the SFU itself is on 127.0.0.1.
allow-loopback-peers
denied-peer-ip=127.0.0.2-127.255.255.255
allowed-peer-ip=127.0.0.1
pidfile={dir}/turnserver.pid
userdb={dir}/turndb
log-file={dir}/turnserver.log
simple-log
",
            max_port = min_port + 99,
            secret = String::from_utf8_lossy(SECRET),
            dir = dir.path().display(),
        );
        let config_path = dir.path().join("turnserver.conf");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(binary)
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver starts");
        let coturn = Coturn { child, port, dir };
        coturn.wait_ready();
        coturn
    }

    /// Poll with STUN Binding requests until coturn answers.
    fn wait_ready(&self) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        request.extend(rand::random::<[u8; 12]>());
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            socket.send_to(&request, ("127.0.0.1", self.port)).unwrap();
            if let Ok((len, _)) = socket.recv_from(&mut buf)
                && len >= 20
                && buf[0..2] == [0x01, 0x01]
            {
                return;
            }
        }
        panic!(
            "coturn did not answer within 10 s; its log:\n{}",
            self.log()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("turnserver.log")).unwrap_or_default()
    }

    fn ice_server(&self, credential: &TurnCredential) -> RTCIceServer {
        RTCIceServer {
            urls: vec![format!("turn:127.0.0.1:{}?transport=udp", self.port)],
            username: credential.username.clone(),
            credential: credential.password.clone(),
        }
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn relay_only(coturn: &Coturn, credential: &TurnCredential, publish: &[Publish]) -> PeerOptions {
    let mut options = PeerOptions::new(publish);
    options.ice_servers = vec![coturn.ice_server(credential)];
    options.relay_only = true;
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_flows_both_ways_through_turn_and_the_sfu() -> anyhow::Result<()> {
    let Some(binary) = turnserver() else {
        return Ok(());
    };
    let coturn = Coturn::start(&binary);
    let sfu = start_sfu();
    let counter = room("counter-turn");
    let now = OffsetDateTime::now_utc();
    let mut peers = Vec::new();
    for id in ["staff", "resident"] {
        let credential = turn_credential(SECRET, id, now, TURN_CREDENTIAL_LIFETIME);
        let options = relay_only(&coturn, &credential, &[Publish::Audio, Publish::Video]);
        let joined = common::join_with_options(&sfu, &counter, id, &options).await;
        let peer = joined.map_err(|e| anyhow::anyhow!("{e}; coturn's log:\n{}", coturn.log()))?;
        peers.push(peer);
    }
    for peer in &mut peers {
        peer.start_writers();
    }
    wait_for_mesh(&peers, 200).await?;
    for receiver in &peers {
        for sender in peers.iter().filter(|p| p.id != receiver.id) {
            for send in &sender.sends {
                let count = receiver.received_from(send.ssrc);
                assert!(
                    count.lost() * 100 <= count.received,
                    "{} lost {} of {} from {}",
                    receiver.id,
                    count.lost(),
                    count.received,
                    sender.id
                );
            }
        }
    }
    for peer in &peers {
        // Only relay candidates were gathered, and the pair in use is a relayed one.
        let gathered = peer.local_candidate_types();
        assert!(
            !gathered.is_empty() && gathered.iter().all(|t| t == "relay"),
            "{}: {gathered:?}",
            peer.id
        );
        assert_eq!(
            peer.selected_local_candidate_type().await.as_deref(),
            Some("relay"),
            "{}'s selected candidate pair",
            peer.id
        );
    }
    // And the SFU saw the media arrive from coturn's relayed addresses, not from the peers.
    let stats = sfu.stats().await?;
    assert_eq!(stats.participants, 2);
    assert!(stats.rtp_packets_forwarded >= 4 * 200);
    sfu.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_credential_is_refused_and_the_peer_never_connects() -> anyhow::Result<()> {
    let Some(binary) = turnserver() else {
        return Ok(());
    };
    let coturn = Coturn::start(&binary);
    let sfu = start_sfu();
    let counter = room("counter-turn-expired");
    // Issued three hours ago for two: it expired an hour ago. The password is right.
    let expired = turn_credential(
        SECRET,
        "latecomer",
        OffsetDateTime::now_utc() - time::Duration::hours(3),
        TURN_CREDENTIAL_LIFETIME,
    );
    let options = relay_only(&coturn, &expired, &[Publish::Video]);
    let signalling = common::signalling(&sfu, &counter, "latecomer");
    // Signalling succeeds (the SFU does not know TURN); the connection does not.
    let peer = TestPeer::join_unconnected(signalling, "latecomer", &options).await?;
    let connected = peer.wait_connected(Duration::from_secs(8)).await;
    assert!(
        connected.is_err(),
        "a peer with an expired TURN credential connected"
    );
    assert_ne!(peer.state(), Some(RTCPeerConnectionState::Connected));
    let gathered = peer.local_candidate_types();
    assert!(
        gathered.iter().all(|t| t != "relay"),
        "coturn allocated a relay for an expired credential: {gathered:?}"
    );
    // webrtc 0.21 logs the 401 of the refused Allocate but reports no candidate error; should
    // a later version report one, it must be the refusal.
    let errors = peer.observed.candidate_errors.lock().unwrap().clone();
    assert!(errors.iter().all(|(code, _)| *code == 401), "{errors:?}");
    // The control: the same coturn, the same secret, a credential issued now: relayed and
    // connected. So the refusal above is the expiry's, not the setup's.
    let fresh = turn_credential(
        SECRET,
        "punctual",
        OffsetDateTime::now_utc(),
        TURN_CREDENTIAL_LIFETIME,
    );
    let options = relay_only(&coturn, &fresh, &[Publish::Video]);
    let punctual = common::join_with_options(&sfu, &counter, "punctual", &options)
        .await
        .map_err(|e| anyhow::anyhow!("{e}; coturn's log:\n{}", coturn.log()))?;
    assert!(
        punctual
            .local_candidate_types()
            .iter()
            .any(|t| t == "relay")
    );
    peer.vanish().await?;
    sfu.shutdown().await?;
    Ok(())
}
