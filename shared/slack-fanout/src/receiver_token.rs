//! The receiver's bearer token. Read at cold start; when it cannot be read (a missing or
//! unreadable parameter), the receiver answers 503 and reads it again at most once per
//! [`ReceiverToken::RETRY_EVERY`] per instance, so restoring the parameter is enough to recover
//! (no restart), while a flood of requests costs one SSM read a minute, not one per request.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use fleetwatch_ports::{ErrorChain, Secret, SecretSource, SharedClock};

pub struct ReceiverToken<S> {
    secrets: S,
    parameter: String,
    clock: SharedClock,
    state: Mutex<State>,
}

#[derive(Clone)]
enum State {
    Known(Secret),
    /// Not readable; the next read is due at this time.
    Missing {
        next_read: SystemTime,
    },
}

impl<S: SecretSource + Sync> ReceiverToken<S> {
    pub const RETRY_EVERY: Duration = Duration::from_secs(60);

    /// Reads the token from `parameter`; a failure is logged once, here, and does not fail.
    pub async fn read(secrets: S, parameter: &str, clock: SharedClock) -> Self {
        let state = match secrets.secret(parameter).await {
            Ok(token) => State::Known(token),
            Err(error) => {
                tracing::error!(%parameter, error = %ErrorChain(&error), error.kind = %error.kind(), "the receiver's token cannot be read: requests are answered 503 and the token is read again once a minute");
                State::Missing {
                    next_read: clock.now() + Self::RETRY_EVERY,
                }
            }
        };
        Self {
            secrets,
            parameter: parameter.to_string(),
            clock,
            state: Mutex::new(state),
        }
    }

    /// The token, if known: read again when it was missing and a read is due. Only one request
    /// of an instance reads; the others answer from what is known.
    pub async fn current(&self) -> Option<Secret> {
        let now = self.clock.now();
        {
            let mut state = self.state();
            match &*state {
                State::Known(token) => return Some(token.clone()),
                State::Missing { next_read } if now < *next_read => return None,
                State::Missing { .. } => {
                    *state = State::Missing {
                        next_read: now + Self::RETRY_EVERY,
                    }
                }
            }
        }
        match self.secrets.secret(&self.parameter).await {
            Ok(token) => {
                tracing::info!(parameter = %self.parameter, "the receiver's token is readable again: requests are served");
                *self.state() = State::Known(token.clone());
                Some(token)
            }
            Err(error) => {
                tracing::debug!(parameter = %self.parameter, error = %ErrorChain(&error), "the receiver's token is still unreadable");
                None
            }
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use fleetwatch_ports::{ManualClock, SecretError, StaticSecrets};

    use super::*;

    /// Secrets that count their reads and can be changed.
    #[derive(Default)]
    struct Counted {
        secrets: Mutex<StaticSecrets>,
        reads: AtomicUsize,
    }

    impl SecretSource for &Counted {
        async fn secret(&self, name: &str) -> Result<Secret, SecretError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let secrets = self.secrets.lock().unwrap().clone();
            secrets.secret(name).await
        }
    }

    #[tokio::test]
    async fn a_missing_token_is_read_again_once_a_minute_until_it_is_back() {
        let clock = Arc::new(ManualClock::at_epoch_seconds(1_795_000_000));
        let secrets = Counted::default();
        let token = ReceiverToken::read(&secrets, "/token", clock.clone()).await;
        assert!(token.current().await.is_none());
        assert_eq!(
            secrets.reads.load(Ordering::SeqCst),
            1,
            "no read within the minute"
        );

        clock.advance(Duration::from_secs(60));
        for _ in 0..100 {
            assert!(token.current().await.is_none());
        }
        assert_eq!(
            secrets.reads.load(Ordering::SeqCst),
            2,
            "one read for 100 requests"
        );

        *secrets.secrets.lock().unwrap() = StaticSecrets::default().with("/token", "t0ken");
        clock.advance(Duration::from_secs(30));
        assert!(token.current().await.is_none(), "not due yet");
        clock.advance(Duration::from_secs(30));
        assert_eq!(token.current().await.unwrap().expose(), "t0ken");
        assert_eq!(token.current().await.unwrap().expose(), "t0ken");
        assert_eq!(
            secrets.reads.load(Ordering::SeqCst),
            3,
            "known: read no more"
        );
    }

    #[tokio::test]
    async fn a_token_read_at_cold_start_is_never_read_again() {
        let clock = Arc::new(ManualClock::at_epoch_seconds(1_795_000_000));
        let secrets = Counted::default();
        *secrets.secrets.lock().unwrap() = StaticSecrets::default().with("/token", "t0ken");
        let token = ReceiverToken::read(&secrets, "/token", clock.clone()).await;
        clock.advance(Duration::from_secs(3600));
        assert_eq!(token.current().await.unwrap().expose(), "t0ken");
        assert_eq!(secrets.reads.load(Ordering::SeqCst), 1);
    }
}
