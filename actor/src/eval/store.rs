//! `DATA_DIR/eval.db`: evaluation games and accuracy rows (docs/CONTRACTS.md §8, must
//! match it), and the summary the HTTP API serves as `evaluation`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use crate::eval::arena::GameRecord;
use crate::eval::elo::{fit_ratings, FitOptions, PairResult};
use crate::eval::players::label_version;
use crate::telemetry::unix_now;

pub const SCHEMA_VERSION: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum EvalStoreError {
    #[error("eval.db: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{path} holds evaluations of {found}, not {wanted}; one data folder is one game")]
    WrongGame { path: String, found: String, wanted: String },
    #[error("{path} has schema version {found}, this actor writes {SCHEMA_VERSION}")]
    WrongSchema { path: String, found: String },
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS matches (
  id INTEGER PRIMARY KEY, created_at REAL NOT NULL,
  player_a TEXT NOT NULL, player_b TEXT NOT NULL,
  a_first INTEGER NOT NULL, score_a REAL NOT NULL, moves TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accuracy (
  id INTEGER PRIMARY KEY, created_at REAL NOT NULL, model_version INTEGER NOT NULL,
  phase TEXT NOT NULL, mode TEXT NOT NULL, positions INTEGER NOT NULL, errors INTEGER NOT NULL);
";

/// The only writer of `eval.db`.
pub struct EvalStore {
    conn: Connection,
}

impl EvalStore {
    /// Opens (creating if needed) `path` for `game`, refusing another game's file.
    pub fn open(path: &Path, game: &str) -> Result<EvalStore, EvalStoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        let get = |k: &str| -> Result<Option<String>, rusqlite::Error> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0)).optional()
        };
        let p = path.display().to_string();
        match get("game")? {
            Some(g) if g != game => return Err(EvalStoreError::WrongGame { path: p, found: g, wanted: game.into() }),
            Some(_) => {}
            None => {
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('game', ?1)", [game])?;
            }
        }
        match get("schema_version")? {
            Some(v) if v != SCHEMA_VERSION => return Err(EvalStoreError::WrongSchema { path: p, found: v }),
            Some(_) => {}
            None => {
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?1)", [SCHEMA_VERSION])?;
            }
        }
        Ok(EvalStore { conn })
    }

    /// Records finished games between `a` and `b` in one transaction.
    pub fn add_games(&mut self, a: &str, b: &str, games: &[GameRecord]) -> Result<(), EvalStoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO matches (created_at, player_a, player_b, a_first, score_a, moves) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let now = unix_now();
            for g in games {
                let moves = serde_json::to_string(&g.moves).expect("actions serialise");
                st.execute(params![now, a, b, g.a_first as i64, g.score_a, moves])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn add_accuracy(
        &mut self,
        version: i64,
        phase: &str,
        mode: &str,
        positions: u64,
        errors: u64,
    ) -> Result<(), EvalStoreError> {
        self.conn.execute(
            "INSERT INTO accuracy (created_at, model_version, phase, mode, positions, errors) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![unix_now(), version, phase, mode, positions as i64, errors as i64],
        )?;
        Ok(())
    }

    /// A `meta` value (the evaluator keeps `best_version` and `last_evaluated` there).
    pub fn meta(&self, key: &str) -> Result<Option<String>, EvalStoreError> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), EvalStoreError> {
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?1, ?2)", [key, value])?;
        Ok(())
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// A string schema with a fixed set of values (for fields kept as `String`).
fn one_of(values: &[&str]) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

fn gating_mode_schema() -> utoipa::openapi::schema::Object {
    one_of(&["continuous", "gated"])
}

fn accuracy_mode_schema() -> utoipa::openapi::schema::Object {
    one_of(&["net", "search"])
}

/// The self-play/gating part of the summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct GatingInfo {
    /// `continuous` or `gated`.
    #[schema(schema_with = gating_mode_schema)]
    pub mode: String,
    pub best_version: Option<i64>,
    pub self_play_version: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RatingRow {
    pub player: String,
    pub version: Option<i64>,
    pub elo: f64,
    pub elo_lo: f64,
    pub elo_hi: f64,
    pub games: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BaselineRow {
    pub version: i64,
    pub opponent: String,
    pub wins: u64,
    pub draws: u64,
    pub losses: u64,
    pub score: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AccuracySummaryRow {
    pub version: i64,
    pub phase: String,
    /// `net` (raw network argmax) or `search` (full search at play strength).
    #[schema(schema_with = accuracy_mode_schema)]
    pub mode: String,
    pub positions: u64,
    pub errors: u64,
    pub error_rate: f64,
}

/// `/api/stats` → `evaluation` (docs/CONTRACTS.md §8).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EvalSummary {
    pub gating: GatingInfo,
    pub ratings: Vec<RatingRow>,
    pub baselines: Vec<BaselineRow>,
    pub accuracy: Vec<AccuracySummaryRow>,
}

/// JSON has no infinity (serde would write null); the fit keeps ratings finite, and
/// this guards the contract should a degenerate case slip through.
fn finite(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-1e6, 1e6)
    }
}

/// Fits ratings over every match in `conn` and gathers the per-version baseline
/// results and accuracy rows; `None` while there is nothing to show.
pub fn summarize(conn: &Connection, gating: GatingInfo) -> Result<Option<EvalSummary>, EvalStoreError> {
    // Per ordered pair: games, score of the first-named player, and W/D/L.
    let mut st = conn.prepare(
        "SELECT player_a, player_b, COUNT(*), SUM(score_a), SUM(score_a = 1.0), SUM(score_a = 0.5), SUM(score_a = 0.0)
         FROM matches GROUP BY player_a, player_b",
    )?;
    let rows: Vec<(String, String, i64, f64, i64, i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
        .collect::<Result<_, _>>()?;
    let mut acc_st = conn.prepare(
        "SELECT model_version, phase, mode, positions, errors FROM accuracy a
         WHERE id = (SELECT MAX(id) FROM accuracy b WHERE b.model_version = a.model_version AND b.phase = a.phase AND b.mode = a.mode)
         ORDER BY model_version, id",
    )?;
    let accuracy: Vec<AccuracySummaryRow> = acc_st
        .query_map([], |r| {
            let (positions, errors): (i64, i64) = (r.get(3)?, r.get(4)?);
            Ok(AccuracySummaryRow {
                version: r.get(0)?,
                phase: r.get(1)?,
                mode: r.get(2)?,
                positions: positions as u64,
                errors: errors as u64,
                error_rate: if positions > 0 { errors as f64 / positions as f64 } else { 0.0 },
            })
        })?
        .collect::<Result<_, _>>()?;
    if rows.is_empty() && accuracy.is_empty() {
        return Ok(None);
    }

    // Ratings: players in a stable order, `random` first (the anchor).
    let mut names: Vec<String> = rows.iter().flat_map(|r| [r.0.clone(), r.1.clone()]).collect();
    names.sort_by_key(|n| (n != "random", label_version(n).is_some(), label_version(n), n.clone()));
    names.dedup();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let results: Vec<PairResult> = rows
        .iter()
        .map(|r| PairResult { a: index[r.0.as_str()], b: index[r.1.as_str()], games: r.2 as f64, score_a: r.3 })
        .collect();
    let ratings = fit_ratings(names.len(), &results, &FitOptions { anchor: 0, prior_draws: 1.0 });
    let ratings = names
        .iter()
        .zip(ratings)
        .map(|(n, r)| RatingRow {
            player: n.clone(),
            version: label_version(n),
            elo: finite(r.elo),
            elo_lo: finite(r.elo_lo),
            elo_hi: finite(r.elo_hi),
            games: r.games as u64,
        })
        .collect();

    // Baselines: each model version against each non-model opponent, either order.
    let mut base: BTreeMap<(i64, String), (u64, u64, u64)> = BTreeMap::new();
    for (a, b, _, _, w, d, l) in &rows {
        let (w, d, l) = (*w as u64, *d as u64, *l as u64);
        match (label_version(a), label_version(b)) {
            (Some(v), None) => {
                let e = base.entry((v, b.clone())).or_default();
                *e = (e.0 + w, e.1 + d, e.2 + l);
            }
            (None, Some(v)) => {
                let e = base.entry((v, a.clone())).or_default();
                *e = (e.0 + l, e.1 + d, e.2 + w);
            }
            _ => {}
        }
    }
    let baselines = base
        .into_iter()
        .map(|((version, opponent), (wins, draws, losses))| {
            let n = (wins + draws + losses).max(1) as f64;
            BaselineRow { version, opponent, wins, draws, losses, score: (wins as f64 + 0.5 * draws as f64) / n }
        })
        .collect();
    Ok(Some(EvalSummary { gating, ratings, baselines, accuracy }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(a_first: bool, score_a: f64) -> GameRecord {
        GameRecord { a_first, score_a, moves: vec![4, 0, 8] }
    }

    #[test]
    fn schema_rows_and_summary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eval.db");
        let mut s = EvalStore::open(&path, "tictactoe").unwrap();
        assert!(summarize(s.connection(), GatingInfo::default()).unwrap().is_none());
        // model:200 against random, recorded in both orders: 3 wins and a draw.
        s.add_games("model:200", "random", &[rec(true, 1.0), rec(false, 1.0), rec(true, 0.5)]).unwrap();
        s.add_games("random", "model:200", &[rec(true, 0.0)]).unwrap();
        s.add_games("model:200", "model:100", &[rec(true, 1.0), rec(false, 0.0)]).unwrap();
        s.add_accuracy(200, "all", "net", 4520, 452).unwrap();
        s.add_accuracy(200, "all", "net", 4520, 400).unwrap();
        s.set_meta("best_version", "200").unwrap();
        assert_eq!(s.meta("best_version").unwrap().as_deref(), Some("200"));
        drop(s);

        let s = EvalStore::open(&path, "tictactoe").unwrap();
        let gating = GatingInfo { mode: "continuous".into(), best_version: Some(200), self_play_version: Some(200) };
        let sum = summarize(s.connection(), gating).unwrap().unwrap();
        assert_eq!(sum.ratings[0].player, "random");
        assert_eq!((sum.ratings[0].elo, sum.ratings[0].elo_lo, sum.ratings[0].elo_hi), (0.0, 0.0, 0.0));
        assert_eq!(sum.ratings.len(), 3);
        let m200 = sum.ratings.iter().find(|r| r.player == "model:200").unwrap();
        assert_eq!(m200.version, Some(200));
        assert_eq!(m200.games, 6);
        assert!(m200.elo > 0.0 && m200.elo_lo < m200.elo && m200.elo < m200.elo_hi);
        assert_eq!(
            sum.baselines,
            vec![BaselineRow { version: 200, opponent: "random".into(), wins: 3, draws: 1, losses: 0, score: 0.875 }]
        );
        // The latest accuracy row of a (version, phase, mode) wins.
        assert_eq!(sum.accuracy.len(), 1);
        assert_eq!(sum.accuracy[0].errors, 400);
        assert!((sum.accuracy[0].error_rate - 400.0 / 4520.0).abs() < 1e-12);
        let json = serde_json::to_value(&sum).unwrap();
        assert_eq!(json["gating"]["mode"], "continuous");
        assert_eq!(json["ratings"][0]["version"], serde_json::Value::Null);

        // One data folder, one game.
        let e = EvalStore::open(&path, "connect4").err().unwrap().to_string();
        assert!(e.contains("tictactoe") && e.contains("connect4"), "{e}");
        let c = Connection::open(&path).unwrap();
        let n: i64 = c.query_row("SELECT COUNT(*) FROM matches", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 6);
    }
}
