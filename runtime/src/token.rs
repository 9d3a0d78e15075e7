//! The service-account token, read from a file that the kubelet rotates.
//!
//! Like client-go's `cachedFileTokenSource`: the file is re-read at most once per period, the last
//! good token is kept when a re-read fails or finds an empty file, and a 401 forces a re-read.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::secret::SecretToken;

/// How often the token file is re-read by default.
pub(crate) const DEFAULT_TOKEN_REREAD: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(crate) struct TokenSource {
    path: PathBuf,
    reread_every: Duration,
    state: Mutex<TokenState>,
}

#[derive(Debug)]
struct TokenState {
    token: SecretToken,
    checked_at: Instant,
}

impl TokenSource {
    /// Reads the token once; a missing, unreadable or empty file is an error.
    pub(crate) fn open(path: &Path, reread_every: Duration) -> Result<TokenSource> {
        let token = read_token(path)?;
        Ok(TokenSource {
            path: path.to_path_buf(),
            reread_every,
            state: Mutex::new(TokenState {
                token,
                checked_at: Instant::now(),
            }),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The token to send now: the cached one, re-read from the file when the period has passed.
    pub(crate) fn current(&self) -> SecretToken {
        let mut state = self.lock();
        if state.checked_at.elapsed() >= self.reread_every {
            self.reread(&mut state);
        }
        state.token.clone()
    }

    /// Re-reads the file at once (after a 401). Returns the token if it differs from `rejected`.
    pub(crate) fn refresh_after_rejection(&self, rejected: &SecretToken) -> Option<SecretToken> {
        let mut state = self.lock();
        if state.token == *rejected {
            self.reread(&mut state);
        }
        (state.token != *rejected).then(|| state.token.clone())
    }

    fn reread(&self, state: &mut TokenState) {
        state.checked_at = Instant::now();
        match read_token(&self.path) {
            Ok(token) => {
                if token != state.token {
                    tracing::debug!(path = %self.path.display(), "service-account token rotated");
                }
                state.token = token;
            }
            Err(err) => {
                tracing::warn!(%err, "keeping the last good service-account token");
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TokenState> {
        // A panic while holding this lock cannot leave the state half-written; recover it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn read_token(path: &Path) -> Result<SecretToken> {
    let contents = std::fs::read_to_string(path).map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            Error::config(format!(
                "service-account token file {} does not exist: mount a ServiceAccount token into the Pod \
                 (automountServiceAccountToken must not be false), or use Config::proxy with a `kubectl proxy` sidecar",
                path.display()
            ))
        } else {
            Error::config(format!("cannot read the service-account token file {}: {err}", path.display()))
        }
    })?;
    let token = contents.trim();
    if token.is_empty() {
        return Err(Error::config(format!(
            "service-account token file {} is empty: the kubelet writes the token there; check the Pod's projected volume",
            path.display()
        )));
    }
    if token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::config(format!(
            "service-account token file {} holds characters that cannot be a bearer token (whitespace or control characters inside it)",
            path.display()
        )));
    }
    Ok(SecretToken::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("incluster-token-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn trims_and_keeps_last_good_token() {
        let dir = temp_dir("keep");
        let path = dir.join("token");
        std::fs::write(&path, "first\n").unwrap();
        let source = TokenSource::open(&path, Duration::ZERO).unwrap();
        assert_eq!(source.current(), SecretToken::new("first"));
        std::fs::write(&path, "second").unwrap();
        assert_eq!(source.current(), SecretToken::new("second"));
        std::fs::write(&path, "  \n").unwrap();
        assert_eq!(
            source.current(),
            SecretToken::new("second"),
            "empty file keeps the last good token"
        );
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            source.current(),
            SecretToken::new("second"),
            "missing file keeps the last good token"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn rereads_only_after_the_period() {
        let dir = temp_dir("period");
        let path = dir.join("token");
        std::fs::write(&path, "first").unwrap();
        let source = TokenSource::open(&path, Duration::from_secs(3600)).unwrap();
        std::fs::write(&path, "second").unwrap();
        assert_eq!(source.current(), SecretToken::new("first"));
        let rejected = SecretToken::new("first");
        assert_eq!(
            source.refresh_after_rejection(&rejected),
            Some(SecretToken::new("second"))
        );
        assert_eq!(
            source.refresh_after_rejection(&SecretToken::new("second")),
            None
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn empty_and_missing_files_are_errors_naming_the_path() {
        let dir = temp_dir("errors");
        let path = dir.join("token");
        let err = TokenSource::open(&path, DEFAULT_TOKEN_REREAD)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&path.display().to_string()) && err.contains("does not exist"),
            "{err}"
        );
        std::fs::write(&path, "\n").unwrap();
        let err = TokenSource::open(&path, DEFAULT_TOKEN_REREAD)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&path.display().to_string()) && err.contains("empty"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
