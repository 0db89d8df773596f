//! The figures the operator reads from the servers' `/metrics`: defined once here, registered
//! under these names by the servers that export them and read under the same names by the
//! operator, so neither side can rename one without the other noticing (each server's tests
//! check that it exports every figure of its prefix).

/// A metric the operator reads: its process prefix and its name after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figure {
    pub prefix: &'static str,
    pub name: &'static str,
}

impl Figure {
    /// The exported name (`mush_gateway_connections`).
    pub fn full_name(&self) -> String {
        format!("{}_{}", self.prefix, self.name)
    }
}

pub const GATEWAY_PREFIX: &str = "mush_gateway";
pub const GAME_PREFIX: &str = "mush_game";

/// Open player connections of one gateway (summed over gateways for the game's players).
pub const GATEWAY_CONNECTIONS: Figure = Figure {
    prefix: GATEWAY_PREFIX,
    name: "connections",
};
/// Connections bound to a player, as the game-server counts them.
pub const GAME_LOGGED_IN_PLAYERS: Figure = Figure {
    prefix: GAME_PREFIX,
    name: "logged_in_players",
};
/// Connections the last reconciliation restored from Redis.
pub const GAME_RESTORED_CONNECTIONS: Figure = Figure {
    prefix: GAME_PREFIX,
    name: "restored_connections",
};
/// How long the last reconciliation took.
pub const GAME_RECONCILIATION_SECONDS: Figure = Figure {
    prefix: GAME_PREFIX,
    name: "reconciliation_seconds",
};
/// Input events waiting in Kafka, per partition.
pub const GAME_INPUT_LAG: Figure = Figure {
    prefix: GAME_PREFIX,
    name: "input_lag",
};

/// Every figure the operator reads.
pub const READ_BY_OPERATOR: &[Figure] = &[
    GATEWAY_CONNECTIONS,
    GAME_LOGGED_IN_PLAYERS,
    GAME_RESTORED_CONNECTIONS,
    GAME_RECONCILIATION_SECONDS,
    GAME_INPUT_LAG,
];

/// The figures of one process (by prefix).
pub fn of(prefix: &str) -> impl Iterator<Item = &'static Figure> + '_ {
    READ_BY_OPERATOR.iter().filter(move |f| f.prefix == prefix)
}
