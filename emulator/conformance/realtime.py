"""Bulk API 2.0 and Change Data Capture checks of the conformance run: Bulk 2.0 through
simple-salesforce's own `sf.bulk2` job loop, CDC through aiosfstream-ng (a CometD client
for Salesforce's Streaming API). `check(name, ok, detail)` records a result; `admin`
calls the emulator's admin API."""

import asyncio
import csv
import io
import logging

import aiohttp
from aiosfstream_ng import Client as StreamingClient
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.replay import ReplayMarker


def rows(text):
    """A CSV result file as dicts."""
    return list(csv.DictReader(io.StringIO(text)))


def bulk2_checks(sf, check):
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

    def __init__(self, url):
        super().__init__()
        self.url = url

    async def _authenticate(self):
        form = {
            "grant_type": "password",
            "client_id": "hubsync-demo-client",
            "client_secret": "hubsync-demo-secret",
            "username": "demo@hubsync.local",
            "password": "demo-password",
        }
        async with aiohttp.ClientSession() as session:
            response = await session.post(f"{self.url}/services/oauth2/token", data=form)
            return response.status, await response.json()


async def receive(client, what, check):
    """The client's next event, or a failed check after 30 s."""
    try:
        return await asyncio.wait_for(client.receive(), 30)
    except asyncio.TimeoutError:
        check(what, False, "no event within 30 s")
        raise


async def _cdc_checks(sf, check, url, admin):
    """Change Data Capture through aiosfstream-ng: subscribe, receive, replay from a
    stored replay id, and survive a lost session (403::Unknown client) by handshaking
    again and resubscribing from its stored replay id."""
    channel = "/data/AccountChangeEvent"
    origin = {"Sforce-Call-Options": "client=conformance"}
    markers = {}
    async with StreamingClient(EmulatorAuthenticator(url), replay=markers) as client:
        await client.subscribe(channel)
        created = await asyncio.to_thread(sf.Account.create, {"Name": "CDC 1"}, headers=origin)
        event = await receive(client, "CDC create event", check)
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
        event = await receive(client, "CDC update event", check)
        header = event["data"]["payload"]["ChangeEventHeader"]
        check(
            "CDC update event lists changed fields",
            header["changeType"] == "UPDATE" and "Phone" in header["changedFields"],
            header,
        )
        check("the client stored the replay id", markers[channel].replay_id == event["data"]["event"]["replayId"], markers)

        await asyncio.to_thread(admin, "POST", "streaming/forget-clients")
        await asyncio.to_thread(sf.Account.update, created["id"], {"Phone": "2"})
        event = await receive(client, "CDC event after a lost session", check)
        check(
            "after 403::Unknown client the client handshakes again and resumes",
            event["data"]["payload"].get("Phone") == "2",
            event,
        )

    stored = {channel: ReplayMarker(date=first_date, replay_id=first_replay)}
    async with StreamingClient(EmulatorAuthenticator(url), replay=stored) as late:
        await late.subscribe(channel)
        event = await receive(late, "CDC replay from a stored id", check)
        header = event["data"]["payload"]["ChangeEventHeader"]
        check(
            "a new client replays from a stored replay id",
            header["changeType"] == "UPDATE" and event["data"]["event"]["replayId"] > first_replay,
            event,
        )


def cdc_checks(sf, check, url, admin):
    """Runs the CDC checks on their own event loop."""
    # aiocometd logs the cancelled long poll of a closing client as an error.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    asyncio.run(_cdc_checks(sf, check, url, admin))
