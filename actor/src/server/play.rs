//! Playing the bots: `/api/health`, `/api/games`, `/api/move` (searches the position
//! with the played model, or with random playouts when there is none) and
//! `/api/state` (the rules as the engine sees them).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine_core::{with_game, EngineContext, Game, GameKind};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;

use super::trees::{TreeCache, TreeKey};
use super::{ApiResult, AppError, AppState, ErrorBody, ServerConfig, SEARCH_QUEUE_WAIT};
use crate::nn::{ModelFile, NnEvaluator, NnModel};
use crate::profile::profile;
use crate::search::driver::Driver;
use crate::search::{
    run_search, Algorithm, Evaluator, RolloutEvaluator, SearchConfig, SearchError, SearchParams, SEARCH_NAMES,
};

/// A game's registry name (docs/CONTRACTS.md §1).
pub(super) fn game_name_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(GameKind::ALL.iter().map(|k| k.name())))
        .description(Some("the game's registry name (docs/CONTRACTS.md §1)"))
        .build()
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the server answers.
    status: &'static str,
    /// The game of this data folder.
    game: &'static str,
    /// Step of the model the move API plays now; null while there is none.
    model_version: Option<i64>,
    /// Which model file the move API plays: `best` under `--gating gated` (the one
    /// self-play plays), else `latest`.
    model_source: ModelFile,
    uptime_s: f64,
}

#[utoipa::path(
    get,
    path = "/api/health",
    summary = "liveness, game, the played model",
    responses((status = 200, description = "OK", body = Health))
)]
pub(super) async fn health(State(st): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        game: st.config.game.name(),
        model_version: st.current_model().map(|m| m.info.step),
        model_source: st.config.model_file,
        uptime_s: st.telemetry.uptime_s(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct GameInfo {
    name: &'static str,
    display_name: &'static str,
    rows: usize,
    cols: usize,
    num_actions: usize,
    /// Whether a trained model plays this game now.
    has_model: bool,
    model_version: Option<i64>,
    /// `simulations` of a move request that leaves it out.
    default_simulations: u32,
    /// The game of this data folder; only it can have a model.
    training: bool,
}

#[derive(Serialize, ToSchema)]
pub struct GamesResponse {
    games: Vec<GameInfo>,
}

#[utoipa::path(
    get,
    path = "/api/games",
    summary = "the games and whether a trained model exists",
    responses((status = 200, description = "OK", body = GamesResponse))
)]
pub(super) async fn games(State(st): State<AppState>) -> Json<GamesResponse> {
    let model = st.current_model().map(|m| m.info.step);
    let games = GameKind::ALL
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
                default_simulations: profile(k).play.simulations,
                training,
            }
        })
        .collect();
    Json(GamesResponse { games })
}

#[derive(Deserialize, ToSchema)]
pub struct MoveRequest {
    #[schema(schema_with = game_name_schema)]
    game: String,
    /// Actions from the initial position (docs/CONTRACTS.md §1).
    #[serde(default)]
    moves: Vec<i64>,
    /// Absent or null: the game's `default_simulations`. The maximum is the server's
    /// `--max-simulations`.
    #[schema(minimum = 1)]
    simulations: Option<i64>,
    /// The search algorithm (`puct`, `ttts`, `gumbel`, with that search's default
    /// settings); absent or null: the server's `--search` with its flags.
    #[schema(schema_with = search_name_schema)]
    search: Option<String>,
    /// PUCT's MCTS-solver on or off; absent or null: as the server's `--solver`
    /// (for PUCT). Only PUCT has it.
    solver: Option<bool>,
}

/// A search algorithm's name, as `--search` takes it.
fn search_name_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(SEARCH_NAMES.iter().copied().map(Some).chain([None])))
        .description(Some("the search algorithm; absent or null: the server's --search"))
        .build()
}

#[derive(Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct MoveResponse {
    /// The move the search chose: the most visited one (PUCT, TTTS) or the winner
    /// of sequential halving (Gumbel).
    pub action: u16,
    /// The search's move distribution over every action (0 for illegal ones): visit
    /// shares, or Gumbel's improved policy.
    pub policy: Vec<f32>,
    /// The search's value for the side to move before the action.
    pub value: f32,
    /// The network's own value of that position (its value head, no search), for the
    /// same side; null without a model.
    pub network_value: Option<f32>,
    /// Step of the model that searched; null for random playouts.
    pub model_version: Option<i64>,
    /// Which model file searched (`best` or `latest`); null when no model was used
    /// (random playouts).
    pub model_source: Option<ModelFile>,
    /// The search that chose the move (`puct`, `puct+solver`, `ttts`, `gumbel`).
    pub search: String,
}

fn parse_game(name: &str) -> Result<GameKind, AppError> {
    GameKind::from_name(name).map_err(|e| AppError::bad_request(e.to_string()))
}

/// Replays `moves` from the start, naming the first bad one by its index.
fn replay_moves<G: Game>(moves: &[i64]) -> Result<G, AppError> {
    G::from_actions(moves).map_err(|(i, e)| AppError::bad_request(format!("moves[{i}] = {}: {e}", moves[i])))
}

/// Replays `moves` of the context's game from the start, by name (no generic code
/// needed to check a position), naming the first bad move by its index.
fn replay_by_name(ctx: &EngineContext, moves: &[i64]) -> Result<engine_core::State, AppError> {
    ctx.replay(moves).map_err(|(i, e)| AppError::bad_request(format!("moves[{i}] = {}: {e}", moves[i])))
}

/// More moves than a game of this kind can last cannot be a position of it.
fn check_length(kind: GameKind, moves: &[i64]) -> Result<(), AppError> {
    let spec = kind.spec();
    if moves.len() > spec.max_game_length {
        return Err(AppError::bad_request(format!(
            "{} moves given; a {} game lasts at most {}",
            moves.len(),
            spec.name,
            spec.max_game_length
        )));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/api/move",
    summary = "search a position and return the bot's move",
    request_body = MoveRequest,
    responses(
        (status = 200, description = "OK", body = MoveResponse),
        (status = 400, description = "unknown game, bad or illegal move, finished game, simulations out of range", body = ErrorBody),
        (status = 413, description = "body over 64 KiB", body = ErrorBody),
        (status = 415, description = "no Content-Type: application/json", body = ErrorBody),
        (status = 422, description = "JSON of the wrong shape", body = ErrorBody),
        (status = 503, description = "every search slot stayed busy, or the request ran past its time limit; try again", body = ErrorBody),
    )
)]
pub(super) async fn post_move(
    State(st): State<AppState>,
    body: Result<Json<MoveRequest>, JsonRejection>,
) -> ApiResult<MoveResponse> {
    let Json(req) = body?;
    let kind = parse_game(&req.game)?;
    let max = st.config.max_simulations;
    let sims = req.simulations.unwrap_or(profile(kind).play.simulations as i64);
    if sims < 1 || sims > max as i64 {
        return Err(AppError::bad_request(format!("simulations must be between 1 and {max}, got {sims}")));
    }
    check_length(kind, &req.moves)?;
    let algorithm = request_algorithm(&st.config.algorithm, kind, req.search.as_deref(), req.solver)?;
    // Check the moves before waiting for a search slot.
    let ctx = EngineContext::from_kind(kind);
    if let Some(o) = ctx.outcome(&replay_by_name(&ctx, &req.moves)?) {
        return Err(AppError::bad_request(format!("the game is already over ({o}); no move to search")));
    }
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
        with_game!(kind, G => search_move::<G>(&st2.config, &st2.trees, algorithm, &req.moves, sims as u32, model))
    })
    .await
    .map_err(|e| AppError::internal(format!("search task failed: {e}")))??;
    Ok(Json(res))
}

/// The search a move request asks for: the server's own (`--search` and its flags)
/// unless it names another, which then runs with its flags' defaults; `solver`
/// switches PUCT's MCTS-solver.
fn request_algorithm(
    server: &Algorithm,
    kind: GameKind,
    search: Option<&str>,
    solver: Option<bool>,
) -> Result<Algorithm, AppError> {
    let bad = |e: crate::flags::ConfigError| AppError::bad_request(e.to_string());
    let algorithm = match search.map(|s| s.trim().to_ascii_lowercase()) {
        Some(name) if name != server.name() => Algorithm::named(&name, profile(kind)).map_err(bad)?,
        _ => server.clone(),
    };
    match solver {
        Some(on) => algorithm.with_solver(on).map_err(bad),
        None => Ok(algorithm),
    }
}

/// Searches the position after `moves` with the model if there is one, else with
/// random playouts, and returns the move the search chose. With the model, the search
/// goes on from a kept tree of an earlier request of the same game when there is one,
/// and its tree is kept for the next.
fn search_move<G: Game>(
    cfg: &ServerConfig,
    trees: &TreeCache,
    algorithm: Algorithm,
    moves: &[i64],
    simulations: u32,
    model: Option<Arc<NnModel>>,
) -> Result<MoveResponse, AppError> {
    let g: G = replay_moves(moves)?;
    let mut search =
        SearchConfig { algorithm, params: SearchParams { simulations, leaves_per_game: 8, root_noise: false } };
    let mut rng = StdRng::from_os_rng();
    let failed = |e: SearchError| AppError::internal(format!("search failed: {e}"));
    let (r, version, network_value) = match model {
        Some(m) => {
            let key = TreeKey { game: G::spec().name, search: search.algorithm.label(), simulations };
            let kept = if cfg.keep_trees { trees.take::<G>(&key, &m, moves, &mut rng) } else { None };
            let mut searches = [match kept {
                Some(s) => s,
                None => search.start(g.clone()).map_err(failed)?,
            }];
            let mut ev = NnEvaluator(m.clone());
            let v = Evaluator::<G>::model_version(&ev);
            // The network alone on the root, beside the search's value: an analysis
            // board shows both (one evaluation, well under a millisecond).
            let mut obs = vec![0.0; G::spec().obs_len()];
            g.encode(&mut obs);
            let net = Evaluator::<G>::evaluate(&mut ev, std::slice::from_ref(&g), &obs).map_err(failed)?.values[0];
            Driver::new().run(&mut searches[..], &mut ev, &mut rng).map_err(failed)?;
            let [done] = searches;
            let r = done.result();
            if cfg.keep_trees {
                trees.keep::<G>(key, m, moves.to_vec(), done);
            }
            (r, v, Some(net))
        }
        None => {
            // Rollouts need no batching; one leaf at a time searches best.
            search.params.leaves_per_game = 1;
            let mut ev = RolloutEvaluator { rollouts: cfg.rollouts, rng: StdRng::from_os_rng() };
            (run_search(&g, &search, &mut ev, &mut rng).map_err(failed)?, None, None)
        }
    };
    let action = r.choose(&g.legal_actions(), 0.0, &mut rng);
    let model_source = version.map(|_| cfg.model_file);
    Ok(MoveResponse {
        action,
        policy: r.policy,
        value: r.root_value,
        network_value,
        model_version: version,
        model_source,
        search: search.algorithm.label(),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct StateRequest {
    #[schema(schema_with = game_name_schema)]
    game: String,
    /// Actions from the initial position (docs/CONTRACTS.md §1).
    #[serde(default)]
    moves: Vec<i64>,
}

/// How a finished game ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GameOutcome {
    First,
    Second,
    Draw,
}

/// An array of cells: 0 empty, 1 first player, 2 second player.
fn cells_schema() -> utoipa::openapi::schema::Array {
    let cell = ObjectBuilder::new().schema_type(Type::Integer).enum_values(Some([0, 1, 2])).build();
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(cell)
        .description(Some("row-major from the top-left: 0 empty, 1 first player, 2 second player"))
        .build()
}

#[derive(Serialize, ToSchema)]
pub struct StateResponse {
    #[schema(schema_with = cells_schema)]
    cells: Vec<u8>,
    /// 1 for the first player, 2 for the second.
    #[schema(minimum = 1, maximum = 2)]
    to_move: u8,
    legal_actions: Vec<u16>,
    /// Null while the game goes on.
    outcome: Option<GameOutcome>,
    /// The cells of the winning line(s), if any.
    winning_cells: Vec<usize>,
}

fn state_of(ctx: &EngineContext, moves: &[i64]) -> Result<StateResponse, AppError> {
    let s = replay_by_name(ctx, moves)?;
    let outcome = ctx.outcome(&s).map(|o| match o {
        engine_core::Outcome::Win(engine_core::Player::First) => GameOutcome::First,
        engine_core::Outcome::Win(engine_core::Player::Second) => GameOutcome::Second,
        engine_core::Outcome::Draw => GameOutcome::Draw,
    });
    Ok(StateResponse {
        cells: ctx.cells(&s),
        to_move: ctx.to_move(&s).index() as u8 + 1,
        legal_actions: ctx.legal_actions(&s),
        outcome,
        winning_cells: ctx.winning_cells(&s),
    })
}

#[utoipa::path(
    post,
    path = "/api/state",
    summary = "the position after some moves, as the engine sees it",
    request_body = StateRequest,
    responses(
        (status = 200, description = "OK", body = StateResponse),
        (status = 400, description = "unknown game, bad or illegal move", body = ErrorBody),
        (status = 413, description = "body over 64 KiB", body = ErrorBody),
        (status = 415, description = "no Content-Type: application/json", body = ErrorBody),
        (status = 422, description = "JSON of the wrong shape", body = ErrorBody),
    )
)]
pub(super) async fn post_state(body: Result<Json<StateRequest>, JsonRejection>) -> ApiResult<StateResponse> {
    let Json(req) = body?;
    let kind = parse_game(&req.game)?;
    check_length(kind, &req.moves)?;
    state_of(&EngineContext::from_kind(kind), &req.moves).map(Json)
}

/// The network's own value of every position of a game (POST /api/values).
#[derive(Serialize, ToSchema)]
pub struct ValuesResponse {
    /// One per position, from the initial one to the position after the last move, each
    /// for that position's side to move; null where the game is over.
    pub values: Vec<Option<f32>>,
    /// Step of the model that answered.
    pub model_version: i64,
}

#[utoipa::path(
    post,
    path = "/api/values",
    summary = "the network's own value (no search) of every position of a game, in one batch",
    request_body = StateRequest,
    responses(
        (status = 200, description = "OK", body = ValuesResponse),
        (status = 400, description = "unknown game, bad or illegal move", body = ErrorBody),
        (status = 409, description = "no model of this game is loaded", body = ErrorBody),
        (status = 413, description = "body over 64 KiB", body = ErrorBody),
        (status = 415, description = "no Content-Type: application/json", body = ErrorBody),
        (status = 422, description = "JSON of the wrong shape", body = ErrorBody),
    )
)]
pub(super) async fn post_values(
    State(st): State<AppState>,
    body: Result<Json<StateRequest>, JsonRejection>,
) -> ApiResult<ValuesResponse> {
    let Json(req) = body?;
    let kind = parse_game(&req.game)?;
    check_length(kind, &req.moves)?;
    replay_by_name(&EngineContext::from_kind(kind), &req.moves)?;
    if kind != st.config.game {
        return Err(AppError {
            status: StatusCode::CONFLICT,
            message: format!("this actor has a model of {} only, not of {}", st.config.game.spec().name, req.game),
        });
    }
    let st2 = st.clone();
    let res = tokio::task::spawn_blocking(move || {
        st2.refresh_model();
        let model = st2.current_model().ok_or_else(|| AppError {
            status: StatusCode::CONFLICT,
            message: "no model is loaded yet: the network has no values to give".to_string(),
        })?;
        with_game!(kind, G => network_values::<G>(&model, &req.moves))
    })
    .await
    .map_err(|e| AppError::internal(format!("evaluation task failed: {e}")))??;
    Ok(Json(res))
}

/// Evaluates every unfinished position along `moves` (checked legal) in one batch.
fn network_values<G: Game>(model: &Arc<NnModel>, moves: &[i64]) -> Result<ValuesResponse, AppError> {
    let obs_len = G::spec().obs_len();
    let mut g = G::initial();
    let mut states = Vec::with_capacity(moves.len() + 1);
    for i in 0..=moves.len() {
        states.push(g.clone());
        if i < moves.len() {
            g.apply_unchecked(moves[i] as engine_core::Action);
        }
    }
    let live: Vec<usize> = (0..states.len()).filter(|&i| states[i].outcome().is_none()).collect();
    let mut obs = vec![0.0; live.len() * obs_len];
    for (k, &i) in live.iter().enumerate() {
        states[i].encode(&mut obs[k * obs_len..(k + 1) * obs_len]);
    }
    let batch: Vec<G> = live.iter().map(|&i| states[i].clone()).collect();
    let mut values = vec![None; states.len()];
    if !live.is_empty() {
        let out = Evaluator::<G>::evaluate(&mut NnEvaluator(model.clone()), &batch, &obs)
            .map_err(|e| AppError::internal(format!("the network failed: {e}")))?;
        for (k, &i) in live.iter().enumerate() {
            values[i] = Some(out.values[k]);
        }
    }
    Ok(ValuesResponse { values, model_version: model.info.step })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request as HttpRequest;
    use http_body_util::BodyExt;
    use serde_json::json;
    use tower::ServiceExt;

    use super::super::test_util::{call, call_raw, config, state};
    use super::super::{app, AppState};
    use super::*;
    use crate::telemetry::Telemetry;

    #[tokio::test]
    async fn health_and_games() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        let (s, v) = call(&st, "GET", "/api/health", None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["status"], "ok");
        assert_eq!(v["game"], "tictactoe");
        assert!(v["model_version"].is_null());
        assert_eq!(v["model_source"], "latest");
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
        assert!(v["model_source"].is_null(), "random playouts have no model file: {v}");
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
    async fn a_move_request_chooses_its_search() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        // Every search finds the win, says which search it was, and keeps the move
        // distribution a distribution.
        for name in crate::search::SEARCH_NAMES {
            let body = format!(r#"{{"game":"tictactoe","moves":[0,3,1,4],"simulations":200,"search":"{name}"}}"#);
            let (s, v) = call(&st, "POST", "/api/move", Some(&body)).await;
            assert_eq!(s, StatusCode::OK, "{name}: {v}");
            assert_eq!(v["search"], *name, "{v}");
            assert_eq!(v["action"], 2, "{name} finds the win: {v}");
            let p: f64 = v["policy"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).sum();
            assert!((p - 1.0).abs() < 1e-4, "{name}: {v}");
        }
        // Absent: the server's own search; the solver switch on PUCT.
        let (_, v) = call(&st, "POST", "/api/move", Some(r#"{"game":"tictactoe","moves":[4],"simulations":8}"#)).await;
        assert_eq!(v["search"], "puct", "{v}");
        let body = r#"{"game":"tictactoe","moves":[0,3,1,4],"simulations":400,"solver":true}"#;
        let (s, v) = call(&st, "POST", "/api/move", Some(body)).await;
        assert_eq!(
            (s, v["search"].clone(), v["action"].clone()),
            (StatusCode::OK, json!("puct+solver"), json!(2)),
            "{v}"
        );
        assert_eq!(v["value"], 1.0, "a proven win is worth 1: {v}");
        let cases: &[(&str, &str)] = &[
            (r#"{"game":"tictactoe","moves":[],"search":"alphago"}"#, "unknown search"),
            (
                r#"{"game":"tictactoe","moves":[],"search":"gumbel","solver":true}"#,
                "the solver is a switch of the puct search",
            ),
            (r#"{"game":"tictactoe","moves":[],"search":7}"#, "search"),
        ];
        for (body, needle) in cases {
            let (s, v) = call(&st, "POST", "/api/move", Some(body)).await;
            assert!(s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY, "{body}: {s} {v}");
            assert!(v["error"].as_str().unwrap().contains(needle), "{body}: {v}");
        }
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

    /// Copies a fixture into `models/` under `name`, as a publish (temp file, rename).
    fn publish_as(models: &std::path::Path, fixture: &str, name: &str) {
        std::fs::create_dir_all(models).unwrap();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(fixture);
        let tmp = models.join(format!(".{name}.tmp"));
        std::fs::copy(src, &tmp).unwrap();
        std::fs::rename(&tmp, models.join(name)).unwrap();
    }

    /// Whether ONNX Runtime can be loaded here; without it the model tests cannot run
    /// (and must not be skipped where the runtime is required).
    fn ort_available() -> bool {
        match crate::nn::find_ort_library(None) {
            Err(e) => {
                assert!(
                    std::env::var_os("CARTRIDGE_REQUIRE_ORT").is_none(),
                    "CARTRIDGE_REQUIRE_ORT is set but ONNX Runtime is missing: {e}"
                );
                eprintln!("\n!!!!!!!! SKIPPING ONNX TEST: {e} !!!!!!!!\n");
                false
            }
            Ok(_) => {
                crate::nn::init_runtime(None).expect("ONNX Runtime exists but does not load");
                true
            }
        }
    }

    /// A server over a folder holding best.onnx (step 100) and a newer latest.onnx
    /// (step 200), with the watcher `actor run` builds from the config.
    fn server_with_two_models(dir: &std::path::Path, model_file: ModelFile) -> AppState {
        let models = dir.join("models");
        publish_as(&models, "tictactoe_step100.onnx", "best.onnx");
        publish_as(&models, "tictactoe_step200.onnx", "latest.onnx");
        let mut cfg = config(dir);
        cfg.model_file = model_file;
        let watcher = cfg.model_watcher();
        AppState::new(cfg, Arc::new(Telemetry::new("tictactoe")), Some(watcher))
    }

    #[tokio::test]
    async fn values_of_every_position_in_one_batch() {
        if !ort_available() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let st = server_with_two_models(dir.path(), ModelFile::Latest);
        // X wins with its fifth move: six positions, the last one over.
        let body = r#"{"game":"tictactoe","moves":[0,3,1,4,2]}"#;
        let (s, v) = call(&st, "POST", "/api/values", Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["model_version"], 200);
        let values = v["values"].as_array().unwrap();
        assert_eq!(values.len(), 6, "{v}");
        assert!(values[5].is_null(), "a finished position has no value: {v}");
        assert!(values[..5].iter().all(|x| (-1.0..=1.0).contains(&x.as_f64().unwrap())), "{v}");
        // The same values the move API names as the network's, position by position.
        for ply in [0usize, 3] {
            let moves = serde_json::to_string(&[0, 3, 1, 4, 2][..ply]).unwrap();
            let body = format!(r#"{{"game":"tictactoe","moves":{moves},"simulations":8}}"#);
            let (_, m) = call(&st, "POST", "/api/move", Some(&body)).await;
            let (a, b) = (m["network_value"].as_f64().unwrap(), values[ply].as_f64().unwrap());
            assert!((a - b).abs() < 1e-4, "ply {ply}: move API {a}, values {b}");
        }
        for (body, status, word) in [
            (r#"{"game":"tictactoe","moves":[0,0]}"#, StatusCode::BAD_REQUEST, "moves[1]"),
            (r#"{"game":"connect4","moves":[]}"#, StatusCode::CONFLICT, "tictactoe only"),
            (r#"{"game":"chess","moves":[]}"#, StatusCode::BAD_REQUEST, "chess"),
        ] {
            let (s, v) = call(&st, "POST", "/api/values", Some(body)).await;
            assert_eq!(s, status, "{body}: {v}");
            assert!(v["error"].as_str().unwrap().contains(word), "{body}: {v}");
        }
        // No model loaded: nothing to answer with.
        let bare = tempfile::tempdir().unwrap();
        let (s, v) = call(&state(bare.path()), "POST", "/api/values", Some(r#"{"game":"tictactoe","moves":[]}"#)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
    }

    #[tokio::test]
    async fn the_server_plays_the_model_self_play_plays() {
        if !ort_available() {
            return;
        }
        use crate::eval::evaluator::GatingMode;
        for (mode, version, source) in [(GatingMode::Gated, 100, "best"), (GatingMode::Continuous, 200, "latest")] {
            let dir = tempfile::tempdir().unwrap();
            let st = server_with_two_models(dir.path(), mode.played_model());
            let body = r#"{"game":"tictactoe","moves":[0,3,1,4],"simulations":32}"#;
            let (s, v) = call(&st, "POST", "/api/move", Some(body)).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            assert_eq!(v["model_version"], version, "{mode:?}: {v}");
            assert_eq!(v["model_source"], source, "{mode:?}: {v}");
            let net = v["network_value"].as_f64().unwrap_or(f64::NAN);
            assert!((-1.0..=1.0).contains(&net), "the network's own value of the root: {v}");
            let (_, h) = call(&st, "GET", "/api/health", None).await;
            assert_eq!((h["model_version"].clone(), h["model_source"].clone()), (json!(version), json!(source)), "{h}");
            if mode == GatingMode::Gated {
                let (_, g) = call(&st, "GET", "/api/games", None).await;
                let t = g["games"].as_array().unwrap().iter().find(|g| g["name"] == "tictactoe").unwrap();
                assert_eq!(t["model_version"], 100, "{g}");
                // Another game has no model: it is searched with random playouts.
                let body = r#"{"game":"connect4","moves":[],"simulations":8}"#;
                let (s, v) = call(&st, "POST", "/api/move", Some(body)).await;
                assert_eq!(s, StatusCode::OK, "{v}");
                assert!(v["model_version"].is_null() && v["model_source"].is_null(), "{v}");
                assert!(v["network_value"].is_null(), "no network, no network value: {v}");
            }
        }
    }

    #[tokio::test]
    async fn a_game_goes_on_from_the_tree_of_its_previous_request() {
        if !ort_available() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let st = server_with_two_models(dir.path(), ModelFile::Latest);
        let ask = |moves: &str, sims: u32| format!(r#"{{"game":"tictactoe","moves":{moves},"simulations":{sims}}}"#);
        let (s, v) = call(&st, "POST", "/api/move", Some(&ask("[]", 200))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!((st.trees.len(), st.trees.reuse()), (1, (0, 0)));
        // The bot's move and a reply later: the search goes on below them.
        let bot = v["action"].as_i64().unwrap();
        let reply = (0..9).find(|&a| a != bot).unwrap();
        let (s, v) = call(&st, "POST", "/api/move", Some(&ask(&format!("[{bot},{reply}]"), 200))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (hits, kept) = st.trees.reuse();
        assert_eq!(hits, 1);
        assert!(kept > 0, "nothing kept");
        let shares: f32 = v["policy"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap() as f32).sum();
        assert!((shares - 1.0).abs() < 1e-4, "{v}");
        for a in [bot, reply] {
            assert_eq!(v["policy"][a as usize], 0.0, "occupied cell {a}: {v}");
        }
        // Another strength, another game line, or a new model: a fresh search.
        call(&st, "POST", "/api/move", Some(&ask(&format!("[{bot},{reply}]"), 100))).await;
        call(&st, "POST", "/api/move", Some(&ask("[8]", 200))).await;
        assert_eq!(st.trees.reuse().0, 1);
        publish_as(&dir.path().join("models"), "tictactoe_step100.onnx", "latest.onnx");
        std::thread::sleep(std::time::Duration::from_millis(600)); // past the watcher's rate limit
        let (_, v) = call(&st, "POST", "/api/move", Some(&ask(&format!("[{bot},{reply}]"), 200))).await;
        assert_eq!(v["model_version"], 100, "{v}");
        assert_eq!(st.trees.reuse().0, 1);
        assert!(st.trees.len() <= super::super::trees::KEPT_TREES);
        // Without --keep-trees nothing is kept.
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path().join("models");
        publish_as(&models, "tictactoe_step200.onnx", "latest.onnx");
        let mut cfg = config(dir.path());
        cfg.keep_trees = false;
        let watcher = cfg.model_watcher();
        let off = AppState::new(cfg, Arc::new(Telemetry::new("tictactoe")), Some(watcher));
        call(&off, "POST", "/api/move", Some(&ask("[]", 50))).await;
        assert!(off.trees.is_empty());
    }
}
