//! The compiled structure of a layer ([`ConicStructure`]): items built from stacked values solve
//! bit-identically to each item on its own and across thread counts, one analysis serves every
//! item whatever its values, a wrong block is a typed error naming it, and the kept-solver fast
//! path is as accurate as a cold solve.

use lpgd_core::ndarray::{Array1, Array2};
use lpgd_core::{
    ConicGradient, ConicProblem, ConicSolution, ConicStructure, ConicValues, InvalidInput, Lpgd,
    Oracle, ProblemFile,
};
use lpgd_solvers::ClarabelOracle;
use lpgd_tests::{problem_file, rel_err};

/// Stacked values of a file's first `items` instances, with A's and P's values moved per item
/// (a layer whose network predicts A and P too).
fn stacked(
    file: &ProblemFile,
    items: usize,
) -> (ConicStructure, [Array2<f64>; 3], Option<Array2<f64>>) {
    let first = file.problem(0).unwrap();
    let structure = ConicStructure::of(&first);
    let a0 = first.a().values();
    let a = Array2::from_shape_fn((items, a0.len()), |(i, k)| {
        a0[k] * (1.0 + 0.05 * ((i * 7 + k * 3) % 11) as f64 / 11.0)
    });
    let b = Array2::from_shape_fn((items, first.m()), |(i, r)| file.problem(i).unwrap().b()[r]);
    let c = Array2::from_shape_fn((items, first.n()), |(i, j)| file.problem(i).unwrap().c()[j]);
    // P scaled per item keeps it positive semidefinite.
    let p = first.p().map(|p| {
        Array2::from_shape_fn((items, p.nnz()), |(i, k)| {
            p.values()[k] * (1.0 + 0.1 * i as f64)
        })
    });
    (structure, [a, b, c], p)
}

fn items(file: &ProblemFile, count: usize) -> (ConicStructure, Vec<ConicProblem>) {
    let (structure, [a, b, c], p) = stacked(file, count);
    let values = ConicValues {
        a: a.view(),
        p: p.as_ref().map(|p| p.view()),
        b: b.view(),
        c: c.view(),
    };
    let problems = structure
        .problems(values)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    (structure, problems)
}

fn sdp_file() -> Option<ProblemFile> {
    cfg!(feature = "clarabel-sdp").then(|| {
        ProblemFile::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../data/sdp/nearest_correlation.json"
        ))
        .unwrap()
    })
}

fn gap(a: &ConicSolution, b: &ConicSolution) -> f64 {
    rel_err(&a.x, &b.x, 1.0)
        .max(rel_err(&a.y, &b.y, 1.0))
        .max(rel_err(&a.s, &b.s, 1.0))
}

fn grad_gap(a: &ConicGradient, b: &ConicGradient) -> f64 {
    rel_err(&a.dc, &b.dc, 1.0)
        .max(rel_err(&a.db, &b.db, 1.0))
        .max(rel_err(&a.da, &b.da, 1.0))
}

#[test]
fn the_fast_path_is_as_accurate_as_a_cold_solve_on_socp_and_sdp_families() {
    // The kept solver (one analysis for the file, every item refreshed with its own
    // equilibration) against a solver built for each problem: the same answers, forward and
    // LPGD backward (τ = ρ = 0.1, centred: the re-solves have P + ρI, where cost scaling
    // matters), so both are equally far from the high-accuracy answer.
    let mut files: Vec<(String, ProblemFile)> =
        ["qp_socp_medium", "portfolio_medium", "qp_box_medium"]
            .iter()
            .map(|n| (n.to_string(), problem_file(n)))
            .collect();
    files.extend(sdp_file().map(|f| ("nearest_correlation".to_string(), f)));
    let lpgd = Lpgd::new(0.1).unwrap().with_rho(0.1).unwrap();
    for (name, file) in files {
        let mut kept = ClarabelOracle::new();
        for i in 0..file.len().min(12) {
            let p = file.problem(i).unwrap();
            let g = file.cotangent(i).unwrap();
            let mut cold = ClarabelOracle::new().with_reuse(false);
            let mut high = ClarabelOracle::high_accuracy().with_reuse(false);
            let (zf, zc, zh) = (
                lpgd.forward(&mut kept, &p).unwrap(),
                lpgd.forward(&mut cold, &p).unwrap(),
                lpgd.forward(&mut high, &p).unwrap(),
            );
            assert!(
                gap(&zf, &zc) < 1e-7,
                "{name} #{i}: fast vs cold {:e}",
                gap(&zf, &zc)
            );
            assert!(
                gap(&zf, &zh) < 1e-4,
                "{name} #{i}: fast vs high accuracy {:e}",
                gap(&zf, &zh)
            );
            let gf = lpgd.backward(&mut kept, &p, &zf, &g).unwrap().gradient;
            let gc = lpgd.backward(&mut cold, &p, &zc, &g).unwrap().gradient;
            let gh = lpgd.backward(&mut high, &p, &zh, &g).unwrap().gradient;
            assert!(
                grad_gap(&gf, &gc) < 1e-6,
                "{name} #{i}: gradient fast vs cold {:e}",
                grad_gap(&gf, &gc)
            );
            assert!(
                grad_gap(&gf, &gh) < 1e-3,
                "{name} #{i}: gradient vs high accuracy {:e}",
                grad_gap(&gf, &gh)
            );
        }
        // One analysis for the forward problems, one for P + ρI where it has another pattern
        // (no P, or P without its full diagonal).
        let p = file.problem(0).unwrap();
        let same = p
            .p()
            .is_some_and(|p| p.same_pattern(&p.with_full_diagonal()));
        assert_eq!(
            kept.stats().setups,
            if same { 1 } else { 2 },
            "{name}: {:?}",
            kept.stats()
        );
    }
}

fn batch(threads: usize, problems: &[ConicProblem], file: &ProblemFile) -> Vec<ConicGradient> {
    lpgd_tests::batch_gradients(threads, ClarabelOracle::new, problems, &file.cotangents())
}

#[test]
fn items_of_a_structure_solve_as_each_alone_and_across_thread_counts() {
    for name in ["qp_box_small", "qp_socp_small", "portfolio_small"] {
        let file = problem_file(name);
        let (structure, problems) = items(&file, 24);
        // Every item has the structure, and its own A values (and P values).
        assert!(problems.iter().all(|p| structure.check(p).is_ok()));
        assert_ne!(problems[0].a(), problems[5].a());
        let one = batch(1, &problems, &file);
        assert_eq!(one, batch(2, &problems, &file), "{name}: 1 vs 2 threads");
        assert_eq!(one, batch(3, &problems, &file), "{name}: 1 vs 3 threads");
        let lpgd = Lpgd::new(0.1).unwrap().with_rho(0.1).unwrap();
        for i in [0, 7, 23] {
            let mut alone = ClarabelOracle::new();
            let z = lpgd.forward(&mut alone, &problems[i]).unwrap();
            let g = lpgd.backward(&mut alone, &problems[i], &z, &file.cotangent(i).unwrap());
            assert_eq!(g.unwrap().gradient, one[i], "{name} #{i}: batch vs alone");
        }
    }
}

#[test]
fn changing_only_values_reuses_the_analysis() {
    let file = problem_file("qp_box_small");
    let (_, problems) = items(&file, 10);
    let mut oracle = ClarabelOracle::new();
    for p in &problems {
        oracle.solve(p, None).unwrap();
    }
    let stats = oracle.stats();
    assert_eq!(
        (stats.solves, stats.setups, stats.updates),
        (10, 1, 9),
        "{stats:?}"
    );
    // A new pattern is a new analysis.
    let other = problem_file("qp_socp_small").problem(0).unwrap();
    oracle.solve(&other, None).unwrap();
    assert_eq!(oracle.stats().setups, 2);
    // The cold path builds a solver for every problem.
    let mut cold = ClarabelOracle::new().with_reuse(false);
    for p in &problems[..3] {
        cold.solve(p, None).unwrap();
    }
    assert_eq!(cold.stats().setups, 3);
}

#[test]
fn a_block_that_does_not_fit_is_a_typed_error_naming_it() {
    let file = problem_file("qp_box_small");
    let (structure, [a, b, c], p) = stacked(&file, 3);
    let p = p.unwrap();
    let block = |r: Result<_, InvalidInput>| match r {
        Err(InvalidInput::StructureMismatch { block, .. }) => block,
        other => panic!("expected a structure mismatch, got {other:?}"),
    };
    let narrow = |m: &Array2<f64>| m.slice(lpgd_core::ndarray::s![.., 1..]).to_owned();
    let values = |a: &Array2<f64>, p: Option<&Array2<f64>>, b: &Array2<f64>, c: &Array2<f64>| {
        structure.problems(ConicValues {
            a: a.view(),
            p: p.map(|p| p.view()),
            b: b.view(),
            c: c.view(),
        })
    };
    assert_eq!(
        block(values(&narrow(&a), Some(&p), &b, &c).map(|_| ())),
        "A values"
    );
    assert_eq!(
        block(values(&a, Some(&narrow(&p)), &b, &c).map(|_| ())),
        "P values"
    );
    assert_eq!(block(values(&a, None, &b, &c).map(|_| ())), "P values");
    assert_eq!(
        block(values(&a, Some(&p), &narrow(&b), &c).map(|_| ())),
        "b"
    );
    assert_eq!(
        block(values(&a, Some(&p), &b, &narrow(&c)).map(|_| ())),
        "c"
    );
    // Two items of b for three of c: the batch sizes differ.
    let two = b.slice(lpgd_core::ndarray::s![..2, ..]).to_owned();
    assert_eq!(block(values(&a, Some(&p), &two, &c).map(|_| ())), "b");
    // A problem of another structure, block by block.
    let socp = problem_file("qp_socp_small").problem(0).unwrap();
    assert_eq!(block(structure.check(&socp)), "A pattern");
    let mine = file.problem(0).unwrap();
    let no_p = ConicProblem::new(
        None,
        mine.a().clone(),
        mine.b().clone(),
        mine.c().clone(),
        mine.cones().to_vec(),
    )
    .unwrap();
    assert_eq!(block(structure.check(&no_p)), "P pattern");
    let split = mine.cones().iter().map(|c| c.dim()).sum::<usize>();
    let cones = vec![
        lpgd_core::Cone::Nonnegative(1),
        lpgd_core::Cone::Nonnegative(split - 1),
    ];
    let recut = ConicProblem::new(
        mine.p().cloned(),
        mine.a().clone(),
        mine.b().clone(),
        mine.c().clone(),
        cones,
    )
    .unwrap();
    assert_eq!(block(structure.check(&recut)), "cones");
    // A malformed pattern is refused when the structure is built.
    assert!(ConicStructure::new(
        2,
        2,
        vec![0, 2, 3],
        vec![1, 0, 1],
        None,
        vec![lpgd_core::Cone::Nonnegative(2)]
    )
    .is_err());
    assert!(ConicStructure::new(
        2,
        2,
        vec![0, 1, 2],
        vec![0, 1],
        Some((vec![0, 1, 2], vec![0, 0])),
        vec![lpgd_core::Cone::Nonnegative(2)]
    )
    .is_ok());
    assert!(
        ConicStructure::new(
            2,
            2,
            vec![0, 1, 2],
            vec![0, 1],
            Some((vec![0, 2, 2], vec![0, 1])),
            vec![lpgd_core::Cone::Nonnegative(2)]
        )
        .is_err(),
        "P below its diagonal"
    );
}

#[test]
fn one_bad_item_is_its_own_error_and_the_others_are_untouched() {
    let file = problem_file("qp_box_small");
    let (structure, [a, mut b, c], p) = stacked(&file, 6);
    let mut p = p.unwrap();
    let good: Vec<ConicProblem> = structure
        .problems(ConicValues {
            a: a.view(),
            p: Some(p.view()),
            b: b.view(),
            c: c.view(),
        })
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    b[[1, 0]] = f64::NAN;
    // Items 3 and 4 share a P that is not convex (its diagonal negated), item 5 has P again.
    let negated = p.row(3).mapv(|v| -v);
    p.row_mut(3).assign(&negated);
    p.row_mut(4).assign(&negated);
    let out = structure
        .problems(ConicValues {
            a: a.view(),
            p: Some(p.view()),
            b: b.view(),
            c: c.view(),
        })
        .unwrap();
    assert!(
        matches!(out[1], Err(InvalidInput::NonFinite { field: "b", .. })),
        "{:?}",
        out[1]
    );
    assert!(
        matches!(out[3], Err(InvalidInput::NotConvex { .. })),
        "{:?}",
        out[3]
    );
    assert!(
        matches!(out[4], Err(InvalidInput::NotConvex { .. })),
        "the verdict is kept for equal P"
    );
    for i in [0, 2, 5] {
        assert_eq!(out[i].as_ref().unwrap(), &good[i], "item {i}");
    }
    // Values built through the structure equal the problems built one by one.
    let direct = file.problem(0).unwrap();
    let rebuilt = ConicProblem::new(
        direct
            .p()
            .map(|q| q.with_values(p.row(0).as_slice().unwrap()).unwrap()),
        direct
            .a()
            .with_values(a.row(0).as_slice().unwrap())
            .unwrap(),
        Array1::from(b.row(0).to_vec()),
        Array1::from(c.row(0).to_vec()),
        direct.cones().to_vec(),
    )
    .unwrap();
    assert_eq!(out[0].as_ref().unwrap(), &rebuilt);
}

#[test]
fn refinement_on_demand_answers_like_the_refined_solver_and_depends_on_the_problem_alone() {
    for name in [
        "qp_box_medium",
        "lp_box_medium",
        "portfolio_medium",
        "qp_socp_medium",
    ] {
        let file = problem_file(name);
        let mut fast = ClarabelOracle::new().with_refinement_on_demand(true);
        for i in 0..8 {
            let p = file.problem(i).unwrap();
            let z = fast.solve(&p, None).unwrap();
            let refined = ClarabelOracle::new().solve(&p, None).unwrap();
            let high = ClarabelOracle::high_accuracy().solve(&p, None).unwrap();
            // As far from a high-accuracy solve as the refined solver is (both at 1e-8).
            assert!(
                gap(&z, &high) <= 2.0 * gap(&refined, &high) + 1e-7,
                "{name} #{i}: {:e} vs {:e}",
                gap(&z, &high),
                gap(&refined, &high)
            );
            let alone = ClarabelOracle::new()
                .with_refinement_on_demand(true)
                .solve(&p, None)
                .unwrap();
            assert_eq!(z, alone, "{name} #{i}: depends on what was solved before");
        }
    }
    // Settings without refinement have nothing to do on demand.
    let mut settings = ClarabelOracle::new().settings().clone();
    settings.iterative_refinement_enable = false;
    let p = problem_file("qp_box_small").problem(0).unwrap();
    let mut plain = ClarabelOracle::with_settings(settings).with_refinement_on_demand(true);
    plain.solve(&p, None).unwrap();
    assert_eq!(plain.stats().refined, 0);
}
