import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from trainer.export import ExportError, Publisher, export_onnx, snapshot_name, verify_onnx
from trainer.model import arch_name, build_model
from trainer.spec import GameSpec

from conftest import connect4_spec, tictactoe_spec


@pytest.fixture(scope="module")
def ttt_spec():
    return GameSpec.from_json(json.dumps(tictactoe_spec()))


def trained_looking(model):
    # Non-default BatchNorm statistics, so eval-mode export is actually exercised.
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return model


@pytest.mark.parametrize(
    "size,spec_fn,exporter",
    [
        ("b2c32", tictactoe_spec, "legacy"),
        ("b2c32", tictactoe_spec, "dynamo"),
        ("t2", connect4_spec, "legacy"),
        ("t2", connect4_spec, "dynamo"),
    ],
)
def test_export_is_one_file_matching_torch_with_metadata(tmp_path, size, spec_fn, exporter):
    spec = GameSpec.from_json(json.dumps(spec_fn()))
    torch.manual_seed(0)
    model = trained_looking(build_model(size, spec.obs_shape, spec.num_actions))
    data = export_onnx(model, spec, arch_name(size), step=1200, exporter=exporter)
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no .onnx.data

    proto = onnx.load(str(path))
    props = {p.key: p.value for p in proto.metadata_props}
    C, H, W = spec.obs_shape
    assert props["cartridge.game"] == spec.name
    assert props["cartridge.obs_version"] == "1"
    assert props["cartridge.obs_shape"] == f"{C},{H},{W}"
    assert props["cartridge.num_actions"] == str(spec.num_actions)
    assert props["cartridge.arch"] == arch_name(size)
    assert props["cartridge.step"] == "1200"
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["obs"]
    assert [o.name for o in sess.get_outputs()] == ["policy", "value"]
    model.eval()
    for n in (1, 5, 37):  # the batch axis is dynamic
        x = (np.random.default_rng(n).random((n, C, H, W)) > 0.6).astype(np.float32)
        policy, value = sess.run(None, {"obs": x})
        with torch.no_grad():
            tp, tv = model(torch.from_numpy(x))
        assert policy.shape == (n, spec.num_actions) and value.shape == (n, 1)
        np.testing.assert_allclose(policy, tp.numpy(), atol=1e-4)
        np.testing.assert_allclose(value, tv.numpy(), atol=1e-4)
        assert (np.abs(value) <= 1).all()


def test_verify_rejects_a_model_that_disagrees(ttt_spec):
    torch.manual_seed(0)
    a = build_model("b2c32", ttt_spec.obs_shape, 9)
    b = build_model("b2c32", ttt_spec.obs_shape, 9)  # different random weights
    data = export_onnx(a, ttt_spec, "resnet-b2c32", 1)
    obs = np.ones((4, 2, 3, 3), np.float32)
    assert verify_onnx(data, a, obs, 1e-3) < 1e-4
    with pytest.raises(ExportError, match="differs from torch"):
        verify_onnx(data, b, obs, 1e-3)


def test_publish_is_atomic_and_prunes_snapshots(tmp_path, ttt_spec):
    pub = Publisher(tmp_path, ttt_spec, "resnet-b2c32", tolerance=1e-3, keep=3, milestone_interval=20)
    model = build_model("b2c32", ttt_spec.obs_shape, 9)
    obs = np.zeros((8, 2, 3, 3), np.float32)
    for step in (10, 20, 30, 40, 50, 60):
        pub.publish(model, step, obs)
    names = sorted(p.name for p in (tmp_path / "models").iterdir())
    # last 3 (40, 50, 60) plus milestone 20; no temp files left behind
    assert names == sorted(["latest.onnx", snapshot_name(20), snapshot_name(40), snapshot_name(50), snapshot_name(60)])
    assert pub.published_step() == 60
    assert (tmp_path / "models" / "latest.onnx").read_bytes() == (tmp_path / "models" / snapshot_name(60)).read_bytes()


def test_failed_publish_writes_nothing(tmp_path, ttt_spec):
    # A diverged model (a NaN weight) must never reach the actor.
    model = build_model("b2c32", ttt_spec.obs_shape, 9)
    with torch.no_grad():
        model.policy_fc.bias[0] = float("nan")
    pub = Publisher(tmp_path, ttt_spec, "resnet-b2c32", tolerance=1e-3)
    with pytest.raises(ExportError, match="NaN"):
        pub.publish(model, 5, np.zeros((4, 2, 3, 3), np.float32))
    assert list((tmp_path / "models").iterdir()) == []
