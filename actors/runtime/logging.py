"""Logging through loguru, with the stdlib loggers (pykka's among them) bridged into it."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from loguru import logger


class _InterceptHandler(logging.Handler):
    """Re-emits stdlib log records through loguru, keeping level, origin and exception."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = logging.currentframe(), 2
        while frame is not None and frame.f_code.co_filename == logging.__file__:
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def configure_logging(
    level: str = "INFO",
    sink: TextIO | str = sys.stderr,
    serialize: bool = False,
    log_file: str = "",
    rotation: str = "50 MB",
    retention: str = "14 days",
) -> None:
    """Human-readable lines to `sink`; with `log_file`, also structured JSON lines there, rotated and retained."""
    logger.remove()
    logger.add(sink, level=level, serialize=serialize, backtrace=False, diagnose=False)
    if log_file:
        logger.add(log_file, level=level, serialize=True, rotation=rotation, retention=retention, enqueue=True,
                   backtrace=False, diagnose=False)
    bridge_stdlib_logging()


def bridge_stdlib_logging() -> None:
    handler = _InterceptHandler()
    logging.basicConfig(handlers=[handler], level=logging.INFO, force=True)
    pykka_logger = logging.getLogger("pykka")
    pykka_logger.handlers = [handler]
    pykka_logger.propagate = False
    pykka_logger.setLevel(logging.INFO)
