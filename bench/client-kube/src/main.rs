//! The benchmark workloads with kube-rs: `client-kube <workload> [n] [in-flight]`. The server, CA
//! and token come from the same service-account directory the other clients read, through a
//! kubeconfig written here (kube's in-cluster config reads only /var/run/secrets).

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};

mod scale;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn checksum(cm: &ConfigMap) -> u64 {
    let meta = &cm.metadata;
    (meta.name.as_deref().map_or(0, str::len)
        + meta.resource_version.as_deref().map_or(0, str::len)
        + cm.data
            .as_ref()
            .map_or(0, |d| d.values().map(String::len).sum::<usize>())) as u64
}

async fn client() -> Result<kube::Client, Error> {
    let server = std::env::var("BENCH_SERVER")?;
    let dir = std::path::PathBuf::from(std::env::var("BENCH_SA_DIR")?);
    let token = std::fs::read_to_string(dir.join("token"))?;
    let kubeconfig = format!(
        r#"{{"apiVersion":"v1","kind":"Config","current-context":"bench",
            "clusters":[{{"name":"bench","cluster":{{"server":"{server}","certificate-authority":"{}"}}}}],
            "users":[{{"name":"bench","user":{{"token":"{}"}}}}],
            "contexts":[{{"name":"bench","context":{{"cluster":"bench","user":"bench","namespace":"default"}}}}]}}"#,
        dir.join("ca.crt").display(),
        token.trim()
    );
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

async fn run(workload: &str, n: usize, in_flight: usize) -> Result<(usize, u64), Error> {
    let api: Api<ConfigMap> = Api::namespaced(client().await?, "default");
    match workload {
        "get" => {
            let names: Vec<String> = (0..10).map(|i| format!("bench-{i}")).collect();
            let sums: Vec<u64> = futures::stream::iter(0..n)
                .map(|i| {
                    let (api, name) = (&api, &names[i % names.len()]);
                    async move { api.get(name).await.map(|cm| checksum(&cm)) }
                })
                .buffer_unordered(in_flight)
                .try_collect()
                .await?;
            Ok((sums.len(), sums.iter().sum()))
        }
        "list" => {
            let list = api.list(&ListParams::default()).await?;
            Ok((list.items.len(), list.items.iter().map(checksum).sum()))
        }
        "list-paged" => {
            let (mut count, mut sum) = (0, 0);
            let mut params = ListParams::default().limit(500);
            loop {
                let page = api.list(&params).await?;
                count += page.items.len();
                sum += page.items.iter().map(checksum).sum::<u64>();
                match page.metadata.continue_ {
                    Some(next) if !next.is_empty() => params = params.continue_token(&next),
                    _ => return Ok((count, sum)),
                }
            }
        }
        other => Err(format!("unknown workload {other}").into()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let workload = args.get(1).expect("workload").clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if workload == "scale" {
        let result = runtime.block_on(async { scale::run(client().await?, &args[2..]).await });
        match result {
            Ok((count, sum)) => println!("count={count} sum={sum}"),
            Err(err) => {
                eprintln!("client-kube scale: {err}");
                std::process::exit(1);
            }
        }
        return;
    }
    let n = args.get(2).map_or(1, |s| s.parse().expect("n"));
    let in_flight = args.get(3).map_or(1, |s| s.parse().expect("in-flight"));
    match runtime.block_on(run(&workload, n, in_flight)) {
        Ok((count, sum)) => println!("count={count} sum={sum}"),
        Err(err) => {
            eprintln!("client-kube {workload}: {err}");
            std::process::exit(1);
        }
    }
}
