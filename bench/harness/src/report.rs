//! Tables of medians and ratios, the goals beside them, and a closing summary.

use std::fmt::Write;

use crate::measure::{median_cost, Cost};

/// One program's medians in one workload.
pub struct Row {
    /// The program.
    pub label: &'static str,
    /// Medians of the rounds.
    pub cost: Cost,
    /// Requests per run, for µs per request.
    pub per: Option<usize>,
    /// Stripped binary size, MB.
    pub size_mb: Option<f64>,
    /// Rounds measured.
    pub rounds: usize,
}

impl Row {
    /// The medians of `runs`.
    pub fn new(label: &'static str, runs: &[Cost], per: Option<usize>) -> Row {
        Row {
            label,
            cost: median_cost(runs),
            per,
            size_mb: None,
            rounds: runs.len(),
        }
    }
}

/// A goal of issue 12, for the `incluster` row.
pub enum Goal {
    /// incluster CPU ≤ x × the floor's.
    CpuVsFloor(f64),
    /// incluster CPU ≤ x × this peer's.
    CpuVsPeer(&'static str, f64),
    /// incluster peak RSS ≤ x × the floor's.
    RssVsFloor(f64),
    /// incluster throughput (items per CPU second) ≥ x × the floor's.
    ThroughputVsFloor(f64),
    /// This program's throughput (items per CPU second) ≥ x × the floor's.
    ThroughputOfVsFloor(&'static str, f64),
    /// This program's throughput ≥ x × that baseline program's (the same job done by hand).
    ThroughputOfVs(&'static str, &'static str, f64),
    /// incluster stripped size ≤ x × the floor's.
    SizeVsFloor(f64),
}

/// One workload's results.
pub struct Table {
    id: &'static str,
    rows: Vec<Row>,
    verdicts: Vec<String>,
    /// A scale workload's summary cells (it has no floor).
    scale: Option<String>,
}

impl Table {
    /// Builds the table and prints it at once (so progress shows while later workloads run).
    pub fn new(id: &'static str, title: String, rows: Vec<Row>, goals: Vec<Goal>) -> Table {
        let floor = &rows[0];
        let mut text = format!("\n{id}: {title}\n");
        let rounds = rows.iter().map(|r| r.rounds).max().unwrap_or(0);
        writeln!(
            text,
            "  {:<13} {:>9} {:>7} {:>9} {:>7} {:>9} {:>7}{}   (medians of {rounds})",
            "program",
            "CPU s",
            "×floor",
            "wall s",
            "×floor",
            "RSS MiB",
            "×floor",
            if rows.iter().any(|r| r.per.is_some()) {
                "   CPU µs/req"
            } else if rows.iter().any(|r| r.size_mb.is_some()) {
                "   stripped MB  ×floor"
            } else {
                ""
            },
        )
        .unwrap();
        for row in &rows {
            let mut line = format!(
                "  {:<13} {:>9.3} {:>7.2} {:>9.3} {:>7.2} {:>9.1} {:>7.2}",
                row.label,
                row.cost.cpu,
                row.cost.cpu / floor.cost.cpu,
                row.cost.wall,
                row.cost.wall / floor.cost.wall,
                row.cost.rss_mib,
                row.cost.rss_mib / floor.cost.rss_mib,
            );
            if let Some(n) = row.per {
                write!(line, "   {:>11.1}", row.cost.cpu * 1e6 / n as f64).unwrap();
            }
            if let (Some(size), Some(floor_size)) = (row.size_mb, floor.size_mb) {
                write!(line, "   {:>11.2}  {:>6.3}", size, size / floor_size).unwrap();
            }
            writeln!(text, "{line}").unwrap();
        }
        let verdicts: Vec<String> = goals
            .iter()
            .filter_map(|goal| verdict(id, goal, &rows))
            .collect();
        for verdict in &verdicts {
            writeln!(text, "  goal {verdict}").unwrap();
        }
        print!("{text}");
        Table {
            id,
            rows,
            verdicts,
            scale: None,
        }
    }
}

fn verdict(id: &str, goal: &Goal, rows: &[Row]) -> Option<String> {
    let floor = &rows[0];
    let throughput_of = |label: &str, baseline: &Row, x: f64| {
        let row = rows.iter().find(|r| r.label == label)?;
        let r = baseline.cost.cpu / row.cost.cpu;
        let mark = if r >= x { "met" } else { "MISSED" };
        Some(format!(
            "{id}: {label} events per CPU-second ≥ {x:.2}× {}: {r:.3}× — {mark}",
            baseline.label
        ))
    };
    match *goal {
        Goal::ThroughputOfVsFloor(label, x) => return throughput_of(label, floor, x),
        Goal::ThroughputOfVs(label, baseline, x) => {
            let baseline = rows.iter().find(|r| r.label == baseline)?;
            return throughput_of(label, baseline, x);
        }
        _ => {}
    }
    let ours = rows.iter().find(|r| r.label == "incluster")?;
    let mark = |ok: bool| if ok { "met" } else { "MISSED" };
    Some(match *goal {
        Goal::CpuVsFloor(x) => {
            let r = ours.cost.cpu / floor.cost.cpu;
            format!(
                "{id}: incluster CPU ≤ {x:.2}× {}: {r:.3}× — {}",
                floor.label,
                mark(r <= x)
            )
        }
        Goal::CpuVsPeer(peer, x) => {
            let Some(peer_row) = rows.iter().find(|r| r.label == peer) else {
                return Some(format!(
                    "{id}: incluster CPU ≤ {x:.2}× {peer}: not measured (--peers)"
                ));
            };
            let r = ours.cost.cpu / peer_row.cost.cpu;
            format!(
                "{id}: incluster CPU ≤ {x:.2}× {peer}: {r:.3}× — {}",
                mark(r <= x)
            )
        }
        Goal::RssVsFloor(x) => {
            let r = ours.cost.rss_mib / floor.cost.rss_mib;
            format!(
                "{id}: incluster peak RSS ≤ {x:.2}× {}: {r:.3}× — {}",
                floor.label,
                mark(r <= x)
            )
        }
        Goal::ThroughputVsFloor(x) => {
            let r = floor.cost.cpu / ours.cost.cpu;
            format!(
                "{id}: incluster events per CPU-second ≥ {x:.2}× {}: {r:.3}× — {}",
                floor.label,
                mark(r >= x)
            )
        }
        Goal::ThroughputOfVsFloor(..) | Goal::ThroughputOfVs(..) => return None,
        Goal::SizeVsFloor(x) => {
            let r = ours.size_mb? / floor.size_mb?;
            format!(
                "{id}: incluster stripped size ≤ {x:.2}× {}: {r:.3}× — {}",
                floor.label,
                mark(r <= x)
            )
        }
    })
}

/// The closing summary: every workload's incluster ratios and every goal.
pub fn summary(tables: &[Table]) -> String {
    let mut text = String::from("summary (incluster ÷ baseline, medians, same run)\n");
    writeln!(
        text,
        "  | workload | CPU ×floor | wall ×floor | RSS ×floor | peers (CPU) |"
    )
    .unwrap();
    writeln!(text, "  |---|---|---|---|---|").unwrap();
    for table in tables {
        if let Some(cells) = &table.scale {
            writeln!(text, "  | {} | {cells} |", table.id).unwrap();
            continue;
        }
        let floor = &table.rows[0];
        let Some(ours) = table.rows.iter().find(|r| r.label == "incluster") else {
            continue;
        };
        let peers: Vec<String> = table
            .rows
            .iter()
            .filter(|r| {
                !r.label.starts_with("incl")
                    && !matches!(
                        r.label,
                        "floor" | "floor-h1" | "floor+store" | "floor+deadline" | "hand-written"
                    )
            })
            .map(|r| format!("{:.2}× {}", ours.cost.cpu / r.cost.cpu, r.label))
            .collect();
        writeln!(
            text,
            "  | {} | {:.3} | {:.3} | {:.3} | {} |",
            table.id,
            ours.cost.cpu / floor.cost.cpu,
            ours.cost.wall / floor.cost.wall,
            ours.cost.rss_mib / floor.cost.rss_mib,
            if peers.is_empty() {
                "–".to_string()
            } else {
                peers.join(", ")
            },
        )
        .unwrap();
    }
    text.push_str("goals (printed, never enforced):\n");
    for table in tables {
        for verdict in &table.verdicts {
            writeln!(text, "  {verdict}").unwrap();
        }
    }
    text
}

/// One program's medians in a scale workload (or why it could not run).
pub struct ScaleRow {
    /// The program.
    pub label: &'static str,
    /// Medians of the rounds.
    pub run: crate::scale::Run,
    /// Rounds measured.
    pub rounds: usize,
    /// Why the program could not run, when it could not.
    pub error: Option<String>,
}

impl ScaleRow {
    /// The medians of `runs`, or the error.
    pub fn new(label: &'static str, runs: &[crate::scale::Run], error: Option<String>) -> ScaleRow {
        use crate::measure::median;
        let pick =
            |f: fn(&crate::scale::Run) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
        ScaleRow {
            label,
            run: crate::scale::Run {
                cost: median_cost(&runs.iter().map(|r| r.cost).collect::<Vec<_>>()),
                view: pick(|r| r.view),
                cpu_view: pick(|r| r.cpu_view),
                cpu_updates: pick(|r| r.cpu_updates),
                lag: pick(|r| r.lag),
                p50: pick(|r| r.p50),
                p99: pick(|r| r.p99),
            },
            rounds: runs.len(),
            error,
        }
    }
}

/// A goal of issue 19 for a scale workload, for the `incluster` row.
pub enum ScaleGoal {
    /// incluster peak RSS ≤ x × this peer's.
    Rss(&'static str, f64),
    /// incluster CPU (whole run) ≤ x × this peer's.
    Cpu(&'static str, f64),
    /// incluster time to the first complete view ≤ x × this peer's.
    View(&'static str, f64),
}

impl Table {
    /// A scale workload's table: time to the first complete view, CPU, per-event CPU, lag and
    /// latency percentiles, peak RSS; printed at once.
    pub fn scale(
        id: &'static str,
        title: String,
        rows: Vec<ScaleRow>,
        updates: usize,
        goals: Vec<ScaleGoal>,
    ) -> Table {
        let mut text = format!("\n{id}: {title}\n");
        let rounds = rows.iter().map(|r| r.rounds).max().unwrap_or(0);
        writeln!(
            text,
            "  {:<16} {:>7} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}   (medians of {rounds})",
            "program",
            "view s",
            "CPU@view",
            "µs/event",
            "lag ms",
            "p50 ms",
            "p99 ms",
            "RSS MiB",
            "CPU s",
        )
        .unwrap();
        for row in &rows {
            if let Some(error) = &row.error {
                writeln!(text, "  {:<16} ERROR: {error}", row.label).unwrap();
                continue;
            }
            let r = &row.run;
            writeln!(
                text,
                "  {:<16} {:>7.3} {:>8.3} {:>9.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.3}",
                row.label,
                r.view,
                r.cpu_view,
                r.cpu_updates * 1e6 / updates.max(1) as f64,
                r.lag * 1e3,
                r.p50,
                r.p99,
                r.cost.rss_mib,
                r.cost.cpu,
            )
            .unwrap();
        }
        let find = |label: &str| rows.iter().find(|r| r.label == label && r.error.is_none());
        let mark = |ok: bool| if ok { "met" } else { "MISSED" };
        let mut verdicts = Vec::new();
        let ours = find("incluster");
        for goal in &goals {
            let (what, peer, x, value): (&str, &str, f64, fn(&crate::scale::Run) -> f64) =
                match *goal {
                    ScaleGoal::Rss(peer, x) => ("peak RSS", peer, x, |r| r.cost.rss_mib),
                    ScaleGoal::Cpu(peer, x) => ("CPU", peer, x, |r| r.cost.cpu),
                    ScaleGoal::View(peer, x) => ("time to a complete view", peer, x, |r| r.view),
                };
            let verdict = match (ours, find(peer)) {
                (Some(ours), Some(theirs)) => {
                    let ratio = value(&ours.run) / value(&theirs.run);
                    format!("{id}: incluster {what} ≤ {x:.2}× {peer}: {ratio:.3}× — {}", mark(ratio <= x))
                }
                (None, _) => format!("{id}: incluster {what} ≤ {x:.2}× {peer}: not measured (incluster did not run)"),
                (_, None) => format!("{id}: incluster {what} ≤ {x:.2}× {peer}: not measured ({peer} did not run; --peers)"),
            };
            writeln!(text, "  goal {verdict}").unwrap();
            verdicts.push(verdict);
        }
        // Like-for-like pairs beside the goals (w7): each side with the same managed-fields
        // setting, and client-go on the same wire format.
        for (a, b) in [
            ("incluster-keep", "kube-rs"),
            ("incluster-keep", "client-go"),
            ("incluster", "kube-rs-strip"),
            ("incluster", "client-go-strip"),
            ("incluster-keep", "client-go-json"),
        ] {
            if let (Some(a_row), Some(b_row)) = (find(a), find(b)) {
                let (x, y) = (&a_row.run, &b_row.run);
                writeln!(
                    text,
                    "  like for like {a} ÷ {b}: RSS {:.2}×, CPU {:.2}×, view {:.2}×",
                    x.cost.rss_mib / y.cost.rss_mib,
                    x.cost.cpu / y.cost.cpu,
                    x.view / y.view,
                )
                .unwrap();
            }
        }
        print!("{text}");
        let ratio = |peer: &str, value: fn(&crate::scale::Run) -> f64| match (ours, find(peer)) {
            (Some(ours), Some(theirs)) => {
                format!("{:.2}× {peer}", value(&ours.run) / value(&theirs.run))
            }
            _ => "–".to_string(),
        };
        let scale = Some(format!(
            "scale: RSS {}, {}; CPU {}, {}; view {}, {}",
            ratio("kube-rs", |r| r.cost.rss_mib),
            ratio("client-go", |r| r.cost.rss_mib),
            ratio("kube-rs", |r| r.cost.cpu),
            ratio("client-go", |r| r.cost.cpu),
            ratio("kube-rs", |r| r.view),
            ratio("client-go", |r| r.view),
        ));
        Table {
            id,
            rows: Vec::new(),
            verdicts,
            scale,
        }
    }
}

static ERRORS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Records that a workload (or one program of it) could not run; printed at once, and the run
/// ends with a failure listing every such error.
pub fn error(message: String) {
    println!("\nERROR {message}");
    ERRORS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(message);
}

/// Every error recorded so far.
pub fn errors() -> Vec<String> {
    ERRORS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}
