import tomllib
from pathlib import Path

import pytest
import torch
from trainer.cli import build_parser, main
from trainer.config import (
    ConfigError,
    TrainConfig,
    build_config,
    game_defaults,
    games_dir,
    known_games,
    load_toml,
    parse_set_args,
)
from trainer.losses import alphazero_loss
from trainer.model import MODEL_SIZES, build_model
from trainer.optim import lr_at
from trainer.stats import Stats, thin

from trainer import config


def test_layering_defaults_game_toml_cli(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text("batch_size = 512\n[replay]\nreplay_window = 200_000\nmin_positions = 1000\n")
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
    with pytest.raises(ConfigError, match="unknown model 'b99'"):
        build_config("tictactoe", {"model": "b99"})
    with pytest.raises(ConfigError, match="int8_tie_margin must be in"):
        build_config("tictactoe", {"int8_tie_margin": -0.1})
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
    cfg = build_config(
        "tictactoe", {"learning_rate": 1e-3, "warmup_steps": 10, "decay_steps": 100, "min_lr_ratio": 0.1}
    )
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


def test_readme_defaults_per_game_table_matches_the_profiles():
    """The "Defaults per game" table in trainer/README.md documents the [trainer] tables
    of the games it shows (a new game's profile needs no column there); a default
    changed in one place and not the other fails here."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("### Defaults per game", 1)[1].split("\nCommon to all", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in rows[0]]
    games = header[1:-1]  # key | one column per game | why
    assert games and set(games) <= set(known_games()), f"the table's columns {games} must be games of games/"
    table = {r[0].strip(): [c.strip() for c in r[1:-1]] for r in rows[1:]}
    differing = {k for g in games for k in game_defaults(g)}
    assert differing <= set(table), f"per-game keys missing from the README: {differing - set(table)}"
    for key, values in table.items():
        for game, text_value in zip(games, values, strict=True):
            want = getattr(build_config(game, {}), key)
            got = type(want)(text_value.replace(",", "")) if not isinstance(want, str) else text_value
            assert got == want, f"README says {key}={text_value} for {game}; the code has {want}"


def test_checkout_profiles_are_the_games_and_their_trainer_tables_apply():
    games_root = Path(__file__).resolve().parents[2] / "games"
    assert games_dir() == games_root
    on_disk = sorted(p.parent.name for p in games_root.glob("*/profile.toml"))
    assert known_games() == on_disk and {"tictactoe", "connect4", "othello"} <= set(on_disk)
    for game in on_disk:
        table = tomllib.loads((games_root / game / "profile.toml").read_text()).get("trainer", {})
        cfg = build_config(game, {})
        for key, value in table.items():
            assert getattr(cfg, key) == value, f"{game}: {key}"


def write_profile(root: Path, game: str, body: str) -> Path:
    (root / game).mkdir(parents=True, exist_ok=True)
    path = root / game / "profile.toml"
    path.write_text(f'name = "{game}"\n{body}')
    return path


@pytest.fixture
def games_env(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "games"
    root.mkdir()
    monkeypatch.setenv("CARTRIDGE_GAMES_DIR", str(root))
    return root


def test_games_dir_variable_wins_and_only_folders_with_a_profile_are_games(games_env, tmp_path):
    write_profile(games_env, "hex", '[trainer]\nreplay_window = 1234\nmin_positions = 100\nmodel = "b4c64"\n')
    write_profile(games_env, "go", "[selfplay]\nsimulations = 5\n")  # no [trainer]: all defaults
    (games_env / "notes").mkdir()  # a folder without a profile is not a game
    (games_env / "README.md").write_text("not a game")
    assert games_dir() == games_env
    assert known_games() == ["go", "hex"]
    assert game_defaults("hex") == {"replay_window": 1234, "min_positions": 100, "model": "b4c64"}
    assert game_defaults("go") == {}
    assert build_config("go", {}).replay_window == TrainConfig().replay_window
    with pytest.raises(ConfigError, match=r"unknown game 'tictactoe'; known games: go, hex"):
        build_config("tictactoe", {})

    # dataclass defaults < profile < --config file < --set
    toml = tmp_path / "c.toml"
    toml.write_text("min_positions = 200\nbatch_size = 32\n")
    overrides = load_toml(toml)
    overrides.update(parse_set_args(["batch_size=64"]))
    cfg = build_config("hex", overrides)
    assert cfg.model == "b4c64" and cfg.replay_window == 1234  # profile over the dataclass
    assert cfg.min_positions == 200  # the file over the profile
    assert cfg.batch_size == 64  # --set over the file
    assert cfg.learning_rate == TrainConfig().learning_rate  # set nowhere: the dataclass default


def test_resumed_config_replaces_the_profile(games_env):
    write_profile(games_env, "hex", "[trainer]\nreplay_window = 1234\nmin_positions = 100\n")
    saved = {"game": "hex", "replay_window": 9999, "data_dir": "/elsewhere", "removed_key": 1}
    cfg = build_config("hex", {"data_dir": "d"}, base=saved)
    assert cfg.replay_window == 9999
    assert cfg.min_positions == TrainConfig().min_positions  # not in the checkpoint: the dataclass default
    assert cfg.data_dir == "d"
    (games_env / "hex" / "profile.toml").unlink()
    with pytest.raises(ConfigError, match="unknown game 'hex'"):
        build_config("hex", {}, base=saved)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[trainer]\nbatchsize = 3\n", r"\[trainer\]: unknown config key 'batchsize'"),
        ('[trainer]\nreplay_window = "big"\n', r"\[trainer\]: config key 'replay_window' needs a int"),
        ('[trainer]\ngame = "hex"\n', r"`game` cannot be set here"),
        ("trainer = 3\n", r"`trainer` must be a table"),
        ("[trainer\n", r"cannot be read"),
    ],
)
def test_bad_profile_is_an_error_naming_the_file(games_env, body, message):
    path = write_profile(games_env, "hex", body)
    with pytest.raises(ConfigError, match=message) as e:
        build_config("hex", {})
    assert str(path) in str(e.value)


def test_profile_name_must_match_its_folder(games_env):
    path = games_env / "hex" / "profile.toml"
    path.parent.mkdir()
    path.write_text('name = "havannah"\n')
    with pytest.raises(ConfigError, match="says name = 'havannah', but its folder is 'hex'") as e:
        build_config("hex", {})
    assert str(path) in str(e.value)


def test_missing_games_folder_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("CARTRIDGE_GAMES_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError) as e:
        known_games()
    assert f"CARTRIDGE_GAMES_DIR={tmp_path / 'nowhere'} is not a folder" in str(e.value)
    assert str(config.CHECKOUT_GAMES_DIR) in str(e.value)

    monkeypatch.delenv("CARTRIDGE_GAMES_DIR")
    monkeypatch.setattr(config, "CHECKOUT_GAMES_DIR", tmp_path / "checkout" / "games")
    with pytest.raises(ConfigError) as e:
        build_config("tictactoe", {})
    assert "CARTRIDGE_GAMES_DIR is not set" in str(e.value)
    assert f"{tmp_path / 'checkout' / 'games'} does not exist" in str(e.value)


def test_cli_rejects_an_unknown_game_naming_the_known_ones(tmp_path, capsys):
    known = ", ".join(known_games())
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    assert f"one of {known}" in " ".join(capsys.readouterr().out.split())
    assert main(["train", "--game", "chess", "--data-dir", str(tmp_path / "data")]) == 2
    assert f"unknown game 'chess'; known games: {known}" in capsys.readouterr().err
    assert not (tmp_path / "data").exists(), "nothing is created for a game that does not exist"
