//! `replay.db`: the SQLite replay database of docs/CONTRACTS.md §5 (schema must match
//! it exactly; the trainer's reader depends on it).
//!
//! The actor is the only writer of games: one writer thread ([`spawn_writer`]) owns a
//! [`Store`] and commits each finished game in one transaction. Readers (the HTTP
//! replay routes) open their own connection and run one short `SELECT` at a time, so
//! WAL checkpoints are never held back.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_core::GameSpec;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use crate::telemetry::Telemetry;

pub const SCHEMA_VERSION: &str = "1";
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path} holds {found} games, but the actor was asked to play {wanted}; use another --data-dir (one data folder is one game) or --game {found}")]
    OtherGame { path: PathBuf, found: String, wanted: String },
    #[error("{path} has replay schema version {found:?}; this actor writes version {SCHEMA_VERSION}. Move it away or use another --data-dir")]
    OtherSchema { path: PathBuf, found: String },
    #[error("{path} is not a Cartridge replay database (it has tables but no `meta` table); nothing was changed. Move it away or use another --data-dir")]
    NotReplayDb { path: PathBuf },
    #[error("{path} was written for a different {game} spec ({what}); nothing was changed. Use a fresh --data-dir")]
    OtherSpec { path: PathBuf, game: String, what: String },
    #[error("{path} has no replay database yet")]
    Missing { path: PathBuf },
    #[error("{path} is corrupt ({source}); nothing was changed. Move it away to start a new replay buffer (the trainer keeps its checkpoints), or salvage it with `sqlite3 {path} .recover | sqlite3 recovered.db` and put recovered.db in its place")]
    Corrupt { path: PathBuf, source: rusqlite::Error },
    #[error("{path} is read-only ({source}): the actor must write games and SQLite's -wal/-shm files next to it. Make the file and its folder writable (or mount the data folder read-write); nothing was changed")]
    ReadOnly { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: the disk is full ({source}); free some space (or trim the replay window); games already committed are safe")]
    Full { path: PathBuf, source: rusqlite::Error },
    #[error("{path} is locked by another process for longer than the busy timeout ({source}); is another process writing to this data folder?")]
    Locked { path: PathBuf, source: rusqlite::Error },
}

impl StoreError {
    /// Turns SQLite's error codes into what a user can act on: corrupt, read-only, full
    /// or locked. Read-only shows up as `SQLITE_READONLY` or, on a read-only mount, as
    /// `SQLITE_CANTOPEN` (the -shm file cannot be created), so the folder is probed.
    pub fn from_sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode as C;
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(C::DatabaseCorrupt | C::NotADatabase) => StoreError::Corrupt { path, source },
            Some(C::ReadOnly) => StoreError::ReadOnly { path, source },
            Some(C::CannotOpen) if !writable(&path) => StoreError::ReadOnly { path, source },
            Some(C::DiskFull) => StoreError::Full { path, source },
            Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Locked { path, source },
            _ => StoreError::Sqlite { path, source },
        }
    }
}

/// Whether `path` (if it exists) and its folder accept writes. Opening for write and
/// creating a probe file is the only check that is right for root, ACLs and read-only
/// mounts alike.
fn writable(path: &Path) -> bool {
    if path.exists() && std::fs::OpenOptions::new().write(true).open(path).is_err() {
        return false;
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

/// One position of a finished game, with its training targets.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionRecord {
    pub ply: u32,
    /// `C × H × W` floats (§2).
    pub obs: Vec<f32>,
    /// MCTS visit distribution over all actions.
    pub policy: Vec<f32>,
    /// Final outcome from this position's side to move: +1/0/-1.
    pub value: f32,
    /// The search's root value estimate, side to move.
    pub root_value: f32,
}

/// A finished self-play game, ready to write.
#[derive(Clone, Debug, PartialEq)]
pub struct FinishedGame {
    pub created_at: f64,
    pub model_version: Option<i64>,
    pub moves: Vec<u16>,
    /// +1 first player won, -1 second won, 0 draw.
    pub outcome: i8,
    pub positions: Vec<PositionRecord>,
}

/// A `games` row, as the replay routes return it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct GameRow {
    pub id: i64,
    /// Unix seconds.
    pub created_at: f64,
    /// Step of the model that played it; null: no model.
    pub model_version: Option<i64>,
    pub num_moves: i64,
    /// +1 first player won, -1 second won, 0 draw.
    #[schema(minimum = -1, maximum = 1)]
    pub outcome: i64,
    /// Every move from the initial position.
    pub moves: Vec<i64>,
}

/// A `positions` row without the observation.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PositionRow {
    pub ply: i64,
    /// MCTS visit distribution over the actions.
    pub policy: Vec<f32>,
    /// MCTS root value estimate, side to move.
    pub root_value: f64,
    /// Final outcome from the side to move: +1/0/-1.
    pub value: f64,
}

pub fn f32s_to_blob(xs: &[f32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn blob_to_f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE games (
  id            INTEGER PRIMARY KEY,
  created_at    REAL    NOT NULL,
  model_version INTEGER,
  num_moves     INTEGER NOT NULL,
  outcome       INTEGER NOT NULL,
  moves         TEXT    NOT NULL
);
CREATE TABLE positions (
  id          INTEGER PRIMARY KEY,
  game_id     INTEGER NOT NULL,
  ply         INTEGER NOT NULL,
  obs         BLOB    NOT NULL,
  policy      BLOB    NOT NULL,
  value       REAL    NOT NULL,
  root_value  REAL    NOT NULL
);
CREATE INDEX positions_game ON positions(game_id);
";

/// The writer's connection to `replay.db`.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens `path`, creating the schema and `meta` rows if the file is new. A database
    /// of another game, another schema version or another spec is refused and left
    /// untouched.
    pub fn open(path: &Path, spec: &GameSpec) -> Result<Store, StoreError> {
        let sql = |source| StoreError::from_sqlite(path, source);
        // Refuse a file that is not writable before SQLite gets to it: a read-only
        // open would only fail at the first game.
        if path.exists() && !writable(path) {
            return Err(StoreError::ReadOnly {
                path: path.to_path_buf(),
                source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY), None),
            });
        }
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
        // NORMAL in WAL mode: a committed game survives a process kill (only a power cut
        // can lose the last transactions), and commits stay cheap.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;

        let has_meta: bool = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(sql)?
            > 0;
        if !has_meta {
            let tables: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_master WHERE type='table'", [], |r| r.get(0))
                .map_err(sql)?;
            if tables > 0 {
                return Err(StoreError::NotReplayDb { path: path.to_path_buf() });
            }
            let spec_json = serde_json::to_string(spec).expect("GameSpec serialises");
            let tx = conn.unchecked_transaction().map_err(sql)?;
            tx.execute_batch(SCHEMA).map_err(sql)?;
            for (k, v) in [("schema_version", SCHEMA_VERSION), ("game", spec.name), ("spec", spec_json.as_str())] {
                tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![k, v]).map_err(sql)?;
            }
            tx.commit().map_err(sql)?;
        } else {
            check_meta(&conn, path, spec)?;
            // A damaged file (a truncated copy, a disk fault) would otherwise fail at some
            // later commit. quick_check reads every page once: about a second per few
            // hundred MB, paid only at start.
            let t = Instant::now();
            let verdict: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0)).map_err(sql)?;
            if verdict != "ok" {
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    source: rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                        Some(format!("quick_check: {verdict}")),
                    ),
                });
            }
            tracing::debug!("replay.db quick_check ok in {:.2} s", t.elapsed().as_secs_f64());
        }
        Ok(Store { conn, path: path.to_path_buf() })
    }

    /// Writes one finished game and its positions in one transaction; returns its id.
    pub fn write_game(&mut self, g: &FinishedGame) -> Result<i64, StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::from_sqlite(&path, source);
        let tx = self.conn.transaction().map_err(sql)?;
        let moves = serde_json::to_string(&g.moves).expect("moves serialise");
        tx.execute(
            "INSERT INTO games (created_at, model_version, num_moves, outcome, moves) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![g.created_at, g.model_version, g.moves.len() as i64, g.outcome as i64, moves],
        )
        .map_err(sql)?;
        let id = tx.last_insert_rowid();
        {
            let mut stmt = tx
                .prepare_cached("INSERT INTO positions (game_id, ply, obs, policy, value, root_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(sql)?;
            for p in &g.positions {
                stmt.execute(params![
                    id,
                    p.ply as i64,
                    f32s_to_blob(&p.obs),
                    f32s_to_blob(&p.policy),
                    p.value as f64,
                    p.root_value as f64
                ])
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(id)
    }
}

/// Refuses a database of another game, schema or spec.
fn check_meta(conn: &Connection, path: &Path, spec: &GameSpec) -> Result<(), StoreError> {
    let sql = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
    let get = |k: &str| -> Result<Option<String>, StoreError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0)).optional().map_err(sql)
    };
    let version = get("schema_version")?.unwrap_or_default();
    if version != SCHEMA_VERSION {
        return Err(StoreError::OtherSchema { path: path.to_path_buf(), found: version });
    }
    let game = get("game")?.unwrap_or_default();
    if game != spec.name {
        return Err(StoreError::OtherGame { path: path.to_path_buf(), found: game, wanted: spec.name.to_string() });
    }
    // The trainer shapes its network from the stored spec; positions of another shape
    // would not fit. Other differences (symmetry names, display name) are harmless.
    if let Some(stored) = get("spec")? {
        let v: serde_json::Value = serde_json::from_str(&stored).unwrap_or(serde_json::Value::Null);
        let ours = serde_json::to_value(spec).expect("GameSpec serialises");
        for key in ["obs_version", "obs_channels", "rows", "cols", "num_actions"] {
            if v.get(key) != ours.get(key) {
                return Err(StoreError::OtherSpec {
                    path: path.to_path_buf(),
                    game,
                    what: format!(
                        "stored {key} = {}, this actor's = {}",
                        v.get(key).unwrap_or(&serde_json::Value::Null),
                        ours[key]
                    ),
                });
            }
        }
    }
    Ok(())
}

/// For `actor serve`, which never writes: refuses an existing `replay.db` of another
/// game, schema or spec (a missing one is fine: self-play has not started yet).
pub fn check_existing(path: &Path, spec: &GameSpec) -> Result<(), StoreError> {
    match open_reader(path) {
        Ok(conn) => {
            let has_meta: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'", [], |r| r.get(0))
                .map_err(|source| StoreError::Sqlite { path: path.to_path_buf(), source })?;
            if has_meta == 0 {
                return Err(StoreError::NotReplayDb { path: path.to_path_buf() });
            }
            check_meta(&conn, path, spec)
        }
        Err(StoreError::Missing { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A read-only connection for the replay routes; `Missing` before any game is written.
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing { path: path.to_path_buf() });
    }
    let sql = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    Ok(conn)
}

fn row_to_game(r: &rusqlite::Row<'_>) -> rusqlite::Result<GameRow> {
    let moves: String = r.get(5)?;
    Ok(GameRow {
        id: r.get(0)?,
        created_at: r.get(1)?,
        model_version: r.get(2)?,
        num_moves: r.get(3)?,
        outcome: r.get(4)?,
        moves: serde_json::from_str(&moves).unwrap_or_default(),
    })
}

/// Which games a replay listing shows; every bound is inclusive, `None` is no bound.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GameFilter {
    /// Step of the model that played (a bound leaves out games played without a model).
    pub model_min: Option<i64>,
    pub model_max: Option<i64>,
    /// +1 first player won, -1 second won, 0 draw.
    pub outcome: Option<i64>,
    pub moves_min: Option<i64>,
    pub moves_max: Option<i64>,
}

impl GameFilter {
    /// The SQL condition and its parameters.
    fn sql(&self) -> (String, Vec<i64>) {
        let mut cond = vec!["1".to_string()];
        let mut params = Vec::new();
        let mut bound = |expr: &str, v: Option<i64>| {
            if let Some(v) = v {
                params.push(v);
                cond.push(format!("{expr} ?{}", params.len()));
            }
        };
        bound("model_version >=", self.model_min);
        bound("model_version <=", self.model_max);
        bound("outcome =", self.outcome);
        bound("num_moves >=", self.moves_min);
        bound("num_moves <=", self.moves_max);
        (cond.join(" AND "), params)
    }
}

/// One page of a replay listing.
#[derive(Clone, Debug, PartialEq)]
pub struct GamePage {
    /// Newest first.
    pub games: Vec<GameRow>,
    /// Games that match the filter, on every page.
    pub total: i64,
    /// Of those, games newer than this page's first one (0 on the first page).
    pub newer: i64,
}

/// The newest `limit` games that match `filter` and whose id is below `before`, with
/// how many match in all and how many of them are newer than the page (so a page can
/// say "games 21–40 of 1 234"). Ids only grow, so paging by `before` stays put while
/// self-play adds games.
pub fn find_games(
    conn: &Connection,
    filter: &GameFilter,
    before: Option<i64>,
    limit: u32,
) -> rusqlite::Result<GamePage> {
    let (cond, params) = filter.sql();
    let n = params.len();
    let mut page_params = params.clone();
    page_params.push(before.unwrap_or(i64::MAX));
    page_params.push(limit as i64);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, created_at, model_version, num_moves, outcome, moves FROM games \
         WHERE {cond} AND id < ?{} ORDER BY id DESC LIMIT ?{}",
        n + 1,
        n + 2
    ))?;
    let games =
        stmt.query_map(rusqlite::params_from_iter(page_params), row_to_game)?.collect::<rusqlite::Result<Vec<_>>>()?;
    let count = |extra: &str, last: Option<i64>| -> rusqlite::Result<i64> {
        let mut p = params.clone();
        p.extend(last);
        conn.query_row(&format!("SELECT COUNT(*) FROM games WHERE {cond}{extra}"), rusqlite::params_from_iter(p), |r| {
            r.get(0)
        })
    };
    let total = count("", None)?;
    let newer = match games.first() {
        Some(first) => count(&format!(" AND id > ?{}", n + 1), Some(first.id))?,
        // Past the end: every matching game is newer.
        None => total,
    };
    Ok(GamePage { games, total, newer })
}

/// One game and whatever of its positions the trainer has not trimmed yet.
pub fn game_with_positions(conn: &Connection, id: i64) -> rusqlite::Result<Option<(GameRow, Vec<PositionRow>)>> {
    let game = conn
        .query_row(
            "SELECT id, created_at, model_version, num_moves, outcome, moves FROM games WHERE id = ?1",
            [id],
            row_to_game,
        )
        .optional()?;
    let Some(game) = game else { return Ok(None) };
    let mut stmt =
        conn.prepare_cached("SELECT ply, policy, root_value, value FROM positions WHERE game_id = ?1 ORDER BY ply")?;
    let positions = stmt
        .query_map([id], |r| {
            let blob: Vec<u8> = r.get(1)?;
            Ok(PositionRow { ply: r.get(0)?, policy: blob_to_f32s(&blob), root_value: r.get(2)?, value: r.get(3)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some((game, positions)))
}

/// Runs the single writer until every sender is dropped; see [`spawn_writer_until`].
/// Without a stop flag a game that cannot be written is retried until it can.
pub fn spawn_writer(
    store: Store,
    rx: crossbeam_channel::Receiver<FinishedGame>,
    telemetry: Arc<Telemetry>,
) -> std::thread::JoinHandle<()> {
    spawn_writer_until(store, rx, telemetry, Arc::new(AtomicBool::new(false)))
}

/// Longest pause between two attempts at a game that could not be written.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);
/// How often a lasting write failure is logged again.
const FAILURE_LOG_EVERY: Duration = Duration::from_secs(30);

/// Runs the single writer: takes finished games from `rx` until every sender is
/// dropped, committing each in its own transaction.
///
/// A game that cannot be written (the database locked past the busy timeout, a full
/// disk, a read-only file) is kept and retried with a growing pause. Meanwhile the
/// bounded channel fills and self-play waits on it, so no finished game is thrown
/// away, no CPU is spent on games that could not be stored, and the log gets one line
/// per [`FAILURE_LOG_EVERY`] rather than one per game. Once `stop` is set, games that
/// still cannot be written are dropped (never committed, so nothing committed is lost)
/// so that shutdown does not wait on the disk.
pub fn spawn_writer_until(
    mut store: Store,
    rx: crossbeam_channel::Receiver<FinishedGame>,
    telemetry: Arc<Telemetry>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("replay-writer".into())
        .spawn(move || {
            let mut failing_since: Option<Instant> = None;
            let mut dropped = 0u64;
            let mut delay = Duration::from_millis(50);
            let mut last_log: Option<Instant> = None;
            for g in rx {
                loop {
                    if failing_since.is_some() && stop.load(Ordering::Relaxed) {
                        dropped += 1;
                        break;
                    }
                    match store.write_game(&g) {
                        Ok(_) => {
                            telemetry.record_written(g.positions.len());
                            delay = Duration::from_millis(50);
                            if let Some(t) = failing_since.take() {
                                last_log = None;
                                tracing::info!(
                                    "replay.db accepts games again after {:.1} s; self-play resumes",
                                    t.elapsed().as_secs_f64()
                                );
                            }
                            break;
                        }
                        Err(e) => {
                            failing_since.get_or_insert_with(Instant::now);
                            if last_log.is_none_or(|t| t.elapsed() >= FAILURE_LOG_EVERY) {
                                tracing::error!(
                                    "cannot write a game to replay.db: {e} (the game is kept and retried; self-play waits until it can be written)"
                                );
                                last_log = Some(Instant::now());
                            }
                            if stop.load(Ordering::Relaxed) {
                                continue;
                            }
                            std::thread::sleep(delay);
                            delay = (delay * 2).min(MAX_RETRY_DELAY);
                        }
                    }
                }
            }
            if dropped > 0 {
                tracing::error!("stopping: {dropped} finished games could not be written to replay.db and were dropped");
            }
        })
        .expect("spawn writer thread")
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::{Game, GameKind};

    fn spec() -> &'static GameSpec {
        GameKind::TicTacToe.spec()
    }

    fn sample_game() -> FinishedGame {
        FinishedGame {
            created_at: 1.5,
            model_version: Some(7),
            moves: vec![4, 0],
            outcome: 0,
            positions: vec![PositionRecord {
                ply: 0,
                obs: vec![0.0; 18],
                policy: vec![1.0 / 9.0; 9],
                value: 0.0,
                root_value: 0.1,
            }],
        }
    }

    #[test]
    fn creates_schema_and_meta_and_round_trips_a_game() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.db");
        let mut s = Store::open(&path, spec()).unwrap();
        let id = s.write_game(&sample_game()).unwrap();
        let r = open_reader(&path).unwrap();
        let meta: Vec<(String, String)> = r
            .prepare("SELECT key, value FROM meta ORDER BY key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|x| x.unwrap())
            .collect();
        assert_eq!(meta[0], ("game".into(), "tictactoe".into()));
        assert_eq!(meta[1], ("schema_version".into(), "1".into()));
        assert_eq!(meta[2].1, serde_json::to_string(engine_core::tictactoe::TicTacToe::spec()).unwrap());
        let mode: String = r.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let (g, pos) = game_with_positions(&r, id).unwrap().unwrap();
        assert_eq!(g.moves, vec![4, 0]);
        assert_eq!(g.model_version, Some(7));
        assert_eq!(pos.len(), 1);
        assert!((pos[0].policy.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(find_games(&r, &GameFilter::default(), None, 10).unwrap().games.len(), 1);
        // Reopening the same game works and keeps the data.
        drop(s);
        let _s = Store::open(&path, spec()).unwrap();
        assert_eq!(find_games(&r, &GameFilter::default(), None, 10).unwrap().games.len(), 1);
    }

    #[test]
    fn game_pages_filter_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.db");
        let mut s = Store::open(&path, spec()).unwrap();
        // Ten games: model steps 0, 100, ..., 900 (the first without a model), outcomes
        // cycling first/second/draw, lengths 5..=14.
        for i in 0..10i64 {
            let mut g = sample_game();
            g.model_version = (i > 0).then_some(i * 100);
            g.outcome = [1, -1, 0][(i % 3) as usize];
            g.moves = vec![0; 5 + i as usize];
            s.write_game(&g).unwrap();
        }
        let r = open_reader(&path).unwrap();
        let ids = |p: &GamePage| p.games.iter().map(|g| g.id).collect::<Vec<_>>();
        let all = GameFilter::default();
        let first = find_games(&r, &all, None, 4).unwrap();
        assert_eq!((ids(&first), first.total, first.newer), (vec![10, 9, 8, 7], 10, 0));
        let second = find_games(&r, &all, Some(7), 4).unwrap();
        assert_eq!((ids(&second), second.total, second.newer), (vec![6, 5, 4, 3], 10, 4));
        let past = find_games(&r, &all, Some(1), 4).unwrap();
        assert_eq!((ids(&past), past.newer), (vec![], 10));
        // Ids 1..=10 hold model step (id-1)*100, outcome [1,-1,0][(id-1)%3], id+4 moves.
        let draws = GameFilter { outcome: Some(0), ..all.clone() };
        let p = find_games(&r, &draws, None, 10).unwrap();
        assert_eq!((ids(&p), p.total), (vec![9, 6, 3], 3));
        let p = find_games(&r, &draws, Some(9), 1).unwrap();
        assert_eq!((ids(&p), p.total, p.newer), (vec![6], 3, 1));
        let models = GameFilter { model_min: Some(0), model_max: Some(300), ..all.clone() };
        assert_eq!(ids(&find_games(&r, &models, None, 10).unwrap()), vec![4, 3, 2], "no model: left out");
        let long = GameFilter { moves_min: Some(12), moves_max: Some(13), ..all.clone() };
        assert_eq!(ids(&find_games(&r, &long, None, 10).unwrap()), vec![9, 8]);
        let none = GameFilter { moves_min: Some(100), ..all };
        let p = find_games(&r, &none, None, 10).unwrap();
        assert_eq!((p.games.len(), p.total, p.newer), (0, 0, 0));
    }

    #[test]
    fn refuses_another_game_and_leaves_it_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(SCHEMA).unwrap();
            c.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('game', 'connect4'), ('spec', '{}')", [])
                .unwrap();
        }
        let err = Store::open(&path, spec()).unwrap_err().to_string();
        assert!(err.contains("connect4") && err.contains("tictactoe"), "{err}");
        let c = Connection::open(&path).unwrap();
        let g: String = c.query_row("SELECT value FROM meta WHERE key='game'", [], |r| r.get(0)).unwrap();
        assert_eq!(g, "connect4");
    }

    #[test]
    fn check_existing_accepts_missing_and_same_game_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.db");
        check_existing(&path, spec()).unwrap();
        assert!(!path.exists(), "the check creates nothing");
        Store::open(&path, spec()).unwrap();
        check_existing(&path, spec()).unwrap();
        if let Ok(c4) = GameKind::from_name("connect4") {
            let err = check_existing(&path, c4.spec()).unwrap_err().to_string();
            assert!(err.contains("tictactoe") && err.contains("connect4"), "{err}");
        }
    }

    #[test]
    fn refuses_unknown_schema_and_foreign_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('schema_version', '2'), ('game', 'tictactoe');").unwrap();
        }
        let err = Store::open(&path, spec()).unwrap_err().to_string();
        assert!(err.contains("version \"2\""), "{err}");
        let other = dir.path().join("other.db");
        Connection::open(&other).unwrap().execute_batch("CREATE TABLE notes (x TEXT)").unwrap();
        let err = Store::open(&other, spec()).unwrap_err().to_string();
        assert!(err.contains("not a Cartridge replay database"), "{err}");
    }

    #[test]
    fn blobs_are_little_endian_f32() {
        let b = f32s_to_blob(&[1.0, -2.5]);
        assert_eq!(b, [0, 0, 128, 63, 0, 0, 32, 192]);
        assert_eq!(blob_to_f32s(&b), vec![1.0, -2.5]);
    }
}
