//! The benchmark of issue 12. `scripts/bench` builds the programs and runs this; see its header.
//!
//! Every workload runs each program once per round, the programs in a rotating order, for
//! `--rounds` rounds (default 7); the table shows medians and the ratio to the floor measured in
//! the same run, so the figures survive a noisy machine. The goals are printed beside the
//! figures; missing one does not fail the run.

mod builds;
mod controlplane;
mod fixtures;
mod gen;
mod measure;
mod report;
mod scale;
mod server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use measure::Cost;
use report::{Goal, Row, Table};

/// What to run.
struct Options {
    smoke: bool,
    peers: bool,
    rounds: usize,
    build_rounds: usize,
    only: Option<Vec<String>>,
    /// bench/.
    bench: PathBuf,
    /// The repository root.
    repo: PathBuf,
    /// Where the client binaries are.
    bin: PathBuf,
    /// bench/target/scratch/<pid>, removed at the end.
    scratch: PathBuf,
    /// `--extra label=binary`: more builds of a client to compare (e.g. incluster before a change).
    extra: Vec<(&'static str, PathBuf)>,
}

impl Options {
    fn wants(&self, workload: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|w| w == workload))
    }
}

/// One program under test.
#[derive(Clone)]
struct Program {
    label: &'static str,
    binary: PathBuf,
    env: Vec<(&'static str, String)>,
    /// A peer (kube-rs, client-go): compared with, not the floor.
    peer: bool,
}

impl Program {
    /// The command running this program; under `BENCH_WRAP` (e.g.
    /// `valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.{label}`) when that is set.
    fn command(&self, args: &[String], env: &[(&'static str, String)]) -> Command {
        let wrap = std::env::var("BENCH_WRAP").unwrap_or_default();
        let mut wrap = wrap
            .split_whitespace()
            .map(|w| w.replace("{label}", self.label));
        let mut command = match wrap.next() {
            Some(program) => {
                let mut command = Command::new(program);
                command.args(wrap).arg(&self.binary);
                command
            }
            None => Command::new(&self.binary),
        };
        command
            .args(args)
            .envs(env.iter().cloned())
            .envs(self.env.iter().cloned())
            .env_remove("INCLUSTER_PROXY")
            .env_remove("POD_NAMESPACE")
            .env("GOMAXPROCS", "2");
        command
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-harness [--smoke] [--peers] [--rounds N] [--build-rounds N] [--only w1,w2,w3,w4,w5,w6,w7,w7m,w8] [--extra label=client-binary]\n       bench-harness gen"
    );
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    if std::env::args().nth(1).as_deref() == Some("--exec-measure") {
        measure::exec_measure(args.skip(1));
    }
    let bench = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench dir")
        .to_path_buf();
    let repo = bench.parent().expect("repo").to_path_buf();
    let mut options = Options {
        smoke: false,
        peers: false,
        rounds: 7,
        build_rounds: 1,
        only: None,
        bin: std::env::current_exe()
            .expect("current exe")
            .parent()
            .expect("bin dir")
            .to_path_buf(),
        // One directory per harness process: two runs at once (e.g. a profiling run beside a
        // full run) never share a service-account directory or a build directory.
        scratch: bench
            .join("target/scratch")
            .join(std::process::id().to_string()),
        extra: Vec::new(),
        bench,
        repo,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "gen" => {
                gen::write(&options.bench);
                return;
            }
            "--smoke" => options.smoke = true,
            "--peers" => options.peers = true,
            "--rounds" => {
                options.rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--build-rounds" => {
                options.build_rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--extra" => {
                let spec = args.next().unwrap_or_else(|| usage());
                let (label, binary) = spec.split_once('=').unwrap_or_else(|| usage());
                options.extra.push((
                    Box::leak(label.to_string().into_boxed_str()),
                    PathBuf::from(binary),
                ));
            }
            "--only" => {
                options.only = Some(
                    args.next()
                        .unwrap_or_else(|| usage())
                        .split(',')
                        .map(str::to_string)
                        .collect(),
                )
            }
            _ => usage(),
        }
    }
    if options.smoke {
        options.rounds = options.rounds.min(1);
    }
    std::fs::create_dir_all(&options.scratch).expect("scratch dir");
    let started = Instant::now();
    let mut tables = Vec::new();
    run_runtime_workloads(&options, &mut tables);
    if !options.smoke {
        run_build_workloads(&options, &mut tables);
    } else {
        println!("\n(w5/w6, the build-cost workloads, are skipped by --smoke)");
    }
    println!("\n{}", report::summary(&tables));
    println!(
        "bench: {} rounds, finished in {}",
        options.rounds,
        measure::secs(started.elapsed())
    );
    let _ = std::fs::remove_dir_all(&options.scratch);
    let errors = report::errors();
    if !errors.is_empty() {
        eprintln!("\nbench: {} workload(s) could not run:", errors.len());
        for error in &errors {
            eprintln!("  ERROR {error}");
        }
        std::process::exit(1);
    }
}

fn programs(options: &Options) -> Vec<Program> {
    let mut programs = vec![
        Program {
            label: "floor",
            binary: options.bin.join("client-floor"),
            env: vec![],
            peer: false,
        },
        Program {
            label: "incluster",
            binary: options.bin.join("client-incluster"),
            env: vec![],
            peer: false,
        },
    ];
    for (label, binary) in &options.extra {
        programs.push(Program {
            label,
            binary: binary.clone(),
            env: vec![],
            peer: false,
        });
    }
    if options.peers {
        programs.push(Program {
            label: "kube-rs",
            binary: options.bin.join("client-kube"),
            env: vec![],
            peer: true,
        });
        programs.push(Program {
            label: "client-go",
            binary: options.bench.join("go/client-go-bench"),
            env: vec![],
            peer: true,
        });
    }
    programs
}

/// Runs `programs` round by round with `args`; checks they all saw the same data.
fn interleave(
    options: &Options,
    programs: &[Program],
    args: &[String],
    env: &[(&'static str, String)],
    expect_count: usize,
) -> Vec<(Program, Vec<Cost>)> {
    let mut results: Vec<(Program, Vec<Cost>)> =
        programs.iter().map(|p| (p.clone(), Vec::new())).collect();
    let mut sums: Vec<(String, String)> = Vec::new();
    for round in 0..options.rounds {
        for k in 0..programs.len() {
            let index = (k + round) % programs.len();
            let program = &programs[index];
            let (cost, out) = measure::run(&mut program.command(args, env));
            let out = out.trim().to_string();
            let count = out
                .split_whitespace()
                .find_map(|w| w.strip_prefix("count="))
                .and_then(|n| n.parse::<usize>().ok());
            assert_eq!(
                count,
                Some(expect_count),
                "{} {args:?} printed {out:?}",
                program.label
            );
            sums.push((program.label.to_string(), out));
            results[index].1.push(cost);
        }
    }
    let first = &sums[0].1;
    if let Some((label, out)) = sums.iter().find(|(_, out)| out != first) {
        panic!(
            "programs disagree on {args:?}: {} printed {first:?}, {label} printed {out:?}",
            sums[0].0
        );
    }
    results
}

fn k8s_env(port: u16, sa_dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("KUBERNETES_SERVICE_HOST", "127.0.0.1".to_string()),
        ("KUBERNETES_SERVICE_PORT_HTTPS", port.to_string()),
        ("KUBERNETES_SERVICE_PORT", port.to_string()),
        ("BENCH_SERVER", format!("https://127.0.0.1:{port}")),
        ("BENCH_SA_DIR", sa_dir.display().to_string()),
    ]
}

fn run_runtime_workloads(options: &Options, tables: &mut Vec<Table>) {
    let programs = programs(options);
    let (mut gets, list_items, events) = if options.smoke {
        (60, 1200, 2_000)
    } else {
        (3_000, 5_000, 100_000)
    };
    // For profiling runs (e.g. under BENCH_WRAP): another request count (w1), event count (w4).
    if let Some(n) = std::env::var("BENCH_GETS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        gets = n;
    }
    let events = std::env::var("BENCH_W4_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(events);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = ["w1", "w3", "w4"].iter().any(|w| options.wants(w));
    if local {
        let data = Arc::new(server::Data::new(list_items, events));
        let tls = server::Tls::new();
        let https = runtime.block_on(server::serve(data.clone(), Some(tls.acceptor())));
        let http = runtime.block_on(server::serve(data.clone(), None));
        let sa_dir = options.scratch.join("sa-local");
        server::write_sa_dir(&sa_dir, "bench-token", &tls.ca_pem);
        let env = k8s_env(https.port(), &sa_dir);
        if options.wants("w1") {
            let args = vec!["get".to_string(), gets.to_string(), "1".to_string()];
            let mut getters = programs.clone();
            getters.insert(1, floor_with_deadline(&programs));
            let results = interleave(options, &getters, &args, &env, gets);
            tables.push(Table::new(
                "w1",
                format!("{gets} sequential GETs of small ConfigMaps, one keep-alive HTTP/1.1 TLS connection, local test server"),
                per_request(results, gets),
                vec![
                    Goal::CpuVsFloor(1.00),
                    Goal::CpuVsPeer("floor+deadline", 1.00),
                    Goal::CpuVsPeer("kube-rs", 0.9),
                    Goal::CpuVsPeer("client-go", 0.5),
                ],
            ));
        }
        if options.wants("w3") {
            let args = vec!["list".to_string()];
            let results = interleave(options, &programs, &args, &env, list_items);
            let full_rss = incluster_rss(&results);
            tables.push(Table::new(
                "w3",
                format!("one LIST of {list_items} ConfigMaps ({:.1} MB of JSON), local HTTPS test server", data.list.len() as f64 / 1e6),
                rows(results),
                vec![Goal::RssVsFloor(1.00), Goal::CpuVsFloor(1.05)],
            ));
            let args = vec!["list-paged".to_string()];
            let results = interleave(options, &programs, &args, &env, list_items);
            let paged_rss = incluster_rss(&results);
            let how = "incluster::ListStream";
            tables.push(Table::new(
                "w3p",
                format!(
                    "the same LIST paginated, limit=500 ({} pages); {how}",
                    data.pages.len()
                ),
                rows(results),
                vec![Goal::RssVsFloor(1.05), Goal::CpuVsFloor(1.05)],
            ));
            println!(
                "  incluster peak RSS, paginated ÷ whole LIST: {:.1} / {:.1} MiB = {:.2} (bounded by a page: well under 1)",
                paged_rss,
                full_rss,
                paged_rss / full_rss
            );
        }
        if options.wants("w4") {
            let env = vec![
                ("BENCH_SERVER", format!("http://{http}")),
                ("BENCH_EVENTS", events.to_string()),
            ];
            let mut watchers: Vec<Program> = programs.iter().filter(|p| !p.peer).cloned().collect();
            // The floor that also keeps every object in a map by (namespace, name): the same
            // job as the Watcher + Store row, done by hand (its baseline).
            watchers.push(floor_variant(&programs, "floor+store", "BENCH_FLOOR_STORE"));
            // The same events through incluster's Watcher (streaming-list path: every event
            // decoded with its metadata), without and with a Store.
            for (label, path) in [
                ("incl-watcher", "watcher"),
                ("incl-watcher+store", "watcher-store"),
            ] {
                watchers.push(Program {
                    label,
                    binary: options.bin.join("client-incluster-watcher"),
                    env: vec![("BENCH_WATCH_PATH", path.to_string())],
                    peer: false,
                });
            }
            let args = vec!["watch".to_string()];
            let results = interleave(options, &watchers, &args, &env, events);
            tables.push(Table::new(
                "w4",
                format!("watch decoding: {events} ConfigMap events ({:.0} MB) over loopback plain HTTP; floor = serde_json line by line (floor+store: and a map by namespace/name); incluster = WatchStream; incl-watcher(+store) = the Watcher path (with a Store)", data.watch.len() as f64 / 1e6),
                rows(results),
                vec![
                    Goal::ThroughputVsFloor(0.95),
                    Goal::ThroughputOfVsFloor("incl-watcher", 0.9),
                    Goal::ThroughputOfVs("incl-watcher+store", "floor+store", 0.9),
                ],
            ));
        }
    }
    let on_apiserver = ["w2", "w7", "w7m", "w8"];
    if !on_apiserver.iter().any(|w| options.wants(w)) {
        return;
    }
    let binary = match controlplane::locate(&options.repo) {
        Ok(binary) => binary,
        Err(reason) => {
            for w in on_apiserver.iter().filter(|w| options.wants(w)) {
                report::error(format!("{w}: no control plane: {reason}"));
            }
            return;
        }
    };
    let dir = std::env::temp_dir().join(format!("incluster-bench-cp-{}", std::process::id()));
    let log = options.scratch.join("controlplane.log");
    let started = Instant::now();
    let plane = controlplane::ControlPlane::start(&binary, &dir, &log);
    runtime.block_on(plane.prepare());
    println!(
        "\n(kube-apiserver ready in {}: {}, {})",
        measure::secs(started.elapsed()),
        plane.server,
        binary.display()
    );
    let sa_dir = options.scratch.join("sa-apiserver");
    server::write_sa_dir(&sa_dir, &plane.token, &plane.ca_pem);
    let env = k8s_env(plane.port, &sa_dir);
    if options.wants("w2") {
        let mut with_h1 = programs.clone();
        with_h1.insert(
            1,
            Program {
                label: "floor-h1",
                binary: options.bin.join("client-floor"),
                env: vec![("BENCH_ALPN", "http/1.1".to_string())],
                peer: false,
            },
        );
        with_h1.insert(2, floor_with_deadline(&programs));
        let concurrent = gets;
        let args = vec!["get".to_string(), concurrent.to_string(), "32".to_string()];
        let results = interleave(options, &with_h1, &args, &env, concurrent);
        tables.push(Table::new(
            "w2",
            format!("{concurrent} GETs, 32 in flight, one client, real kube-apiserver (floor/incluster negotiate HTTP/2; floor-h1 = HTTP/1.1 only)"),
            per_request(results, concurrent),
            vec![
                Goal::CpuVsFloor(1.05),
                Goal::CpuVsPeer("floor+deadline", 1.05),
                Goal::CpuVsPeer("kube-rs", 0.9),
                Goal::CpuVsPeer("client-go", 0.5),
            ],
        ));
        let sequential = gets / 3;
        let args = vec!["get".to_string(), sequential.to_string(), "1".to_string()];
        let results = interleave(options, &with_h1, &args, &env, sequential);
        tables.push(Table::new(
            "w2s",
            format!("{sequential} sequential GETs, real kube-apiserver (protocol policy: HTTP/2 vs floor-h1)"),
            per_request(results, sequential),
            vec![
                Goal::CpuVsFloor(1.05),
                Goal::CpuVsPeer("floor+deadline", 1.05),
            ],
        ));
    }
    run_scale_workloads(options, &runtime, &plane, &programs, &env, tables);
    drop(plane);
}

/// The floor with a timeout on every request, as incluster bounds each one (its default, 70 s):
/// the same job under the same bound, done by hand — the like-for-like baseline of the GET rows.
fn floor_with_deadline(programs: &[Program]) -> Program {
    floor_variant(programs, "floor+deadline", "BENCH_FLOOR_DEADLINE")
}

/// The floor program run as `label`, with `switch=1` in its environment (a baseline that does
/// one more part of incluster's job by hand).
fn floor_variant(programs: &[Program], label: &'static str, switch: &'static str) -> Program {
    let floor = programs
        .iter()
        .find(|p| p.label == "floor")
        .expect("the floor program")
        .clone();
    Program {
        label,
        env: vec![(switch, "1".to_string())],
        ..floor
    }
}

/// incluster's scale workloads: a binary of their own (see bench/client-incluster/src/lib.rs).
const INCLUSTER_SCALE: &str = "client-incluster-scale";

/// The kinds of scale workload `client-incluster-scale` was built with
/// (`client-incluster-scale scale-kinds`).
fn incluster_scale_kinds(options: &Options) -> Vec<String> {
    let binary = options.bin.join(INCLUSTER_SCALE);
    match Command::new(&binary).arg("scale-kinds").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// w7, w7m, w8 (bench/harness/src/scale.rs) on the running control plane.
fn run_scale_workloads(
    options: &Options,
    runtime: &tokio::runtime::Runtime,
    plane: &controlplane::ControlPlane,
    programs: &[Program],
    env: &[(&'static str, String)],
    tables: &mut Vec<Table>,
) {
    use report::ScaleGoal;
    let kinds = incluster_scale_kinds(options);
    let (mut objects, mut updates, mut controlled) = if options.smoke {
        (300, 100, 100)
    } else {
        (20_000, 5_000, 5_000)
    };
    // For profiling and trying things out: BENCH_SCALE=objects,updates (w8: updates objects).
    if let Ok(scale) = std::env::var("BENCH_SCALE") {
        let mut sizes = scale.split(',').map(|n| n.parse::<usize>());
        if let (Some(Ok(o)), Some(Ok(u))) = (sizes.next(), sizes.next()) {
            (objects, updates, controlled) = (o, u.min(o), u.min(o));
        }
    }
    let peers: Vec<&Program> = programs.iter().filter(|p| p.peer).collect();
    let incluster = &Program {
        label: "incluster",
        binary: options.bin.join(INCLUSTER_SCALE),
        env: vec![],
        peer: false,
    };
    // Each row: (label, program, kind).
    let rows_for = |kind: &'static str| -> Vec<(&'static str, &Program, &'static str)> {
        let mut rows = Vec::new();
        // The smoke run has what the incluster binary was built with (no k8s-openapi); a full
        // run has every row, and a row that cannot run is an error.
        if !options.smoke || kinds.iter().any(|k| k == kind) {
            rows.push(("incluster", incluster, kind));
        }
        if kind == "watch" {
            if !options.smoke || kinds.iter().any(|k| k == "watch-keep") {
                rows.push(("incluster-keep", incluster, "watch-keep"));
            }
            rows.push(("incluster-small", incluster, "watch-small"));
        }
        for peer in &peers {
            rows.push((peer.label, *peer, kind));
            // w7's other settings of the peers: managed fields dropped before the store as each
            // documents it, and client-go on JSON (its default for built-in types is protobuf).
            if kind == "watch" {
                let variants: &[(&'static str, &'static str)] = match peer.label {
                    "kube-rs" => &[("kube-rs-strip", "watch-strip")],
                    "client-go" => &[
                        ("client-go-strip", "watch-strip"),
                        ("client-go-json", "watch-json"),
                    ],
                    _ => &[],
                };
                for (label, variant) in variants {
                    rows.push((label, *peer, variant));
                }
            }
        }
        rows
    };
    let mut populated: Vec<&str> = Vec::new();
    let mut marker = 0usize;
    let workloads: [(&'static str, &'static str, &'static str, usize, usize, String); 3] = [
        ("w7", "watch", "w7", objects, updates, format!("a watcher + store over {objects} ConfigMaps (~1 KiB each), then {updates} updates; incluster = k8s-openapi ConfigMap like the peers (managedFields skipped while decoding, the Watcher's default), incluster-keep = the same keeping them, incluster-small = a small serde struct; kube-rs watcher+reflector, client-go SharedInformer (protobuf, its default for built-in types); -strip = managedFields cleared before the store (kube-rs .modify, client-go TransformStripManagedFields), client-go-json = client-go on JSON")),
        ("w7m", "metadata", "w7", objects, updates, format!("metadata only: the same {objects} ConfigMaps and {updates} updates; kube-rs metadata_watcher+reflector, client-go metadata informer")),
        ("w8", "controller", "w8", controlled, controlled, format!("a controller with a no-op reconcile over {controlled} ConfigMaps, then {controlled} updates (µs/event = CPU per reconcile; p50/p99 = write-to-reconcile latency); kube-rs Controller, client-go informer+workqueue (2 workers)")),
    ];
    for (id, kind, namespace, objects, updates, title) in workloads {
        if !options.wants(id) {
            continue;
        }
        let rows = rows_for(kind);
        if options.smoke
            && !rows
                .iter()
                .any(|(label, ..)| label.starts_with("incluster"))
        {
            println!(
                "\n({id} is not in the smoke run yet: client-incluster-scale answers `scale-kinds` with {kinds:?}, without `{kind}`; a full run reports it as an error)"
            );
            continue;
        }
        if !populated.contains(&namespace) {
            let started = Instant::now();
            if let Err(reason) = runtime.block_on(scale::populate(plane, namespace, objects)) {
                report::error(format!(
                    "{id}: cannot create the {objects} ConfigMaps: {reason}"
                ));
                continue;
            }
            println!(
                "({objects} ConfigMaps created in namespace {namespace} in {})",
                measure::secs(started.elapsed())
            );
            populated.push(namespace);
        }
        let spec = scale::Spec {
            namespace,
            objects,
            updates,
        };
        let http = plane.http();
        let mut runs: Vec<Vec<scale::Run>> = vec![Vec::new(); rows.len()];
        let mut errors: Vec<Option<String>> = vec![None; rows.len()];
        let mut finals: Vec<(&str, String)> = Vec::new();
        for round in 0..options.rounds {
            for k in 0..rows.len() {
                let index = (k + round) % rows.len();
                if errors[index].is_some() {
                    continue;
                }
                let (label, program, kind) = rows[index];
                marker += 1;
                let marker = format!("r{marker:06}");
                let args: Vec<String> = vec![
                    "scale".into(),
                    kind.into(),
                    namespace.into(),
                    objects.to_string(),
                    updates.to_string(),
                    marker.clone(),
                ];
                let command = program.command(&args, env);
                match scale::run_once(runtime, plane, &http, &command, &spec, &marker) {
                    Ok((run, last)) => {
                        runs[index].push(run);
                        finals.push((label, last));
                    }
                    Err(reason) => {
                        report::error(format!("{id}: {label}: {reason}"));
                        errors[index] = Some(reason);
                    }
                }
            }
        }
        if let Some((first_label, first)) = finals.first() {
            if let Some((label, other)) = finals.iter().find(|(_, out)| out != first) {
                report::error(format!(
                    "{id}: programs disagree on the final view: {first_label} printed {first:?}, {label} printed {other:?}"
                ));
            }
        }
        let rows = rows
            .iter()
            .zip(runs.iter().zip(errors))
            .map(|((label, ..), (runs, error))| report::ScaleRow::new(label, runs, error))
            .collect();
        let goals = match id {
            "w8" => vec![ScaleGoal::Cpu("kube-rs", 0.8)],
            _ => vec![
                ScaleGoal::Rss("kube-rs", 0.8),
                ScaleGoal::Cpu("kube-rs", 0.8),
                ScaleGoal::View("client-go", 1.0),
            ],
        };
        tables.push(Table::scale(id, title, rows, updates, goals));
    }
}

/// The median peak RSS of the `incluster` program.
fn incluster_rss(results: &[(Program, Vec<Cost>)]) -> f64 {
    results
        .iter()
        .find(|(p, _)| p.label == "incluster")
        .map_or(f64::NAN, |(_, runs)| measure::median_cost(runs).rss_mib)
}

fn rows(results: Vec<(Program, Vec<Cost>)>) -> Vec<Row> {
    results
        .into_iter()
        .map(|(program, runs)| Row::new(program.label, &runs, None))
        .collect()
}

fn per_request(results: Vec<(Program, Vec<Cost>)>, n: usize) -> Vec<Row> {
    results
        .into_iter()
        .map(|(program, runs)| Row::new(program.label, &runs, Some(n)))
        .collect()
}

fn run_build_workloads(options: &Options, tables: &mut Vec<Table>) {
    use builds::Crate;
    if options.wants("w5") {
        let crates = [
            Crate {
                label: "floor",
                package: "reader-floor",
                features: "",
            },
            Crate {
                label: "incluster",
                package: "reader-incluster",
                features: "",
            },
        ];
        let mut costs: Vec<Vec<Cost>> = vec![Vec::new(); crates.len()];
        let mut sizes = vec![0.0; crates.len()];
        for round in 0..options.build_rounds {
            for k in 0..crates.len() {
                let index = (k + round) % crates.len();
                println!("(w5: cold release build of {} …)", crates[index].package);
                let (cost, size) =
                    builds::cold_release(&options.bench, &options.scratch, &crates[index]);
                costs[index].push(cost);
                sizes[index] = size;
            }
        }
        let rows = crates
            .iter()
            .zip(costs)
            .zip(sizes)
            .map(|((krate, runs), size)| {
                let mut row = Row::new(krate.label, &runs, None);
                row.size_mb = Some(size);
                row
            })
            .collect();
        tables.push(Table::new(
            "w5",
            format!("cold `cargo build --release` of a minimal in-cluster reader ({} round(s)); stripped binary size", options.build_rounds),
            rows,
            vec![Goal::CpuVsFloor(1.05), Goal::SizeVsFloor(1.03)],
        ));
    }
    for (id, features, what) in [
        ("w6", "", "bare"),
        (
            "w6t",
            "typical",
            "with tokio (macros, rt-multi-thread), serde derive and tracing already there",
        ),
    ] {
        if !options.wants("w6") && !options.wants(id) {
            continue;
        }
        let crates = [
            Crate {
                label: "hand-written",
                package: "macro-handwritten",
                features,
            },
            Crate {
                label: "incluster",
                package: "macro-annotated",
                features,
            },
        ];
        let mut cold: Vec<Vec<Cost>> = vec![Vec::new(); crates.len()];
        for round in 0..options.build_rounds {
            for k in 0..crates.len() {
                let index = (k + round) % crates.len();
                println!(
                    "({id}: cold cargo check of {} {features} …)",
                    crates[index].package
                );
                cold[index].push(builds::cold_check(
                    &options.bench,
                    &options.scratch,
                    &crates[index],
                ));
            }
        }
        let rows = crates
            .iter()
            .zip(&cold)
            .map(|(c, runs)| Row::new(c.label, runs, None))
            .collect();
        tables.push(Table::new(
            id,
            format!("cold `cargo check` of 100 endpoints, {what}: annotated trait vs hand-written over reqwest ({} round(s))", options.build_rounds),
            rows,
            vec![Goal::CpuVsFloor(1.15)],
        ));
        if id == "w6" {
            let mut warm: Vec<Vec<Cost>> = vec![Vec::new(); crates.len()];
            for round in 0..options.rounds {
                for k in 0..crates.len() {
                    let index = (k + round) % crates.len();
                    warm[index].push(builds::check_crate_only(
                        &options.bench,
                        &options.scratch,
                        &crates[index],
                    ));
                }
            }
            let rows = crates
                .iter()
                .zip(&warm)
                .map(|(c, runs)| Row::new(c.label, runs, None))
                .collect();
            tables.push(Table::new(
                "w6c",
                "`cargo check` of the 100-endpoint crate alone (dependencies already checked, non-incremental)".to_string(),
                rows,
                vec![Goal::CpuVsFloor(1.15)],
            ));
        }
        for krate in &crates {
            let _ = std::fs::remove_dir_all(builds::check_target(&options.scratch, krate));
        }
    }
}
