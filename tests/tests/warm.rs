//! Warm forwards and the active-set continuation of `FaceOracle`: a forward certified on its
//! guess's face is the cold high-accuracy optimum, a wrong guess gives the cold answer, results
//! do not depend on the thread count or the order of the items, and the continuation's answer is
//! the high-accuracy re-solve where many active rows change.

use lpgd_core::{ConicCotangent, ConicProblem, ConicSolution, Lpgd, Oracle, Problem, WarmStarts};
use lpgd_solvers::{ClarabelOracle, FaceMiss, FaceOracle, FacePath, FaceSettings};
use lpgd_tests::random::{cotangent, gaussian_vector, nondegenerate_lp, rng, strictly_convex_qp};
use lpgd_tests::{distance, high_accuracy, norm, problem_file};

fn bits(z: &ConicSolution) -> Vec<u64> {
    z.x.iter()
        .chain(z.y.iter())
        .chain(z.s.iter())
        .map(|v| v.to_bits())
        .collect()
}

/// `problem` with c and b moved by `scale` times Gaussian draws: the next step of a training
/// loop, where only the network's outputs moved.
fn moved(problem: &ConicProblem, seed: u64, scale: f64) -> ConicProblem {
    let mut r = rng(seed);
    let dc = gaussian_vector(&mut r, problem.n()) * scale;
    let db = gaussian_vector(&mut r, problem.m()) * scale;
    problem
        .with_c(problem.c() + &dc)
        .and_then(|p| p.with_b(problem.b() + &db))
        .expect("finite data")
}

fn face_oracle() -> FaceOracle<ClarabelOracle> {
    FaceOracle::new(ClarabelOracle::new())
}

/// A face oracle that goes from the hint's face straight to the continuation (`pivots` of it).
fn without_corrections(pivots: usize) -> FaceOracle<ClarabelOracle> {
    let settings = FaceSettings {
        corrections: 0,
        pivots,
        ..FaceSettings::default()
    };
    FaceOracle::with_settings(ClarabelOracle::new(), settings)
}

/// Random QPs and nondegenerate LPs (zero and nonnegative rows).
fn instances() -> Vec<(&'static str, ConicProblem)> {
    let mut out = Vec::new();
    for seed in 0..6 {
        out.push(("qp", strictly_convex_qp(seed, 10, 2, 14)));
        out.push(("lp", nondegenerate_lp(seed, 8, 2, 14)));
    }
    out
}

#[test]
fn a_certified_warm_forward_is_the_cold_high_accuracy_optimum() {
    let lpgd = Lpgd::new(0.1).unwrap();
    for (k, (kind, problem)) in instances().into_iter().enumerate() {
        let before = lpgd.forward(&mut face_oracle(), &problem).unwrap();
        let now = moved(&problem, 100 + k as u64, 1e-3);
        let mut oracle = face_oracle();
        let warm = lpgd.forward_from(&mut oracle, &now, Some(&before)).unwrap();
        assert!(warm.from_guess, "{kind} #{k}: {:?}", oracle.last_path());
        assert!(matches!(oracle.last_path(), Some(FacePath::Warm(_))));
        assert_eq!(oracle.stats().warm, 1);
        let d = distance(&warm.solution, &high_accuracy(&now));
        assert!(
            d < 1e-9,
            "{kind} #{k}: {d:.1e} from the cold high-accuracy forward"
        );
    }
}

#[test]
fn a_wrong_guess_falls_back_to_the_cold_answer() {
    let lpgd = Lpgd::new(0.1).unwrap();
    let mut missed = 0;
    for (k, (kind, problem)) in instances().into_iter().enumerate() {
        // The optimum with its inequality rows' slacks and duals swapped: the complementary
        // face, not the optimum's.
        let cold = lpgd.forward(&mut face_oracle(), &problem).unwrap();
        let mut guess = cold.clone();
        for r in 2..problem.m() {
            (guess.y[r], guess.s[r]) = (cold.s[r], cold.y[r]);
        }
        let mut oracle = face_oracle();
        let warm = lpgd
            .forward_from(&mut oracle, &problem, Some(&guess))
            .unwrap();
        if warm.from_guess {
            // The continuation may still find the optimum from far away: then it is exact.
            assert!(distance(&warm.solution, &cold) < 1e-9, "{kind} #{k}");
        } else {
            missed += 1;
            assert_eq!(oracle.stats().warm_missed, 1);
            assert_eq!(
                bits(&warm.solution),
                bits(&cold),
                "{kind} #{k}: not the cold answer"
            );
            // Far from the problem (its KKT residual is large), the guess was refused before
            // any face solve: the miss cost what the cold forward costs.
            let mut fresh = face_oracle();
            lpgd.forward(&mut fresh, &problem).unwrap();
            assert_eq!(oracle.stats().factorizations, fresh.stats().factorizations);
        }
    }
    assert!(
        missed >= 6,
        "only {missed} guesses missed: the test no longer tests the fallback"
    );

    // A guess of another shape is no guess at all.
    let (_, problem) = &instances()[0];
    let other = strictly_convex_qp(1, 5, 1, 4);
    let guess = lpgd.forward(&mut face_oracle(), &other).unwrap();
    let mut oracle = face_oracle();
    let warm = lpgd
        .forward_from(&mut oracle, problem, Some(&guess))
        .unwrap();
    assert!(!warm.from_guess);
    assert_eq!(
        oracle.stats().warm_missed,
        0,
        "a guess of another shape reached the oracle"
    );
}

#[test]
fn warm_batches_do_not_depend_on_the_thread_count_or_the_order_of_items() {
    let lpgd = Lpgd::new(0.1).unwrap();
    let problems: Vec<ConicProblem> = instances().into_iter().map(|(_, p)| p).collect();
    let first: Vec<ConicSolution> = lpgd
        .forward_batch(face_oracle, &problems)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // Items named by key: each finds its own answer, except the odd ones, which are handed
    // another instance's answer (of the same kind and shape: a wrong guess, they fall back).
    let keys: Vec<u64> = (0..problems.len() as u64).collect();
    let mut store = WarmStarts::new();
    store
        .remember(first.into_iter().map(Some).collect(), Some(&keys))
        .unwrap();
    let asked: Vec<u64> = keys
        .iter()
        .map(|&k| {
            if k % 2 == 0 {
                k
            } else {
                (k + 2) % keys.len() as u64
            }
        })
        .collect();
    let next: Vec<ConicProblem> = problems
        .iter()
        .enumerate()
        .map(|(i, p)| moved(p, 300 + i as u64, 1e-3))
        .collect();
    let guesses = store.guesses(next.len(), Some(&asked)).unwrap();
    let run = |threads: usize, order: &[usize]| -> Vec<Vec<u64>> {
        let problems: Vec<ConicProblem> = order.iter().map(|&i| next[i].clone()).collect();
        let guesses: Vec<_> = order.iter().map(|&i| guesses[i]).collect();
        let out = lpgd
            .with_threads(threads)
            .unwrap()
            .forward_batch_from(face_oracle, &problems, &guesses)
            .unwrap();
        let mut by_item = vec![Vec::new(); out.len()];
        for (&i, z) in order.iter().zip(out) {
            by_item[i] = bits(&z.unwrap().solution);
        }
        by_item
    };
    let order: Vec<usize> = (0..next.len()).collect();
    let reversed: Vec<usize> = order.iter().rev().copied().collect();
    let reference = run(1, &order);
    for threads in [2, 3] {
        assert_eq!(run(threads, &order), reference, "{threads} threads");
    }
    assert_eq!(run(2, &reversed), reference, "reversed order");
    // And the answers are the cold ones: bit for bit where the guess missed.
    let cold: Vec<Vec<u64>> = lpgd
        .forward_batch(face_oracle, &next)
        .into_iter()
        .map(|z| bits(&z.unwrap()))
        .collect();
    let missed = (0..next.len()).filter(|&i| reference[i] == cold[i]).count();
    assert!(
        missed >= next.len() / 2,
        "{missed} of {} items equal the cold answer",
        next.len()
    );
}

/// The tight rows (dual above slack) of a solution's nonnegative rows.
fn active(z: &ConicSolution, rows: std::ops::Range<usize>) -> Vec<usize> {
    rows.filter(|&r| z.y[r] > z.s[r]).collect()
}

#[test]
fn the_continuation_answers_re_solves_where_many_active_rows_change() {
    // QPs with 30 inequalities (about 15 tight), and LPs with a proximal term (ρ > 0): the re-solve's face moves
    // by 1 to 20 rows, beyond what the corrections take.
    let mut changes = Vec::new();
    let mut continued = 0;
    for seed in 0..24u64 {
        let (problem, rho) = if seed % 2 == 0 {
            (strictly_convex_qp(seed, 24, 2, 30), 0.0)
        } else {
            (nondegenerate_lp(seed, 16, 2, 40), 0.5)
        };
        let eq = 2; // both kinds have two equality rows first
        let star = high_accuracy(&problem);
        let g = cotangent(500 + seed, &problem, seed % 3 != 0, false);
        for tau in [0.3, 1.0, 3.0] {
            let perturbed = problem.backward_problem(&star, &g, tau, rho).unwrap();
            // Large steps may move b out of the feasible set: those re-solves are not this test's.
            let Ok(reference) = ClarabelOracle::high_accuracy().solve(&perturbed, None) else {
                continue;
            };
            let before = active(&star, eq..problem.m());
            let after = active(&reference, eq..problem.m());
            let moved = before.iter().filter(|r| !after.contains(r)).count()
                + after.iter().filter(|r| !before.contains(r)).count();
            if !(1..=20).contains(&moved) {
                continue;
            }
            let mut oracle = without_corrections(FaceSettings::default().pivots);
            let ours = oracle.solve(&perturbed, Some(&star)).unwrap();
            let path = oracle.last_path();
            if let Some(FacePath::Continued(pivots)) = path {
                continued += 1;
                changes.push(moved);
                assert!(
                    pivots >= 1 || moved == 0,
                    "seed {seed} τ {tau}: {pivots} pivots"
                );
                // Exact on its face: the KKT point to the face certificate's tolerance.
                perturbed
                    .verify(&ours, 1e-8)
                    .expect("a certified answer verifies");
            }
            // The continuation's answer is exact; a fallback's is Clarabel's at its tolerance.
            let bound = if matches!(path, Some(FacePath::Continued(_))) {
                1e-6
            } else {
                1e-4
            };
            let d = distance(&ours, &reference);
            assert!(
                d < bound,
                "seed {seed} τ {tau} ({path:?}, {moved} rows moved): {d:.1e}"
            );
        }
    }
    changes.sort_unstable();
    assert!(
        continued >= 25,
        "only {continued} re-solves continued ({changes:?})"
    );
    assert!(
        changes.first() == Some(&1) && changes.last() >= Some(&8),
        "the continued faces moved by {changes:?} rows"
    );
}

#[test]
fn out_of_pivots_the_continuation_falls_back_to_the_inner_answer() {
    let problem = strictly_convex_qp(3, 24, 2, 30);
    let star = high_accuracy(&problem);
    let g = cotangent(9, &problem, false, false);
    let perturbed = problem.backward_problem(&star, &g, 3.0, 0.0).unwrap();
    let mut oracle = without_corrections(1);
    let ours = oracle.solve(&perturbed, Some(&star)).unwrap();
    assert_eq!(
        oracle.last_path(),
        Some(FacePath::Fallback(FaceMiss::Pivots))
    );
    let inner = ClarabelOracle::new()
        .solve(&perturbed, Some(&star))
        .unwrap();
    assert_eq!(bits(&ours), bits(&inner));
}

#[test]
fn on_lps_the_continuation_pivots_from_vertex_to_vertex() {
    // Plain LPs (ρ = 0): large LPGD steps move the optimum to another vertex; the parametric
    // simplex follows it, and the certified vertex is the high-accuracy re-solve's.
    let mut continued = 0;
    let mut most = 0;
    let file = problem_file("lp_box_small");
    for seed in 0..12u64 {
        let problem = if seed < 8 {
            file.problem(seed as usize).unwrap()
        } else {
            nondegenerate_lp(seed, 12, 2, 30)
        };
        let star = high_accuracy(&problem);
        let dx = cotangent(seed, &problem, false, false).dx;
        for scale in [0.3, 1.0, 3.0] {
            let sigma = scale * norm(problem.c()) / norm(&dx);
            let g = ConicCotangent::on_x(&problem, dx.clone());
            let perturbed = problem.backward_problem(&star, &g, sigma, 0.0).unwrap();
            let Ok(reference) = ClarabelOracle::high_accuracy().solve(&perturbed, None) else {
                continue;
            };
            let mut oracle = without_corrections(FaceSettings::default().pivots);
            let ours = oracle.solve(&perturbed, Some(&star)).unwrap();
            if let Some(FacePath::Continued(pivots)) = oracle.last_path() {
                continued += 1;
                most = most.max(pivots);
                // A vertex is unique where the LP is nondegenerate: the same x and objective.
                let gap = (perturbed.objective(ours.x.as_slice().unwrap())
                    - perturbed.objective(reference.x.as_slice().unwrap()))
                .abs();
                assert!(
                    gap < 1e-6 * (1.0 + reference.x.iter().fold(0.0f64, |m, v| m.max(v.abs()))),
                    "seed {seed} ×{scale}: objective {gap:.1e} from the re-solve"
                );
                perturbed
                    .verify(&ours, 1e-8)
                    .expect("a certified vertex verifies");
            }
        }
    }
    assert!(continued >= 12, "only {continued} LP re-solves continued");
    assert!(most >= 3, "the continued LPs took at most {most} pivots");
}

#[test]
fn lp_warm_forwards_follow_moved_data_to_the_new_vertex() {
    let lpgd = Lpgd::new(0.1).unwrap();
    let mut warm_count = 0;
    for seed in 0..8u64 {
        let problem = nondegenerate_lp(seed, 12, 2, 30);
        let before = lpgd.forward(&mut face_oracle(), &problem).unwrap();
        // Moved enough that the vertex changes.
        let now = moved(&problem, 700 + seed, 0.05);
        let mut oracle = face_oracle();
        let warm = lpgd.forward_from(&mut oracle, &now, Some(&before)).unwrap();
        let cold = lpgd.forward(&mut face_oracle(), &now).unwrap();
        if warm.from_guess {
            warm_count += 1;
            // Exact on its vertex: the high-accuracy optimum (the cold path may have kept
            // Clarabel's answer at its tolerance where its polish did not certify).
            let d = distance(&warm.solution, &high_accuracy(&now));
            assert!(
                d < 1e-9,
                "seed {seed}: {d:.1e} from the high-accuracy optimum"
            );
        } else {
            assert_eq!(bits(&warm.solution), bits(&cold), "seed {seed}");
        }
    }
    assert!(
        warm_count >= 6,
        "only {warm_count} of 8 LP warm forwards certified"
    );
}

/// Records the shape of every hint a re-solve is given, and solves with Clarabel.
struct HintShapes(ClarabelOracle, Vec<(usize, usize, usize, usize)>);

impl Oracle<ConicProblem> for HintShapes {
    fn solve(
        &mut self,
        problem: &ConicProblem,
        warm: Option<&ConicSolution>,
    ) -> Result<ConicSolution, lpgd_core::SolveError> {
        if let Some(w) = warm {
            self.1
                .push((problem.n(), w.x.len(), problem.m(), w.y.len()));
        }
        self.0.solve(problem, warm)
    }
}

#[test]
fn every_resolve_gets_its_hint_in_the_perturbed_problems_shape() {
    // A loss on s enlarges the re-solved problem (the slack embedding, n + m variables and 2m
    // rows): the hint is the forward solution in that shape, ((x, s), (y, y), (0, s)).
    let problem = strictly_convex_qp(3, 6, 2, 6);
    let star = high_accuracy(&problem);
    let (n, m) = (problem.n(), problem.m());
    let g = cotangent(7, &problem, true, true);
    let mut oracle = HintShapes(ClarabelOracle::new(), Vec::new());
    let back = Lpgd::new(1e-3)
        .unwrap()
        .backward(&mut oracle, &problem, &star, &g)
        .unwrap();
    assert_eq!(back.report.solves(), 2);
    assert_eq!(oracle.1, vec![(n + m, n + m, 2 * m, 2 * m); 2]);
    let perturbed = problem.backward_problem(&star, &g, 1e-3, 0.0).unwrap();
    assert_eq!((perturbed.n(), perturbed.m()), (n + m, 2 * m));
    let hint = problem.hint(&perturbed, &star);
    assert_eq!(hint.x.slice(lpgd_core::ndarray::s![..n]), star.x);
    assert_eq!(hint.x.slice(lpgd_core::ndarray::s![n..]), star.s);
    assert_eq!(hint.y.slice(lpgd_core::ndarray::s![m..]), star.y);
    assert!(hint
        .s
        .slice(lpgd_core::ndarray::s![..m])
        .iter()
        .all(|&v| v == 0.0));
    // Without a loss on s the problem keeps its shape and the hint is the forward solution.
    let plain = cotangent(7, &problem, true, false);
    let same = problem.backward_problem(&star, &plain, 1e-3, 0.0).unwrap();
    assert_eq!(*problem.hint(&same, &star), star);
}
