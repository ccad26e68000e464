//! The async runtime of the commands that drive the Lambda functions' async code (the alb-logs
//! pipeline, Slack delivery, AWS clients): one per command, on the main thread.

use tokio::runtime::{Builder, Runtime};

use crate::outcome::Fatal;

pub fn new() -> Result<Runtime, Fatal> {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::Environment(format!("cannot start the async runtime: {e}")))
}
