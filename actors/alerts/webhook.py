"""Webhook sink: POSTs an alert as JSON, retrying with backoff; a dead endpoint is logged, never fatal."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from loguru import logger
from tenacity import RetryError, retry, stop_after_attempt, wait_exponential

from actors.alerts.config import AlertsSection
from messages import Alert


class WebhookSink:
    def __init__(self, params: AlertsSection) -> None:
        self._params = params

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(
            self._params.webhook_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=self._params.webhook_timeout_s) as response:  # noqa: S310
            if response.status >= 300:
                raise urllib.error.HTTPError(self._params.webhook_url, response.status, "webhook refused", None, None)

    def send(self, alert: Alert) -> None:
        body = json.dumps(
            {"level": alert.level, "source": alert.source, "text": alert.text, "ts_ns": alert.ts,
             "summary": f"[thetanode {alert.level}] {alert.source}: {alert.text}"}
        ).encode()
        post = retry(
            stop=stop_after_attempt(max(self._params.webhook_attempts, 1)),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=False,
        )(self._post)
        try:
            post(body)
        except (RetryError, OSError) as exc:
            logger.error(f"alert webhook {self._params.webhook_url} failed after retries: {exc}")
