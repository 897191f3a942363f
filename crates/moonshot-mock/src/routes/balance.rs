//! `GET /v1/users/me/balance`: a fixed balance, the reference's example figures.

use axum::response::Response;
use serde_json::json;

use super::json_body;

pub(super) async fn retrieve_balance() -> Response {
    json_body(
        json!({
            "code": 0,
            "data": {
                "available_balance": 49.58894,
                "voucher_balance": 46.58893,
                "cash_balance": 3.00001,
            },
            "scode": "0x0",
            "status": true,
        })
        .to_string(),
    )
}
