//! Checks shared by the integration suites.

pub mod template_rules;
