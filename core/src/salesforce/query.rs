//! SOQL queries and their pages.
//!
//! Salesforce answers a query with up to 2000 records and a `nextRecordsUrl` for the
//! rest; pulls walk those pages one call at a time so memory stays bounded, while small
//! lookups can collect everything with [`SalesforceClient::query_records`].

use super::client::{Request, SalesforceClient};
use super::records::Record;
use crate::connector::error::CallError;
use crate::retry::Operation;
use serde::{Deserialize, Serialize};

/// One page of a query's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    /// Rows matching the whole query, not just this page.
    pub total_size: u64,
    /// No page follows.
    pub done: bool,
    /// Where the next page is (a `/services/data/…` path), while `done` is false.
    #[serde(default)]
    pub next_records_url: Option<String>,
    /// The records, each with its `attributes` object as Salesforce sent it.
    pub records: Vec<Record>,
}

/// How to run a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryOptions {
    /// `queryAll`: also soft-deleted (`IsDeleted = true`) and archived records.
    pub include_deleted: bool,
    /// Records per page, sent as `Sforce-Query-Options: batchSize=N`; Salesforce takes
    /// 200..=2000 (values outside are clamped) and may still choose otherwise.
    pub batch_size: Option<u32>,
}

/// The smallest and largest page sizes Salesforce accepts.
const BATCH_SIZES: std::ops::RangeInclusive<u32> = 200..=2000;

impl SalesforceClient {
    /// The first page of a query (GET /query?q=…).
    pub fn query(&self, soql: &str) -> Result<QueryPage, CallError> {
        self.query_with(soql, QueryOptions::default())
    }

    /// The first page of a query that includes deleted records (GET /queryAll?q=…).
    pub fn query_all(&self, soql: &str) -> Result<QueryPage, CallError> {
        let options = QueryOptions {
            include_deleted: true,
            ..QueryOptions::default()
        };
        self.query_with(soql, options)
    }

    /// The first page of a query, with options.
    pub fn query_with(&self, soql: &str, options: QueryOptions) -> Result<QueryPage, CallError> {
        let resource = if options.include_deleted {
            "queryAll"
        } else {
            "query"
        };
        let request = Request::new("GET", resource).param("q", soql);
        self.call(
            Operation::Read,
            &with_batch_size(request, options.batch_size),
        )
    }

    /// The page at a previous page's `nextRecordsUrl`.
    pub fn query_more(&self, next_records_url: &str) -> Result<QueryPage, CallError> {
        self.query_more_with(next_records_url, None)
    }

    /// The page at `next_records_url`, asking for `batch_size` records per page.
    pub fn query_more_with(
        &self,
        next_records_url: &str,
        batch_size: Option<u32>,
    ) -> Result<QueryPage, CallError> {
        let path = self.locator_path(next_records_url)?;
        let request = with_batch_size(Request::new("GET", path), batch_size);
        self.call(Operation::Read, &request)
    }

    /// Every page of a query, fetched lazily one call per page; stops after an error.
    pub fn query_pages<'c>(&'c self, soql: &str, options: QueryOptions) -> QueryPages<'c> {
        QueryPages {
            client: self,
            options,
            next: Some(Cursor::Start(soql.to_string())),
        }
    }

    /// All records of a query, every page collected: for lookups known to be small.
    pub fn query_records(&self, soql: &str) -> Result<Vec<Record>, CallError> {
        let mut records = Vec::new();
        for page in self.query_pages(soql, QueryOptions::default()) {
            records.extend(page?.records);
        }
        Ok(records)
    }

    /// A `nextRecordsUrl` as a path on the org, refusing anything that would leave the
    /// data API (another host, `..`, a query string).
    fn locator_path(&self, url: &str) -> Result<String, CallError> {
        let path_only = url.starts_with("/services/data/")
            && !url.contains("..")
            && url
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
        if path_only {
            Ok(url.to_string())
        } else {
            Err(CallError::refused(
                Operation::Read,
                "INVALID_QUERY_LOCATOR",
                format!(
                    "{url:?} is not a nextRecordsUrl of {}; run the query again",
                    self.data_root()
                ),
            ))
        }
    }
}

fn with_batch_size(request: Request, batch_size: Option<u32>) -> Request {
    match batch_size {
        Some(size) => {
            let size = size.clamp(*BATCH_SIZES.start(), *BATCH_SIZES.end());
            request.header("Sforce-Query-Options", format!("batchSize={size}"))
        }
        None => request,
    }
}

/// Where the next page comes from.
enum Cursor {
    Start(String),
    More(String),
}

/// Iterator over a query's pages; see [`SalesforceClient::query_pages`].
pub struct QueryPages<'c> {
    client: &'c SalesforceClient,
    options: QueryOptions,
    next: Option<Cursor>,
}

impl Iterator for QueryPages<'_> {
    type Item = Result<QueryPage, CallError>;

    fn next(&mut self) -> Option<Self::Item> {
        let page = match self.next.take()? {
            Cursor::Start(soql) => self.client.query_with(&soql, self.options),
            Cursor::More(url) => self.client.query_more_with(&url, self.options.batch_size),
        };
        if let Ok(page) = &page {
            self.next = match (&page.next_records_url, page.done) {
                (Some(url), false) => Some(Cursor::More(url.clone())),
                _ => None,
            };
        }
        Some(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_query_pages() {
        let page: QueryPage = serde_json::from_value(json!({
            "totalSize": 3222, "done": false,
            "nextRecordsUrl": "/services/data/v59.0/query/01gRO0000016PIAYA2-2000",
            "records": [{"attributes": {"type": "Contact", "url": "/x"}, "Id": "003RO0000035WQgYAM", "Amount": 9.9213206E7}]
        }))
        .unwrap();
        assert_eq!(page.total_size, 3222);
        assert!(!page.done);
        assert_eq!(page.records[0]["Id"], "003RO0000035WQgYAM");
        let last: QueryPage =
            serde_json::from_value(json!({"totalSize": 0, "done": true, "records": []})).unwrap();
        assert_eq!(last.next_records_url, None);
    }

    #[test]
    fn refuses_locators_that_leave_the_data_api() {
        let client = SalesforceClient::new(super::super::client::tests::config()).unwrap();
        assert!(client
            .locator_path("/services/data/v59.0/query/01gRO0000016PIAYA2-2000")
            .is_ok());
        for bad in [
            "https://evil.example/services/data/v59.0/query/x",
            "/services/data/../oauth2/token",
            "/services/data/v59.0/query/x?q=1",
            "/services/oauth2/token",
        ] {
            assert!(client.locator_path(bad).is_err(), "{bad}");
        }
    }
}
