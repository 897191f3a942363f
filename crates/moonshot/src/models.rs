//! The models the account can use.

use crate::client::Client;
use crate::error::Error;

/// One model: its id and what it supports.
pub type Model = moonshot_api::types::ListModelsResponseDataItem;

/// The Models API; get it from [`Client::models`].
#[derive(Debug, Clone, Copy)]
pub struct Models<'a> {
    client: &'a Client,
}

impl<'a> Models<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Every model the account can use, with its context length and what it supports.
    ///
    /// # Errors
    /// Any [`Error`] the call ends in after retries.
    pub async fn list(&self) -> Result<Vec<Model>, Error> {
        let list = self
            .client
            .call("list_models", |api| api.list_models())
            .await?;
        Ok(list.data)
    }
}
