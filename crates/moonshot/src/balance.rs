//! The account's balance.

use crate::client::Client;
use crate::error::Error;

/// The account's balance in US dollars: available (cash plus vouchers), cash, vouchers.
pub type Balance = moonshot_api::types::BalanceResponseData;

/// The Balance API; get it from [`Client::balance`].
#[derive(Debug, Clone, Copy)]
pub struct Balances<'a> {
    client: &'a Client,
}

impl<'a> Balances<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// The account's balance now.
    ///
    /// # Errors
    /// Any [`Error`] the call ends in after retries.
    pub async fn retrieve(&self) -> Result<Balance, Error> {
        let balance = self
            .client
            .call("retrieve_balance", |api| api.retrieve_balance())
            .await?;
        Ok(balance.data)
    }
}
