"""What every conformance script shares: one line per check, the tally, and calls to the
emulator's admin API (`/__emulator/…`, no auth, JSON)."""

import requests

RESULTS = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    """Records one check and prints `ok   name` or `FAIL name detail`."""
    if condition:
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name} {detail}")


def summary():
    """Prints `N passed, M failed`; answers the exit status (1 on any failure)."""
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


def admin_api(url):
    """A function calling the admin API of the emulator at `url`."""

    def admin(method, path, body=None):
        response = requests.request(method, f"{url}/__emulator/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    return admin
