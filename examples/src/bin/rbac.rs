//! Prints the RBAC each example needs, derived from the code (the `RBAC` of the generated
//! clients it calls and of the runtime parts it runs), as YAML for `kubectl apply -f -`.
//!
//! ```text
//! cargo run -p incluster-examples --bin rbac -- config-mirror   # one example
//! cargo run -p incluster-examples --bin rbac                    # all of them
//! cargo run -p incluster-examples --bin rbac -- --write         # rewrite examples/deploy/*.yaml
//! cargo run -p incluster-examples --bin rbac -- --check         # exit 1 when they differ
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use incluster_examples::rbac::{example, splice, Example, EXAMPLES};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {
            for (index, example) in EXAMPLES.iter().enumerate() {
                if index > 0 {
                    println!("---");
                }
                print!("# {}\n{}", example.name, example.policy().to_yaml());
            }
            ExitCode::SUCCESS
        }
        ["--write"] => manifests(true),
        ["--check"] => manifests(false),
        [name] if !name.starts_with('-') => match example(name) {
            Some(example) => {
                print!("{}", example.policy().to_yaml());
                ExitCode::SUCCESS
            }
            None => usage(&format!("no example named {name:?}")),
        },
        _ => usage("unexpected arguments"),
    }
}

fn usage(problem: &str) -> ExitCode {
    let names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
    eprintln!(
        "rbac: {problem}\nusage: rbac [{}] | --write | --check",
        names.join(" | ")
    );
    ExitCode::from(2)
}

/// Rewrites (or checks) the generated region of every example's manifest.
fn manifests(write: bool) -> ExitCode {
    let mut ok = true;
    for example in EXAMPLES {
        let path = manifest_path(example);
        let result = std::fs::read_to_string(&path)
            .map_err(|err| err.to_string())
            .and_then(|text| splice(&text, &example.region()).map(|new| (text, new)));
        match result {
            Ok((old, new)) if old == new => println!("{}: up to date", path.display()),
            Ok((_, new)) if write => match std::fs::write(&path, new) {
                Ok(()) => println!("{}: rewritten", path.display()),
                Err(err) => {
                    eprintln!("{}: {err}", path.display());
                    ok = false;
                }
            },
            Ok(_) => {
                eprintln!(
                    "{}: its RBAC differs from the code; run `cargo run -p incluster-examples --bin rbac -- --write`",
                    path.display()
                );
                ok = false;
            }
            Err(err) => {
                eprintln!("{}: {err}", path.display());
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn manifest_path(example: &Example) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(example.manifest)
}
