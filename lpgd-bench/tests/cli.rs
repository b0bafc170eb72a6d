//! The `lpgd-bench` command line: output schema, agreement with the library, errors.

use lpgd_core::{Lpgd, ProblemFile, Side};
use lpgd_solvers::ClarabelOracle;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lpgd-bench"))
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/diffcp")
        .join(name)
}

fn out_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lpgd-bench-cli-{tag}-{}.json", std::process::id()))
}

/// Runs `lpgd-bench <args> --out <out>`, checks that it succeeded, and returns its standard
/// output and the JSON it wrote (the file is removed).
fn run_ok(args: &[&str], out: &Path) -> (String, serde_json::Value) {
    let output = bin().args(args).arg("--out").arg(out).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    std::fs::remove_file(out).ok();
    (String::from_utf8_lossy(&output.stdout).into_owned(), doc)
}

/// Runs `lpgd-bench <args> --out <out>`, checks that it failed, and returns its standard error.
fn run_fails(args: &[&str], out: &Path) -> String {
    let output = bin().args(args).arg("--out").arg(out).output().unwrap();
    assert!(!output.status.success(), "{args:?} was accepted");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Reads the SVG plot beside `out` with extension `ext`, checks it is one, and removes it.
fn svg_beside(out: &Path, ext: &str) -> String {
    let path = out.with_extension(ext);
    let svg = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert!(svg.starts_with("<svg"), "{ext}");
    svg
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn grad_writes_every_field_and_matches_the_library() {
    for (name, has_p) in [("lp_box_small.json", false), ("qp_box_small.json", true)] {
        let out = out_path(name);
        let status = bin()
            .args(["grad", "--problem"])
            .arg(data(name))
            .args([
                "--tau",
                "0.1",
                "--rho",
                "0.1",
                "--side",
                "right",
                "--threads",
                "2",
                "--limit",
                "5",
                "--out",
            ])
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        std::fs::remove_file(&out).ok();
        let instances = doc["instances"].as_array().unwrap();
        assert_eq!(instances.len(), 5);

        let file = ProblemFile::read(data(name)).unwrap();
        let lpgd = Lpgd::new(0.1)
            .unwrap()
            .with_rho(0.1)
            .unwrap()
            .with_side(Side::Right);
        for (i, inst) in instances.iter().enumerate() {
            for key in [
                "status",
                "x",
                "y",
                "s",
                "dc",
                "db",
                "dA_vals",
                "dP_vals",
                "forward_s",
                "backward_s",
            ] {
                assert!(inst.get(key).is_some(), "{name} #{i}: missing {key}");
            }
            assert_eq!(inst["status"], "solved");
            assert!(inst["forward_s"].as_f64().unwrap() > 0.0);
            let problem = file.problem(i).unwrap();
            let mut oracle = ClarabelOracle::new();
            let z = lpgd.forward(&mut oracle, &problem).unwrap();
            let g = lpgd
                .backward(&mut oracle, &problem, &z, &file.cotangent(i).unwrap())
                .unwrap()
                .gradient;
            assert_eq!(floats(&inst["dc"]), g.dc.to_vec());
            assert_eq!(floats(&inst["db"]), g.db.to_vec());
            assert_eq!(floats(&inst["dA_vals"]), g.da.to_vec());
            assert_eq!(floats(&inst["dA_vals"]).len(), file.a().nnz());
            if has_p {
                assert_eq!(floats(&inst["dP_vals"]), g.dp.unwrap().to_vec());
            } else {
                assert!(inst["dP_vals"].is_null());
            }
        }
    }
}

#[test]
fn malformed_input_exits_non_zero_with_a_message() {
    let bad = std::env::temp_dir().join(format!("lpgd-bench-bad-{}.json", std::process::id()));
    std::fs::write(
        &bad,
        r#"{"n": 2, "m": 1, "cone": {"l": 1}, "A": {"shape": [1, 2], "nnz": 1,
        "indptr": [0, 1, 2], "rows": [0], "vals": [1.0]}, "P": null, "instances": []}"#,
    )
    .unwrap();
    let out = out_path("bad");
    let output = bin()
        .args(["grad", "--problem"])
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    std::fs::remove_file(&bad).ok();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error") && stderr.contains("CSC"),
        "stderr: {stderr}"
    );
    assert!(!out.exists());

    let output = bin()
        .args(["grad", "--problem"])
        .arg(data("lp_box_small.json"))
        .args(["--tau=-1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("tau"));

    let output = bin()
        .args(["grad", "--problem", "/nonexistent/file.json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
}

/// Options whose work or memory grows with their value are bounded before any work starts, and
/// a backend without duals is refused up front (issue 11, class 8 and 10).
#[test]
fn unbounded_work_is_refused_before_it_starts() {
    let out = out_path("limits");
    let lp = data("lp_box_small.json");
    let lp = lp.to_str().unwrap();
    let refused: Vec<Vec<&str>> = vec![
        vec!["grad", "--problem", lp, "--threads", "20000", "--out"],
        vec!["grad", "--problem", lp, "--threads", "0", "--out"],
        vec!["grad", "--problem", lp, "--limit", "0", "--out"],
        vec!["compare", "--instances", "0", "--out"],
        vec!["compare", "--sizes", "100000", "--out"],
        vec![
            "pyepo",
            "--problem",
            "knapsack",
            "--n",
            "1000000000000",
            "--out",
        ],
        vec!["pyepo", "--problem", "knapsack", "--n", "0", "--out"],
    ];
    for args in refused {
        let output = bin().args(&args).arg(&out).output().unwrap();
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("error"),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for args in [["--instances", "0"], ["--max-file-mb", "0"]] {
        let output = bin().arg("demo").args(args).output().unwrap();
        assert!(!output.status.success(), "demo {args:?} was accepted");
    }
    assert!(!out.exists());
    #[cfg(feature = "good_lp")]
    {
        let output = bin()
            .args([
                "grad",
                "--problem",
                lp,
                "--backend",
                "good_lp:microlp",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("dual solutions"));
        assert!(!out.exists());
    }
    // A file beyond the size bound is refused with the bound in the message.
    let output = bin()
        .args([
            "grad",
            "--problem",
            "/dev/zero",
            "--max-file-mb",
            "1",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("larger than"));
}

#[test]
fn demo_prints_a_table_for_every_reference_problem() {
    let output = bin()
        .args(["demo", "--instances", "2", "--threads", "1"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for family in ["lp_box", "qp_box", "qp_socp", "portfolio"] {
        for size in ["small", "medium"] {
            assert_eq!(
                text.matches(&format!("| {family}_{size} |")).count(),
                2,
                "{text}"
            );
        }
    }
    assert!(!text.contains("| 0 | 2 |"), "no row may fail: {text}");
}

fn grad_doc(problem: &str, backend: &str, extra: &[&str]) -> serde_json::Value {
    let out = out_path(&format!("{problem}-{}", backend.replace(':', "_")));
    let path = data(problem);
    let mut args = vec!["grad", "--problem", path.to_str().unwrap()];
    args.extend([
        "--tau",
        "0.1",
        "--side",
        "right",
        "--limit",
        "3",
        "--backend",
        backend,
    ]);
    args.extend(extra);
    run_ok(&args, &out).1
}

/// Every backend built into the binary gives the same LP gradients as Clarabel.
#[test]
fn grad_backends_agree() {
    let reference = grad_doc("lp_box_small.json", "clarabel", &["--high-accuracy"]);
    #[allow(unused_mut)]
    let mut names: Vec<&str> = vec!["clarabel"];
    #[cfg(feature = "osqp")]
    names.push("osqp");
    #[cfg(feature = "highs")]
    names.push("highs");
    #[cfg(feature = "good_lp-highs")]
    names.push("good_lp:highs");
    for name in names {
        let doc = grad_doc("lp_box_small.json", name, &[]);
        assert_eq!(doc["config"]["backend"], name);
        for (ours, theirs) in doc["instances"]
            .as_array()
            .unwrap()
            .iter()
            .zip(reference["instances"].as_array().unwrap())
        {
            for key in ["x", "dc", "db", "dA_vals"] {
                let (a, b) = (floats(&ours[key]), floats(&theirs[key]));
                let diff = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| (x - y).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let scale = b.iter().map(|y| y * y).sum::<f64>().sqrt().max(1.0);
                // Agreement proper is tested in tests/backends.rs; Clarabel at default tolerance
                // is within 1e-5 of the high-accuracy reference here.
                assert!(diff / scale < 1e-4, "{name} {key}: {diff}");
            }
        }
    }
}

#[test]
fn unknown_backend_is_an_error() {
    let output = bin()
        .args(["grad", "--problem"])
        .arg(data("lp_box_small.json"))
        .args(["--backend", "cplex", "--out"])
        .arg(out_path("cplex"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown or not built backend"));
}

/// `pyepo --quick` trains every rule and writes the JSON and the plot.
#[test]
fn pyepo_quick_writes_every_rule() {
    let out = out_path("pyepo");
    let args = [
        "pyepo",
        "--problem",
        "shortest-path",
        "--quick",
        "--seed",
        "3",
    ];
    let (_, doc) = run_ok(&args, &out);
    let svg = svg_beside(&out, "svg");
    assert_eq!(doc["setting"]["n_train"], 200);
    for rule in [
        "lpgd-right",
        "lpgd-left",
        "lpgd-centered",
        "nid",
        "dpo",
        "pfyl",
        "spo+",
    ] {
        let r = &doc["rules"][rule];
        let regret = r["test_regret"].as_f64().unwrap();
        assert!(regret > 0.0 && regret < 1.0, "{rule}: {regret}");
        assert_eq!(r["regret_per_epoch"].as_array().unwrap().len(), 5);
        assert!(svg.contains(rule));
    }
    run_fails(&["pyepo", "--problem", "tsp", "--quick"], &out);
}

/// `compare` prints its table and writes the JSON and both plots.
#[test]
fn compare_writes_the_report_and_plots() {
    let out = out_path("compare");
    let problem = data("lp_box_small.json");
    let args = [
        "compare",
        "--sizes",
        "5",
        "--instances",
        "2",
        "--repeats",
        "1",
        "--problem",
        problem.to_str().unwrap(),
    ];
    let (stdout, doc) = run_ok(&args, &out);
    assert!(
        stdout.contains("| lp_box_small | 10 | clarabel | right |"),
        "{stdout}"
    );
    assert!(doc["rows"].as_array().unwrap().len() >= 10);
    assert_eq!(doc["tau_sweep"].as_array().unwrap().len(), 6);
    let stem = out.with_extension("");
    for suffix in ["_time.svg", "_tau.svg"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", stem.display()));
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("<svg"));
        std::fs::remove_file(path).ok();
    }
}

#[test]
fn paper_writes_curves_and_plots_and_rejects_unknown_experiments() {
    let out = out_path("paper_markowitz");
    let args = [
        "paper",
        "markowitz",
        "--data",
        "synthetic",
        "--quick",
        "--steps",
        "2",
        "--lr",
        "0.01",
    ];
    let (_, doc) = run_ok(&args, &out);
    let methods = doc["methods"].as_object().unwrap();
    assert_eq!(methods.len(), 2);
    for (_, m) in methods {
        assert_eq!(m["runs"][0]["curve"].as_array().unwrap().len(), 3);
        assert!(m["final_test"].as_f64().unwrap().is_finite());
    }
    for ext in ["svg", "time.svg", "loss.svg"] {
        svg_beside(&out, ext);
    }
    // The historical experiment (the default market): one baseline seed and one LPGD run.
    let out = out_path("paper_markowitz_historical");
    let args = [
        "paper",
        "markowitz",
        "--quick",
        "--steps",
        "2",
        "--sides",
        "left",
        "--taus",
        "0.1",
        "--test-rollouts",
        "10",
    ];
    let (_, doc) = run_ok(&args, &out);
    assert_eq!(doc["data"], "historical");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        assert_eq!(r["curve"].as_array().unwrap().len(), 3);
        assert!(r["final_utility"].as_f64().unwrap().is_finite());
    }
    assert_eq!(doc["reference_curve"].as_array().unwrap().len(), 17);
    for ext in ["svg", "time.svg"] {
        svg_beside(&out, ext);
    }
    run_fails(
        &["paper", "markowitz", "--taus", "0"],
        &out_path("paper_bad_tau"),
    );
    run_fails(
        &["paper", "markowitz", "--sides", "middle"],
        &out_path("paper_bad_side"),
    );
    // The experiment is a value enum: clap names the bad value and the possible ones.
    let stderr = run_fails(&["paper", "chess"], &out_path("paper_bad"));
    assert!(
        stderr.contains("chess") && stderr.contains("sudoku") && stderr.contains("markowitz"),
        "{stderr}"
    );
}
