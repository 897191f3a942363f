//! Ctrl-C and SIGTERM, for the commands that must clean up when stopped.

use std::future::Future;

/// A signal that stops a command.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Signal {
    /// Ctrl-C.
    Interrupt,
    /// `kill`'s default.
    Terminate,
}

impl Signal {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }

    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Self::Interrupt => 128 + 2,
            Self::Terminate => 128 + 15,
        }
    }
}

/// Ctrl-C and SIGTERM, listened for from the moment this is made: a signal arriving before the
/// first wait is not missed (and does not kill the command with its default action).
pub(crate) struct Interrupts {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Interrupts {
    pub(crate) fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                streams: signal(SignalKind::interrupt())
                    .and_then(|interrupt| Ok((interrupt, signal(SignalKind::terminate())?)))
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Waits for a signal; never resolves when they cannot be listened for.
    pub(crate) async fn received(&mut self) -> Signal {
        #[cfg(unix)]
        if let Some((interrupt, terminate)) = &mut self.streams {
            return tokio::select! {
                _ = interrupt.recv() => Signal::Interrupt,
                _ = terminate.recv() => Signal::Terminate,
            };
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_ok() {
            return Signal::Interrupt;
        }
        std::future::pending().await
    }

    /// Runs `work` unless a signal comes first, which is returned instead.
    pub(crate) async fn until<T>(&mut self, work: impl Future<Output = T>) -> Result<T, Signal> {
        tokio::select! {
            result = work => Ok(result),
            signal = self.received() => Err(signal),
        }
    }

    /// Runs `work` to its end even when a signal comes, so that what it makes is known: returns
    /// its result and the signal that came meanwhile, if one did. A second signal abandons it
    /// and is returned instead.
    pub(crate) async fn shielded<T>(
        &mut self,
        work: impl Future<Output = T>,
    ) -> Result<(T, Option<Signal>), Signal> {
        let mut work = std::pin::pin!(work);
        let first = tokio::select! {
            result = &mut work => return Ok((result, None)),
            signal = self.received() => signal,
        };
        tokio::select! {
            result = &mut work => Ok((result, Some(first))),
            again = self.received() => Err(again),
        }
    }
}
