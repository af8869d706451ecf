"""The optimisation settings: LR schedules, gradient accumulation, precision and
torch.compile. Real Trainer objects on generated replay.db files; no mocks."""

import numpy as np
import onnxruntime as ort
import pytest
import torch
from test_train import FAST
from trainer.config import ConfigError, build_config
from trainer.data import ReplayDB
from trainer.optim import lr_at
from trainer.train import Trainer

from conftest import make_replay_db


def test_step_decay_schedule_values():
    cfg = build_config(
        "tictactoe",
        {
            "lr_schedule": "step",
            "learning_rate": 1e-3,
            "warmup_steps": 10,
            "lr_step_size": 100,
            "lr_step_gamma": 0.5,
            "min_lr_ratio": 0.1,
        },
    )
    assert lr_at(0, cfg) == pytest.approx(1e-4)  # warmup is shared with cosine
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(10, cfg) == lr_at(109, cfg) == pytest.approx(1e-3)  # flat until the first decay
    assert lr_at(110, cfg) == lr_at(209, cfg) == pytest.approx(5e-4)
    assert lr_at(210, cfg) == pytest.approx(2.5e-4)
    assert lr_at(310, cfg) == pytest.approx(1.25e-4)
    assert lr_at(410, cfg) == pytest.approx(1e-4)  # 0.625e-4 is below the floor
    assert lr_at(100_000, cfg) == pytest.approx(1e-4)


def test_schedule_settings_are_validated():
    with pytest.raises(ConfigError, match="lr_schedule must be cosine or step"):
        build_config("tictactoe", {"lr_schedule": "linear"})
    with pytest.raises(ConfigError, match="lr_step_gamma"):
        build_config("tictactoe", {"lr_step_gamma": 0.0})
    with pytest.raises(ConfigError, match="lr_step_size"):
        build_config("tictactoe", {"lr_step_size": 0})
    with pytest.raises(ConfigError, match="grad_accum_steps"):
        build_config("tictactoe", {"grad_accum_steps": 0})


def built_trainer(data, overrides) -> Trainer:
    """A Trainer with its model and optimizer built, without the loop."""
    t = Trainer("tictactoe", str(data), {**FAST, **overrides})
    t.db = ReplayDB(data / "replay.db", "tictactoe")
    t._build()
    return t


@pytest.mark.parametrize("batch", [32, 30])  # 30: micro-batches of unequal size (8, 8, 7, 7)
def test_accumulation_equals_the_whole_batch_gradient(tmp_path, batch):
    data = tmp_path / "data"
    make_replay_db(data, "tictactoe", n_games=80)
    # The transformer: LayerNorm is per sample, so the equality is exact (BatchNorm
    # would see micro-batch statistics).
    one = built_trainer(data, {"model": "t2", "grad_clip": 0.0, "grad_accum_steps": 1})
    four = built_trainer(data, {"model": "t2", "grad_clip": 0.0, "grad_accum_steps": 4})
    for a, b in zip(one.model.parameters(), four.model.parameters(), strict=True):
        assert torch.equal(a, b)  # same seed, same init
    sample = one.db.sample(batch, np.random.default_rng(3), augment=False)
    losses_one, _ = one.train_step(sample)
    losses_four, _ = four.train_step(sample)
    for k in ("total", "policy", "value"):
        assert losses_four[k] == pytest.approx(losses_one[k], rel=1e-5)
    for (name, a), b in zip(one.model.named_parameters(), four.model.parameters(), strict=True):
        assert a.grad is not None and b.grad is not None, name
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-6, msg=name)
    # Not vacuous: one micro-batch alone has another gradient.
    part = built_trainer(data, {"model": "t2", "grad_clip": 0.0, "grad_accum_steps": 1})
    part.train_step(one.db.sample(8, np.random.default_rng(3), augment=False))
    assert not torch.allclose(part.model.pos.grad, one.model.pos.grad, atol=1e-6)


def test_bf16_is_for_cuda_only(tmp_path):
    data = tmp_path / "data"
    make_replay_db(data, "tictactoe", n_games=80)
    t = built_trainer(data, {"device": "cpu", "bf16": True})
    assert t.use_bf16 is False
    losses, _ = t.train_step(t.db.sample(16, np.random.default_rng(0)))
    assert all(np.isfinite(v) for v in losses.values())
    assert next(t.model.parameters()).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_bf16_autocast_on_cuda(tmp_path):
    data = tmp_path / "data"
    make_replay_db(data, "tictactoe", n_games=80)
    t = built_trainer(data, {"device": "cuda", "bf16": True})
    assert t.use_bf16 is torch.cuda.is_bf16_supported()
    with t._autocast():
        logits, _ = t.train_forward(torch.zeros(4, 2, 3, 3, device="cuda"))
    assert logits.dtype == (torch.bfloat16 if t.use_bf16 else torch.float32)
    losses, _ = t.train_step(t.db.sample(16, np.random.default_rng(0)))
    assert all(np.isfinite(v) for v in losses.values())
    assert next(t.model.parameters()).dtype == torch.float32  # master weights stay fp32


def test_compiled_training_still_exports_and_checkpoints(tmp_path):
    data = tmp_path / "data"
    make_replay_db(data, "tictactoe", n_games=80)
    t = Trainer(
        "tictactoe",
        str(data),
        {**FAST, "compile": True, "max_steps": 6, "publish_interval": 3, "checkpoint_interval": 3},
    )
    assert t.run() == 0
    assert t.train_forward is not t.model  # the compiled wrapper trained...
    sess = ort.InferenceSession(str(data / "models" / "latest.onnx"), providers=["CPUExecutionProvider"])
    policy, value = sess.run(None, {"obs": np.zeros((2, 2, 3, 3), np.float32)})  # ...the plain module exported
    assert policy.shape == (2, 9) and value.shape == (2, 1)
    with torch.no_grad():
        t_policy, _ = t.model.eval()(torch.zeros(2, 2, 3, 3))
    np.testing.assert_allclose(policy, t_policy.numpy(), atol=1e-4)
    # Checkpoint keys are the plain module's (no "_orig_mod." prefix), so a run without
    # compile resumes from it.
    resumed = Trainer("tictactoe", str(data), {"control_port": 0, "compile": False, "max_steps": 6})
    resumed.run()
    assert resumed.step == 6
