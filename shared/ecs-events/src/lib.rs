//! The edges of the `ecs-events` function: the [`handler`] (parse, classify, skip duplicates,
//! enrich, publish), the enrichment [`lookups`] behind a trait with the AWS adapter, and the
//! [`wiring`] from the environment. The decisions are in the pure `fleetwatch-ecs` crate.

pub mod handler;
pub mod lookups;
pub mod wiring;

pub use handler::{EcsEventsHandler, HandlerError, Outcome, Settings};
pub use lookups::{AwsLookups, EcsLookups, LookupError, enrich_alert};
