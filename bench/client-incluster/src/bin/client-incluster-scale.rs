//! The scale workloads (w7, w7m, w8) with incluster: `client-incluster-scale scale <kind>
//! <namespace> <objects> <updates> <marker>`, or `client-incluster-scale scale-kinds`; the
//! protocol is described in bench/harness/src/scale.rs.

use client_incluster::{config, scale};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match args.get(1).map(String::as_str) {
        Some("scale-kinds") => println!("{}", scale::KINDS.join(" ")),
        Some("scale") => {
            let result = runtime.block_on(async {
                let client = incluster::Client::new(config().map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
                scale::run(client, &args[2..]).await
            });
            match result {
                Ok((count, sum)) => println!("count={count} sum={sum}"),
                Err(err) => {
                    eprintln!("client-incluster-scale: {err}");
                    std::process::exit(1);
                }
            }
        }
        other => {
            eprintln!("client-incluster-scale: expected `scale …` or `scale-kinds`, got {other:?}");
            std::process::exit(2);
        }
    }
}
