//! `moonshot models`, `balance` and `estimate`: what every program checks before it spends.

use moonshot::Client;
use moonshot::balance::Balance;
use moonshot::messages::user;
use serde_json::json;

use crate::report::{Failure, Style, print, print_json, table};

/// Lists the models: a table, or JSON.
pub(crate) async fn models(client: &Client, style: Style) -> Result<(), Failure> {
    let models = client.models().list().await?;
    if style == Style::Json {
        return print_json(&models);
    }
    let yes = |flag: Option<bool>| if flag == Some(true) { "yes" } else { "" }.to_owned();
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|m| {
            vec![
                m.id.clone().unwrap_or_default(),
                m.context_length.map(|c| c.to_string()).unwrap_or_default(),
                yes(m.supports_image_in),
                yes(m.supports_video_in),
                yes(m.supports_reasoning),
            ]
        })
        .collect();
    print(&table(
        &["ID", "CONTEXT", "IMAGES", "VIDEO", "REASONING"],
        &rows,
    ))
}

/// The balance: three lines and their currency, or JSON (with `currency`, null when the base
/// URL does not tell the platform).
pub(crate) async fn balance(client: &Client, style: Style) -> Result<(), Failure> {
    let balance = client.balance().retrieve().await?;
    match style {
        Style::Json => print_json(&balance),
        Style::Human => print(&balance_lines(&balance)),
    }
}

/// The balance for people: each amount with its currency's code, or, when the platform is not
/// known, a last line saying the amounts are in the account's currency.
fn balance_lines(balance: &Balance) -> String {
    let (unit, note) = match balance.currency() {
        Some(currency) => (format!(" {currency}"), String::new()),
        None => (String::new(), format!("\n(in {})", balance.currency_name())),
    };
    format!(
        "available  {:.2}{unit}\ncash       {:.2}{unit}\nvouchers   {:.2}{unit}{note}",
        balance.available_balance, balance.cash_balance, balance.voucher_balance
    )
}

/// The token count of `text` as one user message.
pub(crate) async fn estimate(
    client: &Client,
    model: &str,
    text: &str,
    style: Style,
) -> Result<(), Failure> {
    let tokens = client
        .tokenizers()
        .estimate(model, vec![user(text)])
        .await?;
    match style {
        Style::Json => print_json(&json!({"model": model, "total_tokens": tokens})),
        Style::Human => print(&format!("{tokens} tokens")),
    }
}

#[cfg(test)]
mod tests {
    use moonshot::balance::{Balance, Currency};
    use moonshot::types::BalanceResponseData;

    use super::balance_lines;

    fn balance(currency: Option<Currency>) -> Balance {
        let amounts = BalanceResponseData {
            available_balance: 49.58,
            cash_balance: 3.0,
            voucher_balance: 46.58,
        };
        Balance::new(amounts, currency)
    }

    #[test]
    fn the_balance_names_its_currency_or_says_it_is_the_accounts() {
        assert_eq!(
            balance_lines(&balance(Some(Currency::Cny))),
            "available  49.58 CNY\ncash       3.00 CNY\nvouchers   46.58 CNY"
        );
        assert_eq!(
            balance_lines(&balance(Some(Currency::Usd))).lines().next(),
            Some("available  49.58 USD")
        );
        let unknown = balance_lines(&balance(None));
        assert!(!unknown.contains('$'), "{unknown}");
        assert!(
            unknown.ends_with("\n(in the account's currency)"),
            "{unknown}"
        );
    }
}
