"""lpgd: Lagrangian Proximal Gradient Descent on a Rust core.

Modules by audience:

- :mod:`lpgd.diffcp_compat` — diffcp's functions and semantics for the LPGD modes, so diffcp and
  cvxpylayers users switch with one line (``lpgd.diffcp_compat.install()``).

Every batch is one call into Rust, solved on all cores with the GIL released; the forward pass's
backend is kept for the backward pass.
"""

from ._lpgd import __version__, backends

__all__ = ["__version__", "backends"]
