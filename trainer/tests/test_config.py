import pytest
import torch

from trainer.cli import build_parser
from trainer.config import ConfigError, build_config, load_toml, parse_set_args
from trainer.losses import alphazero_loss
from trainer.model import MODEL_SIZES, build_model
from trainer.optim import lr_at
from trainer.stats import Stats, thin


def test_layering_defaults_game_toml_cli(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('batch_size = 512\n[replay]\nreplay_window = 200_000\nmin_positions = 1000\n')
    overrides = load_toml(toml)
    overrides.update(parse_set_args(["batch_size=64", "augment=false"]))
    cfg = build_config("connect4", overrides)
    assert cfg.model == "b4c32"  # per-game default
    assert cfg.replay_window == 200_000  # TOML (from a section)
    assert cfg.batch_size == 64 and cfg.augment is False  # CLI beats TOML


def test_bad_keys_and_values_are_named(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key 'batchsize'"):
        parse_set_args(["batchsize=3"])
    with pytest.raises(ConfigError, match="'batch_size' needs a int"):
        parse_set_args(["batch_size=lots"])
    with pytest.raises(ConfigError, match="learning_rate must be in"):
        build_config("tictactoe", {"learning_rate": 3.0})
    with pytest.raises(ConfigError, match="unknown model size 'b99'"):
        build_config("tictactoe", {"model": "b99"})
    with pytest.raises(ConfigError, match="min_positions"):
        build_config("tictactoe", {"min_positions": 10**9})
    bad = tmp_path / "bad.toml"
    bad.write_text("batch_size = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_toml(bad)


def test_cli_flags_default_to_none_so_they_never_mask_a_resumed_setting():
    args = build_parser().parse_args(["train", "--game", "othello"])
    assert args.threads is None and args.device is None and args.control_port is None


def test_lr_schedule_warmup_then_cosine_to_floor():
    cfg = build_config("tictactoe", {"learning_rate": 1e-3, "warmup_steps": 10, "decay_steps": 100,
                                     "min_lr_ratio": 0.1})
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(60, cfg) == pytest.approx(0.55e-3)  # half way down the cosine
    assert lr_at(110, cfg) == pytest.approx(1e-4) == lr_at(10_000, cfg)


@pytest.mark.parametrize("size", list(MODEL_SIZES))
def test_every_named_size_builds_with_contract_shapes(size):
    m = build_model(size, (2, 8, 8), 65).eval()
    with torch.no_grad():
        policy, value = m(torch.zeros(3, 2, 8, 8))
    assert policy.shape == (3, 65) and value.shape == (3, 1)


def test_loss_values():
    logits = torch.zeros(2, 4)  # uniform prediction
    target = torch.tensor([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    value = torch.tensor([[0.5], [0.0]])
    out = alphazero_loss(logits, value, target, torch.tensor([1.0, -1.0]))
    ln4 = torch.log(torch.tensor(4.0)).item()
    assert out["policy"].item() == pytest.approx(ln4)
    assert out["value"].item() == pytest.approx((0.25 + 1.0) / 2)
    assert out["entropy"].item() == pytest.approx(ln4)
    assert out["total"].item() == pytest.approx(ln4 + 0.625)


def test_history_thinning_is_bounded_and_keeps_recent_entries():
    h = [{"step": i} for i in range(5000)]
    out = thin(h, 1000)
    assert len(out) <= 1000
    assert out[-1]["step"] == 4999 and out[0]["step"] == 0
    steps = [e["step"] for e in out]
    assert steps == sorted(steps) and steps[-10:] == list(range(4990, 5000))


def test_stats_json_never_carries_nan(tmp_path):
    import json

    st = Stats(tmp_path, "tictactoe")
    st.update(step=3, policy_loss=float("nan"), value_loss=float("inf"), total_loss=1.0)
    st.record()
    st.write()
    out = json.loads((tmp_path / "stats.json").read_text())
    assert out["policy_loss"] is None and out["value_loss"] is None and out["total_loss"] == 1.0
    assert out["history"][0]["policy_loss"] is None


def test_readme_defaults_per_game_table_matches_the_code():
    """The "Defaults per game" table in trainer/README.md is the documentation of
    GAME_DEFAULTS; a default changed in one place and not the other fails here."""
    from pathlib import Path

    from trainer.config import GAME_DEFAULTS, GAMES

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("### Defaults per game", 1)[1].split("\nCommon to all", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in rows[0]]
    assert header[1:4] == list(GAMES)
    table = {r[0].strip(): [c.strip() for c in r[1:4]] for r in rows[1:]}
    differing = {k for g in GAMES for k in GAME_DEFAULTS[g]}
    assert differing <= set(table), f"per-game keys missing from the README: {differing - set(table)}"
    for key, values in table.items():
        for game, text_value in zip(GAMES, values):
            want = getattr(build_config(game, {}), key)
            got = type(want)(text_value.replace(",", "")) if not isinstance(want, str) else text_value
            assert got == want, f"README says {key}={text_value} for {game}; the code has {want}"
