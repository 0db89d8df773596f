//! The mush-operator: reconciles a `MushGame` resource into everything a MUSH needs on Kubernetes.
//!
//! * [`crd`]: the `MushGame` resource, its defaults and validation.
//! * [`render`]: pure, spec → every child object.
//! * [`status`]: pure, observed state → status and conditions.
//! * [`rollout`]: pure, the game-server restart and gateway rollout state machines.
//! * [`prune`]: pure, which owned objects the spec no longer asks for.
//! * [`controller`]: the reconciler (server-side apply, status, Events).
//! * [`leader`]: Lease-based leader election.
//! * [`metrics`]: the operator's own metrics.

pub mod controller;
pub mod crd;
pub mod leader;
pub mod metrics;
pub mod prune;
pub mod render;
pub mod rollout;
pub mod status;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod scenarios;
