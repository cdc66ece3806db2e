"""A real headless Chromium driven by selenium through Debian's chromedriver, for the dashboard and report tests.

Tests that need it skip (with the reason) only when Chromium is not installed; `.ci/run` installs it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists()
                                                else None)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000")

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver; .ci/run does)")


@contextmanager
def chromium(profile_dir: Path, offline: bool = False) -> Iterator[object]:
    """A headless Chromium with a fresh profile; `offline` points every request at a dead proxy, so a page that
    tried to load anything from the network would show the failure as a console error."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    if offline:
        options.add_argument("--proxy-server=127.0.0.1:9")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list[str]:  # noqa: ANN001 - selenium WebDriver
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def start_dashboard(*args: str, log: Path, env: dict[str, str] | None = None):  # noqa: ANN201 - (Popen, url)
    """`thetanode dashboard ARGS --port 0` in its own process; returns it and the URL it announced."""
    import re
    import subprocess
    import sys
    import time

    repo = Path(__file__).resolve().parents[2]
    out = log.open("w")
    process = subprocess.Popen([sys.executable, "-m", "actors.cli", "dashboard", *args, "--port", "0"], cwd=repo,
                               stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", log.read_text())
        if found:
            return process, found.group(0)
        if process.poll() is not None:
            raise AssertionError(f"dashboard exited {process.returncode}: {log.read_text()}")
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"dashboard did not announce its URL: {log.read_text()}")


def stop(process) -> int:  # noqa: ANN001 - subprocess.Popen
    process.terminate()
    try:
        return process.wait(timeout=30)
    except Exception:
        process.kill()
        raise
