//! Leader election with `coordination.k8s.io/v1` Leases, the client-go way (feature
//! `leader-election`): run 2+ replicas of an operator, let one act.
//!
//! ```no_run
//! use incluster::leader::{LeaderElection, LeaseSettings};
//!
//! # async fn reconcile_forever() {}
//! # async fn shutdown_signal() {}
//! # async fn run() -> incluster::Result<()> {
//! let client = incluster::Client::in_cluster()?;
//! let pod = std::env::var("POD_NAME").unwrap_or_else(|_| "replica".into());
//! let election = LeaderElection::new(client.clone(), LeaseSettings::new(client.namespace(), "my-operator", pod));
//! loop {
//!     let leadership = election.acquire().await?;
//!     tokio::select! {
//!         _ = reconcile_forever() => {}
//!         _ = leadership.lost() => {
//!             // The lease could not be renewed in time: another replica may lead now. Stop acting.
//!             continue;
//!         }
//!         _ = shutdown_signal() => {
//!             // Graceful shutdown: give the lease up so another replica takes over at once.
//!             leadership.release().await?;
//!             return Ok(());
//!         }
//!     }
//! }
//! # }
//! ```
//!
//! The ServiceAccount needs a Role in the lease's namespace granting `get`, `create` and
//! `update` on `leases` in the API group `coordination.k8s.io`.

mod lease;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::http::client::Client;
use lease::{LeaseClient, Outcome};

/// Where the lease lives, who this candidate is, and the timing (client-go's defaults).
///
/// - `lease_duration` (15 s): how long other candidates wait, after they last saw the lease
///   change, before they take it over from a leader that stopped renewing.
/// - `renew_deadline` (10 s): how long the leader keeps trying to renew before it gives
///   leadership up.
/// - `retry_period` (2 s): how often candidates try to acquire, and the leader renews.
///
/// Settings that cannot work are refused by [`LeaderElection::acquire`] with an
/// [`Error::Config`] that says which rule they break (client-go's rules):
/// `lease_duration > renew_deadline` (a leader must stop before anyone else may start) and
/// `renew_deadline > 1.2 × retry_period` (a leader must get at least one jittered retry in
/// before its deadline); an empty name or identity is refused too.
///
/// ```
/// use std::time::Duration;
/// let settings = incluster::leader::LeaseSettings::new("operators", "my-operator", "pod-a")
///     .lease_duration(Duration::from_secs(30))
///     .renew_deadline(Duration::from_secs(20))
///     .retry_period(Duration::from_secs(4));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) identity: String,
    pub(crate) lease_duration: Duration,
    pub(crate) renew_deadline: Duration,
    pub(crate) retry_period: Duration,
}

impl LeaseSettings {
    /// The Lease `name` in `namespace`, contended for as `identity` (unique per replica: the Pod
    /// name is the usual choice), with client-go's defaults: 15 s lease, 10 s renew deadline,
    /// 2 s retry period.
    ///
    /// ```
    /// let settings = incluster::leader::LeaseSettings::new("default", "my-operator", "pod-a");
    /// ```
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> LeaseSettings {
        LeaseSettings {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// How long a lease holds without renewal (whole seconds, at least 1 s; default 15 s).
    ///
    /// ```
    /// # use incluster::leader::LeaseSettings;
    /// let s = LeaseSettings::new("ns", "lease", "me").lease_duration(std::time::Duration::from_secs(60));
    /// ```
    pub fn lease_duration(mut self, d: Duration) -> Self {
        self.lease_duration = Duration::from_secs(d.as_secs().max(1));
        self
    }

    /// How long the leader keeps trying to renew before it stops leading (default 10 s).
    ///
    /// ```
    /// # use incluster::leader::LeaseSettings;
    /// let s = LeaseSettings::new("ns", "lease", "me").renew_deadline(std::time::Duration::from_secs(5));
    /// ```
    pub fn renew_deadline(mut self, d: Duration) -> Self {
        self.renew_deadline = d;
        self
    }

    /// How often to try to acquire, and to renew (default 2 s).
    ///
    /// ```
    /// # use incluster::leader::LeaseSettings;
    /// let s = LeaseSettings::new("ns", "lease", "me").retry_period(std::time::Duration::from_millis(500));
    /// ```
    pub fn retry_period(mut self, d: Duration) -> Self {
        self.retry_period = d.max(Duration::from_millis(10));
        self
    }

    /// Refuses settings that cannot work (client-go's rules), saying which rule and what to do.
    ///
    /// ```
    /// use std::time::Duration;
    /// use incluster::leader::LeaseSettings;
    /// let ok = LeaseSettings::new("ns", "lease", "me");
    /// assert!(ok.validate().is_ok());
    /// let never_renews = ok.clone().retry_period(Duration::from_secs(10));
    /// assert!(never_renews.validate().unwrap_err().to_string().contains("retry_period"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        let refuse = |rule: String| {
            Err(Error::config(format!(
                "leader election settings for lease {:?} cannot work: {rule}",
                self.name
            )))
        };
        if self.name.is_empty() || self.namespace.is_empty() {
            return refuse("the lease needs a name and a namespace".to_string());
        }
        if self.identity.is_empty() {
            return refuse(
                "the identity is empty; give each replica its own (the Pod name)".to_string(),
            );
        }
        if self.lease_duration <= self.renew_deadline {
            return refuse(format!(
                "lease_duration ({:?}) must be longer than renew_deadline ({:?}), or another \
                 candidate could lead before this one stops; lower renew_deadline or raise \
                 lease_duration",
                self.lease_duration, self.renew_deadline
            ));
        }
        let jittered_retry = self.retry_period.mul_f64(JITTER_FACTOR);
        if self.renew_deadline <= jittered_retry {
            return refuse(format!(
                "renew_deadline ({:?}) must be longer than {JITTER_FACTOR} × retry_period \
                 ({:?}), or the leader could not renew before its deadline; lower retry_period \
                 or raise renew_deadline",
                self.renew_deadline, jittered_retry
            ));
        }
        Ok(())
    }
}

/// client-go's `JitterFactor`: waits between attempts are stretched by up to 20 %.
const JITTER_FACTOR: f64 = 1.2;

/// A candidate for leadership of one Lease.
///
/// ```no_run
/// # async fn run(client: incluster::Client) -> incluster::Result<()> {
/// use incluster::leader::{LeaderElection, LeaseSettings};
/// let election = LeaderElection::new(client, LeaseSettings::new("default", "my-operator", "pod-a"));
/// let leadership = election.acquire().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct LeaderElection {
    lease: Arc<LeaseClient>,
}

impl LeaderElection {
    /// A candidate using `client` for the lease `settings` describe.
    ///
    /// ```no_run
    /// # fn f(client: incluster::Client) {
    /// let election = incluster::leader::LeaderElection::new(
    ///     client,
    ///     incluster::leader::LeaseSettings::new("default", "my-operator", "pod-a"),
    /// );
    /// # }
    /// ```
    pub fn new(client: Client, settings: LeaseSettings) -> LeaderElection {
        LeaderElection {
            lease: Arc::new(LeaseClient::new(client, settings)),
        }
    }

    /// Waits until this candidate leads: tries to create or take over the lease every
    /// `retry_period` (with jitter). Returns when it holds the lease; the returned
    /// [`Leadership`] keeps renewing it in a background task, the first time right away.
    ///
    /// Each attempt is bounded by `renew_deadline` (a dead connection cannot hold it longer),
    /// and a lease acquired by an attempt that ended past its deadline is not returned: the
    /// leadership handed out always starts with its full renew deadline ahead. Settings that
    /// cannot work are refused first (see [`LeaseSettings::validate`]). To bound the whole wait,
    /// wrap the call in `tokio::time::timeout`.
    ///
    /// A lease held by another candidate is taken over only after it has gone unchanged for
    /// its `leaseDurationSeconds` (measured on this candidate's clock from when it saw the last
    /// change), or at once if it was released. Concurrent candidates are serialized by the
    /// lease's `resourceVersion` (a `409 Conflict` means another won this round).
    ///
    /// Errors: a `403` (missing RBAC, the message names the rule to add), `401`, or `404`
    /// (e.g. no such namespace) is returned; transport errors and `5xx` are logged and retried.
    ///
    /// ```no_run
    /// # async fn run(election: incluster::leader::LeaderElection) -> incluster::Result<()> {
    /// let leadership = election.acquire().await?;
    /// assert!(leadership.is_leader());
    /// # Ok(()) }
    /// ```
    pub async fn acquire(&self) -> Result<Leadership> {
        let settings = &self.lease.settings;
        settings.validate()?;
        loop {
            let attempt_started = Instant::now();
            let deadline = attempt_started + settings.renew_deadline;
            match tokio::time::timeout_at(deadline, self.lease.try_acquire_or_renew(false)).await {
                Ok(Ok(Outcome::Leading)) if Instant::now() < deadline => {
                    tracing::info!(lease = %settings.name, namespace = %settings.namespace, identity = %settings.identity, transitions = self.lease.transitions(), "leader election: acquired the lease");
                    return Ok(Leadership::start(self.lease.clone(), deadline));
                }
                Ok(Ok(Outcome::Leading)) => {
                    tracing::debug!(lease = %settings.name, "leader election: acquired the lease past the attempt's deadline; trying again");
                }
                Ok(Ok(Outcome::HeldByOther(holder))) => {
                    tracing::debug!(lease = %settings.name, holder = %holder, "leader election: the lease is held by another candidate");
                }
                Ok(Err(err)) if is_fatal(&err) => return Err(err),
                Ok(Err(err)) => {
                    tracing::debug!(lease = %settings.name, error = %err, "leader election: attempt failed; retrying");
                }
                Err(_) => {
                    tracing::debug!(lease = %settings.name, "leader election: no answer within renew_deadline; retrying");
                }
            }
            tokio::time::sleep(jittered(settings.retry_period)).await;
        }
    }
}

/// Errors retrying cannot fix: RBAC, authentication, a missing namespace.
fn is_fatal(err: &Error) -> bool {
    err.is_forbidden() || err.is_unauthorized() || err.is_not_found()
}

/// `period` stretched by up to 20 % (client-go's `JitterUntil(retryPeriod, 1.2)`).
fn jittered(period: Duration) -> Duration {
    period.mul_f64(1.0 + 0.2 * crate::http::retry::jitter())
}

/// Holding the lease: renewed in the background until lost or released.
///
/// Dropping a `Leadership` stops renewing without giving the lease up (other candidates take
/// over once it expires); call [`Leadership::release`] on a graceful shutdown instead.
///
/// ```no_run
/// # async fn work() {}
/// # async fn run(leadership: incluster::leader::Leadership) -> incluster::Result<()> {
/// tokio::select! {
///     _ = work() => leadership.release().await?,
///     _ = leadership.lost() => eprintln!("lost the lease; stopping"),
/// }
/// # Ok(()) }
/// ```
pub struct Leadership {
    shared: Arc<Shared>,
    lease: Arc<LeaseClient>,
    renewer: tokio::task::JoinHandle<()>,
}

struct Shared {
    /// Leading until this instant unless a renewal moves it.
    deadline: Mutex<Instant>,
    /// The lease's `leaseTransitions` when it was acquired.
    transitions: i64,
    lost: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    fn lose(&self) {
        self.lost.send_replace(true);
    }
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("lease", &self.lease.settings.name)
            .field("leader", &self.is_leader())
            .finish()
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.renewer.abort();
        self.shared.lose();
        crate::metrics::leader_state(
            &self.lease.settings.namespace,
            &self.lease.settings.name,
            false,
        );
    }
}

impl Leadership {
    fn start(lease: Arc<LeaseClient>, deadline: Instant) -> Leadership {
        let shared = Arc::new(Shared {
            deadline: Mutex::new(deadline),
            transitions: lease.transitions(),
            lost: tokio::sync::watch::Sender::new(false),
        });
        crate::metrics::leader_state(&lease.settings.namespace, &lease.settings.name, true);
        let renewer = tokio::spawn(renew(lease.clone(), shared.clone()));
        Leadership {
            shared,
            lease,
            renewer,
        }
    }

    /// Whether this candidate still leads: the last renewal is within the renew deadline and
    /// leadership was not lost or released. Checked against the clock on every call.
    ///
    /// ```no_run
    /// # fn f(leadership: &incluster::leader::Leadership) {
    /// if leadership.is_leader() { /* act */ }
    /// # }
    /// ```
    pub fn is_leader(&self) -> bool {
        !*self.shared.lost.borrow()
            && Instant::now()
                < *self
                    .shared
                    .deadline
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
    }

    /// A fencing value: the lease's `leaseTransitions` when this candidate acquired it. It grows
    /// by one every time the lease changes hands, so a leader can attach it to what it writes
    /// (an annotation, a field) and readers can refuse writes carrying a lower value than one
    /// they have seen — the writes of a leader that lost the lease without knowing it yet.
    ///
    /// ```no_run
    /// # fn f(leadership: &incluster::leader::Leadership) {
    /// let fence = leadership.fencing_token();
    /// println!("leader-epoch={fence}");
    /// # }
    /// ```
    pub fn fencing_token(&self) -> i64 {
        self.shared.transitions
    }

    /// Resolves when leadership is lost: the lease could not be renewed before the renew
    /// deadline (API server unreachable, or another candidate holds it). Stop acting as leader
    /// then; call [`LeaderElection::acquire`] again to stand again.
    ///
    /// ```no_run
    /// # async fn f(leadership: incluster::leader::Leadership) {
    /// leadership.lost().await;
    /// # }
    /// ```
    pub async fn lost(&self) {
        let mut lost = self.shared.lost.subscribe();
        // `shared` holds the sender: this never fails.
        let _ = lost.wait_for(|lost| *lost).await;
    }

    /// Gives the lease up at once (graceful shutdown): stops renewing, then writes the lease
    /// with no holder and a 1 s duration, as client-go does, so another candidate takes over
    /// on its next attempt instead of waiting for expiry. If the lease is no longer ours
    /// (lost meanwhile), nothing is written.
    ///
    /// ```no_run
    /// # async fn f(leadership: incluster::leader::Leadership) -> incluster::Result<()> {
    /// leadership.release().await?;
    /// # Ok(()) }
    /// ```
    pub async fn release(mut self) -> Result<()> {
        self.renewer.abort();
        // Wait until the renewal task is gone, so that no renewal of ours is written after the
        // release (one already sent is handled by the release's conflict check).
        let _ = (&mut self.renewer).await;
        let was_leader = self.is_leader();
        self.shared.lose();
        if !was_leader {
            return Ok(());
        }
        self.lease.release().await?;
        tracing::info!(lease = %self.lease.settings.name, identity = %self.lease.settings.identity, "leader election: released the lease");
        Ok(())
    }
}

/// The renewal loop: renew at once, then every `retry_period`; leadership ends at the renew
/// deadline without a successful renewal, or as soon as another candidate is seen holding the
/// lease.
async fn renew(lease: Arc<LeaseClient>, shared: Arc<Shared>) {
    let settings = &lease.settings;
    let renew_deadline = settings.renew_deadline;
    let mut first = true;
    loop {
        let deadline = *shared.deadline.lock().unwrap_or_else(|e| e.into_inner());
        if !std::mem::take(&mut first) {
            let next = Instant::now() + settings.retry_period;
            if next >= deadline {
                tokio::time::sleep_until(deadline).await;
                break;
            }
            tokio::time::sleep_until(next).await;
        }
        let sent = Instant::now();
        match tokio::time::timeout_at(deadline, lease.try_acquire_or_renew(true)).await {
            Ok(Ok(Outcome::Leading)) => {
                *shared.deadline.lock().unwrap_or_else(|e| e.into_inner()) = sent + renew_deadline;
            }
            Ok(Ok(Outcome::HeldByOther(holder))) => {
                tracing::warn!(lease = %settings.name, holder = %holder, "leader election: another candidate holds the lease; leadership lost");
                shared.lose();
                crate::metrics::leader_state(&settings.namespace, &settings.name, false);
                return;
            }
            Ok(Err(err)) => {
                tracing::warn!(lease = %settings.name, error = %err, "leader election: renewing failed; retrying until the renew deadline");
            }
            Err(_) => break,
        }
    }
    tracing::warn!(lease = %settings.name, identity = %settings.identity, "leader election: could not renew the lease before the renew deadline; leadership lost");
    shared.lose();
    crate::metrics::leader_state(&settings.namespace, &settings.name, false);
}

impl std::fmt::Debug for LeaseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseClient")
            .field("settings", &self.settings)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_go_defaults_and_its_rules() {
        let s = LeaseSettings::new("ns", "lease", "me");
        assert_eq!(s.lease_duration, Duration::from_secs(15));
        assert_eq!(s.renew_deadline, Duration::from_secs(10));
        assert_eq!(s.retry_period, Duration::from_secs(2));
        s.validate().unwrap();
        let secs = Duration::from_secs;
        let refused = |s: LeaseSettings, word: &str| {
            let err = s.validate().unwrap_err();
            assert!(matches!(err, Error::Config { .. }), "{err}");
            assert!(err.to_string().contains(word), "{word}: {err}");
        };
        refused(s.clone().renew_deadline(secs(15)), "lease_duration");
        refused(s.clone().renew_deadline(secs(20)), "lease_duration");
        refused(s.clone().retry_period(secs(10)), "retry_period");
        // client-go: RenewDeadline <= 1.2 × RetryPeriod is refused (2.4 s here).
        refused(
            s.clone().renew_deadline(Duration::from_millis(2400)),
            "retry_period",
        );
        s.clone()
            .renew_deadline(Duration::from_millis(2500))
            .validate()
            .unwrap();
        refused(LeaseSettings::new("ns", "lease", ""), "identity");
        refused(LeaseSettings::new("ns", "", "me"), "name");
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(2));
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_millis(2400),
                "{d:?}"
            );
        }
    }
}
