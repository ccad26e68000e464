//! Routing one alert: which destinations get it, with which settings, and why.
//!
//! - Routes are tried in order. The first that matches takes the alert; matching stops there
//!   unless that route says `continue: true`.
//! - When no route matches, the default route takes it.
//! - A route that took the alert then, in this order: drops it if `drop: true`; drops a resolved
//!   alert if its `send_resolved` is false; drops it while one of its mute windows is active;
//!   otherwise delivers to each of its destinations.
//! - A destination already delivered to by an earlier route gets no second delivery: the first
//!   route's settings (mentions, dedup window) stand, and the later route is noted in
//!   [`Delivery::also_routed_by`]. A drop by one route does not stop a later matching route from
//!   delivering to the same destination: each route's mute and `send_resolved` are its own.
//! - Every alert ends up delivered somewhere or dropped with a reason: a decision is never empty.

use crate::config::{Config, DEFAULT_ROUTE_NAME, Route, format_duration};
use fleetwatch_alerts::Alert;
use jiff::Timestamp;
use std::fmt;
use std::time::Duration;

/// Routes `alert` at time `now` (the caller's clock; only mute windows use it).
pub fn route(config: &Config, alert: &Alert, now: Timestamp) -> RoutingDecision {
    let mut decision = RoutingDecision::default();
    let mut matched = false;
    for route in config.routes() {
        match route.matchers().check(alert) {
            Err(mismatch) => decision.steps.push(RouteStep {
                route: route.name().to_owned(),
                outcome: StepOutcome::NotMatched { reason: mismatch.0 },
            }),
            Ok(()) => {
                matched = true;
                decision.steps.push(RouteStep {
                    route: route.name().to_owned(),
                    outcome: StepOutcome::Matched {
                        continues: route.continues(),
                    },
                });
                take(route, alert, now, &mut decision);
                if !route.continues() {
                    break;
                }
            }
        }
    }
    if !matched {
        decision.steps.push(RouteStep {
            route: DEFAULT_ROUTE_NAME.to_owned(),
            outcome: StepOutcome::Default,
        });
        take(config.default_route(), alert, now, &mut decision);
    }
    decision
}

/// What a route does with an alert it matched.
fn take(route: &Route, alert: &Alert, now: Timestamp, decision: &mut RoutingDecision) {
    let reason = if route.drops() {
        Some(DropReason::DroppedByRoute)
    } else if !alert.is_firing() && !route.send_resolved() {
        Some(DropReason::ResolvedNotSent)
    } else {
        route
            .mute_windows()
            .iter()
            .find(|window| window.is_active(now))
            .map(|window| DropReason::Muted {
                window: window.label().to_owned(),
            })
    };
    if let Some(reason) = reason {
        decision.drops.push(Dropped {
            route: route.name().to_owned(),
            destinations: route.destinations().to_vec(),
            reason,
        });
        return;
    }
    for destination in route.destinations() {
        if let Some(earlier) = decision
            .deliveries
            .iter_mut()
            .find(|delivery| delivery.destination == *destination)
        {
            earlier.also_routed_by.push(route.name().to_owned());
            continue;
        }
        let mentions = if alert.is_firing() {
            route.mentions_for(alert.severity).to_vec()
        } else {
            Vec::new()
        };
        decision.deliveries.push(Delivery {
            destination: destination.clone(),
            route: route.name().to_owned(),
            mentions,
            dedup_window: route.dedup_window(),
            also_routed_by: Vec::new(),
        });
    }
}

/// The outcome of routing one alert, in the order things happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingDecision {
    /// Every route tried, in order, until matching stopped.
    pub steps: Vec<RouteStep>,
    /// One per destination, in the order first routed.
    pub deliveries: Vec<Delivery>,
    /// Routes that took the alert but deliberately sent nothing.
    pub drops: Vec<Dropped>,
}

impl RoutingDecision {
    /// The destinations to deliver to, in order.
    pub fn destinations(&self) -> impl Iterator<Item = &str> {
        self.deliveries
            .iter()
            .map(|delivery| delivery.destination.as_str())
    }

    /// Nothing is delivered (every route that took the alert dropped it).
    pub fn is_dropped(&self) -> bool {
        self.deliveries.is_empty()
    }

    /// "Which destinations, and why", one line each: the routes tried, the deliveries, the drops.
    pub fn explain(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.steps.iter().map(RouteStep::to_string).collect();
        if let Some(last) = self.steps.last()
            && matches!(last.outcome, StepOutcome::Matched { continues: false })
        {
            lines.push(format!(
                "matching stopped at route {} (no continue)",
                last.route
            ));
        }
        lines.extend(self.deliveries.iter().map(Delivery::to_string));
        lines.extend(self.drops.iter().map(Dropped::to_string));
        if self.is_dropped() {
            lines.push("not delivered anywhere".to_owned());
        }
        lines
    }
}

impl fmt::Display for RoutingDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain().join("\n"))
    }
}

/// One route tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteStep {
    pub route: String,
    pub outcome: StepOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Matched {
        continues: bool,
    },
    /// The first condition that failed, in words.
    NotMatched {
        reason: String,
    },
    /// No route matched: the default route took the alert.
    Default,
}

impl fmt::Display for RouteStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            StepOutcome::Matched { continues: true } => {
                write!(f, "route {}: matched (continue)", self.route)
            }
            StepOutcome::Matched { continues: false } => write!(f, "route {}: matched", self.route),
            StepOutcome::NotMatched { reason } => {
                write!(f, "route {}: not matched: {reason}", self.route)
            }
            StepOutcome::Default => write!(f, "no route matched: {} applies", self.route),
        }
    }
}

/// Send the alert to one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub destination: String,
    /// The route whose settings apply (the first that routed here).
    pub route: String,
    /// Mentions to put in the message: only for firing alerts, by severity.
    pub mentions: Vec<String>,
    /// Same fingerprint and status to this destination within this window is a duplicate.
    pub dedup_window: Duration,
    /// Later matching routes that also named this destination (no second delivery).
    pub also_routed_by: Vec<String>,
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deliver to {} via route {}",
            self.destination, self.route
        )?;
        if !self.mentions.is_empty() {
            write!(f, ", mentioning {}", self.mentions.join(" "))?;
        }
        write!(f, ", dedup window {}", format_duration(self.dedup_window))?;
        if !self.also_routed_by.is_empty() {
            write!(
                f,
                " (also named by route {}: delivered once)",
                self.also_routed_by.join(", ")
            )?;
        }
        Ok(())
    }
}

/// A route took the alert and deliberately sent it nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub route: String,
    /// The route's destinations that did not get it from this route (empty for `drop: true`).
    pub destinations: Vec<String>,
    pub reason: DropReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// `drop: true`.
    DroppedByRoute,
    /// A resolved alert on a route with `send_resolved: false`.
    ResolvedNotSent,
    /// A mute window of the route is active; `window` is its label.
    Muted { window: String },
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dropped: ")?;
        match &self.reason {
            DropReason::DroppedByRoute => {
                write!(f, "route {} drops these alerts (drop: true)", self.route)?
            }
            DropReason::ResolvedNotSent => write!(f, "resolved not sent by route {}", self.route)?,
            DropReason::Muted { window } => {
                write!(f, "muted by route {} window {window}", self.route)?
            }
        }
        if !self.destinations.is_empty() {
            write!(f, " (not sent to {})", self.destinations.join(", "))?;
        }
        Ok(())
    }
}
