//! The progress bar of long commands: drawn on standard error only when it is a terminal, so
//! pipes, files and `--json` output never see it.

use std::io::{IsTerminal, Read};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Counts the bytes read from the inputs (compressed bytes for gzip: that is what the file sizes
/// measure). Hidden, it costs an atomic add per read of the input buffer.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
        }
    }

    /// A bar over `total_bytes` when every input has a known size, else a spinner; hidden unless
    /// `wanted` and standard error is a terminal.
    pub fn for_inputs(wanted: bool, total_bytes: Option<u64>) -> Self {
        if !wanted || !std::io::stderr().is_terminal() {
            return Self::hidden();
        }
        let bar = match total_bytes {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template(
                    "{spinner} {binary_bytes} {binary_bytes_per_sec} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar }
    }

    pub fn counting<R: Read>(&self, reader: R) -> impl Read + use<R> {
        self.bar.wrap_read(reader)
    }

    /// Names the input being read.
    pub fn set_input(&self, name: &str) {
        self.bar.set_message(name.to_string());
    }

    /// Prints a message on standard error without tearing the bar.
    pub fn message(&self, text: &str) {
        self.bar.suspend(|| eprintln!("{text}"));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
