//! Every backend of the registry passes the conformance checks of the test kit.

use lpgd_core::Capability;
use lpgd_solvers::Backend;

#[test]
fn every_backend_with_duals_conforms() {
    let failures: Vec<String> = Backend::all()
        .into_iter()
        .filter(|b| b.supports(Capability::Duals))
        .filter_map(|b| {
            lpgd_tests::conformance::check(b)
                .err()
                .map(|e| format!("{b}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
