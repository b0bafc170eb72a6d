"""What the conic layers keep between calls: their last session (for :attr:`last_info` and
:attr:`last_warm_share`) and, with warm forwards, the answers their next call starts from."""

from __future__ import annotations

from . import _lpgd


class KeptSession:
    """A layer's last session and warm starts (``warm=False``: no warm forwards)."""

    def _keep(self, warm: bool) -> None:
        self._warm = _lpgd.WarmStarts() if warm else None
        self._last_session = None

    @property
    def last_warm_share(self) -> float:
        """The share of the last call's items answered from their guess (NaN before a call)."""
        return float("nan") if self._last_session is None else self._last_session.warm_share()

    @property
    def last_info(self) -> dict | None:
        """How good each item of the last call is (None before a call): ``status``
        (``"solved"``, ``"almost_solved"`` or the failure's kind, e.g. ``"infeasible"``),
        ``iterations``, the verification's relative ``primal_residual``, ``dual_residual`` and
        ``gap`` (NaN where an item failed), ``warm`` and ``error`` — one entry per item,
        computed when asked."""
        return None if self._last_session is None else self._last_session.info()

    def reset_warm(self) -> None:
        """Forgets the kept answers: the next call solves every item from scratch."""
        if self._warm is not None:
            self._warm.clear()
