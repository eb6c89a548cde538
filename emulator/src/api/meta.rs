//! The versions list, the resource directory and `/limits`.

use super::{ApiResponse, Ctx, Version};
use serde_json::{json, Map, Value as Json};

/// The release name of an API version (31.0 = Summer '14, three releases a year).
fn release_label(version: u32) -> String {
    let i = version - Version::OLDEST;
    let (season, year) = match i % 3 {
        0 => ("Summer", 14 + i / 3),
        1 => ("Winter", 15 + i / 3),
        _ => ("Spring", 15 + i / 3),
    };
    format!("{season} '{year:02}")
}

/// `GET /services/data/`: every served version, oldest first.
pub fn versions(max: u32) -> String {
    let list: Vec<Json> = (Version::OLDEST..=max)
        .map(|v| json!({"label": release_label(v), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0")}))
        .collect();
    Json::Array(list).to_string()
}

/// `GET /services/data/vXX.X/`: the resources this emulator serves.
pub fn directory(ctx: &Ctx) -> ApiResponse {
    let base = format!("/services/data/v{}", ctx.version.text());
    let mut map = Map::new();
    for name in [
        "sobjects",
        "query",
        "queryAll",
        "limits",
        "composite",
        "jobs",
    ] {
        map.insert(name.into(), Json::String(format!("{base}/{name}")));
    }
    ApiResponse::json(200, Json::Object(map).to_string())
}

/// `GET /limits`: `DailyApiRequests` follows the real counter; the rest are the
/// allocations of an Enterprise Edition org.
pub fn limits(ctx: &Ctx) -> ApiResponse {
    let (used, max) = ctx.app.usage.get();
    let bulk = &ctx.app.options.bulk;
    let (query_jobs, batches) = ctx.app.bulk.usage(ctx.now_ms);
    let counted = |max: u64, used: u64| json!({"Max": max, "Remaining": max.saturating_sub(used)});
    let fixed = |max: u64| json!({"Max": max, "Remaining": max});
    let body = json!({
        "ConcurrentAsyncGetReportInstances": fixed(200),
        "ConcurrentSyncReportRuns": fixed(20),
        "DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(used)},
        "DailyAsyncApexExecutions": fixed(250000),
        "DailyBulkApiBatches": counted(bulk.daily_batches, batches),
        "DailyBulkV2QueryFileStorageMB": fixed(976562),
        "DailyBulkV2QueryJobs": counted(bulk.daily_query_jobs, query_jobs),
        "DailyDeliveredPlatformEvents": counted(
            ctx.app.options.streaming.daily_delivery_allocation,
            ctx.app.streaming.delivered(ctx.now_ms),
        ),
        "DailyDurableStreamingApiEvents": fixed(10000),
        "DailyStreamingApiEvents": fixed(10000),
        "DataStorageMB": fixed(1024),
        "FileStorageMB": fixed(10240),
        "HourlyODataCallout": fixed(20000),
        "MonthlyPlatformEventsUsageEntitlement": fixed(0),
        "SingleEmail": fixed(5000),
    });
    ApiResponse::json(200, body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_labels_follow_the_calendar() {
        assert_eq!(release_label(31), "Summer '14");
        assert_eq!(release_label(59), "Winter '24");
        assert_eq!(release_label(68), "Winter '27");
        assert_eq!(release_label(60), "Spring '24");
    }
}
