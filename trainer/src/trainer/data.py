"""Reading (and trimming) the actor's replay database. Must match docs/CONTRACTS.md §5.

Every read is one SELECT in autocommit mode: an open read transaction would stop the
actor's WAL checkpoints and let replay.db-wal grow without bound.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .spec import GameSpec, SpecError

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
DB_NAME = "replay.db"


class ReplayError(RuntimeError):
    """The replay database cannot be used; the message says why and what to do."""


class NotReady(ReplayError):
    """The database is not there yet (or not yet initialised by the actor): wait."""


@dataclass
class Batch:
    obs: np.ndarray  # (B, C, H, W) float32, side to move's view
    policy: np.ndarray  # (B, A) float32, MCTS visit distribution
    value: np.ndarray  # (B,) float32, final outcome from the side to move
    ids: np.ndarray  # (B,) int64 position ids, for debugging and tests
    sym: np.ndarray  # (B,) int64 index of the symmetry applied


@dataclass
class DbStats:
    min_id: int | None
    max_id: int | None
    games: int
    newest_created_at: float | None

    @property
    def buffer_size(self) -> int:
        # Ids are dense (actor appends, trainer deletes the oldest), so this equals
        # COUNT(*) without scanning a table of a million blobs.
        if self.min_id is None or self.max_id is None:
            return 0
        return self.max_id - self.min_id + 1


class ReplayDB:
    """One connection to replay.db, validated against the game asked for."""

    def __init__(self, path: str | Path, game: str, busy_timeout_ms: int = 5_000):
        self.path = Path(path)
        self.game = game
        if not self.path.exists():
            raise NotReady(f"{self.path} does not exist yet (has the actor started?)")
        # mode=rw: never create the file, that is the actor's job.
        uri = self.path.resolve().as_uri() + "?mode=rw"
        self.conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=False
        )
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self.spec = self._read_meta()
            mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                log.warning(
                    "%s is in journal_mode=%s, not WAL as docs/CONTRACTS.md §5 asks; reads may block the actor",
                    self.path,
                    mode,
                )
        except BaseException:
            self.conn.close()
            raise
        self.obs_bytes = self.spec.obs_len * 4
        self.policy_bytes = self.spec.num_actions * 4
        self._corrupt_logged: set[int] = set()

    def close(self) -> None:
        self.conn.close()

    # --- meta ---------------------------------------------------------------------
    def _read_meta(self) -> GameSpec:
        try:
            rows = self.conn.execute("SELECT key, value FROM meta").fetchall()
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                raise NotReady(f"{self.path} has no meta table yet") from None
            raise ReplayError(f"cannot read {self.path}: {e}") from None
        except sqlite3.DatabaseError as e:
            raise ReplayError(f"{self.path} is not a SQLite database: {e}") from None
        meta = dict(rows)
        if "schema_version" not in meta:
            raise NotReady(f"{self.path}: meta has no schema_version yet")
        if meta["schema_version"] != SCHEMA_VERSION:
            raise ReplayError(
                f"{self.path} has replay schema_version {meta['schema_version']!r}; this trainer "
                f"reads schema version {SCHEMA_VERSION!r} (docs/CONTRACTS.md §5). Nothing was changed."
            )
        missing = [k for k in ("game", "spec") if k not in meta]
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing += [f"table {t}" for t in ("games", "positions") if t not in tables]
        if missing:
            # The actor may be half way through creating the database.
            raise NotReady(f"{self.path} lacks {', '.join(missing)} (not initialised yet?)")
        db_game = meta["game"]
        if db_game != self.game:
            raise ReplayError(
                f"{self.path} holds {db_game!r} games but the trainer was asked to train "
                f"{self.game!r}. A data folder belongs to one game: pick another --data-dir "
                f"or --game. Nothing was changed."
            )
        try:
            spec = GameSpec.from_json(meta["spec"])
        except SpecError as e:
            raise ReplayError(f"{self.path}: {e}") from None
        if spec.name != self.game:
            raise ReplayError(f"{self.path}: meta.game is {db_game!r} but the spec names {spec.name!r}")
        return spec

    # --- figures ------------------------------------------------------------------
    def stats(self) -> DbStats:
        # Scalar subqueries, so MIN and MAX each use the rowid b-tree ends, in one statement.
        lo, hi, games, newest = self.conn.execute(
            "SELECT (SELECT MIN(id) FROM positions), (SELECT MAX(id) FROM positions), "
            "(SELECT COUNT(*) FROM games), (SELECT created_at FROM games ORDER BY id DESC LIMIT 1)"
        ).fetchone()
        return DbStats(lo, hi, int(games), newest)

    def id_range(self) -> tuple[int | None, int | None]:
        """(MIN(id), MAX(id)) of positions, (None, None) when empty. Cheap: both ends of
        the rowid b-tree."""
        return self.conn.execute("SELECT (SELECT MIN(id) FROM positions), (SELECT MAX(id) FROM positions)").fetchone()

    # --- sampling -----------------------------------------------------------------
    def _fetch(self, ids: np.ndarray) -> list[tuple]:
        # The ids are integers we drew, so inlining them is safe and avoids SQLite's
        # bound-variable limit.
        id_list = ",".join(map(str, ids.tolist()))
        return self.conn.execute(f"SELECT id, obs, policy, value FROM positions WHERE id IN ({id_list})").fetchall()

    def _check_row(self, pid: int, obs: bytes, policy: bytes, value) -> bool:
        problem = None
        if not isinstance(obs, bytes) or len(obs) != self.obs_bytes:
            problem = (
                f"obs is {len(obs) if isinstance(obs, bytes) else type(obs).__name__} bytes, expected {self.obs_bytes}"
            )
        elif not isinstance(policy, bytes) or len(policy) != self.policy_bytes:
            size = len(policy) if isinstance(policy, bytes) else type(policy).__name__
            problem = f"policy is {size} bytes, expected {self.policy_bytes}"
        elif not isinstance(value, (int, float)) or not -1.0 <= value <= 1.0:
            problem = f"value {value!r} is not in [-1, 1]"
        if problem is None:
            return True
        if pid not in self._corrupt_logged:
            self._corrupt_logged.add(pid)
            log.warning("skipping corrupt position id=%d in %s: %s", pid, self.path, problem)
        return False

    def sample(self, n: int, rng: np.random.Generator, augment: bool = True) -> Batch:
        """Draw `n` positions uniformly (with replacement) by random id.

        Ids that are missing (a hole, or trimmed meanwhile) or whose row is corrupt are
        drawn again, so the batch is always full.
        """
        lo, hi = self.id_range()
        if lo is None:
            raise ReplayError(f"{self.path} holds no positions")
        got_ids, got_obs, got_pol, got_val = [], [], [], []
        rounds = drawn = 0
        while len(got_ids) < n:
            rounds += 1
            if rounds > 50:
                raise ReplayError(
                    f"could not fill a batch of {n} from {self.path}: {drawn} ids drawn between "
                    f"{lo} and {hi}, only {len(got_ids)} usable (missing or corrupt rows)"
                )
            want = rng.integers(lo, hi + 1, size=n - len(got_ids), dtype=np.int64)
            drawn += len(want)
            rows = {}
            for pid, obs, pol, val in self._fetch(np.unique(want)):
                if self._check_row(pid, obs, pol, val):
                    rows[pid] = (obs, pol, val)
            for pid in want.tolist():
                r = rows.get(pid)
                if r is not None:
                    got_ids.append(pid)
                    got_obs.append(r[0])
                    got_pol.append(r[1])
                    got_val.append(r[2])
        C, H, W = self.spec.obs_shape
        # bytearray, not bytes: a writable buffer, so torch.from_numpy may share it.
        obs = np.frombuffer(bytearray(b"".join(got_obs)), dtype="<f4").reshape(n, C, H * W)  # (B, C, HW)
        pol = np.frombuffer(bytearray(b"".join(got_pol)), dtype="<f4").reshape(n, self.spec.num_actions)  # (B, A)
        val = np.asarray(got_val, dtype=np.float32)  # (B,)
        sym = np.zeros(n, dtype=np.int64)
        if augment and len(self.spec.sym_cells) > 1:
            sym = rng.integers(0, len(self.spec.sym_cells), size=n)
            obs, pol = apply_symmetries(self.spec, obs, pol, sym)
        return Batch(
            obs=np.ascontiguousarray(obs, dtype=np.float32).reshape(n, C, H, W),
            policy=np.ascontiguousarray(pol, dtype=np.float32),
            value=val,
            ids=np.asarray(got_ids, dtype=np.int64),
            sym=sym,
        )

    # --- window -------------------------------------------------------------------
    def trim(self, window: int, batch: int = 5_000) -> int:
        """Delete positions older than the newest `window`, then the games left with no
        positions. Small DELETEs, each its own transaction, so the actor's writes wait
        at most one batch. Returns the number of positions deleted."""
        st = self.stats()
        if st.min_id is None or st.buffer_size <= window:
            return 0
        cutoff = st.max_id - window + 1  # keep ids >= cutoff
        deleted = 0
        start = st.min_id
        while start < cutoff:
            end = min(start + batch, cutoff)
            deleted += self.conn.execute("DELETE FROM positions WHERE id >= ? AND id < ?", (start, end)).rowcount
            start = end
        row = self.conn.execute("SELECT game_id FROM positions WHERE id >= ? ORDER BY id LIMIT 1", (cutoff,)).fetchone()
        if row is not None:
            # Games are appended in id order, so every game left without positions precedes
            # the game of the oldest kept position.
            while True:
                n = self.conn.execute(
                    "DELETE FROM games WHERE id IN (SELECT g.id FROM games g WHERE g.id < ? AND "
                    "NOT EXISTS (SELECT 1 FROM positions p WHERE p.game_id = g.id) LIMIT ?)",
                    (row[0], batch),
                ).rowcount
                if n < batch:
                    break
        if deleted:
            log.info("trimmed %d positions older than id %d (window %d)", deleted, cutoff, window)
        return deleted


def apply_symmetries(
    spec: GameSpec, obs: np.ndarray, policy: np.ndarray, sym: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Apply symmetry `sym[b]` to sample b. Gather permutations (docs/CONTRACTS.md §5):
    cell i of every plane takes cell `cells[i]`, action j takes action `actions[j]`.

    Args:
        obs: (B, C, H*W); policy: (B, A); sym: (B,) indices into the spec's symmetries.
    Returns:
        obs (B, C, H*W), policy (B, A), permuted.
    """
    cells = spec.sym_cells[sym]  # (B, HW)
    actions = spec.sym_actions[sym]  # (B, A)
    obs = np.take_along_axis(obs, cells[:, None, :], axis=2)
    policy = np.take_along_axis(policy, actions, axis=1)
    return obs, policy


class DataWatcher:
    """Wakes the training loop when replay.db (or its -wal) changes, instead of polling.
    Anything else that should interrupt a wait (a control request, a signal) calls wake()."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)
        self.event = threading.Event()
        self.observer = None

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        event = self.event

        class Handler(FileSystemEventHandler):
            def on_any_event(self, ev):
                for p in (ev.src_path, getattr(ev, "dest_path", "")):
                    if p and Path(str(p)).name.startswith(DB_NAME):
                        event.set()
                        return

        try:
            self.observer = Observer()
            self.observer.schedule(Handler(), str(self.data_dir), recursive=False)
            self.observer.daemon = True
            self.observer.start()
        except Exception as e:  # e.g. inotify limits reached: the timeout fallback still works
            log.warning("cannot watch %s for changes (%s); polling instead", self.data_dir, e)
            self.observer = None

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=5)
            self.observer = None

    def wake(self) -> None:
        self.event.set()

    def wait(self, timeout: float) -> bool:
        """Block until a change or wake() (True) or `timeout` seconds (False)."""
        fired = self.event.wait(timeout)
        self.event.clear()
        return fired


def open_when_ready(
    path: Path, game: str, watcher: DataWatcher, should_stop, timeout_s: float, on_wait=None
) -> ReplayDB | None:
    """Open replay.db, waiting (on file events) while the actor has not created it yet.
    Returns None when `should_stop()` turns true first. Raises ReplayError for a database
    that can never be used (another game, unknown schema)."""
    said = False
    while not should_stop():
        try:
            return ReplayDB(path, game)
        except NotReady as e:
            if not said:
                log.info("waiting for the actor: %s", e)
                said = True
            if on_wait is not None:
                on_wait()
            watcher.wait(timeout_s)
    return None
