//! `compare` on tiny families: its rows, its determinism and its report.

use super::*;

fn tiny(seed: u32) -> CompareArgs {
    CompareArgs {
        quick: false,
        sizes: Some(vec![6]),
        instances: 2,
        repeats: 1,
        tau: 0.1,
        seed,
        rho: 0.0,
        problems: Vec::new(),
        out: None,
        fd_max_size: 6,
    }
}

#[test]
fn report_has_every_column_and_non_timing_numbers_are_reproducible() {
    let a = run(&tiny(5)).unwrap();
    let b = run(&tiny(5)).unwrap();
    // Every backend that serves a family has both sides on it; the others are listed once.
    for family in Family::ALL {
        let on = |b: &Backend| {
            a.rows
                .iter()
                .filter(|r| r.family == family.name() && r.backend == b.to_string())
                .count()
        };
        for b in Backend::all() {
            let listed = a
                .skipped
                .iter()
                .any(|w| w.starts_with(&format!("{b} on {}:", family.name())));
            assert!(
                on(&b) == 2 && !listed || on(&b) == 0 && listed,
                "{b} on {}",
                family.name()
            );
        }
    }
    assert!(a.rows.iter().all(|r| r.forward_ms.is_finite()));
    let strip = |r: &Row| {
        (
            r.family.clone(),
            r.size,
            r.backend.clone(),
            r.side.clone(),
            r.iterations.to_bits(),
            r.failures.clone(),
            r.agreement.map(f64::to_bits),
            r.fd_error.map(f64::to_bits),
        )
    };
    assert_eq!(
        a.rows.iter().map(strip).collect::<Vec<_>>(),
        b.rows.iter().map(strip).collect::<Vec<_>>()
    );
    assert_eq!(a.tau_sweep, b.tau_sweep);
    let clarabel: Vec<&Row> = a.rows.iter().filter(|r| r.backend == "clarabel").collect();
    for r in &clarabel {
        assert!(
            r.forward_ms > 0.0 && r.backward_ms > 0.0 && r.speedup > 0.0,
            "{r:?}"
        );
        assert!(r.failures.is_empty(), "{r:?}");
        assert!(r.agreement.unwrap() < 1e-2, "{r:?}");
    }
    assert!(clarabel
        .iter()
        .any(|r| r.fd_error.is_some_and(|e| e < 1e-2)));
    // The face re-solve agrees with the high-accuracy reference and certifies QP re-solves.
    let face: Vec<&Row> = a
        .rows
        .iter()
        .filter(|r| r.backend == "clarabel+face")
        .collect();
    assert!(!face.is_empty());
    for r in &face {
        assert!(
            r.failures.is_empty() && r.agreement.unwrap() < 1e-2,
            "{r:?}"
        );
        assert!(
            r.certified.is_some_and(|c| (0.0..=1.0).contains(&c)),
            "{r:?}"
        );
    }
    assert!(face
        .iter()
        .any(|r| r.family == "qp" && r.certified.unwrap() > 0.5));
    assert!(a
        .rows
        .iter()
        .all(|r| r.certified.is_some() == r.backend.contains("+face")));
    assert!(a.tau_sweep[0].certified["qp"].unwrap() > 0.5);
    let json = serde_json::to_value(&a).unwrap();
    for key in [
        "forward_ms",
        "backward_ms",
        "ratio",
        "iterations",
        "failures",
        "agreement",
        "fd_error",
        "batch_1_thread_ms",
        "batch_all_threads_ms",
        "speedup",
    ] {
        assert!(json["rows"][0].get(key).is_some(), "missing {key}");
    }
    let md = markdown(&a);
    assert!(
        md.contains("| lp_box | 6 | clarabel | right |") && md.contains("QP: centred LPGD vs FD")
    );
    // The τ sweep shows both effects: zero LP gradients at tiny τ, convergence on the QP.
    assert_eq!(a.tau_sweep[0].lp_nonzero_dc, 0.0);
    assert!(a.tau_sweep.last().unwrap().lp_nonzero_dc > 0.0);
    assert!(a.tau_sweep[0].qp_fd_error < 1e-4);
}
