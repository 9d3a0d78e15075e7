//! Running one program and reading what it cost: CPU user+sys and peak RSS from the rusage of the
//! child (wait4, which also counts the descendants it waited for: rustc under cargo), and wall time.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of a program cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cost {
    /// User + system CPU seconds.
    pub cpu: f64,
    /// Wall seconds, spawn to exit.
    pub wall: f64,
    /// Peak resident set, MiB.
    pub rss_mib: f64,
}

/// Runs `command` to completion; its standard output is returned, standard error passed through.
/// Panics (naming the command) when it fails: a benchmark of a failing program means nothing.
pub fn run(command: &mut Command) -> (Cost, String) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {command:?}: {err}"));
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read child stdout");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it for the child we spawned and have not reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(reaped, pid, "wait4 {command:?}");
    // The child is reaped: `Child` must not be waited on again (dropping it does not wait).
    std::mem::forget(child);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    assert!(
        ok,
        "{command:?} failed (wait status {status}); output: {stdout}"
    );
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cost = Cost {
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        wall: wall.as_secs_f64(),
        rss_mib: usage.ru_maxrss as f64 / 1024.0,
    };
    (cost, stdout)
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The medians of a series of runs.
pub fn median_cost(runs: &[Cost]) -> Cost {
    let pick = |f: fn(&Cost) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
    Cost {
        cpu: pick(|c| c.cpu),
        wall: pick(|c| c.wall),
        rss_mib: pick(|c| c.rss_mib),
    }
}

/// A short human duration.
pub fn secs(d: Duration) -> String {
    format!("{:.0}s", d.as_secs_f64())
}
