"""The dashboard in a real browser (Debian's chromium through Selenium and chromedriver).

Run by scripts/dashboard-browser.sh, which starts a cluster with the dashboard on, the
Salesforce emulator and the brief's sync, and passes them in the environment. Checks:
the page asks for the token without it; with it, the sync appears, and while rows are
inserted its figures change on the page without reloading it; the token leaves the
address bar; the browser reports no script error (nor a refused inline script or style).
Waits are for conditions, with a deadline; a failure says what the page showed.

--screenshot PATH saves a screenshot; --load-minutes N first keeps the sync busy for N
minutes (varying rates, some slow answers) so the charts have something to show.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

URL = os.environ["DASHBOARD_URL"]
TOKEN = os.environ["DASHBOARD_TOKEN"]
PSQL = os.environ["DASHBOARD_PSQL"].split()
EMULATOR = os.environ["EMULATOR_URL"]
SYNC = "SF_Postgres_Accounts"
PATIENCE = 90


def sql(statement):
    subprocess.run(PSQL + ["-c", statement], check=True, stdout=subprocess.DEVNULL)


def insert(n, prefix):
    sql(
        "INSERT INTO accounts (account_name, industry_type) "
        f"SELECT '{prefix} ' || g, 'Technology' FROM generate_series(1, {n}) g"
    )


def faults(rules):
    """Replaces the emulator's fault rules (none: heals it)."""
    calls = [("DELETE", None)] + ([("POST", json.dumps({"rules": rules}).encode())] if rules else [])
    for method, body in calls:
        request = urllib.request.Request(
            f"{EMULATOR}/__emulator/faults", data=body, method=method,
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request).read()


def wait_for(what, check, describe):
    deadline = time.monotonic() + PATIENCE
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            sys.exit(f"dashboard browser test: timed out waiting for {what}; the page showed: {describe()}")
        time.sleep(0.2)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1440,900", "--hide-scrollbars"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def figure(driver, name):
    """A figure of the sync as the page shows it now (read in one step: the page redraws
    itself every few seconds)."""
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : null",
        f'section[data-sync="{SYNC}"] [data-figure="{name}"]')


def load(minutes):
    """Keeps the sync busy: a batch every few seconds, of varying size, with slow answers
    from the emulator now and then and a short spell of refused records."""
    end = time.monotonic() + minutes * 60
    i = 0
    while time.monotonic() < end:
        i += 1
        faults([{"endpoint": "collections", "kind": "latency", "latency_ms": 60 + 30 * (i % 5), "rate": 0.3}]
               + ([{"endpoint": "collections", "kind": "lock_row", "rate": 0.2}] if i % 20 == 10 else []))
        insert(3 + (i * 7) % 25, f"Load {i}")
        time.sleep(3)
    faults([])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshot")
    parser.add_argument("--load-minutes", type=float, default=0)
    args = parser.parse_args()
    if args.load_minutes:
        load(args.load_minutes)

    driver = browser()
    try:
        # Without the token: the form that asks for it, and nothing about the syncs.
        driver.get(URL + "/")
        wait_for("the token form", lambda: driver.find_elements(By.NAME, "token"), lambda: driver.page_source[:500])
        assert SYNC not in driver.page_source, "the page shows a sync without the token"
        driver.get_log("browser")  # drains the log of that (expected) 401

        driver.get(f"{URL}/?token={TOKEN}")
        pushed = wait_for("the sync's pushed figure", lambda: figure(driver, "pushed"),
                          lambda: driver.find_element(By.TAG_NAME, "body").text[:1000])
        assert TOKEN not in driver.current_url, "the token stayed in the address bar"

        # Rows inserted while the page is open: its figures change by themselves.
        insert(40, "Browser")
        wait_for("the pushed figure to change", lambda: figure(driver, "pushed") != pushed,
                 lambda: f"pushed {figure(driver, 'pushed')}, backlog {figure(driver, 'backlog')}")
        wait_for("the backlog to drain", lambda: figure(driver, "backlog") == "0",
                 lambda: f"backlog {figure(driver, 'backlog')}")
        latency = wait_for("latency percentiles", lambda: (figure(driver, "latency") or "—") != "—" and figure(driver, "latency"),
                           lambda: f"latency {figure(driver, 'latency')}")
        charts = driver.execute_script(
            "return document.querySelectorAll(arguments[0]).length",
            f'section[data-sync="{SYNC}"] [data-chart] polyline, section[data-sync="{SYNC}"] [data-chart] circle')
        assert charts, "no chart shows a line"
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, f"the browser reported errors: {errors}"
        print(f"dashboard browser test: pushed {pushed} -> {figure(driver, 'pushed')}, "
              f"latency {latency}, {charts} chart lines")
        print("dashboard: 1 passed, 0 failed")
        if args.screenshot:
            height = driver.execute_script("return Math.ceil(document.querySelector('main').getBoundingClientRect().bottom) + 8")
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": 1440, "height": height, "deviceScaleFactor": 1, "mobile": False})
            driver.save_screenshot(args.screenshot)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
