//! What the operator tells people: `status` (through the `/status` subresource) and
//! `events.k8s.io/v1` Events.

use std::time::{SystemTime, UNIX_EPOCH};

use incluster::Patch;
use serde_json::json;

use super::clients::{Events, EventsClient, Mirrors, MirrorsClient};
use super::types::{Condition, ConfigMirror, MirrorStatus};
use super::{GROUP, MANAGER, VERSION};

/// The outcome a reconcile reports as the `Ready` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// `True`?
    pub ready: bool,
    /// CamelCase reason, e.g. `Mirrored`, `SourceNotFound`.
    pub reason: String,
    /// For humans.
    pub message: String,
    /// Copies in place.
    pub copies: u32,
}

/// Writes `status` unless it already says the same for this generation; returns whether it
/// wrote. `lastTransitionTime` changes only when the condition's status does.
pub async fn write_status(
    mirrors: &MirrorsClient,
    mirror: &ConfigMirror,
    ready: &Ready,
) -> incluster::Result<bool> {
    let generation = mirror.metadata.generation;
    let old = mirror.status.clone().unwrap_or_default();
    let old_ready = old.conditions.iter().find(|c| c.type_ == "Ready");
    let status = if ready.ready { "True" } else { "False" };
    let last_transition_time = match old_ready {
        Some(c) if c.status == status && !c.last_transition_time.is_empty() => {
            c.last_transition_time.clone()
        }
        _ => rfc3339(now(), false),
    };
    let new = MirrorStatus {
        observed_generation: generation,
        copies: ready.copies,
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: status.into(),
            reason: ready.reason.clone(),
            message: ready.message.clone(),
            observed_generation: generation,
            last_transition_time,
        }],
    };
    if new == old {
        return Ok(false);
    }
    let patch = json!({"status": new});
    mirrors
        .patch_status(
            &mirror.metadata.namespace,
            &mirror.metadata.name,
            &Patch::Merge(patch),
        )
        .await?;
    Ok(true)
}

/// Who writes the Events: the controller and this replica.
#[derive(Debug, Clone)]
pub struct Recorder {
    events: EventsClient,
    instance: String,
}

impl Recorder {
    /// Events written with `events`, reported by `instance` (the Pod name).
    pub fn new(events: EventsClient, instance: String) -> Recorder {
        Recorder { events, instance }
    }

    /// Records an Event about `mirror`; a failure to record is logged, never fatal.
    pub async fn event(&self, mirror: &ConfigMirror, warning: bool, reason: &str, note: &str) {
        let meta = &mirror.metadata;
        let mut note = note.to_string();
        note.truncate(1024);
        let event = json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            // client-go's naming: the object's name and a unique suffix.
            "metadata": {"name": format!("{}.{:x}", meta.name, unique()), "namespace": meta.namespace},
            "eventTime": rfc3339(now(), true),
            "reportingController": format!("{GROUP}/{MANAGER}"),
            "reportingInstance": self.instance,
            "action": if warning { "Reconcile" } else { "Mirror" },
            "reason": reason,
            "note": note,
            "type": if warning { "Warning" } else { "Normal" },
            "regarding": {
                "apiVersion": format!("{GROUP}/{VERSION}"),
                "kind": "ConfigMirror",
                "namespace": meta.namespace,
                "name": meta.name,
                "uid": meta.uid,
            },
        });
        if let Err(err) = self.events.create(&meta.namespace, &event).await {
            tracing::warn!(mirror = %format!("{}/{}", meta.namespace, meta.name), %reason, error = %err, "could not record an Event");
        }
    }
}

/// Nanoseconds since the epoch, bumped past the last value handed out.
fn unique() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let prev = LAST.fetch_max(now, Ordering::SeqCst);
    u128::from(if prev >= now {
        LAST.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        now
    })
}

fn now() -> (u64, u32) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs(), d.subsec_micros())
}

/// `2006-01-02T15:04:05Z`, or with `.000000` microseconds (a `MicroTime`).
pub fn rfc3339((secs, micros): (u64, u32), with_micros: bool) -> String {
    let at = UNIX_EPOCH + std::time::Duration::new(secs, micros * 1000);
    if with_micros {
        incluster::time::micro_time(at)
    } else {
        incluster::time::rfc3339(at)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_rfc3339() {
        assert_eq!(super::rfc3339((0, 0), false), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::rfc3339((1_709_251_199, 42), true),
            "2024-02-29T23:59:59.000042Z"
        );
    }
}
