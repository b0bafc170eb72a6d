use lpgd_core::{Lpgd, Side};
use lpgd_solvers::{ClarabelOracle, FaceOracle, FaceSettings};
use lpgd_tests::problem_file;
use std::collections::BTreeMap;

#[test]
fn scratch() {
    let corr: usize = std::env::var("CORR").unwrap().parse().unwrap();
    for fam in ["qp_box_medium", "lp_box_medium", "qp_box_small"] {
        let file = problem_file(fam);
        for (tau, rho) in [(0.1, 0.1), (0.1, 0.0), (0.01, 0.0)] {
            let mut paths: BTreeMap<String, usize> = BTreeMap::new();
            let mut face = FaceOracle::with_settings(
                ClarabelOracle::new(),
                FaceSettings {
                    corrections: corr,
                    ..FaceSettings::default()
                },
            );
            for i in 0..16 {
                let p = file.problem(i).unwrap();
                let g = file.cotangent(i).unwrap();
                let lpgd = Lpgd::new(tau)
                    .unwrap()
                    .with_rho(rho)
                    .unwrap()
                    .with_side(Side::Right);
                let z = lpgd.forward(&mut face, &p).unwrap();
                let _ = lpgd.backward(&mut face, &p, &z, &g).unwrap();
                *paths
                    .entry(format!("{:?}", face.last_path().unwrap()))
                    .or_default() += 1;
            }
            eprintln!(
                "{fam} tau {tau} rho {rho}: {paths:?} factorizations {}",
                face.stats().factorizations
            );
        }
    }
}
