//! The comparison report as markdown, JSON and plots.

use super::Report;
use crate::error::{write_file, BenchError};
use crate::plot::line_plot;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn opt(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1e}"))
}

/// The report as markdown.
pub fn markdown(report: &Report) -> String {
    let mut s = String::from(
        "| family | n | backend | side | fwd ms | bwd ms | bwd/fwd | iters | failures | vs ref | vs FD | certified | batch 1 thr ms | all thr ms | speed-up |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &report.rows {
        let failures = if r.failures.is_empty() {
            "0".into()
        } else {
            r.failures
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.2} | {:.1} | {failures} | {} | {} | {} | {:.1} | {:.1} | {:.2} |\n",
            r.family, r.size, r.backend, r.side, r.forward_ms, r.backward_ms, r.ratio, r.iterations,
            opt(r.agreement), opt(r.fd_error), r.certified.map_or("–".into(), |c| format!("{:.0} %", 100.0 * c)),
            r.batch_1_thread_ms, r.batch_all_threads_ms, r.speedup
        ));
    }
    if !report.skipped.is_empty() {
        s.push_str("\nNot run (a backend that cannot serve a family is left out of the table):\n");
        for why in &report.skipped {
            s.push_str(&format!("- {why}\n"));
        }
    }
    if !report.kkt.is_empty() {
        s.push_str("\nClarabel's KKT factorization (fwd / bwd ms; auto is the default: QDLDL unless faer's rule picks faer):\n\n| family | n | side | QDLDL | faer | auto | faer / QDLDL |\n|---|---|---|---|---|---|---|\n");
        for k in &report.kkt {
            s.push_str(&format!(
                "| {} | {} | {} | {:.3} / {:.3} | {:.3} / {:.3} | {:.3} / {:.3} | {:.2} |\n",
                k.family,
                k.size,
                k.side,
                k.qdldl_ms.0,
                k.qdldl_ms.1,
                k.faer_ms.0,
                k.faer_ms.1,
                k.auto_ms.0,
                k.auto_ms.1,
                k.faer_over_qdldl
            ));
        }
    }
    let families: Vec<&String> = report
        .tau_sweep
        .first()
        .map(|t| t.certified.keys().collect())
        .unwrap_or_default();
    s.push_str("\n| τ | LP: share with dc ≠ 0 | LP: mean ‖dc‖ | QP: centred LPGD vs FD |");
    for f in &families {
        s.push_str(&format!(" {f}: certified |"));
    }
    s.push_str(&format!(
        "\n|---|---|---|---|{}\n",
        "---|".repeat(families.len())
    ));
    for t in &report.tau_sweep {
        s.push_str(&format!(
            "| {:e} | {:.2} | {:.3} | {:.1e} |",
            t.tau, t.lp_nonzero_dc, t.lp_mean_dc_norm, t.qp_fd_error
        ));
        for f in &families {
            match t.certified.get(*f).copied().flatten() {
                Some(share) => s.push_str(&format!(" {:.0} % |", 100.0 * share)),
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s
}

/// Writes the JSON report and the two plots (time vs size; τ sweep) beside it.
pub fn write(report: &Report, out: &Path) -> Result<(), BenchError> {
    write_file(out, serde_json::to_string_pretty(report)?)?;
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in report
        .rows
        .iter()
        .filter(|r| r.side == "right" && r.forward_ms.is_finite())
    {
        series
            .entry(format!("{} {}", r.family, r.backend))
            .or_default()
            .push((
                (r.size as f64).log10(),
                (r.forward_ms + r.backward_ms).log10(),
            ));
    }
    let time = line_plot(
        "forward + right backward per instance vs size (log-log)",
        "log10 decision variables",
        "log10 ms",
        &series.into_iter().collect::<Vec<_>>(),
    );
    let stem = out.with_extension("");
    let time_path = PathBuf::from(format!("{}_time.svg", stem.display()));
    write_file(&time_path, time)?;
    let tau = line_plot(
        "τ sweep: LP leaves the zero regime, QP converges",
        "log10 τ",
        "share / relative error",
        &[
            (
                "LP share with dc ≠ 0".into(),
                report
                    .tau_sweep
                    .iter()
                    .map(|t| (t.tau.log10(), t.lp_nonzero_dc))
                    .collect(),
            ),
            (
                "QP rel. error vs FD".into(),
                report
                    .tau_sweep
                    .iter()
                    .map(|t| (t.tau.log10(), t.qp_fd_error.min(1.0)))
                    .collect(),
            ),
        ],
    );
    let tau_path = PathBuf::from(format!("{}_tau.svg", stem.display()));
    write_file(&tau_path, tau)?;
    eprintln!(
        "wrote {}, {} and {}",
        out.display(),
        time_path.display(),
        tau_path.display()
    );
    Ok(())
}
