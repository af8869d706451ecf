"""The int8 model: static quantization, its check against fp32, publishing it beside
latest.onnx (before it), and `trainer quantize` (real ONNX Runtime, no mocks)."""

import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from test_train import FAST
from trainer.export import LATEST_INT8, Int8Inputs, Publisher, export_onnx
from trainer.model import arch_name, build_model
from trainer.quantize import QuantizeError, compare, int8_name, quantize_checked, quantize_int8
from trainer.spec import GameSpec
from trainer.train import Trainer

from conftest import connect4_spec, make_replay_db


@pytest.fixture(scope="module")
def c4():
    spec = GameSpec.from_json(json.dumps(connect4_spec()))
    torch.manual_seed(0)
    model = build_model("b4c32", spec.obs_shape, spec.num_actions).eval()
    # Spread the policy logits, so the top move is not a near tie everywhere as in a
    # freshly initialised network.
    with torch.no_grad():
        model.policy_fc.weight.mul_(20.0)
    rng = np.random.default_rng(0)
    obs = np.zeros((3072, *spec.obs_shape), np.float32)
    cells = rng.integers(0, 3, size=(3072, *spec.obs_shape[1:]))
    obs[:, 0][cells == 1] = 1.0
    obs[:, 1][cells == 2] = 1.0
    return spec, model, export_onnx(model, spec, arch_name("b4c32"), step=700), obs


def props(data: bytes) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load_from_string(data).metadata_props}


def test_int8_model_keeps_the_contract_and_agrees_with_fp32(c4):
    spec, _, fp32, obs = c4
    int8, check = quantize_checked(fp32, obs[:1024], obs[1024:], tie_margin=0.02)
    meta = props(int8)
    assert meta["cartridge.precision"] == "int8"
    for key, value in props(fp32).items():
        if key.startswith("cartridge."):
            assert meta[key] == value, key
    sess = ort.InferenceSession(int8, providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["obs"] and [o.name for o in sess.get_outputs()] == [
        "policy",
        "value",
    ]
    policy, value = sess.run(None, {"obs": obs[:5]})
    assert policy.shape == (5, spec.num_actions) and value.shape == (5, 1)
    assert check.positions == 2048
    assert check.top_move_agreement >= 0.9, check
    assert check.near_top_agreement >= check.top_move_agreement, check
    assert check.value_mae <= 0.05, check
    again = compare(fp32, int8, obs[1024:], tie_margin=0.02)
    assert (check.near_top_agreement, check.top_move_agreement, check.value_mae) == pytest.approx(
        (again.near_top_agreement, again.top_move_agreement, again.value_mae)
    )


def test_near_ties_count_as_agreement_only_within_the_margin(c4):
    """A model whose top move differs from fp32's only where fp32 rates both moves
    within a few points passes the near-top check but not plain agreement."""
    spec, model, fp32, obs = c4
    held = obs[1024:]
    with torch.no_grad():
        logits = model(torch.from_numpy(held))[0]
    prob = torch.softmax(logits.double(), dim=1)
    top2 = prob.topk(2, dim=1)
    # Raise the bias of one action by a little: the argmax moves to it exactly where it
    # was second and close behind.
    nudged = build_model("b4c32", spec.obs_shape, spec.num_actions).eval()
    nudged.load_state_dict(model.state_dict())
    action = int(top2.indices[:, 1].mode().values)
    with torch.no_grad():
        nudged.policy_fc.bias[action] += 0.1
    other = export_onnx(nudged, spec, arch_name("b4c32"), step=700)

    check = compare(fp32, other, held, tie_margin=0.06)
    assert check.top_move_agreement < 0.999, check  # some top moves changed
    gaps = (top2.values[:, 0] - top2.values[:, 1]).numpy()
    switched = (top2.indices[:, 1] == action).numpy() & (gaps < 0.06)
    assert 0 < check.worst_gap < 0.06 and check.near_top_agreement == 1.0, check
    assert switched.any()
    strict = compare(fp32, other, held, tie_margin=0.0)
    assert strict.near_top_agreement == pytest.approx(strict.top_move_agreement)
    assert not strict.passes(0.999, 2.0) and check.passes(0.999, 2.0)


def test_every_convolution_is_quantized(c4):
    """A convolution left in fp32 between int8 ones (its bias behind an Identity, as the
    exporter writes shared all-zero biases) ran the whole network at a third of the fp32
    speed; every Conv must read quantized weights and activations."""
    spec, _, fp32, obs = c4
    torch.manual_seed(1)
    fresh = export_onnx(build_model("b4c32", spec.obs_shape, spec.num_actions), spec, "resnet-b4c32", step=1)
    assert any(n.op_type == "Identity" for n in onnx.load_from_string(fresh).graph.node)
    for data in (fp32, fresh):
        graph = onnx.load_from_string(quantize_int8(data, obs[:256])).graph
        made_by = {o: n.op_type for n in graph.node for o in n.output}
        convs = [n for n in graph.node if n.op_type == "Conv"]
        assert len(convs) == 11
        for n in convs:
            assert made_by.get(n.input[0]) == "DequantizeLinear", n.name
            assert made_by.get(n.input[1]) == "DequantizeLinear", n.name


def test_publish_writes_the_int8_model_beside_latest_or_removes_a_stale_one(tmp_path, c4):
    spec, model, _, obs = c4
    pub = Publisher(tmp_path, spec, "resnet-b4c32", tolerance=1e-3)
    ok = Int8Inputs(obs[:512], obs[512:1536], min_agreement=0.0, max_value_error=2.0, tie_margin=0.02)
    pub.publish(model, 10, obs[:8], ok)
    models = tmp_path / "models"
    assert LATEST_INT8 == "latest.int8.onnx" == int8_name("latest.onnx")
    int8 = (models / LATEST_INT8).read_bytes()
    assert props(int8)["cartridge.step"] == "10" and props(int8)["cartridge.precision"] == "int8"
    assert not any(p.name.endswith(".tmp") for p in models.iterdir())

    # A failed check: latest.onnx moves on, the int8 file of step 10 goes.
    failing = Int8Inputs(obs[:512], obs[512:1536], min_agreement=1.01, max_value_error=2.0, tie_margin=0.02)
    pub.publish(model, 20, obs[:8], failing)
    assert props((models / "latest.onnx").read_bytes())["cartridge.step"] == "20"
    assert not (models / LATEST_INT8).exists()

    # Quantization itself failing (no calibration data) costs only the int8 file too.
    pub.publish(model, 30, obs[:8], ok)
    assert (models / LATEST_INT8).exists()
    pub.publish(model, 40, obs[:8], Int8Inputs(obs[:0], obs[:64], 0.0, 2.0))
    assert props((models / "latest.onnx").read_bytes())["cartridge.step"] == "40"
    assert not (models / LATEST_INT8).exists()
    with pytest.raises(QuantizeError, match="no calibration"):
        quantize_int8(export_onnx(model, spec, "resnet-b4c32", 1), obs[:0])


def test_training_publishes_an_int8_model_of_each_step(tmp_path):
    data = tmp_path / "data"
    make_replay_db(data, "connect4", n_games=20, moves_per_game=10)
    overrides = {
        **FAST,
        "batch_size": 16,
        "max_steps": 6,
        "publish_interval": 3,
        "replay_window": 1000,
        "quantize": "int8",
        "int8_min_agreement": 0.0,
        "int8_max_value_error": 2.0,
        "int8_calibration_positions": 128,
        "int8_check_positions": 64,
    }
    Trainer("connect4", str(data), overrides).run()
    models = data / "models"
    int8 = props((models / "latest.int8.onnx").read_bytes())
    assert int8["cartridge.step"] == props((models / "latest.onnx").read_bytes())["cartridge.step"] == "6"
    assert int8["cartridge.precision"] == "int8"
    sess = ort.InferenceSession(str(models / "latest.int8.onnx"), providers=["CPUExecutionProvider"])
    policy, _ = sess.run(None, {"obs": np.zeros((2, 2, 6, 7), np.float32)})
    assert policy.shape == (2, 7)


def trainer_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_quantize_command_writes_checked_files_and_refuses_bad_input(tmp_path, c4):
    _, _, fp32, _ = c4
    db = make_replay_db(tmp_path / "data", "connect4", n_games=40, moves_per_game=10)
    model = tmp_path / "m.onnx"
    model.write_bytes(fp32)
    r = trainer_cli("quantize", str(model), "--db", str(db), "--min-agreement", "0", "--max-value-error", "2")
    assert r.returncode == 0, r.stderr
    assert "near-top agreement" in r.stdout and "plain top-move" in r.stdout and "wrote" in r.stdout
    assert props((tmp_path / "m.int8.onnx").read_bytes())["cartridge.precision"] == "int8"

    # The check fails: nothing written.
    out = str(tmp_path / "x.onnx")
    r = trainer_cli("quantize", str(model), "--db", str(db), "--out", out, "--min-agreement", "1.01")
    assert r.returncode == 1 and "not written" in r.stderr
    assert not (tmp_path / "x.onnx").exists()
    # Not a model; a database of another game.
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    r = trainer_cli("quantize", str(tmp_path / "junk.onnx"), "--db", str(db))
    assert r.returncode == 2 and "cannot read the model" in r.stderr
    ttt = make_replay_db(tmp_path / "ttt", "tictactoe", n_games=5)
    r = trainer_cli("quantize", str(model), "--db", str(ttt))
    assert r.returncode == 2 and "tictactoe" in r.stderr
