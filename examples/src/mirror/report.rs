//! What the operator tells people: `status` (the `Ready` condition, through the `/status`
//! subresource) and `events.k8s.io/v1` Events (through incluster's recorder: required fields,
//! unique names, safe truncation, repeats folded into a series).

use incluster::controller::{set_condition, Condition, Event, EventType, Reference};
use incluster::Patch;
use serde_json::json;

use super::clients::Mirrors;
use super::ownership::key;
use super::reconcile::Context;
use super::types::{ConfigMirror, MirrorStatus};
use super::{API_VERSION, KIND};

/// The outcome a reconcile reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `Ready` is `True`?
    pub ready: bool,
    /// CamelCase reason: `Mirrored`, `SourceNotFound`, `SourceForbidden`, `TargetConflict`,
    /// `CopyFailed`.
    pub reason: String,
    /// For humans.
    pub message: String,
    /// Copies in place.
    pub copies: u32,
    /// Namespaces holding a copy of ours.
    pub targets: Vec<String>,
    /// Something was written (a `Mirrored` Event says what).
    pub changed: Option<String>,
}

impl Outcome {
    /// A not-ready outcome that keeps the copies as they are.
    pub fn failed(reason: &str, message: String, copies: u32, targets: Vec<String>) -> Outcome {
        Outcome {
            ready: false,
            reason: reason.into(),
            message,
            copies,
            targets,
            changed: None,
        }
    }

    /// The outcome of one pass over the targets.
    pub fn of(
        mirror: &ConfigMirror,
        applied: &[String],
        removed: &[String],
        in_place: Vec<String>,
        failed: Vec<String>,
        conflicts: Vec<String>,
    ) -> Outcome {
        let source = &mirror.spec.source;
        let changed = (!applied.is_empty() || !removed.is_empty()).then(|| {
            format!(
                "{}/{}: applied to [{}], removed from [{}]",
                source.namespace,
                source.name,
                applied.join(", "),
                removed.join(", ")
            )
        });
        let copies = in_place.len() as u32;
        let (ready, reason, message) = if !failed.is_empty() {
            (
                false,
                "CopyFailed",
                format!("some copies failed: {}", failed.join("; ")),
            )
        } else if !conflicts.is_empty() {
            (
                false,
                "TargetConflict",
                format!("targets not written: {}", conflicts.join("; ")),
            )
        } else {
            (
                true,
                "Mirrored",
                format!(
                    "{}/{} is copied to {copies} namespace(s)",
                    source.namespace, source.name
                ),
            )
        };
        Outcome {
            ready,
            reason: reason.into(),
            message,
            copies,
            targets: in_place,
            changed,
        }
    }

    /// The message to retry with, if some copies failed.
    pub fn failure(&self) -> Option<String> {
        (self.reason == "CopyFailed").then(|| self.message.clone())
    }

    /// Whether some target is someone else's.
    pub fn in_conflict(&self) -> bool {
        self.reason == "TargetConflict"
    }
}

/// Writes `status` if it changed and records the Events the outcome calls for.
pub async fn report(
    ctx: &Context,
    mirror: &ConfigMirror,
    outcome: &Outcome,
) -> incluster::Result<()> {
    let generation = mirror.metadata.generation;
    let old = mirror.status.clone().unwrap_or_default();
    let mut conditions = old.conditions.clone();
    let ready = Condition::new("Ready", outcome.ready, &outcome.reason, &outcome.message);
    set_condition(&mut conditions, ready, generation);
    let new = MirrorStatus {
        observed_generation: generation.unwrap_or_default(),
        copies: outcome.copies,
        targets: outcome.targets.clone(),
        conditions,
    };
    let wrote = new != old;
    if wrote {
        let namespace = mirror.metadata.namespace.as_deref().unwrap_or_default();
        ctx.mirrors
            .patch_status(
                namespace,
                &mirror.metadata.name,
                &Patch::Merge(json!({"status": new})),
            )
            .await?;
    }
    if let Some(note) = &outcome.changed {
        tracing::info!(mirror = %key(mirror), "{note}");
        event(ctx, mirror, EventType::Normal, "Mirrored", note).await;
    }
    if wrote && !outcome.ready {
        tracing::warn!(mirror = %key(mirror), reason = %outcome.reason, "{}", outcome.message);
        event(
            ctx,
            mirror,
            EventType::Warning,
            &outcome.reason,
            &outcome.message,
        )
        .await;
    }
    Ok(())
}

/// The `Finalized` Event.
pub async fn finalized(ctx: &Context, mirror: &ConfigMirror, removed: usize) {
    let note = format!("removed {removed} copies; releasing the finalizer");
    event(ctx, mirror, EventType::Normal, "Finalized", &note).await;
}

/// Records an Event; a failure to record is logged, never fatal.
async fn event(ctx: &Context, mirror: &ConfigMirror, type_: EventType, reason: &str, note: &str) {
    let regarding = Reference::of(API_VERSION, KIND, &mirror.metadata);
    let action = if type_ == EventType::Warning {
        "Reconcile"
    } else {
        "Mirror"
    };
    let event = Event::new(type_, reason, action, note);
    if let Err(err) = ctx.recorder.publish(&regarding, &event).await {
        tracing::warn!(mirror = %key(mirror), %reason, error = %err, "could not record an Event");
    }
}
