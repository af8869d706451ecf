//! What the server tests share: a config over a temporary folder and a request helper
//! that drives the router without a socket.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request as HttpRequest, StatusCode};
use engine_core::GameKind;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::{app, AppState, ServerConfig};
use crate::nn::ModelFile;
use crate::telemetry::Telemetry;

pub fn config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        game: GameKind::TicTacToe,
        data_dir: dir.to_path_buf(),
        web_dir: dir.join("web"),
        // Port 9 (discard) on localhost: nothing listens there.
        trainer_url: "http://127.0.0.1:9".into(),
        max_simulations: 5000,
        max_concurrent_searches: 2,
        algorithm: crate::search::SearchConfig::puct_defaults(GameKind::TicTacToe, 1, 1, false).algorithm,
        rollouts: 1,
        model_file: ModelFile::Latest,
        precision: crate::nn::Precision::Fp32,
        keep_trees: true,
    }
}

pub fn state(dir: &std::path::Path) -> AppState {
    AppState::new(config(dir), Arc::new(Telemetry::new("tictactoe")), None)
}

/// One request; the body parsed as JSON (or kept as a string when it is not JSON).
pub async fn call(st: &AppState, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
    let (s, bytes) = call_raw(st, method, uri, body.map(|b| b.as_bytes().to_vec())).await;
    let v = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (s, v)
}

pub async fn call_raw(st: &AppState, method: &str, uri: &str, body: Option<Vec<u8>>) -> (StatusCode, Vec<u8>) {
    let mut b = HttpRequest::builder().method(method).uri(uri);
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    let req = b.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap();
    let resp = app(st.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}
