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
