//! Token counts, before a request spends them.

use moonshot_api::types::{EstimateTokenRequest, EstimateTokenRequestModel, Message};

use crate::call::Core;
use crate::error::Error;

/// The Tokenizers API; get it from [`Client::tokenizers`](crate::Client::tokenizers).
#[derive(Debug, Clone, Copy)]
pub struct Tokenizers<'a> {
    client: &'a Core,
}

impl<'a> Tokenizers<'a> {
    pub(crate) fn new(client: &'a Core) -> Self {
        Self { client }
    }

    /// How many tokens `messages` make for `model` (any model id: a `&str` works).
    ///
    /// ```no_run
    /// # async fn run(client: moonshot::Client) -> Result<(), moonshot::Error> {
    /// use moonshot::messages::{system, user};
    /// let tokens = client
    ///     .tokenizers()
    ///     .estimate("kimi-k2.6", vec![system("Be brief."), user("Hello")])
    ///     .await?;
    /// println!("{tokens} tokens");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for no messages (no request is sent); any other [`Error`] the
    /// call ends in after retries.
    pub async fn estimate(
        &self,
        model: impl Into<EstimateTokenRequestModel>,
        messages: Vec<Message>,
    ) -> Result<u64, Error> {
        if messages.is_empty() {
            return Err(Error::InvalidInput {
                name: "messages",
                reason: "there are none: estimate at least one message".to_owned(),
            });
        }
        let body = EstimateTokenRequest {
            model: model.into(),
            messages,
        };
        let estimate = self
            .client
            .call_named("estimate_token_count", |api| {
                api.estimate_token_count(&body)
            })
            .await?;
        Ok(u64::try_from(estimate.data.total_tokens).unwrap_or(0))
    }
}
