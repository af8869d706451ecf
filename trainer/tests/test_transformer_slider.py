"""The transformer's one size slider, `model = "transformer"` with `n_layer = L`: width
and heads follow L by the NanoZero rule (width 64·L, 4 heads), the config refuses pairs
that name no network, a resumed run keeps its architecture, the earlier "tN" presets
keep their shapes (so their checkpoints resume), and the ONNX export has the contract's
names and a dynamic batch axis."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from test_train import FAST
from trainer.checkpoint import CheckpointError, list_checkpoints
from trainer.cli import TRANSFORMER as CLI_TRANSFORMER
from trainer.cli import build_parser, train_overrides
from trainer.config import ConfigError, TrainConfig, build_config
from trainer.export import export_onnx
from trainer.model import (
    MODEL_SIZES,
    N_LAYER_RANGE,
    TRANSFORMER,
    BoardTransformer,
    arch_name,
    build_model,
    count_params,
    model_config_dict,
    resolve,
)
from trainer.spec import GameSpec
from trainer.train import Trainer

from conftest import connect4_spec, make_replay_db

C4 = (2, 6, 7)


@pytest.mark.parametrize("n_layer", range(N_LAYER_RANGE[0], N_LAYER_RANGE[1] + 1))
def test_width_and_heads_follow_n_layer(n_layer):
    mc = resolve(TRANSFORMER, n_layer)
    assert (mc.kind, mc.depth, mc.width, mc.heads) == (TRANSFORMER, n_layer, 64 * n_layer, 4)
    assert arch_name(TRANSFORMER, n_layer) == f"transformer-l{n_layer}"


def test_the_built_network_grows_with_n_layer():
    counts = []
    for n_layer in range(1, 7):
        m = build_model(TRANSFORMER, C4, 7, n_layer)
        assert isinstance(m, BoardTransformer) and len(m.blocks) == n_layer
        for block in m.blocks:
            assert block.dim == 64 * n_layer and block.heads == 4 and block.head_dim == 16 * n_layer
            assert block.qkv.in_features == 64 * n_layer and block.mlp[0].out_features == 4 * 64 * n_layer
        counts.append(count_params(m))
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
    # About 12·L·width² for the layers: width 64·L makes it grow as L³.
    assert 50_000 < counts[0] < 70_000 and 3_000_000 < counts[3] < 3_400_000


def test_the_earlier_presets_keep_their_shapes_and_names():
    for name, depth, width, heads in (("t2", 2, 64, 2), ("t4", 4, 128, 4), ("t6", 6, 192, 6)):
        mc = MODEL_SIZES[name]
        assert (mc.kind, mc.depth, mc.width, mc.heads) == (TRANSFORMER, depth, width, heads)
        assert arch_name(name) == f"transformer-{name}"
        m = build_model(name, C4, 7)
        assert len(m.blocks) == depth and m.blocks[0].dim == width and m.blocks[0].heads == heads
    # Same depth, another network: the names keep them apart.
    assert arch_name("t4") != arch_name(TRANSFORMER, 4)
    assert count_params(build_model("t4", C4, 7)) < count_params(build_model(TRANSFORMER, C4, 7, 4))
    assert arch_name("b4c32") == "resnet-b4c32"


def test_checkpoint_record_names_the_network():
    d = model_config_dict(TRANSFORMER, C4, 7, 3)
    assert d["size"] == TRANSFORMER and d["n_layer"] == 3 and d["arch"] == "transformer-l3"
    assert (d["depth"], d["width"], d["heads"]) == (3, 192, 4)
    assert model_config_dict("b2c32", C4, 7)["n_layer"] == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": TRANSFORMER}, r"model=transformer needs n_layer in \[1, 16\].*got n_layer=0"),
        ({"model": TRANSFORMER, "n_layer": 0}, r"model=transformer needs n_layer in \[1, 16\]"),
        ({"model": TRANSFORMER, "n_layer": 17}, r"needs n_layer in \[1, 16\].*got n_layer=17"),
        ({"model": TRANSFORMER, "n_layer": -2}, r"needs n_layer in \[1, 16\]"),
        ({"model": "b2c32", "n_layer": 4}, r"n_layer=4 applies to model=transformer only; model='b2c32'"),
        ({"model": "t4", "n_layer": 4}, r"n_layer=4 applies to model=transformer only; model='t4'"),
        ({"n_layer": 2}, r"n_layer=2 applies to model=transformer only.*--model transformer --n-layer 2"),
        ({"model": "t5"}, r"unknown model 't5'; known models: transformer \(with n_layer 1 to 16\), b2c32"),
    ],
)
def test_config_refuses_what_names_no_network(overrides, message):
    with pytest.raises(ConfigError, match=message):
        build_config("tictactoe", overrides)


def test_config_and_profile_accept_the_slider(monkeypatch, tmp_path):
    cfg = build_config("connect4", {"model": TRANSFORMER, "n_layer": 3})
    assert (cfg.model, cfg.n_layer) == (TRANSFORMER, 3)
    assert build_config("connect4", {"model": "t4"}).n_layer == 0
    assert TrainConfig().n_layer == 0
    # A profile's [trainer] table may pick the slider too.
    games = tmp_path / "games"
    (games / "hex").mkdir(parents=True)
    (games / "hex" / "profile.toml").write_text('name = "hex"\n[trainer]\nmodel = "transformer"\nn_layer = 2\n')
    monkeypatch.setenv("CARTRIDGE_GAMES_DIR", str(games))
    cfg = build_config("hex", {})
    assert (cfg.model, cfg.n_layer) == (TRANSFORMER, 2)
    # --model naming a preset drops the profile's n_layer; --model transformer keeps it.
    args = build_parser().parse_args(["train", "--game", "hex", "--model", "b2c32"])
    assert build_config("hex", train_overrides(args)).n_layer == 0
    args = build_parser().parse_args(["train", "--game", "hex", "--model", "transformer"])
    assert build_config("hex", train_overrides(args)).n_layer == 2
    args = build_parser().parse_args(["train", "--game", "hex", "--n-layer", "5"])
    assert build_config("hex", train_overrides(args)).n_layer == 5


def test_cli_flags_and_help():
    args = build_parser().parse_args(["train", "--game", "connect4", "--model", "transformer", "--n-layer", "4"])
    assert (args.model, args.n_layer) == ("transformer", 4)
    assert train_overrides(args) == {"model": "transformer", "n_layer": 4}
    assert build_parser().parse_args(["train", "--game", "connect4"]).n_layer is None
    assert CLI_TRANSFORMER == TRANSFORMER
    sub = build_parser()._subparsers._group_actions[0].choices["train"]
    text = " ".join(sub.format_help().split())
    assert "--n-layer L" in text and "width 64*L, 4 heads" in text
    for name in MODEL_SIZES:  # the --model help names every preset
        assert name in text, name


def connect4_run(tmp_path, overrides):
    data = tmp_path / "data"
    make_replay_db(data, "connect4", n_games=12, moves_per_game=10)
    fast = {**FAST, "batch_size": 16, "replay_window": 1000, "publish_interval": 3, "checkpoint_interval": 3}
    return data, fast, Trainer("connect4", str(data), {**fast, **overrides})


def test_a_resumed_run_keeps_its_architecture(tmp_path):
    data, fast, t = connect4_run(tmp_path, {"model": TRANSFORMER, "n_layer": 1, "max_steps": 3})
    assert t.run() == 0
    props = {p.key: p.value for p in onnx.load(str(data / "models" / "latest.onnx")).metadata_props}
    assert props["cartridge.arch"] == "transformer-l1" and props["cartridge.step"] == "3"

    with pytest.raises(CheckpointError, match=r"n_layer=1 \(transformer-l1\) but n_layer=2 was asked for"):
        Trainer("connect4", str(data), {"n_layer": 2})
    with pytest.raises(CheckpointError, match=r"model='transformer' \(transformer-l1\) but model='t2'"):
        Trainer("connect4", str(data), {"model": "t2", "n_layer": 0})
    with pytest.raises(CheckpointError, match=r"model='transformer'.*but model='b4c32'"):
        Trainer("connect4", str(data), {"model": "b4c32", "n_layer": 0})

    # No override, or the same one: it resumes with the network it had.
    t2 = Trainer("connect4", str(data), {"model": TRANSFORMER, "n_layer": 1, "max_steps": 6, "control_port": 0})
    assert t2.run() == 0 and t2.step == 6 and t2.arch == "transformer-l1"
    t3 = Trainer("connect4", str(data), {"max_steps": 6, "control_port": 0})
    assert (t3.cfg.model, t3.cfg.n_layer) == (TRANSFORMER, 1)


def test_a_checkpoint_from_before_n_layer_resumes(tmp_path):
    """A "t2" run written before the config had n_layer: no n_layer in its config or
    model record. It resumes (with `--model t2`, which the CLI turns into n_layer 0)
    and refuses the slider."""
    data, fast, t = connect4_run(tmp_path, {"model": "t2", "max_steps": 3})
    t.run()
    for _, path in list_checkpoints(data / "checkpoints"):
        payload = torch.load(path, weights_only=True)
        del payload["config"]["n_layer"], payload["model_config"]["n_layer"]
        for key in ("width", "heads"):
            del payload["model_config"][key]
        torch.save(payload, path)
    args = build_parser().parse_args(["train", "--game", "connect4", "--model", "t2", "--max-steps", "6"])
    resumed = Trainer("connect4", str(data), {**train_overrides(args), "control_port": 0})
    assert resumed.run() == 0 and resumed.step == 6 and resumed.arch == "transformer-t2"
    with pytest.raises(CheckpointError, match=r"model='t2' \(transformer-t2\) but model='transformer'"):
        Trainer("connect4", str(data), {"model": TRANSFORMER, "n_layer": 2})


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_export_has_the_contract_names_and_a_dynamic_batch(tmp_path, exporter):
    spec = GameSpec.from_json(json.dumps(connect4_spec()))
    torch.manual_seed(0)
    model = build_model(TRANSFORMER, spec.obs_shape, spec.num_actions, 2).eval()
    data = export_onnx(model, spec, arch_name(TRANSFORMER, 2), step=7, exporter=exporter)
    proto = onnx.load_from_string(data)
    initializers = {t.name for t in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in initializers]
    assert [i.name for i in inputs] == ["obs"] and [o.name for o in proto.graph.output] == ["policy", "value"]

    def dims(value_info):
        return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]

    batch = dims(inputs[0])[0]
    assert isinstance(batch, str) and batch, "the batch axis must be symbolic"
    assert dims(inputs[0])[1:] == [2, 6, 7]
    policy, value = proto.graph.output
    assert dims(policy)[1:] == [7] and dims(value)[1:] == [1]
    assert isinstance(dims(policy)[0], str) and isinstance(dims(value)[0], str)
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["cartridge.arch"] == "transformer-l2" and props["cartridge.step"] == "7"

    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for n in (1, 3, 64):
        x = (np.random.default_rng(n).random((n, *spec.obs_shape)) > 0.6).astype(np.float32)
        got_policy, got_value = sess.run(["policy", "value"], {"obs": x})
        with torch.no_grad():
            want_policy, want_value = model(torch.from_numpy(x))
        assert got_policy.shape == (n, 7) and got_value.shape == (n, 1)
        np.testing.assert_allclose(got_policy, want_policy.numpy(), atol=1e-4)
        np.testing.assert_allclose(got_value, want_value.numpy(), atol=1e-4)
