"""Exit codes of every `thetanode` command, for people and for process supervisors (README, "Exit codes")."""

EXIT_OK = 0
"""Done, or stopped on request with everything flushed and no order working."""
EXIT_FAILED = 1
"""A demo or replay whose outcome failed (an expectation, no trade closed)."""
EXIT_BAD_INPUT = 2
"""Bad config or arguments, an unusable lake, another node already writes the lake, or a cause only an operator can
fix found while running (IB refusing the client id, `StopNode`): do not restart."""
EXIT_ORDERS_WORKING = 3
"""Stopped on request, but orders were still working at the broker after `service.shutdown_timeout_s`."""
EXIT_UNFLUSHED = 4
"""Stopped, but the final journal flush failed (the messages went to the write-ahead log, or were lost)."""
EXIT_LAKE_DAMAGED = 65
"""The lake cannot be read back (truncated data file, gap in a Delta log): do not restart, repair it."""
EXIT_RESTART_ME = 75
"""The node stopped itself (an actor kept failing, the lake's lease was lost): restart it."""
