//! The routing configuration named by `--config`: read and validated as the function does at
//! cold start. Any mistake is a usage error (exit status 2) naming the file, line and column.

use std::path::Path;

use fleetwatch_routing::Config;

use crate::outcome::Fatal;

pub fn load(path: &Path) -> Result<Config, Fatal> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Fatal::Usage(format!("{}: cannot read: {e}", path.display())))?;
    Config::from_yaml(&text).map_err(|e| Fatal::Usage(format!("{}: {e}", path.display())))
}
