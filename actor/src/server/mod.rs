//! The HTTP server (axum): the API of docs/CONTRACTS.md §6 (must match it) plus the
//! web app's static files.
//!
//! [`app`] builds the router from an [`AppState`] and is kept apart from binding a
//! socket, so tests drive it with `app(state).oneshot(request)`. One file per concern:
//! - [`play`] serves `/api/health`, `/api/games`, `/api/move` (the search), `/api/state`;
//! - [`stats`] serves `/api/stats` and the replays;
//! - [`trainer_proxy`] forwards `/api/trainer/*`;
//! - [`static_files`] serves the web app (`web/dist`);
//! - [`openapi`] serves `/api/openapi.json`, generated from the handlers and their types.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, MethodRouter};
use axum::{Json, Router};
use engine_core::GameKind;
use serde::Serialize;
use utoipa::ToSchema;

use crate::nn::{ModelFile, ModelWatcher, NnModel, Precision, WatchEvent};
use crate::telemetry::Telemetry;

pub mod openapi;
pub mod play;
pub mod static_files;
pub mod stats;
pub mod trainer_proxy;
pub mod trees;

#[cfg(test)]
mod test_util;

pub use play::MoveResponse;

/// Largest request body accepted (413 above it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest a request may take, queueing included (503 after it): nothing a client asks
/// for may hold a connection and its memory open-ended.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a move request waits for a search slot (503 after it). Searches run at most
/// `max_concurrent_searches` at once so that play cannot take the CPU from self-play;
/// beyond that a burst of requests queues briefly, and then gets told to come back
/// rather than piling up.
pub const SEARCH_QUEUE_WAIT: Duration = Duration::from_secs(10);

/// What the server needs to know.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The game of this data folder; the only one that can have a model.
    pub game: GameKind,
    pub data_dir: PathBuf,
    /// The built web app (`web/dist`).
    pub web_dir: PathBuf,
    /// Base URL of the trainer's control API, without a trailing slash.
    pub trainer_url: String,
    /// Largest `simulations` a move request may ask for.
    pub max_simulations: u32,
    /// Searches run at once; further requests wait for a slot.
    pub max_concurrent_searches: usize,
    /// The search algorithm of play (`--search` and its flags; no root noise).
    pub algorithm: crate::search::Algorithm,
    /// Random playouts per leaf when searching without a network.
    pub rollouts: usize,
    /// The model file the move API plays: the one self-play plays (`best.onnx` under
    /// `--gating gated`, else `latest.onnx`).
    pub model_file: ModelFile,
    /// Which file of that model play loads: fp32, or the int8 one beside it.
    pub precision: Precision,
    /// Keep each move request's search tree for the game's next request.
    pub keep_trees: bool,
}

impl ServerConfig {
    /// The watcher of `models/<model_file>` for play: one ONNX Runtime thread, since
    /// play must not take cores from self-play.
    pub fn model_watcher(&self) -> ModelWatcher {
        ModelWatcher::new(&self.data_dir.join("models"), self.game.spec(), 1, Duration::from_millis(500))
            .watching(self.model_file)
            .with_precision(self.precision)
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServerConfig>,
    pub telemetry: Arc<Telemetry>,
    /// Watches the model file play uses (`config.model_file`); `None` without ONNX Runtime.
    pub model: Option<Arc<Mutex<ModelWatcher>>>,
    /// The latest evaluation summary (docs/CONTRACTS.md §8), published by the
    /// evaluator thread of `actor run`; `None` until its first result.
    pub evaluation: crate::eval::evaluator::SharedSummary,
    /// Search trees of recent move requests (`config.keep_trees`).
    pub trees: Arc<trees::TreeCache>,
    searches: Arc<tokio::sync::Semaphore>,
    http: reqwest::Client,
}

impl AppState {
    pub fn new(config: ServerConfig, telemetry: Arc<Telemetry>, model: Option<ModelWatcher>) -> AppState {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("HTTP client");
        AppState {
            searches: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_searches.max(1))),
            config: Arc::new(config),
            telemetry,
            model: model.map(|w| Arc::new(Mutex::new(w))),
            evaluation: Arc::new(Mutex::new(None)),
            trees: Arc::new(trees::TreeCache::default()),
            http,
        }
    }

    /// Looks for a new version of the played model file (blocking: may load a model).
    /// Called by the poller task of [`serve`] and before each move.
    pub fn refresh_model(&self) {
        let Some(w) = &self.model else { return };
        let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
        match w.poll() {
            WatchEvent::Unchanged => {}
            WatchEvent::Loaded(info) => {
                tracing::info!(
                    version = info.step,
                    precision = info.precision,
                    "server loaded model {}",
                    info.path.display()
                );
                self.telemetry.model_loaded(info.step, &info.precision);
            }
            WatchEvent::Fallback { info, reason } => {
                tracing::info!(
                    version = info.step,
                    "server loaded model {} (fp32, not int8: {reason})",
                    info.path.display()
                );
                self.telemetry.model_loaded(info.step, &info.precision);
            }
            WatchEvent::Rejected { path, reason } => {
                tracing::warn!("server rejected model {}: {reason}; keeping the current one", path.display());
                self.telemetry.model_rejected(&path, &reason);
            }
        }
    }

    /// The model play uses now.
    pub fn current_model(&self) -> Option<Arc<NnModel>> {
        self.model.as_ref().and_then(|w| w.lock().unwrap_or_else(|p| p.into_inner()).current())
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What was wrong, in words.
    pub error: String,
}

/// An error response: `{"error": message}` with a 4xx/5xx status.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
}

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError { status: StatusCode::BAD_REQUEST, message: message.into() }
    }
    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError { status: StatusCode::NOT_FOUND, message: message.into() }
    }
    pub fn internal(message: impl Into<String>) -> AppError {
        AppError { status: StatusCode::INTERNAL_SERVER_ERROR, message: message.into() }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::BAD_GATEWAY {
            // The trainer being down is an expected state, not an actor fault.
            tracing::warn!(status = %self.status, "{}", self.message);
        } else if self.status.is_server_error() {
            tracing::error!(status = %self.status, "{}", self.message);
        } else {
            tracing::debug!(status = %self.status, "{}", self.message);
        }
        (self.status, Json(ErrorBody { error: self.message })).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> AppError {
        let status = r.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("request body is larger than {MAX_BODY_BYTES} bytes")
        } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            "send the body as JSON with the header Content-Type: application/json".to_string()
        } else {
            format!("malformed JSON body: {}", r.body_text())
        };
        AppError { status, message }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> AppError {
        AppError::bad_request(format!("bad query string: {}", r.body_text()))
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> AppError {
        AppError::bad_request(format!("bad path: {}", r.body_text()))
    }
}

type ApiResult<T> = Result<Json<T>, AppError>;

/// Every `/api` route with its handlers, in axum's path syntax. [`app`] mounts exactly
/// these, and the OpenAPI test checks that the document lists exactly these, so a
/// route cannot be added without being documented.
pub fn api_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/health", get(play::health)),
        ("/api/games", get(play::games)),
        ("/api/move", post(play::post_move)),
        ("/api/state", post(play::post_state)),
        ("/api/values", post(play::post_values)),
        ("/api/stats", get(stats::stats)),
        ("/api/stats/throughput", get(stats::throughput)),
        ("/api/replays", get(stats::replays)),
        ("/api/replays/{id}", get(stats::replay)),
        ("/api/openapi.json", get(openapi::openapi_json)),
        ("/api/trainer", any(trainer_proxy::proxy_root)),
        ("/api/trainer/{*path}", any(trainer_proxy::proxy)),
    ]
}

/// The router: `/api/*` routes, the trainer proxy, and the web app.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for (path, handlers) in api_routes() {
        router = router.route(path, handlers);
    }
    router
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .fallback(static_files::static_files)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(time_limit))
        .with_state(state)
}

/// Answers 503 when a request takes longer than [`REQUEST_TIMEOUT`]. (A search already
/// running finishes in its blocking thread and frees its slot; only the answer is lost.)
async fn time_limit(req: Request, next: axum::middleware::Next) -> Response {
    let what = format!("{} {}", req.method(), req.uri().path());
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => AppError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!("{what} took longer than {} s; try again later", REQUEST_TIMEOUT.as_secs()),
        }
        .into_response(),
    }
}

/// Binds `addr` and serves until `shutdown` resolves; also polls for new models.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        if !addr.ip().is_loopback() {
            tracing::warn!(
                "listening on {addr}, not on loopback: anyone who can reach this machine can play, read replays and change the trainer's settings (there is no authentication); use --host 127.0.0.1 unless that is what you want"
            );
        }
    }
    let recorder = state.telemetry.clone();
    tokio::spawn(async move {
        // The dashboard's throughput history, kept here so it survives closing the page.
        // The first point a full interval after start: rates over a moment are noise.
        let period = crate::telemetry::THROUGHPUT_EVERY;
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            every.tick().await;
            recorder.record_throughput();
        }
    });
    let poller = state.clone();
    tokio::spawn(async move {
        loop {
            let s = poller.clone();
            let _ = tokio::task::spawn_blocking(move || s.refresh_model()).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}

async fn method_not_allowed(method: Method, uri: Uri) -> AppError {
    AppError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: format!("{} does not accept {method}; see /api/openapi.json", uri.path()),
    }
}

async fn api_not_found(method: Method, uri: Uri) -> AppError {
    AppError::not_found(format!("no API route {method} {}; see /api/openapi.json", uri.path()))
}
