"""Static int8 quantization of a published model, checked against the fp32 model before
it is published beside it (docs/CONTRACTS.md §3, §4).

ONNX Runtime's CPU provider runs int8 convolutions with the VNNI instructions of
current x86 CPUs (and the dot-product ones of ARM); on the default Connect4 network
that is about 2.5 times the fp32 speed (docs/BENCHMARKS.md). The model is quantized
in the QDQ format with unsigned 8-bit activations and signed per-channel weights (the
fast u8s8 kernels; signed activations ran slower than fp32 here), with scales
calibrated on positions sampled from replay.db. The fully connected heads stay fp32:
they cost little and quantizing them moved the top move on more positions.

The int8 file carries the fp32 file's `cartridge.*` metadata plus
`cartridge.precision = int8`, so the actor can tell it belongs to the same step.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx

log = logging.getLogger(__name__)

PRECISION_KEY = "cartridge.precision"


class QuantizeError(RuntimeError):
    """Quantization failed, or the int8 model disagrees with the fp32 one too much."""


@dataclass(frozen=True)
class QuantCheck:
    """How the int8 model compares with the fp32 one on held-out positions.

    The bar is *near-top agreement*: the int8 model's top move is one the fp32 policy
    rates within `tie_margin` (probability) of its own top move. Plain top-move
    agreement counts near ties as misses: in Othello, where many moves are about equally
    good, int8 changed the plain top move on 4-6% of positions while every such change
    was to a move the fp32 policy rated within 2 points of its favourite, and a search
    of hundreds of simulations does not tell such moves apart by their priors either.
    Plain agreement and the largest gap are reported alongside."""

    positions: int
    top_move_agreement: float  # share of positions where both policies have the same argmax
    near_top_agreement: float  # share where p_fp32(int8's top) >= p_fp32(fp32's top) - tie_margin
    tie_margin: float
    worst_gap: float  # largest p_fp32(fp32's top) - p_fp32(int8's top) over the positions
    value_mae: float  # mean |value_int8 - value_fp32|
    seconds: float = 0.0  # quantization and check together

    def passes(self, min_agreement: float, max_value_error: float) -> bool:
        return self.near_top_agreement >= min_agreement and self.value_mae <= max_value_error

    def describe(self) -> str:
        return (
            f"near-top agreement {self.near_top_agreement:.2%} (within {self.tie_margin:g}; plain top-move "
            f"{self.top_move_agreement:.2%}, largest gap {self.worst_gap:.3f}), mean |value difference| "
            f"{self.value_mae:.4f} on {self.positions} held-out positions"
        )


def int8_name(fp32_name: str) -> str:
    """`latest.onnx` → `latest.int8.onnx` (the name the actor looks for beside a model)."""
    stem = fp32_name[: -len(".onnx")] if fp32_name.endswith(".onnx") else fp32_name
    return f"{stem}.int8.onnx"


class _DropPreprocessHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def _session(data: bytes):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def inline_constant_identities(proto: onnx.ModelProto) -> None:
    """Replace each Identity of an initializer with a copy of it. The exporter shares
    equal tensors (all-zero convolution biases of a fresh network, say) through Identity
    nodes; a convolution whose bias is not an initializer is left unfused by the
    quantizer and ran at a third of the fp32 speed."""
    graph = proto.graph
    inits = {t.name: t for t in graph.initializer}
    keep = []
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            copy = onnx.TensorProto()
            copy.CopyFrom(inits[node.input[0]])
            copy.name = node.output[0]
            graph.initializer.append(copy)
            inits[copy.name] = copy
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)


def quantize_int8(fp32: bytes, calibration: np.ndarray, batch: int = 256) -> bytes:
    """The int8 QDQ model of `fp32` (serialised ModelProto), its activation ranges
    calibrated (min/max) on `calibration` (N, C, H, W float32). Raises QuantizeError."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    if len(calibration) == 0:
        raise QuantizeError("no calibration positions")
    proto = onnx.load_from_string(fp32)
    inline_constant_identities(proto)
    fp32 = proto.SerializeToString()
    meta = {p.key: p.value for p in proto.metadata_props}
    heads = [n.name for n in proto.graph.node if n.op_type in ("Gemm", "MatMul")]
    obs = np.ascontiguousarray(calibration, dtype=np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"obs": obs[i : i + batch]} for i in range(0, len(obs), batch)])

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory(prefix="cartridge-quant-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(fp32)
        # The tool asks on the root logger, at every call, for a shape-inference pass
        # that changes nothing measurable for these networks; keep it out of the log.
        quiet = _DropPreprocessHint()
        logging.getLogger().addFilter(quiet)
        try:
            quantize_static(
                str(src),
                str(dst),
                Reader(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
                nodes_to_exclude=heads,
                calibration_providers=["CPUExecutionProvider"],
            )
        except Exception as e:  # onnxruntime raises plain Exceptions of many kinds
            raise QuantizeError(f"static quantization failed: {e}") from e
        finally:
            logging.getLogger().removeFilter(quiet)
        q = onnx.load(str(dst))
    keep = [p for p in q.metadata_props if not p.key.startswith("cartridge.")]
    del q.metadata_props[:]
    q.metadata_props.extend(keep)
    onnx.helper.set_model_props(q, {**{p.key: p.value for p in keep}, **meta, PRECISION_KEY: "int8"})
    return q.SerializeToString()


def compare(fp32: bytes, int8: bytes, held_out: np.ndarray, tie_margin: float) -> QuantCheck:
    """How the two models agree on `held_out` (QuantCheck without the time)."""
    obs = np.ascontiguousarray(held_out, dtype=np.float32)
    p32, v32 = _session(fp32).run(["policy", "value"], {"obs": obs})
    p8, v8 = _session(int8).run(["policy", "value"], {"obs": obs})
    if not (np.isfinite(p8).all() and np.isfinite(v8).all()):
        raise QuantizeError("the int8 model outputs NaN or infinity")
    logits = p32.astype(np.float64)
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    rows = np.arange(len(obs))
    top32, top8 = p32.argmax(axis=1), p8.argmax(axis=1)
    gap = prob[rows, top32] - prob[rows, top8]
    return QuantCheck(
        positions=len(obs),
        top_move_agreement=float((top8 == top32).mean()),
        near_top_agreement=float((gap <= tie_margin).mean()),
        tie_margin=tie_margin,
        worst_gap=float(gap.max(initial=0.0)),
        value_mae=float(np.abs(v8.reshape(-1) - v32.reshape(-1)).mean()),
    )


def quantize_checked(
    fp32: bytes, calibration: np.ndarray, held_out: np.ndarray, tie_margin: float
) -> tuple[bytes, QuantCheck]:
    """Quantize and compare; the caller decides with QuantCheck.passes."""
    t0 = time.monotonic()
    int8 = quantize_int8(fp32, calibration)
    check = compare(fp32, int8, held_out, tie_margin)
    return int8, replace(check, seconds=time.monotonic() - t0)
