"""Shared by the conformance scripts: pass/fail bookkeeping and the emulator's admin API
(standard library only, so it serves whatever client a script drives)."""

import json
import urllib.request

RESULTS = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    """Records and prints one check."""
    if condition:
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name} {detail}")


def admin(url, method, path, body=None):
    """Calls `/__emulator/<path>` of the emulator at `url`; raises on a non-2xx answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}/__emulator/{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def summary():
    """Prints the totals; the exit code (1 when a check failed)."""
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0
