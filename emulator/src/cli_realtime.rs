//! Command-line options of the Bulk API, Streaming API, JWT grant and conditional
//! requests, kept apart from `main.rs` so the other APIs' options can grow there
//! without touching these.

use clap::Args;
use hubsync_emulator::{read_flag_file, EmulatorOptions};
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
    /// Hours change events stay replayable.
    #[arg(long, default_value_t = 72)]
    cdc_retention_hours: u64,
    /// Longest a CometD /meta/connect is held, in seconds.
    #[arg(long, default_value_t = 110)]
    cdc_poll_timeout_secs: u64,
    /// A CometD client silent this long (emulator clock) is forgotten: 403::Unknown client.
    #[arg(long, default_value_t = 40)]
    cdc_session_timeout_secs: u64,
    /// Change events delivered per rolling 24 hours, all clients together.
    #[arg(long, default_value_t = 25_000)]
    cdc_daily_delivery_allocation: u64,
    /// CometD clients at once; one more is refused at handshake.
    #[arg(long, default_value_t = 1_000)]
    cdc_max_clients: usize,
    /// Objects with Change Data Capture enabled, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    cdc_entities: Option<Vec<String>>,
    /// Subscribing to a disabled object's channel: refuse (channel does not exist) or
    /// accept and deliver nothing.
    #[arg(long, value_enum, default_value = "refuse")]
    cdc_disabled_channel: DisabledChannel,
    /// The connected app's certificate for the JWT bearer grant (PEM CERTIFICATE, or an RSA
    /// key as RSA PUBLIC KEY or PUBLIC KEY).
    #[arg(long)]
    jwt_certificate: Option<std::path::PathBuf>,
    /// errorCode of a 412 answer to a failed conditional PATCH (unconfirmed in real orgs).
    #[arg(long, default_value = "PRECONDITION_FAILED")]
    precondition_failed_code: String,
}

/// What subscribing to the channel of an object without CDC does.
#[derive(Clone, Copy, clap::ValueEnum)]
enum DisabledChannel {
    Refuse,
    Silent,
}

impl RealtimeArgs {
    /// `options` with these options set.
    pub fn apply(self, mut options: EmulatorOptions) -> Result<EmulatorOptions, String> {
        let bulk = &mut options.bulk;
        bulk.processing_delay = Duration::from_millis(self.bulk_processing_delay_ms);
        bulk.chunk_size = self.bulk_chunk_size.max(1);
        bulk.max_upload_bytes = self.bulk_max_upload_bytes;
        bulk.accept_upload_parts = self.bulk_accept_upload_parts;
        bulk.daily_query_jobs = self.bulk_daily_query_jobs;
        bulk.daily_batches = self.bulk_daily_batches;
        let cdc = &mut options.streaming;
        cdc.retention = Duration::from_secs(self.cdc_retention_hours * 3600);
        cdc.poll_timeout = Duration::from_secs(self.cdc_poll_timeout_secs);
        cdc.session_timeout = Duration::from_secs(self.cdc_session_timeout_secs);
        cdc.daily_delivery_allocation = self.cdc_daily_delivery_allocation;
        cdc.max_clients = self.cdc_max_clients;
        cdc.entities = self.cdc_entities;
        cdc.refuse_disabled_channels = matches!(self.cdc_disabled_channel, DisabledChannel::Refuse);
        options.precondition_failed_code = self.precondition_failed_code;
        options.jwt_certificate_pem = read_flag_file(&self.jwt_certificate, "JWT certificate")?;
        Ok(options)
    }
}
