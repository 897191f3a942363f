//! `GET /v1/users/me/balance`: a fixed, consistent balance.

mod common;

use common::{get, json};
use moonshot_mock::MockServer;

#[tokio::test]
async fn the_available_balance_is_the_voucher_and_cash_balances() {
    let server = MockServer::start().await.expect("server starts");
    let response = get(&server, "/v1/users/me/balance", None).await;
    assert_eq!(response.status(), 200);
    let balance = json(response).await;
    assert_eq!(balance["code"], 0);
    assert_eq!(balance["scode"], "0x0");
    assert_eq!(balance["status"], true);
    let amount = |name: &str| balance["data"][name].as_f64().expect("a number");
    let sum = amount("voucher_balance") + amount("cash_balance");
    assert!(
        (amount("available_balance") - sum).abs() < 1e-9,
        "{balance}"
    );
    assert!(amount("available_balance") > 0.0);
}
