"""`[service]`: the node as a supervised process (health, metrics, control, logs, lease)."""

from __future__ import annotations

from actors.config_section import Section


class ServiceSection(Section, frozen=True, kw_only=True):
    LIMITS = {"health_port": (0, 65_535), "heartbeat_interval_s": (0.01, 3600), "control_poll_s": (0.01, 3600),
              "shutdown_timeout_s": (0.1, 3600), "client_id": (0, 2**31 - 1), "lease_s": (3, 3600)}
    health_host: str = "127.0.0.1"
    health_port: int = 8787
    """`/health` and `/metrics` (Prometheus); 0 disables the endpoint."""
    heartbeat_file: str = "thetanode-data/heartbeat.json"
    heartbeat_interval_s: float = 5.0
    control_dir: str = "thetanode-data/control"
    """Where `thetanode halt|resume` leave commands for the running node, and where its lock file lives."""
    control_poll_s: float = 1.0
    shutdown_timeout_s: float = 20.0
    cancel_working_orders_on_stop: bool = True
    client_id: int = 1
    """The IB API client id. One node per lake whatever its client id (the lake's lock, README)."""
    lease_s: float = 30.0
    """An object-store lake's writer lease: renewed every third of this; another node may take it over only after
    it expired."""
    log_file: str = ""
    """JSON-lines log with rotation; empty logs to stderr only."""
    log_rotation: str = "50 MB"
    log_retention: str = "14 days"
