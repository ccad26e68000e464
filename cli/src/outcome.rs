//! How a command ends, mapped to the exit status of the contract.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// A command that ran to its end: were all inputs readable?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    Success,
    /// At least one input could not be read (each was reported as it happened); the others were
    /// processed.
    SomeInputsUnreadable,
    /// Every input was read, but some of the work could not be completed (an output could not
    /// be stored, a Slack delivery was dead-lettered or left for a retry); each was reported.
    SomeWorkFailed,
}

impl Finished {
    /// The worse of two endings: an unreadable input outranks failed work, which outranks
    /// success.
    pub fn and(self, other: Finished) -> Finished {
        fn rank(finished: Finished) -> u8 {
            match finished {
                Finished::Success => 0,
                Finished::SomeWorkFailed => 1,
                Finished::SomeInputsUnreadable => 2,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// What stops a command before its end.
#[derive(Debug)]
pub enum Fatal {
    /// Writing an output failed. A closed pipe (`fleetwatch alb parse ... | head`) is the reader
    /// saying it has enough, not a failure: it ends the command quietly with status 0.
    Output { what: String, source: io::Error },
    /// A wrong argument the parser of the command line could not catch (say, an S3 location
    /// without `s3://`).
    Usage(String),
    /// Something the command needs from its surroundings failed (the async runtime, AWS):
    /// nothing wrong with the command line, and a retry may work.
    Environment(String),
}

impl Fatal {
    /// Writing the report to standard output failed.
    pub fn stdout(source: io::Error) -> Fatal {
        Fatal::Output {
            what: "standard output".into(),
            source,
        }
    }

    pub fn output(what: impl Into<String>) -> impl FnOnce(io::Error) -> Fatal {
        let what = what.into();
        move |source| Fatal::Output { what, source }
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fatal::Output { what, source } => write!(f, "cannot write {what}: {source}"),
            Fatal::Usage(message) | Fatal::Environment(message) => f.write_str(message),
        }
    }
}

pub type CommandResult = Result<Finished, Fatal>;

pub fn exit_code(result: CommandResult) -> ExitCode {
    match result {
        Ok(Finished::Success) => ExitCode::SUCCESS,
        Ok(Finished::SomeInputsUnreadable) => ExitCode::from(2),
        Ok(Finished::SomeWorkFailed) => ExitCode::from(1),
        Err(Fatal::Output { source, .. }) if source.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(fatal @ (Fatal::Output { .. } | Fatal::Environment(_))) => {
            eprintln!("fleetwatch: {fatal}");
            ExitCode::from(1)
        }
        Err(fatal @ Fatal::Usage(_)) => {
            eprintln!("fleetwatch: {fatal}");
            ExitCode::from(2)
        }
    }
}
