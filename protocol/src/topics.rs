//! Kafka topics and the partitioning rules, in one place.
//!
//! * **Input** (`<prefix>.input`): every event of a connection, keyed by its handle
//!   ([`Handle::to_key`]). Producers use Kafka's murmur2 partitioner ([`INPUT_PARTITIONER`]) so
//!   every producer, in any language, puts one connection's events in one partition, in order.
//! * **Output** (`<prefix>.output`): the producer picks the partition from the target gateway's
//!   slot ([`output_partition`]); a gateway reads only that partition. With at least as many output
//!   partitions as gateways, no gateway ever reads another's traffic.

use std::collections::BTreeMap;

use crate::handle::{Handle, Slot};

/// librdkafka's name for Kafka's default (Java-client) key partitioner.
pub const INPUT_PARTITIONER: &str = "murmur2_random";

/// Partition counts a fresh install creates.
pub const DEFAULT_INPUT_PARTITIONS: i32 = 8;
pub const DEFAULT_OUTPUT_PARTITIONS: i32 = 16;

/// The prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "mush";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub input: String,
    pub output: String,
}

impl Topics {
    /// Topic names under a prefix (one per game sharing a Kafka cluster), e.g. `mush.input`.
    pub fn new(prefix: &str) -> Self {
        Self {
            input: format!("{prefix}.input"),
            output: format!("{prefix}.output"),
        }
    }
}

impl Default for Topics {
    fn default() -> Self {
        Self::new(DEFAULT_PREFIX)
    }
}

/// The output partition that the gateway holding `slot` reads.
pub fn output_partition(slot: Slot, output_partitions: i32) -> i32 {
    assert!(output_partitions > 0, "a topic has at least one partition");
    i32::from(slot.get()) % output_partitions
}

/// Splits the targets of one logical output (a room's `say`) into one group per gateway, so the
/// game produces one multicast message per gateway. Order within a group follows `handles`.
pub fn group_by_gateway(handles: impl IntoIterator<Item = Handle>) -> BTreeMap<Slot, Vec<Handle>> {
    let mut groups: BTreeMap<Slot, Vec<Handle>> = BTreeMap::new();
    for h in handles {
        groups.entry(h.slot()).or_default().push(h);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(slot: u16, n: u32) -> Handle {
        Handle::new(Slot::new(slot).unwrap(), 1, n).unwrap()
    }

    #[test]
    fn names_follow_the_prefix() {
        assert_eq!(Topics::default().input, "mush.input");
        assert_eq!(Topics::new("game2").output, "game2.output");
    }

    #[test]
    fn each_slot_has_its_own_partition_while_there_are_enough() {
        let parts: Vec<i32> = (0..16)
            .map(|s| output_partition(Slot::new(s).unwrap(), 16))
            .collect();
        assert_eq!(parts, (0..16).collect::<Vec<_>>());
        assert_eq!(output_partition(Slot::new(17).unwrap(), 16), 1);
    }

    #[test]
    fn a_room_splits_into_one_group_per_gateway() {
        let groups = group_by_gateway([h(0, 1), h(2, 5), h(0, 2), h(2, 6), h(1, 9)]);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[&Slot::new(0).unwrap()], vec![h(0, 1), h(0, 2)]);
        assert_eq!(groups[&Slot::new(2).unwrap()], vec![h(2, 5), h(2, 6)]);
    }
}
