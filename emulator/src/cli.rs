//! Command-line flags every emulated system shares: where to listen, threads, the fault
//! seed. Each system's own flags live in its module tree (`zendesk::cli`,
//! `netsuite::args`); the binary has a subcommand per system.

use clap::Args;
use std::net::IpAddr;

/// The flags every system has: where to listen, how many threads, the fault seed.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Seed of fault-injection random choices.
    #[arg(long, default_value_t = 1)]
    pub fault_seed: u64,
    /// Server worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}
