//! The `anonymize` binary: parses the command line, sets up logging, runs the subcommand and
//! exits with the code of its outcome (see [`anonymize::error::ExitCode`]).

use clap::Parser;

use anonymize::cli::{Cli, init_logging};
use anonymize::error::ExitCode;

// polars allocates and frees column buffers at a high rate from both cores; mimalloc is faster
// at that than the system allocator and gives freed memory back to the OS (see README,
// Performance).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    anonymize::cli::guard_std_fds();
    // Scratch files hold personal data: private from the first one (see `anonymize::scratch`).
    anonymize::scratch::private_by_default();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; anything else is a usage error.
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    std::process::ExitCode::SUCCESS
                }
                _ => std::process::ExitCode::from(ExitCode::Usage as u8),
            };
        }
    };
    init_logging(cli.log_format, cli.verbose, cli.quiet);
    match cli.execute() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let code = e.exit_code();
            tracing::error!(exit_code = code as u8, "{e}");
            std::process::ExitCode::from(code as u8)
        }
    }
}
