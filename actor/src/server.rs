//! The HTTP server (axum): the API of docs/CONTRACTS.md §6 (must match it) plus the
//! web app's static files.
//!
//! [`app`] builds the router from an [`AppState`] and is kept apart from binding a
//! socket, so tests drive it with `app(state).oneshot(request)`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use engine_core::{with_game, Game, GameKind};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::mcts::{apply_temperature, game_defaults, run_search, Evaluator, RolloutEvaluator, SearchParams};
use crate::nn::{ModelWatcher, NnEvaluator, NnModel, WatchEvent};
use crate::store;
use crate::telemetry::Telemetry;

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
    /// c_puct and FPU for play (no noise).
    pub c_puct: f32,
    pub fpu_reduction: f32,
    /// Random playouts per leaf when searching without a network.
    pub rollouts: usize,
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServerConfig>,
    pub telemetry: Arc<Telemetry>,
    /// Watches `models/latest.onnx` for play; `None` without ONNX Runtime.
    pub model: Option<Arc<Mutex<ModelWatcher>>>,
    /// The latest evaluation summary (docs/CONTRACTS.md §8), published by the
    /// evaluator thread of `actor run`; `None` until its first result.
    pub evaluation: crate::eval::evaluator::SharedSummary,
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
            http,
        }
    }

    /// Looks for a new `latest.onnx` (blocking: may load a model). Called by the
    /// poller task of [`serve`] and before each move.
    pub fn refresh_model(&self) {
        let Some(w) = &self.model else { return };
        let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
        match w.poll() {
            WatchEvent::Unchanged => {}
            WatchEvent::Loaded(info) => {
                tracing::info!(version = info.step, "server loaded model {}", info.path.display());
                self.telemetry.model_loaded(info.step);
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
        (self.status, Json(json!({ "error": self.message }))).into_response()
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

/// The router: `/api/*` routes, the trainer proxy, and the web app.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/games", get(games))
        .route("/api/move", post(post_move))
        .route("/api/state", post(post_state))
        .route("/api/stats", get(stats))
        .route("/api/replays", get(replays))
        .route("/api/replays/{id}", get(replay))
        .route("/api/openapi.json", get(openapi))
        .route("/api/trainer", any(trainer_proxy_root))
        .route("/api/trainer/{*path}", any(trainer_proxy))
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .fallback(static_files)
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

#[derive(Serialize)]
struct Health {
    status: &'static str,
    game: &'static str,
    model_version: Option<i64>,
    uptime_s: f64,
}

async fn health(State(st): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        game: st.config.game.name(),
        model_version: st.current_model().map(|m| m.info.step),
        uptime_s: st.telemetry.uptime_s(),
    })
}

#[derive(Serialize)]
struct GameInfo {
    name: &'static str,
    display_name: &'static str,
    rows: usize,
    cols: usize,
    num_actions: usize,
    has_model: bool,
    model_version: Option<i64>,
    default_simulations: u32,
    training: bool,
}

async fn games(State(st): State<AppState>) -> Json<Value> {
    let model = st.current_model().map(|m| m.info.step);
    let list: Vec<GameInfo> = GameKind::ALL
        .iter()
        .map(|&k| {
            let spec = k.spec();
            let training = k == st.config.game;
            let version = if training { model } else { None };
            GameInfo {
                name: spec.name,
                display_name: spec.display_name,
                rows: spec.rows,
                cols: spec.cols,
                num_actions: spec.num_actions,
                has_model: version.is_some(),
                model_version: version,
                default_simulations: game_defaults(spec).play_simulations,
                training,
            }
        })
        .collect();
    Json(json!({ "games": list }))
}

#[derive(Deserialize)]
struct MoveRequest {
    game: String,
    #[serde(default)]
    moves: Vec<i64>,
    simulations: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct MoveResponse {
    pub action: u16,
    pub policy: Vec<f32>,
    pub value: f32,
    pub model_version: Option<i64>,
}

fn parse_game(name: &str) -> Result<GameKind, AppError> {
    GameKind::from_name(name).map_err(|e| AppError::bad_request(e.to_string()))
}

/// Replays `moves` from the start, naming the first bad one by its index.
fn replay_moves<G: Game>(moves: &[i64]) -> Result<G, AppError> {
    G::from_actions(moves).map_err(|(i, e)| AppError::bad_request(format!("moves[{i}] = {}: {e}", moves[i])))
}

async fn post_move(
    State(st): State<AppState>,
    body: Result<Json<MoveRequest>, JsonRejection>,
) -> ApiResult<MoveResponse> {
    let Json(req) = body?;
    let kind = parse_game(&req.game)?;
    let spec = kind.spec();
    let max = st.config.max_simulations;
    let sims = req.simulations.unwrap_or(game_defaults(spec).play_simulations as i64);
    if sims < 1 || sims > max as i64 {
        return Err(AppError::bad_request(format!("simulations must be between 1 and {max}, got {sims}")));
    }
    if req.moves.len() > spec.max_game_length {
        return Err(AppError::bad_request(format!(
            "{} moves given; a {} game lasts at most {}",
            req.moves.len(),
            spec.name,
            spec.max_game_length
        )));
    }
    // Check the moves before waiting for a search slot.
    with_game!(kind, G => replay_moves::<G>(&req.moves).and_then(|g| match g.outcome() {
        Some(o) => Err(AppError::bad_request(format!("the game is already over ({o}); no move to search"))),
        None => Ok(()),
    }))?;
    let permit = match tokio::time::timeout(SEARCH_QUEUE_WAIT, st.searches.clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => return Err(AppError::internal("server is shutting down")),
        Err(_) => {
            let slots = st.config.max_concurrent_searches.max(1);
            let wait = SEARCH_QUEUE_WAIT.as_secs();
            let message = format!(
                "busy: all {slots} search slots stayed taken for {wait} s; try again (--max-concurrent-searches sets the slots)"
            );
            return Err(AppError { status: StatusCode::SERVICE_UNAVAILABLE, message });
        }
    };
    let st2 = st.clone();
    let res = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let model = if kind == st2.config.game {
            st2.refresh_model();
            st2.current_model()
        } else {
            None
        };
        with_game!(kind, G => search_move::<G>(&st2.config, &req.moves, sims as u32, model))
    })
    .await
    .map_err(|e| AppError::internal(format!("search task failed: {e}")))??;
    Ok(Json(res))
}

/// Searches the position after `moves` with the model if there is one, else with
/// random playouts, and returns the most visited move.
fn search_move<G: Game>(
    cfg: &ServerConfig,
    moves: &[i64],
    simulations: u32,
    model: Option<Arc<NnModel>>,
) -> Result<MoveResponse, AppError> {
    let g: G = replay_moves(moves)?;
    let mut params = SearchParams {
        simulations,
        c_puct: cfg.c_puct,
        dirichlet_alpha: 1.0,
        dirichlet_epsilon: 0.0,
        fpu_reduction: cfg.fpu_reduction,
        leaves_per_game: 8,
    };
    let mut rng = StdRng::from_os_rng();
    let (result, version) = match model {
        Some(m) => {
            let mut ev = NnEvaluator(m);
            let v = Evaluator::<G>::model_version(&ev);
            (run_search(&g, &params, false, &mut ev, &mut rng), v)
        }
        None => {
            // Rollouts need no batching; one leaf at a time searches best.
            params.leaves_per_game = 1;
            let mut ev = RolloutEvaluator { rollouts: cfg.rollouts, rng: StdRng::from_os_rng() };
            (run_search(&g, &params, false, &mut ev, &mut rng), None)
        }
    };
    let r = result.map_err(|e| AppError::internal(format!("search failed: {e}")))?;
    let best = apply_temperature(&r.policy, 0.0);
    let action = best.iter().position(|&p| p == 1.0).unwrap_or(0) as u16;
    Ok(MoveResponse { action, policy: r.policy, value: r.root_value, model_version: version })
}

#[derive(Deserialize)]
struct StateRequest {
    game: String,
    #[serde(default)]
    moves: Vec<i64>,
}

fn state_of<G: Game>(moves: &[i64]) -> Result<Value, AppError> {
    let g: G = replay_moves(moves)?;
    let outcome = g.outcome().map(|o| match o {
        engine_core::Outcome::Win(engine_core::Player::First) => "first",
        engine_core::Outcome::Win(engine_core::Player::Second) => "second",
        engine_core::Outcome::Draw => "draw",
    });
    Ok(json!({
        "cells": g.cells(),
        "to_move": g.to_move().index() + 1,
        "legal_actions": g.legal_actions(),
        "outcome": outcome,
        "winning_cells": g.winning_cells(),
    }))
}

async fn post_state(body: Result<Json<StateRequest>, JsonRejection>) -> ApiResult<Value> {
    let Json(req) = body?;
    let kind = parse_game(&req.game)?;
    if req.moves.len() > kind.spec().max_game_length {
        return Err(AppError::bad_request(format!(
            "{} moves given; a {} game lasts at most {}",
            req.moves.len(),
            kind.name(),
            kind.spec().max_game_length
        )));
    }
    with_game!(kind, G => state_of::<G>(&req.moves)).map(Json)
}

async fn stats(State(st): State<AppState>) -> Json<Value> {
    let path = st.config.data_dir.join("stats.json");
    // The trainer renames a complete file into place, so a read sees one version.
    let trainer =
        tokio::fs::read(&path).await.ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()).unwrap_or(Value::Null);
    let evaluation = st.evaluation.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or(Value::Null);
    Json(json!({ "trainer": trainer, "actor": st.telemetry.snapshot(), "evaluation": evaluation }))
}

#[derive(Deserialize)]
struct ReplaysQuery {
    limit: Option<i64>,
}

async fn replays(State(st): State<AppState>, q: Result<Query<ReplaysQuery>, QueryRejection>) -> ApiResult<Value> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::bad_request(format!("limit must be between 1 and 1000, got {limit}")));
    }
    let path = st.config.data_dir.join("replay.db");
    let games = tokio::task::spawn_blocking(move || -> Result<Vec<store::GameRow>, AppError> {
        let conn = match store::open_reader(&path) {
            Ok(c) => c,
            Err(store::StoreError::Missing { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(AppError::internal(e.to_string())),
        };
        store::recent_games(&conn, limit as u32).map_err(|e| AppError::internal(format!("reading replays: {e}")))
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
    Ok(Json(json!({ "games": games })))
}

async fn replay(State(st): State<AppState>, id: Result<UrlPath<i64>, PathRejection>) -> ApiResult<Value> {
    let UrlPath(id) = id?;
    let path = st.config.data_dir.join("replay.db");
    let found =
        tokio::task::spawn_blocking(move || -> Result<Option<(store::GameRow, Vec<store::PositionRow>)>, AppError> {
            let conn = match store::open_reader(&path) {
                Ok(c) => c,
                Err(store::StoreError::Missing { .. }) => return Ok(None),
                Err(e) => return Err(AppError::internal(e.to_string())),
            };
            store::game_with_positions(&conn, id).map_err(|e| AppError::internal(format!("reading replay {id}: {e}")))
        })
        .await
        .map_err(|e| AppError::internal(e.to_string()))??;
    let (game, positions) =
        found.ok_or_else(|| AppError::not_found(format!("no game with id {id} (it may have been trimmed)")))?;
    let mut v = serde_json::to_value(game).expect("row serialises");
    v["positions"] = serde_json::to_value(positions).expect("rows serialise");
    Ok(Json(v))
}

async fn trainer_proxy_root(State(st): State<AppState>, req: Request) -> Result<Response, AppError> {
    forward(st, String::new(), req).await
}

async fn trainer_proxy(
    State(st): State<AppState>,
    UrlPath(path): UrlPath<String>,
    req: Request,
) -> Result<Response, AppError> {
    forward(st, path, req).await
}

/// Forwards a GET/POST/PATCH to the trainer's control API, passing the body, query and
/// content type through and returning the trainer's status and body unchanged.
async fn forward(st: AppState, path: String, req: Request) -> Result<Response, AppError> {
    let method = req.method().clone();
    if !matches!(method, Method::GET | Method::POST | Method::PATCH) {
        let err = AppError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: format!("the trainer proxy forwards GET, POST and PATCH, not {method}"),
        };
        // A 405 names the methods that are allowed (RFC 9110).
        let mut resp = err.into_response();
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST, PATCH"));
        return Ok(resp);
    }
    check_trainer_path(&path)?;
    let base = st.config.trainer_url.trim_end_matches('/');
    let mut url = format!("{base}/{path}");
    if let Some(q) = req.uri().query() {
        url.push('?');
        url.push_str(q);
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let body: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await.map_err(|_| AppError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!("request body is larger than {MAX_BODY_BYTES} bytes"),
    })?;
    let rmethod = reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("GET/POST/PATCH");
    let mut r = st.http.request(rmethod, &url).body(body);
    if let Some(ct) = content_type {
        r = r.header(reqwest::header::CONTENT_TYPE, ct.as_bytes());
    }
    let unreachable = |e: reqwest::Error| AppError {
        status: StatusCode::BAD_GATEWAY,
        message: format!("trainer not reachable at {base}: {e}"),
    };
    let resp = r.send().await.map_err(unreachable)?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let ct = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok());
    let bytes = resp.bytes().await.map_err(unreachable)?;
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    if let Some(ct) = ct {
        out.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(out)
}

/// The proxy forwards to the trainer's own routes only: `path` (already percent-decoded
/// by the router) must be segments of letters, digits, `-`, `_` and `.`, none of them `.`
/// or `..`. So no request can climb out of the trainer URL's path, name another host
/// (`@`, `:`, `//`) or smuggle a query or fragment; the proxy is not an open proxy.
fn check_trainer_path(path: &str) -> Result<(), AppError> {
    let ok_segment = |s: &str| {
        !s.is_empty() && s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if path.is_empty() || path.split('/').all(ok_segment) {
        Ok(())
    } else {
        Err(AppError::bad_request(format!(
            "{path:?} is not a trainer API path (segments of letters, digits, '-', '_', '.'; see docs/CONTRACTS.md §7)"
        )))
    }
}

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Cartridge</title>
<h1>The web app is not built</h1>
<p>The actor serves the Svelte app from <code>WEB_DIR</code>, which has no <code>index.html</code>.
Build it with <code>cd web &amp;&amp; npm install &amp;&amp; npm run build</code> (./start_training.sh does this),
or pass <code>--web-dir</code>. The API is up: <a href=\"/api/health\">/api/health</a>, <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>
";

/// Files of the web app with SPA fallback to `index.html`; a short page when the app
/// has not been built. Checked per request, so building while the actor runs works.
async fn static_files(State(st): State<AppState>, req: Request) -> Response {
    let dir = &st.config.web_dir;
    let index = dir.join("index.html");
    if !index.is_file() {
        let page = NOT_BUILT.replace("WEB_DIR", &dir.display().to_string());
        return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    }
    match ServeDir::new(dir).fallback(ServeFile::new(index)).oneshot(req).await {
        Ok(r) => r.map(Body::new),
        Err(e) => AppError::internal(format!("serving static files: {e}")).into_response(),
    }
}

async fn openapi(State(st): State<AppState>) -> Json<Value> {
    let mut doc = openapi_document();
    // The cap is a flag of this process, so the document states the one in force.
    doc["paths"]["/api/move"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
        ["simulations"]["maximum"] = json!(st.config.max_simulations);
    Json(doc)
}

/// The OpenAPI 3 description of the routes above (hand-written; tests check every
/// route is listed).
pub fn openapi_document() -> Value {
    let err = json!({"description": "bad input", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let ok = |schema: Value| json!({"description": "OK", "content": {"application/json": {"schema": schema}}});
    let moves_schema = json!({"type": "array", "items": {"type": "integer"}, "description": "actions from the initial position (docs/CONTRACTS.md §1)"});
    let game_schema = json!({"type": "string", "enum": GameKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>()});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Cartridge actor", "version": "1", "description": "Self-play actor: play the bots, watch training. Contract: docs/CONTRACTS.md §6."},
        "paths": {
            "/api/health": {"get": {"summary": "liveness, game, model version", "responses": {"200": ok(json!({"type": "object", "properties": {
                "status": {"type": "string"}, "game": {"type": "string"}, "model_version": {"type": "integer", "nullable": true}, "uptime_s": {"type": "number"}}}))}}},
            "/api/games": {"get": {"summary": "the games and whether a trained model exists", "responses": {"200": ok(json!({"type": "object", "properties": {
                "games": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "display_name": {"type": "string"}, "rows": {"type": "integer"}, "cols": {"type": "integer"},
                    "num_actions": {"type": "integer"}, "has_model": {"type": "boolean"}, "model_version": {"type": "integer", "nullable": true},
                    "default_simulations": {"type": "integer"}, "training": {"type": "boolean"}}}}}}))}}},
            "/api/move": {"post": {"summary": "search a position and return the bot's move",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["game"], "properties": {
                    "game": game_schema, "moves": moves_schema, "simulations": {"type": "integer", "minimum": 1, "nullable": true, "description": "absent or null: the game's default_simulations"}}}}}},
                "responses": {"200": ok(json!({"type": "object", "properties": {
                    "action": {"type": "integer"}, "policy": {"type": "array", "items": {"type": "number"}},
                    "value": {"type": "number", "description": "search value for the side to move before the action"},
                    "model_version": {"type": "integer", "nullable": true}}})),
                    "400": err, "413": err, "415": err, "422": err,
                    "503": {"description": "every search slot stayed busy, or the request ran past its time limit; try again", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}},
            "/api/state": {"post": {"summary": "the position after some moves, as the engine sees it",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["game"], "properties": {
                    "game": game_schema, "moves": moves_schema}}}}},
                "responses": {"200": ok(json!({"type": "object", "properties": {
                    "cells": {"type": "array", "items": {"type": "integer", "enum": [0, 1, 2]}}, "to_move": {"type": "integer", "enum": [1, 2]},
                    "legal_actions": {"type": "array", "items": {"type": "integer"}},
                    "outcome": {"type": "string", "enum": ["first", "second", "draw"], "nullable": true},
                    "winning_cells": {"type": "array", "items": {"type": "integer"}}}})),
                    "400": err, "413": err, "415": err, "422": err}}},
            "/api/stats": {"get": {"summary": "trainer stats.json (or null) and the actor's live figures", "responses": {"200": ok(json!({"type": "object", "properties": {
                "trainer": {"type": "object", "nullable": true}, "actor": {"type": "object", "properties": {
                    "game": {"type": "string"}, "games_played": {"type": "integer"}, "positions": {"type": "integer"},
                    "games_per_min": {"type": "number"}, "positions_per_min": {"type": "number"}, "simulations_per_s": {"type": "number"},
                    "nn_evals_per_s": {"type": "number"}, "mean_batch_fill": {"type": "number"}, "mean_batch_size": {"type": "number"},
                    "inference_share": {"type": "number"},
                    "time_split": {"type": "object", "description": "shares of worker time: select, encode, inference, complete, handoff (of busy time, summing to 1) and paced (of wall time)",
                        "properties": {"select": {"type": "number"}, "encode": {"type": "number"}, "inference": {"type": "number"},
                            "complete": {"type": "number"}, "handoff": {"type": "number"}, "paced": {"type": "number"}}},
                    "model_version": {"type": "integer", "nullable": true},
                    "model_loaded_at": {"type": "number", "nullable": true},
                    "last_rejected_model": {"type": "object", "nullable": true, "properties": {"path": {"type": "string"}, "reason": {"type": "string"}, "at": {"type": "number"}}},
                    "uptime_s": {"type": "number"}}},
                "evaluation": {"type": "object", "nullable": true, "description": "docs/CONTRACTS.md §8", "properties": {
                    "gating": {"type": "object", "properties": {"mode": {"type": "string", "enum": ["continuous", "gated"]},
                        "best_version": {"type": "integer", "nullable": true}, "self_play_version": {"type": "integer", "nullable": true}}},
                    "ratings": {"type": "array", "items": {"type": "object", "properties": {"player": {"type": "string"},
                        "version": {"type": "integer", "nullable": true}, "elo": {"type": "number"}, "elo_lo": {"type": "number"},
                        "elo_hi": {"type": "number"}, "games": {"type": "integer"}}}},
                    "baselines": {"type": "array", "items": {"type": "object", "properties": {"version": {"type": "integer"},
                        "opponent": {"type": "string"}, "wins": {"type": "integer"}, "draws": {"type": "integer"},
                        "losses": {"type": "integer"}, "score": {"type": "number"}}}},
                    "accuracy": {"type": "array", "items": {"type": "object", "properties": {"version": {"type": "integer"},
                        "phase": {"type": "string"}, "mode": {"type": "string", "enum": ["net", "search"]},
                        "positions": {"type": "integer"}, "errors": {"type": "integer"}, "error_rate": {"type": "number"}}}}}}}}))}}},
            "/api/replays": {"get": {"summary": "recent self-play games, newest first",
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}}],
                "responses": {"200": ok(json!({"type": "object", "properties": {"games": {"type": "array", "items": {"$ref": "#/components/schemas/Game"}}}})), "400": err}}},
            "/api/replays/{id}": {"get": {"summary": "one game with its positions' targets",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64", "minimum": i64::MIN, "maximum": i64::MAX}}],
                "responses": {"200": ok(json!({"allOf": [{"$ref": "#/components/schemas/Game"}, {"type": "object", "properties": {"positions": {"type": "array", "items": {"type": "object", "properties": {
                    "ply": {"type": "integer"}, "policy": {"type": "array", "items": {"type": "number"}}, "root_value": {"type": "number"}, "value": {"type": "number"}}}}}}]})),
                    "400": err, "404": err}}},
            "/api/openapi.json": {"get": {"summary": "this document", "responses": {"200": {"description": "OK"}}}},
            "/api/trainer/{path}": {
                "parameters": [{"name": "path", "in": "path", "required": true, "description": "path of the trainer's control API (docs/CONTRACTS.md §7); segments of letters, digits, '-', '_', '.', never '.' or '..'",
                    "example": "status",
                    "schema": {"type": "string", "pattern": "^(?!(.*/)?\\.\\.?(/|$))[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"}}],
                "get": {"summary": "proxied to the trainer", "responses": {"default": {"description": "the trainer's response"}, "400": err, "502": err}},
                "post": {"summary": "proxied to the trainer", "responses": {"default": {"description": "the trainer's response"}, "400": err, "413": err, "502": err}},
                "patch": {"summary": "proxied to the trainer", "responses": {"default": {"description": "the trainer's response"}, "400": err, "413": err, "502": err}}}
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "Game": {"type": "object", "properties": {"id": {"type": "integer"}, "created_at": {"type": "number"},
                "model_version": {"type": "integer", "nullable": true}, "num_moves": {"type": "integer"},
                "outcome": {"type": "integer", "enum": [-1, 0, 1]}, "moves": {"type": "array", "items": {"type": "integer"}}}}
        }}
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request as HttpRequest;
    use http_body_util::BodyExt;

    fn config(dir: &std::path::Path) -> ServerConfig {
        ServerConfig {
            game: GameKind::TicTacToe,
            data_dir: dir.to_path_buf(),
            web_dir: dir.join("web"),
            // Port 9 (discard) on localhost: nothing listens there.
            trainer_url: "http://127.0.0.1:9".into(),
            max_simulations: 5000,
            max_concurrent_searches: 2,
            c_puct: 1.5,
            fpu_reduction: 0.0,
            rollouts: 1,
        }
    }

    fn state(dir: &std::path::Path) -> AppState {
        AppState::new(config(dir), Arc::new(Telemetry::new("tictactoe")), None)
    }

    async fn call(st: &AppState, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
        let (s, bytes) = call_raw(st, method, uri, body.map(|b| b.as_bytes().to_vec())).await;
        let v =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (s, v)
    }

    async fn call_raw(st: &AppState, method: &str, uri: &str, body: Option<Vec<u8>>) -> (StatusCode, Vec<u8>) {
        let mut b = HttpRequest::builder().method(method).uri(uri);
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        let req = b.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap();
        let resp = app(st.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    #[tokio::test]
    async fn health_and_games() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let (s, v) = call(&st, "GET", "/api/health", None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["status"], "ok");
        assert_eq!(v["game"], "tictactoe");
        assert!(v["model_version"].is_null());
        let (s, v) = call(&st, "GET", "/api/games", None).await;
        assert_eq!(s, StatusCode::OK);
        let g = v["games"].as_array().unwrap().iter().find(|g| g["name"] == "tictactoe").unwrap();
        assert_eq!(g["training"], true);
        assert_eq!(g["has_model"], false);
        assert_eq!(g["num_actions"], 9);
        assert_eq!(g["default_simulations"], 200);
    }

    #[tokio::test]
    async fn move_finds_the_win_without_a_model() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let (s, v) =
            call(&st, "POST", "/api/move", Some(r#"{"game":"tictactoe","moves":[0,3,1,4],"simulations":300}"#)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["action"], 2);
        assert!(v["model_version"].is_null());
        let p: Vec<f64> = v["policy"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        assert_eq!(p.len(), 9);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4);
        for occupied in [0, 1, 3, 4] {
            assert_eq!(p[occupied], 0.0);
        }
        // The default simulations and a single one both work.
        let (s, _) = call(&st, "POST", "/api/move", Some(r#"{"game":"tictactoe","moves":[]}"#)).await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = call(&st, "POST", "/api/move", Some(r#"{"game":"tictactoe","moves":[4],"simulations":1}"#)).await;
        assert_eq!(s, StatusCode::OK);
        assert_ne!(v["action"], 4);
    }

    #[tokio::test]
    async fn move_rejects_bad_input_with_messages() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let cases: &[(&str, StatusCode, &str)] = &[
            (r#"{"game":"chess","moves":[]}"#, StatusCode::BAD_REQUEST, "unknown game"),
            (r#"{"game":"tictactoe","moves":[4,9]}"#, StatusCode::BAD_REQUEST, "moves[1] = 9"),
            (r#"{"game":"tictactoe","moves":[4,4]}"#, StatusCode::BAD_REQUEST, "moves[1] = 4"),
            (r#"{"game":"tictactoe","moves":[-1]}"#, StatusCode::BAD_REQUEST, "moves[0] = -1"),
            (r#"{"game":"tictactoe","moves":[0,3,1,4,2]}"#, StatusCode::BAD_REQUEST, "already over"),
            (r#"{"game":"tictactoe","moves":[],"simulations":0}"#, StatusCode::BAD_REQUEST, "between 1 and 5000"),
            (r#"{"game":"tictactoe","moves":[],"simulations":1000000}"#, StatusCode::BAD_REQUEST, "between 1 and 5000"),
            (r#"{"game":"tictactoe","moves":[0,1,2,3,4,5,6,7,8,0]}"#, StatusCode::BAD_REQUEST, "at most 9"),
            (r#"{"game":"tictactoe","moves":"#, StatusCode::BAD_REQUEST, "malformed JSON"),
            (r#"{"game":"tictactoe","moves":[1.5]}"#, StatusCode::UNPROCESSABLE_ENTITY, "malformed JSON"),
            (r#"{"moves":[]}"#, StatusCode::UNPROCESSABLE_ENTITY, "game"),
        ];
        for (body, status, needle) in cases {
            let (s, v) = call(&st, "POST", "/api/move", Some(body)).await;
            assert_eq!(s, *status, "{body}: {v}");
            let msg = v["error"].as_str().unwrap_or_else(|| panic!("{body}: no error field in {v}"));
            assert!(msg.contains(needle), "{body}: {msg}");
        }
        // Wrong content type.
        let req = HttpRequest::builder().method("POST").uri("/api/move").body(Body::from("{}")).unwrap();
        let resp = app(st.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("Content-Type: application/json"));
        // Wrong method: a JSON 405.
        let (s, v) = call(&st, "GET", "/api/move", None).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
        assert!(v["error"].as_str().unwrap().contains("GET"), "{v}");
        // Oversized body.
        let big = format!(r#"{{"game":"tictactoe","moves":[{}0]}}"#, "0,".repeat(40_000));
        let (s, v) = call_raw(&st, "POST", "/api/move", Some(big.into_bytes())).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(String::from_utf8_lossy(&v).contains("larger than"));
    }

    #[tokio::test]
    async fn state_reports_the_engine_view() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let (s, v) = call(&st, "POST", "/api/state", Some(r#"{"game":"tictactoe","moves":[0,3,1,4,2]}"#)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["cells"], json!([1, 1, 1, 2, 2, 0, 0, 0, 0]));
        assert_eq!(v["outcome"], "first");
        assert_eq!(v["winning_cells"], json!([0, 1, 2]));
        assert_eq!(v["legal_actions"], json!([]));
        let (_, v) = call(&st, "POST", "/api/state", Some(r#"{"game":"tictactoe","moves":[4]}"#)).await;
        assert_eq!(v["to_move"], 2);
        assert!(v["outcome"].is_null());
        assert_eq!(v["legal_actions"].as_array().unwrap().len(), 8);
        let (s, v) = call(&st, "POST", "/api/state", Some(r#"{"game":"tictactoe","moves":[4,4]}"#)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["error"].as_str().unwrap().contains("moves[1]"));
        let (s, _) = call(&st, "POST", "/api/state", Some(r#"{"game":"nope"}"#)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn stats_reads_trainer_file_and_actor_figures() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let (s, v) = call(&st, "GET", "/api/stats", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(v["trainer"].is_null());
        assert!(v["evaluation"].is_null(), "no evaluation before the first result");
        *st.evaluation.lock().unwrap() = Some(json!({"gating": {"mode": "gated"}, "ratings": []}));
        let (_, with_eval) = call(&st, "GET", "/api/stats", None).await;
        assert_eq!(with_eval["evaluation"]["gating"]["mode"], "gated");
        for key in [
            "game",
            "games_played",
            "positions",
            "games_per_min",
            "positions_per_min",
            "simulations_per_s",
            "nn_evals_per_s",
            "mean_batch_fill",
            "time_split",
            "model_version",
            "model_loaded_at",
            "last_rejected_model",
            "uptime_s",
        ] {
            assert!(v["actor"].get(key).is_some(), "missing {key}: {v}");
        }
        std::fs::write(dir.path().join("stats.json"), r#"{"game":"tictactoe","step":12,"status":"training"}"#).unwrap();
        let (_, v) = call(&st, "GET", "/api/stats", None).await;
        assert_eq!(v["trainer"]["step"], 12);
    }

    #[tokio::test]
    async fn replays_list_and_detail() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let (s, v) = call(&st, "GET", "/api/replays", None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["games"], json!([]));
        let mut db = store::Store::open(&dir.path().join("replay.db"), GameKind::TicTacToe.spec()).unwrap();
        for _ in 0..3 {
            db.write_game(&store::FinishedGame {
                created_at: 2.0,
                model_version: None,
                moves: vec![0, 3, 1, 4, 2],
                outcome: 1,
                positions: vec![store::PositionRecord {
                    ply: 0,
                    obs: vec![0.0; 18],
                    policy: vec![0.5, 0.5, 0., 0., 0., 0., 0., 0., 0.],
                    value: 1.0,
                    root_value: 0.2,
                }],
            })
            .unwrap();
        }
        let (_, v) = call(&st, "GET", "/api/replays?limit=2", None).await;
        let ids: Vec<i64> = v["games"].as_array().unwrap().iter().map(|g| g["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![3, 2]);
        let (s, v) = call(&st, "GET", "/api/replays/1", None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["moves"], json!([0, 3, 1, 4, 2]));
        assert_eq!(v["positions"][0]["policy"][0], 0.5);
        assert_eq!(v["positions"][0]["value"], 1.0);
        let (s, v) = call(&st, "GET", "/api/replays/99", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(v["error"].as_str().unwrap().contains("99"));
        let (s, _) = call(&st, "GET", "/api/replays/abc", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        for q in ["limit=0", "limit=5000", "limit=x"] {
            let (s, v) = call(&st, "GET", &format!("/api/replays?{q}"), None).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
        }
    }

    #[tokio::test]
    async fn openapi_lists_every_route() {
        let dir = tempfile::tempdir().unwrap();
        let (s, v) = call(&state(dir.path()), "GET", "/api/openapi.json", None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["openapi"], "3.0.3");
        for p in [
            "/api/health",
            "/api/games",
            "/api/move",
            "/api/state",
            "/api/stats",
            "/api/replays",
            "/api/replays/{id}",
            "/api/openapi.json",
            "/api/trainer/{path}",
        ] {
            assert!(v["paths"].get(p).is_some(), "{p} missing");
        }
    }

    #[tokio::test]
    async fn trainer_proxy_reports_unreachable_and_forwards() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let (s, v) = call(&st, "GET", "/api/trainer/status", None).await;
        assert_eq!(s, StatusCode::BAD_GATEWAY);
        assert!(v["error"].as_str().unwrap().contains("trainer not reachable at http://127.0.0.1:9"), "{v}");
        let (s, _) = call(&st, "DELETE", "/api/trainer/status", None).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);

        // A tiny stand-in trainer that echoes what it got.
        let echo = Router::new().route(
            "/{*p}",
            any(|method: Method, uri: Uri, body: Bytes| async move {
                (StatusCode::ACCEPTED, Json(json!({"method": method.as_str(), "uri": uri.to_string(), "body": String::from_utf8_lossy(&body)})))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, echo).await.unwrap() });
        let mut cfg = config(dir.path());
        cfg.trainer_url = format!("http://{addr}");
        let st = AppState::new(cfg, Arc::new(Telemetry::new("tictactoe")), None);
        let (s, v) = call(&st, "PATCH", "/api/trainer/config?x=1", Some(r#"{"learning_rate":0.01}"#)).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        assert_eq!(v["method"], "PATCH");
        assert_eq!(v["uri"], "/config?x=1");
        assert_eq!(v["body"], r#"{"learning_rate":0.01}"#);
    }

    #[tokio::test]
    async fn static_files_with_spa_fallback_and_not_built_page() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let (s, body) = call_raw(&st, "GET", "/", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(String::from_utf8_lossy(&body).contains("not built"));
        std::fs::create_dir_all(dir.path().join("web/assets")).unwrap();
        std::fs::write(dir.path().join("web/index.html"), "<html>app</html>").unwrap();
        std::fs::write(dir.path().join("web/assets/a.js"), "console.log(1)").unwrap();
        let (s, body) = call_raw(&st, "GET", "/assets/a.js", None).await;
        assert_eq!((s, body.as_slice()), (StatusCode::OK, b"console.log(1)".as_slice()));
        let (s, body) = call_raw(&st, "GET", "/play/tictactoe", None).await;
        assert_eq!((s, body.as_slice()), (StatusCode::OK, b"<html>app</html>".as_slice()));
        // Unknown API paths are JSON 404s, not the app.
        let (s, v) = call(&st, "GET", "/api/nope", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(v["error"].as_str().unwrap().contains("/api/nope"));
    }

    #[tokio::test]
    async fn trainer_proxy_refuses_paths_outside_the_trainer_api() {
        for ok in ["", "status", "config", "a/b-c_d.e"] {
            assert!(check_trainer_path(ok).is_ok(), "{ok}");
        }
        for bad in
            ["..", ".", "../x", "a/../b", "a/./b", "a//b", "/etc", "@evil:1/x", "x?y", "x#y", "a\\b", "x\r\ny", "%2e"]
        {
            let e = check_trainer_path(bad).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        // Decoded by the router first: an encoded `..` is refused the same way.
        let (s, v) = call(&st, "GET", "/api/trainer/%2e%2e/secret", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(v["error"].as_str().unwrap().contains("not a trainer API path"), "{v}");
        let req = HttpRequest::builder().method("DELETE").uri("/api/trainer/status").body(Body::empty()).unwrap();
        let resp = app(st.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()[header::ALLOW], "GET, POST, PATCH");
    }
}
