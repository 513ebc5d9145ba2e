//! A spinner on the terminal for the long steps of a run: which table, which step, and the time
//! so far, so that a person watching a ten-minute run knows it is alive. Only when standard
//! error is a terminal and logs are text: a scheduler's JSON logs, redirected output and `-q`
//! get nothing, and the spinner is cleared when its step ends.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns spinners on when `wanted` and standard error is a terminal.
pub fn enable(wanted: bool) {
    ENABLED.store(wanted && std::io::stderr().is_terminal(), Ordering::Relaxed);
}

/// A step in progress: its spinner (if any) is cleared when it is dropped.
pub struct Step(Option<ProgressBar>);

/// Starts showing `table: what (elapsed)`.
pub fn step(table: &str, what: &str) -> Step {
    if !ENABLED.load(Ordering::Relaxed) {
        return Step(None);
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(format!("{table}: {what}"));
    bar.tick();
    bar.enable_steady_tick(Duration::from_millis(120));
    Step(Some(bar))
}

impl Drop for Step {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}
