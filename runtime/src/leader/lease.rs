//! One Lease read and written with optimistic concurrency, client-go's `tryAcquireOrRenew`.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::LeaseSettings;
use crate::error::{Error, Result};
use crate::http::client::Client;
use crate::request::{Method, Request};
use crate::time::micro_time_now;

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases";
const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}";

/// What an attempt found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// This candidate holds the lease (created, taken over or renewed just now).
    Leading,
    /// Another candidate holds it (its identity).
    HeldByOther(String),
}

/// The lease as last seen, and when (on this candidate's clock) it last changed.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    resource_version: String,
    changed_at: Option<Instant>,
    lease: Option<Value>,
}

pub(crate) struct LeaseClient {
    client: Client,
    pub(crate) settings: LeaseSettings,
    observed: Mutex<Observed>,
}

impl LeaseClient {
    pub(crate) fn new(client: Client, settings: LeaseSettings) -> LeaseClient {
        LeaseClient {
            client,
            settings,
            observed: Mutex::default(),
        }
    }

    /// Creates, takes over or renews the lease if this candidate may; `renewing` (the leader's
    /// renewal) never takes a lease another candidate holds.
    pub(crate) async fn try_acquire_or_renew(&self, renewing: bool) -> Result<Outcome> {
        let me = &self.settings.identity;
        let now = micro_time_now();
        let current = match self.get().await {
            Ok(lease) => lease,
            Err(err) if err.is_not_found() => {
                let lease = json!({
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.settings.name, "namespace": self.settings.namespace},
                    "spec": self.spec(&now, &now, 0),
                });
                let request = Request::builder(Method::POST, LEASES)
                    .path_param("namespace", &self.settings.namespace)
                    .json_body(&lease)
                    .build()?;
                let created: Value = self
                    .client
                    .json(request)
                    .await
                    .map_err(|err| self.explain(err, "create"))?;
                self.observe(created);
                return Ok(Outcome::Leading);
            }
            Err(err) => return Err(self.explain(err, "get")),
        };
        let changed_at = self.observe(current.clone());
        let spec = &current["spec"];
        let holder = spec["holderIdentity"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let duration = spec["leaseDurationSeconds"]
            .as_u64()
            .filter(|d| *d > 0)
            .map(Duration::from_secs)
            .unwrap_or(self.settings.lease_duration);
        if &holder != me {
            if renewing {
                return Ok(Outcome::HeldByOther(holder));
            }
            if !holder.is_empty() && Instant::now() < changed_at + duration {
                return Ok(Outcome::HeldByOther(holder));
            }
        }
        let transitions = spec["leaseTransitions"].as_i64().unwrap_or(0);
        let (acquired, transitions) = if &holder == me {
            let acquired = spec["acquireTime"].as_str().unwrap_or(&now).to_string();
            (acquired, transitions)
        } else {
            (now.clone(), transitions + 1)
        };
        let mut lease = current;
        lease["spec"] = self.spec(&acquired, &now, transitions);
        let updated = self
            .put(&lease)
            .await
            .map_err(|err| self.explain(err, "update"))?;
        self.observe(updated);
        Ok(Outcome::Leading)
    }

    /// Writes the lease with no holder and a 1 s duration (client-go's release), if it is
    /// still held by this candidate. A conflict means the lease changed since it was last seen
    /// (possibly by this candidate's own renewal, cancelled after it was sent): it is read again
    /// and released if still ours.
    pub(crate) async fn release(&self) -> Result<()> {
        let observed = self
            .observed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lease
            .clone();
        let Some(mut lease) = observed else {
            return Ok(());
        };
        for _ in 0..3 {
            if lease["spec"]["holderIdentity"].as_str() != Some(self.settings.identity.as_str()) {
                return Ok(());
            }
            let now = micro_time_now();
            let transitions = lease["spec"]["leaseTransitions"].as_i64().unwrap_or(0);
            lease["spec"] = json!({
                "leaseDurationSeconds": 1,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": transitions,
            });
            match self.put(&lease).await {
                Ok(updated) => {
                    self.observe(updated);
                    return Ok(());
                }
                Err(err) if err.is_conflict() => {
                    lease = self.get().await.map_err(|err| self.explain(err, "get"))?;
                }
                Err(err) => return Err(self.explain(err, "update")),
            }
        }
        Err(Error::Api(Box::new(crate::Status {
            code: 409,
            reason: "Conflict".to_string(),
            message: format!(
                "lease {:?} kept changing while it was being released; it expires on its own",
                self.settings.name
            ),
            status: "Failure".to_string(),
            details: None,
        })))
    }

    fn spec(&self, acquired: &str, renewed: &str, transitions: i64) -> Value {
        json!({
            "holderIdentity": self.settings.identity,
            "leaseDurationSeconds": self.settings.lease_duration.as_secs(),
            "acquireTime": acquired,
            "renewTime": renewed,
            "leaseTransitions": transitions,
        })
    }

    /// Records `lease` as seen; returns when it last changed (by `resourceVersion`).
    fn observe(&self, lease: Value) -> Instant {
        let mut observed = self.observed.lock().unwrap_or_else(|e| e.into_inner());
        let version = lease["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if observed.changed_at.is_none() || observed.resource_version != version {
            observed.resource_version = version;
            observed.changed_at = Some(Instant::now());
        }
        observed.lease = Some(lease);
        observed.changed_at.unwrap_or_else(Instant::now)
    }

    async fn get(&self) -> Result<Value> {
        let request = Request::builder(Method::GET, LEASE)
            .path_param("namespace", &self.settings.namespace)
            .path_param("name", &self.settings.name)
            .build()?;
        self.client.json(request).await
    }

    async fn put(&self, lease: &Value) -> Result<Value> {
        let request = Request::builder(Method::PUT, LEASE)
            .path_param("namespace", &self.settings.namespace)
            .path_param("name", &self.settings.name)
            .json_body(lease)
            .build()?;
        self.client.json(request).await
    }

    /// A 403 names the RBAC rule leader election needs.
    fn explain(&self, err: Error, verb: &str) -> Error {
        match err {
            Error::Api(mut status) if status.code == 403 => {
                status.message = format!(
                    "{}; leader election needs a Role in namespace {:?} with the rule \
                     {{apiGroups: [\"coordination.k8s.io\"], resources: [\"leases\"], verbs: [\"get\", \"create\", \"update\"]}} \
                     bound to this ServiceAccount (the {verb} of lease {:?} was refused)",
                    status.message, self.settings.namespace, self.settings.name
                );
                Error::Api(status)
            }
            other => other,
        }
    }
}
