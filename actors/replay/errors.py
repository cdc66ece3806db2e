"""Why a session cannot be replayed: its own light module, so the CLI can name it without importing the replay (the
journal's pyarrow.dataset pulls in pandas, seconds before even `--help` or a stop signal handler)."""


class SessionReplayError(ValueError):
    """The session cannot be replayed (missing, or recorded without its config); the text says which."""
