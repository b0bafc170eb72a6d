"""lpgd: Lagrangian Proximal Gradient Descent on a Rust core.

Modules by audience:

- :mod:`lpgd.torch` — PyTorch layers without cvxpy: :class:`~lpgd.torch.ConicLayer` (batched
  conic programs with a fixed structure), :class:`~lpgd.torch.CombinatorialLayer` (LPGD / blackbox
  backpropagation, NID, DPO), and the losses :class:`~lpgd.torch.SPOPlus` and
  :class:`~lpgd.torch.PFYLoss`.
- :mod:`lpgd.combinatorial` — the oracles (shortest paths, knapsack, ranking, top-k, assignment,
  TSP) and your own solver as a Python callable.
- :mod:`lpgd.data` — PyEPO's data generators (same numbers for the same seed), Warcraft-like maps,
  the regret, and the whole PyEPO training loop in Rust.
- :mod:`lpgd.diffcp_compat` — diffcp's functions and semantics for the LPGD modes, so diffcp and
  cvxpylayers users switch with one line (``lpgd.diffcp_compat.install()``).

Every batch is one call into Rust, solved on all cores with the GIL released; the forward pass's
backend is kept for the backward pass. A failed item raises :class:`SolverError` naming it — the
subclass of its kind: :class:`InfeasibleError`, :class:`UnboundedError`, :class:`LimitError`,
:class:`NumericalError`, :class:`UnverifiedError`, :class:`UnsupportedError`,
:class:`InvalidProblemError` — or gives NaN with ``on_failure="nan"``. :class:`LpgdConfig` is one
checked LPGD configuration (τ, ρ, side, fallback, threads).

>>> import lpgd
>>> config = lpgd.LpgdConfig(0.1, side="centred")
>>> config.side, config.tau, config.fallback
('centered', 0.1, 'none')
>>> "clarabel" in lpgd.backends()
True
>>> issubclass(lpgd.InfeasibleError, lpgd.SolverError)
True
"""

from ._errors import (InfeasibleError, InvalidProblemError, LimitError, NumericalError,
                      SolverError, UnboundedError, UnsupportedError, UnverifiedError)
from ._lpgd import LpgdConfig, __version__, backends

__all__ = ["InfeasibleError", "InvalidProblemError", "LimitError", "LpgdConfig", "NumericalError",
           "SolverError", "UnboundedError", "UnsupportedError", "UnverifiedError", "__version__",
           "backends"]
