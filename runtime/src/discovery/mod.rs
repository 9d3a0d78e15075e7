//! Discovery: where the API server is and who this Pod is — the service-account environment and
//! files, or a `kubectl proxy` — read with limits and followed as the kubelet replaces them.

pub(crate) mod config;
pub(crate) mod file_error;
pub(crate) mod mounted_file;
pub(crate) mod read_thread;
pub(crate) mod secret;
pub(crate) mod token;
