//! What the face oracle is asked to do ([`FaceSettings`]) and what it reports: why a face
//! solve missed ([`FaceMiss`]), which path answered ([`FacePath`]), counters ([`FaceStats`]).

/// What the wrapper does besides certifying re-solves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceSettings {
    /// Refine every forward solve (no hint) on its face, and keep the refinement if certified.
    pub polish: bool,
    /// Active-set corrections tried after a failed certificate, before the fallback.
    pub corrections: usize,
    /// Certificate tolerance, relative to `1 + ‖b‖∞` (primal) and `1 + ‖c‖∞` (dual).
    pub tolerance: f64,
    /// Solve faces with second-order cones on their boundary by Newton's method: chord steps on
    /// one sparse LDLᵀ formed at the hint and shared by both sides of a centred pass. Off by
    /// default: measured on the bundled medium problems (`compare`, centred, ρ = 0.1) it takes
    /// `qp_socp`'s backward from ~2 forward solves to 0.52 at τ = 0.1 and 0.15 at τ = 0.01, and
    /// `portfolio`'s to 0.77 at τ = 0.01 and 0.21 at τ = 0.001; but at τ = 0.1 `portfolio`'s
    /// optimum leaves the hint's face (no pass certifies) and the attempts and the forward
    /// polish cost ~10 % more than the plain path. Off, such faces fall back at once, without a
    /// factorization.
    pub boundary_cones: bool,
    /// Most pivots of the active-set continuation ([`continuation`]) that answers a solve whose
    /// corrections failed, on problems with a quadratic term (P or ρ > 0) and linear cones
    /// only; 0 turns it off.
    pub pivots: usize,
    /// A forward's guess ([`Oracle::solve_from`]) is tried only where its KKT residual on the
    /// new problem, relative to the size of its terms (`1 + max(‖c‖∞, ‖Aᵀy‖∞, ‖Px‖∞)` for
    /// stationarity, `1 + max(‖b‖∞, ‖Ax‖∞, ‖s‖∞)` for the rows), is at most this: a guess
    /// from another item (shuffled data without keys) is then refused for the price of two
    /// matrix-vector products instead of a face solve and a walk of pivots that ends in the
    /// cold solve anyway. Measured ([`guess_residual`], `face_paths` example): the same item
    /// with c and b moved by 1 % 0.011–0.028 on the bundled medium families, another item's
    /// answer 0.7–1.25 (qp_box, lp_box, qp_socp; portfolio's items are alike, 0.06–0.12); a
    /// training step's guesses through the nonnegative least-squares layer of
    /// `training_loop.py` (Adam, learning rate 1e-2) were refused two times in three at 0.05.
    pub guess_residual: f64,
}

impl Default for FaceSettings {
    /// Polish on, five corrections, tolerance 1e-9, boundary cones off, 64 pivots, guesses
    /// within a relative residual of 0.5.
    fn default() -> Self {
        Self {
            polish: true,
            corrections: 5,
            tolerance: 1e-9,
            boundary_cones: false,
            pivots: 64,
            guess_residual: 0.5,
        }
    }
}

/// Why a face solve did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaceMiss {
    /// The hint does not fit the problem.
    NoHint,
    /// A cone the face solve does not handle: exponential, power, PSD, or a second-order cone
    /// with its slack on the boundary.
    Cone,
    /// An LP face that does not pin a vertex (not as many tight rows as variables), or more
    /// tight rows than variables (a degenerate face).
    NotVertex,
    /// The face's KKT system is singular (refinement did not converge).
    Singular,
    /// Newton's method on a boundary cone did not converge from the hint: its first step grew
    /// the residual, or a face needed more than one new Jacobian.
    Newton,
    /// The certificate failed (the optimal face is another one).
    Certificate,
    /// The active-set continuation needed more than [`FaceSettings::pivots`] pivots.
    Pivots,
    /// A forward's guess was too far from the problem (its KKT residual is larger than
    /// [`FaceSettings::guess_residual`]).
    FarGuess,
}

/// Which path answered a solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FacePath {
    /// A re-solve answered on the hinted face and certified.
    Certified,
    /// A re-solve answered and certified after this many active-set corrections.
    Corrected(usize),
    /// A re-solve answered by the active-set continuation after this many pivots, certified.
    Continued(usize),
    /// A forward solve given a guess ([`Oracle::solve_from`]), answered on the guess's face and
    /// certified, after this many corrections or pivots.
    Warm(usize),
    /// A re-solve answered by the inner oracle, and why the face solve did not.
    Fallback(FaceMiss),
    /// A forward solve by the inner oracle, refined on its face and certified.
    Polished,
    /// A forward solve by the inner oracle, kept as it was (polish off, or why it failed).
    Unpolished(Option<FaceMiss>),
}

/// Counters of the paths taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaceStats {
    /// Re-solves certified on the hinted face.
    pub certified: u64,
    /// Re-solves certified after active-set corrections.
    pub corrected: u64,
    /// Re-solves answered by the active-set continuation.
    pub continued: u64,
    /// Forward solves answered from their guess (certified on its face).
    pub warm: u64,
    /// Forward solves whose guess did not certify (solved from scratch instead).
    pub warm_missed: u64,
    /// Re-solves answered by the inner oracle.
    pub fallbacks: u64,
    /// Forward solves refined and certified.
    pub polished: u64,
    /// Forward solves kept as the inner oracle gave them.
    pub unpolished: u64,
    /// LDLᵀ factorizations computed.
    pub factorizations: u64,
    /// Face solves that reused a kept factorization.
    pub reused: u64,
}

impl FaceStats {
    /// The share of re-solves answered without the inner oracle (NaN before any).
    pub fn certified_share(&self) -> f64 {
        let done = self.certified + self.corrected + self.continued;
        done as f64 / (done + self.fallbacks) as f64
    }
}
