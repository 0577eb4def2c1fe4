//! `madoguchi bench counter`: the remote counter's media server under load. Three-party rooms of
//! headless WebRTC peers (`madoguchi-testpeer`, signalling in process) join an SFU started in
//! this process, each peer publishing one ~500 kbps VP8-like stream; rooms are added step by
//! step and every step is measured (loss from the receivers' sequence gaps, CPU of the SFU's
//! thread and of the whole process, join-to-first-media). The ramp stops at the first step
//! whose loss reaches the limit. In the same run, the ceiling: the same rooms' packets sent
//! through one bare UDP reflector thread (each packet to the room's two others) with no
//! WebRTC and no SFU routing, so the SFU's cost per forwarded packet reads against the bare
//! cost of moving it over loopback on this machine.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use madoguchi_sfu::{Grant, ParticipantId, RoomId, Sfu, SfuConfig, SfuHandle};
use madoguchi_testpeer::{InProcess, PeerOptions, Publish, TestPeer, lock};

use crate::booking::percentile;

/// RTP payload per packet: a full-size video packet, as a browser's VP8 at this rate sends.
const PAYLOAD_BYTES: usize = 1200;
/// Linux's USER_HZ: the unit of the CPU times in /proc/<pid>/task/*/stat.
const TICKS_PER_S: f64 = 100.0;
/// The SFU's loop thread, as `Sfu::start` names it.
const SFU_THREAD: &str = "madoguchi-sfu";
/// The ceiling's forwarding thread.
const REFLECTOR_THREAD: &str = "bench-reflector";

#[derive(clap::Args, Clone, Debug)]
pub struct CounterArgs {
    /// The most three-party rooms the ramp goes to.
    #[arg(long, default_value_t = 30)]
    pub max_rooms: usize,
    /// Rooms added per step.
    #[arg(long, default_value_t = 5)]
    pub step: usize,
    /// Seconds measured per step, after its joins have settled.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Video each publisher sends, in kbit/s of RTP payload.
    #[arg(long, default_value_t = 500)]
    pub kbps: u32,
    /// A step with this much loss or more (percent) fails and ends the ramp.
    #[arg(long, default_value_t = 1.0)]
    pub loss_limit_pct: f64,
}

/// One measured window.
#[derive(Clone, Debug, Default)]
struct Window {
    rooms: usize,
    received: u64,
    lost: u64,
    received_pps: f64,
    forwarded_pps: f64,
    /// CPU of the forwarding thread (the SFU's, or the reflector's), % of one core.
    forwarder_cpu_pct: f64,
    process_cpu_pct: f64,
}

impl Window {
    fn loss_pct(&self) -> f64 {
        100.0 * self.lost as f64 / (self.received + self.lost).max(1) as f64
    }

    /// Forwarded packets per second the forwarding thread would manage at 100% of a core.
    fn forwarded_pps_per_core(&self) -> f64 {
        if self.forwarder_cpu_pct <= 0.0 {
            return 0.0;
        }
        self.forwarded_pps * 100.0 / self.forwarder_cpu_pct
    }
}

/// CPU time (user + system) of this process's threads named `thread_name`, or of all its
/// threads when `None`, in clock ticks (Linux; 0 elsewhere).
fn cpu_ticks(thread_name: Option<&str>) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter(|stat| thread_name.is_none_or(|name| stat.contains(&format!("({name})"))))
        .filter_map(|stat| {
            let after_name = stat.rsplit_once(") ")?.1;
            let fields: Vec<&str> = after_name.split_whitespace().collect();
            // Fields 14 and 15 of stat (utime, stime), counted from the state field (3).
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

/// CPU (forwarding thread, whole process) between two readings, in % of one core.
struct CpuClock {
    forwarder: u64,
    process: u64,
    at: Instant,
}

impl CpuClock {
    fn start(thread: &str) -> Self {
        Self {
            forwarder: cpu_ticks(Some(thread)),
            process: cpu_ticks(None),
            at: Instant::now(),
        }
    }

    /// (forwarding thread %, process %, seconds elapsed).
    fn stop(&self, thread: &str) -> (f64, f64, f64) {
        let seconds = self.at.elapsed().as_secs_f64().max(0.001);
        let pct = |ticks: u64| 100.0 * ticks as f64 / TICKS_PER_S / seconds;
        (
            pct(cpu_ticks(Some(thread)).saturating_sub(self.forwarder)),
            pct(cpu_ticks(None).saturating_sub(self.process)),
            seconds,
        )
    }
}

/// How often one publisher sends a packet of [`PAYLOAD_BYTES`] to make `kbps`.
fn packet_interval(kbps: u32) -> Duration {
    let bits = (PAYLOAD_BYTES * 8) as f64;
    Duration::from_secs_f64(bits / (f64::from(kbps.max(1)) * 1000.0))
}

pub async fn run(args: CounterArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.step > 0, "--step must be at least 1");
    let interval = packet_interval(args.kbps);
    println!(
        "bench counter: three-party rooms, one {} kbit/s video stream per publisher ({PAYLOAD_BYTES}-byte packets every {:.1} ms), \
         {} s per step, SFU and peers in this process, signalling in process",
        args.kbps,
        interval.as_secs_f64() * 1000.0,
        args.seconds
    );
    let mut config = SfuConfig::new("127.0.0.1:0".parse()?);
    config.rooms_max = config.rooms_max.max(args.max_rooms);
    // The benchmark's peers join at full speed; no participant here is a flood.
    config.signalling_burst = config.signalling_burst.max(100);
    let sfu = Sfu::start(config).context("starting the SFU")?;

    let mut peers: Vec<TestPeer> = Vec::new();
    let mut join_ms: Vec<f64> = Vec::new();
    let mut passed: Option<(Window, Vec<f64>)> = None;
    let mut first_failure: Option<Window> = None;
    println!(
        "| rooms | publishers | forwarded streams | loss % | join→media p50 / p99 ms | received pps | forwarded pps | SFU thread CPU % | process CPU % |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut rooms = 0;
    while rooms < args.max_rooms {
        let target = (rooms + args.step).min(args.max_rooms);
        let mut step_join_ms = Vec::new();
        for room in rooms..target {
            step_join_ms.extend(join_room(&sfu, room, interval, &mut peers).await?);
        }
        rooms = target;
        join_ms.extend(step_join_ms);
        // Let the step's renegotiations and keyframe requests settle before measuring.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let window = measure_sfu(&sfu, &peers, rooms, args.seconds).await?;
        println!(
            "| {rooms} | {} | {} | {:.2} | {:.0} / {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            rooms * 3,
            rooms * 6,
            window.loss_pct(),
            percentile(&join_ms, 0.5),
            percentile(&join_ms, 0.99),
            window.received_pps,
            window.forwarded_pps,
            window.forwarder_cpu_pct,
            window.process_cpu_pct,
        );
        if window.loss_pct() >= args.loss_limit_pct {
            first_failure = Some(window);
            break;
        }
        passed = Some((window, join_ms.clone()));
    }
    // Stop the SFU first, so the peers' departures trigger no renegotiation; then close the
    // peers, so none of their tasks runs during the ceiling. Errors here change no figure.
    sfu.shutdown().await.ok();
    for peer in peers {
        let _ = peer.vanish().await;
    }

    // The ceiling, at the largest room count measured.
    let ceiling_rooms = passed.as_ref().map_or(rooms, |(w, _)| w.rooms).max(1);
    let ceiling = bare_ceiling(ceiling_rooms, interval, args.seconds).await?;
    println!();
    println!(
        "ceiling: {ceiling_rooms} rooms' packets through one bare UDP reflector thread (each to the room's two others, no WebRTC, no SFU routing)"
    );
    println!(
        "| path | rooms | loss % | forwarded pps | forwarding thread CPU % | forwarded pps per core | process CPU % |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| bare UDP reflector (ceiling) | {} | {:.2} | {:.0} | {:.1} | {:.0} | {:.0} |",
        ceiling.rooms,
        ceiling.loss_pct(),
        ceiling.forwarded_pps,
        ceiling.forwarder_cpu_pct,
        ceiling.forwarded_pps_per_core(),
        ceiling.process_cpu_pct
    );
    let (best, best_join) = passed.clone().unwrap_or_default();
    if let Some((window, _)) = &passed {
        println!(
            "| SFU (most rooms under {:.0}% loss) | {} | {:.2} | {:.0} | {:.1} | {:.0} | {:.0} |",
            args.loss_limit_pct,
            window.rooms,
            window.loss_pct(),
            window.forwarded_pps,
            window.forwarder_cpu_pct,
            window.forwarded_pps_per_core(),
            window.process_cpu_pct
        );
    }
    match (&passed, &first_failure) {
        (_, Some(failed)) => println!(
            "the ramp stopped at {} rooms: {:.2}% loss",
            failed.rooms,
            failed.loss_pct()
        ),
        (Some(_), None) => println!(
            "the ramp reached --max-rooms {} under {:.0}% loss",
            args.max_rooms, args.loss_limit_pct
        ),
        (None, None) => {}
    }
    let ratio = if ceiling.forwarded_pps_per_core() > 0.0 {
        best.forwarded_pps_per_core() / ceiling.forwarded_pps_per_core()
    } else {
        0.0
    };
    println!(
        "{}",
        serde_json::json!({
            "bench": "counter",
            "rooms": best.rooms,
            "publishers": best.rooms * 3,
            "forwarded_streams": best.rooms * 6,
            "loss_pct": round2(best.loss_pct()),
            "cpu_pct": round2(best.forwarder_cpu_pct),
            "process_cpu_pct": round2(best.process_cpu_pct),
            "join_p50_ms": round2(percentile(&best_join, 0.5)),
            "join_p99_ms": round2(percentile(&best_join, 0.99)),
            "kbps": args.kbps,
            "sfu_forwarded_pps_per_core": best.forwarded_pps_per_core().round(),
            "ceiling_forwarded_pps_per_core": ceiling.forwarded_pps_per_core().round(),
            "ratio_to_ceiling": round2(ratio),
        })
    );
    Ok(())
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Three peers join one room in turn, each publishing as soon as it is connected. Returns the
/// join-to-first-media times (ms) of the second and third: from their first offer to the first
/// forwarded packet. The first has no one to receive from when it joins, so it is not timed.
async fn join_room(
    sfu: &SfuHandle,
    room: usize,
    interval: Duration,
    peers: &mut Vec<TestPeer>,
) -> anyhow::Result<Vec<f64>> {
    let room_id = RoomId::new(format!("bench-{room}"))?;
    let options = PeerOptions::new(&[Publish::Video]);
    let mut timed = Vec::new();
    for (index, name) in ["staff", "resident", "helper"].into_iter().enumerate() {
        let signalling = Arc::new(InProcess::new(
            sfu.clone(),
            room_id.clone(),
            ParticipantId::new(name)?,
            Grant::FULL,
        ));
        let started = Instant::now();
        let mut peer = TestPeer::join(signalling, name, &options)
            .await
            .with_context(|| format!("{name} joins room {room}"))?;
        peer.start_writers_at(interval, PAYLOAD_BYTES);
        if index > 0 {
            timed.push((peers.len(), started));
        }
        peers.push(peer);
    }
    let mut join_ms = Vec::new();
    for (index, started) in timed {
        let peer = &peers[index];
        let deadline = Instant::now() + Duration::from_secs(10);
        let first = loop {
            if let Some(at) = peer.first_media_at() {
                break at;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} in room {room} received no media within 10 s",
                peer.id
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        join_ms.push(first.saturating_duration_since(started).as_secs_f64() * 1000.0);
    }
    Ok(join_ms)
}

/// Received and lost packets over every peer's streams.
fn totals(peers: &[TestPeer]) -> (u64, u64) {
    peers.iter().fold((0, 0), |(received, lost), peer| {
        let (r, l) = peer.received_totals();
        (received + r, lost + l)
    })
}

async fn measure_sfu(
    sfu: &SfuHandle,
    peers: &[TestPeer],
    rooms: usize,
    seconds: u64,
) -> anyhow::Result<Window> {
    let (received_before, lost_before) = totals(peers);
    let stats_before = sfu.stats().await?;
    let clock = CpuClock::start(SFU_THREAD);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (forwarder_cpu_pct, process_cpu_pct, seconds) = clock.stop(SFU_THREAD);
    let stats_after = sfu.stats().await?;
    let (received_after, lost_after) = totals(peers);
    Ok(Window {
        rooms,
        received: received_after.saturating_sub(received_before),
        lost: lost_after.saturating_sub(lost_before),
        received_pps: stats_after
            .rtp_packets_received
            .saturating_sub(stats_before.rtp_packets_received) as f64
            / seconds,
        forwarded_pps: stats_after
            .rtp_packets_forwarded
            .saturating_sub(stats_before.rtp_packets_forwarded) as f64
            / seconds,
        forwarder_cpu_pct,
        process_cpu_pct,
    })
}

/// Sequence numbers seen per publisher at one receiving socket.
#[derive(Default)]
struct Gaps {
    streams: HashMap<u32, (u64, u64, u64)>,
}

impl Gaps {
    fn record(&mut self, publisher: u32, sequence: u64) {
        let entry = self
            .streams
            .entry(publisher)
            .or_insert((sequence, sequence, 0));
        entry.1 = entry.1.max(sequence);
        entry.2 += 1;
    }

    fn totals(&self) -> (u64, u64) {
        self.streams
            .values()
            .fold((0, 0), |(received, lost), (first, highest, got)| {
                (
                    received + got,
                    lost + (highest - first + 1).saturating_sub(*got),
                )
            })
    }
}

/// The same rooms' packets, same size and rate, through one plain UDP socket on one thread that
/// sends each datagram on to the room's two other members: what the SFU's socket and thread do,
/// minus ICE, DTLS/SRTP, RTP parsing, RTCP and routing. Senders and receivers are plain tokio
/// UDP sockets in this process, as the peers are.
async fn bare_ceiling(rooms: usize, interval: Duration, seconds: u64) -> anyhow::Result<Window> {
    let reflector = UdpSocket::bind("127.0.0.1:0")?;
    reflector.set_read_timeout(Some(Duration::from_millis(100)))?;
    let reflector_addr = reflector.local_addr()?;
    let mut members = Vec::new();
    for _ in 0..rooms * 3 {
        members.push(Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await?));
    }
    let mut routes: HashMap<SocketAddr, Vec<SocketAddr>> = HashMap::new();
    for room in members.chunks(3) {
        for (index, member) in room.iter().enumerate() {
            let others = room
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != index)
                .map(|(_, socket)| socket.local_addr())
                .collect::<Result<Vec<_>, _>>()?;
            routes.insert(member.local_addr()?, others);
        }
    }
    let running = Arc::new(AtomicBool::new(true));
    let forwarded = Arc::new(AtomicU64::new(0));
    let thread = {
        let running = Arc::clone(&running);
        let forwarded = Arc::clone(&forwarded);
        std::thread::Builder::new()
            .name(REFLECTOR_THREAD.to_owned())
            .spawn(move || {
                let mut buf = [0u8; 2048];
                while running.load(Ordering::Relaxed) {
                    let Ok((len, from)) = reflector.recv_from(&mut buf) else {
                        continue;
                    };
                    for to in routes.get(&from).into_iter().flatten() {
                        if reflector.send_to(&buf[..len], to).is_ok() {
                            forwarded.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })?
    };
    let gaps = Arc::new(Mutex::new(Gaps::default()));
    let mut tasks = Vec::new();
    for (publisher, socket) in members.iter().enumerate() {
        let publisher = u32::try_from(publisher)?;
        let sender = Arc::clone(socket);
        let sending = Arc::clone(&running);
        tasks.push(tokio::spawn(async move {
            let mut packet = vec![0x10u8; PAYLOAD_BYTES + 12];
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut sequence: u64 = 0;
            while sending.load(Ordering::Relaxed) {
                ticker.tick().await;
                packet[0..4].copy_from_slice(&publisher.to_be_bytes());
                packet[4..12].copy_from_slice(&sequence.to_be_bytes());
                let _ = sender.send_to(&packet, reflector_addr).await;
                sequence += 1;
            }
        }));
        let receiver = Arc::clone(socket);
        let gaps = Arc::clone(&gaps);
        tasks.push(tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while let Ok(len) = receiver.recv(&mut buf).await {
                if len < 12 {
                    continue;
                }
                let mut id = [0u8; 4];
                id.copy_from_slice(&buf[0..4]);
                let mut sequence = [0u8; 8];
                sequence.copy_from_slice(&buf[4..12]);
                lock(&gaps).record(u32::from_be_bytes(id), u64::from_be_bytes(sequence));
            }
        }));
    }
    // Settle as the SFU's steps do, then measure the same length of window.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (received_before, lost_before) = lock(&gaps).totals();
    let forwarded_before = forwarded.load(Ordering::Relaxed);
    let clock = CpuClock::start(REFLECTOR_THREAD);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (forwarder_cpu_pct, process_cpu_pct, elapsed) = clock.stop(REFLECTOR_THREAD);
    let forwarded_after = forwarded.load(Ordering::Relaxed);
    let (received_after, lost_after) = lock(&gaps).totals();
    running.store(false, Ordering::Relaxed);
    for task in tasks {
        task.abort();
    }
    // The thread sees the flag within its 100 ms read timeout.
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    Ok(Window {
        rooms,
        received: received_after.saturating_sub(received_before),
        lost: lost_after.saturating_sub(lost_before),
        received_pps: 0.0,
        forwarded_pps: forwarded_after.saturating_sub(forwarded_before) as f64 / elapsed,
        forwarder_cpu_pct,
        process_cpu_pct,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_hundred_kbps_of_1200_byte_packets_is_one_every_19_2_ms() {
        let interval = packet_interval(500);
        assert!(
            (interval.as_secs_f64() - 0.0192).abs() < 1e-9,
            "{interval:?}"
        );
    }

    #[test]
    fn gaps_count_what_is_missing_between_the_first_and_the_highest_per_publisher() {
        let mut gaps = Gaps::default();
        for sequence in [5, 6, 8, 9] {
            gaps.record(1, sequence);
        }
        for sequence in [0, 1, 2] {
            gaps.record(2, sequence);
        }
        assert_eq!(gaps.totals(), (7, 1));
    }

    #[test]
    fn a_window_without_forwarding_cpu_has_no_per_core_figure() {
        let window = Window {
            forwarded_pps: 1000.0,
            ..Window::default()
        };
        assert_eq!(window.forwarded_pps_per_core(), 0.0);
        let busy = Window {
            forwarded_pps: 1000.0,
            forwarder_cpu_pct: 10.0,
            received: 99,
            lost: 1,
            ..Window::default()
        };
        assert_eq!(busy.forwarded_pps_per_core(), 10_000.0);
        assert!((busy.loss_pct() - 1.0).abs() < 1e-9);
    }
}
