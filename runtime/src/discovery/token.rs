//! The service-account token file: what a valid one looks like.
//!
//! Re-reading it when the kubelet rotates it is [`MountedFile`]'s job: at most once per period
//! (default 60 s), at once after a 401, keeping the last good token when a read fails.

use std::path::Path;
use std::time::Duration;

use crate::discovery::file_error::FileError;
use crate::discovery::mounted_file::MountedFile;
use crate::discovery::secret::SecretToken;
use crate::error::Result;

/// How often the token file is re-read by default.
pub(crate) const DEFAULT_TOKEN_REREAD: Duration = Duration::from_secs(60);

/// The token file, followed as the kubelet rotates it.
pub(crate) type TokenFile = MountedFile<SecretToken>;

/// Reads the token file once; a missing, unreadable, empty or malformed file is an error naming it.
pub(crate) fn open(path: &Path) -> Result<TokenFile> {
    MountedFile::open(path, parse_token, DEFAULT_TOKEN_REREAD).map_err(|err| {
        err.explain_missing(format!(
            "service-account token file {} does not exist: mount a ServiceAccount token into the Pod \
             (automountServiceAccountToken must not be false), or use Config::proxy with a `kubectl proxy` sidecar",
            path.display()
        ))
        .into()
    })
}

/// A token file's contents: one bearer token, surrounding whitespace ignored.
pub(crate) fn parse_token(path: &Path, bytes: &[u8]) -> Result<SecretToken, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        FileError::with_source(
            format!(
                "service-account token file {} is not text: a bearer token is printable ASCII",
                path.display()
            ),
            err,
        )
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(FileError::new(format!(
            "service-account token file {} is empty: the kubelet writes the token there; check the Pod's projected volume",
            path.display()
        )));
    }
    SecretToken::new(token).ok_or_else(|| {
        FileError::new(format!(
            "service-account token file {} holds characters that cannot be a bearer token \
             (whitespace, control characters or non-ASCII inside it)",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> SecretToken {
        SecretToken::new(text).unwrap()
    }

    #[test]
    fn trims_and_refuses_what_cannot_be_sent() {
        let path = Path::new("/sa/token");
        assert_eq!(parse_token(path, b" abc.def\n").unwrap(), token("abc.def"));
        for bad in [&b"a b"[..], "tök".as_bytes(), b"\xff\xfe", b"a\x01b"] {
            let err = parse_token(path, bad).unwrap_err().to_string();
            assert!(err.contains("/sa/token"), "{err}");
        }
        let err = parse_token(path, b"  \n").unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }

    #[test]
    fn a_missing_file_says_how_to_mount_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let err = open(&path).unwrap_err().to_string();
        assert!(
            err.contains(&path.display().to_string())
                && err.contains("automountServiceAccountToken"),
            "{err}"
        );
    }
}
