//! `lpgd-bench paper --experiment markowitz-historical`: runs, the reference curve and the report.

use super::{label_progress, PaperArgs};
use crate::error::{write_file, BenchError};
use crate::paper::historical::{self, HistoricalData, Protocol, Solver};
use crate::paper::CurvePoint;
use crate::plot::line_plot;
use lpgd_core::{Lpgd, Side};
use serde_json::json;

/// The reference notebook's test utility after steps 0, 25, …, 375 and 399 (exact derivative,
/// SCS, 10 test rollouts on one seed), from `data/markowitz/`'s protocol.
pub const REFERENCE_CURVE: [(usize, f64); 17] = [
    (0, 0.00420),
    (25, 0.00454),
    (50, 0.00498),
    (75, 0.00473),
    (100, 0.00501),
    (125, 0.00516),
    (150, 0.00519),
    (175, 0.00511),
    (200, 0.00515),
    (225, 0.00522),
    (250, 0.00529),
    (275, 0.00535),
    (300, 0.00532),
    (325, 0.00533),
    (350, 0.00531),
    (375, 0.00532),
    (399, 0.00534),
];

/// One training run of the historical experiment.
struct HistoricalRun {
    method: String,
    seed: u32,
    curve: Vec<CurvePoint>,
    failure: Option<String>,
    /// Test utility per group of 10 test rollouts (the reference's test-set size), before and
    /// after training: how far a 10-rollout figure like the reference's can scatter.
    groups: Option<(Vec<f64>, Vec<f64>)>,
}

/// Mean utility of each consecutive group of 10 rollouts.
fn ten_rollout_utilities(costs: &[f64]) -> Vec<f64> {
    costs
        .chunks_exact(10)
        .map(|c| -c.iter().sum::<f64>() / 10.0)
        .collect()
}

/// Mean and standard deviation.
fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn evaluated(curve: &[CurvePoint]) -> impl Iterator<Item = &CurvePoint> {
    curve.iter().filter(|p| p.test.is_finite())
}

/// Mean and half the range of the values.
fn mean_spread(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    (mean, (hi - lo) / 2.0)
}

/// The paper's Markowitz experiment on historical data: the exact-derivative baseline (centred
/// LPGD with small τ, `--exact-tau`, on high-accuracy Clarabel) over several training seeds, and LPGD at each τ
/// and side; a table, JSON curves and plots (test utility per step and per second).
pub(super) fn markowitz_historical(options: &PaperArgs) -> Result<(), BenchError> {
    let data = HistoricalData::bundled()?;
    let protocol = Protocol {
        steps: options
            .steps
            .unwrap_or(if options.quick { 20 } else { 400 }),
        eval_every: if options.quick { 5 } else { 25 },
        seed: options.seed,
        ..Protocol::default()
    };
    let n_test = options
        .test_rollouts
        .unwrap_or(if options.quick { 10 } else { 100 });
    let test = data
        .market()
        .paths(n_test, options.seed.wrapping_add(1_000_003));
    println!(
        "Markowitz policy on historical ETF statistics: {} steps of SGD (lr 1e-3, halved every \
         100), 10 rollouts per step, {n_test} test rollouts, seed {}",
        protocol.steps, options.seed
    );
    // Every configuration is checked before any work (a bad τ is an error now, not after an
    // hour of training).
    let exact = Lpgd::new(options.exact_tau)?.with_side(Side::Centered);
    let mut configs = Vec::new();
    for &side in &options.sides {
        for &tau in &options.taus {
            let name = format!("lpgd {side} τ={tau}");
            configs.push((name, Lpgd::new(tau)?.with_side(side)));
        }
    }
    let mut runs = Vec::new();
    let baseline_seeds = if options.quick {
        1
    } else {
        options.baseline_seeds
    };
    for k in 0..baseline_seeds as u32 {
        let seed = options.seed.wrapping_add(k);
        let label = format!("exact s{seed}");
        let trained = historical::train(
            &data,
            &test,
            &exact,
            Solver {
                high_accuracy: true,
            },
            &Protocol { seed, ..protocol },
            label_progress(&label, protocol.steps, "step", "utility"),
        )?;
        let solver = Solver {
            high_accuracy: true,
        };
        let before = historical::rollout_costs(&data.initial_params(), &test, solver)?;
        let after = historical::rollout_costs(&trained.params, &test, solver)?;
        runs.push(HistoricalRun {
            method: format!("exact derivative (τ={}, high accuracy)", options.exact_tau),
            seed,
            curve: trained.curve,
            failure: trained.failure,
            groups: Some((
                ten_rollout_utilities(&before),
                ten_rollout_utilities(&after),
            )),
        });
    }
    for (name, lpgd) in configs {
        let trained = historical::train(
            &data,
            &test,
            &lpgd,
            Solver {
                high_accuracy: false,
            },
            &protocol,
            label_progress(&name, protocol.steps, "step", "utility"),
        )?;
        if let Some(why) = &trained.failure {
            eprintln!("\n{name} stopped at {why}");
        }
        runs.push(HistoricalRun {
            method: name,
            seed: options.seed,
            curve: trained.curve,
            failure: trained.failure,
            groups: None,
        });
    }
    report_historical(options, &protocol, n_test, &runs)
}

fn report_historical(
    options: &PaperArgs,
    protocol: &Protocol,
    n_test: usize,
    runs: &[HistoricalRun],
) -> Result<(), BenchError> {
    let baseline: Vec<&HistoricalRun> = runs
        .iter()
        .filter(|r| r.method.starts_with("exact"))
        .collect();
    let last = |r: &HistoricalRun| evaluated(&r.curve).last().map_or(f64::NAN, |p| p.test);
    let first = |r: &HistoricalRun| r.curve.first().map_or(f64::NAN, |p| p.test);
    let (base_start, _) = mean_spread(&baseline.iter().map(|r| first(r)).collect::<Vec<_>>());
    let (base_final, base_spread) =
        mean_spread(&baseline.iter().map(|r| last(r)).collect::<Vec<_>>());
    println!(
        "\nexact-derivative baseline over {} seed(s): test utility {base_start:.5} -> {base_final:.5} ± {base_spread:.5} (reference notebook: 0.00420 -> 0.00534)",
        baseline.len()
    );
    let mut groups_doc = Vec::new();
    for r in &baseline {
        if let Some((before, after)) = &r.groups {
            let (b, bsd) = mean_sd(before);
            let (a, asd) = mean_sd(after);
            let gains: Vec<f64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
            let (g, gsd) = mean_sd(&gains);
            println!(
                "seed {}: on {} groups of 10 test rollouts, utility {b:.5} (sd {bsd:.5}) -> {a:.5} (sd {asd:.5}); paired gain {g:.5} (sd {gsd:.5})",
                r.seed,
                before.len()
            );
            groups_doc.push(json!({
                "seed": r.seed,
                "before": before,
                "after": after,
                "paired_gain_mean": g,
                "paired_gain_sd": gsd,
            }));
        }
    }
    println!(
        "\n| method | seed | start | final | steps to baseline's final | s to it | s/step | stopped |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for r in runs {
        let reach = evaluated(&r.curve).find(|p| p.step > 0 && p.test >= base_final);
        let secs = r.curve.last().map_or(0.0, |p| p.seconds);
        let per_step = secs / r.curve.last().map_or(1, |p| p.step.max(1)) as f64;
        println!(
            "| {} | {} | {:.5} | {:.5} | {} | {} | {:.3} | {} |",
            r.method,
            r.seed,
            first(r),
            last(r),
            reach.map_or("–".into(), |p| p.step.to_string()),
            reach.map_or("–".into(), |p| format!("{:.1}", p.seconds)),
            per_step,
            r.failure.as_deref().unwrap_or("–")
        );
        rows.push(json!({
            "method": r.method,
            "seed": r.seed,
            "start_utility": first(r),
            "final_utility": last(r),
            "steps_to_baseline_final": reach.map(|p| p.step),
            "seconds_to_baseline_final": reach.map(|p| p.seconds),
            "seconds_per_step": per_step,
            "stopped": r.failure,
            "curve": r.curve,
        }));
    }
    let doc = json!({
        "experiment": "markowitz",
        "data": "historical",
        "quick": options.quick,
        "seed": options.seed,
        "protocol": {
            "steps": protocol.steps,
            "rollouts": protocol.rollouts,
            "learning_rate": protocol.learning_rate,
            "halve_every": protocol.halve_every,
            "test_rollouts": n_test,
        },
        "metric": "test utility (−cost)",
        "baseline": {
            "start": base_start,
            "final": base_final,
            "final_spread": base_spread,
            "ten_rollout_groups": groups_doc,
        },
        "reference_curve": REFERENCE_CURVE.iter().map(|(s, u)| json!([s, u])).collect::<Vec<_>>(),
        "runs": rows,
    });
    write_file(&options.out, serde_json::to_string_pretty(&doc)?)?;
    let series = |x: fn(&CurvePoint) -> f64| -> Vec<(String, Vec<(f64, f64)>)> {
        runs.iter()
            .map(|r| {
                let label = if r.method.starts_with("exact") {
                    format!("exact s{}", r.seed)
                } else {
                    r.method.clone()
                };
                (label, evaluated(&r.curve).map(|p| (x(p), p.test)).collect())
            })
            .collect()
    };
    let mut per_step = series(|p| p.step as f64);
    per_step.push((
        "reference notebook".into(),
        REFERENCE_CURVE
            .iter()
            .map(|&(s, u)| (s as f64, u))
            .collect(),
    ));
    let plots = [
        (
            "svg",
            line_plot(
                "markowitz (historical): test utility per step",
                "step",
                "test utility",
                &per_step,
            ),
        ),
        (
            "time.svg",
            line_plot(
                "markowitz (historical): test utility per second",
                "training seconds",
                "test utility",
                &series(|p| p.seconds),
            ),
        ),
    ];
    for (ext, svg) in plots {
        let path = options.out.with_extension(ext);
        write_file(&path, svg)?;
        eprintln!("wrote {}", path.display());
    }
    eprintln!("wrote {}", options.out.display());
    Ok(())
}
