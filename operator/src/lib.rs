//! The mush-operator: reconciles a `MushGame` resource into everything a MUSH needs on Kubernetes.
//!
//! * [`crd`]: the `MushGame` resource, its defaults and validation.
//! * [`render`]: pure, spec → every child object.
//! * [`status`]: pure, observed state → status and conditions.
//! * [`rollout`]: pure, the game-server restart and gateway rollout state machines.
//! * [`prune`]: pure, which owned objects the spec no longer asks for.
//! * [`observe`]: every read of one reconciliation, into one `Observed`.
//! * [`plan`]: pure, the MushGame and what was observed → what to write and report.
//! * [`act`]: carries a plan out (server-side apply, deletes, status, Events).
//! * [`controller`]: the reconciler (observe → plan → act) and its watches.
//! * [`leader`]: Lease-based leader election.
//! * [`metrics`]: the operator's own metrics.

pub mod act;
pub mod controller;
pub mod crd;
pub mod leader;
pub mod metrics;
pub mod observe;
pub mod plan;
pub mod prune;
pub mod render;
pub mod rollout;
pub mod status;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod permissions;
#[cfg(test)]
mod scenarios;
