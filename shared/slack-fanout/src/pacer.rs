use std::collections::HashMap;
use std::time::Duration;

/// A token bucket per destination: `burst` messages at once, then one per `interval`.
/// Pure: the caller passes the time (as a duration since any fixed origin) and sleeps itself.
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Duration,
    burst: u32,
    /// Per destination, the time at which the bucket is full again ("theoretical arrival time").
    full_at: HashMap<String, Duration>,
}

impl Pacer {
    pub fn new(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            burst: burst.max(1),
            full_at: HashMap::new(),
        }
    }

    /// Slack's documented pace: one message per second per channel, with a burst of 2.
    pub fn slack_default() -> Self {
        Self::new(Duration::from_secs(1), 2)
    }

    /// Books one send to `destination` at or after `now`; returns how long to wait before it.
    pub fn reserve(&mut self, destination: &str, now: Duration) -> Duration {
        let capacity = self.interval * self.burst;
        let full_at = self
            .full_at
            .get(destination)
            .copied()
            .unwrap_or(now)
            .max(now);
        // Sending is allowed while the bucket is at most `capacity - interval` ahead of now.
        let earliest = full_at.saturating_sub(capacity - self.interval);
        let send_at = earliest.max(now);
        self.full_at
            .insert(destination.to_string(), full_at + self.interval);
        send_at - now
    }

    /// After a 429: nothing goes to `destination` before `now + retry_after`.
    pub fn hold(&mut self, destination: &str, now: Duration, retry_after: Duration) {
        let capacity = self.interval * self.burst;
        let resume = now + retry_after;
        let full_at = self.full_at.entry(destination.to_string()).or_insert(now);
        *full_at = (*full_at).max(resume + capacity - self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn allows_a_burst_then_one_per_interval() {
        let mut pacer = Pacer::new(S, 2);
        let now = Duration::from_secs(100);
        let waits: Vec<Duration> = (0..5).map(|_| pacer.reserve("a", now)).collect();
        assert_eq!(waits, vec![Duration::ZERO, Duration::ZERO, S, 2 * S, 3 * S]);
    }

    #[test]
    fn destinations_are_independent_and_idle_time_refills() {
        let mut pacer = Pacer::new(S, 1);
        let t0 = Duration::from_secs(10);
        assert_eq!(pacer.reserve("a", t0), Duration::ZERO);
        assert_eq!(pacer.reserve("a", t0), S);
        assert_eq!(pacer.reserve("b", t0), Duration::ZERO);
        assert_eq!(pacer.reserve("a", t0 + 10 * S), Duration::ZERO);
    }

    #[test]
    fn a_rate_limit_answer_holds_the_destination() {
        let mut pacer = Pacer::new(S, 2);
        let t0 = Duration::from_secs(10);
        pacer.hold("a", t0, 5 * S);
        assert_eq!(pacer.reserve("a", t0), 5 * S);
        assert_eq!(pacer.reserve("b", t0), Duration::ZERO);
    }
}
