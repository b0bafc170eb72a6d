//! The certified face re-solve (`FaceOracle`): a certified answer is the optimum (equal to a
//! high-accuracy interior-point re-solve), a face that must change falls back to the plain
//! backend's answer, and batches do not depend on the thread count.

use lpgd_core::ndarray::{array, Array1};
use lpgd_core::{
    ConicCotangent, ConicProblem, ConicSolution, CscMatrix, Lpgd, Oracle, Problem, Side,
};
use lpgd_solvers::{ClarabelOracle, FaceMiss, FaceOracle, FacePath, FaceSettings};
use lpgd_tests::random::{cotangent, nondegenerate_lp, strictly_convex_qp};
use lpgd_tests::{distance, high_accuracy, norm, problem_file};

fn instances() -> Vec<(&'static str, ConicProblem)> {
    let mut out = Vec::new();
    for seed in 0..5 {
        out.push(("qp", strictly_convex_qp(seed, 8, 2, 8)));
        out.push(("lp", nondegenerate_lp(seed, 6, 2, 8)));
    }
    out
}

#[test]
fn a_certified_resolve_is_the_optimum_for_both_sides_and_every_loss() {
    let mut certified = 0;
    for (k, (kind, problem)) in instances().into_iter().enumerate() {
        let star = high_accuracy(&problem);
        for (with_y, with_s) in [(false, false), (true, false), (false, true)] {
            let g = cotangent(40 + k as u64, &problem, with_y, with_s);
            // Small enough that the optimal face stays; scaled to the cotangent.
            let tau = 1e-3 / norm(&g.dx).max(norm(&g.dy)).max(norm(&g.ds));
            for sigma in [tau, -tau] {
                let perturbed = problem.backward_problem(&star, &g, sigma, 0.0).unwrap();
                let mut face = FaceOracle::new(ClarabelOracle::new());
                let hint = problem.hint(&perturbed, &star);
                let ours = face.solve(&perturbed, Some(&hint)).unwrap();
                assert_eq!(
                    face.last_path(),
                    Some(FacePath::Certified),
                    "{kind} #{k} (y {with_y}, s {with_s}, σ {sigma:.1e})"
                );
                certified += 1;
                let reference = high_accuracy(&perturbed);
                let d = distance(&ours, &reference);
                assert!(
                    d < 1e-9,
                    "{kind} #{k} (y {with_y}, s {with_s}, σ {sigma:.1e}): {d:.1e} from the re-solve"
                );
                // And the answer passes the core's optimality check.
                Problem::verify(&perturbed, &ours).unwrap();
            }
        }
    }
    assert_eq!(certified, 10 * 3 * 2);
}

#[test]
fn the_forward_polish_is_the_optimum_and_lpgd_gradients_match_the_high_accuracy_path() {
    for (k, (kind, problem)) in instances().into_iter().enumerate() {
        let mut face = FaceOracle::new(ClarabelOracle::new());
        let z = face.solve(&problem, None).unwrap();
        assert_eq!(face.last_path(), Some(FacePath::Polished), "{kind} #{k}");
        assert!(distance(&z, &high_accuracy(&problem)) < 1e-9, "{kind} #{k}");
        // At τ = 1e-4 the difference quotient no longer magnifies solver noise.
        let g = cotangent(70 + k as u64, &problem, true, false);
        for side in [Side::Right, Side::Centered, Side::Left] {
            let lpgd = Lpgd::new(1e-4).unwrap().with_side(side);
            let mut exact = ClarabelOracle::high_accuracy();
            let z_ref = lpgd.forward(&mut exact, &problem).unwrap();
            let reference = lpgd.backward(&mut exact, &problem, &z_ref, &g).unwrap();
            let ours = lpgd.backward(&mut face, &problem, &z, &g).unwrap();
            let (a, b) = (&ours.gradient, &reference.gradient);
            let scale = norm(&b.dc).max(norm(&b.db)).max(1e-3);
            let err = norm(&(&a.dc - &b.dc)).max(norm(&(&a.db - &b.db))) / scale;
            assert!(err < 1e-4, "{kind} #{k} {side:?}: {err:.1e}");
        }
    }
}

#[test]
fn a_face_that_must_change_falls_back_to_the_plain_answer() {
    // A large step moves a box-bounded LP to another vertex: the hinted face cannot be certified.
    let mut fell_back = 0;
    let file = problem_file("lp_box_small");
    for seed in 0..8 {
        let problem = file.problem(seed as usize).unwrap();
        let star = high_accuracy(&problem);
        let dx = cotangent(seed, &problem, false, false).dx;
        let sigma = 10.0 * norm(problem.c()) / norm(&dx);
        let g = ConicCotangent::on_x(&problem, dx);
        let perturbed = problem.backward_problem(&star, &g, sigma, 0.0).unwrap();
        // Neither corrections nor the continuation (tests/warm.rs follows such steps).
        let settings = FaceSettings {
            corrections: 0,
            pivots: 0,
            ..FaceSettings::default()
        };
        let mut face = FaceOracle::with_settings(ClarabelOracle::new(), settings);
        let ours = face.solve(&perturbed, Some(&star));
        let plain = ClarabelOracle::new().solve(&perturbed, Some(&star));
        match face.last_path() {
            Some(FacePath::Fallback(FaceMiss::Certificate)) => {
                assert_eq!(ours, plain, "seed {seed}: the fallback is the plain answer");
                fell_back += 1;
            }
            // A degenerate forward vertex is refused before the certificate, also with the
            // plain answer.
            Some(FacePath::Fallback(FaceMiss::NotVertex)) => assert_eq!(ours, plain),
            // Where the vertex happens to survive the step, the certified answer is still exact.
            Some(FacePath::Certified) => {
                assert!(distance(&ours.unwrap(), &high_accuracy(&perturbed)) < 1e-9)
            }
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(fell_back >= 5, "only {fell_back} of 8 fell back");

    // A degenerate vertex (three tight rows in the plane): the weakest row is let go, and the
    // basis left is certified only where its duals are feasible — then it is an exact optimum
    // (the duals of a degenerate vertex are not unique; the basis's are one choice of them).
    let problem = ConicProblem::builder(2)
        .cost(array![1.0, 1.0])
        .inequalities(
            array![[-1.0, 0.0], [0.0, -1.0], [-1.0, -1.0]],
            array![0.0, 0.0, 0.0],
        )
        .build()
        .unwrap();
    let star = high_accuracy(&problem);
    let g = ConicCotangent::on_x(&problem, array![0.1, -0.2]);
    let perturbed = problem.backward_problem(&star, &g, 0.1, 0.0).unwrap();
    let mut face = FaceOracle::new(ClarabelOracle::new());
    let ours = face.solve(&perturbed, Some(&star)).unwrap();
    match face.last_path() {
        Some(FacePath::Fallback(_)) => {
            assert_eq!(
                ours,
                ClarabelOracle::new()
                    .solve(&perturbed, Some(&star))
                    .unwrap()
            )
        }
        _ => {
            perturbed.verify(&ours, 1e-12).expect("an exact optimum");
            assert!(ours.x.iter().all(|v| v.abs() < 1e-12), "{:?}", ours.x);
            assert!(ours.y.iter().all(|&v| v >= 0.0));
        }
    }
    let z = face.solve(&problem, None).unwrap();
    problem.verify(&z, 1e-8).expect("optimal");
}

#[test]
fn corrections_repair_a_face_that_changed_by_a_row() {
    // min ½‖x − t‖² s.t. x ≤ 1 (two rows): moving the target across a bound changes one row.
    let eye = CscMatrix::scaled_identity(2, 1.0).unwrap();
    let problem = ConicProblem::builder(2)
        .cost(array![-2.0, -0.5])
        .quadratic(eye.clone())
        .inequalities(eye, array![1.0, 1.0])
        .build()
        .unwrap();
    let star = high_accuracy(&problem);
    // x* = (1, 0.5): row 0 tight. The step moves the target of x₁ to 1.5: row 1 tight too.
    let g = ConicCotangent::on_x(&problem, array![0.0, -1.0]);
    let perturbed = problem.backward_problem(&star, &g, 1.0, 0.0).unwrap();
    let mut face = FaceOracle::new(ClarabelOracle::new());
    let ours = face.solve(&perturbed, Some(&star)).unwrap();
    assert_eq!(face.last_path(), Some(FacePath::Corrected(1)));
    assert!(distance(&ours, &high_accuracy(&perturbed)) < 1e-9);
    assert_eq!(ours.x, array![1.0, 1.0]);
}

fn batch(threads: usize, problems: &[ConicProblem], g: &[ConicCotangent]) -> Vec<ConicSolution> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let lpgd = Lpgd::new(0.1)
            .unwrap()
            .with_rho(0.1)
            .unwrap()
            .with_side(Side::Centered);
        let make = || FaceOracle::new(ClarabelOracle::new());
        let z: Vec<_> = lpgd
            .forward_batch(make, problems)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let back = lpgd.backward_batch(make, problems, &z, g).unwrap();
        assert!(back.iter().all(Result::is_ok));
        z
    })
}

#[test]
fn batches_through_the_face_oracle_do_not_depend_on_threads() {
    for family in ["qp_box", "lp_box", "qp_socp"] {
        let file = problem_file(&format!("{family}_small"));
        let problems: Vec<_> = file.problems().into_iter().take(24).collect();
        let g = &file.cotangents()[..problems.len()];
        let pool = |t: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        };
        let grads = |t: usize| {
            let z = batch(t, &problems, g);
            pool(t).install(|| {
                let lpgd = Lpgd::new(0.1)
                    .unwrap()
                    .with_rho(0.1)
                    .unwrap()
                    .with_side(Side::Centered);
                lpgd.backward_batch(|| FaceOracle::new(ClarabelOracle::new()), &problems, &z, g)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.unwrap().gradient)
                    .collect::<Vec<_>>()
            })
        };
        let one = grads(1);
        assert_eq!(one, grads(2), "{family}: 1 vs 2 threads");
        assert_eq!(one, grads(5), "{family}: 1 vs 5 threads");
    }
}

#[test]
fn second_order_cones_on_their_boundary_by_newton_when_asked() {
    let file = problem_file("portfolio_small");
    let newton = FaceSettings {
        boundary_cones: true,
        ..FaceSettings::default()
    };
    let mut certified = 0;
    for i in 0..6 {
        let problem = file.problem(i).unwrap();
        let g = file.cotangent(i).unwrap();
        // On: the forward solve is polished (the risk cone sits on its boundary) …
        let mut face = FaceOracle::with_settings(ClarabelOracle::new(), newton);
        let z = face.solve(&problem, None).unwrap();
        assert_eq!(face.last_path(), Some(FacePath::Polished), "#{i}");
        // (The portfolio's x is ill-determined to ~1e-7 even at high accuracy, so the polish is
        // held to optimality itself: a KKT point to 1e-9, no worse an objective.)
        let optimal = |p: &ConicProblem, z: &ConicSolution| {
            let h = high_accuracy(p);
            p.verify(z, 1e-9).is_ok()
                && p.objective(z.x.as_slice().unwrap())
                    <= p.objective(h.x.as_slice().unwrap()) + 1e-10
        };
        assert!(optimal(&problem, &z), "#{i}");
        // … and a small step is certified and equals the high-accuracy re-solve.
        let perturbed = problem.backward_problem(&z, &g, 1e-3, 0.0).unwrap();
        let ours = face.solve(&perturbed, Some(&z)).unwrap();
        if matches!(
            face.last_path(),
            Some(FacePath::Certified | FacePath::Corrected(_))
        ) {
            certified += 1;
            assert!(optimal(&perturbed, &ours), "#{i}");
        }
        // Off (the default): the same face falls back at once, with the plain answer.
        let mut plain_face = FaceOracle::new(ClarabelOracle::new());
        let fallback = plain_face.solve(&perturbed, Some(&z));
        assert_eq!(
            plain_face.last_path(),
            Some(FacePath::Fallback(FaceMiss::Cone))
        );
        assert_eq!(
            fallback,
            ClarabelOracle::new().solve(&perturbed, Some(&z)),
            "#{i}"
        );
        assert_eq!(plain_face.stats().factorizations, 0);
    }
    assert!(certified >= 4, "{certified} of 6 certified");
}

#[test]
fn hostile_hints_and_inner_answers_fall_back_without_panics() {
    use lpgd_core::{FnOracle, SolveError, SolveStatus};
    let problem = strictly_convex_qp(3, 6, 2, 6);
    let star = high_accuracy(&problem);
    let g = ConicCotangent::on_x(&problem, Array1::ones(problem.n()));
    let perturbed = problem.backward_problem(&star, &g, 0.01, 0.0).unwrap();
    // A hint with NaN, or of another problem's shape, is no hint: the inner oracle answers.
    let mut nan = star.clone();
    nan.y[0] = f64::NAN;
    let short = ConicSolution {
        x: Array1::zeros(2),
        ..star.clone()
    };
    for hint in [nan, short] {
        let mut face = FaceOracle::new(ClarabelOracle::new());
        let ours = face.solve(&perturbed, Some(&hint));
        assert_eq!(face.last_path(), Some(FacePath::Fallback(FaceMiss::NoHint)));
        assert_eq!(ours, ClarabelOracle::new().solve(&perturbed, Some(&hint)));
    }
    // An inner oracle answering the wrong shape or NaN is passed on (the core calls it malformed),
    // never indexed out of bounds by the polish.
    for bad in [
        ConicSolution {
            x: Array1::zeros(1),
            y: Array1::zeros(1),
            s: Array1::zeros(1),
            status: SolveStatus::Solved,
            iterations: 1,
        },
        ConicSolution {
            x: Array1::from_elem(problem.n(), f64::NAN),
            ..star.clone()
        },
    ] {
        let answer = bad.clone();
        let inner = FnOracle::new(move |_: &ConicProblem| Ok::<_, SolveError>(answer.clone()));
        let mut face = FaceOracle::new(inner);
        assert!(face.solve(&problem, None).is_ok());
        assert_eq!(
            face.last_path(),
            Some(FacePath::Unpolished(Some(FaceMiss::NoHint)))
        );
        let err = Lpgd::new(0.1)
            .unwrap()
            .forward(&mut face, &problem)
            .unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("malformed") || err.to_string().contains("NaN"),
            "{err}"
        );
    }
}

#[test]
fn small_tau_gradients_are_exact_with_the_face_oracle_where_the_plain_solver_is_noisy() {
    // qp_box_medium at τ = 1e-4: Clarabel's default tolerance divided by τ leaves the plain
    // gradient ~1e-4 from the high-accuracy one; the polished forward and certified re-solves
    // bring it within a few 1e-6 — the reference's own accuracy: Clarabel at 1e-11 divided by
    // τ moves by up to 9e-7 between two equilibrations of the same problem (measured).
    let file = problem_file("qp_box_medium");
    let lpgd = Lpgd::new(1e-4).unwrap();
    let (mut face_worst, mut plain_worst, mut compared) = (0.0f64, 0.0f64, 0);
    for i in 0..4 {
        let (problem, g) = (file.problem(i).unwrap(), file.cotangent(i).unwrap());
        let grad = |oracle: &mut dyn Oracle<ConicProblem>| {
            let z = lpgd.forward(oracle, &problem).unwrap();
            let b = lpgd.backward(oracle, &problem, &z, &g).unwrap().gradient;
            let mut v = b.dc.to_vec();
            v.extend(b.db.iter());
            Array1::from(v)
        };
        let reference = grad(&mut ClarabelOracle::high_accuracy());
        let rel = |v: &Array1<f64>| norm(&(v - &reference)) / norm(&reference);
        let mut face = FaceOracle::new(ClarabelOracle::new());
        let ours = grad(&mut face);
        if face.stats().certified + face.stats().corrected == 0 {
            continue; // a singular face (P is singular on some): nothing to compare
        }
        face_worst = face_worst.max(rel(&ours));
        plain_worst = plain_worst.max(rel(&grad(&mut ClarabelOracle::new())));
        compared += 1;
    }
    assert!(compared >= 3, "{compared} of 4 instances certified");
    assert!(face_worst < 3e-6, "face {face_worst:.1e}");
    assert!(
        plain_worst > 10.0 * face_worst,
        "plain {plain_worst:.1e} vs face {face_worst:.1e}"
    );
}

#[test]
fn boundary_cone_newton_shares_one_jacobian_across_a_centred_pass_and_is_optimal() {
    // qp_socp_small's cone sits on its boundary. Newton's chord steps run on one Jacobian,
    // formed at the forward solution and shared by both sides (its ordering taken over from
    // the forward polish's), and each side's answer is an optimum: a KKT point to 1e-9 with an
    // objective no worse than the high-accuracy interior point's (whose x is itself only
    // ~1e-5 determined here, so it is no reference for the answer itself).
    let file = problem_file("qp_socp_small");
    let settings = FaceSettings {
        boundary_cones: true,
        ..FaceSettings::default()
    };
    let (tau, rho) = (1e-3, 0.1);
    let lpgd = Lpgd::new(tau)
        .unwrap()
        .with_rho(rho)
        .unwrap()
        .with_side(Side::Centered);
    for i in 0..4 {
        let (problem, g) = (file.problem(i).unwrap(), file.cotangent(i).unwrap());
        // Without the option the face is not tried (the cone is on its boundary).
        let mut off = FaceOracle::new(ClarabelOracle::new());
        lpgd.forward(&mut off, &problem).unwrap();
        assert_eq!(
            off.last_path(),
            Some(FacePath::Unpolished(Some(FaceMiss::Cone))),
            "#{i}"
        );
        let mut face = FaceOracle::with_settings(ClarabelOracle::new(), settings);
        let z = lpgd.forward(&mut face, &problem).unwrap();
        assert_eq!(face.last_path(), Some(FacePath::Polished), "#{i}");
        let before = face.stats();
        lpgd.backward(&mut face, &problem, &z, &g).unwrap();
        let after = face.stats();
        assert_eq!(after.certified - before.certified, 2, "#{i}");
        assert_eq!(
            after.factorizations - before.factorizations,
            1,
            "#{i}: one Jacobian for both sides"
        );
        assert_eq!(after.reused - before.reused, 1, "#{i}");
        for sigma in [tau, -tau] {
            let perturbed = problem.backward_problem(&z, &g, sigma, rho).unwrap();
            let ours = face.solve(&perturbed, Some(&z)).unwrap();
            assert_eq!(face.last_path(), Some(FacePath::Certified), "#{i}");
            let h = high_accuracy(&perturbed);
            let objective = |z: &ConicSolution| perturbed.objective(z.x.as_slice().unwrap());
            assert!(perturbed.verify(&ours, 1e-9).is_ok(), "#{i}");
            assert!(
                objective(&ours) <= objective(&h) + 1e-12 * (1.0 + objective(&h).abs()),
                "#{i}: {:e} > {:e}",
                objective(&ours),
                objective(&h)
            );
        }
    }
}

#[test]
fn boundary_cone_newton_on_hostile_hints_answers_optimally_or_falls_back() {
    // Hints of the right shape but far off, huge or sign-flipped: Newton either certifies an
    // optimum or lets the inner oracle answer; it never panics or returns a false point.
    let file = problem_file("qp_socp_small");
    let problem = file.problem(0).unwrap();
    let g = file.cotangent(0).unwrap();
    let star = high_accuracy(&problem);
    let perturbed = problem.backward_problem(&star, &g, 1e-3, 0.1).unwrap();
    let mut hints = Vec::new();
    for scale in [1e150, -3.0, 1e-300] {
        let mut h = star.clone();
        h.x.mapv_inplace(|v| v * scale);
        hints.push(h);
    }
    for value in [1e300, -1.0, 0.0] {
        let mut h = star.clone();
        h.y.mapv_inplace(|_| value);
        hints.push(h);
    }
    let mut h = star.clone();
    h.s.mapv_inplace(|v| -v);
    hints.push(h);
    let settings = FaceSettings {
        boundary_cones: true,
        ..FaceSettings::default()
    };
    for (k, hint) in hints.iter().enumerate() {
        let mut face = FaceOracle::with_settings(ClarabelOracle::new(), settings);
        let ours = face.solve(&perturbed, Some(hint)).unwrap();
        match face.last_path() {
            Some(FacePath::Certified | FacePath::Corrected(_)) => {
                assert!(perturbed.verify(&ours, 1e-9).is_ok(), "#{k}")
            }
            _ => assert_eq!(
                ours,
                ClarabelOracle::new().solve(&perturbed, Some(hint)).unwrap(),
                "#{k}"
            ),
        }
    }
}
