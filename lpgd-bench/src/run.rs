//! Forward and backward over every instance of a problem file, timed per instance.

use crate::timed::Timed;
use lpgd_core::{ConicGradient, ConicProblem, ConicSolution, Lpgd, LpgdError, Oracle, ProblemFile};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// What happened to one instance.
#[derive(Debug, Serialize)]
pub struct InstanceReport {
    /// `solved`, `almost_solved`, or the failure (`forward: infeasible`, …).
    pub status: String,
    /// Primal solution.
    pub x: Option<Vec<f64>>,
    /// Dual solution.
    pub y: Option<Vec<f64>>,
    /// Slacks.
    pub s: Option<Vec<f64>>,
    /// LPGD gradient with respect to c.
    pub dc: Option<Vec<f64>>,
    /// LPGD gradient with respect to b.
    pub db: Option<Vec<f64>>,
    /// LPGD gradient with respect to A's stored values, in the file's CSC order.
    #[serde(rename = "dA_vals")]
    pub da_vals: Option<Vec<f64>>,
    /// LPGD gradient with respect to P's stored values (upper triangle, CSC order), or null.
    #[serde(rename = "dP_vals")]
    pub dp_vals: Option<Vec<f64>>,
    /// Wall time of the forward pass (seconds).
    pub forward_s: f64,
    /// Wall time of the backward pass (seconds).
    pub backward_s: f64,
    /// Time spent inside the solver, forward and backward (seconds).
    pub solver_s: f64,
    /// Perturbed re-solves carried out.
    pub resolves: usize,
}

/// Runs one instance with a per-worker oracle.
pub fn run_instance(
    lpgd: &Lpgd,
    oracle: &mut Timed<Box<dyn Oracle<ConicProblem>>>,
    problem: &ConicProblem,
    cotangent: &lpgd_core::ConicCotangent,
) -> InstanceReport {
    oracle.take();
    let t0 = Instant::now();
    let forward = lpgd.forward(oracle, problem);
    let forward_s = t0.elapsed().as_secs_f64();
    let (solver_fwd, _) = oracle.take();
    let mut report = InstanceReport {
        status: String::new(),
        x: None,
        y: None,
        s: None,
        dc: None,
        db: None,
        da_vals: None,
        dp_vals: None,
        forward_s,
        backward_s: 0.0,
        solver_s: solver_fwd.as_secs_f64(),
        resolves: 0,
    };
    let z: ConicSolution = match forward {
        Ok(z) => z,
        Err(e) => {
            report.status = describe(&e);
            return report;
        }
    };
    report.status = z.status.label().into();
    let t1 = Instant::now();
    let backward = lpgd.backward(oracle, problem, &z, cotangent);
    report.backward_s = t1.elapsed().as_secs_f64();
    report.solver_s += oracle.take().0.as_secs_f64();
    report.x = Some(z.x.to_vec());
    report.y = Some(z.y.to_vec());
    report.s = Some(z.s.to_vec());
    match backward {
        Ok(b) => {
            let ConicGradient { dp, da, db, dc } = b.gradient;
            report.resolves = b.report.solves();
            report.dc = Some(dc.to_vec());
            report.db = Some(db.to_vec());
            report.da_vals = Some(da.to_vec());
            report.dp_vals = dp.map(|v| v.to_vec());
        }
        Err(e) => report.status = describe(&e),
    }
    report
}

/// A short status for a failure.
pub fn describe(e: &LpgdError) -> String {
    match e {
        LpgdError::InvalidInput(i) => format!("invalid input: {i}"),
        LpgdError::Forward(s) => format!("forward: {s}"),
        LpgdError::Perturbed { attempts, .. } => format!(
            "backward: {}",
            attempts
                .last()
                .map(|a| a.error.to_string())
                .unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

/// Runs every instance of `file` (up to `limit`) in parallel on the current rayon pool.
pub fn run_file(
    lpgd: &Lpgd,
    file: &ProblemFile,
    limit: Option<usize>,
    make: impl Fn() -> Box<dyn Oracle<ConicProblem>> + Sync + Send,
) -> (Vec<InstanceReport>, f64) {
    let count = limit.map_or(file.len(), |l| l.min(file.len()));
    let start = Instant::now();
    let reports = (0..count)
        .into_par_iter()
        .with_min_len(1)
        .map_init(
            || Timed::new(make()),
            |oracle, i| {
                let problem = file.problem(i).expect("index in range");
                let g = file.cotangent(i).expect("index in range");
                run_instance(lpgd, oracle, &problem, &g)
            },
        )
        .collect();
    (reports, start.elapsed().as_secs_f64())
}
