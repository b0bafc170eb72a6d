//! A one-line text progress bar on standard error (no dependency).

use std::io::Write;

/// Redraws `label [#####-----] step/total status` on the current line of standard error, and ends
/// the line when `step == total`.
///
/// ```
/// lpgd_bench::progress::bar("lpgd-right", 3, 10, "share optimal 41.0%");
/// ```
pub fn bar(label: &str, step: usize, total: usize, status: &str) {
    const WIDTH: usize = 20;
    let done = (step.min(total) * WIDTH) / total.max(1);
    eprint!(
        "\r{label:>14} [{}{}] {step:>3}/{total}  {status:<44}",
        "#".repeat(done),
        "-".repeat(WIDTH - done)
    );
    if step >= total {
        eprintln!();
    }
    let _ = std::io::stderr().flush();
}
