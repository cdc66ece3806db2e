"""`[alerts]`: where alerts go and how often."""

from __future__ import annotations

from typing import Literal

from actors.config_section import Section


class AlertsSection(Section, frozen=True, kw_only=True):
    LIMITS = {"webhook_timeout_s": (0.1, 300), "webhook_attempts": (1, 100)}
    webhook_url: str = ""
    """POST every alert at or above `min_level` as JSON here (Slack/Teams/PagerDuty-style incoming webhook)."""
    min_level: Literal["info", "warning", "critical"] = "warning"
    webhook_timeout_s: float = 5.0
    webhook_attempts: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError(f"`webhook_url` must be an http(s) URL, got {self.webhook_url!r}")
