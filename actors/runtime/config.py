"""`[mailbox]` and `[supervisor]`: actor mailboxes and restarts."""

from __future__ import annotations

from actors.config_section import Section


class MailboxSection(Section, frozen=True, kw_only=True):
    LIMITS = {"block_bound": (1, 10_000_000), "block_timeout_s": (0.01, 3600), "drop_oldest_bound": (1, 10_000_000)}
    block_bound: int = 10_000
    block_timeout_s: float = 5.0
    drop_oldest_bound: int = 1_000


class SupervisorSection(Section, frozen=True, kw_only=True):
    LIMITS = {"max_restarts": (0, 1000), "restart_window_s": (0.01, 86_400), "backoff_initial_s": (0, 60),
              "backoff_max_s": (0, 3600)}
    max_restarts: int = 3
    restart_window_s: float = 60.0
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ordered("backoff_initial_s", self.backoff_initial_s, "backoff_max_s", self.backoff_max_s, strict=False)
