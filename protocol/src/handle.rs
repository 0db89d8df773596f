//! Connection handles.
//!
//! A handle names one player connection for its whole life, across every gateway and every restart
//! of the servers. It is built locally by the gateway that accepted the socket, without a Redis
//! round trip per connection, from three parts:
//!
//! * the gateway's **slot**: a small number leased in Redis while the gateway lives;
//! * the slot's **epoch**: incremented each time the slot is taken, so a gateway that restarts on
//!   the same slot never hands out a handle an earlier life of the slot already used;
//! * a per-epoch **counter**.
//!
//! Packed into a `u64` as `slot:12 | epoch:20 | counter:32`: up to 4,096 gateways, about a million
//! lives per slot before the epoch wraps (records of an epoch are swept long before that), and four
//! billion connections per life. A gateway that exhausts its counter takes a new epoch.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

const SLOT_BITS: u32 = 12;
const EPOCH_BITS: u32 = 20;
const COUNTER_BITS: u32 = 32;

/// Highest slot number a gateway can hold.
pub const MAX_SLOT: u16 = (1 << SLOT_BITS) - 1;
/// Highest epoch a slot can reach before it wraps to 1.
pub const MAX_EPOCH: u32 = (1 << EPOCH_BITS) - 1;

/// The gateway slot a handle was allocated under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot(u16);

impl Slot {
    /// A slot number, refused above [`MAX_SLOT`].
    pub fn new(n: u16) -> Result<Self, HandleError> {
        if n > MAX_SLOT {
            return Err(HandleError::SlotOutOfRange(n.into()));
        }
        Ok(Slot(n))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Maps the ever-increasing lease counter kept in Redis onto the epoch's 20 bits, skipping 0 so
/// that a zero handle never names a live connection.
pub fn epoch_from_lease_counter(counter: u64) -> u32 {
    ((counter.saturating_sub(1)) % u64::from(MAX_EPOCH)) as u32 + 1
}

/// A connection handle. Copy, hashable, 8 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(u64);

impl Handle {
    /// The game-server's own events (its timers): slot 0, epoch 0, which no gateway ever uses
    /// (epochs start at 1).
    pub const GAME: Handle = Handle(0);

    /// Builds a handle; the epoch must fit in 20 bits.
    pub fn new(slot: Slot, epoch: u32, counter: u32) -> Result<Self, HandleError> {
        if epoch > MAX_EPOCH {
            return Err(HandleError::EpochOutOfRange(epoch));
        }
        Ok(Handle(
            (u64::from(slot.0) << (EPOCH_BITS + COUNTER_BITS))
                | (u64::from(epoch) << COUNTER_BITS)
                | u64::from(counter),
        ))
    }

    /// The raw 64-bit value, as carried on the wire.
    pub fn to_u64(self) -> u64 {
        self.0
    }

    /// Any 64-bit value is a well-formed handle.
    pub fn from_u64(raw: u64) -> Self {
        Handle(raw)
    }

    pub fn slot(self) -> Slot {
        Slot((self.0 >> (EPOCH_BITS + COUNTER_BITS)) as u16)
    }

    pub fn epoch(self) -> u32 {
        ((self.0 >> COUNTER_BITS) & u64::from(MAX_EPOCH)) as u32
    }

    pub fn counter(self) -> u32 {
        self.0 as u32
    }

    /// The Kafka message key: the handle's 8 bytes, big-endian.
    pub fn to_key(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// Reads a Kafka message key written by [`Handle::to_key`].
    pub fn from_key(key: &[u8]) -> Option<Self> {
        Some(Handle(u64::from_be_bytes(key.try_into().ok()?)))
    }
}

/// `slot.epoch.counter`, e.g. `3.17.42`: short enough for WHO and log lines, and parseable.
impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.slot().0, self.epoch(), self.counter())
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({self})")
    }
}

impl FromStr for Handle {
    type Err = HandleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || HandleError::Malformed(s.to_owned());
        let mut parts = s.split('.');
        let (Some(slot), Some(epoch), Some(counter), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let slot: u16 = slot.parse().map_err(|_| bad())?;
        let epoch: u32 = epoch.parse().map_err(|_| bad())?;
        let counter: u32 = counter.parse().map_err(|_| bad())?;
        Handle::new(Slot::new(slot)?, epoch, counter)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    #[error("slot {0} is out of range (0..={MAX_SLOT})")]
    SlotOutOfRange(u32),
    #[error("epoch {0} is out of range (0..={MAX_EPOCH})")]
    EpochOutOfRange(u32),
    #[error("'{0}' is not a handle (expected slot.epoch.counter)")]
    Malformed(String),
}

/// Hands out handles for one gateway life (one slot, one epoch). Lock-free; shared by every
/// accept task of the gateway.
#[derive(Debug)]
pub struct HandleAllocator {
    slot: Slot,
    epoch: u32,
    next: AtomicU32,
    exhausted: std::sync::atomic::AtomicBool,
}

impl HandleAllocator {
    pub fn new(slot: Slot, epoch: u32) -> Result<Self, HandleError> {
        Handle::new(slot, epoch, 0)?;
        Ok(Self {
            slot,
            epoch,
            next: AtomicU32::new(1),
            exhausted: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn slot(&self) -> Slot {
        self.slot
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The next unused handle, or `None` once this epoch's counter is spent (the gateway must then
    /// take a new epoch). Never returns the same handle twice.
    pub fn allocate(&self) -> Option<Handle> {
        if self.exhausted.load(Ordering::Relaxed) {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        if n == 0 || n == u32::MAX {
            // Wrapped (0) or reached the last value: stop for good so no value repeats.
            self.exhausted.store(true, Ordering::Relaxed);
            self.next.store(u32::MAX, Ordering::Relaxed);
            return None;
        }
        Handle::new(self.slot, self.epoch, n).ok()
    }

    /// Whether `handle` was allocated under this slot and epoch.
    pub fn owns(&self, handle: Handle) -> bool {
        handle.slot() == self.slot && handle.epoch() == self.epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    proptest! {
        #[test]
        fn parts_round_trip(slot in 0..=MAX_SLOT, epoch in 0..=MAX_EPOCH, counter: u32) {
            let h = Handle::new(Slot::new(slot).unwrap(), epoch, counter).unwrap();
            prop_assert_eq!(h.slot().get(), slot);
            prop_assert_eq!(h.epoch(), epoch);
            prop_assert_eq!(h.counter(), counter);
            prop_assert_eq!(Handle::from_u64(h.to_u64()), h);
            prop_assert_eq!(Handle::from_key(&h.to_key()), Some(h));
            prop_assert_eq!(h.to_string().parse::<Handle>().unwrap(), h);
        }

        #[test]
        fn distinct_parts_give_distinct_handles(
            a in (0..=MAX_SLOT, 0..=MAX_EPOCH, any::<u32>()),
            b in (0..=MAX_SLOT, 0..=MAX_EPOCH, any::<u32>()),
        ) {
            let ha = Handle::new(Slot::new(a.0).unwrap(), a.1, a.2).unwrap();
            let hb = Handle::new(Slot::new(b.0).unwrap(), b.1, b.2).unwrap();
            prop_assert_eq!(a == b, ha == hb);
        }

        #[test]
        fn epochs_from_lease_counters_are_never_zero_and_fit(counter: u64) {
            let e = epoch_from_lease_counter(counter);
            prop_assert!((1..=MAX_EPOCH).contains(&e));
        }

        #[test]
        fn parsing_garbage_never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<Handle>();
        }
    }

    #[test]
    fn handles_are_unique_across_gateways_and_restarts() {
        let mut seen = HashSet::new();
        for slot in [0u16, 1, 7, MAX_SLOT] {
            // Three lives of each slot, as a gateway restarting on the same slot would have.
            for lease_counter in 1..=3u64 {
                let epoch = epoch_from_lease_counter(lease_counter);
                let alloc = HandleAllocator::new(Slot::new(slot).unwrap(), epoch).unwrap();
                for _ in 0..1000 {
                    let h = alloc.allocate().unwrap();
                    assert!(alloc.owns(h));
                    assert!(seen.insert(h), "{h} handed out twice");
                }
            }
        }
        assert_eq!(seen.len(), 4 * 3 * 1000);
    }

    #[test]
    fn concurrent_allocation_never_repeats() {
        let alloc = std::sync::Arc::new(HandleAllocator::new(Slot::new(5).unwrap(), 9).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let alloc = alloc.clone();
                std::thread::spawn(move || (0..5000).map(|_| alloc.allocate().unwrap()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for t in threads {
            for h in t.join().unwrap() {
                assert!(all.insert(h));
            }
        }
        assert_eq!(all.len(), 20_000);
    }

    #[test]
    fn an_exhausted_allocator_stops_instead_of_wrapping() {
        let alloc = HandleAllocator::new(Slot::new(1).unwrap(), 1).unwrap();
        alloc.next.store(u32::MAX - 2, Ordering::Relaxed);
        assert_eq!(alloc.allocate().unwrap().counter(), u32::MAX - 2);
        assert_eq!(alloc.allocate().unwrap().counter(), u32::MAX - 1);
        assert_eq!(alloc.allocate(), None);
        assert_eq!(alloc.allocate(), None);
    }

    #[test]
    fn out_of_range_parts_are_refused() {
        assert!(Slot::new(MAX_SLOT + 1).is_err());
        assert!(Handle::new(Slot::new(0).unwrap(), MAX_EPOCH + 1, 0).is_err());
        assert!("1.2".parse::<Handle>().is_err());
        assert!("1.2.3.4".parse::<Handle>().is_err());
        assert!("5000.1.1".parse::<Handle>().is_err());
        assert_eq!("3.17.42".parse::<Handle>().unwrap().to_string(), "3.17.42");
    }
}
