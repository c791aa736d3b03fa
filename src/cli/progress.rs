//! The progress bar on stderr: the library's [`Progress`] drawn by
//! indicatif, hidden with `--quiet` or when stderr is not a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use pipesim::experiment::{Precision, Progress};

/// A trial-counting progress bar.
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar showing `message`; hidden when `quiet` or not on a terminal.
    pub fn new(quiet: bool, message: &str) -> Bar {
        if quiet || !std::io::stderr().is_terminal() {
            return Bar(ProgressBar::hidden());
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} trials, {per_sec}, eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar(bar)
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn begin(&self, trials: u64) {
        self.0.set_length(trials);
        self.0.set_position(0);
    }

    fn stage(&self, message: &str) {
        self.0.set_message(message.to_string());
    }

    fn advance(&self, trials: u64) {
        self.0.inc(trials);
    }

    fn precision_batch(&self, done: u64, worst: f64, p: &Precision) {
        self.0.set_message(format!(
            "±{:.3}% after {done} trials (target ±{}%)",
            100.0 * worst,
            100.0 * p.target
        ));
        // the next batch is at most a few times larger: grow the bar lazily
        let len = self.0.length().unwrap_or(0);
        self.0
            .set_length(len.max(done + done / 4).min(p.max_trials));
    }
}
