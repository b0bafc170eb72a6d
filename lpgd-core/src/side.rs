//! Which perturbations a backward pass solves, and what to do when one fails: plain data, a leaf
//! module, so that errors can name a side without an import cycle.

/// Which perturbation(s) the backward pass re-solves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Side {
    /// σ = +τ: `G = (∂L(z_τ) − ∂L(z*)) / τ`. On a combinatorial layer this is blackbox
    /// backpropagation (DBB) with λ = τ. One re-solve.
    Right,
    /// σ = −τ: `G = (∂L(z*) − ∂L(z_{−τ})) / τ`. One re-solve.
    Left,
    /// Both: `G = (∂L(z_τ) − ∂L(z_{−τ})) / 2τ`. Two re-solves, O(τ²) error where the layer is
    /// smooth. The default, as diffcp's `mode="lpgd"`.
    #[default]
    Centered,
}

impl Side {
    /// Every side, in the order right, left, centred.
    pub const ALL: [Side; 3] = [Side::Right, Side::Left, Side::Centered];

    /// The side's name: `right`, `left` or `centered` (what [`str::parse`] reads back, also
    /// accepting `centred`).
    pub const fn name(self) -> &'static str {
        match self {
            Side::Right => "right",
            Side::Left => "left",
            Side::Centered => "centered",
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A side by name (`right`, `left`, `centered` or `centred`).
///
/// ```
/// use lpgd_core::Side;
/// assert_eq!("centred".parse::<Side>()?, Side::Centered);
/// assert_eq!(Side::Left.to_string().parse::<Side>()?, Side::Left);
/// assert!("middle".parse::<Side>().is_err());
/// # Ok::<(), lpgd_core::InvalidInput>(())
/// ```
impl std::str::FromStr for Side {
    type Err = crate::error::InvalidInput;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "right" => Ok(Side::Right),
            "left" => Ok(Side::Left),
            "centered" | "centred" => Ok(Side::Centered),
            _ => Err(crate::error::InvalidInput::Value {
                field: "side",
                index: 0,
                reason: "must be 'right', 'left' or 'centered'",
            }),
        }
    }
}

/// What to do when a perturbed re-solve fails (an infeasible or unbounded perturbed problem, an
/// iteration limit, a numerical failure).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Fallback {
    /// Report the failure as [`LpgdError::Perturbed`](crate::LpgdError::Perturbed).
    #[default]
    Fail,
    /// Use the other side instead: a centred pass falls back to the side that solved, a one-sided
    /// pass tries the opposite side once.
    OtherSide,
    /// Retry the failed side with σ multiplied by `factor` (in (0, 1)), up to `retries` times
    /// (at most [`Fallback::MAX_RETRIES`]), and never below [`Fallback::SHRINK_FLOOR`]` · τ`:
    /// a smaller step only divides the solver's rounding noise by a smaller number.
    ShrinkTau {
        /// Factor applied to σ on each retry.
        factor: f64,
        /// How many retries at most.
        retries: u32,
    },
}

impl Fallback {
    /// The most retries [`Fallback::ShrinkTau`] accepts.
    pub const MAX_RETRIES: u32 = 64;
    /// Shrinking stops before `|σ|` drops below this fraction of τ.
    pub const SHRINK_FLOOR: f64 = 1e-12;
}
