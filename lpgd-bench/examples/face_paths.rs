//! Which path answers the face oracle's solves on the bundled medium families, and what each
//! costs: `cargo run --release -p lpgd-bench --example face_paths [instances] [tau]`.
//!
//! - backward: forward, then a centred LPGD backward (τ = ρ, cotangent on x), with the
//!   active-set continuation off (`pivots = 0`) and on: how many re-solves were certified,
//!   corrected, continued or fell back, and the backward's time over the forward's;
//! - warm forward: the same problems with c and b moved by 1 % (the next step of a training
//!   loop), solved from the previous answers (`forward_from`) against from scratch; and with
//!   every guess taken from another item (shuffled data), the cost when nothing certifies.
#![allow(missing_docs)]

use lpgd_core::{ConicProblem, ConicSolution, Lpgd, ProblemFile};
use lpgd_solvers::{ClarabelOracle, FaceOracle, FacePath, FaceSettings};
use lpgd_tests::random::{cotangent, gaussian_vector, rng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

fn oracle(pivots: usize) -> FaceOracle<ClarabelOracle> {
    FaceOracle::with_settings(
        ClarabelOracle::new(),
        FaceSettings {
            pivots,
            ..FaceSettings::default()
        },
    )
}

fn label(path: Option<FacePath>) -> String {
    match path {
        Some(FacePath::Certified) => "certified".into(),
        Some(FacePath::Corrected(_)) => "corrected".into(),
        Some(FacePath::Continued(_)) => "continued".into(),
        Some(FacePath::Fallback(miss)) => format!("fallback {miss:?}"),
        Some(FacePath::Warm(_)) => "warm".into(),
        other => format!("{other:?}"),
    }
}

/// `p` with c and b moved by `scale` times their size, in Gaussian directions.
fn moved(p: &ConicProblem, seed: u64, scale: f64) -> ConicProblem {
    let mut r = rng(seed);
    let size = |v: &lpgd_core::ndarray::Array1<f64>| v.iter().fold(1e-3f64, |m, x| m.max(x.abs()));
    let dc = gaussian_vector(&mut r, p.n()) * (scale * size(p.c()));
    let db = gaussian_vector(&mut r, p.m()) * (scale * size(p.b()));
    p.with_c(p.c() + &dc)
        .and_then(|q| q.with_b(p.b() + &db))
        .expect("finite")
}

/// The LP selection layer of `training_loop.py`: `min cᵀx s.t. 0 ≤ x ≤ 1, Σx = 5` over 50
/// items, c Gaussian (a degenerate vertex: 51 tight rows).
fn selection(count: usize) -> Vec<ConicProblem> {
    let mut r = rng(77);
    (0..count)
        .map(|_| {
            ConicProblem::builder(50)
                .cost(gaussian_vector(&mut r, 50))
                .equalities(lpgd_core::ndarray::Array2::ones((1, 50)), [5.0])
                .bounds([0.0; 50], [1.0; 50])
                .build()
                .expect("valid")
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(64, |a| a.parse().expect("instances"));
    let tau: f64 = args.next().map_or(0.1, |a| a.parse().expect("tau"));
    let pivots: usize = args.next().map_or(FaceSettings::default().pivots, |a| {
        a.parse().expect("pivots")
    });
    let families: Vec<String> = args.collect();
    let lpgd = Lpgd::new(tau)
        .and_then(|l| l.with_rho(tau))
        .expect("valid τ, ρ");
    for family in ["qp_box", "lp_box", "portfolio", "qp_socp", "select"] {
        if !families.is_empty() && !families.iter().any(|f| f == family) {
            continue;
        }
        let problems: Vec<ConicProblem> = if family == "select" {
            selection(count)
        } else {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../data/diffcp/{family}_medium.json"));
            ProblemFile::read(path).expect("file").problems()
        };
        let problems = &problems[..count.min(problems.len())];
        println!(
            "{family}_medium ({} instances, τ = ρ = {tau})",
            problems.len()
        );
        for pivots in [0, pivots] {
            let mut o = oracle(pivots);
            let mut paths: BTreeMap<String, usize> = BTreeMap::new();
            let (mut fwd, mut bwd) = (0.0, 0.0);
            for (k, p) in problems.iter().enumerate() {
                let t = Instant::now();
                let z = lpgd.forward(&mut o, p).expect("forward");
                fwd += t.elapsed().as_secs_f64();
                let g = cotangent(k as u64, p, false, false);
                let before = o.stats();
                let t = Instant::now();
                let _ = lpgd.backward(&mut o, p, &z, &g);
                bwd += t.elapsed().as_secs_f64();
                let after = o.stats();
                // Both sides' paths: the counters tell them apart.
                for (name, d) in [
                    ("certified", after.certified - before.certified),
                    ("corrected", after.corrected - before.corrected),
                    ("continued", after.continued - before.continued),
                    ("fallback", after.fallbacks - before.fallbacks),
                ] {
                    if d > 0 {
                        *paths.entry(name.into()).or_default() += d as usize;
                    }
                }
            }
            println!(
                "  backward, pivots {pivots:>2}: forward {:.1} ms, backward {:.1} ms ({:.2} of the forward); {:?}",
                1e3 * fwd,
                1e3 * bwd,
                bwd / fwd,
                paths
            );
        }
        // Warm forwards: step k + 1 from step k's answers.
        let first: Vec<ConicSolution> = problems
            .iter()
            .map(|p| lpgd.forward(&mut oracle(pivots), p).expect("forward"))
            .collect();
        let next: Vec<ConicProblem> = problems
            .iter()
            .enumerate()
            .map(|(k, p)| moved(p, 1000 + k as u64, 0.01))
            .collect();
        let time = |guess: &dyn Fn(usize) -> Option<usize>| {
            let mut o = oracle(pivots);
            let mut paths: BTreeMap<String, usize> = BTreeMap::new();
            let t = Instant::now();
            for (k, p) in next.iter().enumerate() {
                let g = guess(k).map(|j| &first[j]);
                let _ = lpgd.forward_from(&mut o, p, g).expect("forward");
                *paths.entry(label(o.last_path())).or_default() += 1;
            }
            let st = o.stats();
            paths.insert(format!("factorizations {}", st.factorizations), 0);
            (t.elapsed().as_secs_f64(), paths)
        };
        // Why guesses miss: the same attempts as re-solves, which report the face's miss.
        let mut o = oracle(pivots);
        let mut misses: BTreeMap<String, usize> = BTreeMap::new();
        for (k, p) in next.iter().enumerate() {
            let _ = lpgd_core::Oracle::solve(&mut o, p, Some(&first[k]));
            *misses.entry(label(o.last_path())).or_default() += 1;
        }
        println!("  the guesses' faces: {misses:?}");
        let quartiles = |guess: &dyn Fn(usize) -> usize| {
            let mut r: Vec<f64> = (0..next.len())
                .map(|k| lpgd_solvers::guess_residual(&next[k], &first[guess(k)]))
                .collect();
            r.sort_by(f64::total_cmp);
            let q = |f: f64| r[((r.len() - 1) as f64 * f) as usize];
            format!("{:.2e} / {:.2e} / {:.2e}", q(0.0), q(0.5), q(1.0))
        };
        println!(
            "  guess residual (min / median / max): own item {}, another item {}",
            quartiles(&|k| k),
            quartiles(&|k| (k + problems.len() / 2) % problems.len())
        );
        if std::env::var("FACE_DEBUG").is_ok() {
            for (k, z) in first.iter().enumerate().take(6) {
                let tight = (0..z.y.len()).filter(|&r| z.s[r] <= z.y[r]).count();
                let ties = (0..z.y.len()).filter(|&r| z.s[r] == z.y[r]).count();
                println!(
                    "    #{k}: n {} m {} tight {tight} ties {ties} cones {:?}",
                    z.x.len(),
                    z.y.len(),
                    problems[k].cones()
                );
            }
        }
        let (cold, cold_paths) = time(&|_| None);
        println!("  cold forward: {cold_paths:?}");
        let (warm, warm_paths) = time(&|k| Some(k));
        let (shuffled, shuffled_paths) = time(&|k| Some((k + problems.len() / 2) % problems.len()));
        println!(
            "  warm forward (c, b moved 1 %): cold {:.1} ms, warm {:.1} ms ({:.2}x) {:?}",
            1e3 * cold,
            1e3 * warm,
            cold / warm,
            warm_paths
        );
        println!(
            "  guesses from other items: {:.1} ms ({:+.1} % over cold) {:?}",
            1e3 * shuffled,
            100.0 * (shuffled / cold - 1.0),
            shuffled_paths
        );
    }
}
