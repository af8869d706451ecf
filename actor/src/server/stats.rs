//! Watching training: `/api/stats` (the trainer's `stats.json`, the actor's live
//! figures, the evaluation summary) and the replays of recent self-play games.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path as UrlPath, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{ApiResult, AppError, AppState, ErrorBody};
use crate::eval::store::EvalSummary;
use crate::store;
use crate::telemetry::{ActorStats, ThroughputPoint};

#[derive(Serialize, ToSchema)]
pub struct StatsResponse {
    /// The trainer's `stats.json` as it wrote it (docs/CONTRACTS.md §4); null while
    /// there is none.
    #[schema(value_type = Option<Object>)]
    trainer: Value,
    actor: ActorStats,
    /// docs/CONTRACTS.md §8; null until the first evaluation result.
    #[schema(value_type = Option<EvalSummary>)]
    evaluation: Value,
}

#[utoipa::path(
    get,
    path = "/api/stats",
    summary = "trainer stats.json (or null), the actor's live figures, the evaluation summary",
    responses((status = 200, description = "OK", body = StatsResponse))
)]
pub(super) async fn stats(State(st): State<AppState>) -> Json<StatsResponse> {
    let path = st.config.data_dir.join("stats.json");
    // The trainer renames a complete file into place, so a read sees one version.
    let trainer =
        tokio::fs::read(&path).await.ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()).unwrap_or(Value::Null);
    let evaluation = st.evaluation.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or(Value::Null);
    Json(StatsResponse { trainer, actor: st.telemetry.snapshot(), evaluation })
}

#[derive(Serialize, ToSchema)]
pub struct ThroughputResponse {
    /// Seconds between points.
    interval_s: f64,
    /// Oldest first; at most 8 hours of them.
    points: Vec<ThroughputPoint>,
}

#[utoipa::path(
    get,
    path = "/api/stats/throughput",
    summary = "self-play throughput every 10 s since the actor started (the newest 8 hours)",
    responses((status = 200, description = "OK", body = ThroughputResponse))
)]
pub(super) async fn throughput(State(st): State<AppState>) -> Json<ThroughputResponse> {
    Json(ThroughputResponse {
        interval_s: crate::telemetry::THROUGHPUT_EVERY.as_secs_f64(),
        points: st.telemetry.throughput(),
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ReplaysQuery {
    /// How many games, newest first.
    #[param(minimum = 1, maximum = 1000, default = 20)]
    limit: Option<i64>,
    /// Only games with a smaller id: the next (older) page starts below the last id of this one.
    before: Option<i64>,
    /// Only games played by a model of at least this step (leaves out games without a model).
    model_min: Option<i64>,
    /// Only games played by a model of at most this step.
    model_max: Option<i64>,
    /// Only games with this result.
    #[param(value_type = Option<String>, example = "draw")]
    outcome: Option<String>,
    /// Only games of at least this many moves.
    moves_min: Option<i64>,
    /// Only games of at most this many moves.
    moves_max: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ReplaysResponse {
    games: Vec<store::GameRow>,
    /// Games that match the filters (on every page).
    total: i64,
    /// Of those, games newer than this page's first one: the page shows games
    /// `newer + 1` to `newer + games.len()` of `total`.
    newer: i64,
}

#[utoipa::path(
    get,
    path = "/api/replays",
    summary = "self-play games, newest first, a page at a time, optionally filtered",
    params(ReplaysQuery),
    responses(
        (status = 200, description = "OK", body = ReplaysResponse),
        (status = 400, description = "a parameter out of range or not a number, or an unknown result", body = ErrorBody),
    )
)]
pub(super) async fn replays(
    State(st): State<AppState>,
    q: Result<Query<ReplaysQuery>, QueryRejection>,
) -> ApiResult<ReplaysResponse> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::bad_request(format!("limit must be between 1 and 1000, got {limit}")));
    }
    let outcome = match q.outcome.as_deref() {
        None | Some("") => None,
        Some("first") => Some(1),
        Some("second") => Some(-1),
        Some("draw") => Some(0),
        Some(other) => {
            return Err(AppError::bad_request(format!("outcome must be first, second or draw, got {other:?}")));
        }
    };
    for (name, lo, hi) in [("model", q.model_min, q.model_max), ("moves", q.moves_min, q.moves_max)] {
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if lo > hi {
                return Err(AppError::bad_request(format!("{name}_min ({lo}) is above {name}_max ({hi})")));
            }
        }
    }
    let filter = store::GameFilter {
        model_min: q.model_min,
        model_max: q.model_max,
        outcome,
        moves_min: q.moves_min,
        moves_max: q.moves_max,
    };
    let path = st.config.data_dir.join("replay.db");
    let page = tokio::task::spawn_blocking(move || -> Result<store::GamePage, AppError> {
        let conn = match store::open_reader(&path) {
            Ok(c) => c,
            Err(store::StoreError::Missing { .. }) => {
                return Ok(store::GamePage { games: Vec::new(), total: 0, newer: 0 });
            }
            Err(e) => return Err(AppError::internal(e.to_string())),
        };
        store::find_games(&conn, &filter, q.before, limit as u32)
            .map_err(|e| AppError::internal(format!("reading replays: {e}")))
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
    Ok(Json(ReplaysResponse { games: page.games, total: page.total, newer: page.newer }))
}

/// One game with the training targets of its positions.
#[derive(Serialize, ToSchema)]
pub struct ReplayDetail {
    #[serde(flatten)]
    game: store::GameRow,
    positions: Vec<store::PositionRow>,
}

#[utoipa::path(
    get,
    path = "/api/replays/{id}",
    summary = "one game with its positions' targets",
    params(("id" = i64, Path, description = "the game's id")),
    responses(
        (status = 200, description = "OK", body = ReplayDetail),
        (status = 400, description = "the id is not a 64-bit integer", body = ErrorBody),
        (status = 404, description = "no such game (it may have been trimmed)", body = ErrorBody),
    )
)]
pub(super) async fn replay(
    State(st): State<AppState>,
    id: Result<UrlPath<i64>, PathRejection>,
) -> ApiResult<ReplayDetail> {
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
    Ok(Json(ReplayDetail { game, positions }))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use engine_core::GameKind;
    use serde_json::json;

    use super::super::test_util::{call, state};
    use crate::store;

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
            "nn_evals_per_move",
            "cache_hit_share",
            "mean_batch_fill",
            "time_split",
            "model_version",
            "model_loaded_at",
            "last_rejected_model",
            "uptime_s",
        ] {
            assert!(v["actor"].get(key).is_some(), "missing {key}: {v}");
        }
        let (s, v) = call(&st, "GET", "/api/stats/throughput", None).await;
        assert_eq!(
            (s, v["interval_s"].as_f64(), v["points"].as_array().map(|p| p.len())),
            (StatusCode::OK, Some(10.0), Some(0))
        );
        st.telemetry.record_throughput();
        let (_, v) = call(&st, "GET", "/api/stats/throughput", None).await;
        assert_eq!(v["points"].as_array().unwrap().len(), 1);
        assert!(v["points"][0]["games_per_min"].is_number() && v["points"][0]["time"].as_f64().unwrap() > 1.7e9);
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
        assert_eq!(v["id"], 1);
        assert_eq!(v["moves"], json!([0, 3, 1, 4, 2]));
        assert_eq!(v["positions"][0]["policy"][0], 0.5);
        assert_eq!(v["positions"][0]["value"], 1.0);
        let (s, v) = call(&st, "GET", "/api/replays/99", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(v["error"].as_str().unwrap().contains("99"));
        let (s, _) = call(&st, "GET", "/api/replays/abc", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (_, v) = call(&st, "GET", "/api/replays?limit=2&before=3", None).await;
        let ids: Vec<i64> = v["games"].as_array().unwrap().iter().map(|g| g["id"].as_i64().unwrap()).collect();
        assert_eq!((ids, v["total"].as_i64(), v["newer"].as_i64()), (vec![2, 1], Some(3), Some(1)));
        let (_, v) = call(&st, "GET", "/api/replays?outcome=draw", None).await;
        assert_eq!((v["games"].as_array().unwrap().len(), v["total"].as_i64()), (0, Some(0)));
        let (_, v) = call(&st, "GET", "/api/replays?outcome=first&moves_min=5&moves_max=5", None).await;
        assert_eq!(v["total"], 3);
        for q in ["limit=0", "limit=5000", "limit=x", "outcome=won", "before=x", "moves_min=9&moves_max=2"] {
            let (s, v) = call(&st, "GET", &format!("/api/replays?{q}"), None).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
        }
    }
}
