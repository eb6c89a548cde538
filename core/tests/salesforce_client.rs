//! The Salesforce client against the emulator over real sockets: every grant, token
//! refresh, each collections operation with partial failures, query paging, replication
//! windows, API usage, and how injected faults are classified.

mod common;

use hubsync_core::config::{OAuthSecret, Secret};
use hubsync_core::connector::{CallError, Timeouts};
use hubsync_core::net::Network;
use hubsync_core::retry::{classify, Class, Failure, Operation, TransportError};
use hubsync_core::salesforce::number::plain_decimal;
use hubsync_core::salesforce::soql;
use hubsync_core::salesforce::{ClientConfig, QueryOptions, Record, SalesforceClient};
use hubsync_core::timestamp::Timestamp;
use hubsync_emulator::{start, EmulatorOptions, RunningEmulator};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const SCHEMA: &str = include_str!("../../emulator/examples/schema.json");
const CLIENT_ID: &str = "hubsync-test-client";
const CLIENT_SECRET: &str = "client-secret-4f9a1c";
const USERNAME: &str = "sync@hubsync.test";
const PASSWORD: &str = "password-7d2e90";
const REFRESH_TOKEN: &str = "5Aep-refresh-token-1b8e77";
/// hubsync's test signing key, and the certificate of it a connected app would hold.
const JWT_KEY: &str = include_str!("../src/salesforce/testdata/jwt_test_key.pem");
const JWT_CERTIFICATE: &str = include_str!("../../emulator/tests/data/jwt_test_cert.pem");
/// A certificate of another key.
const OTHER_CERTIFICATE: &str = include_str!("../../emulator/tests/data/jwt_other_cert.pem");

/// An emulated org plus a plain HTTP agent for its admin API.
struct Org {
    emulator: RunningEmulator,
    admin: ureq::Agent,
}

impl Org {
    fn start() -> Org {
        Org::start_with(EmulatorOptions::default())
    }

    /// The test org, with `options` for everything but its credentials and schema.
    fn start_with(options: EmulatorOptions) -> Org {
        let emulator = start(EmulatorOptions {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            username: USERNAME.into(),
            password: PASSWORD.into(),
            refresh_token: Some(REFRESH_TOKEN.into()),
            schema_json: Some(SCHEMA.into()),
            ..options
        })
        .expect("emulator starts");
        Org {
            emulator,
            admin: ureq::AgentBuilder::new().build(),
        }
    }

    /// Calls `/__emulator/<path>` and returns its JSON answer.
    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        common::admin::call(&self.admin, self.emulator.url(), method, path, body)
    }

    fn fault(&self, endpoint: &str, kind: &str, extra: Value) {
        let mut rule = json!({"endpoint": endpoint, "kind": kind, "next": 1});
        rule.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        self.admin("PUT", "faults", Some(json!({"rules": [rule]})));
    }

    fn config(&self, secret: OAuthSecret) -> ClientConfig {
        ClientConfig {
            instance_url: Some(self.emulator.url().to_string()),
            login_url: None,
            api_version: "59.0".into(),
            secret,
            timeouts: Timeouts {
                connect: Duration::from_secs(5),
                read: Duration::from_secs(30),
            },
            parallelism: 4,
            client_name: "hubsync-test".into(),
            network: Network::default(),
        }
    }

    /// A client-credentials client whose requests time out after `read`.
    fn client_timing_out_after(&self, read: Duration) -> SalesforceClient {
        SalesforceClient::new(ClientConfig {
            timeouts: Timeouts {
                connect: Duration::from_secs(5),
                read,
            },
            ..self.config(client_credentials())
        })
        .expect("valid client config")
    }

    fn client_with(&self, secret: OAuthSecret) -> SalesforceClient {
        SalesforceClient::new(self.config(secret)).expect("valid client config")
    }

    /// A client using the client-credentials grant.
    fn client(&self) -> SalesforceClient {
        self.client_with(client_credentials())
    }

    /// The emulator's current time.
    fn now(&self) -> Timestamp {
        let clock = self.admin("GET", "clock", None);
        Timestamp::parse(clock["now"].as_str().unwrap()).expect("clock time")
    }
}

fn json_of(response: ureq::Response) -> Value {
    let text = response.into_string().expect("a readable answer");
    serde_json::from_str(&text).expect("a JSON answer")
}

fn client_credentials() -> OAuthSecret {
    OAuthSecret {
        client_id: Some(CLIENT_ID.into()),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        ..OAuthSecret::default()
    }
}

/// A one-thread client-credentials config for an org at `instance_url` (no emulator).
fn config_at(instance_url: &str) -> ClientConfig {
    ClientConfig {
        instance_url: Some(instance_url.into()),
        login_url: None,
        api_version: "59.0".into(),
        secret: client_credentials(),
        timeouts: Timeouts::default(),
        parallelism: 1,
        client_name: "hubsync-test".into(),
        network: Network::default(),
    }
}

fn record(value: Value) -> Record {
    value.as_object().expect("an object").clone()
}

fn accounts(names: &[&str]) -> Vec<Record> {
    names.iter().map(|n| record(json!({"Name": n}))).collect()
}

fn id(result: &hubsync_core::salesforce::SaveResult) -> String {
    result.id.clone().expect("a saved record has an id")
}

/// The classification of a record's first error.
fn record_class(result: &hubsync_core::salesforce::SaveResult, op: Operation) -> Class {
    classify(&result.errors[0].failure(op))
}

/// The token request was refused for good with `invalid_grant` and `description`, and
/// no REST call went out.
fn assert_login_refused(client: &SalesforceClient, error: &CallError, description: &str) {
    assert_eq!(error.class(), Class::Permanent);
    let oauth = error.oauth.as_ref().expect("an OAuth error");
    assert_eq!(oauth.error, "invalid_grant");
    assert_eq!(oauth.error_description.as_deref(), Some(description));
    assert_eq!(client.api_calls(), 0, "no REST call without a token");
}

fn assert_no_secret(error: &CallError, secrets: &[&str]) {
    for text in [error.to_string(), format!("{error:?}")] {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}

#[test]
fn client_credentials_grant_reaches_the_org() {
    let org = Org::start();
    let client = org.client();
    let limits = client.limits().expect("limits");
    assert!(limits["DailyApiRequests"]["Max"].as_u64().unwrap() > 0);
    assert_eq!(client.token_requests(), 1);
    assert_eq!(client.api_calls(), 1);
}

#[test]
fn password_grant_reaches_the_org() {
    let org = Org::start();
    let client = org.client_with(OAuthSecret {
        username: Some(USERNAME.into()),
        password: Some(Secret::new(PASSWORD)),
        ..client_credentials()
    });
    let describe = client.describe("Account").expect("describe");
    assert!(describe.field("Hubsync_Id__c").unwrap().external_id);
}

#[test]
fn refresh_token_grant_reaches_the_org() {
    let org = Org::start();
    let client = org.client_with(OAuthSecret {
        client_id: Some(CLIENT_ID.into()),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        refresh_token: Some(Secret::new(REFRESH_TOKEN)),
        ..OAuthSecret::default()
    });
    let global = client.describe_global().expect("describe global");
    assert!(global.object("Invoice__c").is_some());
}

/// The JWT bearer grant's secret: the connected app's consumer key, the user and
/// hubsync's private key.
fn jwt_bearer(username: &str) -> OAuthSecret {
    OAuthSecret {
        client_id: Some(CLIENT_ID.into()),
        username: Some(username.into()),
        private_key: Some(Secret::new(JWT_KEY)),
        ..OAuthSecret::default()
    }
}

/// An org whose connected app holds `certificate` for the JWT bearer grant.
fn jwt_org(certificate: &str) -> Org {
    Org::start_with(EmulatorOptions {
        jwt_certificate_pem: Some(certificate.into()),
        ..EmulatorOptions::default()
    })
}

#[test]
fn jwt_bearer_grant_reaches_the_org() {
    let org = jwt_org(JWT_CERTIFICATE);
    // Without a login URL the assertion's audience is https://login.salesforce.com.
    let client = org.client_with(jwt_bearer(USERNAME));
    let describe = client.describe("Account").expect("describe");
    assert!(describe.field("Hubsync_Id__c").unwrap().external_id);
    assert_eq!(client.token_requests(), 1);
    assert_eq!(client.api_calls(), 1);
    // With one, the audience is that login host (here the emulator itself).
    let client = SalesforceClient::new(ClientConfig {
        login_url: Some(org.emulator.url().to_string()),
        ..org.config(jwt_bearer(USERNAME))
    })
    .unwrap();
    let created = client
        .create("Account", &accounts(&["Signed in with a JWT"]))
        .expect("create");
    assert!(created[0].success, "{:?}", created[0]);
    assert_eq!(client.token_requests(), 1);
}

#[test]
fn jwt_bearer_grant_refuses_another_user_or_another_key() {
    let org = jwt_org(JWT_CERTIFICATE);
    let client = org.client_with(jwt_bearer("someone@else.test"));
    let error = client.limits().unwrap_err();
    assert_login_refused(&client, &error, "user hasn't approved this consumer");

    // The connected app holds the certificate of another key than hubsync signs with.
    let org = jwt_org(OTHER_CERTIFICATE);
    let client = org.client_with(jwt_bearer(USERNAME));
    let error = client.query("SELECT Id FROM Account").unwrap_err();
    assert_login_refused(&client, &error, "invalid assertion");
    let key_line = JWT_KEY.lines().nth(1).unwrap();
    assert_no_secret(&error, &[key_line]);
}

#[test]
fn the_token_responses_instance_url_wins_over_the_configured_one() {
    let org = Org::start();
    let client = SalesforceClient::new(ClientConfig {
        // Only the login host is right; REST calls must follow the token's instance_url.
        instance_url: Some("http://127.0.0.1:9".into()),
        login_url: Some(org.emulator.url().to_string()),
        ..org.config(client_credentials())
    })
    .unwrap();
    assert!(client.limits().is_ok());
}

#[test]
fn refused_credentials_are_permanent_and_never_echoed() {
    let org = Org::start();
    let wrong = "wrong-password-55c1";
    let client = org.client_with(OAuthSecret {
        username: Some(USERNAME.into()),
        password: Some(Secret::new(wrong)),
        ..client_credentials()
    });
    let error = client.query("SELECT Id FROM Account").unwrap_err();
    assert_login_refused(&client, &error, "authentication failure");
    assert_no_secret(&error, &[wrong, CLIENT_SECRET]);

    let bad_client = org.client_with(OAuthSecret {
        client_secret: Some(Secret::new("not-the-secret-9x")),
        ..client_credentials()
    });
    let error = bad_client.limits().unwrap_err();
    assert_eq!(error.oauth.as_ref().unwrap().error, "invalid_client");
    assert_eq!(error.class(), Class::Permanent);
    assert_no_secret(&error, &["not-the-secret-9x"]);
}

#[test]
fn an_expired_token_is_refreshed_once_and_the_call_resent() {
    let org = Org::start();
    let client = org.client();
    client.limits().unwrap();
    org.admin("POST", "tokens/expire", None);
    let calls_before = client.api_calls();
    client.limits().expect("refreshed transparently");
    assert_eq!(
        client.api_calls() - calls_before,
        2,
        "the 401 and the resend"
    );
    assert_eq!(client.token_requests(), 2);
}

#[test]
fn threads_that_see_an_expiry_together_share_one_refresh() {
    let org = Org::start();
    let client = Arc::new(org.client());
    client.limits().unwrap();
    org.admin("POST", "tokens/expire", None);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || client.query("SELECT Id FROM Account").map(|p| p.done))
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), Ok(true));
    }
    assert_eq!(client.token_requests(), 2, "one initial token, one refresh");
}

#[test]
fn a_given_access_token_is_used_until_rejected() {
    let org = Org::start();
    let token = {
        let form = format!(
            "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
        );
        let response = json_of(
            org.admin
                .post(&format!("{}/services/oauth2/token", org.emulator.url()))
                .set("Content-Type", "application/x-www-form-urlencoded")
                .send_string(&form)
                .unwrap(),
        );
        response["access_token"].as_str().unwrap().to_string()
    };
    let client = org.client_with(OAuthSecret {
        access_token: Some(Secret::new(token.clone())),
        ..OAuthSecret::default()
    });
    client.limits().expect("the given token works");
    assert_eq!(client.token_requests(), 0);
    org.admin("POST", "tokens/expire", None);
    let error = client.limits().unwrap_err();
    assert_eq!(error.class(), Class::Permanent, "{error}");
    assert!(error.to_string().contains("set_credentials"));
    assert_no_secret(&error, &[&token]);
}

#[test]
fn creates_with_per_record_failures() {
    let org = Org::start();
    let client = org.client();
    let mut batch = accounts(&["Acme", "Globex"]);
    batch.insert(1, record(json!({"Phone": "555"}))); // no Name
    let results = client.create("Account", &batch).unwrap();
    assert_eq!(results.len(), 3);
    assert!(results[0].success && results[2].success);
    assert!(!results[1].success && results[1].id.is_none());
    assert_eq!(results[1].errors[0].status_code, "REQUIRED_FIELD_MISSING");
    assert_eq!(results[1].errors[0].fields, vec!["Name"]);
    assert_eq!(
        record_class(&results[1], Operation::Create),
        Class::Permanent
    );

    let fetched = client
        .retrieve("Account", &[id(&results[0]), id(&results[2])], &["Name"])
        .unwrap();
    let names: Vec<&Value> = fetched
        .iter()
        .map(|r| &r.as_ref().unwrap()["Name"])
        .collect();
    assert_eq!(names, [&json!("Acme"), &json!("Globex")]);
}

#[test]
fn row_locks_are_retryable_per_record() {
    let org = Org::start();
    let client = org.client();
    org.fault("collections", "lock_row", json!({}));
    let results = client.create("Account", &accounts(&["A", "B"])).unwrap();
    assert_eq!(results[0].errors[0].status_code, "UNABLE_TO_LOCK_ROW");
    assert_eq!(
        record_class(&results[0], Operation::Create),
        Class::Retryable
    );
    assert!(results[1].success);
}

#[test]
fn oversized_batches_are_refused_before_sending() {
    let org = Org::start();
    let client = org.client();
    let names: Vec<String> = (0..201).map(|i| format!("A{i}")).collect();
    let batch: Vec<Record> = names.iter().map(|n| record(json!({"Name": n}))).collect();
    let error = client.create("Account", &batch).unwrap_err();
    assert_eq!(error.status, None);
    assert_eq!(error.class(), Class::Permanent);
    assert_eq!(client.api_calls(), 0);
}

#[test]
fn updates_and_deletes_report_each_record() {
    let org = Org::start();
    let client = org.client();
    let created = client
        .create("Account", &accounts(&["One", "Two"]))
        .unwrap();
    let (one, two) = (id(&created[0]), id(&created[1]));

    let deleted = client.delete(&[two.as_str()]).unwrap();
    assert!(deleted[0].success);
    let again = client.delete(&[two.as_str()]).unwrap();
    assert!(!again[0].success);
    assert_eq!(record_class(&again[0], Operation::Delete), Class::Gone);

    let updates = vec![
        record(json!({"Id": one, "Name": "One renamed"})),
        record(json!({"Id": two, "Name": "Two renamed"})),
    ];
    let results = client.update("Account", &updates).unwrap();
    assert!(results[0].success);
    assert!(!results[1].success);
    assert_eq!(record_class(&results[1], Operation::Update), Class::Gone);

    let fetched = client.retrieve("Account", &[one, two], &["Name"]).unwrap();
    assert_eq!(fetched[0].as_ref().unwrap()["Name"], "One renamed");
    assert!(fetched[1].is_none(), "a deleted record retrieves as null");
}

#[test]
fn upserts_create_then_update_by_external_id() {
    let org = Org::start();
    let client = org.client();
    let first = [record(json!({"Hubsync_Id__c": "row-1", "Name": "First"}))];
    let created = client.upsert("Account", "Hubsync_Id__c", &first).unwrap();
    assert_eq!(created[0].created, Some(true));
    let again = [record(json!({"Hubsync_Id__c": "row-1", "Name": "Renamed"}))];
    let updated = client.upsert("Account", "Hubsync_Id__c", &again).unwrap();
    assert_eq!(updated[0].created, Some(false));
    assert_eq!(updated[0].id, created[0].id);
    let names = client
        .query_records("SELECT Name FROM Account WHERE Hubsync_Id__c = 'row-1'")
        .unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0]["Name"], "Renamed");

    let mixed = [
        record(json!({"Hubsync_Id__c": "row-2", "Name": "Fine"})),
        record(json!({"Hubsync_Id__c": "row-3", "Name": "Bad", "Tier__c": "Platinum"})),
    ];
    let results = client.upsert("Account", "Hubsync_Id__c", &mixed).unwrap();
    assert_eq!((results[0].success, results[0].created), (true, Some(true)));
    assert!(!results[1].success);
    assert_eq!(
        results[1].errors[0].status_code,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        record_class(&results[1], Operation::Upsert),
        Class::Permanent
    );
}

#[test]
fn java_double_numbers_read_back_exactly() {
    let org = Org::start();
    let client = org.client();
    let revenue =
        record(json!({"Name": "Big", "AnnualRevenue": 15000000, "Credit_Limit__c": 1234567.89}));
    let created = client.create("Account", &[revenue]).unwrap();
    let fetched = client
        .retrieve(
            "Account",
            &[id(&created[0])],
            &["AnnualRevenue", "Credit_Limit__c"],
        )
        .unwrap();
    let account = fetched[0].as_ref().unwrap();
    let text = account["AnnualRevenue"].to_string();
    assert!(
        text.to_ascii_lowercase().contains('e'),
        "Java-double form expected: {text}"
    );
    let exact = |field: &str| plain_decimal(account[field].as_number().unwrap());
    assert_eq!(exact("AnnualRevenue"), "15000000");
    assert_eq!(exact("Credit_Limit__c"), "1234567.89");
}

#[test]
fn queries_page_through_more_than_two_thousand_records() {
    let org = Org::start();
    let client = org.client();
    let rows: Vec<Value> = (0..2345)
        .map(|i| json!({"Name": format!("Bulk {i:04}")}))
        .collect();
    org.admin("POST", "load", Some(json!({"Account": rows})));

    let soql = soql::full_load("Account", &["Name"]).unwrap();
    let first = client.query(&soql).unwrap();
    assert_eq!(
        (first.total_size, first.done, first.records.len()),
        (2345, false, 2000)
    );
    let second = client
        .query_more(first.next_records_url.as_deref().unwrap())
        .unwrap();
    assert!(second.done);
    assert_eq!(second.records.len(), 345);

    let options = QueryOptions {
        batch_size: Some(500),
        ..QueryOptions::default()
    };
    let pages: Vec<usize> = client
        .query_pages(&soql, options)
        .map(|page| page.unwrap().records.len())
        .collect();
    assert_eq!(pages, [500, 500, 500, 500, 345]);
    let all = client.query_records(&soql).unwrap();
    let mut ids: Vec<&str> = all.iter().map(|r| r["Id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2345);
}

#[test]
fn query_all_sees_deleted_records() {
    let org = Org::start();
    let client = org.client();
    let created = client
        .create("Account", &accounts(&["Keep", "Drop"]))
        .unwrap();
    client.delete(&[id(&created[1])]).unwrap();
    let soql = "SELECT Id, Name, IsDeleted FROM Account ORDER BY Name";
    let live = client.query(soql).unwrap();
    assert_eq!(live.records.len(), 1);
    let all = client.query_all(soql).unwrap();
    let deleted: Vec<&Value> = all.records.iter().map(|r| &r["IsDeleted"]).collect();
    assert_eq!(deleted, [&json!(true), &json!(false)]);
}

#[test]
fn incremental_pulls_and_natural_key_lookups_run_on_the_org() {
    let org = Org::start();
    let client = org.client();
    let start = org.now();
    let hostile = "O'Brien \\ \"Quotes\" ' OR Name != '";
    client
        .create("Account", &accounts(&[hostile, "Plain"]))
        .unwrap();
    let pulled = client
        .query_records(&soql::incremental_pull("Account", &["Name"], start).unwrap())
        .unwrap();
    assert_eq!(pulled.len(), 2);
    let keys = [("Name", soql::SoqlValue::Text(hostile.into()))];
    let found = client
        .query_records(&soql::natural_key_lookup("Account", &keys, Some(start)).unwrap())
        .unwrap();
    assert_eq!(found.len(), 1, "the quote must not turn into OR");
    assert_eq!(found[0]["Name"], hostile);
}

#[test]
fn replication_windows_report_updates_and_deletes() {
    let org = Org::start();
    let client = org.client();
    let start = Timestamp::from_millis(org.now().millis() - 3_600_000);
    let created = client
        .create("Account", &accounts(&["Seen", "Gone"]))
        .unwrap();
    client.delete(&[id(&created[1])]).unwrap();
    // The endpoints cover whole minutes up to the current one; move the org's clock on.
    org.admin("POST", "clock", Some(json!({"advanceSeconds": 120})));
    let end = org.now();

    let updated = client.updated("Account", start, end).unwrap();
    assert!(updated.ids.contains(&id(&created[0])));
    assert!(updated.latest_date_covered > start);
    let deleted = client.deleted("Account", start, end).unwrap();
    let gone: Vec<&str> = deleted
        .deleted_records
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(gone, [id(&created[1])]);
    assert!(deleted.latest_date_covered <= end);

    let error = client.updated("Account", end, start).unwrap_err();
    assert_eq!(error.errors[0].status_code, "INVALID_REPLICATION_DATE");
    assert_eq!(error.class(), Class::Permanent);
}

#[test]
fn api_usage_follows_the_limit_header() {
    let org = Org::start();
    let client = org.client();
    assert_eq!(client.api_usage(), None);
    org.admin("PUT", "limits", Some(json!({"used": 4000, "max": 5000})));
    client.limits().unwrap();
    let usage = client.api_usage().expect("usage from Sforce-Limit-Info");
    let server = org.admin("GET", "limits", None);
    assert_eq!(usage.used, server["used"].as_u64().unwrap());
    assert_eq!(usage.max, 5000);
}

#[test]
fn an_exhausted_api_limit_is_rate_limited() {
    let org = Org::start();
    let client = org.client();
    org.admin("PUT", "limits", Some(json!({"used": 10, "max": 10})));
    let error = client.query("SELECT Id FROM Account").unwrap_err();
    assert_eq!(error.status, Some(403));
    assert_eq!(error.errors[0].status_code, "REQUEST_LIMIT_EXCEEDED");
    assert_eq!(error.class(), Class::RateLimited);
}

#[test]
fn a_503_is_retryable() {
    let org = Org::start();
    let client = org.client();
    org.fault("query", "unavailable", json!({}));
    let error = client.query("SELECT Id FROM Account").unwrap_err();
    assert_eq!(error.status, Some(503));
    assert_eq!(error.class(), Class::Retryable);
    assert!(
        client.query("SELECT Id FROM Account").is_ok(),
        "the fault was one-off"
    );
}

#[test]
fn a_connection_dropped_during_a_create_has_an_unknown_outcome() {
    let org = Org::start();
    let client = org.client();
    client.limits().unwrap(); // a pooled connection exists, as in steady operation
    org.fault("collections", "drop", json!({}));
    let error = client.create("Account", &accounts(&["Maybe"])).unwrap_err();
    assert!(
        matches!(
            error.failure,
            Failure::Transport {
                request_sent: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.class(), Class::UnknownOutcome);
    org.fault("collections", "drop", json!({}));
    let error = client
        .upsert(
            "Account",
            "Hubsync_Id__c",
            &[record(json!({"Hubsync_Id__c": "x", "Name": "x"}))],
        )
        .unwrap_err();
    assert_eq!(
        error.class(),
        Class::Retryable,
        "an upsert is safe to resend"
    );
}

#[test]
fn an_answer_slower_than_the_read_timeout_times_out_after_sending() {
    let org = Org::start();
    let client = org.client_timing_out_after(Duration::from_millis(300));
    client.limits().unwrap();
    org.fault("collections", "latency", json!({"latency_ms": 5000}));
    let error = client.create("Account", &accounts(&["Slow"])).unwrap_err();
    assert_eq!(
        error.failure,
        Failure::Transport {
            op: Operation::Create,
            error: TransportError::Timeout,
            request_sent: true
        }
    );
    assert_eq!(error.class(), Class::UnknownOutcome);
}

#[test]
fn an_unreachable_org_was_never_sent_to() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = SalesforceClient::new(config_at(&format!("http://127.0.0.1:{port}"))).unwrap();
    let error = client.create("Account", &accounts(&["Never"])).unwrap_err();
    assert_eq!(
        error.failure,
        Failure::Transport {
            op: Operation::Create,
            error: TransportError::ConnectionRefused,
            request_sent: false
        }
    );
    assert_eq!(error.class(), Class::Retryable);
}

#[test]
fn writes_carry_the_client_name_for_echo_detection() {
    let org = Org::start();
    let client = org.client();
    client.create("Account", &accounts(&["Mine"])).unwrap();
    let changes = org.admin("GET", "changes/Account", None);
    let origin = changes["changes"][0]["changeOrigin"].as_str().unwrap();
    assert_eq!(origin, "com/salesforce/api/rest/59.0;client=hubsync-test");
}

/// How many Accounts named `name` the org holds.
fn named(client: &SalesforceClient, name: &str) -> usize {
    client
        .query_records(&format!("SELECT Id FROM Account WHERE Name = '{name}'"))
        .expect("query")
        .len()
}

#[test]
fn a_create_whose_answer_is_lost_after_it_was_done_has_an_unknown_outcome() {
    let org = Org::start();
    let client = org.client_timing_out_after(Duration::from_millis(500));
    client.limits().unwrap();
    let kinds = [
        ("drop_after", json!({})),
        ("server_error_after", json!({})),
        ("bad_gateway_after", json!({})),
        ("gateway_timeout_after", json!({})),
        ("stall_after", json!({"latency_ms": 10_000})),
    ];
    for (kind, extra) in kinds {
        org.fault("collections", kind, extra);
        let error = client.create("Account", &accounts(&[kind])).unwrap_err();
        assert_eq!(error.class(), Class::UnknownOutcome, "{kind}: {error}");
        assert_eq!(named(&client, kind), 1, "{kind}: the create was done");
    }
}

#[test]
fn an_answer_beyond_the_size_cap_is_refused_unread() {
    let org = Org::start();
    let client = SalesforceClient::new(ClientConfig {
        network: Network {
            max_response_bytes: 64 * 1024,
            ..Network::default()
        },
        ..org.config(client_credentials())
    })
    .unwrap();
    client.create("Account", &accounts(&["Big"])).unwrap();
    org.fault("query", "oversize", json!({"bytes": 1_000_000}));
    let error = client.query("SELECT Id FROM Account").unwrap_err();
    assert_eq!(
        error.failure,
        Failure::Transport {
            op: Operation::Read,
            error: TransportError::TooLarge,
            request_sent: true
        }
    );
    assert_eq!(error.class(), Class::Permanent);
    assert!(error.to_string().contains("max_response_size"), "{error}");
    assert!(client.query("SELECT Id FROM Account").is_ok(), "one-off");
    org.fault("collections", "oversize", json!({"bytes": 1_000_000}));
    let error = client
        .create("Account", &accounts(&["Padded"]))
        .unwrap_err();
    assert_eq!(error.class(), Class::UnknownOutcome);
    assert_eq!(named(&client, "Padded"), 1);
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_anything_is_sent() {
    let err = SalesforceClient::new(config_at("http://acme.my.salesforce.com"))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("https"), "{err}");
}

/// Streams `object` from `from` on a thread; `during` runs once the subscriber listens;
/// returns the events heard until `count` arrived, and how the stream ended.
fn stream_events(
    client: &SalesforceClient,
    from: Option<i64>,
    count: usize,
    during: impl FnOnce(),
) -> (
    Vec<hubsync_core::connector::StreamEvent>,
    hubsync_core::connector::StreamEnd,
) {
    use hubsync_core::connector::StreamMessage;
    let (listening, heard) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let subscriber = scope.spawn(move || {
            let mut events = Vec::new();
            let end = client.stream("Account", from, &mut |message| match message {
                StreamMessage::Listening { .. } => listening.send(()).is_ok(),
                StreamMessage::Events(more) => {
                    events.extend(more);
                    events.len() < count
                }
            });
            (events, end)
        });
        if heard.recv_timeout(Duration::from_secs(30)).is_ok() {
            during();
        }
        subscriber.join().expect("the subscriber returns")
    })
}

#[test]
fn the_subscriber_hears_changes_knows_its_own_and_replays_from_a_stored_id() {
    use hubsync_core::connector::stream::EventKind;
    use hubsync_core::connector::StreamEnd;
    let org = Org::start();
    let own = org.client();
    let someone = SalesforceClient::new(ClientConfig {
        client_name: "dataloader".into(),
        ..org.config(client_credentials())
    })
    .unwrap();
    let (events, end) = stream_events(&own, None, 3, || {
        let created = own.create("Account", &accounts(&["Ours"])).unwrap();
        someone.create("Account", &accounts(&["Theirs"])).unwrap();
        someone.delete(&[id(&created[0])]).unwrap();
    });
    assert_eq!(end, StreamEnd::Stopped);
    let seen: Vec<(EventKind, bool)> = events.iter().map(|e| (e.kind, e.own)).collect();
    assert_eq!(
        seen,
        vec![
            (EventKind::Create, true),
            (EventKind::Create, false),
            (EventKind::Delete, false)
        ]
    );
    assert!(events.windows(2).all(|w| w[0].position < w[1].position));

    // Resubscribing from the first event's replay id hears the two after it again.
    let (replayed, _) = stream_events(&own, Some(events[0].position), 2, || {});
    assert_eq!(
        replayed.iter().map(|e| e.position).collect::<Vec<_>>(),
        events[1..].iter().map(|e| e.position).collect::<Vec<_>>()
    );
}

#[test]
fn the_subscriber_says_why_it_cannot_stream() {
    use hubsync_core::connector::StreamEnd;
    let org = Org::start();
    let client = org.client();
    client.create("Account", &accounts(&["Old"])).unwrap();
    // Past the 72-hour retention, replay id 0 is no longer valid.
    org.admin("POST", "clock", Some(json!({"advanceSeconds": 73 * 3600})));
    let (_, end) = stream_events(&client, Some(0), 1, || {});
    assert_eq!(end, StreamEnd::PositionExpired);
    org.admin("PUT", "streaming/entities", Some(json!({"entities": []})));
    let (_, end) = stream_events(&client, None, 1, || {});
    assert_eq!(end, StreamEnd::ObjectDisabled);
    assert_eq!(
        client.api_calls(),
        1,
        "streaming is not counted as API calls"
    );
}

#[test]
fn the_subscriber_stops_when_the_event_allocation_is_used_up() {
    use hubsync_core::connector::StreamEnd;
    let org = Org::start_with(EmulatorOptions {
        streaming: hubsync_emulator::StreamingOptions {
            daily_delivery_allocation: 0,
            ..Default::default()
        },
        ..EmulatorOptions::default()
    });
    let client = org.client();
    let (events, end) = stream_events(&client, None, 1, || {
        client
            .create("Account", &accounts(&["Undelivered"]))
            .unwrap();
    });
    assert!(events.is_empty());
    assert_eq!(end, StreamEnd::AllowanceExhausted);
}
