//! The station's errors: why it cannot start, and what a request is told.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::invalid::Invalid;

/// Why the station cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    /// The listen address or token is not allowed.
    #[error("{0}")]
    Setting(#[from] Invalid),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {source} (is another station or program using the port?)")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the station stopped: {0}")]
    Serve(std::io::Error),
}

/// A refused or failed request: a status and a message for a person, sent as
/// `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status (4xx for the client's mistakes, 5xx for the station's).
    pub status: StatusCode,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// A 400 Bad Request.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// A 500 Internal Server Error (logged).
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        log::error!("station: {message}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// Any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}
