//! The integration suite: one test binary, one module per suite, so the AWS SDK is compiled into
//! one test target instead of one per file.
//!
//! Suites that need moto or cargo-lambda (installed by `make setup`) return the harness's
//! `NeedsSetup` error when the tool is missing: each fails with one line naming `make setup`.

mod support;

mod alb_logs;
mod aws_harness;
mod capacity;
mod capacity_template;
mod deploy;
mod e2e;
mod ecs_events;
mod envelopes;
mod fakes;
mod fanout_engine;
mod health_check;
mod lambda_runtime;
mod moto_lifecycle;
mod search_bulk;
mod slack_client;
mod slack_fanout;
mod template;
mod template_rules;
