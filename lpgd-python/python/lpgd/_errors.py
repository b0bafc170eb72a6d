"""The exceptions lpgd's Python modules raise for a failed solve: :class:`SolverError` and one
subclass per kind of failure, so that a caller can catch, say, only infeasibility.

>>> from lpgd import SolverError, InfeasibleError
>>> issubclass(InfeasibleError, SolverError)
True
>>> error_class("unbounded").__name__
'UnboundedError'
"""


class SolverError(Exception):
    """A solve failed (infeasible, unbounded, iteration limit, a callable oracle that raised, …);
    the message names the item and why. :attr:`kind` is the failure's kind as the core names it
    (``"infeasible"``, ``"max_iterations"``, …)."""

    kind = "failed"


class InfeasibleError(SolverError):
    """The problem (or a perturbed re-solve of it) has no feasible point."""

    kind = "infeasible"


class UnboundedError(SolverError):
    """The objective is unbounded below."""

    kind = "unbounded"


class LimitError(SolverError):
    """A solver limit (iterations, time, branch-and-bound nodes) stopped the solve."""

    kind = "max_iterations"


class NumericalError(SolverError):
    """The solver failed numerically, or reached only reduced accuracy where full was asked."""

    kind = "numerical"


class UnverifiedError(SolverError):
    """The solver's answer failed lpgd's optimality check (never reported as solved)."""

    kind = "unverified"


class UnsupportedError(SolverError):
    """The backend lacks a capability the problem needs (a cone kind, a quadratic objective)."""

    kind = "unsupported"


class InvalidProblemError(SolverError, ValueError):
    """The item's data was refused (shapes, non-finite or huge values, a non-convex P)."""

    kind = "invalid_input"


# Every kind the core reports, by the class raised for it (others: SolverError).
_CLASSES = {
    "infeasible": InfeasibleError,
    "unbounded": UnboundedError,
    "max_iterations": LimitError,
    "max_time": LimitError,
    "node_limit": LimitError,
    "numerical": NumericalError,
    "almost_solved": NumericalError,
    "unverified": UnverifiedError,
    "malformed_answer": UnverifiedError,
    "unsupported": UnsupportedError,
    "invalid_input": InvalidProblemError,
    "non_finite": InvalidProblemError,
    "out_of_range": InvalidProblemError,
}

__all__ = ["SolverError", "InfeasibleError", "UnboundedError", "LimitError", "NumericalError",
           "UnverifiedError", "UnsupportedError", "InvalidProblemError"]


def error_class(kind: str) -> type:
    """The :class:`SolverError` subclass raised for a failure of ``kind``."""
    return _CLASSES.get(kind, SolverError)


def raise_failures(errors, what: str, on_failure: str) -> None:
    """Raise the :class:`SolverError` subclass of the first failed item's kind unless
    ``on_failure == "nan"``. ``errors`` holds one ``None`` or ``(kind, message)`` per item."""
    if on_failure not in ("raise", "nan"):
        raise ValueError(f"on_failure must be 'raise' or 'nan', not {on_failure!r}")
    if on_failure == "nan":
        return
    for i, e in enumerate(errors):
        if e is not None:
            kind, message = e
            error = error_class(kind)(f"{what}, item {i}: {message}")
            error.kind = kind
            raise error
