//! The figures the operator reads from the servers: defined once here, registered under these
//! names by the servers that export them, served as a typed [`StatusDocument`] on every server's
//! health port ([`STATUS_PATH`]) and read from it by the operator, so neither side can rename one
//! without the other noticing (each server's tests check that it exports every figure of its
//! prefix) and nobody parses the Prometheus text format.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a server's health port serves its [`StatusDocument`] (JSON).
pub const STATUS_PATH: &str = "/status";

/// The figures of one server process, as JSON: `{"figures": {"mush_gateway_connections": 20}}`.
/// Each is the sum over its label sets (e.g. the input lag over the input partitions); a figure
/// the process has no sample of yet is absent, not 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusDocument {
    #[serde(default)]
    pub figures: BTreeMap<String, f64>,
}

impl StatusDocument {
    pub fn get(&self, figure: &Figure) -> Option<f64> {
        self.figures.get(&figure.full_name()).copied()
    }

    pub fn set(&mut self, figure: &Figure, value: f64) {
        self.figures.insert(figure.full_name(), value);
    }

    /// A document with `figures` set.
    pub fn with(figures: &[(Figure, f64)]) -> Self {
        let mut doc = Self::default();
        for (figure, value) in figures {
            doc.set(figure, *value);
        }
        doc
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_document_is_json_keyed_by_the_exported_names() {
        let doc = StatusDocument::with(&[(GATEWAY_CONNECTIONS, 20.0), (GAME_INPUT_LAG, 7.0)]);
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(
            json,
            r#"{"figures":{"mush_game_input_lag":7.0,"mush_gateway_connections":20.0}}"#
        );
        let back: StatusDocument = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get(&GATEWAY_CONNECTIONS), Some(20.0));
        assert_eq!(back.get(&GAME_LOGGED_IN_PLAYERS), None, "absent, not 0");
        let newer: StatusDocument = serde_json::from_str(r#"{"figures":{},"version":2}"#).unwrap();
        assert_eq!(
            newer,
            StatusDocument::default(),
            "fields a newer server adds are ignored"
        );
    }
}
