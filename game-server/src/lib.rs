//! The MUSH game-server: consumes player input from Kafka, runs the game, publishes output. It
//! owns connection metadata (who is logged in as whom) and the world, both kept in Redis, so it
//! can be restarted at any moment.
//!
//! * [`game`]: the game itself (pure).
//! * [`server`]: leadership, reconciliation and the input loop.
//! * [`persist`]: the world in Redis and exactly-once application of input.

pub mod config;
pub mod game;
pub mod hashing;
pub mod metrics;
pub mod output;
pub mod persist;
pub mod progress;
pub mod server;
pub mod spans;
pub mod watchdog;
