"""ONNX export and publishing. Must match docs/CONTRACTS.md §3 (model file) and §4
(publishing): one self-contained file, input `obs` (N, C, H, W) with N dynamic,
outputs `policy` (N, A) and `value` (N, 1), `cartridge.*` metadata properties."""

from __future__ import annotations

import copy
import io
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch

from .fsutil import atomic_write
from .quantize import QuantCheck, QuantizeError, int8_name, quantize_checked
from .spec import GameSpec

log = logging.getLogger(__name__)

OPSET = 18
LATEST = "latest.onnx"
LATEST_TMP = ".latest.onnx.tmp"
LATEST_INT8 = int8_name(LATEST)
SNAPSHOT_RE = re.compile(r"^model_step_(\d{8})\.onnx$")

# The dynamo exporter warns about torchvision ops on every call; they are not ours.
logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)


class ExportError(RuntimeError):
    """The exported model is unusable (wrong layout, or disagrees with torch)."""


def snapshot_name(step: int) -> str:
    return f"model_step_{step:08d}.onnx"


def metadata(spec: GameSpec, arch: str, step: int) -> dict[str, str]:
    C, H, W = spec.obs_shape
    return {
        "cartridge.game": spec.name,
        "cartridge.obs_version": str(spec.obs_version),
        "cartridge.obs_shape": f"{C},{H},{W}",
        "cartridge.num_actions": str(spec.num_actions),
        "cartridge.arch": arch,
        "cartridge.step": str(step),
    }


def export_onnx(model: torch.nn.Module, spec: GameSpec, arch: str, step: int, exporter: str = "legacy") -> bytes:
    """Export a CPU copy of `model` in eval mode and return the serialised ModelProto.

    exporter "legacy" (TorchScript tracing, ~0.1 s) or "dynamo" (torch.export, ~1 s on
    one CPU thread). Both give one self-contained file; the legacy one is the default
    because a publish every few seconds at 1 s each would eat the trainer's core.
    Either way the result is checked against onnxruntime before it is published."""
    m = copy.deepcopy(model).cpu().eval()
    # Batch 2 for tracing: a batch of 1 could be specialised into the graph.
    example = torch.zeros(2, *spec.obs_shape, dtype=torch.float32)
    with torch.no_grad():
        if exporter == "dynamo":
            program = torch.onnx.export(
                m,
                (example,),
                input_names=["obs"],
                output_names=["policy", "value"],
                dynamic_shapes={"obs": {0: torch.export.Dim("N", min=1)}},
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
            proto = program.model_proto
        elif exporter == "legacy":
            buf = io.BytesIO()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(
                    m,
                    (example,),
                    buf,
                    input_names=["obs"],
                    output_names=["policy", "value"],
                    dynamic_axes={"obs": {0: "N"}, "policy": {0: "N"}, "value": {0: "N"}},
                    opset_version=OPSET,
                    dynamo=False,
                )
            proto = onnx.load_from_string(buf.getvalue())
        else:
            raise ValueError(f"unknown exporter {exporter!r}: legacy or dynamo")
    # Keep metadata the exporter may have written, replace ours.
    keep = [p for p in proto.metadata_props if not p.key.startswith("cartridge.")]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    onnx.helper.set_model_props(proto, {**{p.key: p.value for p in keep}, **metadata(spec, arch, step)})
    check_layout(proto, spec)
    return proto.SerializeToString()


def check_layout(proto: onnx.ModelProto, spec: GameSpec) -> None:
    """The contract's structural promises, checked before anything is written."""
    onnx.checker.check_model(proto)
    for t in proto.graph.initializer:
        if onnx.external_data_helper.uses_external_data(t):
            raise ExportError(f"initializer {t.name} is stored outside the file")
    inputs = [i for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}]
    if [i.name for i in inputs] != ["obs"]:
        raise ExportError(f"model inputs are {[i.name for i in inputs]}, expected ['obs']")
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) != 4 or dims[0].HasField("dim_value") or [d.dim_value for d in dims[1:]] != list(spec.obs_shape):
        raise ExportError(f"input obs has shape {dims}, expected [N, {spec.obs_shape}] with N dynamic")
    outs = [o.name for o in proto.graph.output]
    if outs != ["policy", "value"]:
        raise ExportError(f"model outputs are {outs}, expected ['policy', 'value']")
    opset = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < 17:
        raise ExportError(f"opset {opset} < 17")


def verify_onnx(data: bytes, model: torch.nn.Module, obs: np.ndarray, tolerance: float) -> float:
    """Run the exported bytes in onnxruntime on `obs` (and on a 1-row batch, to prove the
    batch axis is dynamic) and compare with torch. Returns the max abs difference;
    raises ExportError above `tolerance`."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    m = copy.deepcopy(model).cpu().eval()
    worst = 0.0
    for batch in (obs.astype(np.float32), obs[:1].astype(np.float32)):
        ort_policy, ort_value = sess.run(["policy", "value"], {"obs": batch})
        with torch.no_grad():
            t_policy, t_value = m(torch.from_numpy(batch))
        if ort_policy.shape != tuple(t_policy.shape) or ort_value.shape != tuple(t_value.shape):
            raise ExportError(
                f"onnxruntime shapes {ort_policy.shape}, {ort_value.shape} differ "
                f"from torch {tuple(t_policy.shape)}, {tuple(t_value.shape)}"
            )
        for ours, theirs in ((ort_policy, t_policy.numpy()), (ort_value, t_value.numpy())):
            if not (np.isfinite(ours).all() and np.isfinite(theirs).all()):
                raise ExportError("the model outputs NaN or infinity; not publishing it")
            worst = max(worst, float(np.abs(ours - theirs).max()))
    if worst > tolerance:
        raise ExportError(f"onnxruntime output differs from torch by {worst:.3g} > tolerance {tolerance:g}")
    return worst


@dataclass(frozen=True)
class Int8Inputs:
    """What the int8 model of a publish is calibrated and checked on, and its bar."""

    calibration: np.ndarray  # (N, C, H, W) positions that set the activation ranges
    held_out: np.ndarray  # (M, C, H, W) other positions it is compared with fp32 on
    min_agreement: float  # least near-top agreement (QuantCheck)
    max_value_error: float
    tie_margin: float = 0.02


class Publisher:
    """Writes models/latest.onnx atomically plus model_step_*.onnx snapshots, keeping the
    newest `keep` snapshots and every multiple of `milestone_interval`."""

    def __init__(
        self,
        data_dir: str | Path,
        spec: GameSpec,
        arch: str,
        tolerance: float,
        keep: int = 10,
        milestone_interval: int = 5_000,
        exporter: str = "legacy",
    ):
        self.dir = Path(data_dir) / "models"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.spec, self.arch, self.tolerance, self.exporter = spec, arch, tolerance, exporter
        self.keep, self.milestone_interval = keep, milestone_interval

    def publish(
        self, model: torch.nn.Module, step: int, sample_obs: np.ndarray, int8: Int8Inputs | None = None
    ) -> bytes:
        """Export, verify, publish. Returns the published bytes. Raises ExportError
        (nothing written) when the export is wrong. With `int8`, the checked int8 model
        is written before latest.onnx, so an actor that sees the new latest.onnx finds
        its int8 file already there; an int8 model that fails costs only that file."""
        data = export_onnx(model, self.spec, self.arch, step, self.exporter)
        diff = verify_onnx(data, model, sample_obs, self.tolerance)
        # Snapshot first: if we die between the two writes, latest.onnx is simply older.
        atomic_write(self.dir / snapshot_name(step), data, tmp_name=f".{snapshot_name(step)}.tmp")
        if int8 is not None:
            try:
                self.publish_int8(data, step, int8)
            except QuantizeError as e:
                log.warning("%s; the actor plays the fp32 model of step %d", e, step)
        atomic_write(self.dir / LATEST, data, tmp_name=LATEST_TMP)
        self.prune()
        log.info(
            "published step %d to %s (%d bytes, max |torch - onnxruntime| = %.2e)",
            step,
            self.dir / LATEST,
            len(data),
            diff,
        )
        return data

    def publish_int8(self, fp32: bytes, step: int, inputs: Int8Inputs) -> QuantCheck:
        """Quantize the fp32 model just published and write `latest.int8.onnx` beside it
        (atomically) when it agrees with the fp32 one closely enough. Otherwise, or when
        quantization fails, remove an older `latest.int8.onnx`, so no stale int8 model
        stays beside a newer fp32 one, and raise QuantizeError."""
        path = self.dir / LATEST_INT8
        try:
            int8, check = quantize_checked(fp32, inputs.calibration, inputs.held_out, inputs.tie_margin)
        except QuantizeError:
            path.unlink(missing_ok=True)
            raise
        if not check.passes(inputs.min_agreement, inputs.max_value_error):
            path.unlink(missing_ok=True)
            raise QuantizeError(
                f"int8 model of step {step} not published: {check.describe()} (needs near-top "
                f"agreement >= {inputs.min_agreement:.2%} and value difference <= {inputs.max_value_error:g})"
            )
        atomic_write(path, int8, tmp_name=f".{LATEST_INT8}.tmp")
        log.info("published int8 step %d to %s: %s, %.2f s", step, path, check.describe(), check.seconds)
        return check

    def snapshots(self) -> list[int]:
        return sorted(int(m.group(1)) for p in self.dir.iterdir() if (m := SNAPSHOT_RE.match(p.name)))

    def prune(self) -> None:
        steps = self.snapshots()
        recent = set(steps[-self.keep :])
        for s in steps:
            if s not in recent and s % self.milestone_interval != 0:
                (self.dir / snapshot_name(s)).unlink(missing_ok=True)

    def published_step(self) -> int | None:
        """The `cartridge.step` of the current latest.onnx, if there is a readable one."""
        path = self.dir / LATEST
        if not path.exists():
            return None
        try:
            proto = onnx.load(str(path), load_external_data=False)
            return int({p.key: p.value for p in proto.metadata_props}["cartridge.step"])
        except Exception as e:
            log.warning("cannot read the step of %s: %s", path, e)
            return None
