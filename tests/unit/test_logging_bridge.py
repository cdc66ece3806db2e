import io
import logging

from loguru import logger

from actors.runtime.logging import configure_logging


def test_pykka_stdlib_logger_lands_in_loguru():
    sink = io.StringIO()
    configure_logging("DEBUG", sink=sink)
    try:
        logging.getLogger("pykka").error("actor exploded")
        assert "actor exploded" in sink.getvalue()
        assert "ERROR" in sink.getvalue()
    finally:
        logger.remove()
        logger.add(io.StringIO())
