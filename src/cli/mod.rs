//! The command line: one file a subcommand, each with its usage and a worked example.
//!
//! Raw arguments (clap) are turned into the library's validated types here and nowhere else;
//! the subcommands return the library's [`Error`], whose [`ExitCode`] the binary exits with.

pub mod check;
pub mod explore;
pub mod init;
pub mod keygen;
pub mod run;
pub mod sample;
pub mod schema;
pub mod verify;

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::Error;

#[derive(Debug, Parser)]
#[command(
    name = "anonymize",
    version,
    about = "Turns raw user and activity exports into de-identified, k-anonymous Parquet datasets",
    after_help = "Exit codes: 0 ok; 1 other failure; 2 usage, job file or key error; \
                  3 input data error; 4 privacy constraint not met; 75 output busy, try again \
                  later.\n\
                  Quick start:\n  export ANONYMIZE_KEY=$(anonymize keygen)\n  \
                  anonymize run jobs/marketing_research.toml"
)]
pub struct Cli {
    /// Log format on standard error: `text` for people, `json` (one event a line) for
    /// schedulers and log collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// More log detail (-v: debug, -vv: trace). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors and warnings on standard error.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Run(run::Args),
    Check(check::Args),
    Explore(explore::Args),
    Init(init::Args),
    Sample(sample::Args),
    Keygen(keygen::Args),
    Schema(schema::Args),
    Verify(verify::Args),
}

impl Cli {
    /// What the logs know before the command runs (the job, by its file's `name`, and the run
    /// date), set for every event from now on; and what the start event says besides.
    pub fn log_context(&self) -> crate::logs::Start {
        let today = || chrono::Local::now().date_naive();
        let (command, job, run_date, range) = match &self.command {
            Command::Run(a) => (
                "run",
                Some(&a.job),
                Some(a.run_date.or(a.from).unwrap_or_else(today)),
                a.from.zip(a.to),
            ),
            Command::Check(a) => (
                "check",
                Some(&a.job),
                Some(a.run_date.unwrap_or_else(today)),
                None,
            ),
            Command::Explore(a) => (
                "explore",
                Some(&a.job),
                Some(a.run_date.unwrap_or_else(today)),
                None,
            ),
            Command::Verify(a) => ("verify", Some(&a.job), a.run_date, None),
            Command::Init(_) => ("init", None, None, None),
            Command::Sample(_) => ("sample", None, None, None),
            Command::Keygen(_) => ("keygen", None, None, None),
            Command::Schema(_) => ("schema", None, None, None),
        };
        if let Some(job) = job {
            crate::logs::set_job(&crate::job::Job::name_for_logs(job));
        }
        crate::logs::set_run_date(run_date);
        crate::logs::Start {
            command: Some(command),
            range,
        }
    }

    pub fn execute(self) -> Result<(), Error> {
        match self.command {
            Command::Run(a) => run::execute(a),
            Command::Check(a) => check::execute(a),
            Command::Explore(a) => explore::execute(a),
            Command::Init(a) => init::execute(a),
            Command::Sample(a) => sample::execute(a),
            Command::Keygen(a) => keygen::execute(a),
            Command::Schema(a) => schema::execute(a),
            Command::Verify(a) => verify::execute(a),
        }
    }
}

/// Writes a line to standard output (`say!("…")`, like `println!`). A reader that went away
/// (`anonymize check job.toml | head`) ends the printing quietly; any other failure (a full disk
/// behind `> file`, `/dev/full`) is an I/O error (exit 1), never the panic `println!` gives.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::cli::say_line(format_args!($($arg)*)) };
}

#[doc(hidden)]
pub fn say_line(line: std::fmt::Arguments) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
            context: "cannot write to standard output",
            path: "<stdout>".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Makes sure standard input, output and error are open, on `/dev/null` where they are not.
/// Why: a process started with a closed descriptor (`2>&-`) would hand that number to the next
/// file it opens, and the logs meant for standard error would be written into it (an output
/// file, the lock file).
pub fn guard_std_fds() {
    #[cfg(unix)]
    for fd in 0..=2 {
        // SAFETY: F_GETFD only queries the descriptor; open is given a valid C string.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1 {
                let flags = if fd == 0 {
                    libc::O_RDONLY
                } else {
                    libc::O_WRONLY
                };
                libc::open(c"/dev/null".as_ptr(), flags);
            }
        }
    }
}

/// Sets up `tracing` on standard error.
pub fn init_logging(format: LogFormat, verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    // Our events at the chosen level; polars' own at warnings only, they are not for users.
    let directives = match format {
        // The start and end events frame a JSON log even with `-q`: the end event carries the
        // exit code a scheduler's log search looks for.
        LogFormat::Json => format!("warn,anonymize={level},anonymize::logs=info"),
        LogFormat::Text => format!("warn,anonymize={level}"),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directives));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log line that cannot be written (stderr closed or full) is lost, not a panic:
        // the subscriber's own error report would `eprintln!`, which panics.
        .log_internal_errors(false)
        // Colours for people at a terminal; a log file, journald or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    crate::logs::set_json(format == LogFormat::Json);
    match format {
        LogFormat::Text => builder.init(),
        // One flat object a line, job and run date at the top (see `crate::logs`).
        LogFormat::Json => {
            builder
                .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                .event_format(crate::logs::JsonLines)
                .init();
            crate::logs::log_panics();
        }
    }
    crate::logs::route_polars_warnings();
    crate::progress::enable(format == LogFormat::Text && !quiet);
}

/// Whether the raw arguments ask for JSON logs: when the command line cannot be parsed, its
/// error is still a JSON event for a scheduler that asked for them.
pub fn json_requested(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--log-format=json"
            || (a == "--log-format" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

/// A `YYYY-MM-DD` argument.
pub fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date in the form YYYY-MM-DD"))
}

/// A `TABLE=GLOB` argument (`--input users=exports/users/*.csv`).
pub fn parse_input(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((t, p)) if !t.is_empty() && !p.is_empty() => Ok((t.to_string(), p.to_string())),
        _ => Err(format!("`{s}` is not TABLE=GLOB")),
    }
}
