//! One Lease read and written with optimistic concurrency, client-go's `tryAcquireOrRenew`.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::LeaseSettings;
use crate::error::{Error, Result};
use crate::http::client::Client;
use crate::rbac::LEADER_ELECTION;
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
    /// renewal) never takes a lease another candidate holds. A renewal first tries one
    /// optimistic update of the lease as last seen (client-go's fast path: one request instead
    /// of two); on any failure it reads the lease and decides again.
    pub(crate) async fn try_acquire_or_renew(&self, renewing: bool) -> Result<Outcome> {
        if renewing {
            if let Some(outcome) = self.try_optimistic_renew().await {
                return Ok(outcome);
            }
        }
        let me = &self.settings.identity;
        let now = micro_time_now();
        let current = match self.get().await {
            Ok(lease) => lease,
            Err(err) if err.is_not_found() => {
                let mut spec = Value::Object(Default::default());
                self.write_spec(&mut spec, &now, &now, 0);
                let lease = json!({
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.settings.name, "namespace": self.settings.namespace},
                    "spec": spec,
                });
                let request = Request::builder(Method::POST, LEASES)
                    .path_param("namespace", &self.settings.namespace)
                    .json_body(&lease)
                    .rbac(LEADER_ELECTION.method(CREATE))
                    .build()?;
                let created: Value = self.client.json(request).await?;
                self.observe(self.checked(created)?);
                return Ok(Outcome::Leading);
            }
            Err(err) => return Err(err),
        };
        let current = self.checked(current)?;
        let changed_at = self.observe(current.clone());
        let spec = &current["spec"];
        let (holder, duration, transitions) = read_spec(spec, self.settings.lease_duration);
        if &holder != me {
            if renewing {
                return Ok(Outcome::HeldByOther(holder));
            }
            if !holder.is_empty() && !expired(changed_at, duration) {
                return Ok(Outcome::HeldByOther(holder));
            }
        }
        let (acquired, transitions) = if &holder == me {
            let acquired = spec["acquireTime"].as_str().unwrap_or(&now).to_string();
            (acquired, transitions)
        } else {
            (now.clone(), transitions.saturating_add(1))
        };
        let mut lease = current;
        self.write_spec(&mut lease["spec"], &acquired, &now, transitions);
        let updated = self.put(&lease).await?;
        self.observe(self.checked(updated)?);
        Ok(Outcome::Leading)
    }

    /// The leader's fast path: the lease as last seen, held by this candidate, written back with
    /// a new `renewTime` under its `resourceVersion`. `None` when there is no such lease or the
    /// write failed (a conflict, a transport error): the caller reads the lease and decides.
    async fn try_optimistic_renew(&self) -> Option<Outcome> {
        let mut lease = self
            .observed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lease
            .clone()?;
        if lease["spec"]["holderIdentity"].as_str() != Some(self.settings.identity.as_str()) {
            return None;
        }
        let now = micro_time_now();
        let acquired = lease["spec"]["acquireTime"]
            .as_str()
            .unwrap_or(&now)
            .to_string();
        let transitions = lease["spec"]["leaseTransitions"].as_i64().unwrap_or(0);
        self.write_spec(&mut lease["spec"], &acquired, &now, transitions);
        match self.put(&lease).await {
            Ok(updated) => {
                let updated = self.checked(updated).ok()?;
                self.observe(updated);
                Some(Outcome::Leading)
            }
            Err(err) => {
                tracing::debug!(lease = %self.settings.name, error = %err, "leader election: optimistic renewal failed; reading the lease");
                None
            }
        }
    }

    /// The fencing value of the lease as last seen: its `leaseTransitions`, which grows by one
    /// each time the lease changes hands.
    pub(crate) fn transitions(&self) -> i64 {
        self.observed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lease
            .as_ref()
            .and_then(|lease| lease["spec"]["leaseTransitions"].as_i64())
            .unwrap_or(0)
    }

    /// Writes the lease with no holder and a 1 s duration (client-go's release), if it is
    /// still held by this candidate. A conflict means the lease changed since it was last seen
    /// (possibly by this candidate's own renewal, cancelled after it was sent): it is read again
    /// and released if still ours. Fields of `spec` this library does not know are kept.
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
            let spec = spec_object(&mut lease["spec"]);
            spec.remove("holderIdentity");
            spec.insert("leaseDurationSeconds".into(), json!(1));
            spec.insert("acquireTime".into(), json!(now));
            spec.insert("renewTime".into(), json!(now));
            spec.insert("leaseTransitions".into(), json!(transitions));
            match self.put(&lease).await {
                Ok(updated) => {
                    if let Ok(updated) = self.checked(updated) {
                        self.observe(updated);
                    }
                    return Ok(());
                }
                Err(err) if err.is_conflict() => {
                    lease = self.get().await?;
                    lease = self.checked(lease)?;
                }
                Err(err) => return Err(err),
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

    /// Sets this candidate's fields in `spec` (made an object if it is not one), keeping any
    /// other field (`strategy`, `preferredHolder`, whatever a newer server adds).
    fn write_spec(&self, spec: &mut Value, acquired: &str, renewed: &str, transitions: i64) {
        let spec = spec_object(spec);
        spec.insert("holderIdentity".into(), json!(self.settings.identity));
        spec.insert(
            "leaseDurationSeconds".into(),
            json!(self.settings.lease_duration.as_secs()),
        );
        spec.insert("acquireTime".into(), json!(acquired));
        spec.insert("renewTime".into(), json!(renewed));
        spec.insert("leaseTransitions".into(), json!(transitions));
    }

    /// `lease` if it is a JSON object (anything else from the server is an error, never a panic).
    fn checked(&self, lease: Value) -> Result<Value> {
        if lease.is_object() && (lease["spec"].is_object() || lease["spec"].is_null()) {
            return Ok(lease);
        }
        Err(Error::Protocol {
            request: format!(
                "the Lease {}/{}",
                self.settings.namespace, self.settings.name
            ),
            message: format!(
                "the server sent a Lease that is not an object with an object spec: {}",
                crate::error::status::excerpt(lease.to_string().as_bytes())
            ),
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
            .rbac(LEADER_ELECTION.method(GET))
            .build()?;
        self.client.json(request).await
    }

    async fn put(&self, lease: &Value) -> Result<Value> {
        let request = Request::builder(Method::PUT, LEASE)
            .path_param("namespace", &self.settings.namespace)
            .path_param("name", &self.settings.name)
            .json_body(lease)
            .rbac(LEADER_ELECTION.method(UPDATE))
            .build()?;
        self.client.json(request).await
    }
}

/// The methods of [`LEADER_ELECTION`], in its order: a 403 names the one refused.
const GET: usize = 0;
const CREATE: usize = 1;
const UPDATE: usize = 2;

/// The holder, duration (`default` when absent or 0) and `leaseTransitions` of a Lease's spec;
/// fields of the wrong type count as absent.
fn read_spec(spec: &Value, default: Duration) -> (String, Duration, i64) {
    let holder = spec["holderIdentity"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let duration = spec["leaseDurationSeconds"]
        .as_u64()
        .filter(|d| *d > 0)
        .map(Duration::from_secs)
        .unwrap_or(default);
    let transitions = spec["leaseTransitions"].as_i64().unwrap_or(0);
    (holder, duration, transitions)
}

/// Whether a lease last seen changing at `changed_at` and held for `duration` has expired. A
/// duration too large for the clock holds the lease for as long as this process can tell.
fn expired(changed_at: Instant, duration: Duration) -> bool {
    changed_at
        .checked_add(duration)
        .is_some_and(|expiry| Instant::now() >= expiry)
}

/// `value` as a JSON object, replacing it with an empty one if it is anything else.
fn spec_object(value: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Default::default());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("made an object just above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease_client() -> LeaseClient {
        let client = Client::new(crate::Config::proxy("http://127.0.0.1:1").unwrap()).unwrap();
        LeaseClient::new(client, LeaseSettings::new("ns", "lease", "me"))
    }

    #[test]
    fn unknown_spec_fields_are_kept() {
        let lease = lease_client();
        let mut spec = json!({"strategy": "OldestEmulationVersion", "preferredHolder": "b", "holderIdentity": "x"});
        lease.write_spec(&mut spec, "t0", "t1", 3);
        assert_eq!(spec["strategy"], "OldestEmulationVersion");
        assert_eq!(spec["preferredHolder"], "b");
        assert_eq!(spec["holderIdentity"], "me");
        assert_eq!(spec["leaseTransitions"], 3);
        let mut not_an_object = json!([1, 2]);
        lease.write_spec(&mut not_an_object, "t0", "t1", 0);
        assert_eq!(not_an_object["holderIdentity"], "me");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any Lease body a server could send: refused or read without a panic, whatever its
        /// `leaseDurationSeconds` (the expiry is computed with checked arithmetic).
        #[test]
        fn any_lease_body_is_refused_or_read_without_a_panic(value in crate::stream::server_bytes::json_value()) {
            let lease = lease_client();
            for body in [value.clone(), json!({"metadata": {"resourceVersion": "1"}, "spec": value})] {
                if let Ok(mut checked) = lease.checked(body) {
                    let (holder, duration, transitions) = read_spec(&checked["spec"], Duration::from_secs(15));
                    let _ = expired(Instant::now(), duration);
                    let _ = (holder, transitions.saturating_add(1));
                    lease.write_spec(&mut checked["spec"], "t0", "t1", transitions);
                    proptest::prop_assert_eq!(&checked["spec"]["holderIdentity"], "me");
                }
            }
        }
    }

    #[test]
    fn a_huge_lease_duration_holds_the_lease_instead_of_overflowing() {
        let spec = json!({"holderIdentity": "other", "leaseDurationSeconds": u64::MAX});
        let (_, duration, _) = read_spec(&spec, Duration::from_secs(15));
        assert!(!expired(Instant::now(), duration));
    }

    #[test]
    fn leases_that_are_not_objects_are_errors() {
        let lease = lease_client();
        for body in [
            json!([1]),
            json!("lease"),
            json!(7),
            json!({"spec": []}),
            json!({"spec": "x"}),
        ] {
            let err = lease.checked(body.clone()).unwrap_err();
            assert!(matches!(err, Error::Protocol { .. }), "{body}: {err}");
        }
        assert!(lease.checked(json!({"metadata": {}})).is_ok());
        assert!(lease.checked(json!({"spec": {}})).is_ok());
    }
}
