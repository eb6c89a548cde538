//! hubsync-emulator: a local Salesforce REST API.
fn main() {
    eprintln!("hubsync-emulator: under construction");
    std::process::exit(2);
}
