//! Command-line pieces every emulated system shares: where to listen, threads, the
//! fault seed, and reading a file named by a flag. Each system's own flags live in its
//! module tree (`zendesk::cli`); the binary has a subcommand per system.

use clap::Args;
use std::net::IpAddr;
use std::path::PathBuf;

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

/// The contents of the `what` file a flag names, with a message saying which file
/// could not be read.
pub fn read_file(path: &Option<PathBuf>, what: &str) -> Result<Option<String>, String> {
    path.as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read the {what} file {}: {e}", p.display()))
        })
        .transpose()
}
