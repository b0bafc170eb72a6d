"""The exception every lpgd Python module raises for a failed solve."""


class SolverError(Exception):
    """A solve failed (infeasible, unbounded, iteration limit, a callable oracle that raised, …);
    the message names the item and why."""


def raise_failures(errors, what: str, on_failure: str) -> None:
    """Raise :class:`SolverError` for the first failed item unless ``on_failure == "nan"``."""
    if on_failure not in ("raise", "nan"):
        raise ValueError(f"on_failure must be 'raise' or 'nan', not {on_failure!r}")
    if on_failure == "nan":
        return
    for i, e in enumerate(errors):
        if e is not None:
            raise SolverError(f"{what}, item {i}: {e}")
