import http.server
import json
import threading

from actors.alerts.config import AlertsSection
from actors.alerts.core import AlertsCore
from actors.alerts.webhook import WebhookSink
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import Alert


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


def test_alerts_are_counted_and_filtered_by_level():
    sink = _Recorder()
    core = AlertsCore(AlertsSection(min_level="warning"), sink)
    runtime = DeterministicRuntime([lambda: core], VirtualClock(1))
    runtime.start()
    for level in ("info", "warning", "critical"):
        runtime.inject(Alert(level=level, source="t", text=level))
    assert dict(core.counts) == {"info": 1, "warning": 1, "critical": 1}
    assert [a.level for a in sink.sent] == ["warning", "critical"]


def test_webhook_posts_json_and_survives_a_dead_endpoint():
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        WebhookSink(AlertsSection(webhook_url=url)).send(Alert(ts=5, level="critical", source="risk", text="HALTED"))
    finally:
        server.shutdown()
    assert received == [{"level": "critical", "source": "risk", "text": "HALTED", "ts_ns": 5,
                         "summary": "[thetanode critical] risk: HALTED"}]
    dead = AlertsSection(webhook_url=f"http://127.0.0.1:{server.server_address[1]}/gone", webhook_timeout_s=0.2,
                         webhook_attempts=2)
    WebhookSink(dead).send(Alert(level="warning", source="t", text="nobody listens"))
