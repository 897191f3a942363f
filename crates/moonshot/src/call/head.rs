//! The head of a successful response, for a caller that wants more than the value.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The status and headers of a successful response, as [`Client::call_with_head`] returns them
/// beside the value: Moonshot's request id for support, rate-limit headers, anything a newer
/// API version adds.
///
/// [`Client::call_with_head`]: crate::Client::call_with_head
#[derive(Debug, Clone)]
pub struct ResponseHead {
    status: StatusCode,
    headers: HeaderMap,
}

impl ResponseHead {
    pub(crate) fn new(status: StatusCode, headers: HeaderMap) -> Self {
        Self { status, headers }
    }

    /// The HTTP status (a success: 2xx).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Moonshot's id for the request (`Msh-Request-Id`), when the response has a printable one.
    pub fn request_id(&self) -> Option<&str> {
        self.headers
            .get(moonshot_api::hooks::REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
    }

    /// Every header of the response.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}
