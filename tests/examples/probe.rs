use lpgd_core::ndarray::array;
use lpgd_core::{ConicProblem, Oracle};
fn main() {
    for e in [5, 8, 10, 12, 15, 18, 20, 22, 25] {
        let c = 10f64.powi(e);
        let p = ConicProblem::builder(1)
            .cost(array![c])
            .bounds(&[0.0], &[10.0])
            .build()
            .unwrap();
        let r = lpgd_solvers::ClarabelOracle::new().solve(&p, None);
        let r2 = lpgd_solvers::ClarabelOracle::new()
            .with_reuse(false)
            .solve(&p, None);
        println!(
            "c=1e{e}: reuse {:?} | cold {:?}",
            r.map(|z| (z.x[0], z.y.to_vec(), p.verify(&z, 1e-6).is_ok())),
            r2.map(|z| (z.x[0], z.y.to_vec()))
        );
        let p = ConicProblem::builder(1)
            .cost(array![-1.0])
            .bounds(&[0.0], &[c])
            .build()
            .unwrap();
        let r = lpgd_solvers::ClarabelOracle::new().solve(&p, None);
        println!(
            "   bound=1e{e}: {:?}",
            r.map(|z| (z.x[0], p.verify(&z, 1e-6).is_ok()))
        );
    }
}
