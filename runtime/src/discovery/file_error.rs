//! What is wrong with a mounted file (the token, `ca.crt`, `namespace`): a message that names the
//! file and says what to do, and the cause.
//!
//! It becomes an [`Error::Config`] with the same message and source when it reaches a caller. It
//! stays this small type where a failed re-read is only logged and the last good value kept:
//! printing and dropping it then needs none of [`Error`]'s code (its `Display` over every variant,
//! its drop glue, copied into each unit that drops one), which a program that never prints an
//! [`Error`] otherwise linked for these log lines alone: 17.7 KB of a stripped binary.

use std::fmt;

use crate::error::{BoxError, Error};

/// A failed read or parse of a mounted file.
#[derive(Debug)]
pub(crate) struct FileError {
    message: String,
    source: Option<BoxError>,
}

impl FileError {
    /// `message` alone.
    pub(crate) fn new(message: String) -> FileError {
        FileError {
            message,
            source: None,
        }
    }

    /// `message`, caused by `source`.
    pub(crate) fn with_source(message: String, source: impl Into<BoxError>) -> FileError {
        FileError {
            message,
            source: Some(source.into()),
        }
    }

    /// Whether the file was not there (its cause is an `io::Error` of kind `NotFound`).
    pub(crate) fn is_not_found(&self) -> bool {
        self.source
            .as_ref()
            .and_then(|source| source.downcast_ref::<std::io::Error>())
            .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
    }

    /// This error with `message` instead of its own when the file was not there (the `io::Error`
    /// stays its source).
    pub(crate) fn explain_missing(self, message: String) -> FileError {
        if self.is_not_found() {
            FileError { message, ..self }
        } else {
            self
        }
    }
}

impl fmt::Display for FileError {
    /// The message alone, as [`Error::Config`] shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|source| source as _)
    }
}

impl From<FileError> for Error {
    fn from(err: FileError) -> Error {
        Error::Config {
            message: err.message,
            source: err.source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn becomes_a_config_error_with_the_same_text_and_cause() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let err = FileError::with_source("/sa/token does not exist".into(), missing)
            .explain_missing("mount a token at /sa/token".into());
        assert!(err.is_not_found());
        let shown = err.to_string();
        let err = Error::from(err);
        assert_eq!(err.to_string(), shown);
        assert_eq!(shown, "mount a token at /sa/token");
        assert!(std::error::Error::source(&err).is_some());
        let other = FileError::new("/sa/token is empty".into()).explain_missing("unused".into());
        assert_eq!(other.to_string(), "/sa/token is empty");
    }
}
