//! `fleetwatch alb parse`: one JSON document per parsed line on stdout, one JSON error report per
//! unparseable line on `--errors` (stderr by default).

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use fleetwatch_alb::encode::Format;
use fleetwatch_alb::encode::json::JsonWriter;
use fleetwatch_alb::{LogKind, Record};

use super::line::{self, LineFailure, LineOutcome};
use crate::input::{self, Input};
use crate::outcome::{CommandResult, Fatal, Finished};
use crate::progress::Progress;

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Document format: ecs (Elastic's AWS integration field names), vrl (Vector's
    /// parse_aws_alb_log keys) or flat (the Athena columns).
    #[arg(
        long,
        default_value = "ecs",
        value_parser = PossibleValuesParser::new(["ecs", "vrl", "flat"])
            .try_map(|name| name.parse::<Format>())
    )]
    format: Format,
    /// Where unparseable lines are reported, one JSON object per line (default: stderr).
    #[arg(long, value_name = "FILE")]
    errors: Option<PathBuf>,
    /// Log files, plain or gzip (any number of members); `-` or nothing for stdin.
    #[arg(value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

/// Documents are written in chunks of about this size: few syscalls, bounded memory.
const CHUNK: usize = 64 * 1024;

pub fn run(args: &ParseArgs) -> CommandResult {
    let mut errors = ErrorReports::open(args.errors.as_ref())?;
    let stdout = io::stdout();
    let mut documents = Documents {
        out: stdout.lock(),
        buffer: Vec::with_capacity(CHUNK * 2),
        format: args.format,
    };
    let mut finished = Finished::Success;
    for input in Input::from_args(&args.inputs) {
        if let Err(unreadable) = parse_input(&input, &mut documents, &mut errors)? {
            // The report follows the error lines of the lines read before the failure.
            errors.flush()?;
            eprintln!("fleetwatch: {unreadable}");
            finished = Finished::SomeInputsUnreadable;
        }
    }
    documents.flush()?;
    errors.flush()?;
    Ok(finished)
}

fn parse_input(
    input: &Input,
    documents: &mut Documents<impl Write>,
    errors: &mut ErrorReports,
) -> Result<Result<(), input::Unreadable>, Fatal> {
    let kind = input.kind();
    let name = input.name();
    let stop = Cell::new(false);
    let mut fatal = None;
    let scanned = input::scan(input, &Progress::hidden(), &stop, |line| {
        let written = match line::parse(kind, &line) {
            LineOutcome::Parsed(record) => documents.write(&record),
            LineOutcome::Blank => Ok(()),
            LineOutcome::Failed(failure) => {
                errors.report(&name, kind, line.number, &failure, line.bytes)
            }
        };
        if let Err(error) = written {
            fatal = Some(error);
            stop.set(true);
        }
    });
    match fatal {
        Some(error) => Err(error),
        None => Ok(scanned.map(drop)),
    }
}

/// Encoded documents, newline-terminated, collected into one reused buffer.
struct Documents<W: Write> {
    out: W,
    buffer: Vec<u8>,
    format: Format,
}

impl<W: Write> Documents<W> {
    fn write(&mut self, record: &Record<'_>) -> Result<(), Fatal> {
        self.format.encode(record, &mut self.buffer);
        self.buffer.push(b'\n');
        if self.buffer.len() >= CHUNK {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn write_buffer(&mut self) -> Result<(), Fatal> {
        let result = self.out.write_all(&self.buffer);
        self.buffer.clear();
        result.map_err(Fatal::output("standard output"))
    }

    fn flush(&mut self) -> Result<(), Fatal> {
        self.write_buffer()?;
        self.out.flush().map_err(Fatal::output("standard output"))
    }
}

/// `{"input":"<path>","line":N,"kind":"access","code":"too_few_fields","reason":"...","raw":"..."}`
struct ErrorReports {
    out: Box<dyn Write>,
    /// For messages: "standard error" or the file's path.
    name: String,
    line: Vec<u8>,
}

impl ErrorReports {
    fn open(path: Option<&PathBuf>) -> Result<Self, Fatal> {
        let (out, name): (Box<dyn Write>, String) = match path {
            Some(path) => {
                let name = path.display().to_string();
                let file = File::create(path).map_err(Fatal::output(name.clone()))?;
                (Box::new(BufWriter::new(file)), name)
            }
            None => (
                Box::new(BufWriter::new(io::stderr())),
                "standard error".into(),
            ),
        };
        Ok(Self {
            out,
            name,
            line: Vec::with_capacity(1024),
        })
    }

    fn report(
        &mut self,
        input: &str,
        kind: LogKind,
        number: u64,
        failure: &LineFailure,
        raw: &[u8],
    ) -> Result<(), Fatal> {
        self.line.clear();
        let mut w = JsonWriter::new(&mut self.line);
        w.str("input", input);
        w.u64("line", number);
        w.str("kind", kind.as_str());
        w.str("code", failure.code());
        w.str("reason", &failure.reason());
        // Invalid UTF-8 becomes U+FFFD: the report stays valid JSON whatever the line held.
        w.bytes("raw", raw.strip_suffix(b"\r").unwrap_or(raw));
        w.finish();
        self.line.push(b'\n');
        self.out
            .write_all(&self.line)
            .map_err(Fatal::output(self.name.clone()))
    }

    fn flush(&mut self) -> Result<(), Fatal> {
        self.out.flush().map_err(Fatal::output(self.name.clone()))
    }
}
