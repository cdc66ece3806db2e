"""`[execution]`: how a limit order walks toward a fill."""

from __future__ import annotations

from actors.config_section import Section


class ExecutionSection(Section, frozen=True, kw_only=True):
    LIMITS = {"step_interval_s": (0.01, 3600), "price_steps": (1, 100), "deadline_s": (0.1, 86_400),
              "roll_step_interval_s": (0.01, 3600), "roll_price_steps": (1, 100), "roll_deadline_s": (0.1, 86_400),
              "roll_max_concession": (0.0, 100.0)}
    step_interval_s: float = 30.0
    price_steps: int = 4
    deadline_s: float = 300.0
    roll_step_interval_s: float = 20.0
    """A roll order's own walk (one combo closing the held legs and opening the new ones): its step interval..."""
    roll_price_steps: int = 6
    """...its number of steps from the roll's net mid toward its net natural..."""
    roll_deadline_s: float = 240.0
    """...after which it is cancelled and the position closed instead..."""
    roll_max_concession: float = 0.30
    """...and how far (dollars of premium per unit) past its net mid it may pay at most."""
    cancel_retry_s: float = 10.0
    """A cancel the broker has neither confirmed nor refused after this long is sent again; a refused one too."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.cancel_retry_s > 0:
            raise ValueError(f"`cancel_retry_s` must be positive, got {self.cancel_retry_s}")
