//! The two dependencies every server checks before it reports ready: Redis answers a PING and
//! the Kafka broker answers a metadata request. The health server starts before either is
//! connected (so `/livez` answers while a server waits for them); until then the checks say
//! "not connected yet".

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::bus::Producer;
use crate::health::Health;

#[derive(Clone, Default)]
pub struct Dependencies {
    redis: Arc<Mutex<Option<fred::prelude::Client>>>,
    kafka: Arc<Mutex<Option<Producer>>>,
}

impl Dependencies {
    pub fn set_redis(&self, client: fred::prelude::Client) {
        *self.redis.lock().expect("redis slot") = Some(client);
    }

    pub fn set_kafka(&self, producer: Producer) {
        *self.kafka.lock().expect("kafka slot") = Some(producer);
    }

    /// Adds the `redis` and `kafka` readiness checks.
    pub fn add_checks(&self, health: Health) -> Health {
        let redis = self.redis.clone();
        let kafka = self.kafka.clone();
        health
            .readiness_check("redis", Duration::from_secs(1), move || {
                let client = redis.lock().expect("redis slot").clone();
                async move {
                    match client {
                        Some(c) => crate::redis::ping(&c).await,
                        None => Err("not connected yet".into()),
                    }
                }
            })
            .readiness_check("kafka", Duration::from_secs(2), move || {
                let producer = kafka.lock().expect("kafka slot").clone();
                async move {
                    match producer {
                        Some(p) => p.check_metadata(Duration::from_millis(1500)).await,
                        None => Err("not connected yet".into()),
                    }
                }
            })
    }
}
