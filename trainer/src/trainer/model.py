"""Policy/value networks. Input (N, C, H, W) float32; outputs policy logits (N, A) and
value tanh (N, 1), as docs/CONTRACTS.md §3 asks of the exported model.

Two families:
- resnet "bXcY" (a key of MODEL_SIZES): X residual blocks of Y channels (AlphaZero's
  tower, scaled down);
- transformer: `model = "transformer"` with `n_layer = L` (1 to 16), the one complexity
  slider of the NanoZero spec (caldred/nanozero, FULL_SPEC.md, ModelConfig): width
  n_embd = 64·L and n_head = 4 at every depth, so the head size (16·L) grows with depth
  as the width does. This is the spec's rule, not the 32·depth, heads = depth rule of
  the earlier "tN" presets. L = 1 to 4 (64 to 256 wide, 0.06M to 3.2M parameters) trains
  on a CPU; L = 8 is 25M parameters and L = 16 about 200M, which want a GPU.
  `cartridge.arch` is "transformer-l<L>".

The earlier transformer presets "t2", "t4", "t6" stay in MODEL_SIZES with the shapes
they had (width 32·depth, heads = depth), so their runs and checkpoints resume; their
`cartridge.arch` stays "transformer-t<N>". They are not the same networks as
`transformer` with the same n_layer: half as wide (and t2, t6 have 2 and 6 heads).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class ModelConfig:
    kind: str  # "resnet" | "transformer"
    blocks: int = 0  # resnet: residual blocks
    channels: int = 0  # resnet: channels per conv
    depth: int = 0  # transformer: layers
    width: int = 0  # transformer: token width (embedding size)
    heads: int = 0  # transformer: attention heads


# The transformer slider: `model = TRANSFORMER` with n_layer in N_LAYER_RANGE.
TRANSFORMER = "transformer"
N_LAYER_RANGE = (1, 16)
SPEC_HEADS = 4  # NanoZero's n_head, the same at every depth


def transformer_config(n_layer: int) -> ModelConfig:
    """NanoZero's rule: n_embd = max(64, 64·n_layer), n_head = 4."""
    return ModelConfig(TRANSFORMER, depth=n_layer, width=max(64, 64 * n_layer), heads=SPEC_HEADS)


# Fixed presets, by name.
MODEL_SIZES: dict[str, ModelConfig] = {
    "b2c32": ModelConfig("resnet", blocks=2, channels=32),  # TicTacToe default: trains in seconds on CPU
    "b4c32": ModelConfig("resnet", blocks=4, channels=32),  # Connect4 default: ~5x the self-play speed of b4c64 on CPU
    "b4c64": ModelConfig("resnet", blocks=4, channels=64),
    "b6c64": ModelConfig("resnet", blocks=6, channels=64),  # Othello default
    "b10c128": ModelConfig("resnet", blocks=10, channels=128),  # wants a GPU
    # Earlier transformer presets (width 32·depth, heads = depth), kept so their runs resume.
    "t2": ModelConfig(TRANSFORMER, depth=2, width=64, heads=2),
    "t4": ModelConfig(TRANSFORMER, depth=4, width=128, heads=4),
    "t6": ModelConfig(TRANSFORMER, depth=6, width=192, heads=6),
}


def model_names() -> str:
    """The accepted `model` values, for messages and --help."""
    lo, hi = N_LAYER_RANGE
    return f"{TRANSFORMER} (with n_layer {lo} to {hi}), " + ", ".join(MODEL_SIZES)


def resolve(size: str, n_layer: int = 0) -> ModelConfig:
    """The architecture `model = size` with `n_layer` names; ValueError, with a message
    that says what to change, when the pair names none."""
    lo, hi = N_LAYER_RANGE
    if size == TRANSFORMER:
        if not lo <= n_layer <= hi:
            raise ValueError(
                f"model={TRANSFORMER} needs n_layer in [{lo}, {hi}] (--n-layer L, or n_layer in the "
                f"config), got n_layer={n_layer}"
            )
        return transformer_config(n_layer)
    if size not in MODEL_SIZES:
        raise ValueError(f"unknown model {size!r}; known models: {model_names()}")
    if n_layer != 0:
        raise ValueError(
            f"n_layer={n_layer} applies to model={TRANSFORMER} only; model={size!r} is a fixed preset: "
            f"drop n_layer (or set it to 0), or use --model {TRANSFORMER} --n-layer {n_layer}"
        )
    return MODEL_SIZES[size]


def arch_name(size: str, n_layer: int = 0) -> str:
    """The `cartridge.arch` metadata value: "resnet-b2c32", "transformer-l4" (the slider
    at n_layer 4), "transformer-t2" (an earlier preset)."""
    mc = resolve(size, n_layer)
    return f"{TRANSFORMER}-l{n_layer}" if size == TRANSFORMER else f"{mc.kind}-{size}"


class ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)

    def forward(self, x):  # (N, ch, H, W) -> (N, ch, H, W)
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(x + y)


class ResNet(nn.Module):
    def __init__(self, obs_shape: tuple[int, int, int], num_actions: int, blocks: int, channels: int):
        super().__init__()
        C, H, W = obs_shape
        self.stem = nn.Sequential(nn.Conv2d(C, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU())
        self.tower = nn.Sequential(*[ResBlock(channels) for _ in range(blocks)])
        self.policy_conv = nn.Sequential(nn.Conv2d(channels, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU())
        self.policy_fc = nn.Linear(2 * H * W, num_actions)
        self.value_conv = nn.Sequential(nn.Conv2d(channels, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU())
        self.value_fc = nn.Sequential(nn.Linear(H * W, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, obs):
        """obs (N, C, H, W) -> policy logits (N, A), value (N, 1) in [-1, 1]."""
        x = self.tower(self.stem(obs))  # (N, ch, H, W)
        policy = self.policy_fc(self.policy_conv(x).flatten(1))  # (N, A)
        value = torch.tanh(self.value_fc(self.value_conv(x).flatten(1)))  # (N, 1)
        return policy, value


class Block(nn.Module):
    """Pre-norm transformer layer. Attention written out (not nn.MultiheadAttention) so
    the ONNX export is plain MatMul/Softmax on every exporter."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        # Python ints, not x.shape: sizes read off tensors become traced values in the
        # ONNX export, and only the batch size should be dynamic.
        self.dim, self.heads, self.head_dim = dim, heads, dim // heads
        self.scale = 1.0 / math.sqrt(dim // heads)
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):  # (N, T, D) -> (N, T, D)
        h, hd = self.heads, self.head_dim
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=2)  # 3 x (N, T, D)
        q = q.unflatten(2, (h, hd)).transpose(1, 2)  # (N, h, T, hd)
        k = k.unflatten(2, (h, hd)).transpose(1, 2)
        v = v.unflatten(2, (h, hd)).transpose(1, 2)
        att = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)  # (N, h, T, T)
        y = (att @ v).transpose(1, 2).flatten(2)  # (N, T, D)
        x = x + self.proj(y)
        return x + self.mlp(self.ln2(x))


class BoardTransformer(nn.Module):
    """Each board cell is a token (its C plane values); a learned position embedding per
    cell. Policy from the flattened cell tokens (so it works for any action layout:
    Connect4 columns, Othello's pass), value from their mean."""

    def __init__(self, obs_shape: tuple[int, int, int], num_actions: int, depth: int, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not a multiple of heads {heads}")
        C, H, W = obs_shape
        self.embed = nn.Linear(C, dim)
        self.pos = nn.Parameter(torch.zeros(1, H * W, dim))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
        self.ln_f = nn.LayerNorm(dim)
        self.policy_tok = nn.Linear(dim, 4)
        self.policy_fc = nn.Linear(4 * H * W, num_actions)
        self.value_fc = nn.Sequential(nn.Linear(dim, 64), nn.GELU(), nn.Linear(64, 1))

    def forward(self, obs):
        """obs (N, C, H, W) -> policy logits (N, A), value (N, 1) in [-1, 1]."""
        x = obs.flatten(2).transpose(1, 2)  # (N, HW, C)
        x = self.embed(x) + self.pos  # (N, HW, D)
        x = self.ln_f(self.blocks(x))
        policy = self.policy_fc(self.policy_tok(x).flatten(1))  # (N, A)
        value = torch.tanh(self.value_fc(x.mean(dim=1)))  # (N, 1)
        return policy, value


def build_model(size: str, obs_shape: tuple[int, int, int], num_actions: int, n_layer: int = 0) -> nn.Module:
    mc = resolve(size, n_layer)
    if mc.kind == "resnet":
        return ResNet(obs_shape, num_actions, mc.blocks, mc.channels)
    return BoardTransformer(obs_shape, num_actions, mc.depth, mc.width, mc.heads)


def model_config_dict(size: str, obs_shape, num_actions: int, n_layer: int = 0) -> dict:
    """What a checkpoint records of its network (with the config's `model` and `n_layer`)."""
    return {
        "size": size,
        "n_layer": n_layer,
        "arch": arch_name(size, n_layer),
        **asdict(resolve(size, n_layer)),
        "obs_shape": list(obs_shape),
        "num_actions": num_actions,
    }


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
