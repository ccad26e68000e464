//! Test-only infrastructure (no AWS SDK: the integration suite builds its clients itself).
//!
//! - [`moto`]: moto in server mode (the real S3/SQS/SNS/SSM/DynamoDB API, from the project's
//!   `.venv`) on a free loopback port, killed when dropped or when the test process dies.
//! - [`lambda`]: `cargo lambda watch`, the Lambda runtime API emulator, running the functions.
//! - [`slack`] and [`bulk`]: protocol-faithful fakes of Slack and of OpenSearch/Elasticsearch
//!   `_bulk`, used because neither service can run here. Both record what they received and can be
//!   told to inject faults.
//! - [`service`]: an HTTP(S) service to health-check, whose answers a test flips (healthy,
//!   failing, slow, wrong body, redirect loop; a certificate about to expire).
//! - [`aws_json`]: recorded answers of AWS JSON-protocol services (ECS, CloudWatch Logs) for the
//!   calls moto cannot answer in a shape aws-sdk-rust reads.
//! - [`aws_query`]: recorded answers of AWS Query-protocol services (Auto Scaling: form-encoded
//!   requests, XML answers) for the calls moto does not implement.
//!
//! A test that needs a tool `make setup` installs (moto, cargo-lambda) gets a [`NeedsSetup`]
//! error when the tool is missing, returns it, and fails with one line saying so.

pub mod aws_json;
pub mod aws_query;
pub mod bulk;
pub mod lambda;
pub mod moto;
mod runtime_proxy;
pub mod service;
pub mod slack;

use std::fmt;
use std::path::{Path, PathBuf};

/// A tool a test needs is not installed.
pub struct NeedsSetup {
    tool: &'static str,
    path: PathBuf,
}

impl NeedsSetup {
    /// `Ok` when `path` (the tool in the project's `.venv`) exists.
    pub fn check(tool: &'static str, path: &Path) -> Result<(), NeedsSetup> {
        if path.exists() {
            return Ok(());
        }
        Err(NeedsSetup {
            tool,
            path: path.to_path_buf(),
        })
    }
}

impl fmt::Display for NeedsSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not installed ({} not found): run `make setup` first",
            self.tool,
            self.path.display()
        )
    }
}

/// The same one line: a test that returns this error prints it with `Debug`.
impl fmt::Debug for NeedsSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for NeedsSetup {}
