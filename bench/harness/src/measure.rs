//! Running one program and reading what it cost: CPU user+sys and peak RSS from the rusage of the
//! program (wait4, which also counts the descendants it waited for: rustc under cargo), and wall
//! time (spawn to exit, as the harness sees it).

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
///
/// The command is started by a fresh copy of this binary (`--exec-measure`), which waits for
/// it and reports its rusage: a child's peak RSS counts the memory of the process that spawned
/// it, and the harness holds the server's data (tens of MB), the launcher almost nothing.
pub fn run(command: &mut Command) -> (Cost, String) {
    match try_run(command) {
        Ok(result) => result,
        Err(err) => panic!("{err}"),
    }
}

/// [`run`], with a failure as an error naming the command and its output.
pub fn try_run(command: &mut Command) -> Result<(Cost, String), String> {
    let mut launcher = launcher(command);
    let started = Instant::now();
    let output = launcher
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("cannot start {command:?}: {err}"))?;
    let wall = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let (out, report) = stdout
        .rsplit_once(REPORT)
        .ok_or_else(|| format!("{command:?}: no rusage report; output: {stdout}"))?;
    let fields: Vec<f64> = report
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(f64::NAN))
        .collect();
    if !(output.status.success() && fields.len() == 3 && fields[0] == 0.0) {
        return Err(format!(
            "{command:?} failed (exit status {}); output: {out}",
            fields.first().copied().unwrap_or(-1.0)
        ));
    }
    let cost = Cost {
        cpu: fields[1],
        wall,
        rss_mib: fields[2] / 1024.0,
    };
    Ok((cost, out.to_string()))
}

/// The launcher (this binary, `--exec-measure`) that runs `command` and reports its rusage.
pub fn launcher(command: &Command) -> Command {
    let mut launcher = Command::new(std::env::current_exe().expect("current exe"));
    launcher
        .arg("--exec-measure")
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => launcher.env(name, value),
            None => launcher.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        launcher.current_dir(dir);
    }
    launcher
}

/// The line the launcher ends its output with: exit code, CPU seconds, peak RSS KiB.
pub const REPORT: &str = "\n__bench_rusage__ ";

/// With `BENCH_REPORT_PID=1` the launcher first prints this and the program's pid (so the
/// harness can stop a program that never finishes).
pub const PID: &str = "__bench_pid__ ";

/// `bench-harness --exec-measure PROGRAM ARGS…`: runs PROGRAM (its output passed through), then
/// prints its exit code, CPU user+sys seconds and peak RSS (KiB) from wait4, and exits 0.
pub fn exec_measure(mut args: impl Iterator<Item = String>) -> ! {
    let program = args.next().expect("--exec-measure PROGRAM");
    let child = Command::new(&program)
        .args(args)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {program}: {err}"));
    let pid = child.id() as libc::pid_t;
    if std::env::var("BENCH_REPORT_PID").is_ok_and(|v| v == "1") {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{PID}{pid}");
        let _ = stdout.flush();
    }
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it for the child we spawned and have not reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 {program}");
    // The child is reaped: `Child` must not be waited on again (dropping it does not wait).
    std::mem::forget(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "{REPORT}{code} {} {}",
        seconds(usage.ru_utime) + seconds(usage.ru_stime),
        usage.ru_maxrss
    );
    let _ = stdout.flush();
    std::process::exit(0)
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
