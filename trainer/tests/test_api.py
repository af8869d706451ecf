import threading

import pytest
from fastapi.testclient import TestClient
from trainer.api import Control, make_app
from trainer.config import build_config
from trainer.stats import Stats


@pytest.fixture
def control(tmp_path):
    cfg = build_config("tictactoe", {"data_dir": str(tmp_path)})
    woken = []
    c = Control(cfg, Stats(tmp_path, "tictactoe"), wake=lambda: woken.append(1))
    c.woken = woken
    return c


@pytest.fixture
def client(control):
    return TestClient(make_app(control, checkpoint_timeout_s=2.0))


def test_get_config_lists_live_settings(client, control):
    r = client.get("/config")
    assert r.status_code == 200
    body = r.json()
    assert body["config"]["batch_size"] == control.cfg.batch_size
    assert set(body["live"]) == {"learning_rate", "batch_size", "sample_ratio", "publish_interval"}


def test_patch_applies_live_settings(client, control):
    r = client.patch("/config", json={"learning_rate": 5e-4, "batch_size": 128})
    assert r.status_code == 200, r.text
    assert control.cfg.learning_rate == 5e-4 and control.cfg.batch_size == 128
    assert r.json()["config"]["batch_size"] == 128
    assert control.woken  # a waiting loop is woken to see the change


@pytest.mark.parametrize(
    "body,field",
    [
        ({"learning_rate": 5.0}, "learning_rate"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 12.5}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"sample_ratio": -1}, "sample_ratio"),
        ({"publish_interval": 0}, "publish_interval"),
        ({"replay_window": 10}, "replay_window"),
    ],
)
def test_patch_rejects_invalid_values_naming_the_field(client, control, body, field):
    before = control.cfg.batch_size, control.cfg.learning_rate
    r = client.patch("/config", json={"batch_size": 64, **body} if field != "batch_size" else body)
    assert r.status_code == 422
    err = r.json()
    assert err["field"] == field and field in err["error"]
    if field != "replay_window":
        assert "[" in err["error"] and err["allowed"]["min"] <= err["allowed"]["max"]
    # all or nothing: the valid batch_size in the same body was not applied
    assert (control.cfg.batch_size, control.cfg.learning_rate) == before


def test_patch_rejects_a_non_object_body(client):
    assert client.patch("/config", json=[1, 2]).status_code == 422
    r = client.patch("/config", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()


def test_pause_and_resume(client, control):
    assert client.get("/status").json()["paused"] is False
    assert client.post("/pause").json() == {"paused": True}
    assert control.is_paused()
    assert client.get("/status").json()["paused"] is True
    assert client.post("/resume").json() == {"paused": False}
    assert not control.is_paused()


def test_status_carries_stats_figures(client, control):
    control.stats.update(step=42, policy_loss=1.5, status="training")
    body = client.get("/status").json()
    assert body["step"] == 42 and body["policy_loss"] == 1.5 and body["status"] == "training"
    assert body["game"] == "tictactoe" and "history" not in body


def test_checkpoint_waits_for_the_loop(client, control):
    def loop_side():
        while True:
            reqs = control.take_checkpoint_requests()
            if reqs:
                for r in reqs:
                    control.answer(r, {"step": 7, "path": "/x/ckpt_00000007.pt"})
                return

    t = threading.Thread(target=loop_side)
    t.start()
    r = client.post("/checkpoint")
    t.join()
    assert r.status_code == 200 and r.json()["step"] == 7


def test_checkpoint_times_out_without_a_loop(client):
    r = client.post("/checkpoint")
    assert r.status_code == 504 and "did not answer" in r.json()["error"]
