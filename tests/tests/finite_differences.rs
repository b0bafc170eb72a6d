//! Centred LPGD with small τ and ρ = 0 recovers the true gradient where the solution map is
//! differentiable: checked against central finite differences of `ℓ = dxᵀx* + dyᵀy* + dsᵀs*` with
//! respect to every entry of c, b, A and P, on seeded random strictly convex QPs, nondegenerate
//! LPs and SOCPs, with losses on x, y and s.
//!
//! Solves use `ClarabelOracle::high_accuracy()` (tolerances 1e-11). QPs and LPs agree to 1e-4
//! relative per block (observed ~1e-6) with τ = h = 1e-5. SOCPs are held to 1e-3 with τ = h = 3e-5:
//! the derivative of a dual on the cone boundary moves by ~1e-4 relative between τ = 1e-4 and 1e-6
//! at that tolerance, and by ~3e-3 between tolerances 1e-10 and 1e-12. Exponential and power cones:
//! see their test.

use lpgd_core::ndarray::Array1;
use lpgd_core::{ConicCotangent, ConicGradient, ConicProblem, Lpgd, Oracle, Side};
use lpgd_solvers::ClarabelOracle;
use lpgd_tests::fd::{central_differences, Blocks};
use lpgd_tests::random::{
    cotangent, exponential_program, nondegenerate_lp, power_program, random_socp,
    strictly_convex_qp, tangent,
};
use lpgd_tests::{norm, rel_err};

fn flat(g: &ConicGradient) -> Array1<f64> {
    let mut v: Vec<f64> = g.dc.to_vec();
    v.extend(g.db.iter());
    v.extend(g.da.iter());
    if let Some(dp) = &g.dp {
        v.extend(dp.iter());
    }
    Array1::from(v)
}

fn lpgd_gradient(problem: &ConicProblem, g: &ConicCotangent, tau: f64) -> ConicGradient {
    let lpgd = Lpgd::new(tau).unwrap().with_side(Side::Centered);
    let mut oracle = ClarabelOracle::high_accuracy();
    let z = lpgd.forward(&mut oracle, problem).unwrap();
    lpgd.backward(&mut oracle, problem, &z, g).unwrap().gradient
}

/// Asserts agreement per block and overall; returns the overall relative error.
fn assert_matches_fd(
    problem: &ConicProblem,
    g: &ConicCotangent,
    step: f64,
    tol: f64,
    what: &str,
) -> f64 {
    let fd = central_differences(problem, g, step, Blocks::All).expect("perturbed data solves");
    let ours = lpgd_gradient(problem, g, step);
    let floor = 1e-3 * norm(&flat(&fd));
    for (block, o, f) in [
        ("dc", &ours.dc, &fd.dc),
        ("db", &ours.db, &fd.db),
        ("dA", &ours.da, &fd.da),
    ] {
        let e = rel_err(o, f, floor);
        assert!(
            e < tol,
            "{what}: {block} relative error {e:.2e}\n ours {o}\n fd   {f}"
        );
    }
    if let (Some(o), Some(f)) = (&ours.dp, &fd.dp) {
        let e = rel_err(o, f, floor);
        assert!(
            e < tol,
            "{what}: dP relative error {e:.2e}\n ours {o}\n fd   {f}"
        );
    }
    assert_eq!(ours.dp.is_some(), problem.p().is_some());
    rel_err(&flat(&ours), &flat(&fd), floor)
}

#[test]
fn strictly_convex_qps_all_blocks_including_dp() {
    for seed in 0..6 {
        let problem = strictly_convex_qp(seed, 6, 2, 6);
        for (k, (with_y, with_s)) in [(false, false), (true, false), (false, true), (true, true)]
            .into_iter()
            .enumerate()
        {
            let g = cotangent(100 + seed * 10 + k as u64, &problem, with_y, with_s);
            let e = assert_matches_fd(
                &problem,
                &g,
                1e-5,
                1e-4,
                &format!("QP seed {seed} y={with_y} s={with_s}"),
            );
            assert!(e < 1e-4);
        }
    }
}

#[test]
fn nondegenerate_lps_losses_on_x_y_and_s() {
    for seed in 0..6 {
        let problem = nondegenerate_lp(seed, 5, 2, 6);
        for (k, (with_y, with_s)) in [(false, false), (true, false), (false, true), (true, true)]
            .into_iter()
            .enumerate()
        {
            let g = cotangent(200 + seed * 10 + k as u64, &problem, with_y, with_s);
            assert_matches_fd(
                &problem,
                &g,
                1e-5,
                1e-4,
                &format!("LP seed {seed} y={with_y} s={with_s}"),
            );
        }
    }
}

#[test]
fn socps_losses_on_x_y_and_s() {
    for seed in 0..4 {
        let problem = random_socp(seed, 4, 3);
        for (k, (with_y, with_s)) in [(false, false), (true, true)].into_iter().enumerate() {
            let g = cotangent(300 + seed * 10 + k as u64, &problem, with_y, with_s);
            assert_matches_fd(
                &problem,
                &g,
                3e-5,
                1e-3,
                &format!("SOCP seed {seed} y={with_y} s={with_s}"),
            );
        }
    }
}

/// Exponential and power cones: Clarabel's nonsymmetric-cone solves are accurate to ~1e-8 in x even
/// at tolerance 1e-11, and the noise of both LPGD and finite differences grows like 1e-8/h, so both
/// use h = τ = 1e-3 (centred, O(h²) truncation) and agree to 5e-3 (observed ≤ 2.3e-3).
#[test]
fn exponential_and_power_cone_programs() {
    for seed in 0..3 {
        let problem = exponential_program(seed, 3);
        let g = cotangent(600 + seed, &problem, true, true);
        assert_matches_fd(&problem, &g, 1e-3, 5e-3, &format!("exp seed {seed}"));
        let problem = power_program(seed, 3, 0.4);
        let g = cotangent(700 + seed, &problem, true, true);
        assert_matches_fd(&problem, &g, 1e-3, 5e-3, &format!("pow seed {seed}"));
    }
}

/// The exponential program's solution is known in closed form: xᵢ = ln(−cᵢ).
#[test]
fn exponential_program_solution_is_the_closed_form() {
    let problem = exponential_program(1, 3);
    let z = ClarabelOracle::high_accuracy()
        .solve(&problem, None)
        .unwrap();
    for i in 0..3 {
        let expected = (-problem.c()[i]).ln();
        assert!(
            (z.x[i] - expected).abs() < 1e-6,
            "x{i} = {} vs {expected}",
            z.x[i]
        );
    }
}

/// The LP's x does not move under a small change of c: the true dc of a loss on x is zero, and
/// LPGD with τ below the reduced-cost gap says so too (the degenerate regime LPGD leaves at
/// larger τ).
#[test]
fn lp_loss_on_x_has_zero_dc_at_small_tau() {
    let problem = nondegenerate_lp(7, 5, 2, 6);
    let g = cotangent(7, &problem, false, false);
    let ours = lpgd_gradient(&problem, &g, 1e-5);
    assert!(norm(&ours.dc) < 1e-4 * norm(&ours.db), "dc = {}", ours.dc);
    assert!(norm(&ours.db) > 1e-2);
}

/// Forward mode: centred LPGD along a data direction equals the central finite difference of the
/// solution, and is the adjoint of the backward pass: ⟨backward(g), d⟩ = ⟨g, jvp(d)⟩.
#[test]
fn jvp_matches_finite_differences_and_is_adjoint_to_backward() {
    for seed in 0..4 {
        for problem in [
            strictly_convex_qp(seed, 5, 1, 5),
            nondegenerate_lp(seed, 5, 2, 5),
        ] {
            let d = tangent(400 + seed, &problem);
            let g = cotangent(500 + seed, &problem, true, true);
            let lpgd = Lpgd::new(1e-5).unwrap();
            let mut oracle = ClarabelOracle::high_accuracy();
            let z = lpgd.forward(&mut oracle, &problem).unwrap();
            let jvp = lpgd.jvp(&mut oracle, &problem, &z, &d).unwrap().tangent;
            let back = lpgd
                .backward(&mut oracle, &problem, &z, &g)
                .unwrap()
                .gradient;

            let h = 1e-5;
            let moved = |t: f64| {
                let mut p = problem.with_c(problem.c() + &(t * &d.dc)).unwrap();
                p = p.with_b(problem.b() + &(t * &d.db)).unwrap();
                let a: Vec<f64> = problem
                    .a()
                    .values()
                    .iter()
                    .zip(&d.da)
                    .map(|(v, e)| v + t * e)
                    .collect();
                p = p.with_a_values(&a).unwrap();
                if let (Some(pm), Some(dp)) = (problem.p(), &d.dp) {
                    let v: Vec<f64> = pm.values().iter().zip(dp).map(|(v, e)| v + t * e).collect();
                    p = p.with_p_values(&v).unwrap();
                }
                ClarabelOracle::high_accuracy().solve(&p, None).unwrap()
            };
            let (zp, zm) = (moved(h), moved(-h));
            let fd_x = (&zp.x - &zm.x) / (2.0 * h);
            let fd_y = (&zp.y - &zm.y) / (2.0 * h);
            assert!(
                rel_err(&jvp.dx, &fd_x, 1e-6) < 1e-4,
                "seed {seed}: dx {} vs {}",
                jvp.dx,
                fd_x
            );
            assert!(
                rel_err(&jvp.dy, &fd_y, 1e-6) < 1e-4,
                "seed {seed}: dy {} vs {}",
                jvp.dy,
                fd_y
            );

            let lhs = back.dot(&d);
            let rhs = g.dx.dot(&jvp.dx) + g.dy.dot(&jvp.dy) + g.ds.dot(&jvp.ds);
            assert!(
                (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
                "seed {seed}: {lhs} vs {rhs}"
            );
        }
    }
}
