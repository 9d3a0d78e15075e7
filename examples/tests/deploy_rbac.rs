//! CI's drift check: the RBAC in `examples/deploy/*.yaml` is exactly what the code derives.
//! Fix a failure with `cargo run -p incluster-examples --bin rbac -- --write`.

use std::path::PathBuf;

use incluster_examples::rbac::{splice, EXAMPLES};

#[test]
fn committed_manifests_match_the_code() {
    for example in EXAMPLES {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("deploy")
            .join(example.manifest);
        let committed = std::fs::read_to_string(&path).expect("read the manifest");
        let expected = splice(&committed, &example.region())
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        assert!(
            committed == expected,
            "{} differs from the RBAC the code derives for {}; run `cargo run -p incluster-examples --bin rbac -- --write`\n--- expected region:\n{}",
            path.display(),
            example.name,
            example.region()
        );
    }
}
