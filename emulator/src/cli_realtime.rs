//! Command-line options of the Bulk API, Streaming API and JWT grant, kept apart from
//! `main.rs` so the other APIs' options can grow there without touching these.

use clap::Args;
use hubsync_emulator::EmulatorOptions;
use std::time::Duration;

/// Bulk API 2.0, Change Data Capture and JWT bearer options.
#[derive(Args)]
pub struct RealtimeArgs {
    /// Milliseconds a Bulk job waits in UploadComplete before it is processed.
    #[arg(long, default_value_t = 0)]
    bulk_processing_delay_ms: u64,
    /// Records saved per transaction while a Bulk ingest job runs.
    #[arg(long, default_value_t = 200)]
    bulk_chunk_size: usize,
    /// Largest Bulk upload in bytes, counted as base64 as Salesforce counts it.
    #[arg(long, default_value_t = 150_000_000)]
    bulk_max_upload_bytes: u64,
    /// Accept several uploads to one Bulk job (real orgs refuse UploadComplete then).
    #[arg(long)]
    bulk_accept_upload_parts: bool,
    /// Bulk query jobs allowed per rolling 24 hours.
    #[arg(long, default_value_t = 10_000)]
    bulk_daily_query_jobs: u64,
    /// Bulk ingest batches (10,000 records each) allowed per rolling 24 hours.
    #[arg(long, default_value_t = 15_000)]
    bulk_daily_batches: u64,
}

impl RealtimeArgs {
    /// Sets these options on `options`.
    pub fn apply(self, options: &mut EmulatorOptions) -> Result<(), String> {
        let bulk = &mut options.bulk;
        bulk.processing_delay = Duration::from_millis(self.bulk_processing_delay_ms);
        bulk.chunk_size = self.bulk_chunk_size.max(1);
        bulk.max_upload_bytes = self.bulk_max_upload_bytes;
        bulk.accept_upload_parts = self.bulk_accept_upload_parts;
        bulk.daily_query_jobs = self.bulk_daily_query_jobs;
        bulk.daily_batches = self.bulk_daily_batches;
        Ok(())
    }
}
