//! Pacing per destination: a token bucket kept as one number, the time at which the bucket is
//! full again (GCRA's "theoretical arrival time"). One number can live in the state table and be
//! updated with a conditional write, so every instance of the function shares one budget per
//! channel. Pure: the caller passes the time (a duration since any fixed origin) and sleeps.

use std::time::Duration;

/// `burst` messages at once, then one per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    interval: Duration,
    burst: u32,
}

impl Pace {
    pub fn new(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            burst: burst.max(1),
        }
    }

    /// Slack's documented pace: one message per second per channel, with a burst of 2.
    pub fn slack_default() -> Self {
        Self::new(Duration::from_secs(1), 2)
    }

    fn capacity(&self) -> Duration {
        self.interval * self.burst
    }

    /// Books one send at or after `now`, given the stored full-again time (`None`: idle).
    /// Returns how long to wait before sending, and the new full-again time to store.
    pub fn reserve(&self, full_at: Option<Duration>, now: Duration) -> (Duration, Duration) {
        let full_at = full_at.unwrap_or(now).max(now);
        // Sending is allowed while the bucket is at most `capacity - interval` ahead of now.
        let earliest = full_at.saturating_sub(self.capacity() - self.interval);
        let send_at = earliest.max(now);
        (send_at - now, full_at.saturating_add(self.interval))
    }

    /// After a 429: the full-again time that holds the destination until `now + retry_after`.
    pub fn hold(
        &self,
        full_at: Option<Duration>,
        now: Duration,
        retry_after: Duration,
    ) -> Duration {
        let resume = now.saturating_add(retry_after);
        let held = resume.saturating_add(self.capacity() - self.interval);
        full_at.unwrap_or(now).max(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    /// Books `n` sends at `now` one after the other, as the engine does with the stored value.
    fn waits(pace: Pace, full_at: &mut Option<Duration>, now: Duration, n: usize) -> Vec<Duration> {
        (0..n)
            .map(|_| {
                let (wait, next) = pace.reserve(*full_at, now);
                *full_at = Some(next);
                wait
            })
            .collect()
    }

    #[test]
    fn allows_a_burst_then_one_per_interval() {
        let mut full_at = None;
        let waits = waits(Pace::new(S, 2), &mut full_at, Duration::from_secs(100), 5);
        assert_eq!(waits, vec![Duration::ZERO, Duration::ZERO, S, 2 * S, 3 * S]);
    }

    #[test]
    fn destinations_are_independent_and_idle_time_refills() {
        let pace = Pace::new(S, 1);
        let t0 = Duration::from_secs(10);
        let (mut a, mut b) = (None, None);
        assert_eq!(waits(pace, &mut a, t0, 2), vec![Duration::ZERO, S]);
        assert_eq!(waits(pace, &mut b, t0, 1), vec![Duration::ZERO]);
        assert_eq!(waits(pace, &mut a, t0 + 10 * S, 1), vec![Duration::ZERO]);
    }

    #[test]
    fn a_rate_limit_answer_holds_the_destination() {
        let pace = Pace::new(S, 2);
        let t0 = Duration::from_secs(10);
        let mut held = Some(pace.hold(None, t0, 5 * S));
        assert_eq!(waits(pace, &mut held, t0, 1), vec![5 * S]);
    }

    #[test]
    fn a_huge_retry_after_saturates_instead_of_overflowing() {
        let pace = Pace::new(S, 2);
        let held = pace.hold(None, Duration::from_secs(10), Duration::MAX);
        assert_eq!(held, Duration::MAX);
    }
}
