//! `moonshot models`, `balance` and `estimate`: what every program checks before it spends.

use moonshot::Client;
use moonshot::messages::user;
use serde_json::json;

use crate::{Failure, Style, print, print_json, table};

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

/// The balance: three lines, or JSON.
pub(crate) async fn balance(client: &Client, style: Style) -> Result<(), Failure> {
    let balance = client.balance().retrieve().await?;
    match style {
        Style::Json => print_json(&balance),
        Style::Human => print(&format!(
            "available  ${:.2}\ncash       ${:.2}\nvouchers   ${:.2}",
            balance.available_balance, balance.cash_balance, balance.voucher_balance
        )),
    }
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
