//! Positive semidefinite cones (feature `clarabel-sdp`): a closed form, diffcp's reference
//! numbers for the layout, LPGD against central differences, every pass and determinism.
#![cfg(feature = "clarabel-sdp")]

use lpgd_core::conic::psd_matrix;
use lpgd_core::ndarray::{Array1, Array2};
use lpgd_core::{Cone, InvalidInput};
use lpgd_core::{
    ConicCotangent, ConicGradient, ConicProblem, ConicSolution, CscMatrix, Lpgd, Oracle,
    ProblemFile, Side,
};
use lpgd_solvers::{Backend, BackendOptions, ClarabelOracle};
use lpgd_tests::fd::{central_differences, Blocks};
use std::f64::consts::SQRT_2;

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/sdp/nearest_correlation.json"
);

/// `svec` of a symmetric matrix: lower triangle by columns, off-diagonals times √2.
fn svec(m: &Array2<f64>) -> Array1<f64> {
    let k = m.nrows();
    let mut out = Vec::new();
    for j in 0..k {
        for i in j..k {
            out.push(if i == j {
                m[[i, j]]
            } else {
                SQRT_2 * m[[i, j]]
            });
        }
    }
    Array1::from(out)
}

/// `min ⟨C, X⟩ s.t. tr X = 1, X ⪰ 0` over x = svec X: its value is λ_min(C).
fn min_eigenvalue_problem(c: &Array2<f64>) -> ConicProblem {
    let k = c.nrows();
    let n = k * (k + 1) / 2;
    let (mut rows, mut cols, mut vals) = (Vec::new(), Vec::new(), Vec::new());
    let mut idx = 0;
    for j in 0..k {
        for i in j..k {
            if i == j {
                rows.push(0);
                cols.push(idx);
                vals.push(1.0);
            }
            idx += 1;
        }
    }
    for p in 0..n {
        rows.push(1 + p);
        cols.push(p);
        vals.push(-1.0);
    }
    let a = CscMatrix::from_triplets(n + 1, n, &rows, &cols, &vals).unwrap();
    let mut b = Array1::zeros(n + 1);
    b[0] = 1.0;
    ConicProblem::new(None, a, b, svec(c), vec![Cone::Zero(1), Cone::Psd(k)]).unwrap()
}

/// A rotation of ℝ⁴ (two Givens rotations) and the matrix `Q diag(d) Qᵀ`.
fn rotated(d: [f64; 4]) -> (Array2<f64>, Array2<f64>) {
    let mut q = Array2::<f64>::eye(4);
    for (p, r, angle) in [(0usize, 2usize, 0.7f64), (1, 3, -0.4), (0, 1, 0.3)] {
        let mut g = Array2::<f64>::eye(4);
        g[[p, p]] = angle.cos();
        g[[r, r]] = angle.cos();
        g[[p, r]] = -angle.sin();
        g[[r, p]] = angle.sin();
        q = q.dot(&g);
    }
    let c = q
        .dot(&Array2::from_diag(&Array1::from(d.to_vec())))
        .dot(&q.t());
    (c, q)
}

#[test]
fn the_smallest_eigenvalue_in_closed_form() {
    let (c, q) = rotated([3.0, -1.5, 0.5, 2.0]);
    let problem = min_eigenvalue_problem(&c);
    let z = Lpgd::new(1.0)
        .unwrap()
        .forward(&mut ClarabelOracle::high_accuracy(), &problem)
        .unwrap();
    let value = problem.c().dot(&z.x);
    assert!((value + 1.5).abs() < 1e-7, "{value}");
    // X* = q₁q₁ᵀ, the eigenvector of −1.5.
    let x = Array2::from_shape_vec((4, 4), psd_matrix(z.x.as_slice().unwrap(), 4)).unwrap();
    let v = q.column(1);
    for i in 0..4 {
        for j in 0..4 {
            assert!((x[[i, j]] - v[i] * v[j]).abs() < 1e-6, "X[{i}{j}]");
        }
    }
    // The dual of tr X = 1 is −λ_min (y ∈ K*: the PSD block of y is C − λ_min I ⪰ 0).
    assert!((z.y[0] - 1.5).abs() < 1e-6, "{}", z.y[0]);
}

fn reference() -> (ProblemFile, serde_json::Value) {
    let file = ProblemFile::read(DATA).unwrap();
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(DATA).unwrap()).unwrap();
    (file, raw)
}

fn field(v: &serde_json::Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn diffcps_layout_gives_diffcps_solutions() {
    // The file keeps diffcp's layout (lower triangle, √2 off the diagonal); the oracle converts
    // to Clarabel's upper triangle and back. x, y, s equal diffcp 1.1.9's SCS path (its residuals
    // are ~1e-11). diffcp's Clarabel path agrees on x, but returns the PSD blocks of s and y
    // scrambled (its Ax + s = b fails by ~1): checked below, so that a diffcp fix shows up here.
    let (file, raw) = reference();
    assert!(file
        .problems()
        .iter()
        .all(|p| p.cones().contains(&Cone::Psd(4))));
    for (i, problem) in file.problems().iter().enumerate() {
        let z = ClarabelOracle::high_accuracy()
            .solve(problem, None)
            .unwrap();
        let theirs = &raw["instances"][i];
        for (key, ours) in [("x", &z.x), ("y", &z.y), ("s", &z.s)] {
            let expected = field(theirs, key);
            let err = ours
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f64, f64::max);
            assert!(
                err < 1e-5,
                "instance {i}, {key}: {err}\nours   {:?}\ntheirs {:?}",
                ours.to_vec(),
                expected
            );
        }
        let clarabel_x = field(theirs, "x_clarabel");
        assert!(z
            .x
            .iter()
            .zip(&clarabel_x)
            .all(|(a, b)| (a - b).abs() < 1e-5));
        let (a, b) = (problem.a(), problem.b());
        let scrambled = Array1::from(field(theirs, "s_clarabel"));
        let primal = (a.mul_vec(z.x.as_slice().unwrap()) + &scrambled - b)
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            primal > 0.1,
            "diffcp's Clarabel path now returns s in order: {primal}"
        );
        // The answer is a correlation matrix: unit diagonal, positive semidefinite.
        let x = psd_matrix(z.x.as_slice().unwrap(), 4);
        for d in 0..4 {
            assert!((x[d * 4 + d] - 1.0).abs() < 1e-7);
        }
        let (values, _) = lpgd_core::linalg::symmetric_eigen(&x, 4);
        assert!(values.iter().all(|&v| v > -1e-7), "{values:?}");
        assert!(problem.residuals(&z).slack_cone < 1e-7);
    }
}

fn cotangent(problem: &ConicProblem, seed: u64) -> ConicCotangent {
    let mut rng = lpgd_tests::random::rng(seed);
    let mut draw = |len: usize| {
        Array1::from_shape_simple_fn(len, || lpgd_tests::random::Normal::normal(&mut rng))
    };
    ConicCotangent {
        dx: draw(problem.n()),
        dy: draw(problem.m()),
        ds: draw(problem.m()),
    }
}

/// The projection onto the PSD cone as a layer: `min ½‖x − svec G‖² s.t. X ⪰ 0`, `G` with
/// eigenvalues (2, 1, −1, −2), so the solution `G₊` has rank 2 with a gap of 1 on both sides of 0
/// (strict complementarity: the layer is smooth there).
fn projection_layer() -> ConicProblem {
    let (g, _) = rotated([2.0, 1.0, -1.0, -2.0]);
    let n = 10;
    let a = CscMatrix::scaled_identity(n, -1.0).unwrap();
    let p = CscMatrix::scaled_identity(n, 1.0).unwrap();
    ConicProblem::new(Some(p), a, Array1::zeros(n), -svec(&g), vec![Cone::Psd(4)]).unwrap()
}

#[test]
fn lpgd_on_a_smooth_sdp_layer_matches_central_differences() {
    let problem = projection_layer();
    let mut oracle = ClarabelOracle::high_accuracy();
    // The forward pass is G₊: the eigenvalues 2 and 1 kept, −1 and −2 clipped.
    let z = Lpgd::new(1.0)
        .unwrap()
        .forward(&mut oracle, &problem)
        .unwrap();
    let (values, _) =
        lpgd_core::linalg::symmetric_eigen(&psd_matrix(z.x.as_slice().unwrap(), 4), 4);
    let mut values = values;
    values.sort_by(f64::total_cmp);
    for (v, e) in values.iter().zip([0.0, 0.0, 1.0, 2.0]) {
        assert!((v - e).abs() < 1e-7, "{values:?}");
    }
    for side in [Side::Centered, Side::Right, Side::Left] {
        let g = cotangent(&problem, 7);
        let lpgd = Lpgd::new(1e-6).unwrap().with_side(side);
        let ours = lpgd
            .backward(&mut oracle, &problem, &z, &g)
            .unwrap()
            .gradient;
        let fd = central_differences(&problem, &g, 1e-6, Blocks::CostAndRhs).unwrap();
        let close = |what: &str, a: &Array1<f64>, b: &Array1<f64>| {
            let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            let err = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f64, f64::max);
            assert!(err < 1e-3 * scale, "{side:?} {what}: {err} (scale {scale})");
        };
        close("dc", &ours.dc, &fd.dc);
        close("db", &ours.db, &fd.db);
    }
}

#[test]
fn every_pass_on_psd_layers_and_batches_do_not_depend_on_threads() {
    let (file, _) = reference();
    let problems = file.problems();
    let backend = Backend::Clarabel;
    let options = BackendOptions {
        cold: false,
        high_accuracy: false,
        ..BackendOptions::default()
    };
    let run = |threads: usize, side: Side| {
        let lpgd = Lpgd::new(0.1)
            .unwrap()
            .with_rho(0.1)
            .unwrap()
            .with_side(side)
            .with_threads(threads)
            .unwrap();
        let sols: Vec<ConicSolution> = lpgd
            .forward_batch(|| backend.oracle(options), &problems)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let gs: Vec<ConicCotangent> = problems
            .iter()
            .enumerate()
            .map(|(i, p)| cotangent(p, i as u64))
            .collect();
        let grads: Vec<ConicGradient> = lpgd
            .backward_batch(|| backend.oracle(options), &problems, &sols, &gs)
            .unwrap()
            .into_iter()
            .map(|r| r.unwrap().gradient)
            .collect();
        // Directions on c and b (a direction on A can make a perturbed problem infeasible).
        let tangents: Vec<ConicGradient> = problems
            .iter()
            .zip(&gs)
            .map(|(p, g)| {
                let mut t = ConicGradient::zeros(p);
                t.dc = g.dx.clone();
                t.db = &g.dy * 0.1;
                t
            })
            .collect();
        let jvps: Vec<_> = lpgd
            .jvp_batch(|| backend.oracle(options), &problems, &sols, &tangents)
            .unwrap()
            .into_iter()
            .map(|r| r.unwrap().tangent)
            .collect();
        (sols, grads, jvps)
    };
    for side in [Side::Right, Side::Left, Side::Centered] {
        let (s1, g1, j1) = run(1, side);
        let (s2, g2, j2) = run(2, side);
        assert_eq!(s1, s2);
        assert_eq!(g1, g2);
        assert_eq!(j1, j2);
        for g in &g1 {
            assert!(g.dc.iter().chain(&g.db).chain(&g.da).all(|v| v.is_finite()));
        }
    }
}

#[test]
fn psd_cones_are_validated() {
    let a = CscMatrix::from_triplets(3, 1, &[0], &[0], &[-1.0]).unwrap();
    let bad = |cones: Vec<Cone>| {
        ConicProblem::new(None, a.clone(), Array1::zeros(3), Array1::zeros(1), cones)
    };
    assert!(matches!(
        bad(vec![Cone::Psd(0), Cone::Nonnegative(3)]),
        Err(InvalidInput::Cone { .. })
    ));
    assert!(matches!(
        bad(vec![Cone::Psd(1 << 40)]),
        Err(InvalidInput::TooLarge { .. })
    ));
    assert!(matches!(
        bad(vec![Cone::Psd(3)]),
        Err(InvalidInput::ConeRows { .. })
    ));
    assert!(bad(vec![Cone::Psd(2)]).is_ok()); // 2 × 2: three rows
}

#[test]
fn a_slack_outside_the_psd_cone_is_not_verified() {
    // min 0 s.t. s = x ∈ PSD(2), with a "solution" x = svec(diag(1, −1)): not in the cone.
    let a = CscMatrix::from_triplets(3, 3, &[0, 1, 2], &[0, 1, 2], &[-1.0, -1.0, -1.0]).unwrap();
    let problem = ConicProblem::new(
        None,
        a,
        Array1::zeros(3),
        Array1::zeros(3),
        vec![Cone::Psd(2)],
    )
    .unwrap();
    let x = Array1::from(vec![1.0, 0.0, -1.0]);
    let z = ConicSolution {
        s: x.clone(),
        x,
        y: Array1::zeros(3),
        status: lpgd_core::SolveStatus::Solved,
        iterations: 0,
    };
    assert!(problem.residuals(&z).slack_cone > 0.1);
    assert!(problem.verify(&z, 1e-6).is_err());
}

#[test]
fn backends_without_psd_cones_say_so() {
    let (file, _) = reference();
    let problem = file.problem(0).unwrap();
    for backend in Backend::all() {
        let supported = backend.supports(lpgd_core::Capability::Cone(lpgd_core::ConeKind::Psd));
        assert_eq!(supported, backend == Backend::Clarabel, "{backend}");
        if !supported {
            let r = backend
                .oracle(BackendOptions::default())
                .solve(&problem, None);
            assert!(
                matches!(r, Err(lpgd_core::SolveError::Unsupported { .. })),
                "{backend}: {r:?}"
            );
        }
    }
}
