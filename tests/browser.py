"""Headless Chromium for the report tests (selenium with the Debian chromium-driver).

No tool downloads a browser: the driver and the browser come from the system's packages
(`apt-get install chromium chromium-driver`, as .ci/run does). `chromium()` returns None when
they are missing; the tests then skip outside CI and fail in CI (CI=true).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

DRIVER_PATHS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
BROWSER_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def find(paths, name) -> str | None:
    for p in paths:
        if Path(p).exists():
            return p
    return shutil.which(name)


def chromium(width: int = 1280, height: int = 900):
    """A headless Chromium driven by selenium, or None when the system has none."""
    driver_path, browser_path = find(DRIVER_PATHS, "chromedriver"), find(BROWSER_PATHS, "chromium")
    if driver_path is None or browser_path is None:
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an explicit Service path: selenium-manager never runs, so nothing is downloaded
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def open_report(driver, path: Path, timeout: float = 30.0) -> int:
    """Load a report and wait until every chart div has been drawn by plotly; the chart count."""
    driver.get(Path(path).resolve().as_uri())
    deadline = time.monotonic() + timeout
    script = ("const d = [...document.querySelectorAll('div.plotly-graph-div')];"
              "return [d.length, d.filter(x => x._fullLayout && x.querySelector('.main-svg')).length];")
    while True:
        total, drawn = driver.execute_script(script)
        if total == drawn:
            return total
        if time.monotonic() > deadline:
            raise TimeoutError(f"{drawn} of {total} charts drawn after {timeout} s")
        time.sleep(0.1)


def chart_data(driver, div_id: str) -> list[dict]:
    """The traces plotly holds for a chart (its `data`, as drawn)."""
    return driver.execute_script(
        "const d = document.getElementById(arguments[0]); if (!d) return null;"
        "return d.data.map(t => ({name: t.name, type: t.type, x: Array.from(t.x || []), y: Array.from(t.y || []),"
        " base: t.base ? Array.from(t.base) : null, customdata: t.customdata ? Array.from(t.customdata) : null}));",
        div_id)


def script_errors(driver) -> list[str]:
    """Errors the page caught (window.planErrors) and SEVERE console entries."""
    caught = driver.execute_script("return window.planErrors || ['planErrors missing: the page did not run'];")
    logged = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    return list(caught) + logged


def full_screenshot(driver, out: Path, width: int = 1280) -> None:
    """The whole page as one PNG (the window is stretched to the page's height)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 40, 16000))
    time.sleep(0.5)  # responsive charts redraw at the new size
    driver.save_screenshot(str(out))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


if __name__ == "__main__":  # python tests/browser.py REPORT.html OUT.png [HEIGHT]: the README's screenshot
    import sys

    driver = chromium(1280, int(sys.argv[3]) if len(sys.argv) > 3 else 1500)
    if driver is None:
        sys.exit("chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    try:
        open_report(driver, Path(sys.argv[1]))
        time.sleep(0.5)
        driver.save_screenshot(sys.argv[2])
    finally:
        driver.quit()
