//! Logs as a scheduler and a log collector read them (`--log-format json`).
//!
//! Why a formatter of our own: tracing-subscriber's JSON format nests the fields of the spans an
//! event is in (`"span": {"job": …}`), so `jq 'select(.job == "x")'` found nothing, and an
//! event logged outside the run's span (the error `main` logs once the run has returned) had no
//! job at all. Here every event is one flat JSON object a line:
//!
//! ```text
//! {"timestamp":"…","level":"INFO","job":"marketing_research","run_date":"2026-11-26","message":"wrote table","table":"users",…}
//! ```
//!
//! - `job` and `run_date` are at the top level of every event. They come from the process's
//!   [context](set_job), which the command line sets as soon as it knows them (from the
//!   arguments, before anything is read), and from the fields of the spans the event is in
//!   (the pipeline's `run` span). They are `null` for commands that have none (`sample`,
//!   `keygen`, `schema`, `init`; `run_date` of `verify` without `--run-date`).
//! - The first event of a process is `"event":"start"` (command, version), the last
//!   `"event":"end"` with `exit_code` (the code the process exits with) and `duration_seconds`,
//!   on failure too; the error comes just before it with the same `exit_code`.
//! - polars' warnings (`polars_warn!`, which prints to standard error by default) become
//!   warning events (`"source":"polars"`), and in JSON mode a panic becomes an error event.
//!
//! In text mode, none of this changes what a person sees: no start or end line, the same
//! summary on standard output.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::error::ExitCode;

static JSON: AtomicBool = AtomicBool::new(false);

/// What every event of the process is about, as far as it is known.
struct Context {
    job: Option<String>,
    run_date: Option<String>,
}

static CONTEXT: Mutex<Context> = Mutex::new(Context {
    job: None,
    run_date: None,
});

fn context() -> std::sync::MutexGuard<'static, Context> {
    // A panic while the lock was held leaves the two strings whole: go on with them.
    CONTEXT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether logs are JSON lines: commands then say on standard error, as events, what they
/// print on standard output for a person (`run`'s summary, `verify`'s findings).
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

pub(crate) fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// The job every later event is about.
pub fn set_job(name: &str) {
    context().job = Some(name.to_string());
}

/// The run date every later event is about (`None`: the command covers every date). A
/// back-fill sets each date as it starts it.
pub fn set_run_date(date: Option<NaiveDate>) {
    context().run_date = date.map(|d| d.format("%Y-%m-%d").to_string());
}

/// What the start event says besides the job and run date.
#[derive(Debug, Clone, Default)]
pub struct Start {
    /// The subcommand (`run`), or `None` when the command line could not be read.
    pub command: Option<&'static str>,
    /// A back-fill's first and last run dates.
    pub range: Option<(NaiveDate, NaiveDate)>,
}

/// The first event of the process (JSON mode only: a person at a terminal knows what they
/// started).
pub fn start(s: &Start) {
    if !json() {
        return;
    }
    let from = s.range.map(|(f, _)| f.to_string());
    let to = s.range.map(|(_, t)| t.to_string());
    tracing::info!(
        event = "start",
        command = s.command,
        version = env!("CARGO_PKG_VERSION"),
        from = from.as_deref(),
        to = to.as_deref(),
        "anonymize {} {} started",
        env!("CARGO_PKG_VERSION"),
        s.command.unwrap_or("(no command)"),
    );
}

/// The last event of the process, with the code it exits with (JSON mode only).
pub fn end(code: ExitCode, took: Duration) {
    if !json() {
        return;
    }
    let code = code as u8;
    let seconds = (took.as_secs_f64() * 1000.0).round() / 1000.0;
    tracing::info!(
        event = "end",
        exit_code = code,
        duration_seconds = seconds,
        status = if code == 0 { "ok" } else { "failed" },
        "finished with exit code {code} after {seconds} s"
    );
}

/// Sends polars' warnings through our logs. By default polars writes them to standard error
/// as text (`Deprecation: …`), in the middle of JSON logs. Their texts name options, types
/// and functions, never a cell value (every `polars_warn!` of polars 0.55 was read for this).
pub fn route_polars_warnings() {
    polars::error::set_warning_function(polars_warning);
}

fn polars_warning(message: &str, kind: polars::error::PolarsWarning) {
    tracing::warn!(source = "polars", kind = ?kind, "polars: {message}");
}

/// In JSON mode, a panic is an error event instead of the default hook's text (what the
/// default hook would print: the message and where).
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(event = "panic", at = %place, "internal error (a bug): {message}");
    }));
}

/// The JSON event format: one flat object a line (see the module's documentation). Needs
/// `JsonFields` as the field formatter, so that span fields are stored as JSON.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut map = Map::new();
        map.insert(
            "timestamp".into(),
            Utc::now()
                .to_rfc3339_opts(SecondsFormat::Micros, true)
                .into(),
        );
        map.insert("level".into(), event.metadata().level().as_str().into());
        {
            let c = context();
            map.insert("job".into(), c.job.clone().map_or(Value::Null, Value::from));
            map.insert(
                "run_date".into(),
                c.run_date.clone().map_or(Value::Null, Value::from),
            );
        }
        // The message first among the event's own fields, wherever the macro put it.
        map.insert("message".into(), Value::Null);
        // The fields of the spans the event is in, outermost first: a span's `run_date` is
        // the date it runs, whatever the context says.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&fields.fields) {
                    map.extend(fields);
                }
            }
        }
        event.record(&mut Fields(&mut map));
        if map.get("message").is_some_and(Value::is_null) {
            map.remove("message");
        }
        writeln!(writer, "{}", Value::Object(map))
    }
}

/// Records an event's fields into the JSON object, typed.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // Not finite: JSON has no such number, and `null` says it was not one.
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}
