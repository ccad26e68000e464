//! Log inputs named on the command line: files (plain text, or gzip with any number of members)
//! or `-` for standard input, read line by line in bounded memory.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

use fleetwatch_alb::LogKind;
use fleetwatch_alb_logs::{Line, LineTotals, LogReader, for_each_line};

use crate::progress::Progress;

/// The name standard input goes by, on the command line and in error reports.
pub const STDIN_NAME: &str = "-";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// The inputs of a command line; none given means standard input.
    pub fn from_args(args: &[PathBuf]) -> Vec<Input> {
        if args.is_empty() {
            return vec![Input::Stdin];
        }
        args.iter()
            .map(|arg| {
                if arg.as_os_str() == STDIN_NAME {
                    Input::Stdin
                } else {
                    Input::File(arg.clone())
                }
            })
            .collect()
    }

    /// As the user wrote it (`-` for standard input).
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            Input::Stdin => Cow::Borrowed(STDIN_NAME),
            Input::File(path) => path.to_string_lossy(),
        }
    }

    /// The log kind the file name says; [`LogKind::Unknown`] (each line's content decides) for
    /// standard input and names that do not follow AWS's layout.
    pub fn kind(&self) -> LogKind {
        match self {
            Input::Stdin => LogKind::Unknown,
            Input::File(path) => path
                .file_name()
                .and_then(|name| name.to_str())
                .map_or(LogKind::Unknown, LogKind::from_key),
        }
    }

    /// Size on disk, for the progress bar; `None` for standard input (or when unknown).
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
        }
    }

    fn open(&self) -> io::Result<Box<dyn Read>> {
        Ok(match self {
            Input::Stdin => Box::new(io::stdin()),
            Input::File(path) => Box::new(open_file(path)?),
        })
    }
}

fn open_file(path: &Path) -> io::Result<File> {
    let file = File::open(path)?;
    // Opening a directory succeeds on Unix; say so now rather than "Is a directory" mid-read.
    if file.metadata()?.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    Ok(file)
}

/// An input that could not be read to its end. Lines before the failure were processed.
#[derive(Debug)]
pub struct Unreadable {
    pub input: String,
    /// Lines delivered before the failure (0 when the input could not be opened).
    pub lines_read: u64,
    pub opened: bool,
    pub cause: io::Error,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.opened {
            write!(
                f,
                "{}: unreadable after {} lines (corrupt or truncated gzip?): {}",
                self.input, self.lines_read, self.cause
            )
        } else {
            write!(f, "{}: cannot open: {}", self.input, self.cause)
        }
    }
}

/// Calls `visit` for every line of `input`, counting the bytes read into `progress`. Setting
/// `stop` ends the scan early (say, when nobody reads the output any more); that is not an error.
pub fn scan(
    input: &Input,
    progress: &Progress,
    stop: &Cell<bool>,
    mut visit: impl FnMut(Line<'_>),
) -> Result<LineTotals, Unreadable> {
    let unreadable = |opened, lines_read, cause| Unreadable {
        input: input.name().into_owned(),
        lines_read,
        opened,
        cause,
    };
    let source = input.open().map_err(|e| unreadable(false, 0, e))?;
    // Reading the gzip magic bytes is the first read: a failure there is still "cannot open".
    let reader = LogReader::open(progress.counting(source)).map_err(|e| unreadable(false, 0, e))?;
    let mut lines_read = 0;
    let result = for_each_line(
        Stoppable {
            inner: reader,
            stop,
        },
        |line| {
            lines_read = line.number;
            if !stop.get() {
                visit(line);
            }
        },
    );
    result.map_err(|e| unreadable(true, lines_read, e))
}

/// A reader that reports the end of its input once `stop` is set, so a line loop that cannot be
/// interrupted from its callback ends after the current buffer.
struct Stoppable<'s, B> {
    inner: B,
    stop: &'s Cell<bool>,
}

impl<B: BufRead> Read for Stoppable<'_, B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.get() {
            return Ok(0);
        }
        self.inner.read(buf)
    }
}

impl<B: BufRead> BufRead for Stoppable<'_, B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.stop.get() {
            return Ok(&[]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_arguments_or_a_dash_mean_standard_input() {
        assert_eq!(Input::from_args(&[]), vec![Input::Stdin]);
        let args = [PathBuf::from("-"), PathBuf::from("a.log")];
        assert_eq!(
            Input::from_args(&args),
            vec![Input::Stdin, Input::File("a.log".into())]
        );
    }

    #[test]
    fn kind_comes_from_the_file_name_only() {
        let access = Input::File(
            "some/dir/123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx.log.gz"
                .into(),
        );
        assert_eq!(access.kind(), LogKind::Access);
        assert_eq!(Input::File("x.log".into()).kind(), LogKind::Unknown);
        assert_eq!(Input::Stdin.kind(), LogKind::Unknown);
    }

    #[test]
    fn a_stop_ends_the_scan_without_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.log");
        std::fs::write(&path, "a\nb\nc\n").unwrap();
        let stop = Cell::new(false);
        let mut seen = Vec::new();
        scan(&Input::File(path), &Progress::hidden(), &stop, |line| {
            seen.push(line.number);
            stop.set(true);
        })
        .unwrap();
        assert_eq!(seen, vec![1]);
    }
}
