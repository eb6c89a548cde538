//! `source` and `target`: which end is the remote system and which the local table.
//!
//! The brief's main example syncs Salesforce (source) into Postgres (target); the reverse
//! orientation is just as valid. Parsing settles once which end is which, so nothing else
//! needs to know what the config called "source".

use crate::config::defaults::API_VERSION;
use crate::config::model::{AuthType, LocalEndpoint, RemoteEndpoint, Side, SystemKind};
use crate::config::scalars::{ApiName, PgName, SecretText};
use crate::config::secrets::{check_grant, check_zendesk, parse_netsuite_secret, secret_keys};
use crate::config::walker::{convert, reconcile, text_type, FromJson, Obj, Problems};
use crate::config::words::word_for;
use crate::problem::{Problem, ProblemKind};
use serde_json::Value;

const REMOTE_KEYS: &[&str] = &["type", "object", "credentials"];
const LOCAL_KEYS: &[&str] = &["type", "table", "schema", "credentials"];
const REMOTE_SETTING_KEYS: &[&str] = &[
    "auth_type",
    "instance_url",
    "login_url",
    "api_version",
    "domain",
];
/// Zendesk's address: a `subdomain` of zendesk.com, or an explicit URL (`instance_url`,
/// or `url`, e.g. the emulator's).
const ZENDESK_SETTING_KEYS: &[&str] = &["subdomain", "instance_url", "url"];
/// NetSuite's: the account (realm and REST host), or an explicit REST base URL (the
/// emulator's), or both (the account then only names the realm).
const NETSUITE_SETTING_KEYS: &[&str] = &["auth_type", "account_id", "instance_url"];
/// The NetSuite record types hubsync syncs.
const NETSUITE_OBJECTS: &[&str] = &["customer", "contact"];
const LOCAL_CREDENTIAL_KEYS: &[&str] = &["host", "port", "database", "schema", "user", "password"];

/// The two ends as far as they could be read.
#[derive(Debug, Default)]
pub(super) struct Ends {
    pub remote: Option<RemoteEndpoint>,
    pub local: Option<LocalEndpoint>,
    /// Which end the config calls "source", once its type is known.
    pub source: Option<Side>,
}

/// One end, read.
enum End {
    Remote(RemoteEndpoint),
    Local(LocalEndpoint),
}

impl End {
    fn side(&self) -> Side {
        match self {
            End::Remote(_) => Side::Remote,
            End::Local(_) => Side::Local,
        }
    }

    fn path(&self) -> &str {
        match self {
            End::Remote(r) => &r.path,
            End::Local(l) => &l.path,
        }
    }
}

/// Reads `source` and `target` and decides which is remote.
pub(super) fn read(root: &Obj, problems: &mut Problems) -> Ends {
    let source = read_end(root, "source", problems);
    let target = read_end(root, "target", problems);
    if let (Some(s), Some(t)) = (&source, &target) {
        if s.side() == t.side() {
            problems.invalid(&format!("{}.type", t.path()), same_side_message(s.side()));
        }
    }
    let mut ends = Ends {
        source: source.as_ref().map(End::side),
        ..Ends::default()
    };
    for end in [source, target].into_iter().flatten() {
        match end {
            End::Remote(r) => ends.remote = ends.remote.or(Some(r)),
            End::Local(l) => ends.local = ends.local.or(Some(l)),
        }
    }
    ends
}

fn same_side_message(side: Side) -> &'static str {
    match side {
        Side::Local => "both ends are postgres; one end must be a remote system such as salesforce",
        Side::Remote => {
            "neither end is postgres; hubsync syncs a remote system with a postgres table"
        }
    }
}

fn read_end(root: &Obj, key: &str, problems: &mut Problems) -> Option<End> {
    let Some(value) = root.value(key) else {
        problems.invalid(
            &root.at(key),
            "required key is missing; expected the system at this end, e.g. \
             {\"type\": \"salesforce\", \"object\": \"Account\"} or {\"type\": \"postgres\", \"table\": \"accounts\"}",
        );
        return None;
    };
    let keys_for = |system| match system {
        SystemKind::Postgres => LOCAL_KEYS,
        _ => REMOTE_KEYS,
    };
    let (system, obj) = Obj::open_tagged(value, &root.at(key), "type", keys_for, problems)?;
    match system {
        SystemKind::Postgres => read_local(&obj, problems).map(End::Local),
        remote => read_remote(&obj, remote, problems).map(End::Remote),
    }
}

fn read_remote(obj: &Obj, system: SystemKind, problems: &mut Problems) -> Option<RemoteEndpoint> {
    if !matches!(
        system,
        SystemKind::Salesforce | SystemKind::Zendesk | SystemKind::Netsuite
    ) {
        problems.push(Problem::new(
            ProblemKind::NotSupported,
            obj.at("type"),
            format!(
                "salesforce, netsuite and zendesk are synced today; {} is not supported yet",
                word_for(system)
            ),
        ));
    }
    let object = obj.require::<ApiName>(
        "object",
        "the object's API name, e.g. \"Account\"",
        problems,
    );
    if let Some(name) = object.as_ref().filter(|_| system == SystemKind::Netsuite) {
        if !NETSUITE_OBJECTS.contains(&name.0.to_ascii_lowercase().as_str()) {
            problems.push(Problem::new(
                ProblemKind::NotSupported,
                obj.at("object"),
                format!(
                    "hubsync syncs NetSuite's Customer and Contact records; {:?} is not supported yet",
                    name.0
                ),
            ));
        }
    }
    let settings = match system {
        SystemKind::Zendesk => RemoteSettings::read_zendesk(obj, problems),
        _ => RemoteSettings::read(obj, system, problems),
    };
    Some(RemoteEndpoint {
        system,
        object: object?.0,
        instance_url: settings.instance_url,
        account_id: settings.account_id,
        login_url: settings.login_url,
        auth_type: settings.auth_type,
        api_version: settings.api_version,
        path: obj.path().to_string(),
    })
}

/// The non-secret part of the remote end's `credentials`.
struct RemoteSettings {
    auth_type: AuthType,
    instance_url: Option<String>,
    account_id: Option<String>,
    login_url: Option<String>,
    api_version: String,
}

impl RemoteSettings {
    /// No settings: every default.
    fn defaults() -> Self {
        RemoteSettings {
            auth_type: AuthType::Oauth2,
            instance_url: None,
            account_id: None,
            login_url: None,
            api_version: API_VERSION.to_string(),
        }
    }

    fn read(end: &Obj, system: SystemKind, problems: &mut Problems) -> Self {
        let settings: &[&str] = match system {
            SystemKind::Netsuite => NETSUITE_SETTING_KEYS,
            _ => REMOTE_SETTING_KEYS,
        };
        let keys = [settings, secret_keys(system)].concat();
        let creds = end.object("credentials", &keys, problems);
        let Some(creds) = creds else {
            return RemoteSettings::defaults();
        };
        check_secrets(&creds, system, problems);
        RemoteSettings {
            auth_type: creds.get("auth_type", problems).unwrap_or(AuthType::Oauth2),
            instance_url: creds.get::<HttpUrl>("instance_url", problems).map(|u| u.0),
            account_id: creds.get::<AccountId>("account_id", problems).map(|a| a.0),
            login_url: login_url(&creds, problems),
            api_version: creds
                .get::<ApiVersion>("api_version", problems)
                .map_or_else(|| API_VERSION.to_string(), |v| v.0),
        }
    }

    /// Zendesk's `credentials`: `subdomain` (→ `https://{subdomain}.zendesk.com`) or an
    /// explicit `instance_url` / `url`, and optionally the secrets.
    fn read_zendesk(end: &Obj, problems: &mut Problems) -> Self {
        let system = SystemKind::Zendesk;
        let keys = [ZENDESK_SETTING_KEYS, secret_keys(system)].concat();
        let Some(creds) = end.object("credentials", &keys, problems) else {
            return RemoteSettings::defaults();
        };
        check_secrets(&creds, system, problems);
        let given: Vec<(&str, String)> = [
            (
                "subdomain",
                creds
                    .get::<Subdomain>("subdomain", problems)
                    .map(|s| format!("https://{}.zendesk.com", s.0)),
            ),
            (
                "instance_url",
                creds.get::<HttpUrl>("instance_url", problems).map(|u| u.0),
            ),
            ("url", creds.get::<HttpUrl>("url", problems).map(|u| u.0)),
        ]
        .into_iter()
        .filter_map(|(key, url)| url.map(|u| (key, u)))
        .collect();
        if let [_, (second, _), ..] = given.as_slice() {
            problems.invalid(
                &creds.at(second),
                "give one of 'subdomain', 'instance_url' or 'url', not several",
            );
        }
        RemoteSettings {
            instance_url: given.into_iter().next().map(|(_, url)| url),
            ..RemoteSettings::defaults()
        }
    }
}

/// Secrets given in the config must be strings and add up to a usable way to sign in.
fn check_secrets(creds: &Obj, system: SystemKind, problems: &mut Problems) {
    let keys = secret_keys(system);
    if system == SystemKind::Netsuite {
        return check_netsuite(creds, keys, problems);
    }
    for key in keys {
        creds.get::<SecretText>(key, problems);
    }
    if keys.iter().any(|k| creds.has(k)) {
        match system {
            SystemKind::Zendesk => check_zendesk(creds, problems),
            _ => check_grant(creds, problems),
        }
    }
}

/// NetSuite secrets given in the config: one complete set (see `parse_netsuite_secret`),
/// its problems reported at the keys' paths in the config.
fn check_netsuite(creds: &Obj, keys: &[&str], problems: &mut Problems) {
    let given: serde_json::Map<String, Value> = keys
        .iter()
        .filter_map(|k| creds.value(k).map(|v| (k.to_string(), v.clone())))
        .collect();
    if given.is_empty() {
        return;
    }
    if let Err(found) = parse_netsuite_secret(&Value::Object(given)) {
        for problem in found {
            let path = match problem.path.as_str() {
                "" => creds.path().to_string(),
                key => creds.at(key),
            };
            problems.push(Problem { path, ..problem });
        }
    }
}

/// `login_url`, or the My Domain / `login` / `test` host named by `domain`.
fn login_url(creds: &Obj, problems: &mut Problems) -> Option<String> {
    let url = creds.get::<HttpUrl>("login_url", problems).map(|u| u.0);
    let domain = creds.get::<Domain>("domain", problems).map(|d| d.0);
    if url.is_some() && domain.is_some() {
        problems.invalid(
            &creds.at("domain"),
            "give either 'login_url' or 'domain', not both",
        );
    }
    url.or_else(|| domain.map(|d| format!("https://{d}.salesforce.com")))
}

fn read_local(obj: &Obj, problems: &mut Problems) -> Option<LocalEndpoint> {
    let table = obj.require::<PgName>("table", "the table's name, e.g. \"accounts\"", problems);
    let creds = obj.object("credentials", LOCAL_CREDENTIAL_KEYS, problems);
    let schema = reconcile(
        obj.located::<PgName>("schema", problems),
        creds
            .as_ref()
            .and_then(|c| c.located::<PgName>("schema", problems)),
        PartialEq::eq,
        problems,
    );
    let cred = |key: &str, problems: &mut Problems| {
        creds.as_ref().and_then(|c| c.get::<String>(key, problems))
    };
    let host = cred("host", problems);
    let database = cred("database", problems);
    cred("user", problems);
    let port = creds.as_ref().and_then(|c| c.get::<u16>("port", problems));
    if let Some(c) = &creds {
        c.get::<SecretText>("password", problems);
    }
    Some(LocalEndpoint {
        schema: schema.map(|s| s.value.0),
        table: table?.0,
        database,
        host,
        port,
        path: obj.path().to_string(),
    })
}

text_type!(
    /// An absolute http(s) URL with a host.
    HttpUrl,
    "an http(s) URL, e.g. \"https://yourinstance.salesforce.com\"",
    |s| url::Url::parse(s)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
);

text_type!(
    /// A NetSuite account id: letters, digits, `_` or `-` (`1234567`, `1234567_SB1`).
    AccountId,
    "a NetSuite account id such as \"1234567\" or \"1234567_SB1\"",
    |s| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
);

text_type!(
    /// A Salesforce login domain: `login`, `test` or a My Domain prefix such as `acme.my`.
    Domain,
    "a login domain such as \"login\", \"test\" or \"mycompany.my\"",
    |s| !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
);

text_type!(
    /// A Zendesk subdomain: `acme` for `https://acme.zendesk.com`.
    Subdomain,
    "a Zendesk subdomain such as \"acme\" (for https://acme.zendesk.com)",
    |s| !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('-')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
);

/// A REST API version, normalised to `NN.0` (`"59.0"`, `"v59.0"` and `59` all read as `59.0`).
struct ApiVersion(String);

impl FromJson for ApiVersion {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        convert(
            value,
            path,
            problems,
            "an API version such as \"59.0\"",
            |v| {
                let text = match v {
                    Value::String(s) => s.trim_start_matches('v').to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                let major = text.strip_suffix(".0").unwrap_or(&text);
                let number: u32 = major.parse().ok().filter(|m| *m >= 20)?;
                Some(ApiVersion(format!("{number}.0")))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ends(config: Value) -> (Ends, Vec<Problem>) {
        let mut problems = Problems::default();
        let root = Obj::open(&config, "", &["source", "target"], &mut problems).unwrap();
        (read(&root, &mut problems), problems.into_vec())
    }

    #[test]
    fn either_orientation_resolves_to_remote_and_local() {
        let (forward, problems) = ends(json!({
            "source": {"type": "salesforce", "object": "Account"},
            "target": {"type": "postgres", "table": "accounts"}}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(forward.source, Some(Side::Remote));
        assert_eq!(forward.remote.unwrap().object, "Account");

        let (reverse, problems) = ends(json!({
            "source": {"type": "postgres", "table": "accounts", "schema": "crm"},
            "target": {"type": "salesforce", "object": "Account"}}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(reverse.source, Some(Side::Local));
        let local = reverse.local.unwrap();
        assert_eq!(
            (local.schema.as_deref(), local.path.as_str()),
            (Some("crm"), "source")
        );
        assert_eq!(reverse.remote.unwrap().path, "target");
    }

    #[test]
    fn credentials_settings_are_read_and_defaulted() {
        let (e, problems) = ends(json!({
            "source": {"type": "salesforce", "object": "Account", "credentials": {
                "auth_type": "oauth2", "domain": "test", "api_version": "v60.0"}},
            "target": {"type": "postgres", "table": "t", "credentials": {"port": 5432, "schema": "public"}}}));
        assert!(problems.is_empty(), "{problems:?}");
        let remote = e.remote.unwrap();
        assert_eq!(
            remote.login_url.as_deref(),
            Some("https://test.salesforce.com")
        );
        assert_eq!(remote.api_version, "60.0");
        let local = e.local.unwrap();
        assert_eq!(
            (local.port, local.schema.as_deref()),
            (Some(5432), Some("public"))
        );
    }

    #[test]
    fn end_problems_point_at_their_keys() {
        let (_, problems) = ends(json!({
            "source": {"type": "netsuite", "object": "SalesOrder"},
            "target": {"type": "postgres", "table": "t", "object": "x",
                       "credentials": {"port": "5432"}}}));
        let found: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.path.as_str(), p.kind.sqlstate()))
            .collect();
        assert_eq!(
            found,
            [
                ("source.object", "0A000"),
                ("target.object", "22023"),
                ("target.credentials.port", "22023")
            ]
        );
    }

    #[test]
    fn netsuite_ends_name_an_account_or_a_url_and_a_supported_record() {
        let (e, problems) = ends(json!({
            "source": {"type": "netsuite", "object": "Customer",
                       "credentials": {"account_id": "1234567_SB1"}},
            "target": {"type": "postgres", "table": "t"}}));
        assert!(problems.is_empty(), "{problems:?}");
        let remote = e.remote.unwrap();
        assert_eq!(remote.system, SystemKind::Netsuite);
        assert_eq!(remote.account_id.as_deref(), Some("1234567_SB1"));
        let (e, problems) = ends(json!({
            "source": {"type": "postgres", "table": "t"},
            "target": {"type": "netsuite", "object": "contact", "credentials": {
                "instance_url": "http://127.0.0.1:8099", "account_id": "1234567",
                "consumer_key": "a", "consumer_secret": "b", "token_id": "c", "token_secret": "d"}}}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            e.remote.unwrap().instance_url.as_deref(),
            Some("http://127.0.0.1:8099")
        );
        let (_, problems) = ends(json!({
            "source": {"type": "netsuite", "object": "SalesOrder", "credentials": {
                "account_id": "12 34", "login_url": "https://x", "consumer_key": "a"}},
            "target": {"type": "postgres", "table": "t"}}));
        let found: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.path.as_str(), p.kind.sqlstate()))
            .collect();
        assert_eq!(
            found,
            [
                ("source.object", "0A000"),
                ("source.credentials.login_url", "22023"),
                ("source.credentials.consumer_secret", "22023"),
                ("source.credentials.token_id", "22023"),
                ("source.credentials.token_secret", "22023"),
                ("source.credentials.account_id", "22023"),
            ]
        );
    }

    #[test]
    fn both_ends_local_is_refused_at_target_type() {
        let (_, problems) = ends(json!({
            "source": {"type": "postgres", "table": "a"},
            "target": {"type": "postgres", "table": "b"}}));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "target.type");
    }

    #[test]
    fn a_zendesk_end_takes_a_subdomain_or_a_url() {
        let zendesk = |creds: Value| {
            ends(json!({
                "source": {"type": "zendesk", "object": "Organization", "credentials": creds},
                "target": {"type": "postgres", "table": "t"}}))
        };
        let (e, problems) =
            zendesk(json!({"subdomain": "acme", "email": "a@b.c", "api_token": "t"}));
        assert!(problems.is_empty(), "{problems:?}");
        let remote = e.remote.unwrap();
        assert_eq!(remote.system, SystemKind::Zendesk);
        assert_eq!(
            remote.instance_url.as_deref(),
            Some("https://acme.zendesk.com")
        );
        let (e, problems) = zendesk(json!({"url": "http://127.0.0.1:8081"}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            e.remote.unwrap().instance_url.as_deref(),
            Some("http://127.0.0.1:8081")
        );
        let paths = |creds: Value| {
            zendesk(creds)
                .1
                .into_iter()
                .map(|p| p.path)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            paths(json!({"subdomain": "acme", "url": "https://x.example"})),
            ["source.credentials.url"]
        );
        assert_eq!(
            paths(json!({"subdomain": "a.b"})),
            ["source.credentials.subdomain"]
        );
        assert_eq!(
            paths(json!({"domain": "test"})),
            ["source.credentials.domain"]
        );
        assert_eq!(
            paths(json!({"email": "a@b.c"})),
            ["source.credentials.email"]
        );
        assert_eq!(
            paths(json!({"client_id": "a", "client_secret": "b"})),
            [
                "source.credentials.client_id",
                "source.credentials.client_secret"
            ]
        );
    }

    #[test]
    fn urls_must_be_http() {
        let (_, problems) = ends(json!({
            "source": {"type": "salesforce", "object": "Account",
                       "credentials": {"instance_url": "ftp://x.example.com"}},
            "target": {"type": "postgres", "table": "t"}}));
        assert_eq!(problems[0].path, "source.credentials.instance_url");
        assert!(problems[0].message.starts_with("expected an http(s) URL"));
    }
}
