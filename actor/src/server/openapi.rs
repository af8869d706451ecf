//! `/api/openapi.json`: the OpenAPI description of the routes.

use axum::extract::State;
use axum::Json;
use engine_core::GameKind;
use serde_json::{json, Value};

use super::AppState;

pub(super) async fn openapi(State(st): State<AppState>) -> Json<Value> {
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
    use axum::http::StatusCode;

    use super::super::test_util::{call, state};

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
}
