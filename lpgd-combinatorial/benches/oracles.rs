//! Time per solve of each oracle on PyEPO-sized instances, and per batch of 32 through LPGD's
//! parallel batch (`forward_batch`).
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use lpgd_combinatorial::assignment::Assignment;
use lpgd_combinatorial::data::{knapsack_data, shortest_path_data};
use lpgd_combinatorial::ranking::{Ranking, TopK};
use lpgd_combinatorial::tsp::Tsp;
use lpgd_combinatorial::warcraft::VertexGridShortestPath;
use lpgd_combinatorial::{GridShortestPath, Knapsack, RandomState};
use lpgd_core::{CombinatorialProblem, Lpgd, Oracle};
use ndarray::Array1;
use std::hint::black_box;
use std::time::Duration;

fn uniform(rng: &mut RandomState, n: usize, lo: f64, hi: f64) -> CombinatorialProblem {
    CombinatorialProblem::new(Array1::from_shape_simple_fn(n, || rng.uniform(lo, hi))).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("oracles");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    let mut rng = RandomState::new(7);

    let sp = shortest_path_data(32, 5, (5, 5), 4, 0.5, 135).unwrap();
    let sp_problems: Vec<_> = (0..32)
        .map(|i| CombinatorialProblem::new(sp.costs.row(i).to_owned()).unwrap())
        .collect();
    let mut grid = GridShortestPath::new(5, 5).unwrap();
    group.bench_function("solve/shortest_path_5x5", |b| {
        b.iter(|| black_box(grid.solve(&sp_problems[0], None).unwrap()))
    });
    let lpgd = Lpgd::new(10.0).unwrap();
    group.bench_function("batch32/shortest_path_5x5", |b| {
        b.iter(|| {
            black_box(lpgd.forward_batch(|| GridShortestPath::new(5, 5).unwrap(), &sp_problems))
        })
    });

    let ks = knapsack_data(32, 5, 32, 2, 4, 0.5, 135).unwrap();
    let ks_problems: Vec<_> = (0..32)
        .map(|i| CombinatorialProblem::new(ks.values.row(i).mapv(|v| -v)).unwrap())
        .collect();
    let mut knapsack = Knapsack::new(ks.weights.clone(), vec![20.0, 20.0]).unwrap();
    group.bench_function("solve/knapsack_32x2", |b| {
        b.iter(|| black_box(knapsack.solve(&ks_problems[0], None).unwrap()))
    });
    let weights = ks.weights.clone();
    group.bench_function("batch32/knapsack_32x2", |b| {
        b.iter(|| {
            black_box(lpgd.forward_batch(
                || Knapsack::new(weights.clone(), vec![20.0, 20.0]).unwrap(),
                &ks_problems,
            ))
        })
    });

    let wc = uniform(&mut rng, 12 * 12, 0.0, 10.0);
    let mut warcraft = VertexGridShortestPath::new(12, 12).unwrap();
    group.bench_function("solve/warcraft_12x12", |b| {
        b.iter(|| black_box(warcraft.solve(&wc, None).unwrap()))
    });

    let am = uniform(&mut rng, 20 * 20, -1.0, 1.0);
    let mut assignment = Assignment::new(20, 20).unwrap();
    group.bench_function("solve/assignment_20x20", |b| {
        b.iter(|| black_box(assignment.solve(&am, None).unwrap()))
    });

    let rk = uniform(&mut rng, 100, -1.0, 1.0);
    group.bench_function("solve/ranking_100", |b| {
        b.iter(|| black_box(Ranking::new(100).solve(&rk, None).unwrap()))
    });
    group.bench_function("solve/top10_of_100", |b| {
        b.iter(|| black_box(TopK::new(100, 10).unwrap().solve(&rk, None).unwrap()))
    });

    let tc = uniform(&mut rng, 10 * 10, 1.0, 10.0);
    let mut tsp = Tsp::new(10).unwrap();
    group.bench_function("solve/tsp_10", |b| {
        b.iter(|| black_box(tsp.solve(&tc, None).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
