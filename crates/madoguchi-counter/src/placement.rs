//! Which media node a room's call goes through. Media nodes (SFU processes) register with their
//! capacity and report their load every few seconds; a room stays on the node it was placed on
//! while that node lives, so all its participants meet in one SFU, and moves to the least loaded
//! live node when its node is lost (no report for a while) or was stopped.

use madoguchi_domain::MediaNodeId;
use time::{Duration, OffsetDateTime};

/// How often a media node reports its load.
pub const NODE_REPORT_EVERY: Duration = Duration::seconds(2);

/// A node silent for this long is lost by default: five missed reports, so a pause of a busy
/// database or a slow report does not move live calls.
pub const NODE_LOST_AFTER: Duration = Duration::seconds(10);

/// A media node as placement sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLoad {
    pub id: MediaNodeId,
    /// Participants the node takes at most.
    pub capacity: u32,
    /// Participants connected through it at its last report.
    pub load: u32,
    /// Its last report.
    pub seen_at: OffsetDateTime,
    /// Set when the node stopped on purpose (its rooms move at once).
    pub retired: bool,
}

impl NodeLoad {
    /// Whether the node is up: not stopped, and reported within `lost_after` of `now`.
    pub fn is_live(&self, now: OffsetDateTime, lost_after: Duration) -> bool {
        !self.retired && now - self.seen_at < lost_after
    }

    /// Load per mille of capacity, for comparing nodes of different sizes.
    fn fill(&self) -> u64 {
        u64::from(self.load) * 1000 / u64::from(self.capacity.max(1))
    }
}

/// Where a room's call goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// It stays on the live node it is on (even a full one: a room is never split).
    Stay(MediaNodeId),
    /// It goes to `to`: first placed (`from` is `None`) or moved off a lost or stopped node.
    Move {
        to: MediaNodeId,
        from: Option<MediaNodeId>,
    },
    /// No live node has room: the call cannot start now.
    NoNode,
}

/// Places a room that is on `current` (if anywhere) among `nodes`: it stays where it is while
/// that node lives; otherwise it goes to the live node with spare capacity that is least full
/// (then least loaded, then by id, so every web node picks the same).
pub fn place(
    nodes: &[NodeLoad],
    current: Option<MediaNodeId>,
    now: OffsetDateTime,
    lost_after: Duration,
) -> Placement {
    if let Some(current) = current
        && nodes
            .iter()
            .any(|n| n.id == current && n.is_live(now, lost_after))
    {
        return Placement::Stay(current);
    }
    nodes
        .iter()
        .filter(|n| n.is_live(now, lost_after) && n.load < n.capacity)
        .min_by_key(|n| (n.fill(), n.load, n.id))
        .map_or(Placement::NoNode, |n| Placement::Move {
            to: n.id,
            from: current,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    const NOW: OffsetDateTime = datetime!(2026-12-07 01:00 UTC);

    fn node(n: u128, capacity: u32, load: u32, seen_s_ago: i64) -> NodeLoad {
        NodeLoad {
            id: MediaNodeId(Uuid::from_u128(n)),
            capacity,
            load,
            seen_at: NOW - Duration::seconds(seen_s_ago),
            retired: false,
        }
    }

    #[test]
    fn a_new_room_goes_to_the_least_full_live_node() {
        let nodes = [
            node(1, 100, 50, 1),
            node(2, 300, 60, 1),
            node(3, 100, 0, 60),
        ];
        assert_eq!(
            place(&nodes, None, NOW, NODE_LOST_AFTER),
            Placement::Move {
                to: nodes[1].id,
                from: None
            }
        );
    }

    #[test]
    fn a_room_stays_on_its_live_node_even_when_it_is_full() {
        let nodes = [node(1, 10, 10, 1), node(2, 10, 0, 1)];
        assert_eq!(
            place(&nodes, Some(nodes[0].id), NOW, NODE_LOST_AFTER),
            Placement::Stay(nodes[0].id)
        );
    }

    #[test]
    fn a_room_on_a_silent_or_stopped_node_moves() {
        let mut nodes = [node(1, 10, 3, 11), node(2, 10, 5, 1)];
        let moved = Placement::Move {
            to: nodes[1].id,
            from: Some(nodes[0].id),
        };
        assert_eq!(
            place(&nodes, Some(nodes[0].id), NOW, NODE_LOST_AFTER),
            moved
        );
        nodes[0].seen_at = NOW;
        nodes[0].retired = true;
        assert_eq!(
            place(&nodes, Some(nodes[0].id), NOW, NODE_LOST_AFTER),
            moved
        );
    }

    #[test]
    fn without_a_live_node_with_room_there_is_no_placement() {
        let nodes = [node(1, 10, 10, 1), node(2, 10, 0, 30)];
        assert_eq!(place(&nodes, None, NOW, NODE_LOST_AFTER), Placement::NoNode);
        assert_eq!(place(&[], None, NOW, NODE_LOST_AFTER), Placement::NoNode);
    }

    #[test]
    fn equal_nodes_are_chosen_the_same_way_everywhere() {
        let a = [node(2, 10, 1, 1), node(1, 10, 1, 1)];
        let b = [node(1, 10, 1, 1), node(2, 10, 1, 1)];
        assert_eq!(
            place(&a, None, NOW, NODE_LOST_AFTER),
            place(&b, None, NOW, NODE_LOST_AFTER)
        );
    }
}
