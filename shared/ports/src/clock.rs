//! Time as a dependency. Everything time-based (pacing, `Retry-After`, deadlines, dedup windows,
//! TTLs, cache expiry, metric timestamps) reads a [`Clock`], so a test drives time with a
//! [`ManualClock`] instead of waiting for it.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time and waiting. One notion of time for everything: Lambda gives its deadline as
/// wall-clock time, and DynamoDB TTLs are epoch seconds.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> SystemTime;

    /// Waits `duration` of this clock's time.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// How adapters and engines hold their clock.
pub type SharedClock = Arc<dyn Clock>;

/// Seconds since the Unix epoch (the unit of DynamoDB TTL attributes); 0 before 1970.
pub fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch (the unit of EMF timestamps); 0 before 1970.
pub fn epoch_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The real clock: the system's time and tokio's timers.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl SystemClock {
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that moves only when told to, or when someone sleeps on it: a sleep moves it forward
/// to the sleeper's wake-up time at once (never backwards), so a schedule that would take minutes
/// runs in microseconds and every action still happens at or after its due time. Concurrent
/// sleepers are served in call order, so a compressed schedule can only be later than the real
/// one, never earlier.
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<ManualState>,
}

#[derive(Debug)]
struct ManualState {
    now: SystemTime,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    pub fn new(start: SystemTime) -> Self {
        Self {
            state: Mutex::new(ManualState {
                now: start,
                sleeps: Vec::new(),
            }),
        }
    }

    /// A clock at `seconds` after the Unix epoch.
    pub fn at_epoch_seconds(seconds: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut state = self.state();
        state.now += by;
    }

    /// Sets the clock (also backwards, to test a clock step).
    pub fn set(&self, to: SystemTime) {
        self.state().now = to;
    }

    /// Every sleep asked of this clock so far, in call order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state().sleeps.clone()
    }

    /// The sum of the sleeps asked so far.
    pub fn slept(&self) -> Duration {
        self.state().sleeps.iter().sum()
    }

    fn state(&self) -> MutexGuard<'_, ManualState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.state().now
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut state = self.state();
        state.sleeps.push(duration);
        state.now += duration;
        // Still a suspension point, so concurrent tasks interleave as they would in real time.
        Box::pin(YieldOnce(false))
    }
}

/// Returns `Pending` once (waking itself), then `Ready`.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_sleep_moves_time_forward_without_waiting() {
        let clock = ManualClock::at_epoch_seconds(1_000);
        clock.sleep(Duration::from_secs(3600)).await;
        clock.sleep(Duration::from_millis(500)).await;
        assert_eq!(epoch_millis(clock.now()), 1_000_000 + 3_600_000 + 500);
        assert_eq!(clock.slept(), Duration::from_millis(3_600_500));
        clock.advance(Duration::from_secs(1));
        assert_eq!(epoch_seconds(clock.now()), 4_601);
    }

    #[test]
    fn epoch_conversions_saturate_before_1970() {
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(epoch_seconds(before), 0);
        assert_eq!(epoch_millis(before), 0);
        assert_eq!(
            epoch_millis(UNIX_EPOCH + Duration::from_millis(1_234)),
            1_234
        );
    }
}
