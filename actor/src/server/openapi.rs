//! `/api/openapi.json`: the OpenAPI description of the routes, generated from the
//! handlers' `#[utoipa::path]` attributes and the `ToSchema` types they take and
//! return, so the document cannot drift from the code. The fuzz suite (schemathesis)
//! generates its requests from it and checks every answer against it.

use axum::extract::State;
use axum::Json;
use utoipa::openapi::schema::{Object, Schema};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::{Number, OpenApi};

use super::{play, stats, trainer_proxy, AppState};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cartridge actor",
        version = "1",
        description = "Self-play actor: play the bots, watch training. Contract: docs/CONTRACTS.md §6."
    ),
    paths(
        play::health,
        play::games,
        play::post_move,
        play::post_state,
        play::post_values,
        stats::stats,
        stats::throughput,
        stats::replays,
        stats::replay,
        openapi_json,
        trainer_proxy::proxy_root,
        trainer_proxy::proxy,
    )
)]
struct ApiDoc;

/// The document, with the bounds the attributes cannot state filled in: the cap on
/// simulations is a flag of this process, and an attribute's integer literal cannot
/// hold the 64-bit range of a replay id.
pub fn document(max_simulations: u32) -> Document {
    let mut doc = ApiDoc::openapi();
    let move_request = doc.components.as_mut().and_then(|c| c.schemas.get_mut("MoveRequest"));
    let simulations = object(move_request, "MoveRequest").properties.get_mut("simulations");
    object(simulations, "MoveRequest.simulations").maximum = Some(Number::UInt(max_simulations as usize));
    let replay = doc.paths.paths.get_mut("/api/replays/{id}").and_then(|p| p.get.as_mut());
    let id = replay.and_then(|op| op.parameters.as_mut()).and_then(|ps| {
        ps.iter_mut().find_map(|p| match p {
            RefOr::T(p) if p.name == "id" => Some(p),
            _ => None,
        })
    });
    let id = object(id.and_then(|p| p.schema.as_mut()), "the id of /api/replays/{id}");
    id.minimum = Some(Number::Int(i64::MIN as isize));
    id.maximum = Some(Number::Int(i64::MAX as isize));
    doc
}

/// The inline schema object `what` names; the types above define it, so its absence
/// is a bug of this file.
fn object<'a>(schema: Option<&'a mut RefOr<Schema>>, what: &str) -> &'a mut Object {
    match schema {
        Some(RefOr::T(Schema::Object(o))) => o,
        _ => panic!("{what} is not an inline schema object"),
    }
}

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    summary = "this document",
    responses((status = 200, description = "the OpenAPI description of this API", body = Object))
)]
pub(super) async fn openapi_json(State(st): State<AppState>) -> Json<Document> {
    Json(document(st.config.max_simulations))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::http::StatusCode;
    use serde_json::{json, Value};

    use super::super::test_util::{call, config};
    use super::super::{api_routes, AppState};
    use crate::telemetry::Telemetry;

    fn state_with_max(dir: &std::path::Path, max_simulations: u32) -> AppState {
        let mut cfg = config(dir);
        cfg.max_simulations = max_simulations;
        AppState::new(cfg, std::sync::Arc::new(Telemetry::new("tictactoe")), None)
    }

    /// axum's `{*rest}` (a wildcard) is OpenAPI's `{rest}`.
    fn openapi_path(axum_path: &str) -> String {
        axum_path.replace("{*", "{")
    }

    /// A concrete URI for a templated path.
    fn concrete(path: &str) -> String {
        path.replace("{id}", "1").replace("{path}", "status")
    }

    /// Follows a local `$ref`.
    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("non-local $ref {r}"));
                &doc["components"]["schemas"][name]
            }
            None => schema,
        }
    }

    /// The property names a schema gives an object (through `$ref` and `allOf`).
    fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
        let s = resolve(doc, schema);
        let mut out: BTreeSet<String> =
            s["properties"].as_object().into_iter().flatten().map(|(k, _)| k.clone()).collect();
        for part in s["allOf"].as_array().into_iter().flatten() {
            out.extend(properties(doc, part));
        }
        out
    }

    fn response_schema<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
        let s = &doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(!s.is_null(), "{method} {path}: no JSON schema for 200");
        s
    }

    #[tokio::test]
    async fn document_is_openapi_3_and_lists_every_route_the_router_serves() {
        let dir = tempfile::tempdir().unwrap();
        let st = state_with_max(dir.path(), 777);
        let (s, doc) = call(&st, "GET", "/api/openapi.json", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "not OpenAPI 3.x: {}", doc["openapi"]);
        // It parses as an OpenAPI document, not just as JSON.
        let parsed: utoipa::openapi::OpenApi = serde_json::from_value(doc.clone()).expect("an OpenAPI document");
        assert_eq!(parsed.info.title, "Cartridge actor");

        let routed: BTreeSet<String> = api_routes().iter().map(|(p, _)| openapi_path(p)).collect();
        let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(documented, routed, "the document and the router list different routes");

        // Each documented operation is served (not a 405 or the unknown-route 404), and
        // each method the document leaves out is refused with a 405.
        for path in &documented {
            let item = &doc["paths"][path];
            for method in ["get", "post", "put", "patch", "delete"] {
                let body = (method != "get").then_some("{}");
                let (s, v) = call(&st, &method.to_uppercase(), &concrete(path), body).await;
                let unknown = v["error"].as_str().is_some_and(|e| e.contains("no API route"));
                if item.get(method).is_some() {
                    assert!(s != StatusCode::METHOD_NOT_ALLOWED && !unknown, "{method} {path} is documented: {s} {v}");
                } else {
                    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is not documented: {v}");
                }
            }
        }
    }

    #[tokio::test]
    async fn request_constraints_are_in_the_document() {
        let dir = tempfile::tempdir().unwrap();
        let (_, doc) = call(&state_with_max(dir.path(), 777), "GET", "/api/openapi.json", None).await;
        for (path, schema) in [("/api/move", "MoveRequest"), ("/api/state", "StateRequest")] {
            let body = &doc["paths"][path]["post"]["requestBody"];
            assert_eq!(body["required"], true, "{path}");
            let s = resolve(&doc, &body["content"]["application/json"]["schema"]);
            assert_eq!(s, &doc["components"]["schemas"][schema], "{path}");
            assert_eq!(s["required"], json!(["game"]), "{path}: {s}");
            assert_eq!(s["properties"]["game"]["enum"], json!(["tictactoe", "connect4", "othello"]), "{path}: {s}");
            assert_eq!(s["properties"]["moves"]["type"], "array", "{path}: {s}");
            assert_eq!(s["properties"]["moves"]["items"]["type"], "integer", "{path}: {s}");
        }
        let sims = &doc["components"]["schemas"]["MoveRequest"]["properties"]["simulations"];
        assert_eq!(sims["minimum"], 1, "{sims}");
        // The cap is the flag of this process.
        assert_eq!(sims["maximum"], 777, "{sims}");
        let limit = doc["paths"]["/api/replays"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap()["schema"]
            .clone();
        assert_eq!((limit["minimum"].clone(), limit["maximum"].clone()), (json!(1), json!(1000)), "{limit}");
        let trainer = &doc["paths"]["/api/trainer/{path}"]["get"]["parameters"][0];
        assert_eq!(trainer["in"], "path");
        assert!(trainer["schema"]["pattern"].as_str().unwrap().starts_with("^(?!"), "{trainer}");
        for status in ["400", "413", "415", "422", "503"] {
            let e = &doc["paths"]["/api/move"]["post"]["responses"][status]["content"]["application/json"]["schema"];
            assert_eq!(properties(&doc, e), BTreeSet::from(["error".to_string()]), "/api/move {status}");
        }
    }

    /// The response schemas name exactly the fields the handlers send.
    #[tokio::test]
    async fn response_schemas_match_the_answers() {
        let dir = tempfile::tempdir().unwrap();
        let st = state_with_max(dir.path(), 5000);
        let mut db =
            crate::store::Store::open(&dir.path().join("replay.db"), engine_core::GameKind::TicTacToe.spec()).unwrap();
        db.write_game(&crate::store::FinishedGame {
            created_at: 1.0,
            model_version: None,
            moves: vec![0, 3, 1, 4, 2],
            outcome: 1,
            positions: vec![],
        })
        .unwrap();
        *st.evaluation.lock().unwrap() = Some(
            serde_json::to_value(crate::eval::store::EvalSummary {
                gating: crate::eval::store::GatingInfo {
                    mode: "gated".into(),
                    best_version: Some(1),
                    self_play_version: Some(1),
                },
                ratings: vec![],
                baselines: vec![],
                accuracy: vec![],
            })
            .unwrap(),
        );
        let (_, doc) = call(&st, "GET", "/api/openapi.json", None).await;
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            ("get", "/api/health", "/api/health", None),
            ("get", "/api/games", "/api/games", None),
            ("post", "/api/move", "/api/move", Some(r#"{"game":"tictactoe","moves":[4],"simulations":4}"#)),
            ("post", "/api/state", "/api/state", Some(r#"{"game":"tictactoe","moves":[4]}"#)),
            ("get", "/api/stats", "/api/stats", None),
            ("get", "/api/replays", "/api/replays", None),
            ("get", "/api/replays/{id}", "/api/replays/1", None),
        ];
        for (method, path, uri, body) in cases {
            let (s, v) = call(&st, &method.to_uppercase(), uri, *body).await;
            assert_eq!(s, StatusCode::OK, "{uri}: {v}");
            let schema = response_schema(&doc, path, method);
            let sent: BTreeSet<String> = v.as_object().unwrap().keys().cloned().collect();
            assert_eq!(sent, properties(&doc, schema), "{method} {path}");
        }
        // Nested objects too: the actor's figures and the evaluation summary.
        let (_, v) = call(&st, "GET", "/api/stats", None).await;
        let stats = resolve(&doc, response_schema(&doc, "/api/stats", "get"));
        let actor: BTreeSet<String> = v["actor"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(actor, properties(&doc, &stats["properties"]["actor"]));
        let eval: BTreeSet<String> = v["evaluation"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(eval, properties(&doc, &doc["components"]["schemas"]["EvalSummary"]));
        let (_, v) = call(&st, "GET", "/api/games", None).await;
        let game: BTreeSet<String> = v["games"][0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(game, properties(&doc, &doc["components"]["schemas"]["GameInfo"]));
        // Which model plays: both endpoints name the file, with the same two values.
        assert_eq!(doc["components"]["schemas"]["ModelFile"]["enum"], json!(["latest", "best"]));
        let health = &doc["components"]["schemas"]["Health"];
        assert!(health["required"].as_array().unwrap().contains(&json!("model_source")), "{health}");
    }
}
