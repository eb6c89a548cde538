"""Drives a running hubsync-emulator with real clients and checks what they see:
simple-salesforce for REST and Bulk API 2.0 (`sf.bulk2`), aiosfstream-ng (a CometD
client for Salesforce's Streaming API) for Change Data Capture. Prints one line per
check and `N passed, M failed`; exits 1 on failure."""

import asyncio
import csv
import io
import logging
import sys
from datetime import datetime, timedelta, timezone

import aiohttp
import requests
from aiosfstream_ng import Client as StreamingClient
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.replay import ReplayMarker
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

URL = sys.argv[1].rstrip("/")
HOSTPORT = URL.split("://", 1)[1]
RESULTS = {"passed": 0, "failed": 0}


class Rewrite(requests.Session):
    """simple-salesforce always speaks https to login.salesforce.com and the instance;
    send both to the plain-HTTP emulator instead."""

    def request(self, method, url, *args, **kwargs):
        url = url.replace("https://login.salesforce.com", URL).replace("https://" + HOSTPORT, URL)
        return super().request(method, url, *args, **kwargs)


def check(name, condition, detail=""):
    if condition:
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name} {detail}")


def admin(method, path, body=None):
    response = requests.request(method, f"{URL}/__emulator/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def login():
    return Salesforce(
        username="demo@hubsync.local",
        password="demo-password",
        consumer_key="hubsync-demo-client",
        consumer_secret="hubsync-demo-secret",
        session=Rewrite(),
        version="59.0",
    )


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def bulk2_checks(sf):
    """Bulk API 2.0 through simple-salesforce's own job loop (create, upload,
    UploadComplete, poll, results)."""
    records = [{"Name": f"Bulk2 {i:03d}", "Hubsync_Id__c": f"B2-{i:03d}"} for i in range(250)]
    records.append({"Name": "", "Hubsync_Id__c": "B2-bad"})
    result = sf.bulk2.Account.insert(records=records, wait=0.1)
    check(
        "bulk2 insert processes every row and reports the failed one",
        result[0]["numberRecordsProcessed"] == 251 and result[0]["numberRecordsFailed"] == 1,
        result,
    )
    job = result[0]["job_id"]
    saved = rows(sf.bulk2.Account.get_successful_records(job))
    check(
        "bulk2 successfulResults carry sf__Id and sf__Created",
        len(saved) == 250 and all(r["sf__Id"].startswith("001") and r["sf__Created"] == "true" for r in saved),
        saved[:1],
    )
    failed = rows(sf.bulk2.Account.get_failed_records(job))
    check(
        "bulk2 failedResults carry sf__Error",
        len(failed) == 1 and failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:"),
        failed,
    )
    unprocessed = sf.bulk2.Account.get_unprocessed_records(job)
    check("bulk2 unprocessedRecords of a finished job is empty", rows(unprocessed) == [], unprocessed)

    upsert = [{"Hubsync_Id__c": "B2-000", "Phone": "555 0199"}, {"Hubsync_Id__c": "B2-new", "Name": "Bulk2 new"}]
    result = sf.bulk2.Account.upsert(records=upsert, external_id_field="Hubsync_Id__c", wait=0.1)
    job = result[0]["job_id"]
    created = sorted(r["sf__Created"] for r in rows(sf.bulk2.Account.get_successful_records(job)))
    check("bulk2 upsert by external id updates and inserts", created == ["false", "true"], created)
    check(
        "bulk2 upsert is visible over REST",
        sf.Account.get_by_custom_id("Hubsync_Id__c", "B2-000")["Phone"] == "555 0199",
    )

    pages = list(
        sf.bulk2.Account.query("SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk2%'", max_records=100, wait=0.1)
    )
    counts = [len(rows(page)) for page in pages]
    check("bulk2 query pages with Sforce-Locator", counts == [100, 100, 51], counts)

    doomed = [{"Id": r["sf__Id"]} for r in saved[:10]]
    result = sf.bulk2.Account.delete(records=doomed, wait=0.1)
    left = sf.query("SELECT COUNT() FROM Account WHERE Name LIKE 'Bulk2%'")["totalSize"]
    check("bulk2 delete", result[0]["numberRecordsProcessed"] == 10 and left == 241, (result, left))


class EmulatorAuthenticator(AuthenticatorBase):
    """The password flow against the emulator's token endpoint (aiosfstream always
    posts to login.salesforce.com)."""

    async def _authenticate(self):
        form = {
            "grant_type": "password",
            "client_id": "hubsync-demo-client",
            "client_secret": "hubsync-demo-secret",
            "username": "demo@hubsync.local",
            "password": "demo-password",
        }
        async with aiohttp.ClientSession() as session:
            response = await session.post(f"{URL}/services/oauth2/token", data=form)
            return response.status, await response.json()


async def receive(client, what):
    try:
        return await asyncio.wait_for(client.receive(), 30)
    except asyncio.TimeoutError:
        check(what, False, "no event within 30 s")
        raise


async def cdc_checks(sf):
    """Change Data Capture through aiosfstream-ng: subscribe, receive, replay from a
    stored replay id, and survive a lost session (403::Unknown client) by handshaking
    again and resubscribing from its stored replay id."""
    channel = "/data/AccountChangeEvent"
    origin = {"Sforce-Call-Options": "client=conformance"}
    markers = {}
    async with StreamingClient(EmulatorAuthenticator(), replay=markers) as client:
        await client.subscribe(channel)
        created = await asyncio.to_thread(sf.Account.create, {"Name": "CDC 1"}, headers=origin)
        event = await receive(client, "CDC create event")
        header = event["data"]["payload"]["ChangeEventHeader"]
        check(
            "CDC create event with its header",
            header["changeType"] == "CREATE"
            and header["recordIds"] == [created["id"]]
            and header["entityName"] == "Account"
            and header["changeOrigin"].endswith(";client=conformance")
            and event["data"]["payload"]["Name"] == "CDC 1",
            event,
        )
        first_replay = event["data"]["event"]["replayId"]
        first_date = str(header["commitTimestamp"])
        await asyncio.to_thread(sf.Account.update, created["id"], {"Phone": "1"})
        event = await receive(client, "CDC update event")
        header = event["data"]["payload"]["ChangeEventHeader"]
        check(
            "CDC update event lists changed fields",
            header["changeType"] == "UPDATE" and "Phone" in header["changedFields"],
            header,
        )
        check("the client stored the replay id", markers[channel].replay_id == event["data"]["event"]["replayId"], markers)

        await asyncio.to_thread(admin, "POST", "streaming/forget-clients")
        await asyncio.to_thread(sf.Account.update, created["id"], {"Phone": "2"})
        event = await receive(client, "CDC event after a lost session")
        check(
            "after 403::Unknown client the client handshakes again and resumes",
            event["data"]["payload"].get("Phone") == "2",
            event,
        )

    stored = {channel: ReplayMarker(date=first_date, replay_id=first_replay)}
    async with StreamingClient(EmulatorAuthenticator(), replay=stored) as late:
        await late.subscribe(channel)
        event = await receive(late, "CDC replay from a stored id")
        header = event["data"]["payload"]["ChangeEventHeader"]
        check(
            "a new client replays from a stored replay id",
            header["changeType"] == "UPDATE" and event["data"]["event"]["replayId"] > first_replay,
            event,
        )


def emulator_now():
    text = admin("GET", "clock")["now"]  # 2026-01-01T12:00:00.000+0000
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def main():
    # aiocometd logs the cancelled long poll of a closing client as an error.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    sf = login()
    check("password login sets the instance", sf.sf_instance == HOSTPORT, sf.sf_instance)

    describe = sf.Account.describe()
    ext = [f for f in describe["fields"] if f["name"] == "Hubsync_Id__c"]
    check("describe lists the external id field", ext and ext[0]["externalId"] and ext[0]["unique"])

    created = sf.Account.create({"Name": "Conformance", "AnnualRevenue": 15000000})
    check("create", created["success"] and created["id"].startswith("001") and created["errors"] == [], created)
    account_id = created["id"]
    record = sf.Account.get(account_id)
    check("get", record["Name"] == "Conformance" and record["attributes"]["type"] == "Account", record)
    check("currency reads back as a number", record["AnnualRevenue"] == 15000000.0, record["AnnualRevenue"])

    status = sf.Account.update(account_id, {"Phone": "555 0100"})
    check("update answers 204", status == 204, status)
    check("update is visible", sf.Account.get(account_id)["Phone"] == "555 0100")

    first = sf.Account.upsert("Hubsync_Id__c/C-1", {"Name": "Upserted"})
    second = sf.Account.upsert("Hubsync_Id__c/C-1", {"Name": "Upserted again"})
    check("upsert inserts then updates", (first, second) == (201, 200), (first, second))
    by_ext = sf.Account.get_by_custom_id("Hubsync_Id__c", "C-1")
    check("get by external id", by_ext["Name"] == "Upserted again", by_ext)

    try:
        sf.Account.create({"Phone": "1"})
        check("missing Name is refused", False)
    except SalesforceMalformedRequest as error:
        check("missing Name is refused", error.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING", error.content)
    try:
        sf.Account.get("001xx0000000zzzAAA")
        check("unknown id is not found", False)
    except SalesforceResourceNotFound as error:
        check("unknown id is not found", error.content[0]["errorCode"] == "NOT_FOUND", error.content)

    for batch in range(11):
        records = [{"attributes": {"type": "Account"}, "Name": f"Bulk {batch:02d}-{i:03d}"} for i in range(200)]
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
        if not all(r["success"] for r in results):
            check("collection create", False, results[:2])
            break
    else:
        check("collection create of 2,200 records", True)

    page = sf.query("SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk%' ORDER BY Name")
    check(
        "first page has 2,000 rows and a next url",
        page["totalSize"] == 2200 and not page["done"] and len(page["records"]) == 2000
        and page["nextRecordsUrl"].startswith("/services/data/v59.0/query/"),
        {k: page[k] for k in ("totalSize", "done")},
    )
    more = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    check("query_more returns the rest", more["done"] and len(more["records"]) == 200, len(more["records"]))
    everything = sf.query_all("SELECT Id FROM Account WHERE Name LIKE 'Bulk%'")
    check("query_all pages through 2,200 records", len(everything["records"]) == 2200, len(everything["records"]))

    doomed = sf.Account.create({"Name": "Doomed"})["id"]
    check("delete answers 204", sf.Account.delete(doomed) == 204)
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{doomed}'"
    check("query hides deleted rows", sf.query(soql)["totalSize"] == 0)
    binned = sf.query_all(soql, include_deleted=True)
    check("queryAll sees the deleted row", binned["totalSize"] == 1 and binned["records"][0]["IsDeleted"] is True, binned)

    start = emulator_now() - timedelta(minutes=5)
    admin("POST", "clock", {"advanceSeconds": 120})
    end = emulator_now()
    updated = sf.Account.updated(start, end)
    check("updated lists changed records", account_id in updated["ids"] and "latestDateCovered" in updated, len(updated["ids"]))
    deleted = sf.Account.deleted(start, end)
    ids = [r["id"] for r in deleted["deletedRecords"]]
    check("deleted lists the deleted record", doomed in ids and "earliestDateAvailable" in deleted, deleted)

    sf.limits()
    usage = sf.api_usage.get("api-usage")
    check("api_usage parses Sforce-Limit-Info", usage is not None and usage.used > 0 and usage.total == 100000, sf.api_usage)
    limits = sf.limits()
    check("limits report DailyApiRequests", limits["DailyApiRequests"]["Max"] == 100000, limits.get("DailyApiRequests"))

    # simple-salesforce reads the 401 INVALID_SESSION_ID body, logs in again and retries.
    old_session = sf.session_id
    admin("POST", "tokens/expire")
    count = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    check("expired session triggers a transparent re-login", sf.session_id != old_session and count >= 2202, count)
    stale = Salesforce(instance_url="https://" + HOSTPORT, session_id=old_session, session=Rewrite(), version="59.0")
    try:
        stale.query("SELECT Id FROM Account LIMIT 1")
        check("a stale session without credentials is reported", False)
    except SalesforceExpiredSession as error:
        check("a stale session without credentials is reported", error.status == 401, error.content)

    bulk2_checks(sf)
    asyncio.run(cdc_checks(sf))

    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
