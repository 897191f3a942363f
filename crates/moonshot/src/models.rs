//! The models the account can use.

use std::ops::Deref;

use moonshot_api::types::ListModelsResponseDataItem;
use serde::{Deserialize, Serialize};

use crate::call::Core;
use crate::error::Error;

/// One model: its id and what it supports; derefs to the fields as the API sends them (`id`,
/// `context_length`, `supports_reasoning`...). Serialises as the API's own object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Model(ListModelsResponseDataItem);

impl Model {
    /// The model as the API sent it.
    pub fn into_inner(self) -> ListModelsResponseDataItem {
        self.0
    }
}

impl From<ListModelsResponseDataItem> for Model {
    fn from(item: ListModelsResponseDataItem) -> Self {
        Self(item)
    }
}

impl Deref for Model {
    type Target = ListModelsResponseDataItem;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The Models API; get it from [`Client::models`](crate::Client::models).
#[derive(Debug, Clone, Copy)]
pub struct Models<'a> {
    client: &'a Core,
}

impl<'a> Models<'a> {
    pub(crate) fn new(client: &'a Core) -> Self {
        Self { client }
    }

    /// Every model the account can use, with its context length and what it supports.
    ///
    /// # Errors
    /// Any [`Error`] the call ends in after retries.
    pub async fn list(&self) -> Result<Vec<Model>, Error> {
        let list = self
            .client
            .call_named("list_models", |api| api.list_models())
            .await?;
        Ok(list.data.into_iter().map(Model).collect())
    }
}
