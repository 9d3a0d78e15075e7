//! The node's state directory, claimed with its owner recorded; the guardian process that tears
//! the node down however the tests end; and the removal of nodes left behind by crashes.

use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

use super::{Host, STATE_ROOT};
use crate::controlplane::{repo_root, target_dir};

impl Host {
    /// Removes leftovers, then claims this process's state directory (`n<pid>`) and log
    /// directory and starts the guardian that will remove them.
    pub(super) fn claim() -> Host {
        remove_leftovers();
        let id = format!("n{}", std::process::id());
        let state = Path::new(STATE_ROOT).join(&id);
        let log_dir = target_dir().join("node-logs").join(&id);
        let _ = std::fs::remove_dir_all(&log_dir);
        std::fs::create_dir_all(&log_dir).expect("create the node log directory");
        // The state directory appears with its owner already recorded (a node starting in another
        // test process must never take it for a leftover).
        let fresh = Path::new(STATE_ROOT).join(format!(".{id}.new"));
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir_all(&fresh).expect("create the node state directory");
        let owner = owner_stamp(std::process::id()).expect("this process's start time");
        std::fs::write(fresh.join("owner"), owner).expect("write owner");
        std::fs::rename(&fresh, &state).expect("place the node state directory");
        let guardian = start_guardian(&state, &log_dir);
        Host {
            id,
            state,
            log_dir,
            daemons: Mutex::new(Vec::new()),
            _guardian: Mutex::new(guardian),
        }
    }
}

/// `<pid> <start time>`: identifies a process even after its PID is reused.
fn owner_stamp(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command (which may contain spaces) in parentheses; start time is 22nd.
    let after = &stat[stat.rfind(')')? + 2..];
    let start = after.split_whitespace().nth(19)?;
    Some(format!("{pid} {start}"))
}

/// Tears down the nodes of test processes that are gone (normally their guardians did).
pub(super) fn remove_leftovers() {
    let Ok(entries) = std::fs::read_dir(STATE_ROOT) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with('n') && name[1..].chars().all(|c| c.is_ascii_digit())) {
            continue;
        }
        let recorded = std::fs::read_to_string(entry.path().join("owner")).unwrap_or_default();
        let pid: Option<u32> = recorded
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok());
        let alive = pid.is_some_and(|pid| owner_stamp(pid).as_deref() == Some(recorded.trim()));
        if !alive {
            eprintln!("removing a node left behind: {}", entry.path().display());
            let _ = Command::new(repo_root().join("tests/node/teardown"))
                .arg(entry.path())
                .status();
        }
    }
}

/// The guardian: waits (in a session of its own, so a Ctrl-C of the tests does not reach it)
/// until this process's end of its stdin closes, then tears the node down.
fn start_guardian(state: &Path, log_dir: &Path) -> (Child, ChildStdin) {
    let log = std::fs::File::create(log_dir.join("teardown.log")).expect("teardown log");
    let mut child = Command::new("setsid")
        .args(["sh", "-c", r#"cat > /dev/null; exec "$0" "$1""#])
        .arg(repo_root().join("tests/node/teardown"))
        .arg(state)
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start the teardown guardian");
    let stdin = child.stdin.take().expect("guardian stdin");
    (child, stdin)
}
