//! Progress bars for library runners: an [`Observer`] that draws one
//! indicatif bar per phase on standard error (nothing when hidden).

use bayesrg_core::observe::Observer;
use indicatif::{ProgressBar, ProgressStyle};

/// Draws a bar for each phase a runner reports; hidden unless `visible`.
pub struct Bars {
    visible: bool,
    bar: Option<ProgressBar>,
}

impl Bars {
    /// Bars on standard error when `visible`, else nothing.
    pub fn new(visible: bool) -> Self {
        Bars { visible, bar: None }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Observer for Bars {
    fn phase(&mut self, name: &str, total: Option<u64>) {
        self.finish();
        if !self.visible {
            return;
        }
        let b = match total {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        if let Ok(style) =
            ProgressStyle::with_template("{prefix:>8} {bar:40} {pos}/{len} {msg} [{elapsed}]")
        {
            b.set_style(style);
        }
        b.set_prefix(name.to_string());
        self.bar = Some(b);
    }

    fn progress(&mut self, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }

    fn note(&mut self, message: &str) {
        if let Some(b) = &self.bar {
            b.set_message(message.to_string());
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.finish();
    }
}
