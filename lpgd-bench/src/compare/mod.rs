//! `lpgd-bench compare`: every enabled backend and side on seeded generated families, to choose a
//! backend and a gradient setting.

use crate::args::{instance_count, problem_size, read_problem, repeat_count};
use crate::error::BenchError;
use crate::progress;
use crate::stats::median;
use lpgd_core::ndarray::Array1;
use lpgd_core::{ConicCotangent, ConicGradient, ConicProblem, Lpgd, Oracle, ProblemFile, Side};
use lpgd_solvers::{Backend, BackendOptions as Options};
use lpgd_solvers::{ClarabelOracle, FaceOracle};
use lpgd_tests::families::{instance, Family};
use lpgd_tests::fd::{central_differences, Blocks};
use lpgd_tests::Variant;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

mod output;

pub use output::{markdown, write};

/// The options of `compare`: what to run.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// A run of about 30 seconds (sizes 10, 30 and 100, 8 instances, 1 repeat).
    #[arg(long)]
    pub quick: bool,
    /// Base seed of the generated instances.
    #[arg(long, default_value_t = 1)]
    pub seed: u32,
    /// Decision-variable counts of the size sweep (default 10, 30, 100, 300; each 1 to 3000).
    #[arg(long, value_delimiter = ',', value_parser = problem_size)]
    pub sizes: Option<Vec<usize>>,
    /// Instances per family and size.
    #[arg(long, default_value_t = 8, value_parser = instance_count)]
    pub instances: usize,
    /// Timing repeats (medians are taken over instances × repeats).
    #[arg(long, default_value_t = 3, value_parser = repeat_count)]
    pub repeats: usize,
    /// LPGD step τ.
    #[arg(long, default_value_t = 0.1)]
    pub tau: f64,
    /// LPGD proximal weight ρ.
    #[arg(long, default_value_t = 0.0)]
    pub rho: f64,
    /// Extra problem files (diffcp layout) to include.
    #[arg(long = "problem")]
    pub problems: Vec<PathBuf>,
    /// JSON report (plots are written beside it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Largest size with a finite-difference check.
    #[arg(skip = 30_usize)]
    pub fd_max_size: usize,
}

impl CompareArgs {
    /// The sizes of the sweep (the quick run's, the default, or those given).
    pub fn sizes(&self) -> Vec<usize> {
        self.sizes.clone().unwrap_or_else(|| {
            if self.quick {
                vec![10, 30, 100]
            } else {
                vec![10, 30, 100, 300]
            }
        })
    }

    /// Timing repeats (one in a quick run).
    pub fn repeats(&self) -> usize {
        if self.quick {
            1
        } else {
            self.repeats
        }
    }
}

/// One row of the report: a backend and side on one family and size.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    /// Family (or problem file) name.
    pub family: String,
    /// Decision variables.
    pub size: usize,
    /// Backend.
    pub backend: String,
    /// `right` or `centered`.
    pub side: String,
    /// Median forward time (ms).
    pub forward_ms: f64,
    /// Median backward time (ms).
    pub backward_ms: f64,
    /// backward / forward.
    pub ratio: f64,
    /// Mean solver iterations of the forward solves.
    pub iterations: f64,
    /// Failures by status.
    pub failures: BTreeMap<String, usize>,
    /// Median relative difference of the gradient (dc, db, dA) from Clarabel at high accuracy.
    pub agreement: Option<f64>,
    /// Relative error of centred LPGD (τ = 1e-4, ρ = 0) against central finite differences
    /// (h = 1e-4) of `dxᵀx*` with respect to c and b, on the first instance (sizes ≤ 30).
    pub fd_error: Option<f64>,
    /// Certified face re-solves: the share of the backward re-solves answered by a certified face
    /// solve (variants `+face` only).
    pub certified: Option<f64>,
    /// Forward + backward of the whole batch on one thread (ms).
    pub batch_1_thread_ms: f64,
    /// The same on all threads (ms).
    pub batch_all_threads_ms: f64,
    /// The speed-up of all threads over one.
    pub speedup: f64,
}

/// A point of the τ sweep.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TauPoint {
    /// The step.
    pub tau: f64,
    /// LP: share of instances whose dc is nonzero (LPGD has left the degenerate regime).
    pub lp_nonzero_dc: f64,
    /// LP: mean ‖dc‖.
    pub lp_mean_dc_norm: f64,
    /// QP: relative error of centred LPGD (ρ = 0) against finite differences.
    pub qp_fd_error: f64,
    /// Per family (n = 20, the run's ρ, centred): the share of backward re-solves that
    /// `clarabel+face+boundary` certified (None where Clarabel cannot solve the family).
    pub certified: BTreeMap<String, Option<f64>>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Settings.
    pub setting: BTreeMap<String, serde_json::Value>,
    /// Rows.
    pub rows: Vec<Row>,
    /// τ sweep.
    pub tau_sweep: Vec<TauPoint>,
    /// Backends left out of a family, and the capability they lack (once each).
    pub skipped: BTreeSet<String>,
    /// Clarabel's KKT factorizations side by side (empty without the feature `clarabel-faer`).
    pub kkt: Vec<KktRow>,
}

/// The KKT table from the rows of `clarabel`, `clarabel[qdldl]` and `clarabel[faer]`.
fn kkt_table(rows: &[Row]) -> Vec<KktRow> {
    let find = |r: &Row, label: &str| {
        rows.iter()
            .find(|o| {
                o.family == r.family && o.size == r.size && o.side == r.side && o.backend == label
            })
            .map(|o| (o.forward_ms, o.backward_ms))
    };
    rows.iter()
        .filter(|r| r.backend == "clarabel[qdldl]")
        .filter_map(|r| {
            let qdldl = (r.forward_ms, r.backward_ms);
            let faer = find(r, "clarabel[faer]")?;
            let auto = find(r, "clarabel")?;
            Some(KktRow {
                family: r.family.clone(),
                size: r.size,
                side: r.side.clone(),
                qdldl_ms: qdldl,
                faer_ms: faer,
                auto_ms: auto,
                faer_over_qdldl: (faer.0 + faer.1) / (qdldl.0 + qdldl.1),
            })
        })
        .collect()
}

/// One row of the KKT-factorization table: Clarabel with QDLDL, with faer, and with Clarabel's
/// automatic choice, on one family, size and side (feature `clarabel-faer`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KktRow {
    /// Family (or problem file) name.
    pub family: String,
    /// Decision variables.
    pub size: usize,
    /// `right` or `centered`.
    pub side: String,
    /// Median forward and backward time with QDLDL (ms).
    pub qdldl_ms: (f64, f64),
    /// The same with faer (ms).
    pub faer_ms: (f64, f64),
    /// The same with Clarabel's automatic choice, the default (ms).
    pub auto_ms: (f64, f64),
    /// (faer forward + backward) / (QDLDL forward + backward): below 1, faer is faster.
    pub faer_over_qdldl: f64,
}

/// The test kit's variants that `compare` runs: every backend, Clarabel's KKT choices, and the
/// face re-solve around Clarabel (around the other backends it is left to the tests).
fn variants() -> Vec<Variant> {
    lpgd_tests::variants()
        .into_iter()
        .filter(|v| !v.options.face || v.backend == Backend::Clarabel)
        .collect()
}

type Instance = (ConicProblem, ConicCotangent);

fn flat(g: &ConicGradient) -> Array1<f64> {
    let mut v = g.dc.to_vec();
    v.extend(g.db.iter());
    v.extend(g.da.iter());
    Array1::from(v)
}

fn rel(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    let d = a - b;
    d.dot(&d).sqrt() / b.dot(b).sqrt().max(1e-12)
}

/// Central finite differences with respect to c and b, flattened as [`c_and_b`].
fn fd_gradient(problem: &ConicProblem, g: &ConicCotangent, h: f64) -> Option<Array1<f64>> {
    central_differences(problem, g, h, Blocks::CostAndRhs)
        .ok()
        .map(|fd| c_and_b(&fd))
}

fn c_and_b(g: &ConicGradient) -> Array1<f64> {
    let mut v = g.dc.to_vec();
    v.extend(g.db.iter());
    Array1::from(v)
}

/// The rows of every backend that serves `set` (the others go into `skipped`, with the
/// capability they lack).
fn rows_for(
    name: &str,
    size: usize,
    set: &[Instance],
    config: &CompareArgs,
    fd: Option<&Array1<f64>>,
    skipped: &mut BTreeSet<String>,
) -> Vec<Row> {
    let pool_1 = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool");
    let mut rows = Vec::new();
    for side in [Side::Right, Side::Centered] {
        let lpgd = Lpgd::new(config.tau)
            .expect("valid τ")
            .with_rho(config.rho)
            .expect("valid ρ")
            .with_side(side);
        let reference: Vec<Option<ConicGradient>> = set
            .iter()
            .map(|(p, g)| {
                let mut o = ClarabelOracle::high_accuracy();
                let z = lpgd.forward(&mut o, p).ok()?;
                lpgd.backward(&mut o, p, &z, g).ok().map(|b| b.gradient)
            })
            .collect();
        for Variant {
            label,
            backend,
            options,
        } in variants()
        {
            if let Err(missing) = backend.serves(&set[0].0, lpgd.rho()) {
                skipped.insert(format!("{label} on {name}: it lacks {missing}"));
                continue;
            }
            // A face variant is measured through its concrete type, for its counters.
            let mut face = options.face.then(|| {
                FaceOracle::with_settings(
                    backend.oracle(Options {
                        face: false,
                        ..options
                    }),
                    options.face_settings(),
                )
            });
            let mut plain = backend.oracle(options);
            let oracle: &mut dyn Oracle<ConicProblem> = match face.as_mut() {
                Some(f) => f,
                None => plain.as_mut(),
            };
            let (mut fwd, mut bwd, mut iters, mut agree) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut failures = BTreeMap::new();
            for (k, (p, g)) in set.iter().enumerate() {
                for repeat in 0..config.repeats().max(1) {
                    let t0 = Instant::now();
                    let z = match lpgd.forward(oracle, p) {
                        Ok(z) => z,
                        Err(e) => {
                            if repeat == 0 {
                                *failures.entry(e.kind().to_string()).or_insert(0) += 1;
                            }
                            break;
                        }
                    };
                    fwd.push(1e3 * t0.elapsed().as_secs_f64());
                    let t1 = Instant::now();
                    let back = lpgd.backward(oracle, p, &z, g);
                    bwd.push(1e3 * t1.elapsed().as_secs_f64());
                    if repeat > 0 {
                        continue;
                    }
                    iters.push(f64::from(z.iterations));
                    match back {
                        Ok(b) => {
                            if let Some(r) = &reference[k] {
                                agree.push(rel(&flat(&b.gradient), &flat(r)));
                            }
                        }
                        Err(e) => *failures.entry(e.kind().to_string()).or_insert(0) += 1,
                    }
                }
            }
            let certified = face.as_ref().map(|f| f.stats().certified_share());
            let fd_error = match (fd, side) {
                (Some(fd), Side::Centered) => {
                    let small = Lpgd::new(1e-4).expect("valid τ");
                    let (p, g) = &set[0];
                    let mut o = backend.oracle(Options {
                        high_accuracy: true,
                        ..options
                    });
                    small
                        .forward(&mut o, p)
                        .ok()
                        .and_then(|z| small.backward(&mut o, p, &z, g).ok())
                        .map(|b| rel(&c_and_b(&b.gradient), fd))
                }
                _ => None,
            };
            let problems: Vec<ConicProblem> = set.iter().map(|(p, _)| p.clone()).collect();
            let cotangents: Vec<ConicCotangent> = set.iter().map(|(_, g)| g.clone()).collect();
            let batch = || {
                let t = Instant::now();
                let z: Vec<_> = lpgd.forward_batch(|| backend.oracle(options), &problems);
                if z.iter().all(Result::is_ok) {
                    let z: Vec<_> = z.into_iter().map(Result::unwrap).collect();
                    let _ =
                        lpgd.backward_batch(|| backend.oracle(options), &problems, &z, &cotangents);
                }
                1e3 * t.elapsed().as_secs_f64()
            };
            let one = pool_1.install(batch);
            let all = batch();
            let (forward_ms, backward_ms) = (median(fwd), median(bwd));
            rows.push(Row {
                family: name.into(),
                size,
                backend: label,
                side: side.to_string(),
                forward_ms,
                backward_ms,
                ratio: backward_ms / forward_ms,
                iterations: if iters.is_empty() {
                    f64::NAN
                } else {
                    iters.iter().sum::<f64>() / iters.len() as f64
                },
                failures,
                agreement: (!agree.is_empty()).then(|| median(agree)),
                fd_error,
                certified,
                batch_1_thread_ms: one,
                batch_all_threads_ms: all,
                speedup: one / all,
            });
        }
    }
    rows
}

fn tau_sweep(config: &CompareArgs) -> Vec<TauPoint> {
    let n = 20;
    let lps: Vec<Instance> = (0..config.instances as u32)
        .filter_map(|i| instance(Family::LpBox, n, config.seed + 1000 + i).ok())
        .collect();
    let (qp, qg) = instance(Family::Qp, n, config.seed + 2000).expect("valid QP");
    let fd = fd_gradient(&qp, &qg, 1e-6);
    [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
        .into_iter()
        .map(|tau| {
            let lpgd = Lpgd::new(tau).expect("valid τ");
            let norms: Vec<f64> = lps
                .iter()
                .filter_map(|(p, g)| {
                    let mut o = ClarabelOracle::high_accuracy();
                    let z = lpgd.forward(&mut o, p).ok()?;
                    let b = lpgd.backward(&mut o, p, &z, g).ok()?;
                    Some(b.gradient.dc.dot(&b.gradient.dc).sqrt())
                })
                .collect();
            let mut o = ClarabelOracle::high_accuracy();
            let qp_fd_error = match (&fd, lpgd.forward(&mut o, &qp)) {
                (Some(fd), Ok(z)) => lpgd
                    .backward(&mut o, &qp, &z, &qg)
                    .map_or(f64::NAN, |b| rel(&c_and_b(&b.gradient), fd)),
                _ => f64::NAN,
            };
            let certified = Family::ALL
                .iter()
                .map(|&family| {
                    let lpgd = lpgd
                        .with_rho(config.rho)
                        .expect("valid ρ")
                        .with_side(Side::Centered);
                    let options = Options {
                        face: true,
                        boundary_cones: true,
                        ..Options::default()
                    };
                    let mut face =
                        FaceOracle::with_settings(ClarabelOracle::new(), options.face_settings());
                    for i in 0..config.instances as u32 {
                        let Ok((p, g)) = instance(family, n, config.seed + 3000 + i) else {
                            continue;
                        };
                        if let Ok(z) = lpgd.forward(&mut face, &p) {
                            let _ = lpgd.backward(&mut face, &p, &z, &g);
                        }
                    }
                    let share = face.stats().certified_share();
                    (
                        family.name().to_string(),
                        share.is_finite().then_some(share),
                    )
                })
                .collect();
            TauPoint {
                certified,
                tau,
                lp_nonzero_dc: norms.iter().filter(|&&v| v > 1e-6).count() as f64
                    / norms.len().max(1) as f64,
                lp_mean_dc_norm: norms.iter().sum::<f64>() / norms.len().max(1) as f64,
                qp_fd_error,
            }
        })
        .collect()
}

/// Runs the comparison.
pub fn run(config: &CompareArgs) -> Result<Report, BenchError> {
    Lpgd::new(config.tau)?.with_rho(config.rho)?;
    let sizes = config.sizes();
    let mut rows = Vec::new();
    let mut skipped = BTreeSet::new();
    let mut files = Vec::new();
    for path in &config.problems {
        let file = read_problem(path, ProblemFile::DEFAULT_MAX_BYTES >> 20)?;
        let set: Vec<Instance> = (0..config.instances.min(file.len()))
            .map(|i| {
                (
                    file.problem(i).expect("in range"),
                    file.cotangent(i).expect("in range"),
                )
            })
            .collect();
        let name = path
            .file_stem()
            .map_or("file".into(), |s| s.to_string_lossy().into_owned());
        files.push((name, set));
    }
    let total = Family::ALL.len() * sizes.len() + files.len() + 1;
    let mut step = 0;
    for family in Family::ALL {
        for &size in &sizes {
            progress::bar(
                "compare",
                step,
                total,
                &format!("{} n = {size}", family.name()),
            );
            let set: Vec<Instance> = (0..config.instances as u32)
                .map(|i| instance(family, size, config.seed + 97 * i))
                .collect::<Result<_, _>>()?;
            let fd = (size <= config.fd_max_size)
                .then(|| fd_gradient(&set[0].0, &set[0].1, 1e-4))
                .flatten();
            rows.extend(rows_for(
                family.name(),
                size,
                &set,
                config,
                fd.as_ref(),
                &mut skipped,
            ));
            step += 1;
        }
    }
    for (name, set) in &files {
        progress::bar("compare", step, total, name);
        let size = set.first().map_or(0, |(p, _)| p.n());
        rows.extend(rows_for(name, size, set, config, None, &mut skipped));
        step += 1;
    }
    progress::bar("compare", step, total, "τ sweep");
    let tau_sweep = tau_sweep(config);
    progress::bar("compare", total, total, "done");
    eprintln!();
    let mut setting = BTreeMap::new();
    setting.insert("sizes".into(), serde_json::json!(sizes));
    setting.insert("instances".into(), serde_json::json!(config.instances));
    setting.insert("repeats".into(), serde_json::json!(config.repeats()));
    setting.insert("tau".into(), serde_json::json!(config.tau));
    setting.insert("rho".into(), serde_json::json!(config.rho));
    setting.insert("seed".into(), serde_json::json!(config.seed));
    setting.insert(
        "threads".into(),
        serde_json::json!(rayon::current_num_threads()),
    );
    setting.insert(
        "backends".into(),
        serde_json::json!(variants().into_iter().map(|v| v.label).collect::<Vec<_>>()),
    );
    Ok(Report {
        setting,
        kkt: kkt_table(&rows),
        rows,
        tau_sweep,
        skipped,
    })
}

#[cfg(test)]
mod tests;
