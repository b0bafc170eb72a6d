//! `lpgd-bench grad` and `lpgd-bench demo`: LPGD on problem files, per instance, timed.

use crate::args::{instance_count, read_problem, side, SolverArgs};
use crate::error::{write_file, BenchError};
use crate::run::{run_file, InstanceReport};
use crate::stats::median;
use lpgd_core::{Capability, Lpgd, Side};
use serde_json::json;
use std::path::PathBuf;

/// The options of `grad`.
#[derive(Debug, Clone, clap::Args)]
pub struct GradArgs {
    /// Problem file in the diffcp/SCS JSON layout.
    #[arg(long)]
    pub problem: PathBuf,
    /// LPGD step τ (> 0).
    #[arg(long, default_value_t = 0.1)]
    pub tau: f64,
    /// Proximal weight ρ (≥ 0).
    #[arg(long, default_value_t = 0.0)]
    pub rho: f64,
    /// Which perturbation(s) to re-solve.
    #[arg(long, value_parser = side, default_value = "centered")]
    pub side: Side,
    /// Output JSON file.
    #[arg(long)]
    pub out: PathBuf,
    /// Only the first N instances.
    #[arg(long, value_parser = instance_count)]
    pub limit: Option<usize>,
    /// The backend and how it runs.
    #[command(flatten)]
    pub solver: SolverArgs,
}

/// The options of `demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Folder with the reference problem files (default: the bundled data/diffcp).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Instances per file.
    #[arg(long, default_value_t = 64, value_parser = instance_count)]
    pub instances: usize,
    /// The backend and how it runs.
    #[command(flatten)]
    pub solver: SolverArgs,
}

/// Medians and shares over a run.
struct Summary {
    ok: usize,
    failed: usize,
    forward_ms: f64,
    backward_ms: f64,
    solver_share: f64,
}

fn summarize(reports: &[InstanceReport]) -> Summary {
    let ok: Vec<&InstanceReport> = reports.iter().filter(|r| r.dc.is_some()).collect();
    let total: f64 = ok.iter().map(|r| r.forward_s + r.backward_s).sum();
    let solver: f64 = ok.iter().map(|r| r.solver_s).sum();
    Summary {
        ok: ok.len(),
        failed: reports.len() - ok.len(),
        forward_ms: 1e3 * median(ok.iter().map(|r| r.forward_s).collect()),
        backward_ms: 1e3 * median(ok.iter().map(|r| r.backward_s).collect()),
        solver_share: if total > 0.0 {
            solver / total
        } else {
            f64::NAN
        },
    }
}

/// Forward and backward on every instance of a problem file; writes gradients and timings.
pub fn grad(args: &GradArgs) -> Result<(), BenchError> {
    let (path, out, solver) = (&args.problem, &args.out, &args.solver);
    let (tau, rho, side) = (args.tau, args.rho, args.side);
    let lpgd = Lpgd::new(tau)?.with_rho(rho)?.with_side(side);
    let (backend, options) = (solver.backend, solver.options());
    if !backend.supports(Capability::Duals) {
        return Err(BenchError::Unsupported {
            backend: backend.to_string(),
            what: Capability::Duals,
            purpose: "LPGD's gradients with respect to b and A need (use clarabel, osqp, highs, good_lp:highs or good_lp:clarabel)",
        });
    }
    let file = read_problem(path, solver.max_file_mb)?;
    let limit = args.limit;
    let pool = solver.pool()?;
    let (reports, wall_s) =
        pool.install(|| run_file(&lpgd, &file, limit, || backend.oracle(options)));
    let s = summarize(&reports);
    let doc = json!({
        "config": {
            "problem": path.display().to_string(), "family": file.family(), "tau": tau, "rho": rho,
            "side": format!("{side:?}").to_lowercase(), "backend": backend.to_string(),
            "threads": pool.current_num_threads(), "cold": solver.cold, "high_accuracy": solver.high_accuracy,
        },
        "summary": {
            "instances": reports.len(), "failed": s.failed, "wall_s": wall_s,
            "forward_ms_median": s.forward_ms, "backward_ms_median": s.backward_ms,
            "solver_time_share": s.solver_share,
        },
        "instances": reports,
    });
    write_file(out, serde_json::to_string(&doc)?)?;
    if s.ok == 0 {
        println!(
            "{} instances, all failed, in {:.3} s on {} thread(s) -> {}",
            reports.len(),
            wall_s,
            pool.current_num_threads(),
            out.display()
        );
        return Err(BenchError::AllFailed { path: path.clone() });
    }
    println!(
        "{} instances ({} failed) in {:.3} s on {} thread(s): forward {:.3} ms, backward {:.3} ms (median), {:.1}% in the solver -> {}",
        reports.len(),
        s.failed,
        wall_s,
        pool.current_num_threads(),
        s.forward_ms,
        s.backward_ms,
        100.0 * s.solver_share,
        out.display()
    );
    Ok(())
}

/// Forward and backward on the bundled reference problems, printed as a table.
pub fn demo(args: &DemoArgs) -> Result<(), BenchError> {
    let (solver, instances) = (&args.solver, args.instances);
    let dir = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/diffcp"));
    let pool = solver.pool()?;
    let (backend, options) = (solver.backend, solver.options());
    println!(
        "LPGD on the diffcp reference problems ({backend}, {} thread(s), first {instances} instances per file)\n",
        pool.current_num_threads()
    );
    println!(
        "| problem | n | m | cones | side | tau | rho | ok | failed | forward ms | backward ms | bwd/fwd | in solver | mean ‖dc‖ | mean ‖db‖ |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for family in ["lp_box", "qp_box", "qp_socp", "portfolio"] {
        for size in ["small", "medium"] {
            let path = dir.join(format!("{family}_{size}.json"));
            let file = read_problem(&path, solver.max_file_mb)?;
            let first = file
                .problem(0)
                .expect("a problem file has at least one instance");
            let cones = describe_cones(first.cones());
            for (side, tau, rho) in [(Side::Right, 0.1, 0.1), (Side::Centered, 0.1, 0.1)] {
                let lpgd = Lpgd::new(tau)?.with_rho(rho)?.with_side(side);
                let (reports, _) = pool.install(|| {
                    run_file(&lpgd, &file, Some(instances), || backend.oracle(options))
                });
                let s = summarize(&reports);
                let mean_norm = |f: fn(&InstanceReport) -> &Option<Vec<f64>>| {
                    let v: Vec<f64> = reports
                        .iter()
                        .filter_map(|r| {
                            f(r).as_ref()
                                .map(|v| v.iter().map(|x| x * x).sum::<f64>().sqrt())
                        })
                        .collect();
                    v.iter().sum::<f64>() / v.len().max(1) as f64
                };
                println!(
                    "| {family}_{size} | {} | {} | {cones} | {} | {tau} | {rho} | {} | {} | {:.3} | {:.3} | {:.2} | {:.0}% | {:.3} | {:.3} |",
                    first.n(),
                    first.m(),
                    format!("{side:?}").to_lowercase(),
                    s.ok,
                    s.failed,
                    s.forward_ms,
                    s.backward_ms,
                    s.backward_ms / s.forward_ms,
                    100.0 * s.solver_share,
                    mean_norm(|r| &r.dc),
                    mean_norm(|r| &r.db),
                );
            }
        }
    }
    println!("\nTimes are medians per instance; 'in solver' is the share of forward+backward time spent in the solver.");
    Ok(())
}

fn describe_cones(cones: &[lpgd_core::Cone]) -> String {
    use lpgd_core::Cone;
    let mut parts = Vec::new();
    let (mut z, mut l, mut q, mut psd) = (0, 0, Vec::new(), Vec::new());
    let (mut ep, mut p) = (0, 0);
    for c in cones {
        match *c {
            Cone::Zero(k) => z += k,
            Cone::Nonnegative(k) => l += k,
            Cone::SecondOrder(k) => q.push(k),
            Cone::Psd(k) => psd.push(k),
            Cone::Exponential => ep += 1,
            Cone::Power(_) => p += 1,
        }
    }
    if z > 0 {
        parts.push(format!("z{z}"));
    }
    if l > 0 {
        parts.push(format!("l{l}"));
    }
    if !q.is_empty() {
        parts.push(format!("q{q:?}"));
    }
    if !psd.is_empty() {
        parts.push(format!("s{psd:?}"));
    }
    if ep > 0 {
        parts.push(format!("ep{ep}"));
    }
    if p > 0 {
        parts.push(format!("p{p}"));
    }
    parts.join(" ")
}
