//! Every mistake in an `#[in_cluster_client]` trait is a compile error at the offending token.
//! The `.stderr` snapshots were made with the toolchain pinned in the README's contributor notes.

#[test]
fn compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
