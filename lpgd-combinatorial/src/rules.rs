//! Gradient rules for combinatorial layers other than LPGD (which lives in `lpgd-core`: its right
//! side is blackbox backpropagation, DBB).
//!
//! All rules are stated for a minimising oracle `y(w) = argmin_{y ∈ X} ⟨w, y⟩`; a maximising layer
//! is the minimising oracle of `−w`, and its gradients are the negated ones.

use crate::numpy_rng::RandomState;
use lpgd_core::{checked_solve, CombinatorialProblem, InvalidInput, Oracle, SolveError};
use ndarray::Array1;

/// NID, the negative identity: the backward pass returns `−g` (no extra oracle call).
pub fn nid(g: &Array1<f64>) -> Array1<f64> {
    -g
}

/// Gaussian perturbations of the cost: `M` samples of scale `σ`, seeded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Perturbation {
    /// Number of samples M.
    pub samples: usize,
    /// Scale σ.
    pub sigma: f64,
}

impl Default for Perturbation {
    /// PyEPO's defaults: M = 10, σ = 1.
    fn default() -> Self {
        Self {
            samples: 10,
            sigma: 1.0,
        }
    }
}

/// The samples of one perturbed forward pass: noise `Z_m` and solutions `y(θ + σ Z_m)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PerturbedSolutions {
    /// The noise vectors.
    pub noise: Vec<Array1<f64>>,
    /// The oracle's solutions for the perturbed costs.
    pub solutions: Vec<Array1<f64>>,
}

impl PerturbedSolutions {
    /// Checks the samples against a cost dimension `d`: at least one sample, as many noise vectors
    /// as solutions, every vector of length `d`. The rules below call it, so samples put together
    /// by hand give an error rather than a panic.
    pub fn check(&self, d: usize) -> Result<(), InvalidInput> {
        if self.solutions.is_empty() {
            return Err(InvalidInput::Empty("the perturbed samples"));
        }
        if self.noise.len() != self.solutions.len() {
            return Err(InvalidInput::Length {
                field: "perturbation noise",
                expected: self.solutions.len(),
                found: self.noise.len(),
            });
        }
        for (field, vectors) in [
            ("noise", &self.noise),
            ("perturbed solution", &self.solutions),
        ] {
            if let Some(v) = vectors.iter().find(|v| v.len() != d) {
                return Err(InvalidInput::Length {
                    field,
                    expected: d,
                    found: v.len(),
                });
            }
        }
        Ok(())
    }

    /// The mean solution `ȳ` (DPO's forward output).
    pub fn mean(&self) -> Result<Array1<f64>, InvalidInput> {
        let d = self.solutions.first().map_or(0, Array1::len);
        self.check(d)?;
        let m = self.solutions.len() as f64;
        Ok(self
            .solutions
            .iter()
            .fold(Array1::zeros(d), |acc, y| acc + y)
            / m)
    }
}

fn same_length(field: &'static str, v: &Array1<f64>, d: usize) -> Result<(), InvalidInput> {
    if v.len() == d {
        Ok(())
    } else {
        Err(InvalidInput::Length {
            field,
            expected: d,
            found: v.len(),
        })
    }
}

impl Perturbation {
    /// Checks σ (positive, with a finite inverse, since the rules divide by it) and M (at least
    /// one sample, at most [`MAX_DIMENSION`](lpgd_core::limits::MAX_DIMENSION)).
    pub fn check(&self) -> Result<(), InvalidInput> {
        if !(self.sigma > 0.0 && (1.0 / self.sigma).is_finite() && self.sigma.is_finite()) {
            return Err(InvalidInput::Value {
                field: "sigma",
                index: 0,
                reason: "the perturbation scale must be positive and finite with a finite inverse",
            });
        }
        if self.samples == 0 {
            return Err(InvalidInput::Empty("the perturbation's samples"));
        }
        lpgd_core::limits::check_dimension("perturbation samples", self.samples)?;
        Ok(())
    }

    /// Draws the `M` standard normal noise vectors of one item of dimension `d` from `rng`, in
    /// order (sample by sample, entry by entry). Batched callers draw every item's noise first, in
    /// item order, and solve afterwards in parallel: the numbers are those of [`Perturbation::solve`]
    /// item after item, whatever the number of threads.
    pub fn draw(&self, d: usize, rng: &mut RandomState) -> Result<Vec<Array1<f64>>, InvalidInput> {
        self.check()?;
        lpgd_core::limits::checked_product("perturbation noise", self.samples, d)?;
        Ok((0..self.samples)
            .map(|_| (0..d).map(|_| rng.standard_normal()).collect())
            .collect())
    }

    /// The perturbed problems `θ + σ Z_m`, one per noise vector.
    pub fn problems(
        &self,
        theta: &Array1<f64>,
        noise: &[Array1<f64>],
    ) -> Result<Vec<CombinatorialProblem>, InvalidInput> {
        self.check()?;
        noise
            .iter()
            .map(|z| {
                same_length("noise", z, theta.len())?;
                CombinatorialProblem::new(theta + &(self.sigma * z))
            })
            .collect()
    }

    /// Solves `y(θ + σ Z_m)` for `M` standard normal draws from `rng` (answers checked by
    /// [`checked_solve`]).
    pub fn solve<O: Oracle<CombinatorialProblem> + ?Sized>(
        &self,
        oracle: &mut O,
        theta: &Array1<f64>,
        rng: &mut RandomState,
    ) -> Result<PerturbedSolutions, SolveError> {
        let noise = self.draw(theta.len(), rng)?;
        let solutions = self
            .problems(theta, &noise)?
            .iter()
            .map(|p| checked_solve(oracle, p, None))
            .collect::<Result<_, _>>()?;
        Ok(PerturbedSolutions { noise, solutions })
    }
}

/// DPO (differentiable perturbed optimizer): forward `ȳ`, backward
/// `(1/(Mσ)) Σ_m (⟨g, y_m⟩ − b) Z_m`, with `b` the mean reward and the factor `M/(M−1)` when the
/// baseline is on (PyEPO's variance reduction), `b = 0` without it. Errors when the samples or `g`
/// do not fit together ([`PerturbedSolutions::check`]) or σ is not a valid scale.
pub fn dpo_backward(
    samples: &PerturbedSolutions,
    g: &Array1<f64>,
    sigma: f64,
    baseline: bool,
) -> Result<Array1<f64>, InvalidInput> {
    samples.check(g.len())?;
    Perturbation { samples: 1, sigma }.check()?;
    let m = samples.solutions.len();
    let rewards: Vec<f64> = samples.solutions.iter().map(|y| g.dot(y)).collect();
    let (b, factor) = if baseline && m > 1 {
        (
            rewards.iter().sum::<f64>() / m as f64,
            m as f64 / (m as f64 - 1.0),
        )
    } else {
        (0.0, 1.0)
    };
    let mut out = Array1::zeros(g.len());
    for (z, r) in samples.noise.iter().zip(&rewards) {
        out += &(z * (r - b));
    }
    Ok(out * (factor / (m as f64 * sigma)))
}

/// PFYL, the perturbed Fenchel–Young loss of the prediction `θ` against the true solution `y*`:
/// `loss = ⟨θ, y*⟩ − mean_m ⟨θ + σZ_m, y_m⟩ ≥ 0` (in expectation), gradient `y* − ȳ`. Errors
/// when the lengths do not fit together or σ is not a valid scale.
pub fn pfyl(
    samples: &PerturbedSolutions,
    theta: &Array1<f64>,
    sigma: f64,
    y_star: &Array1<f64>,
) -> Result<(f64, Array1<f64>), InvalidInput> {
    samples.check(theta.len())?;
    same_length("true solution", y_star, theta.len())?;
    Perturbation { samples: 1, sigma }.check()?;
    let m = samples.solutions.len() as f64;
    let perturbed_value: f64 = samples
        .noise
        .iter()
        .zip(&samples.solutions)
        .map(|(z, y)| (theta + &(sigma * z)).dot(y))
        .sum::<f64>()
        / m;
    Ok((
        theta.dot(y_star) - perturbed_value,
        y_star - &samples.mean()?,
    ))
}

/// SPO+ of the predicted cost `ĉ` against the true cost `c` with its solution `y*` and value
/// `z* = cᵀy*`: `loss = −min_y (2ĉ − c)ᵀy + 2ĉᵀy* − z*`, subgradient `2(y* − y(2ĉ − c))`.
pub fn spo_plus<O: Oracle<CombinatorialProblem> + ?Sized>(
    oracle: &mut O,
    c_hat: &Array1<f64>,
    c: &Array1<f64>,
    y_star: &Array1<f64>,
) -> Result<(f64, Array1<f64>), SolveError> {
    same_length("true cost", c, c_hat.len())?;
    same_length("true solution", y_star, c_hat.len())?;
    let w = 2.0 * c_hat - c;
    let y = checked_solve(oracle, &CombinatorialProblem::new(w.clone())?, None)?;
    let loss = -w.dot(&y) + 2.0 * c_hat.dot(y_star) - c.dot(y_star);
    Ok((loss, 2.0 * (y_star - &y)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::FnOracle;
    use ndarray::array;

    /// argmin over the unit vectors of ℝ³ (first minimum wins).
    pub(super) fn one_hot(p: &CombinatorialProblem) -> Result<Array1<f64>, SolveError> {
        let w = p.cost();
        let k = (0..w.len()).fold(0, |k, i| if w[i] < w[k] { i } else { k });
        Ok(Array1::from_shape_fn(w.len(), |i| {
            if i == k {
                1.0
            } else {
                0.0
            }
        }))
    }

    #[test]
    fn nid_is_the_negated_gradient() {
        assert_eq!(nid(&array![1.0, -2.0]), array![-1.0, 2.0]);
    }

    #[test]
    fn spo_plus_by_hand() {
        let mut oracle = FnOracle::new(one_hot);
        let c = array![1.0, 2.0, 3.0];
        let y_star = array![1.0, 0.0, 0.0];
        let c_hat = array![2.0, 0.5, 3.0];
        // 2ĉ − c = (3, −1, 3): argmin e₁; loss = −(−1) + 2·2 − 1 = 4; grad = 2(e₀ − e₁).
        let (loss, grad) = spo_plus(&mut oracle, &c_hat, &c, &y_star).unwrap();
        assert_eq!(loss, 4.0);
        assert_eq!(grad, array![2.0, -2.0, 0.0]);
        // A perfect prediction has zero loss and zero subgradient.
        let (loss, grad) = spo_plus(&mut oracle, &c, &c, &y_star).unwrap();
        assert_eq!((loss, grad), (0.0, array![0.0, 0.0, 0.0]));
    }

    #[test]
    fn dpo_and_pfyl_by_hand() {
        // Two fixed samples, so the formulas can be checked by hand.
        let samples = PerturbedSolutions {
            noise: vec![array![1.0, 0.0, -1.0], array![0.0, 2.0, 0.0]],
            solutions: vec![array![1.0, 0.0, 0.0], array![0.0, 0.0, 1.0]],
        };
        let g = array![1.0, 1.0, 3.0];
        // Rewards ⟨g, y_m⟩ = 1, 3. No baseline: (1·Z₀ + 3·Z₁)/(2σ) with σ = 0.5.
        assert_eq!(
            dpo_backward(&samples, &g, 0.5, false).unwrap(),
            array![1.0, 6.0, -1.0]
        );
        // Baseline b = 2, factor 2: 2·((−1)·Z₀ + 1·Z₁)/(2·0.5).
        assert_eq!(
            dpo_backward(&samples, &g, 0.5, true).unwrap(),
            array![-2.0, 4.0, 2.0]
        );
        assert_eq!(samples.mean().unwrap(), array![0.5, 0.0, 0.5]);
        let theta = array![0.0, 1.0, 2.0];
        let y_star = array![0.0, 1.0, 0.0];
        // ⟨θ+σZ₀, y₀⟩ = 0.5, ⟨θ+σZ₁, y₁⟩ = 2; loss = 1 − 1.25.
        let (loss, grad) = pfyl(&samples, &theta, 0.5, &y_star).unwrap();
        assert_eq!(loss, -0.25);
        assert_eq!(grad, array![-0.5, 1.0, -0.5]);
    }

    #[test]
    fn mismatched_inputs_are_errors_not_panics() {
        let samples = PerturbedSolutions {
            noise: vec![array![1.0, 0.0, -1.0]],
            solutions: vec![array![1.0, 0.0, 0.0]],
        };
        // g, θ or y* of the wrong length; σ that is no scale; no samples at all.
        assert!(dpo_backward(&samples, &array![1.0, 2.0], 1.0, true).is_err());
        assert!(dpo_backward(&samples, &array![1.0, 2.0, 3.0], 0.0, true).is_err());
        assert!(pfyl(&samples, &array![0.0, 1.0, 2.0], 1.0, &array![1.0]).is_err());
        let empty = PerturbedSolutions {
            noise: vec![],
            solutions: vec![],
        };
        assert!(empty.mean().is_err());
        assert!(dpo_backward(&empty, &array![1.0], 1.0, false).is_err());
        let ragged = PerturbedSolutions {
            noise: vec![array![1.0, 0.0, -1.0], array![1.0]],
            solutions: vec![array![1.0, 0.0, 0.0], array![0.0, 1.0, 0.0]],
        };
        assert!(ragged.mean().is_err()); // ragged noise makes the samples invalid
        assert!(dpo_backward(&ragged, &array![1.0, 1.0, 1.0], 1.0, true).is_err());
        // An oracle answering with the wrong length is a typed error in every rule.
        let mut short = FnOracle::new(|_: &CombinatorialProblem| Ok(array![1.0]));
        let theta = array![0.0, 0.1, 0.2];
        let p = Perturbation::default();
        assert!(matches!(
            p.solve(&mut short, &theta, &mut RandomState::new(0)),
            Err(SolveError::MalformedAnswer(_))
        ));
        assert!(matches!(
            spo_plus(&mut short, &theta, &theta, &theta),
            Err(SolveError::MalformedAnswer(_))
        ));
        assert!(spo_plus(&mut FnOracle::new(one_hot), &theta, &array![1.0], &theta).is_err());
    }

    #[test]
    fn perturbed_solves_are_seeded() {
        let mut oracle = FnOracle::new(one_hot);
        let p = Perturbation {
            samples: 5,
            sigma: 1.0,
        };
        let theta = array![0.0, 0.1, 0.2];
        let a = p
            .solve(&mut oracle, &theta, &mut RandomState::new(3))
            .unwrap();
        let b = p
            .solve(&mut oracle, &theta, &mut RandomState::new(3))
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.solutions.len(), 5);
    }
}

/// Maximising layers: `y(v) = argmax ⟨v, y⟩` is the minimising oracle of `w = −v`, and every
/// gradient with respect to `v` is the negated gradient with respect to `w`. Checked here against
/// the maximisation forms of the rules, computed by hand.
#[cfg(test)]
mod maximisation {
    use super::*;
    use lpgd_core::{FnOracle, Lpgd, Side};
    use ndarray::array;

    use super::tests::one_hot;

    fn argmax(v: &Array1<f64>) -> Array1<f64> {
        one_hot(&CombinatorialProblem::new(-v).unwrap()).unwrap()
    }

    #[test]
    fn dbb_for_a_maximiser_has_the_right_sign() {
        // Values v, upstream gradient g on y. Max-sense DBB: (y(v) − y(v − τg))/τ.
        let v = array![3.0, 2.0, 1.0];
        let g = array![2.0, 0.0, 0.0]; // the loss dislikes item 0
        let tau = 1.0;
        let by_hand = (argmax(&v) - argmax(&(&v - &(tau * &g)))) / tau;
        assert_eq!(by_hand, array![1.0, -1.0, 0.0]); // lower v₀, raise v₁: descent moves away from 0
        let mut oracle = FnOracle::new(one_hot);
        let w = CombinatorialProblem::new(-&v).unwrap();
        let lpgd = Lpgd::new(tau).unwrap().with_side(Side::Right);
        let y = lpgd.forward(&mut oracle, &w).unwrap();
        let grad_w = lpgd.backward(&mut oracle, &w, &y, &g).unwrap().gradient;
        assert_eq!(-grad_w, by_hand);
    }

    #[test]
    fn spo_plus_for_a_maximiser() {
        // Max form: loss = max_y (2ĉ − c)ᵀy − 2ĉᵀy* + z*, subgradient 2(y(2ĉ − c) − y*).
        let c = array![3.0, 1.0, 2.0];
        let c_hat = array![1.0, 2.5, 0.0];
        let y_star = argmax(&c);
        let shifted: Array1<f64> = 2.0 * &c_hat - &c; // (−1, 4, −2)
        let y_tilde = argmax(&shifted); // item 1
        let loss_by_hand = shifted.dot(&y_tilde) - 2.0 * c_hat.dot(&y_star) + c.dot(&y_star);
        let grad_by_hand = 2.0 * (&y_tilde - &y_star);
        let mut oracle = FnOracle::new(one_hot);
        let (loss, grad_w) = spo_plus(&mut oracle, &-&c_hat, &-&c, &y_star).unwrap();
        assert_eq!(loss, loss_by_hand);
        assert_eq!(loss, 5.0);
        assert_eq!(-grad_w, grad_by_hand);
    }

    #[test]
    fn pfyl_and_dpo_for_a_maximiser() {
        // Fixed samples in the maximisation frame: y_m = argmax(θ + σZ_m).
        let theta = array![0.0, 1.0, 0.5];
        let noise = [array![2.0, 0.0, 0.0], array![0.0, 0.0, 2.0]];
        let sigma = 1.0;
        let solutions: Vec<Array1<f64>> = noise
            .iter()
            .map(|z| argmax(&(&theta + &(sigma * z))))
            .collect();
        let y_star = array![0.0, 1.0, 0.0];
        // Max-form PFYL: loss = mean_m ⟨θ+σZ_m, y_m⟩ − ⟨θ, y*⟩, gradient ȳ − y*.
        let mean = (&solutions[0] + &solutions[1]) / 2.0;
        let loss_by_hand = ((&theta + &noise[0]).dot(&solutions[0])
            + (&theta + &noise[1]).dot(&solutions[1]))
            / 2.0
            - theta.dot(&y_star);
        // The minimisation frame sees w = −θ and noise −Z with the same solutions.
        let samples = PerturbedSolutions {
            noise: noise.iter().map(|z| -z).collect(),
            solutions: solutions.clone(),
        };
        let (loss, grad_w) = pfyl(&samples, &-&theta, sigma, &y_star).unwrap();
        assert_eq!(loss, loss_by_hand);
        assert_eq!(-grad_w, &mean - &y_star);
        // Max-form DPO backward: (1/(Mσ)) Σ ⟨g, y_m⟩ Z_m (no baseline).
        let g = array![1.0, 0.0, 3.0];
        let by_hand =
            (&noise[0] * g.dot(&solutions[0]) + &noise[1] * g.dot(&solutions[1])) / (2.0 * sigma);
        assert_eq!(-dpo_backward(&samples, &g, sigma, false).unwrap(), by_hand);
    }
}
