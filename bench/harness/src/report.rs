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
    /// incluster stripped size ≤ x × the floor's.
    SizeVsFloor(f64),
}

/// One workload's results.
pub struct Table {
    id: &'static str,
    rows: Vec<Row>,
    verdicts: Vec<String>,
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
        Table { id, rows, verdicts }
    }
}

fn verdict(id: &str, goal: &Goal, rows: &[Row]) -> Option<String> {
    let floor = &rows[0];
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
        let floor = &table.rows[0];
        let Some(ours) = table.rows.iter().find(|r| r.label == "incluster") else {
            continue;
        };
        let peers: Vec<String> = table
            .rows
            .iter()
            .filter(|r| !matches!(r.label, "incluster" | "floor" | "floor-h1" | "hand-written"))
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
