"""The supervisor actor: restarts a failed actor with backoff from its journal, or stops the node."""

from __future__ import annotations

import time
from typing import Any

import pykka

from actors.runtime.config import SupervisorSection
from actors.runtime.host import SupervisedRuntime
from actors.runtime.routing import RUNTIME_ORIGIN
from actors.runtime.supervision import RestartPolicy
from messages import ActorFailed, ActorRestarted, Alert, NodeStopping


class SupervisorActor(pykka.ThreadingActor):
    use_daemon_thread = True  # a crashed main thread must not leave a process that looks alive

    def __init__(self, runtime: SupervisedRuntime, config: SupervisorSection) -> None:
        super().__init__()
        self._runtime = runtime
        self._policy = RestartPolicy(config)

    def on_receive(self, message: Any) -> None:
        if not isinstance(message, ActorFailed):
            return super().on_receive(message)
        decision = self._policy.on_failure(message.actor, self._runtime.clock.now())
        if not decision.restart:
            self._runtime.publish(Alert(level="critical", source="supervisor", text=decision.reason), origin=RUNTIME_ORIGIN)
            self._runtime.publish(NodeStopping(reason=decision.reason), origin=RUNTIME_ORIGIN)
            self._runtime.request_stop(decision.reason)
            return None
        # Backoff is wall time on purpose: it paces real restarts even when the node runs on a virtual clock.
        time.sleep(decision.delay_s)
        try:
            replayed = self._runtime.restart(message.actor, message.failed_seq)
        except Exception as exc:  # noqa: BLE001 - a failed rebuild must stop the node, not kill the supervisor
            reason = f"could not rebuild {message.actor}: {type(exc).__name__}: {exc}; stopping the node"
            self._runtime.publish(Alert(level="critical", source="supervisor", text=reason), origin=RUNTIME_ORIGIN)
            self._runtime.publish(NodeStopping(reason=reason), origin=RUNTIME_ORIGIN)
            self._runtime.request_stop(reason)
            return None
        self._runtime.publish(ActorRestarted(actor=message.actor, attempt=decision.attempt, replayed=replayed), origin=RUNTIME_ORIGIN)
        return None
