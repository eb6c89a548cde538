//! Which Support API call a method and path under `/api/v2/` name. Every path may end
//! in `.json` or not (reference §1); a trailing slash is tolerated.

use super::record::Kind;

/// One API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Me,
    List(Kind),
    Create(Kind),
    Show(Kind, u64),
    Update(Kind, u64),
    Delete(Kind, u64),
    ShowMany(Kind),
    Search(Kind),
    CreateOrUpdate(Kind),
    CreateMany(Kind),
    UpdateMany(Kind),
    CreateOrUpdateMany(Kind),
    DestroyMany(Kind),
    FieldList(Kind),
    FieldShow(Kind, u64),
    JobStatus(String),
    JobStatuses,
    /// Time-based export (`incremental/organizations`, `incremental/users`).
    ExportByTime(Kind),
    /// Cursor-based export (`incremental/users/cursor`).
    ExportByCursor(Kind),
    DeletedUserShow(u64),
    DeletedUserPurge(u64),
}

impl Route {
    /// The fault-injection and counter class (see `state::FAULTS`).
    pub fn class(&self) -> &'static str {
        match self {
            Route::Me
            | Route::List(_)
            | Route::Show(..)
            | Route::ShowMany(_)
            | Route::Search(_)
            | Route::DeletedUserShow(_) => "read",
            Route::Create(_)
            | Route::Update(..)
            | Route::Delete(..)
            | Route::CreateOrUpdate(_)
            | Route::DeletedUserPurge(_) => "write",
            Route::CreateMany(_)
            | Route::UpdateMany(_)
            | Route::CreateOrUpdateMany(_)
            | Route::DestroyMany(_) => "bulk",
            Route::FieldList(_) | Route::FieldShow(..) => "fields",
            Route::JobStatus(_) | Route::JobStatuses => "job_statuses",
            Route::ExportByTime(_) | Route::ExportByCursor(_) => "incremental",
        }
    }

    /// Whether the call reads a JSON body.
    pub fn takes_body(&self) -> bool {
        matches!(
            self,
            Route::Create(_)
                | Route::Update(..)
                | Route::CreateOrUpdate(_)
                | Route::CreateMany(_)
                | Route::UpdateMany(_)
                | Route::CreateOrUpdateMany(_)
        )
    }
}

/// The route of `method` on `path` (the part after `/api/v2/`), `None` for a path
/// Zendesk does not serve.
pub fn route(method: &str, path: &str) -> Option<Route> {
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".json").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let id = |s: &str| s.parse::<u64>().ok();
    Some(match (method, segments.as_slice()) {
        ("GET", ["users", "me"]) => Route::Me,
        ("GET", ["incremental", plural]) => Route::ExportByTime(Kind::from_plural(plural)?),
        ("GET", ["incremental", "users", "cursor"]) => Route::ExportByCursor(Kind::User),
        ("GET", ["job_statuses", "show_many"]) => Route::JobStatuses,
        ("GET", ["job_statuses", job]) => Route::JobStatus(job.to_string()),
        ("GET", ["deleted_users", user]) => Route::DeletedUserShow(id(user)?),
        ("DELETE", ["deleted_users", user]) => Route::DeletedUserPurge(id(user)?),
        ("GET", ["organization_fields"]) => Route::FieldList(Kind::Organization),
        ("GET", ["user_fields"]) => Route::FieldList(Kind::User),
        ("GET", ["organization_fields", field]) => Route::FieldShow(Kind::Organization, id(field)?),
        ("GET", ["user_fields", field]) => Route::FieldShow(Kind::User, id(field)?),
        (_, [plural, rest @ ..]) => {
            let kind = Kind::from_plural(plural)?;
            match (method, rest) {
                ("GET", []) => Route::List(kind),
                ("POST", []) => Route::Create(kind),
                ("GET", ["show_many"]) => Route::ShowMany(kind),
                ("GET", ["search"]) => Route::Search(kind),
                ("POST", ["create_or_update"]) => Route::CreateOrUpdate(kind),
                ("POST", ["create_many"]) => Route::CreateMany(kind),
                ("PUT", ["update_many"]) => Route::UpdateMany(kind),
                // There is no organizations/create_or_update_many (reference §5).
                ("POST", ["create_or_update_many"]) if kind == Kind::User => {
                    Route::CreateOrUpdateMany(kind)
                }
                ("DELETE", ["destroy_many"]) => Route::DestroyMany(kind),
                ("GET", [record]) => Route::Show(kind, id(record)?),
                ("PUT", [record]) => Route::Update(kind, id(record)?),
                ("DELETE", [record]) => Route::Delete(kind, id(record)?),
                _ => return None,
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_with_and_without_json() {
        let cases = [
            (
                "GET",
                "organizations.json",
                Some(Route::List(Kind::Organization)),
            ),
            (
                "GET",
                "organizations",
                Some(Route::List(Kind::Organization)),
            ),
            (
                "GET",
                "users/6164125400602.json",
                Some(Route::Show(Kind::User, 6_164_125_400_602)),
            ),
            ("PUT", "users/12/", Some(Route::Update(Kind::User, 12))),
            ("GET", "users/me.json", Some(Route::Me)),
            ("POST", "organizations/create_or_update_many.json", None),
            (
                "POST",
                "users/create_or_update_many",
                Some(Route::CreateOrUpdateMany(Kind::User)),
            ),
            (
                "GET",
                "incremental/users/cursor.json",
                Some(Route::ExportByCursor(Kind::User)),
            ),
            (
                "GET",
                "incremental/organizations.json",
                Some(Route::ExportByTime(Kind::Organization)),
            ),
            ("GET", "incremental/tickets.json", None),
            (
                "GET",
                "job_statuses/V3-abc.json",
                Some(Route::JobStatus("V3-abc".into())),
            ),
            ("GET", "users/abc.json", None),
            ("PATCH", "users/12.json", None),
            ("GET", "tickets.json", None),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route(method, path), expected, "{method} {path}");
        }
    }
}
