//! The `ecs-events` function's application: the handler (parse, classify, skip duplicates,
//! enrich, publish), the enrichment port [`EcsLookups`] and its bounded fetch, and the
//! configuration from the environment. The decisions are in the pure `fleetwatch-ecs` crate;
//! the AWS adapter of the lookups is `fleetwatch-aws`'s `EcsApiLookups`.

mod config;
mod handler;
mod lookups;

pub use config::{ENRICH, EVENTS_DLQ_URL, EcsEventsConfig, NOISE_KEEP, WiringError};
pub use handler::{EcsEventsHandler, HandlerError, NAMESPACE, Outcome, Settings};
pub use lookups::{EcsLookups, LookupError, enrich_alert, fetch};
