//! The account's balance, and the currency it is in.

use std::fmt;
use std::ops::Deref;

use moonshot_api::types::BalanceResponseData;
use serde::Serialize;

use crate::call::Core;
use crate::error::Error;

/// The currency of a balance, known from the platform the client talks to: US dollars on the
/// global platform (`api.moonshot.ai`), yuan on the China platform (`api.moonshot.cn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Currency {
    /// US dollars, on the global platform.
    #[serde(rename = "USD")]
    Usd,
    /// Chinese yuan (renminbi), on the China platform.
    #[serde(rename = "CNY")]
    Cny,
}

impl Currency {
    /// The ISO 4217 code: `USD` or `CNY`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Usd => "USD",
            Self::Cny => "CNY",
        }
    }

    /// The currency of the platform at `base_url`, told by its host (`api.moonshot.ai`,
    /// `api.moonshot.cn`); `None` for any other host, such as a gateway's.
    ///
    /// ```
    /// use moonshot::balance::Currency;
    /// assert_eq!(Currency::of_base_url("https://api.moonshot.cn/v1"), Some(Currency::Cny));
    /// assert_eq!(Currency::of_base_url("http://127.0.0.1:8080"), None);
    /// ```
    pub fn of_base_url(base_url: &str) -> Option<Self> {
        let url = reqwest::Url::parse(base_url.trim()).ok()?;
        match url.host_str()?.trim_end_matches('.') {
            "api.moonshot.ai" => Some(Self::Usd),
            "api.moonshot.cn" => Some(Self::Cny),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The account's balance: available (cash plus vouchers), cash, vouchers; derefs to the amounts
/// as the API sends them. They are in the currency of the account's platform:
/// [`currency`](Self::currency) names it when the client's base URL tells the platform.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Balance {
    #[serde(flatten)]
    amounts: BalanceResponseData,
    /// Written as `"USD"`, `"CNY"`, or `null` when the platform is not known.
    currency: Option<Currency>,
}

impl Balance {
    /// A balance of `amounts` in `currency` (`None`: the account's currency, not known here),
    /// as [`Balances::retrieve`] makes one; for tests of code that shows balances.
    pub fn new(amounts: BalanceResponseData, currency: Option<Currency>) -> Self {
        Self { amounts, currency }
    }

    /// The currency of the amounts, when the platform is known from the base URL; `None` for
    /// another base URL (a gateway, a local server): then they are in the account's currency.
    pub fn currency(&self) -> Option<Currency> {
        self.currency
    }

    /// The currency said in words for people: `USD`, `CNY`, or "the account's currency".
    pub fn currency_name(&self) -> &'static str {
        self.currency
            .map_or("the account's currency", Currency::code)
    }

    /// The amounts as the API sent them.
    pub fn into_inner(self) -> BalanceResponseData {
        self.amounts
    }
}

impl Deref for Balance {
    type Target = BalanceResponseData;

    fn deref(&self) -> &Self::Target {
        &self.amounts
    }
}

/// The Balance API; get it from [`Client::balance`](crate::Client::balance).
#[derive(Debug, Clone, Copy)]
pub struct Balances<'a> {
    client: &'a Core,
}

impl<'a> Balances<'a> {
    pub(crate) fn new(client: &'a Core) -> Self {
        Self { client }
    }

    /// The account's balance now, with its currency when the base URL tells the platform.
    ///
    /// # Errors
    /// Any [`Error`] the call ends in after retries.
    pub async fn retrieve(&self) -> Result<Balance, Error> {
        let balance = self
            .client
            .call_named("retrieve_balance", |api| api.retrieve_balance())
            .await?;
        Ok(Balance::new(
            balance.data,
            Currency::of_base_url(self.client.base_url()),
        ))
    }
}
