"""Drives a running `hubsync-emulator netsuite` with the PyPI client `netsuite` 0.12.0
(Token-Based Authentication through authlib) and checks what a real client sees: record
CRUD, upsert by external id, listing with q, SuiteQL paging and the deleted-record table,
and the error envelope. Prints one line per check and `N passed, M failed`; exits 1 on
failure.

The client has no base-URL option; as the reference says, a subclass overrides
`_make_url`, so the client signs the URL it really calls (the emulator's)."""

import asyncio
import os
import sys

# This file is named like the package it drives: keep its folder off the import path
# while the package loads, then put it back for the shared helpers.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import warnings  # noqa: E402

# authlib forces its notice that its httpx integration is deprecated; it is not ours to fix.
from authlib.deprecate import AuthlibDeprecationWarning  # noqa: E402

warnings.simplefilter("ignore", AuthlibDeprecationWarning)

import httpx  # noqa: E402
from netsuite import Config, NetSuite, TokenAuth  # noqa: E402
from netsuite.exceptions import NetsuiteAPIRequestError  # noqa: E402
from netsuite.rest_api import NetSuiteRestApi  # noqa: E402

sys.path.insert(0, HERE)
import checks  # noqa: E402
from checks import check  # noqa: E402

URL = sys.argv[1].rstrip("/")


class EmulatorRestApi(NetSuiteRestApi):
    """The package's REST client, aimed at the emulator."""

    def _make_url(self, subpath):
        return f"{URL}/services/rest{subpath}"


def admin(method, path, body=None):
    return checks.admin(URL, method, path, body)


def client(**overrides):
    auth = dict(
        consumer_key="hubsync-demo-consumer-key",
        consumer_secret="hubsync-demo-consumer-secret",
        token_id="hubsync-demo-token-id",
        token_secret="hubsync-demo-token-secret",
    )
    auth.update(overrides)
    config = Config(account="1234567", auth=TokenAuth(**auth))
    return EmulatorRestApi(config)


async def error_of(call):
    """(status, o:errorCode) of a call that must fail."""
    try:
        await call
    except NetsuiteAPIRequestError as e:
        body = httpx.Response(e.status_code, text=e.response_text).json()
        return e.status_code, body["o:errorDetails"][0]["o:errorCode"]
    return None, None


async def main():
    admin("POST", "reset")
    ns = client()
    check("the package's NetSuite facade builds", NetSuite(Config(account="1234567", auth=ns._config.auth)) is not None)

    # Create: 204 with the new id in Location (the package's post() drops it).
    created = await ns.request(
        "POST",
        "/record/v1/customer",
        json={"companyName": "Globex Inc", "email": "ap@globex.example", "subsidiary": {"id": "1"}, "externalId": "crm-42"},
    )
    check("POST customer answers 204", created.status_code == 204, created.text)
    location = created.headers.get("location", "")
    customer_id = location.rsplit("/", 1)[-1]
    check("Location holds the new internal id", customer_id.isdigit(), location)

    record = await ns.get(f"/record/v1/customer/{customer_id}")
    check("GET returns the record with a string id", record["id"] == customer_id and record["companyName"] == "Globex Inc", record)
    check("references read as {links, id, refName}", record["subsidiary"]["id"] == "1" and "refName" in record["subsidiary"], record)
    check("dateCreated and lastModifiedDate are ISO-8601 UTC", record["dateCreated"].endswith("Z") and record["lastModifiedDate"].endswith("Z"), record)
    check("entityId is derived from the company name", record.get("entityId") == "Globex Inc", record)

    updated = await ns.patch(f"/record/v1/customer/{customer_id}", json={"phone": "555-0100"})
    check("PATCH answers 204 (the package returns None)", updated is None)
    record = await ns.get(f"/record/v1/customer/{customer_id}")
    check("PATCH changed only the given field", record["phone"] == "555-0100" and record["email"] == "ap@globex.example", record)

    by_eid = await ns.get("/record/v1/customer/eid:crm-42")
    check("GET by eid: finds the same record", by_eid["id"] == customer_id, by_eid)

    # Upsert by external id: the first PUT creates, the second updates the same record.
    first = await ns.request("PUT", "/record/v1/customer/eid:crm-43", json={"companyName": "Initech", "subsidiary": {"id": "1"}})
    check("PUT eid: creates (204 + Location)", first.status_code == 204 and "location" in first.headers, first.text)
    upsert_id = first.headers.get("location", "").rsplit("/", 1)[-1]
    second = await ns.request("PUT", "/record/v1/customer/eid:crm-43", json={"email": "hq@initech.example"})
    check("PUT eid: again updates the same record", second.headers.get("location", "").endswith(f"/{upsert_id}"), second.text)
    record = await ns.get("/record/v1/customer/eid:crm-43")
    check("the upserted record holds both writes", record["companyName"] == "Initech" and record["email"] == "hq@initech.example" and record["externalId"] == "crm-43", record)

    contact = await ns.request(
        "POST",
        "/record/v1/contact",
        json={"firstName": "Jane", "lastName": "Roe", "email": "jane@globex.example", "company": {"id": customer_id}, "subsidiary": {"id": "1"}, "externalId": "crm-contact-7"},
    )
    contact_id = contact.headers.get("location", "").rsplit("/", 1)[-1]
    record = await ns.get(f"/record/v1/contact/{contact_id}")
    check("a contact references its company", record["company"]["id"] == customer_id and record["entityId"] == "Jane Roe", record)

    # Errors in NetSuite's envelope.
    status, code = await error_of(ns.post("/record/v1/customer", json={"companyName": "Globex Inc", "subsidiary": {"id": "1"}}))
    check("a duplicate entity is 400 USER_ERROR", (status, code) == (400, "USER_ERROR"), (status, code))
    status, code = await error_of(ns.post("/record/v1/customer", json={"email": "x@example.com", "subsidiary": {"id": "1"}}))
    check("a missing company name is 400 USER_ERROR", (status, code) == (400, "USER_ERROR"), (status, code))
    status, code = await error_of(ns.get("/record/v1/customer/999999"))
    check("an unknown id is 404 NONEXISTENT_ID", (status, code) == (404, "NONEXISTENT_ID"), (status, code))
    status, code = await error_of(ns.post("/record/v1/customer", json={"companyName": "X", "subsidiary": {"id": "77"}}))
    check("an unknown reference is 400 INVALID_CONTENT", (status, code) == (400, "INVALID_CONTENT"), (status, code))
    status, code = await error_of(ns.post("/record/v1/customer", json={"companyName": "Y", "subsidiary": {"id": "1"}, "nosuchfield": 1}))
    check("an unknown property is refused (X-NetSuite-PropertyNameValidation: error)", (status, code) == (400, "INVALID_CONTENT"), (status, code))
    status, code = await error_of(client(token_secret="wrong").get(f"/record/v1/customer/{customer_id}"))
    check("a wrong token secret is 401 INVALID_LOGIN", (status, code) == (401, "INVALID_LOGIN"), (status, code))

    # Listing with q.
    listing = await ns.get("/record/v1/customer", params={"q": 'email START_WITH "ap@"', "limit": 10})
    check("q filters the listing", [i["id"] for i in listing["items"]] == [customer_id] and listing["totalResults"] == 1, listing)
    page = await ns.get("/record/v1/customer", params={"limit": 1, "offset": 0})
    check("listing pages with hasMore and a next link", page["hasMore"] and page["count"] == 1 and any(l["rel"] == "next" for l in page["links"]), page)

    # SuiteQL through the package's helper (Prefer: transient, limit/offset in the URL).
    rows = await ns.suiteql(q="SELECT id, companyname, isperson, phone FROM customer ORDER BY id", limit=1000)
    items = rows["items"]
    check("SuiteQL answers lower-case columns and string values", items[0]["id"] == customer_id and items[0]["companyname"] == "Globex Inc", items)
    check("SuiteQL booleans are T/F", items[0]["isperson"] == "F", items)
    check("SuiteQL omits null columns", "phone" in items[0] and "phone" not in items[1], items)
    first_page = await ns.suiteql(q="SELECT id FROM customer ORDER BY id", limit=1, offset=0)
    second_page = await ns.suiteql(q="SELECT id FROM customer ORDER BY id", limit=1, offset=1)
    check(
        "SuiteQL pages by offset with hasMore and totalResults",
        first_page["hasMore"] and not second_page["hasMore"] and first_page["totalResults"] == 2 and second_page["items"][0]["id"] == upsert_id,
        (first_page, second_page),
    )
    clock = admin("GET", "clock")["now"]  # 2026-01-01T12:00:00.000+0000
    since = clock[:10] + " 00:00:00"
    modified = await ns.suiteql(
        q=(
            "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodified FROM customer "
            f"WHERE lastmodifieddate >= TO_TIMESTAMP('{since}', 'YYYY-MM-DD HH24:MI:SS') ORDER BY lastmodifieddate, id"
        ),
        limit=1000,
    )
    check("TO_TIMESTAMP/TO_CHAR watermark query finds today's changes", modified["count"] == 2 and len(modified["items"][0]["lastmodified"]) == 19, modified)
    counted = await ns.suiteql(q="SELECT COUNT(*) AS n FROM customer")
    check("SuiteQL COUNT(*) counts the customers", counted["items"] == [{"links": [], "n": "2"}], counted)
    status, code = await error_of(ns.suiteql(q="SELECT foo FROM customer"))
    check("an unknown SuiteQL field is 400 USER_ERROR", (status, code) == (400, "USER_ERROR"), (status, code))
    status, code = await error_of(ns.suiteql(q="SELECT c.id FROM customer c JOIN contact t ON t.company = c.id"))
    check("a query the emulator cannot answer is refused, not guessed", (status, code) == (400, "USER_ERROR"), (status, code))

    # Deletes reach the deleted-record table.
    deleted = await ns.delete(f"/record/v1/contact/{contact_id}")
    check("DELETE answers 204", deleted is None)
    status, code = await error_of(ns.get(f"/record/v1/contact/{contact_id}"))
    check("a deleted record is 404", status == 404, status)
    gone = await ns.suiteql(q="SELECT recordid, type FROM deletedrecord ORDER BY deleteddate", limit=10)
    check("deletedrecord lists the deleted contact", gone["items"] == [{"links": [], "recordid": contact_id, "type": "contact"}], gone)

    sys.exit(checks.summary())


asyncio.run(main())
