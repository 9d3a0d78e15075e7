//! `status.conditions` (`metav1.Condition`): upsert with the transition rules.

use serde::{Deserialize, Serialize};

/// A `metav1.Condition`.
///
/// ```
/// let ready = incluster::controller::Condition::new("Ready", true, "Mirrored", "all copies in place");
/// assert_eq!(ready.status, "True");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable CamelCase reason.
    #[serde(default)]
    pub reason: String,
    /// For humans.
    #[serde(default)]
    pub message: String,
    /// The `metadata.generation` the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When `status` last changed (RFC 3339).
    #[serde(default)]
    pub last_transition_time: String,
}

impl Condition {
    /// A condition of `type_` with status `True`/`False` (no generation, no time yet: [`set_condition`] fills both).
    ///
    /// ```
    /// let c = incluster::controller::Condition::new("Ready", false, "TargetConflict", "…");
    /// assert_eq!(c.status, "False");
    /// ```
    pub fn new(type_: &str, status: bool, reason: &str, message: &str) -> Condition {
        Condition {
            type_: type_.to_string(),
            status: if status { "True" } else { "False" }.to_string(),
            reason: reason.to_string(),
            message: message.to_string(),
            observed_generation: None,
            last_transition_time: String::new(),
        }
    }
}

/// Puts `condition` into `conditions` for `generation` and returns whether anything changed.
/// `lastTransitionTime` moves only when the status changes (or the condition is new); a
/// condition equal but for the time is no change, so a converged object is not written.
///
/// ```
/// use incluster::controller::{set_condition, Condition};
/// let mut conditions = Vec::new();
/// assert!(set_condition(&mut conditions, Condition::new("Ready", true, "Ok", "fine"), Some(1)));
/// let first = conditions[0].last_transition_time.clone();
/// assert!(!set_condition(&mut conditions, Condition::new("Ready", true, "Ok", "fine"), Some(1)));
/// assert!(set_condition(&mut conditions, Condition::new("Ready", true, "Ok", "still fine"), Some(2)));
/// assert_eq!(conditions[0].last_transition_time, first);
/// assert_eq!(conditions[0].observed_generation, Some(2));
/// ```
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    mut condition: Condition,
    generation: Option<i64>,
) -> bool {
    condition.observed_generation = generation;
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        Some(old) => {
            condition.last_transition_time =
                if old.status == condition.status && !old.last_transition_time.is_empty() {
                    old.last_transition_time.clone()
                } else {
                    crate::time::rfc3339(std::time::SystemTime::now())
                };
            if *old == condition {
                return false;
            }
            *old = condition;
            true
        }
        None => {
            condition.last_transition_time = crate::time::rfc3339(std::time::SystemTime::now());
            conditions.push(condition);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transition_time_moves_only_with_the_status() {
        let mut conditions = vec![Condition {
            last_transition_time: "2020-01-01T00:00:00Z".into(),
            ..Condition::new("Ready", true, "Ok", "m")
        }];
        assert!(set_condition(
            &mut conditions,
            Condition::new("Ready", true, "Other", "m2"),
            Some(3)
        ));
        assert_eq!(conditions[0].last_transition_time, "2020-01-01T00:00:00Z");
        assert!(set_condition(
            &mut conditions,
            Condition::new("Ready", false, "Bad", "m3"),
            Some(3)
        ));
        assert_ne!(conditions[0].last_transition_time, "2020-01-01T00:00:00Z");
        assert!(crate::time::parse_rfc3339(&conditions[0].last_transition_time).is_some());
        assert!(set_condition(
            &mut conditions,
            Condition::new("Synced", true, "Ok", ""),
            None
        ));
        assert_eq!(conditions.len(), 2);
    }
}
