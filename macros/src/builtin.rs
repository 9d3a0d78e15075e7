//! The built-in API groups of the Kubernetes release incluster targets, and lookups in them:
//! what `rbac.rs` checks a path's group, version, resource and subresource against. The data is
//! generated from the real apiserver's discovery (`builtin_resources.rs`).

#[path = "builtin_resources.rs"]
mod table;

pub(crate) use table::RELEASE;

/// One API group (`""` is core).
pub(crate) struct Group {
    pub(crate) name: &'static str,
    pub(crate) versions: &'static [Version],
}

/// One version of a group.
pub(crate) struct Version {
    pub(crate) name: &'static str,
    pub(crate) resources: &'static [Resource],
}

/// One resource of a group version.
pub(crate) struct Resource {
    pub(crate) name: &'static str,
    pub(crate) namespaced: bool,
    pub(crate) verbs: &'static [&'static str],
    pub(crate) subresources: &'static [Subresource],
}

/// One subresource (`log`, `status`, `scale`) of a resource.
pub(crate) struct Subresource {
    pub(crate) name: &'static str,
    pub(crate) verbs: &'static [&'static str],
}

/// The built-in group `name`, if it is one.
pub(crate) fn group(name: &str) -> Option<&'static Group> {
    table::GROUPS.iter().find(|g| g.name == name)
}

impl Group {
    pub(crate) fn version(&self, name: &str) -> Option<&'static Version> {
        self.versions.iter().find(|v| v.name == name)
    }

    /// `core` or the group's name, for messages.
    pub(crate) fn shown(&self) -> &'static str {
        if self.name.is_empty() {
            "core"
        } else {
            self.name
        }
    }
}

impl Version {
    pub(crate) fn resource(&self, name: &str) -> Option<&'static Resource> {
        self.resources.iter().find(|r| r.name == name)
    }
}

impl Resource {
    pub(crate) fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }
}

/// Where else a resource of this name is served: `apps/v1`, for a suggestion.
pub(crate) fn served_elsewhere(resource: &str) -> Vec<String> {
    let mut found = Vec::new();
    for group in table::GROUPS {
        for version in group.versions {
            if version.resource(resource).is_some() {
                found.push(format!("{}/{}", group.shown(), version.name));
            }
        }
    }
    found
}

/// The candidate closest to `wrong` (a typo, a missing plural `s`, a different case), if any is
/// close enough to be a likely meaning.
pub(crate) fn closest<'a>(
    wrong: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let wrong_lower = wrong.to_ascii_lowercase();
    candidates
        .map(|c| (edit_distance(&wrong_lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance (the strings are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let core = group("").unwrap().version("v1").unwrap();
        let names = || core.resources.iter().map(|r| r.name);
        assert_eq!(closest("configmap", names()), Some("configmaps"));
        assert_eq!(closest("ConfigMaps", names()), Some("configmaps"));
        assert_eq!(closest("secrest", names()), Some("secrets"));
        assert_eq!(closest("flibbertigibbet", names()), None);
        assert_eq!(served_elsewhere("deployments"), ["apps/v1"]);
        assert!(
            group("apps")
                .unwrap()
                .version("v1")
                .unwrap()
                .resource("deployments")
                .unwrap()
                .namespaced
        );
        assert!(!core.resource("nodes").unwrap().namespaced);
        assert!(core.resource("pods").unwrap().subresource("log").is_some());
    }
}
