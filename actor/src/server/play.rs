//! Playing the bots: `/api/health`, `/api/games`, `/api/move` (searches the position
//! with the model, or with random playouts when there is none) and `/api/state` (the
//! rules as the engine sees them).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine_core::{with_game, Game, GameKind};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ApiResult, AppError, AppState, ServerConfig, SEARCH_QUEUE_WAIT};
use crate::mcts::{apply_temperature, game_defaults, run_search, Evaluator, RolloutEvaluator, SearchParams};
use crate::nn::{NnEvaluator, NnModel};

#[derive(Serialize)]
pub struct Health {
    status: &'static str,
    game: &'static str,
    model_version: Option<i64>,
    uptime_s: f64,
}

pub(super) async fn health(State(st): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        game: st.config.game.name(),
        model_version: st.current_model().map(|m| m.info.step),
        uptime_s: st.telemetry.uptime_s(),
    })
}

#[derive(Serialize)]
pub struct GameInfo {
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

pub(super) async fn games(State(st): State<AppState>) -> Json<Value> {
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
pub struct MoveRequest {
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

pub(super) async fn post_move(
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
pub struct StateRequest {
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

pub(super) async fn post_state(body: Result<Json<StateRequest>, JsonRejection>) -> ApiResult<Value> {
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request as HttpRequest;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::super::app;
    use super::super::test_util::{call, call_raw, state};
    use super::*;

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
}
