//! The `anonymize` binary: parses the command line, sets up logging, runs the subcommand and
//! exits with the code of its outcome (see [`anonymize::error::ExitCode`]).

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use clap::Parser;

use anonymize::cli::{Cli, LogFormat, init_logging};
use anonymize::error::ExitCode;
use anonymize::logs;

// polars allocates and frees column buffers at a high rate from both cores; mimalloc is faster
// at that than the system allocator and gives freed memory back to the OS (see README,
// Performance).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    anonymize::cli::guard_std_fds();
    // Scratch files hold personal data: private from the first one (see `anonymize::scratch`).
    anonymize::scratch::private_by_default();
    let started = Instant::now();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are not errors; anything else is a usage error.
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::Ok
                }
                _ => ExitCode::Usage,
            };
            if code != ExitCode::Ok && anonymize::cli::json_requested(std::env::args_os()) {
                // A scheduler that asked for JSON logs gets its typo as JSON events too.
                init_logging(LogFormat::Json, 0, false);
                logs::start(&logs::Start::default());
                let message = e.render().to_string();
                tracing::error!(exit_code = code as u8, "{}", message.trim_end());
                logs::end(code, started.elapsed());
            } else {
                let _ = e.print();
            }
            return std::process::ExitCode::from(code as u8);
        }
    };
    init_logging(cli.log_format, cli.verbose, cli.quiet);
    logs::start(&cli.log_context());
    // A panic is a bug: exit code 1 as the README says (not Rust's 101), after the end event.
    let code = match std::panic::catch_unwind(AssertUnwindSafe(|| cli.execute())) {
        Ok(Ok(())) => ExitCode::Ok,
        Ok(Err(e)) => {
            let code = e.exit_code();
            tracing::error!(exit_code = code as u8, "{e}");
            code
        }
        Err(_) => {
            tracing::error!(
                exit_code = ExitCode::Other as u8,
                "stopped by an internal error (a bug; the panic is logged above)"
            );
            ExitCode::Other
        }
    };
    logs::end(code, started.elapsed());
    std::process::ExitCode::from(code as u8)
}
