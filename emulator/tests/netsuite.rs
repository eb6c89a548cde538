//! The NetSuite emulator over real sockets: TBA and M2M sign-in, record CRUD and upsert,
//! listing with `q`, SuiteQL, errors, governance, faults and custom fields.

mod common;

use common::{
    admin_call, agent, encode, post_form, send, spawn_binary, try_send, wait_for, Client, Resp,
};
use hubsync_emulator::netsuite::{self, client_header, Options};
use hubsync_emulator::RunningEmulator;
use serde_json::{json, Value as Json};
use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};
use ureq::Agent;

/// A running NetSuite emulator and a TBA-signing client.
struct Account {
    emulator: RunningEmulator,
    agent: Agent,
    options: Options,
    nonce: Cell<u64>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Account {
    fn start() -> Account {
        Account::with(Options::default())
    }

    fn with(options: Options) -> Account {
        Account {
            emulator: netsuite::start(options.clone()).expect("emulator starts"),
            agent: agent(),
            options,
            nonce: Cell::new(0),
        }
    }

    fn next_nonce(&self) -> String {
        self.nonce.set(self.nonce.get() + 1);
        format!("testnonce{}", self.nonce.get())
    }

    /// A signed TBA header for `method path?query` (realm `realm`, time `at`).
    fn header_as(&self, realm: &str, method: &str, path: &str, query: &str, at: i64) -> String {
        client_header(
            &self.options,
            realm,
            method,
            self.emulator.url(),
            path,
            query,
            &self.next_nonce(),
            at,
        )
    }

    fn header(&self, method: &str, path: &str, query: &str) -> String {
        self.header_as(&self.options.account, method, path, query, now_secs())
    }

    fn admin(&self, method: &str, path: &str, body: Option<Json>) -> Resp {
        admin_call(&self.agent, self.emulator.url(), method, path, body)
    }

    fn advance(&self, seconds: i64) {
        assert_eq!(
            self.admin("POST", "clock", Some(json!({"advanceSeconds": seconds})))
                .status,
            200
        );
    }

    /// Creates a record and returns its internal id from `Location`.
    fn create(&self, kind: &str, body: Json) -> String {
        let r = self.call("POST", &format!("/record/v1/{kind}"), Some(body));
        assert_eq!(r.status, 204, "{}", r.body);
        let location = r.header("location").expect("Location").to_string();
        assert!(
            location.starts_with(&format!(
                "{}/services/rest/record/v1/{kind}/",
                self.emulator.url()
            )),
            "{location}"
        );
        location.rsplit('/').next().unwrap().to_string()
    }

    /// GET `target`, which must answer 200, as JSON.
    fn read(&self, target: &str) -> Json {
        let r = self.get(target);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    fn suiteql(&self, q: &str, paging: &str) -> Resp {
        self.call_with(
            "POST",
            &format!("/query/v1/suiteql{paging}"),
            &[("Prefer", "transient")],
            Some(json!({"q": q})),
        )
    }

    fn rows(&self, q: &str) -> Vec<Json> {
        let r = self.suiteql(q, "");
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        r.json()["items"].as_array().unwrap().clone()
    }
}

/// TBA-signed calls; a path is below `/services/rest` and may hold a query.
impl Client for Account {
    fn http(&self) -> &Agent {
        &self.agent
    }

    fn api_url(&self, target: &str) -> String {
        format!("{}/services/rest{target}", self.emulator.url())
    }

    fn authorization(&self, method: &str, url: &str) -> String {
        let target = url.strip_prefix(self.emulator.url()).expect("own URL");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        self.header(method, path, query)
    }
}

fn error_code(r: &Resp) -> String {
    r.json()["o:errorDetails"][0]["o:errorCode"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn globex() -> Json {
    json!({"companyName": "Globex Inc", "email": "ap@globex.example", "subsidiary": {"id": "1"}, "externalId": "crm-42"})
}

#[test]
fn tba_signatures_are_verified_exactly() {
    let ns = Account::start();
    let path = "/services/rest/record/v1/customer";
    let url = format!("{}{path}", ns.emulator.url());
    let now = now_secs();
    let good = ns.header_as("1234567", "GET", path, "", now);
    let sha1 = good.replace("HMAC-SHA256", "HMAC-SHA1");
    let cases: Vec<(&str, String, u16)> = vec![
        ("a valid signature", good.clone(), 200),
        ("the same nonce again", good, 401),
        (
            "a lower-case realm",
            ns.header_as("1234567_sb1", "GET", path, "", now),
            401,
        ),
        (
            "another account's realm",
            ns.header_as("7654321", "GET", path, "", now),
            401,
        ),
        ("HMAC-SHA1", sha1, 401),
        (
            "signed for another method",
            ns.header_as("1234567", "POST", path, "", now),
            401,
        ),
        (
            "signed with a query it was not sent with",
            ns.header_as("1234567", "GET", path, "limit=5", now),
            401,
        ),
        (
            "a timestamp six minutes old",
            ns.header_as("1234567", "GET", path, "", now - 360),
            401,
        ),
        ("no header", String::new(), 401),
        ("a bearer token never issued", "Bearer nope".into(), 401),
    ];
    for (what, header, status) in cases {
        let headers: Vec<(&str, &str)> = if header.is_empty() {
            vec![]
        } else {
            vec![("Authorization", header.as_str())]
        };
        let r = send(&ns.agent, "GET", &url, &headers, None);
        assert_eq!(r.status, status, "{what}: {}", r.body);
        if status == 401 {
            assert_eq!(error_code(&r), "INVALID_LOGIN", "{what}");
            assert!(r
                .header("content-type")
                .unwrap()
                .starts_with("application/vnd.oracle.resource+json; type=error"));
        }
    }
    let refused = send(
        &ns.agent,
        "GET",
        &url,
        &[("Authorization", &ns.header_as("x", "GET", path, "", now))],
        None,
    );
    assert!(refused
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"token_rejected\""));
    // Query parameters are part of the signature, spaces and quotes included.
    let q = "q=email%20START_WITH%20%22a%22&limit=2";
    let signed = ns.header_as("1234567", "GET", path, q, now);
    assert_eq!(
        send(
            &ns.agent,
            "GET",
            &format!("{url}?{q}"),
            &[("Authorization", &signed)],
            None
        )
        .status,
        200
    );
    // Moving the emulator's clock moves record stamps and token expiry, not the real
    // time clients sign with.
    ns.advance(3600);
    assert_eq!(ns.call("GET", "/record/v1/customer", None).status, 200);
    // The realm's case is a flag (UNVERIFIED in the reference).
    let sandbox = |case_sensitive: bool| {
        Account::with(Options {
            account: "1234567_SB1".into(),
            realm_case_sensitive: case_sensitive,
            ..Options::default()
        })
    };
    for (case_sensitive, status) in [(true, 401), (false, 200)] {
        let account = sandbox(case_sensitive);
        let header = account.header_as("1234567_sb1", "GET", path, "", now_secs());
        let url = format!("{}{path}", account.emulator.url());
        let r = send(
            &account.agent,
            "GET",
            &url,
            &[("Authorization", &header)],
            None,
        );
        assert_eq!(r.status, status, "case-sensitive {case_sensitive}");
    }
}

/// An ES256 key pair made for the test, and its public key as SPKI PEM.
fn es256_key() -> (ring::signature::EcdsaKeyPair, String) {
    use base64::Engine as _;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    // SubjectPublicKeyInfo prefix of a P-256 key (id-ecPublicKey, prime256v1).
    let mut spki = hex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
    spki.extend_from_slice(pair.public_key().as_ref());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(spki)
    );
    (pair, pem)
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn jwt(pair: &ring::signature::EcdsaKeyPair, header: &Json, claims: &Json) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = pair
        .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
        .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

fn token_form(assertion: &str) -> String {
    format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={}",
        encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        encode(assertion)
    )
}

#[test]
fn m2m_assertions_are_checked_and_tokens_last_an_hour() {
    let (pair, pem) = es256_key();
    let ns = Account::with(Options {
        m2m_public_key_pem: Some(pem),
        ..Options::default()
    });
    let token_url = format!("{}/services/rest/auth/oauth2/v1/token", ns.emulator.url());
    let now = now_secs();
    let header = json!({"typ": "JWT", "alg": "ES256", "kid": "hubsync-demo-certificate"});
    let claims = json!({"iss": "hubsync-demo-m2m", "scope": ["restlets", "rest_webservices"], "aud": token_url, "iat": now, "exp": now + 3600});
    let with = |h: &Json, c: &Json, change: &dyn Fn(&mut Json, &mut Json)| {
        let (mut h, mut c) = (h.clone(), c.clone());
        change(&mut h, &mut c);
        jwt(&pair, &h, &c)
    };
    let (other_pair, _) = es256_key();
    let refusals: Vec<(&str, String, &str)> = vec![
        (
            "another kid",
            with(&header, &claims, &|h, _| h["kid"] = json!("other")),
            "invalid_client",
        ),
        (
            "another client",
            with(&header, &claims, &|_, c| c["iss"] = json!("other")),
            "invalid_client",
        ),
        (
            "another audience",
            with(&header, &claims, &|_, c| {
                c["aud"] = json!("https://example.com/token")
            }),
            "invalid_request",
        ),
        (
            "no rest_webservices scope",
            with(&header, &claims, &|_, c| c["scope"] = json!("restlets")),
            "invalid_scope",
        ),
        (
            "a lifetime over an hour",
            with(&header, &claims, &|_, c| c["exp"] = json!(now + 3601)),
            "invalid_request",
        ),
        (
            "an expired assertion",
            with(&header, &claims, &|_, c| {
                c["iat"] = json!(now - 3000);
                c["exp"] = json!(now - 10)
            }),
            "invalid_grant",
        ),
        (
            "HS256",
            with(&header, &claims, &|h, _| h["alg"] = json!("HS256")),
            "invalid_request",
        ),
        (
            "another key's signature",
            jwt(&other_pair, &header, &claims),
            "invalid_grant",
        ),
        ("not a JWT", "abc".into(), "invalid_request"),
    ];
    for (what, assertion, error) in refusals {
        let r = post_form(&ns.agent, &token_url, &token_form(&assertion), &[]);
        assert!(r.status == 400 || r.status == 401, "{what}: {}", r.status);
        assert_eq!(r.json()["error"], error, "{what}: {}", r.body);
    }
    let wrong_grant = post_form(&ns.agent, &token_url, "grant_type=password", &[]);
    assert_eq!(wrong_grant.json()["error"], "unsupported_grant_type");
    // A comma-separated scope string is accepted too.
    let good = with(&header, &claims, &|_, c| {
        c["scope"] = json!("restlets,rest_webservices")
    });
    let r = post_form(&ns.agent, &token_url, &token_form(&good), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = r.json();
    assert_eq!(answer["expires_in"], "3600");
    assert_eq!(answer["token_type"], "bearer");
    assert!(answer.get("refresh_token").is_none());
    let bearer = format!("Bearer {}", answer["access_token"].as_str().unwrap());
    let url = format!("{}/services/rest/record/v1/customer", ns.emulator.url());
    assert_eq!(
        send(&ns.agent, "GET", &url, &[("Authorization", &bearer)], None).status,
        200
    );
    ns.advance(3599);
    assert_eq!(
        send(&ns.agent, "GET", &url, &[("Authorization", &bearer)], None).status,
        200
    );
    ns.advance(2);
    let expired = send(&ns.agent, "GET", &url, &[("Authorization", &bearer)], None);
    assert_eq!(
        (expired.status, error_code(&expired)),
        (401, "INVALID_LOGIN".to_string())
    );
    // Without a configured key every assertion is refused.
    let keyless = Account::start();
    let keyless_url = format!(
        "{}/services/rest/auth/oauth2/v1/token",
        keyless.emulator.url()
    );
    let claims = json!({"iss": "hubsync-demo-m2m", "scope": ["rest_webservices"], "aud": keyless_url, "iat": now, "exp": now + 600});
    let r = post_form(
        &keyless.agent,
        &keyless_url,
        &token_form(&jwt(&pair, &header, &claims)),
        &[],
    );
    assert_eq!(r.json()["error"], "invalid_client");
}

#[test]
fn records_are_created_read_updated_upserted_and_deleted() {
    let ns = Account::start();
    let id = ns.create("customer", globex());
    let record = ns.read(&format!("/record/v1/customer/{id}"));
    assert_eq!(record["id"], json!(id));
    assert_eq!(record["entityId"], "Globex Inc");
    assert_eq!(record["isPerson"], false);
    assert_eq!(record["isinactive"], false);
    assert_eq!(record["subsidiary"]["id"], "1");
    assert_eq!(record["subsidiary"]["refName"], "Parent Company");
    assert_eq!(record["links"][0]["rel"], "self");
    let created = record["dateCreated"].as_str().unwrap().to_string();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    assert!(record.get("phone").is_none());
    assert_eq!(
        ns.read(&format!("/record/v1/customer/{id}?fields=email"))
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        ["links", "id", "email"]
    );

    ns.advance(60);
    let r = ns.call(
        "PATCH",
        &format!("/record/v1/customer/{id}"),
        Some(json!({"phone": "555-0100", "email": null})),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r
        .header("location")
        .unwrap()
        .ends_with(&format!("/customer/{id}")));
    let record = ns.read("/record/v1/customer/eid:crm-42");
    assert_eq!(record["phone"], "555-0100");
    assert!(record.get("email").is_none(), "null clears a field");
    assert_eq!(record["dateCreated"], json!(created));
    assert_ne!(record["lastModifiedDate"], json!(created));

    // Upsert: the first PUT creates, the second updates the same record.
    let put = |body: Json| ns.call("PUT", "/record/v1/customer/eid:crm-43", Some(body));
    let first = put(json!({"companyName": "Initech", "subsidiary": {"id": "1"}}));
    assert_eq!(first.status, 204, "{}", first.body);
    let second = put(json!({"email": "hq@initech.example"}));
    assert_eq!(second.status, 204, "{}", second.body);
    assert_eq!(first.header("location"), second.header("location"));
    let upserted = ns.read("/record/v1/customer/eid:crm-43");
    assert_eq!(
        (
            upserted["companyName"].as_str(),
            upserted["email"].as_str(),
            upserted["externalId"].as_str()
        ),
        (Some("Initech"), Some("hq@initech.example"), Some("crm-43"))
    );
    let clash = put(json!({"externalId": "crm-44"}));
    assert_eq!(
        (clash.status, error_code(&clash)),
        (400, "INVALID_CONTENT".to_string())
    );
    assert_eq!(
        ns.call("PUT", &format!("/record/v1/customer/{id}"), Some(json!({})))
            .status,
        405
    );

    let contact = ns.create("contact", json!({"firstName": "Jane", "lastName": "Roe", "company": {"id": id}, "subsidiary": {"id": "1"}}));
    let read = ns.read(&format!("/record/v1/contact/{contact}"));
    assert_eq!(read["entityId"], "Jane Roe");
    assert_eq!(read["company"]["refName"], "Globex Inc");

    assert_eq!(
        ns.call("DELETE", &format!("/record/v1/contact/{contact}"), None)
            .status,
        204
    );
    let gone = ns.call("GET", &format!("/record/v1/contact/{contact}"), None);
    assert_eq!(
        (gone.status, error_code(&gone)),
        (404, "NONEXISTENT_ID".to_string())
    );
    assert_eq!(
        ns.call("DELETE", &format!("/record/v1/contact/{contact}"), None)
            .status,
        404
    );
    assert_eq!(
        ns.call("DELETE", "/record/v1/customer/eid:crm-43", None)
            .status,
        204
    );
    let deleted = ns.admin("GET", "deleted", None).json();
    let ids: Vec<&str> = deleted["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["recordId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], contact);
}

#[test]
fn refused_writes_name_the_problem_and_change_nothing() {
    let ns = Account::start();
    ns.create("customer", globex());
    /// (what, record type, body, headers, status, o:errorCode, o:errorPath)
    type Case<'a> = (
        &'a str,
        &'a str,
        Json,
        &'a [(&'a str, &'a str)],
        u16,
        &'a str,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "duplicate entityId",
            "customer",
            json!({"companyName": "Globex Inc", "subsidiary": {"id": "1"}}),
            &[],
            400,
            "USER_ERROR",
            None,
        ),
        (
            "duplicate externalId",
            "customer",
            json!({"companyName": "Other", "externalId": "crm-42", "subsidiary": {"id": "1"}}),
            &[],
            400,
            "USER_ERROR",
            None,
        ),
        (
            "no company name",
            "customer",
            json!({"email": "x@example.com", "subsidiary": {"id": "1"}}),
            &[],
            400,
            "USER_ERROR",
            None,
        ),
        (
            "a person without last name",
            "customer",
            json!({"isPerson": true, "firstName": "A", "subsidiary": {"id": "1"}}),
            &[],
            400,
            "USER_ERROR",
            None,
        ),
        (
            "no subsidiary",
            "customer",
            json!({"companyName": "Acme"}),
            &[],
            400,
            "USER_ERROR",
            None,
        ),
        (
            "an unknown subsidiary",
            "customer",
            json!({"companyName": "Acme", "subsidiary": {"id": "99"}}),
            &[],
            400,
            "INVALID_CONTENT",
            Some("subsidiary"),
        ),
        (
            "a reference that is not an object",
            "customer",
            json!({"companyName": "Acme", "subsidiary": "1"}),
            &[],
            400,
            "INVALID_CONTENT",
            Some("subsidiary"),
        ),
        (
            "a text field given a number",
            "customer",
            json!({"companyName": 7, "subsidiary": {"id": "1"}}),
            &[],
            400,
            "INVALID_CONTENT",
            Some("companyName"),
        ),
        (
            "an unknown property",
            "customer",
            json!({"companyName": "Acme", "subsidiary": {"id": "1"}, "bogus": 1}),
            &[],
            400,
            "INVALID_CONTENT",
            Some("bogus"),
        ),
        (
            "an unknown company",
            "contact",
            json!({"firstName": "A", "company": {"id": "12345"}, "subsidiary": {"id": "1"}}),
            &[],
            400,
            "INVALID_CONTENT",
            Some("company"),
        ),
        (
            "a contact without a name",
            "contact",
            json!({"email": "a@b.c", "subsidiary": {"id": "1"}}),
            &[],
            400,
            "USER_ERROR",
            None,
        ),
        (
            "an unknown property, ignored by header",
            "customer",
            json!({"companyName": "Acme", "subsidiary": {"id": "1"}, "bogus": 1}),
            &[("X-NetSuite-PropertyNameValidation", "Ignore")],
            204,
            "",
            None,
        ),
    ];
    for (what, kind, body, headers, status, code, path) in cases {
        let r = ns.call_with("POST", &format!("/record/v1/{kind}"), headers, Some(body));
        assert_eq!(r.status, status, "{what}: {}", r.body);
        if status == 400 {
            let json = r.json();
            assert_eq!(json["status"], 400, "{what}");
            assert_eq!(error_code(&r), code, "{what}: {}", r.body);
            assert_eq!(
                json["o:errorDetails"][0]["o:errorPath"].as_str(),
                path,
                "{what}"
            );
        }
    }
    let counts = ns.admin("GET", "counters", None).json();
    assert_eq!(
        counts["records"]["customer"], 2,
        "only the two accepted creates stored"
    );
    let asynchronous = ns.call_with(
        "POST",
        "/record/v1/customer",
        &[("Prefer", "respond-async")],
        Some(json!({"companyName": "Later", "subsidiary": {"id": "1"}})),
    );
    assert_eq!(
        (asynchronous.status, error_code(&asynchronous)),
        (400, "USER_ERROR".to_string()),
        "async requests are refused, not run synchronously"
    );
    let bad_json = send(
        &ns.agent,
        "POST",
        &format!("{}/services/rest/record/v1/customer", ns.emulator.url()),
        &[(
            "Authorization",
            &ns.header("POST", "/services/rest/record/v1/customer", ""),
        )],
        Some("{"),
    );
    assert_eq!(error_code(&bad_json), "INVALID_CONTENT");
}

#[test]
fn listing_pages_and_filters_with_q() {
    let ns = Account::start();
    let mut ids = Vec::new();
    for (name, email) in [
        ("Alpha", "a@alpha.example"),
        ("Beta", "b@beta.example"),
        ("Gamma", "a@gamma.example"),
    ] {
        ids.push(ns.create(
            "customer",
            json!({"companyName": name, "email": email, "subsidiary": {"id": "1"}}),
        ));
    }
    let page = ns.read("/record/v1/customer?limit=2&offset=0");
    assert_eq!(
        (
            page["count"].as_u64(),
            page["hasMore"].as_bool(),
            page["totalResults"].as_u64(),
            page["offset"].as_u64()
        ),
        (Some(2), Some(true), Some(3), Some(0))
    );
    assert_eq!(
        page["items"][0],
        json!({"links": [{"rel": "self", "href": format!("{}/services/rest/record/v1/customer/{}", ns.emulator.url(), ids[0])}], "id": ids[0]})
    );
    let rels: Vec<&str> = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels, ["next", "last", "self"]);
    let last = ns.read("/record/v1/customer?limit=2&offset=2");
    assert_eq!(
        (last["count"].as_u64(), last["hasMore"].as_bool()),
        (Some(1), Some(false))
    );
    assert!(last["links"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["rel"] != "next"));
    let cases = [
        ("email START_WITH \"a@\"", vec![0, 2]),
        ("companyName IS beta", vec![1]),
        ("email CONTAIN gamma OR companyName IS Alpha", vec![0, 2]),
        (
            "(email START_WITH a) AND companyName START_WITH_NOT G",
            vec![0],
        ),
        ("phone EMPTY", vec![0, 1, 2]),
    ];
    for (q, expected) in cases {
        let listed = ns.read(&format!("/record/v1/customer?q={}", encode(q)));
        let got: Vec<&str> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = expected.iter().map(|i| ids[*i].as_str()).collect();
        assert_eq!(got, want, "{q}");
    }
    for bad in ["nope IS 1", "email GREATER 3", "limit=0", "limit=1001"] {
        let target = if bad.starts_with("limit") {
            format!("/record/v1/customer?{bad}")
        } else {
            format!("/record/v1/customer?q={}", encode(bad))
        };
        let r = ns.call("GET", &target, None);
        assert_eq!(
            (r.status, error_code(&r)),
            (400, "USER_ERROR".to_string()),
            "{bad}"
        );
    }
}

#[test]
fn suiteql_answers_its_subset_and_pages() {
    let ns = Account::start();
    let loaded = ns.admin("POST", "load", Some(json!({
        "subsidiary": [{"id": "2", "name": "EMEA"}],
        "customer": [
            {"companyName": "Cool co", "email": "coolco@sf.example", "subsidiary": {"id": "1"}, "lastModifiedDate": "2024-01-15T10:02:11Z", "dateCreated": "2024-01-01T00:00:00Z"},
            {"companyName": "Ledger Drinks", "email": "ld@sf.example", "subsidiary": {"id": "2"}, "lastModifiedDate": "2024-01-15T10:05:40Z"},
            {"isPerson": true, "firstName": "Ann", "lastName": "Lee", "phone": "555", "subsidiary": {"id": "1"}, "lastModifiedDate": "2024-01-14T23:59:59Z"}
        ]
    })));
    assert_eq!(loaded.status, 200, "{}", loaded.body);
    let ids: Vec<String> = loaded.json()["customer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let cases: Vec<(&str, Json)> = vec![
        (
            "SELECT id, companyname, isperson, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodified FROM customer WHERE lastmodifieddate >= TO_TIMESTAMP('2024-01-15 10:00:00', 'YYYY-MM-DD HH24:MI:SS') ORDER BY lastmodifieddate, id",
            json!([
                {"links": [], "id": ids[0], "companyname": "Cool co", "isperson": "F", "lastmodified": "2024-01-15 10:02:11"},
                {"links": [], "id": ids[1], "companyname": "Ledger Drinks", "isperson": "F", "lastmodified": "2024-01-15 10:05:40"}
            ]),
        ),
        ("SELECT c.id, c.email FROM customer c WHERE c.isperson = 'T'", json!([{"links": [], "id": ids[2]}])),
        ("select ID from CUSTOMER where SUBSIDIARY = 2", json!([{"links": [], "id": ids[1]}])),
        ("SELECT id FROM customer WHERE email LIKE '%sf.example' AND NOT id = 0 ORDER BY companyname DESC", json!([{"links": [], "id": ids[1]}, {"links": [], "id": ids[0]}])),
        (Box::leak(format!("SELECT id FROM customer WHERE email IS NULL OR id IN ({}, -1) ORDER BY id DESC", ids[1]).into_boxed_str()), json!([{"links": [], "id": ids[2]}, {"links": [], "id": ids[1]}])),
        ("SELECT TOP 1 id, lastname FROM customer ORDER BY lastname", json!([{"links": [], "id": ids[2], "lastname": "Lee"}])),
        ("SELECT id, datecreated FROM customer WHERE datecreated < TO_DATE('2024-01-02', 'YYYY-MM-DD')", json!([{"links": [], "id": ids[0], "datecreated": "1/1/2024"}])),
        ("SELECT UPPER(companyname) AS name FROM customer WHERE id BETWEEN 0 AND 10000 AND companyname IS NOT NULL ORDER BY 1", json!([{"links": [], "name": "COOL CO"}, {"links": [], "name": "LEDGER DRINKS"}])),
    ];
    for (q, expected) in cases {
        assert_eq!(Json::Array(ns.rows(q)), expected, "{q}");
    }
    assert_eq!(
        ns.rows("SELECT COUNT(*) AS n, COUNT(phone) AS phones FROM customer WHERE subsidiary = 1"),
        vec![json!({"links": [], "n": "2", "phones": "1"})],
        "COUNT without GROUP BY"
    );
    // Refused the way NetSuite refuses a query, never answered by a guess.
    let refusals = [
        "SELECT foo FROM customer",
        "SELECT id FROM invoice",
        "SELECT c.id FROM customer c JOIN contact t ON t.company = c.id",
        "SELECT id, COUNT(*) FROM customer",
        "SELECT COUNT(DISTINCT email) FROM customer",
        "SELECT COUNT(*) FROM customer ORDER BY id",
        "SELECT id FROM customer GROUP BY id",
        "SELECT BUILTIN.DF(subsidiary) FROM customer",
        "SELECT id FROM customer WHERE lastmodifieddate > '2024-01-01'",
        "SELECT id FROM customer WHERE id IN (SELECT id FROM contact)",
        "SELECT DISTINCT email FROM customer",
        "SELECT TO_CHAR(lastmodifieddate, 'DD-MON-YYYY') FROM customer",
        "SELECT id FROM customer WHERE x.id = 1",
        "DELETE FROM customer",
        "SELECT id FROM customer WHERE",
    ];
    for q in refusals {
        let r = ns.suiteql(q, "");
        assert_eq!(
            (r.status, error_code(&r)),
            (400, "USER_ERROR".to_string()),
            "{q}: {}",
            r.body
        );
        assert_eq!(r.json()["title"], "Invalid search query.", "{q}");
    }
    // Paging: limit/offset in the URL, hasMore, totalResults and links.
    let q = "SELECT id FROM customer ORDER BY id";
    let first = ns.suiteql(q, "?limit=2&offset=0").json();
    let second = ns.suiteql(q, "?limit=2&offset=2").json();
    assert_eq!(
        (
            first["count"].as_u64(),
            first["hasMore"].as_bool(),
            first["totalResults"].as_u64()
        ),
        (Some(2), Some(true), Some(3))
    );
    assert_eq!(
        (
            second["count"].as_u64(),
            second["hasMore"].as_bool(),
            second["offset"].as_u64()
        ),
        (Some(1), Some(false), Some(2))
    );
    assert_eq!(second["items"][0]["id"], json!(ids[2]));
    assert!(first["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "next"));
    for paging in ["?limit=1001", "?limit=0", "?offset=x"] {
        assert_eq!(ns.suiteql(q, paging).status, 400, "{paging}");
    }
    // Deletes reach deletedrecord.
    ns.advance(5);
    assert_eq!(
        ns.call("DELETE", &format!("/record/v1/customer/{}", ids[1]), None)
            .status,
        204
    );
    let gone = ns.rows("SELECT recordid, type, TO_CHAR(deleteddate, 'YYYY-MM-DD HH24:MI:SS') AS deleted FROM deletedrecord WHERE deleteddate >= TO_TIMESTAMP('2024-01-01 00:00:00', 'YYYY-MM-DD HH24:MI:SS') ORDER BY deleteddate");
    assert_eq!(gone.len(), 1);
    assert_eq!(
        (gone[0]["recordid"].as_str(), gone[0]["type"].as_str()),
        (Some(ids[1].as_str()), Some("customer"))
    );
    assert_eq!(gone[0]["deleted"].as_str().unwrap().len(), 19);
}

#[test]
fn suiteql_flags_pin_unverified_behaviour() {
    let ns = Account::with(Options {
        suiteql_omit_nulls: false,
        require_prefer_transient: true,
        timezone_offset_minutes: -480,
        date_format: "YYYY-MM-DD".into(),
        deleted_type_case: netsuite::DeletedTypeCase::Capitalized,
        suiteql_max_rows: 2,
        ..Options::default()
    });
    ns.admin("POST", "load", Some(json!({"customer": [
        {"companyName": "A", "subsidiary": {"id": "1"}, "lastModifiedDate": "2024-01-15T02:00:00Z"},
        {"companyName": "B", "subsidiary": {"id": "1"}},
        {"companyName": "C", "subsidiary": {"id": "1"}}
    ]})));
    let rows = ns.rows("SELECT companyname, phone, lastmodifieddate, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI') AS local FROM customer WHERE companyname = 'A'");
    assert_eq!(
        rows,
        vec![
            json!({"links": [], "companyname": "A", "phone": null, "lastmodifieddate": "2024-01-14", "local": "2024-01-14 18:00"})
        ]
    );
    let all = ns
        .suiteql("SELECT id FROM customer", "?limit=1&offset=1")
        .json();
    assert_eq!(
        (all["totalResults"].as_u64(), all["hasMore"].as_bool()),
        (Some(2), Some(false)),
        "capped at suiteql_max_rows"
    );
    assert_eq!(
        ns.suiteql("SELECT id FROM customer", "?offset=2").status,
        400
    );
    let unpreferred = ns.call(
        "POST",
        "/query/v1/suiteql",
        Some(json!({"q": "SELECT id FROM customer"})),
    );
    assert_eq!(
        (unpreferred.status, error_code(&unpreferred)),
        (400, "USER_ERROR".to_string())
    );
    let id = ns.create(
        "customer",
        json!({"companyName": "D", "subsidiary": {"id": "1"}}),
    );
    assert_eq!(
        ns.call("DELETE", &format!("/record/v1/customer/{id}"), None)
            .status,
        204
    );
    assert_eq!(
        ns.rows("SELECT type FROM deletedrecord")[0]["type"],
        "Customer"
    );
}

#[test]
fn custom_entity_fields_come_from_the_schema_file() {
    let schema = json!({"customFields": [
        {"id": "custentity_tier", "type": "text", "label": "Tier", "appliesTo": ["customer"]},
        {"id": "custentity_vip", "type": "checkbox", "appliesTo": ["customer", "contact"]},
        {"id": "custentity_synced", "type": "datetime", "appliesTo": ["customer"]}
    ]});
    let ns = Account::with(Options {
        schema_json: Some(schema.to_string()),
        ..Options::default()
    });
    let id = ns.create("customer", json!({"companyName": "Acme", "subsidiary": {"id": "1"}, "custentity_tier": "gold", "custentity_vip": true, "custentity_synced": "2024-01-15T11:02:11+01:00"}));
    let record = ns.read(&format!("/record/v1/customer/{id}"));
    assert_eq!(
        record["custentity_synced"], "2024-01-15T10:02:11Z",
        "datetimes read back in UTC"
    );
    let synced = ns.rows("SELECT TO_CHAR(custentity_synced, 'YYYY-MM-DD HH24:MI:SS') AS s FROM customer WHERE custentity_synced > TO_TIMESTAMP('2024-01-15 10:00:00', 'YYYY-MM-DD HH24:MI:SS')");
    assert_eq!(
        synced,
        vec![json!({"links": [], "s": "2024-01-15 10:02:11"})]
    );
    let listed = ns.read(&format!(
        "/record/v1/customer?q={}",
        encode("custentity_synced ON \"1/15/2024\"")
    ));
    assert_eq!(listed["totalResults"], 1);
    let bad = ns.call(
        "PATCH",
        &format!("/record/v1/customer/{id}"),
        Some(json!({"custentity_synced": "yesterday"})),
    );
    assert_eq!(
        (bad.status, error_code(&bad)),
        (400, "INVALID_CONTENT".to_string())
    );
    assert_eq!(
        (
            record["custentity_tier"].as_str(),
            record["custentity_vip"].as_bool()
        ),
        (Some("gold"), Some(true))
    );
    assert_eq!(
        ns.rows("SELECT custentity_tier, custentity_vip FROM customer WHERE custentity_vip = 'T'"),
        vec![json!({"links": [], "custentity_tier": "gold", "custentity_vip": "T"})]
    );
    let refused = ns.call(
        "POST",
        "/record/v1/contact",
        Some(json!({"firstName": "A", "subsidiary": {"id": "1"}, "custentity_tier": "x"})),
    );
    assert_eq!(
        (refused.status, error_code(&refused)),
        (400, "INVALID_CONTENT".to_string()),
        "tier applies to customers only"
    );
    let catalog = ns.read("/record/v1/metadata-catalog/customer");
    assert_eq!(catalog["properties"]["custentity_tier"]["title"], "Tier");
    assert_eq!(
        catalog["properties"]["custentity_tier"]["x-ns-custom-field"],
        true
    );
    assert_eq!(catalog["properties"]["companyName"]["type"], "string");
    assert!(netsuite::start(Options {
        schema_json: Some(
            r#"{"customFields": [{"id": "tier", "type": "text", "appliesTo": ["customer"]}]}"#
                .into()
        ),
        ..Options::default()
    })
    .is_err());
}

#[test]
fn over_the_concurrency_limit_requests_get_429() {
    let ns = Account::with(Options {
        concurrency_limit: 2,
        ..Options::default()
    });
    assert_eq!(
        ns.admin("PUT", "governance", Some(json!({"open": false})))
            .status,
        200
    );
    std::thread::scope(|scope| {
        let held: Vec<_> = (0..2)
            .map(|_| {
                let header = ns.header("GET", "/services/rest/record/v1/customer", "");
                let url = format!("{}/services/rest/record/v1/customer", ns.emulator.url());
                let agent = agent();
                scope.spawn(move || {
                    send(&agent, "GET", &url, &[("Authorization", &header)], None).status
                })
            })
            .collect();
        wait_for("two requests in flight", || {
            ns.admin("GET", "governance", None).json()["inFlight"] == 2
        });
        let over = ns.call("GET", "/record/v1/customer", None);
        assert_eq!(
            (over.status, error_code(&over)),
            (429, "CONCURRENCY_LIMIT_EXCEEDED".to_string())
        );
        assert!(over.header("retry-after").is_none());
        ns.admin("PUT", "governance", Some(json!({"open": true})));
        for handle in held {
            assert_eq!(handle.join().unwrap(), 200);
        }
    });
    assert_eq!(ns.admin("GET", "governance", None).json()["inFlight"], 0);
    assert_eq!(ns.call("GET", "/record/v1/customer", None).status, 200);
}

#[test]
fn faults_are_injected_through_the_admin_api() {
    let ns = Account::start();
    let rules = json!({"rules": [
        {"endpoint": "record", "kind": "unavailable", "next": 1},
        {"endpoint": "suiteql", "kind": "server_error", "next": 1}
    ]});
    assert_eq!(ns.admin("PUT", "faults", Some(rules)).status, 200);
    let unavailable = ns.call("GET", "/record/v1/customer", None);
    assert_eq!(
        (unavailable.status, error_code(&unavailable)),
        (503, "SERVICE_UNAVAILABLE".to_string())
    );
    assert_eq!(ns.call("GET", "/record/v1/customer", None).status, 200);
    assert_eq!(ns.suiteql("SELECT id FROM customer", "").status, 500);
    assert_eq!(ns.suiteql("SELECT id FROM customer", "").status, 200);
    for (rule, accepted) in [
        (json!({"endpoint": "sobject", "kind": "drop"}), false),
        (json!({"endpoint": "record", "kind": "lock_row"}), false),
        (
            json!({"endpoint": "token", "kind": "drop", "next": 1}),
            true,
        ),
    ] {
        assert_eq!(
            ns.admin("PUT", "faults", Some(json!({"rules": [rule.clone()]})))
                .status
                == 200,
            accepted,
            "{rule}"
        );
    }
    let token_url = format!("{}/services/rest/auth/oauth2/v1/token", ns.emulator.url());
    assert!(
        try_send(
            &ns.agent,
            "POST",
            &token_url,
            &[],
            Some("grant_type=client_credentials")
        )
        .is_err(),
        "dropped"
    );
    let counters = ns.admin("GET", "counters", None).json();
    assert_eq!(counters["faultsInjected"]["drop"], 1);
    assert_eq!(counters["requestsByStatus"]["503"], 1);
}

#[test]
fn the_binary_serves_netsuite_as_a_subcommand() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let schema = format!("{examples}/netsuite-schema.json");
    let data = format!("{examples}/netsuite-data.json");
    let (mut child, url) = spawn_binary(&[
        "netsuite",
        "--schema",
        &schema,
        "--data",
        &data,
        "--port",
        "0",
        "--concurrency-limit",
        "3",
        "--timezone-offset-minutes",
        "-300",
    ]);
    let health = send(
        &agent(),
        "GET",
        &format!("{url}/__emulator/health"),
        &[],
        None,
    )
    .json();
    let governance = send(
        &agent(),
        "GET",
        &format!("{url}/__emulator/governance"),
        &[],
        None,
    )
    .json();
    let counters = send(
        &agent(),
        "GET",
        &format!("{url}/__emulator/counters"),
        &[],
        None,
    )
    .json();
    let contacts = send(
        &agent(),
        "GET",
        &format!("{url}/__emulator/records/contact"),
        &[],
        None,
    )
    .json();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(health["system"], "netsuite");
    assert_eq!(counters["records"]["customer"], 2, "the example data loads");
    assert_eq!(
        contacts["items"][0]["custentity_hubsync_vip"], true,
        "with the example schema"
    );
    assert_eq!(governance["limit"], 3);
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_hubsync-emulator"))
        .args(["netsuite", "--upsert-status", "42"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn concurrent_upserts_of_one_external_id_make_one_record() {
    let ns = Account::with(Options {
        concurrency_limit: 100,
        ..Options::default()
    });
    let path = "/services/rest/record/v1/customer/eid:hub-1";
    let url = format!("{}{path}", ns.emulator.url());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|i| {
                let header = ns.header("PUT", path, "");
                let url = url.clone();
                scope.spawn(move || {
                    let body = json!({"companyName": "Hub One", "phone": format!("555-{i}"), "subsidiary": {"id": "1"}});
                    send(&agent(), "PUT", &url, &[("Authorization", &header)], Some(&body.to_string())).status
                })
            })
            .collect();
        for worker in workers {
            assert_eq!(worker.join().unwrap(), 204);
        }
    });
    let counts = ns.admin("GET", "counters", None).json();
    assert_eq!(counts["records"]["customer"], 1);
    assert_eq!(counts["recordsCreated"], 1);
    assert_eq!(counts["recordsUpdated"], 7);
}
