//! What the handlers of one server share: its files, batches, fixtures, faults and settings.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use bytes::Bytes;
use tokio::sync::watch;

use crate::account_limits::Limiter;
use crate::batches::{BatchStore, Host};
use crate::chat::ChatFixtures;
use crate::document::Document;
use crate::faults::Faults;
use crate::store::Store;

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct ServerState {
    pub(crate) store: Store,
    pub(crate) api_key: Option<String>,
    pub(crate) faults: Faults,
    pub(crate) requests: AtomicU64,
    /// Distinguishes this server's request ids from another server's.
    pub(crate) instance: u32,
    pub(crate) filler: Bytes,
    /// Scripted chat answers.
    pub(crate) chat_fixtures: ChatFixtures,
    /// The wait between the events of a streamed chat answer.
    pub(crate) chunk_delay: Duration,
    /// The batches, and how long each takes to run.
    pub(crate) batches: BatchStore,
    /// Turns true when the server stops, which ends stalled streams.
    pub(crate) stopping: watch::Sender<bool>,
    /// The account's limits, and what they counted.
    pub(crate) limiter: Arc<Limiter>,
    /// The document operations without a route are answered from; none: the embedded one.
    pub(crate) document: Option<Arc<Document>>,
}

impl Host for ServerState {
    fn files(&self) -> &Store {
        &self.store
    }

    fn batches(&self) -> &BatchStore {
        &self.batches
    }

    fn chat_fixtures(&self) -> &ChatFixtures {
        &self.chat_fixtures
    }

    fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }
}

impl ServerState {
    /// The document operations without a hand-written route are answered from.
    pub(crate) fn document(&self) -> Result<Arc<Document>, String> {
        match &self.document {
            Some(document) => Ok(Arc::clone(document)),
            None => Document::embedded(),
        }
    }

    /// Whether `headers` carry the configured key (always, when none is configured).
    pub(crate) fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(key) = &self.api_key else {
            return true;
        };
        headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .is_some_and(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("bearer") && token.trim() == key
            })
    }
}
