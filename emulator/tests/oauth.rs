//! OAuth 2.0 token endpoint and session handling.

mod common;

use common::*;
use hubsync_emulator::EmulatorOptions;

#[test]
fn password_grant_returns_a_full_token_response() {
    let org = Org::start();
    let r = token_request(&org.agent, org.base(), &PASSWORD_FORM, &[]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    let body = r.json();
    assert_eq!(body["instance_url"], org.base());
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"]
        .as_str()
        .unwrap()
        .starts_with("00Dxx0000000001!"));
    assert!(
        body.get("refresh_token").is_none(),
        "the username-password flow never returns a refresh token"
    );
    assert!(body["signature"].is_string());
    assert!(body["issued_at"].as_str().unwrap().parse::<u64>().is_ok());
    let id = body["id"].as_str().unwrap();
    assert!(
        id.ends_with("/id/00Dxx0000000001EAA/005xx0000000001AAA"),
        "{id}"
    );
}

#[test]
fn refresh_token_grant_accepts_the_configured_token_only() {
    let org = Org::with(EmulatorOptions {
        refresh_token: Some("configured-refresh".into()),
        ..Default::default()
    });
    let token = "configured-refresh";
    let r = token_request(
        &org.agent,
        org.base(),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "hubsync-demo-client"),
            ("refresh_token", token),
        ],
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.json().get("refresh_token").is_none(),
        "refresh grant issues no new refresh token"
    );
    assert_token_works(&org, r.json()["access_token"].as_str().unwrap());
    let bad = token_request(
        &org.agent,
        org.base(),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "hubsync-demo-client"),
            ("refresh_token", "nope"),
        ],
        &[],
    );
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        serde_json::json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
    );
}

#[test]
fn client_credentials_by_form_and_basic_auth() {
    let org = Org::start();
    let form = token_request(
        &org.agent,
        org.base(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "hubsync-demo-client"),
            ("client_secret", "hubsync-demo-secret"),
        ],
        &[],
    );
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(form.json()["token_format"], "opaque");
    // base64("hubsync-demo-client:hubsync-demo-secret")
    let basic = token_request(
        &org.agent,
        org.base(),
        &[("grant_type", "client_credentials")],
        &[(
            "Authorization",
            "Basic aHVic3luYy1kZW1vLWNsaWVudDpodWJzeW5jLWRlbW8tc2VjcmV0",
        )],
    );
    assert_eq!(basic.status, 200, "{}", basic.body);
}

#[test]
fn oauth_errors_use_the_rfc_6749_shape() {
    let org = Org::start();
    let case = |form: &[(&str, &str)], error: &str, description: &str| {
        let r = token_request(&org.agent, org.base(), form, &[]);
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(
            r.json(),
            serde_json::json!({"error": error, "error_description": description})
        );
    };
    let mut wrong_password = PASSWORD_FORM;
    wrong_password[4] = ("password", "wrong");
    case(&wrong_password, "invalid_grant", "authentication failure");
    let mut wrong_client = PASSWORD_FORM;
    wrong_client[1] = ("client_id", "someone-else");
    case(
        &wrong_client,
        "invalid_client_id",
        "client identifier invalid",
    );
    let mut wrong_secret = PASSWORD_FORM;
    wrong_secret[2] = ("client_secret", "wrong");
    case(
        &wrong_secret,
        "invalid_client",
        "invalid client credentials",
    );
    case(
        &[("grant_type", "authorization_code")],
        "unsupported_grant_type",
        "grant type not supported",
    );
    case(&[], "unsupported_grant_type", "grant type not supported");
}

#[test]
fn tokens_expire_after_their_lifetime_and_on_demand() {
    let org = Org::with(EmulatorOptions {
        token_lifetime: std::time::Duration::from_secs(60),
        ..Default::default()
    });
    assert_eq!(org.get("/limits").status, 200);
    org.advance(61);
    let expired = org.get("/limits");
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.json(),
        serde_json::json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let fresh = token_request(&org.agent, org.base(), &PASSWORD_FORM, &[]).json();
    let auth = format!("OAuth {}", fresh["access_token"].as_str().unwrap());
    let limits_with_fresh_token = || {
        let headers = [("Authorization", auth.as_str())];
        send(&org.agent, "GET", &org.url("/limits"), &headers, None).status
    };
    assert_eq!(limits_with_fresh_token(), 200);
    assert_eq!(org.admin("POST", "tokens/expire", None).status, 200);
    assert_eq!(limits_with_fresh_token(), 401);
}

#[test]
fn missing_authorization_header_is_rejected() {
    let org = Org::start();
    let r = send(&org.agent, "GET", &org.url("/sobjects"), &[], None);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        serde_json::json!([{"message": "INVALID_HEADER_TYPE", "errorCode": "INVALID_AUTH_HEADER"}])
    );
}

fn jwt_login(org: &Org, assertion: &str) -> Resp {
    token_request(
        &org.agent,
        org.base(),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ],
        &[],
    )
}

#[test]
fn jwt_bearer_grant_verifies_the_assertion_against_the_certificate() {
    for key in [
        include_str!("data/jwt_test_cert.pem"),
        include_str!("data/jwt_test_rsa_public.pem"),
    ] {
        let org = Org::with(EmulatorOptions {
            jwt_certificate_pem: Some(key.into()),
            ..Default::default()
        });
        let claims = |aud: &str, sub: &str, iss: &str, exp: u64| serde_json::json!({"iss": iss, "sub": sub, "aud": aud, "exp": exp});
        let good = jwt_login(
            &org,
            &assertion(claims(
                "https://login.salesforce.com",
                "demo@hubsync.local",
                "hubsync-demo-client",
                now_secs() + 180,
            )),
        );
        assert_eq!(good.status, 200, "{}", good.body);
        let body = good.json();
        for absent in ["refresh_token", "signature", "issued_at"] {
            assert!(body.get(absent).is_none(), "{absent} in {body}");
        }
        assert_eq!(body["instance_url"], org.base());
        assert_eq!(body["token_type"], "Bearer");
        assert_token_works(&org, body["access_token"].as_str().unwrap());
        let emulator_aud = jwt_login(
            &org,
            &assertion(claims(
                org.base(),
                "demo@hubsync.local",
                "hubsync-demo-client",
                now_secs() + 60,
            )),
        );
        assert_eq!(emulator_aud.status, 200, "{}", emulator_aud.body);

        let refused = |claims: serde_json::Value| jwt_login(&org, &assertion(claims)).json();
        let now = now_secs();
        assert_eq!(
            refused(claims(
                "https://example.com",
                "demo@hubsync.local",
                "hubsync-demo-client",
                now + 60
            )),
            serde_json::json!({"error": "invalid_grant", "error_description": "audience is invalid"})
        );
        assert_eq!(
            refused(claims(
                "https://login.salesforce.com",
                "someone@else",
                "hubsync-demo-client",
                now + 60
            ))["error_description"],
            "user hasn't approved this consumer"
        );
        assert_eq!(
            refused(claims(
                "https://login.salesforce.com",
                "demo@hubsync.local",
                "other-app",
                now + 60
            ))["error"],
            "invalid_client_id"
        );
        assert_eq!(
            refused(claims(
                "https://login.salesforce.com",
                "demo@hubsync.local",
                "hubsync-demo-client",
                now - 10
            ))["error"],
            "invalid_grant"
        );
        let mut tampered = assertion(claims(
            "https://login.salesforce.com",
            "demo@hubsync.local",
            "hubsync-demo-client",
            now + 60,
        ));
        tampered.insert(tampered.rfind('.').unwrap() + 1, 'A');
        assert_eq!(
            jwt_login(&org, &tampered).json()["error_description"],
            "invalid assertion"
        );
    }
    // Signed by another key than the connected app's certificate.
    let org = Org::with(EmulatorOptions {
        jwt_certificate_pem: Some(include_str!("data/jwt_other_cert.pem").into()),
        ..Default::default()
    });
    let claims = serde_json::json!({"iss": "hubsync-demo-client", "sub": "demo@hubsync.local",
                                    "aud": "https://login.salesforce.com", "exp": now_secs() + 60});
    let r = jwt_login(&org, &assertion(claims));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error_description"], "invalid assertion");
}

/// An access token opens the REST API.
fn assert_token_works(org: &Org, access: &str) {
    let ok = send(
        &org.agent,
        "GET",
        &org.url("/limits"),
        &[("Authorization", &format!("Bearer {access}"))],
        None,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
}
