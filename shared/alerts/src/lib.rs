//! Alerts: the one [`Alert`] model every producer and source is turned into, the normalisers that
//! detect and translate source payloads, and the Slack Block Kit rendering.
//!
//! Everything here is pure: no I/O, no clock, no environment. Callers (the `slack-fanout` Lambda,
//! the `fleetwatch alerts render` command, internal producers) hand in strings and plain data and
//! get plain data back.
//!
//! ```
//! use fleetwatch_alerts::{normalise, render, RenderOptions};
//!
//! let normalised = normalise(r#"{"title": "Disk almost full", "host": "db-1"}"#).unwrap();
//! let message = render(&normalised.alerts[0], &RenderOptions::default());
//! assert!(message.text.contains("Disk almost full"));
//! ```

mod alert;
mod hash;
mod normalise;
mod redact;
mod render;
mod text;
mod time;

pub use alert::{Alert, Field, Link, Severity, Source, Status};
pub use hash::stable_id;
pub use normalise::{
    Envelope, NormaliseError, Normalised, PayloadKind, Recognised, Recogniser, normalise,
    normalise_with,
};
pub use redact::{
    MAX_UNTRUSTED_FIELD_CHARS, MAX_UNTRUSTED_LINE_CHARS, REDACTED, redact, redact_field,
    redact_lines,
};
pub use render::slack::{Block, Element, Text};
pub use render::{RenderOptions, SlackMessage, render, render_digest, render_digest_with};
pub use time::unix_seconds;
