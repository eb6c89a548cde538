"""Drives a running hubsync-emulator with simple-salesforce and checks what a real
client sees. Prints one line per check and `N passed, M failed`; exits 1 on failure."""

import sys
from datetime import datetime, timedelta, timezone

import checks
import requests
from checks import check
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

URL = sys.argv[1].rstrip("/")
HOSTPORT = URL.split("://", 1)[1]


class Rewrite(requests.Session):
    """simple-salesforce always speaks https to login.salesforce.com and the instance;
    send both to the plain-HTTP emulator instead."""

    def request(self, method, url, *args, **kwargs):
        url = url.replace("https://login.salesforce.com", URL).replace("https://" + HOSTPORT, URL)
        return super().request(method, url, *args, **kwargs)


def admin(method, path, body=None):
    return checks.admin(URL, method, path, body)


def login():
    return Salesforce(
        username="demo@hubsync.local",
        password="demo-password",
        consumer_key="hubsync-demo-client",
        consumer_secret="hubsync-demo-secret",
        session=Rewrite(),
        version="59.0",
    )


def emulator_now():
    text = admin("GET", "clock")["now"]  # 2026-01-01T12:00:00.000+0000
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def main():
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

    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
