import hashlib
import json
import logging
import sqlite3

import numpy as np
import pytest
from trainer.data import NotReady, ReplayDB, ReplayError, apply_symmetries
from trainer.spec import GameSpec

from conftest import append_games, create_db, f32, make_replay_db, tictactoe_spec


def test_sample_shapes_and_contents(ttt_db):
    db = ReplayDB(ttt_db, "tictactoe")
    b = db.sample(256, np.random.default_rng(1), augment=True)
    assert b.obs.shape == (256, 2, 3, 3) and b.obs.dtype == np.float32
    assert b.policy.shape == (256, 9) and b.value.shape == (256,)
    np.testing.assert_allclose(b.policy.sum(axis=1), 1.0, atol=1e-5)
    assert set(np.unique(b.value)) <= {-1.0, 0.0, 1.0}
    # Planes are disjoint 0/1 masks, and symmetry keeps them so.
    assert ((b.obs[:, 0] * b.obs[:, 1]) == 0).all()
    assert b.ids.min() >= 1 and b.ids.max() <= 600
    assert len(set(b.sym.tolist())) > 1  # symmetries actually drawn
    db.close()


def test_known_position_is_rotated_and_reflected(tmp_path):
    # X (side to move) on a1 = cell 0 (top-left), O on b1 = cell 1; all visits on a3 = cell 6
    # (bottom-left). One position only, so every sample is this one.
    spec = tictactoe_spec()
    conn = create_db(tmp_path / "replay.db", spec)
    obs = np.zeros((2, 9), np.float32)
    obs[0, 0] = 1
    obs[1, 1] = 1
    policy = np.zeros(9, np.float32)
    policy[6] = 1
    conn.execute("INSERT INTO games VALUES (1, 0, NULL, 1, 0, '[4]')")
    conn.execute("INSERT INTO positions VALUES (1, 1, 0, ?, ?, 1.0, 0.0)", (f32(obs), f32(policy)))
    conn.close()

    db = ReplayDB(tmp_path / "replay.db", "tictactoe")
    b = db.sample(200, np.random.default_rng(0), augment=True)
    names = db.spec.symmetry_names
    # Worked out by hand on the board (rows top to bottom):
    #   identity   X O .     rot90 (clockwise)  * . X     flip_h  . O X
    #              . . .                        . . O             . . .
    #              * . .                        . . .             . . *
    # where * marks the visits. rot90 gathers cell (r, c) from (2 - c, r).
    expected = {  # name: (X cell, O cell, visit cell)
        "identity": (0, 1, 6),
        "rot90": (2, 5, 0),
        "rot180": (8, 7, 2),
        "rot270": (6, 3, 8),
        "flip_h": (2, 1, 8),
        "flip_v": (6, 7, 0),
        "transpose": (0, 3, 2),
        "anti_transpose": (8, 5, 6),
    }
    seen = set()
    for i in range(len(b.ids)):
        name = names[b.sym[i]]
        seen.add(name)
        x, o, v = expected[name]
        assert b.obs[i, 0].reshape(9).nonzero()[0].tolist() == [x], name
        assert b.obs[i, 1].reshape(9).nonzero()[0].tolist() == [o], name
        assert b.policy[i].nonzero()[0].tolist() == [v], name
    assert seen == set(expected)
    # And numpy's own clockwise rotation agrees with the spec's rot90.
    k = names.index("rot90")
    plane = obs[0].reshape(3, 3)
    rot = b.obs[b.sym == k][0, 0]
    np.testing.assert_array_equal(rot, np.rot90(plane, -1))
    db.close()


def test_no_augment_returns_rows_unchanged(ttt_db):
    db = ReplayDB(ttt_db, "tictactoe")
    b = db.sample(32, np.random.default_rng(3), augment=False)
    assert (b.sym == 0).all()
    for i, pid in enumerate(b.ids.tolist()):
        obs, pol = db.conn.execute("SELECT obs, policy FROM positions WHERE id = ?", (pid,)).fetchone()
        np.testing.assert_array_equal(b.obs[i].reshape(-1), np.frombuffer(obs, "<f4"))
        np.testing.assert_array_equal(b.policy[i], np.frombuffer(pol, "<f4"))
    db.close()


def test_apply_symmetries_gathers_per_sample():
    spec = GameSpec.from_json(json.dumps(tictactoe_spec()))
    obs = np.arange(2 * 2 * 9, dtype=np.float32).reshape(2, 2, 9)
    pol = np.arange(18, dtype=np.float32).reshape(2, 9)
    sym = np.array([0, 4])  # identity, flip_h
    o, p = apply_symmetries(spec, obs, pol, sym)
    np.testing.assert_array_equal(o[0], obs[0])
    np.testing.assert_array_equal(o[1, 0], obs[1, 0][[2, 1, 0, 5, 4, 3, 8, 7, 6]])
    np.testing.assert_array_equal(p[1], pol[1][[2, 1, 0, 5, 4, 3, 8, 7, 6]])


def test_holes_are_resampled(ttt_db):
    conn = sqlite3.connect(ttt_db)
    conn.execute("DELETE FROM positions WHERE id % 3 = 0")
    conn.commit()
    conn.close()
    db = ReplayDB(ttt_db, "tictactoe")
    b = db.sample(500, np.random.default_rng(0))
    assert len(b.ids) == 500 and (b.ids % 3 != 0).all()
    db.close()


def test_corrupt_row_is_skipped_and_logged(ttt_db, caplog):
    conn = sqlite3.connect(ttt_db)
    conn.execute("UPDATE positions SET obs = x'0000' WHERE id = 5")
    conn.execute("UPDATE positions SET policy = x'00000000' WHERE id = 7")
    conn.commit()
    conn.close()
    db = ReplayDB(ttt_db, "tictactoe")
    rng = np.random.default_rng(0)
    with caplog.at_level(logging.WARNING):
        ids = np.concatenate([db.sample(600, rng).ids for _ in range(5)])
    assert 5 not in ids and 7 not in ids
    assert "corrupt position id=5" in caplog.text and "obs is 2 bytes, expected 72" in caplog.text
    assert "corrupt position id=7" in caplog.text
    db.close()


def test_all_rows_corrupt_is_an_error_not_a_hang(tmp_path):
    spec = tictactoe_spec()
    conn = create_db(tmp_path / "replay.db", spec)
    conn.execute("INSERT INTO games VALUES (1, 0, NULL, 1, 0, '[4]')")
    conn.execute("INSERT INTO positions VALUES (1, 1, 0, x'00', x'00', 1.0, 0.0)")
    conn.close()
    db = ReplayDB(tmp_path / "replay.db", "tictactoe")
    with pytest.raises(ReplayError, match="could not fill a batch"):
        db.sample(4, np.random.default_rng(0))


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_refuses_another_games_database(tmp_path):
    path = make_replay_db(tmp_path, "connect4", n_games=3)
    before = digest(path)
    with pytest.raises(ReplayError) as e:
        ReplayDB(path, "tictactoe")
    assert "'connect4'" in str(e.value) and "'tictactoe'" in str(e.value)
    assert digest(path) == before


def test_refuses_unknown_schema_version(tmp_path):
    path = make_replay_db(tmp_path, "tictactoe", n_games=3, schema_version="2")
    with pytest.raises(ReplayError, match="schema_version '2'"):
        ReplayDB(path, "tictactoe")


def test_missing_database_and_missing_meta_mean_wait(tmp_path):
    with pytest.raises(NotReady):
        ReplayDB(tmp_path / "replay.db", "tictactoe")
    assert not (tmp_path / "replay.db").exists()  # never created by the trainer
    conn = sqlite3.connect(tmp_path / "replay.db", isolation_level=None)  # file there, tables not yet
    with pytest.raises(NotReady, match="no meta table"):
        ReplayDB(tmp_path / "replay.db", "tictactoe")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('game', 'tictactoe')")
    with pytest.raises(NotReady, match="lacks spec, table games, table positions"):
        ReplayDB(tmp_path / "replay.db", "tictactoe")
    conn.close()


def test_not_a_database(tmp_path):
    (tmp_path / "replay.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ReplayError, match="not a SQLite database"):
        ReplayDB(tmp_path / "replay.db", "tictactoe")


def test_bad_spec_is_refused(tmp_path):
    spec = tictactoe_spec()
    spec["symmetries"][1]["cells"] = [0] * 9
    create_db(tmp_path / "replay.db", spec).close()
    with pytest.raises(ReplayError, match="rot90.*not a permutation"):
        ReplayDB(tmp_path / "replay.db", "tictactoe")


def test_trim_keeps_newest_window_and_drops_empty_games(ttt_db):
    db = ReplayDB(ttt_db, "tictactoe")  # 100 games x 6 positions, ids 1..600
    deleted = db.trim(window=250, batch=7)  # a small batch exercises the DELETE loop
    assert deleted == 350
    lo, hi = db.id_range()
    assert (lo, hi) == (351, 600)
    assert db.stats().buffer_size == 250
    # Position 351 is ply 2 of game 59: games 1..58 have no positions left and go.
    games = [g for (g,) in db.conn.execute("SELECT id FROM games ORDER BY id")]
    assert games == list(range(59, 101))
    assert db.trim(window=250) == 0  # nothing more to do
    db.close()


def test_stats(ttt_db):
    db = ReplayDB(ttt_db, "tictactoe")
    st = db.stats()
    assert (st.min_id, st.max_id, st.games, st.buffer_size) == (1, 600, 100, 600)
    assert st.newest_created_at > 0
    append_games(db.conn, tictactoe_spec(), 2, np.random.default_rng(9))
    assert db.stats().buffer_size == 612
    db.close()
