"""An LP layer trained with LPGD where the exact derivative stalls (the situation of cvxpylayers
issue #127, "train cannot converge on a simple problem").

The layer picks the cheapest of n items, x*(c) = argmin cᵀx over the simplex; the loss wants the
item `target`. The derivative of x* with respect to c is zero wherever it exists, so gradient
descent through it never moves c. LPGD re-solves with c ± τ·∂ℓ/∂x and moves c until the target
item is the cheapest.

    python lpgd-python/examples/train_lp_layer.py
"""

import warnings

import cvxpy as cp
import torch

from lpgd import diffcp_compat

diffcp_compat.install()
from cvxpylayers.torch import CvxpyLayer  # noqa: E402


def train(mode: str, steps: int = 60, n: int = 5, target: int = 3, seed: int = 0):
    """Trains the costs with Adam; returns the loss per step."""
    x, c = cp.Variable(n), cp.Parameter(n)
    layer = CvxpyLayer(cp.Problem(cp.Minimize(c @ x), [x >= 0, cp.sum(x) == 1]),
                       parameters=[c], variables=[x], solver="DIFFCP")
    torch.manual_seed(seed)
    costs = torch.rand(n, dtype=torch.float64, requires_grad=True)
    goal = torch.zeros(n, dtype=torch.float64)
    goal[target] = 1.0
    opt = torch.optim.Adam([costs], lr=0.05)
    args = {"solve_method": "Clarabel", "mode": mode, "derivative_kwargs": {"tau": 0.5, "rho": 0.0}}
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        (sol,) = layer(costs, solver_args=args)
        loss = ((sol - goal) ** 2).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


if __name__ == "__main__":
    warnings.simplefilter("ignore", DeprecationWarning)
    for mode in ["lpgd", "lsqr"]:
        try:
            losses = train(mode)
            print(f"{mode:5s}: loss {losses[0]:.3f} -> {losses[-1]:.3f}")
        except diffcp_compat.SolverError as e:  # lsqr needs the real diffcp
            print(f"{mode:5s}: {e}")
