//! Leader election on a `coordination.k8s.io/v1` Lease, so two operator replicas never act at once.
//!
//! The holder renews the Lease every `renew_every`; another replica takes it only once it has not
//! been renewed for `lease_duration`. Every write carries the `resourceVersion` it was computed
//! from, so two replicas racing for an expired Lease cannot both win (the loser gets a conflict).
//! A leader that cannot renew in time stops acting before its Lease can expire (it exits and
//! lets the Deployment restart it as a candidate). kube-runtime has no leader election of its
//! own; this is small enough to keep here.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, PostParams};
use tracing::{info, warn};

/// What a candidate should do about the Lease as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nobody holds it, or the holder let it expire: take it.
    Acquire,
    /// We hold it: renew it.
    Renew,
    /// Someone else holds a live Lease.
    Wait { holder: String },
}

/// Pure: the decision for `me` at `now`.
pub fn decide(spec: Option<&LeaseSpec>, me: &str, now: Timestamp) -> Decision {
    let Some(spec) = spec else {
        return Decision::Acquire;
    };
    let holder = spec.holder_identity.clone().unwrap_or_default();
    if holder.is_empty() {
        return Decision::Acquire;
    }
    if holder == me {
        return Decision::Renew;
    }
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(15)));
    match &spec.renew_time {
        Some(MicroTime(renewed)) if *renewed + duration > now => Decision::Wait { holder },
        _ => Decision::Acquire,
    }
}

#[derive(Debug, Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
    pub renew_every: Duration,
}

impl LeaderElector {
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        lease_duration: Duration,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
            lease_duration,
            renew_every: lease_duration / 3,
        }
    }

    fn spec(&self, now: Timestamp, previous: Option<&LeaseSpec>, taking_over: bool) -> LeaseSpec {
        let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.lease_duration.as_secs() as i32),
            acquire_time: if taking_over {
                Some(MicroTime(now))
            } else {
                previous.and_then(|p| p.acquire_time.clone())
            },
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(if taking_over && previous.is_some() {
                transitions + 1
            } else {
                transitions
            }),
            ..Default::default()
        }
    }

    /// One attempt to acquire or renew. `Ok(true)`: we hold the Lease now.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let Some(lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(now, None, true)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let decision = decide(lease.spec.as_ref(), &self.identity, now);
        let taking_over = match decision {
            Decision::Wait { .. } => return Ok(false),
            Decision::Acquire => true,
            Decision::Renew => false,
        };
        let mut updated = lease.clone();
        updated.spec = Some(self.spec(now, lease.spec.as_ref(), taking_over));
        // `replace` sends the resourceVersion we read: a concurrent writer makes this a conflict.
        match self
            .api
            .replace(&self.name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until this replica holds the Lease.
    pub async fn acquire(&self) {
        let mut announced = false;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    info!(lease = %self.name, identity = %self.identity, "became the leader");
                    return;
                }
                Ok(false) => {
                    if !announced {
                        info!(lease = %self.name, "another replica leads; standing by");
                        announced = true;
                    }
                }
                Err(e) => warn!(error = %e, "leader election: could not read or write the Lease"),
            }
            tokio::time::sleep(self.renew_every).await;
        }
    }

    /// Renews until a renewal has failed for longer than is safe; returns then (leadership lost).
    pub async fn keep(&self) {
        // Stop acting well before the others may take over.
        let deadline = self.lease_duration.mul_f64(0.66);
        let mut last_ok = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.renew_every).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_ok = tokio::time::Instant::now(),
                Ok(false) => {
                    warn!(lease = %self.name, "another replica took the Lease");
                    return;
                }
                Err(e) => warn!(error = %e, "could not renew the Lease"),
            }
            if last_ok.elapsed() > deadline {
                warn!(lease = %self.name, "could not renew the Lease in time");
                return;
            }
        }
    }

    /// Gives the Lease up at shutdown so another replica takes over at once.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else { return };
        if spec.holder_identity.as_deref() != Some(&self.identity) {
            return;
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        if let Err(e) = self.api.replace(&self.name, &PostParams::default(), &lease).await {
            warn!(error = %e, "could not release the Lease");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: &str, renewed: Timestamp, seconds: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            renew_time: Some(MicroTime(renewed)),
            lease_duration_seconds: Some(seconds),
            ..Default::default()
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn a_missing_or_released_lease_is_taken() {
        assert_eq!(decide(None, "a", t(0)), Decision::Acquire);
        let released = LeaseSpec::default();
        assert_eq!(decide(Some(&released), "a", t(0)), Decision::Acquire);
    }

    #[test]
    fn a_live_lease_of_another_replica_is_respected_until_it_expires() {
        let l = lease("b", t(0), 15);
        assert_eq!(
            decide(Some(&l), "a", t(14)),
            Decision::Wait { holder: "b".into() }
        );
        assert_eq!(decide(Some(&l), "a", t(15)), Decision::Acquire);
    }

    #[test]
    fn the_holder_renews_even_a_late_lease() {
        let l = lease("a", t(0), 15);
        assert_eq!(decide(Some(&l), "a", t(100)), Decision::Renew);
    }
}

#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::fixtures::FakeApi;

    fn elector(client: Client, me: &str) -> LeaderElector {
        LeaderElector::new(client, "games", "mush-operator", me, Duration::from_secs(15))
    }

    #[tokio::test]
    async fn the_first_replica_creates_the_lease_and_a_second_one_waits() {
        let (client, fake) = FakeApi::start();
        let a = elector(client.clone(), "a");
        let b = elector(client, "b");
        assert!(a.try_acquire_or_renew().await.unwrap(), "a creates the Lease");
        assert!(
            !b.try_acquire_or_renew().await.unwrap(),
            "b sees a live Lease held by a"
        );
        assert!(a.try_acquire_or_renew().await.unwrap(), "a renews");
        let lease: Lease = fake.get_typed("mush-operator").unwrap();
        assert_eq!(lease.spec.unwrap().holder_identity.as_deref(), Some("a"));

        // a gives it up at shutdown: b takes over at once, as a new transition.
        a.release().await;
        assert!(b.try_acquire_or_renew().await.unwrap());
        let spec = fake.get_typed::<Lease>("mush-operator").unwrap().spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("b"));
        assert_eq!(spec.lease_transitions, Some(1));
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over() {
        let (client, fake) = FakeApi::start();
        let stale = Lease {
            metadata: ObjectMeta {
                name: Some("mush-operator".into()),
                resource_version: Some("7".into()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some("gone".into()),
                lease_duration_seconds: Some(15),
                renew_time: Some(MicroTime(Timestamp::now() - SignedDuration::from_secs(60))),
                ..Default::default()
            }),
        };
        fake.put(&stale);
        assert!(elector(client, "b").try_acquire_or_renew().await.unwrap());
        let spec = fake.get_typed::<Lease>("mush-operator").unwrap().spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("b"));
    }
}
