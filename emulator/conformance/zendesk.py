"""Drives a running `hubsync-emulator zendesk` with zenpy 2.0.57 and checks what a real
client sees: CRUD, create_or_update, bulk jobs, show_many, cursor listing, incremental
exports (time- and cursor-based), custom field definitions, errors and 429 handling.
Prints one line per check and `N passed, M failed`; exits 1 on failure.

zenpy speaks https to {subdomain}.zendesk.com; ZENPY_FORCE_NETLOC / ZENPY_FORCE_SCHEME
(read at every URL build, zenpy/lib/api.py `_build_url`) aim it at the emulator."""

import os
import sys
import time

URL = sys.argv[1].rstrip("/")
os.environ["ZENPY_FORCE_NETLOC"] = URL.split("://", 1)[1]
os.environ["ZENPY_FORCE_SCHEME"] = URL.split("://", 1)[0]

import checks  # noqa: E402
import requests  # noqa: E402
from checks import check  # noqa: E402
from zenpy import Zenpy  # noqa: E402
from zenpy.lib.api_objects import Organization, User  # noqa: E402
from zenpy.lib.exception import APIException, RecordNotFoundException, TooManyValuesException  # noqa: E402

EMAIL = "demo@hubsync.local"
T0 = 1_695_053_000  # 2023-09-18, long before "now": old enough for every export check


def admin(method, path, body=None):
    return checks.admin(URL, method, path, body)


def stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def client(**credentials):
    return Zenpy(subdomain="hubsync", disable_cache=True, **credentials)


def finished(zd, job, deadline=20.0):
    """Polls a job until it completes (zenpy does not poll by itself)."""
    end = time.monotonic() + deadline
    while True:
        status = zd.job_status(id=job.id)
        if status.status in ("completed", "failed", "killed") or time.monotonic() > end:
            return status
        time.sleep(0.05)


def raises(kind, action):
    try:
        action()
    except kind as e:
        return e
    return None


def crud(zd):
    me = zd.users.me()
    check("users.me answers the agent", me.email == EMAIL, me.email)
    oauth = client(oauth_token="hubsync-demo-oauth-token").users.me()
    check("an OAuth bearer token signs in", oauth.email == EMAIL)
    bad = raises(APIException, lambda: client(email=EMAIL, token="wrong").users.me())
    check("a wrong token is refused", bad is not None and "Couldn't authenticate you" in str(bad), str(bad))

    org = zd.organizations.create(
        Organization(name="Globex Inc", external_id="crm-42", domain_names=["globex.example"], tags=["vip"],
                     organization_fields={"tier": "gold", "seats": 12})
    )
    check("create answers a 64-bit id", isinstance(org.id, int) and org.id > 2**32, org.id)
    check("created_at is a datetime", org.created.year >= 2024, org.created_at)
    check("custom fields come back", org.organization_fields == {"tier": "gold", "seats": 12, "hubsync_id": None,
                                                                  "renewal": None}, org.organization_fields)
    shown = zd.organizations(id=org.id)
    check("show by id", shown.name == "Globex Inc" and shown.domain_names == ["globex.example"])
    shown.notes = "key account"
    updated = zd.organizations.update(shown)
    check("update answers the record", updated.notes == "key account" and updated.tags == ["vip"])
    dup = raises(APIException, lambda: zd.organizations.create(Organization(name="globex inc")))
    check("a taken name is DuplicateValue", dup is not None and "DuplicateValue" in str(dup), str(dup))
    upserted = zd.organizations.create_or_update(Organization(name="Globex Incorporated", external_id="CRM-42"))
    check("create_or_update matches the external id", upserted.id == org.id and upserted.name == "Globex Incorporated")
    check("show_many by external_ids", [o.id for o in zd.organizations(external_ids=["crm-42"])] == [org.id])
    found = zd.organizations.external("crm-42")
    check("organizations.external finds by external_id", [o.id for o in found] == [org.id])
    zd.organizations.delete(upserted)
    gone = raises(RecordNotFoundException, lambda: zd.organizations(id=org.id))
    check("a deleted organization is RecordNotFound", gone is not None)
    missing = raises(RecordNotFoundException, lambda: zd.organizations(id=9223372036854775807))
    check("an unknown id is RecordNotFound", missing is not None)

    home = zd.organizations.create(Organization(name="Initech"))
    user = zd.users.create(User(name="Jane Roe", email="Jane@Initech.example", organization_id=home.id,
                                user_fields={"vip": True}))
    check("user create", user.email == "jane@initech.example" and user.organization_id == home.id
          and user.role == "end-user" and user.user_fields["vip"] is True)
    same = zd.users.create_or_update(User(name="Jane R.", email="jane@initech.example", external_id="u-1"))
    check("users.create_or_update matches the email", same.id == user.id and same.name == "Jane R.")
    check("users(external_id=) finds the user", [u.id for u in zd.users(external_id="u-1")] == [user.id])
    bad_email = raises(APIException, lambda: zd.users.create(User(name="X", email="not-an-email")))
    check("an invalid email is RecordInvalid", bad_email is not None and "RecordInvalid" in str(bad_email))
    deleted = zd.users.delete(same)
    check("user delete is a soft delete", deleted.active is False, deleted)
    check("a deleted user still shows", zd.users(id=user.id).active is False)


def bulk(zd):
    first = zd.organizations.create([Organization(name=f"Bulk {n:03}") for n in range(100)])
    check("create_many answers a queued job", first.status == "queued" and first.total == 100, first.status)
    second = zd.organizations.create([Organization(name=f"Bulk {n:03}") for n in range(100, 120)] +
                                     [Organization(name="Bulk 000")])
    done = finished(zd, first)
    check("the job completes with a result per item", done.status == "completed" and len(done.results) == 100,
          done.status)
    check("create results carry id and Created", all(r.status == "Created" and r.id for r in done.results))
    done = finished(zd, second)
    failed = [r for r in done.results if getattr(r, "error", None)]
    check("a failing item is reported with its index", len(failed) == 1 and failed[0].index == 20,
          [vars(r) for r in failed])
    too_many = raises(TooManyValuesException,
                      lambda: zd.organizations.create([Organization(name=f"X{n}") for n in range(101)]))
    check("more than 100 is TooManyValues", too_many is not None)

    listed = [o for o in zd.organizations() if o.name.startswith("Bulk ")]
    check("cursor listing walks past the first page", len(listed) == 120, len(listed))
    ids = [o.id for o in listed]
    check("show_many by ids", sorted(o.id for o in zd.organizations(ids=ids[:5])) == sorted(ids[:5]))

    picked = listed[:3]
    for o in picked:
        o.notes = "bulk updated"
    done = finished(zd, zd.organizations.update(picked))
    check("update_many updates each", done.status == "completed" and
          all(r.status == "Updated" and r.success for r in done.results), [vars(r) for r in done.results])
    check("update_many really wrote", all(zd.organizations(id=o.id).notes == "bulk updated" for o in picked))
    by_external = zd.organizations.create(Organization(name="Bulk external", external_id="bulk-ext"))
    by_external.notes = "by external id"
    done = finished(zd, zd.organizations.update_by_external_id([by_external]))
    check("update_by_external_id updates the record", done.status == "completed" and
          zd.organizations(id=by_external.id).notes == "by external id", [vars(r) for r in done.results])
    done = finished(zd, zd.organizations.delete(listed[3:5]))
    check("destroy_many deletes each", done.status == "completed" and len(done.results) == 2)
    check("destroyed organizations are gone",
          raises(RecordNotFoundException, lambda: zd.organizations(id=listed[3].id)) is not None)

    done = finished(zd, zd.users.create([User(name=f"Bulk user {n}", email=f"bulk{n}@x.example") for n in range(3)]))
    check("users create_many", done.status == "completed" and len(done.results) == 3)
    job = zd.users.create_or_update([User(name="Bulk user zero", email="bulk0@x.example"),
                                     User(name="Bulk user new", email="bulknew@x.example")])
    done = finished(zd, job)
    statuses = sorted(r.status for r in done.results)
    check("users create_or_update_many creates and updates", statuses == ["Created", "Updated"], statuses)


def exports(zd):
    admin("POST", "reset")
    org = lambda name, t: {"name": name, "created_at": stamp(t), "updated_at": stamp(t)}  # noqa: E731
    loaded = admin("POST", "load", {
        "organizations": [org("E0", T0), org("E1", T0), org("E2", T0 + 10), org("E3", T0 + 10), org("E4", T0 + 20)],
        "users": [{"name": f"U{n}", "created_at": stamp(T0 + n), "updated_at": stamp(T0 + n)} for n in range(5)],
    })
    rows = list(zd.organizations.incremental(start_time=T0, per_page=3))
    ids = [o.id for o in rows]
    check("the time-based export reaches every organization", sorted(set(ids)) == sorted(loaded["organizations"]),
          ids)
    check("rows of the page's last second come again", len(ids) == 7 and len(set(ids)) == 5, ids)
    by_time = list(zd.users.incremental(start_time=T0, per_page=10, paginate_by_time=True))
    check("the time-based user export", sorted(u.id for u in by_time) == sorted(loaded["users"]))
    users = list(zd.users.incremental(start_time=T0, per_page=2))
    check("the cursor export pages users without duplicates", [u.id for u in users] == loaded["users"],
          [u.id for u in users])

    doomed = zd.organizations(id=loaded["organizations"][0])
    zd.organizations.delete(doomed)
    zd.users.delete(zd.users(id=loaded["users"][0]))
    admin("POST", "clock", {"advanceSeconds": 61})
    since = list(zd.organizations.incremental(start_time=T0 + 30))
    check("a deleted organization comes back with deleted_at",
          [o.id for o in since] == [doomed.id] and since[0].deleted_at is not None, [vars(o) for o in since])
    changed = list(zd.users.incremental(start_time=T0 + 30))
    check("a deleted user comes back inactive", [(u.id, u.active) for u in changed] == [(loaded["users"][0], False)])


def limits_and_fields(zd):
    fields = list(zd.organization_fields())
    check("organization_fields lists the schema", [f.key for f in fields] == ["hubsync_id", "tier", "seats", "renewal"])
    check("dropdown options are served", [o.value for o in fields[1].custom_field_options] == ["gold", "silver", "bronze"])
    check("user_fields lists the schema", [f.key for f in zd.user_fields()] == ["hubsync_id", "vip", "employee_code"])

    admin("PUT", "faults", {"rules": [{"endpoint": "read", "kind": "rate_limited", "next": 1, "retry_after_secs": 1}]})
    started = time.monotonic()
    me = zd.users.me()
    check("zenpy waits out a 429's Retry-After and retries", me.email == EMAIL and time.monotonic() - started >= 1)
    check("the 429 was served", admin("GET", "counters")["faultsInjected"].get("rate_limited") == 1)
    admin("DELETE", "faults")
    response = requests.get(f"{URL}/api/v2/users/me.json", auth=(f"{EMAIL}/token", "hubsync-demo-token"), timeout=30)
    check("rate-limit headers on every answer",
          all(h in response.headers for h in ("x-rate-limit", "x-rate-limit-remaining", "ratelimit-limit",
                                              "ratelimit-remaining", "ratelimit-reset")), dict(response.headers))


def main():
    zd = client(email=EMAIL, token="hubsync-demo-token")
    for step in (crud, bulk, exports, limits_and_fields):
        try:
            step(zd)
        except Exception as e:  # a client-side crash is a failed check, not a stop
            check(f"{step.__name__} ran to the end", False, repr(e))
    sys.exit(checks.summary())


if __name__ == "__main__":
    main()
