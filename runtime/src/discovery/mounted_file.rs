//! A mounted file that may be replaced (the service-account token, `ca.crt`): read with a size
//! limit, only if it is a regular file, never on an async worker, and kept at its last good value.
//!
//! Like client-go's `cachedFileTokenSource` and `ca_rotation.go`: the file is re-read at most once
//! per period (or at once when asked, after a 401), and a read that fails, finds garbage or hangs
//! (a FIFO, a stalled network mount) leaves the last good value in place. Reads run on a plain
//! thread, one at a time per file; an async caller waits for a fresh read at most
//! [`READ_WAIT`], then goes on with the last good value.

use std::any::Any;
use std::fs::File;
use std::io::Read;
use std::marker::PhantomData;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::discovery::file_error::FileError;
use crate::discovery::read_thread::{spawn_read, Handoff};

/// The largest token or CA bundle accepted (a real one is a few KiB).
pub(crate) const MAX_MOUNTED_FILE_BYTES: u64 = 1024 * 1024;

/// How long a first read (at start-up) may take before it is reported as stuck.
pub(crate) const FIRST_READ_DEADLINE: Duration = Duration::from_secs(10);

/// How long a request waits for a re-read before using the last good value.
pub(crate) const READ_WAIT: Duration = Duration::from_secs(2);

/// Turns the file's bytes into a value, or says what is wrong with them (naming the path).
pub(crate) type Parse<T> = fn(&Path, &[u8]) -> Result<T, FileError>;

/// A file's current value, re-read when it may have changed.
///
/// A typed view of [`Shared`], which keeps the value as `dyn Any`: the reading, thread and
/// waiting code is compiled once, not once per kind of file (the token, `ca.crt`).
pub(crate) struct MountedFile<T> {
    shared: Arc<Shared>,
    holds: PhantomData<fn() -> T>,
}

/// A parsed value; only the [`MountedFile`] that parsed it knows its type.
type AnyValue = dyn Any + Send + Sync;

/// A [`Parse`] with its value's type erased.
type AnyParse = Arc<dyn Fn(&Path, &[u8]) -> Result<Arc<AnyValue>, FileError> + Send + Sync>;

struct Shared {
    path: PathBuf,
    parse: AnyParse,
    period: Duration,
    state: Mutex<State>,
    /// Counts finished reads (sent while `state` is locked), so that a caller can wait for a
    /// read another caller started.
    reads_done: tokio::sync::watch::Sender<u64>,
}

struct State {
    value: Arc<AnyValue>,
    /// The bytes `value` was parsed from, to tell a change from a re-read of the same file.
    bytes: Vec<u8>,
    /// Bumped whenever `value` changes.
    version: u64,
    checked_at: Instant,
    /// A read is running on its thread (maybe stuck): no second one is started.
    reading: bool,
}

impl State {
    /// The value now, with its version.
    fn versioned(&self) -> Versioned<AnyValue> {
        Versioned {
            value: self.value.clone(),
            version: self.version,
        }
    }
}

/// A value and its version (which changes whenever the value does).
pub(crate) struct Versioned<T: ?Sized> {
    pub(crate) value: Arc<T>,
    pub(crate) version: u64,
}

impl<T> std::fmt::Debug for MountedFile<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountedFile")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> MountedFile<T> {
    /// Reads and parses the file once, synchronously; a missing, oversized, non-regular, invalid
    /// or stuck file is an error naming it.
    pub(crate) fn open(
        path: &Path,
        parse: Parse<T>,
        period: Duration,
    ) -> Result<MountedFile<T>, FileError> {
        let parse: AnyParse = Arc::new(move |path, bytes| {
            let value: Arc<AnyValue> = Arc::new(parse(path, bytes)?);
            Ok(value)
        });
        Ok(MountedFile {
            shared: Arc::new(Shared::open(path, parse, period)?),
            holds: PhantomData,
        })
    }

    /// The same file with another re-read period (the value read so far is kept).
    pub(crate) fn with_period(&self, period: Duration) -> MountedFile<T> {
        MountedFile {
            shared: Arc::new(self.shared.with_period(period)),
            holds: PhantomData,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The value now, without any I/O.
    pub(crate) fn cached(&self) -> Versioned<T> {
        typed(self.shared.cached())
    }

    /// The value to use now: re-read first when the period has passed.
    pub(crate) async fn current(&self) -> Versioned<T> {
        typed(self.shared.current().await)
    }

    /// Parses the bytes read last again (the file is not read): for a value that changes with
    /// the clock (a CA bundle whose anchor just expired). A new value gets a new version; an
    /// error leaves the value as it was and is returned.
    pub(crate) fn reparse(&self) -> Result<Versioned<T>, FileError> {
        self.shared.reparse().map(typed)
    }

    /// Re-reads the file now and returns the value then. A read that another caller started
    /// earlier is waited for, then the file is read once more: it may have begun before the
    /// change that made this caller ask (a 401 right after the kubelet swapped `..data`). Waits
    /// at most [`READ_WAIT`] per read.
    pub(crate) async fn reread(&self) -> Versioned<T> {
        typed(self.shared.reread().await)
    }
}

/// The value back as the `T` its [`MountedFile<T>`]'s parse function returned.
fn typed<T: Send + Sync + 'static>(erased: Versioned<AnyValue>) -> Versioned<T> {
    Versioned {
        value: erased
            .value
            .downcast()
            .unwrap_or_else(|_| unreachable!("a MountedFile<T> only ever holds a T")),
        version: erased.version,
    }
}

impl Shared {
    fn open(path: &Path, parse: AnyParse, period: Duration) -> Result<Shared, FileError> {
        let bytes = read_with_deadline(path, FIRST_READ_DEADLINE)?;
        let value = parse(path, &bytes)?;
        Ok(Shared {
            path: path.to_path_buf(),
            parse,
            period,
            state: Mutex::new(State {
                value,
                bytes,
                version: 0,
                checked_at: Instant::now(),
                reading: false,
            }),
            reads_done: tokio::sync::watch::Sender::new(0),
        })
    }

    fn with_period(&self, period: Duration) -> Shared {
        let state = self.lock();
        Shared {
            path: self.path.clone(),
            parse: self.parse.clone(),
            period,
            state: Mutex::new(State {
                value: state.value.clone(),
                bytes: state.bytes.clone(),
                version: state.version,
                checked_at: state.checked_at,
                reading: false,
            }),
            reads_done: tokio::sync::watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding this lock with the state half-written; recover it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached(&self) -> Versioned<AnyValue> {
        self.lock().versioned()
    }

    async fn current(self: &Arc<Self>) -> Versioned<AnyValue> {
        let due = self.lock().checked_at.elapsed() >= self.period;
        if due {
            self.reread().await;
        }
        self.cached()
    }

    fn reparse(&self) -> Result<Versioned<AnyValue>, FileError> {
        let mut state = self.lock();
        state.value = (self.parse)(&self.path, &state.bytes)?;
        state.version += 1;
        Ok(state.versioned())
    }

    async fn reread(self: &Arc<Self>) -> Versioned<AnyValue> {
        for _ in 0..2 {
            let (own, done) = self.start_or_join_read();
            if let Some(mut done) = done {
                if tokio::time::timeout(READ_WAIT, done.changed())
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        path = %self.path.display(),
                        "re-reading the file takes longer than {READ_WAIT:?} (a stalled mount?); using the last good value"
                    );
                    break;
                }
            }
            if own {
                break;
            }
        }
        self.cached()
    }

    /// Starts a read on its own thread, or joins the one running: whether the read is this
    /// caller's, and a receiver that changes when it is done (`None` if no thread could start).
    fn start_or_join_read(self: &Arc<Self>) -> (bool, Option<tokio::sync::watch::Receiver<u64>>) {
        let mut state = self.lock();
        // Subscribed under the lock the reader sends under: its completion cannot be missed.
        let done = self.reads_done.subscribe();
        if state.reading {
            // Already running, maybe stuck: do not pile up threads behind it.
            return (false, Some(done));
        }
        state.checked_at = Instant::now();
        state.reading = true;
        let shared = self.clone();
        match spawn_read(Box::new(move || shared.reread_blocking())) {
            Ok(_) => (true, Some(done)),
            Err(err) => {
                state.reading = false;
                tracing::warn!(path = %self.path.display(), %err, "cannot start a thread to re-read the file; keeping the last good value");
                (true, None)
            }
        }
    }

    /// Runs on the reader thread: read, parse, and keep the result only if it is good and new.
    fn reread_blocking(&self) {
        let outcome = read_swapped_file(&self.path).and_then(|bytes| {
            if bytes == self.lock().bytes {
                return Ok(None);
            }
            let value = (self.parse)(&self.path, &bytes)?;
            Ok(Some((value, bytes)))
        });
        let mut state = self.lock();
        state.reading = false;
        match outcome {
            Ok(None) => {}
            Ok(Some((value, bytes))) => {
                tracing::info!(path = %self.path.display(), "file changed; using its new contents");
                state.value = value;
                state.bytes = bytes;
                state.version += 1;
            }
            Err(err) => {
                tracing::warn!(%err, "keeping the last good value");
            }
        }
        self.reads_done.send_modify(|n| *n += 1);
    }
}

/// Reads `path` on a separate thread, giving up after `deadline` (the thread is left behind).
pub(crate) fn read_with_deadline(path: &Path, deadline: Duration) -> Result<Vec<u8>, FileError> {
    let handoff = Arc::new(Handoff::new());
    let (reader, owned) = (handoff.clone(), path.to_path_buf());
    spawn_read(Box::new(move || reader.put(read_regular_file(&owned)))).map_err(|err| {
        FileError::with_source(
            format!("cannot start a thread to read {}", path.display()),
            err,
        )
    })?;
    handoff.take_within(deadline).unwrap_or_else(|| {
        Err(FileError::new(format!(
            "reading {} did not finish within {deadline:?}: the mount looks stalled; check the Pod's volume",
            path.display()
        )))
    })
}

/// [`read_regular_file`], tried again a few times (10 ms apart) when the file vanished under
/// the read: the kubelet swaps `..data` atomically but deletes the old directory right after, so
/// a read that resolved the old link may find nothing.
fn read_swapped_file(path: &Path) -> Result<Vec<u8>, FileError> {
    let mut tries = 0;
    loop {
        match read_regular_file(path) {
            Err(err) if tries < 3 && err.is_not_found() => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Reads a regular file of at most [`MAX_MOUNTED_FILE_BYTES`]. A FIFO, socket, device or
/// directory is refused without blocking (it is opened non-blocking and checked again).
pub(crate) fn read_regular_file(path: &Path) -> Result<Vec<u8>, FileError> {
    let cannot = |err: std::io::Error| {
        let what = match err.kind() {
            std::io::ErrorKind::NotFound => "does not exist",
            std::io::ErrorKind::PermissionDenied => {
                "cannot be read: permission denied (this process's user may not read it; check \
                 the Pod's securityContext runAsUser/fsGroup and the volume's defaultMode)"
            }
            _ => "cannot be read",
        };
        FileError::with_source(format!("{} {what}", path.display()), err)
    };
    // Follows symlinks (the kubelet's `..data` layout) and looks at what they point to.
    check_regular(path, &std::fs::metadata(path).map_err(cannot)?)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(cannot)?;
    // The path could have been swapped for a FIFO between the two looks.
    check_regular(path, &file.metadata().map_err(cannot)?)?;
    read_bounded(path, file)
}

fn check_regular(path: &Path, metadata: &std::fs::Metadata) -> Result<(), FileError> {
    if metadata.is_file() {
        return Ok(());
    }
    Err(FileError::new(format!(
        "{} is not a regular file ({}); it should be the file the kubelet mounts",
        path.display(),
        describe(metadata.file_type())
    )))
}

fn describe(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "not a plain file"
    }
}

fn read_bounded(path: &Path, mut file: File) -> Result<Vec<u8>, FileError> {
    // A plain loop rather than `Read::take` + `read_to_end`: its generic instance is 0.8 KB more.
    let mut bytes = Vec::new();
    let mut chunk = [0; 16 * 1024];
    loop {
        let read = match file.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(read) => read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                let why = if err.kind() == std::io::ErrorKind::PermissionDenied {
                    ": permission denied"
                } else {
                    ""
                };
                return Err(FileError::with_source(
                    format!("cannot read {}{why}", path.display()),
                    err,
                ));
            }
        };
        bytes.extend_from_slice(&chunk[..read]);
        if bytes.len() as u64 > MAX_MOUNTED_FILE_BYTES {
            return Err(FileError::new(format!(
                "{} is larger than {MAX_MOUNTED_FILE_BYTES} bytes; a token or CA bundle is a few KiB: check what is mounted there",
                path.display()
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(path: &Path, bytes: &[u8]) -> Result<String, FileError> {
        let text = std::str::from_utf8(bytes).map_err(|err| {
            FileError::with_source(format!("{} is not UTF-8", path.display()), err)
        })?;
        if text.trim().is_empty() {
            return Err(FileError::new(format!("{} is empty", path.display())));
        }
        Ok(text.trim().to_string())
    }

    #[test]
    fn refuses_fifos_directories_and_oversized_files_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("token");
        mkfifo(&fifo);
        let err = read_regular_file(&fifo).unwrap_err().to_string();
        assert!(err.contains("a FIFO") && err.contains("token"), "{err}");
        let err = read_regular_file(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a directory"), "{err}");
        let big = dir.path().join("ca.crt");
        std::fs::write(&big, vec![b'a'; MAX_MOUNTED_FILE_BYTES as usize + 1]).unwrap();
        let err = read_regular_file(&big).unwrap_err().to_string();
        assert!(
            err.contains("larger than") && err.contains("ca.crt"),
            "{err}"
        );
        let err = read_regular_file(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(
            std::error::Error::source(&err).is_some(),
            "the io::Error is kept"
        );
    }

    /// `mkfifo` through the command of that name: the crate forbids `unsafe`.
    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "mkfifo {}", path.display());
    }

    #[test]
    fn an_unreadable_file_says_permission_denied() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&path).is_ok() {
            // Root reads anything: nothing to check here.
            return;
        }
        let err = read_regular_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("permission denied") && err.contains("token"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_caller_that_joins_a_running_read_reads_again_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one").unwrap();
        let file = MountedFile::open(&path, text, Duration::from_secs(3600)).unwrap();
        // Many callers at once, the file changing under them: every one sees the change.
        let file = Arc::new(file);
        std::fs::write(&path, "two").unwrap();
        let readers: Vec<_> = (0..50)
            .map(|_| {
                let file = file.clone();
                tokio::spawn(async move { file.reread().await.value.as_str().to_string() })
            })
            .collect();
        for reader in readers {
            assert_eq!(reader.await.unwrap(), "two");
        }
    }

    #[tokio::test]
    async fn keeps_the_last_good_value_and_versions_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").unwrap();
        let file = MountedFile::open(&path, text, Duration::ZERO).unwrap();
        assert_eq!(*file.current().await.value, "first");
        std::fs::write(&path, "second").unwrap();
        let now = file.current().await;
        assert_eq!((now.value.as_str(), now.version), ("second", 1));
        std::fs::write(&path, "  \n").unwrap();
        assert_eq!(
            *file.current().await.value,
            "second",
            "empty keeps the last good value"
        );
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            *file.current().await.value,
            "second",
            "missing keeps it too"
        );
        std::fs::write(&path, "second").unwrap();
        assert_eq!(
            file.current().await.version,
            1,
            "same contents, same version"
        );
    }

    #[tokio::test]
    async fn rereads_only_after_the_period_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first").unwrap();
        let file = MountedFile::open(&path, text, Duration::from_secs(3600)).unwrap();
        std::fs::write(&path, "second").unwrap();
        assert_eq!(*file.current().await.value, "first");
        assert_eq!(*file.reread().await.value, "second");
    }

    #[tokio::test]
    async fn a_fifo_after_start_up_keeps_the_last_good_value_and_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "good").unwrap();
        let file = MountedFile::open(&path, text, Duration::ZERO).unwrap();
        std::fs::remove_file(&path).unwrap();
        mkfifo(&path);
        assert_eq!(*file.current().await.value, "good");
    }

    #[test]
    fn a_fifo_at_start_up_fails_fast_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        mkfifo(&path);
        let err = MountedFile::open(&path, text, Duration::ZERO)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not a regular file") && err.contains("token"),
            "{err}"
        );
    }
}
