//! `actor play`: the bot against a person in the terminal.
//!
//! The board is the game's `Display`, moves are typed in the game's notation
//! (TicTacToe `b2`, Connect4 column `4`, Othello `f5` or `pass`). Input is read line by
//! line from stdin, so a game can be scripted by piping moves in: a line that does not
//! parse or is illegal gets a message saying why and the question is asked again.
//! `undo` takes back your last move (and the bot's reply), `moves` lists the legal
//! moves, `quit` (or the end of input) stops.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use engine_core::{with_game, Action, Game, GameKind, Outcome, Player};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::flags::{check, ConfigError};
use crate::nn::{NnEvaluator, NnModel, OnnxArgs};
use crate::profile::profile;
use crate::search::{run_search, RolloutEvaluator, SearchArgs, SearchConfig, SearchParams};

#[derive(Args, Debug)]
pub struct PlayArgs {
    /// Game (`actor games` lists them).
    #[arg(long, default_value = "tictactoe")]
    pub game: String,
    /// The bot's network: a model file, `latest` (DATA_DIR/models/latest.onnx, or random
    /// playouts when there is none yet), or `none` (search with random playouts only).
    #[arg(long, default_value = "latest")]
    pub model: String,
    /// Data folder, for `--model latest`.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Simulations per bot move [default: the game's play default].
    #[arg(long)]
    pub sims: Option<u32>,
    /// Who moves first.
    #[arg(long, value_enum, default_value_t = First::Human)]
    pub first: First,
    /// Seed for the random playouts and tie-breaks (default: from the OS).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub onnx: OnnxArgs,
}

/// The validated settings of `actor play`.
#[derive(Clone, Debug)]
pub struct PlayConfig {
    pub game: GameKind,
    /// The bot's search (no root noise).
    pub search: SearchConfig,
    pub onnx: OnnxArgs,
    pub human: Player,
    pub seed: u64,
}

impl PlayArgs {
    pub fn validate(&self) -> Result<PlayConfig, ConfigError> {
        let game = GameKind::from_name(&self.game)?;
        let d = profile(game);
        let sims = check("sims", self.sims.unwrap_or(d.play.simulations), 1, 1_000_000, "between 1 and 1000000")?;
        Ok(PlayConfig {
            game,
            search: SearchConfig {
                algorithm: self.search.algorithm(d)?,
                // No noise and no temperature: the bot plays its best move.
                params: SearchParams { simulations: sims, leaves_per_game: 8, root_noise: false },
            },
            onnx: self.onnx.validate()?,
            human: if self.first == First::Human { Player::First } else { Player::Second },
            seed: self.seed.unwrap_or_else(rand::random),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum First {
    Human,
    Bot,
}

/// The bot's evaluator: a network, or random playouts when there is none.
enum Brain {
    Net(Arc<NnModel>),
    Playouts,
}

/// The bot: how it evaluates, a line saying so, and its search settings.
struct Bot {
    brain: Brain,
    about: String,
    search: SearchConfig,
}

/// Resolves `--model` to a brain and a line describing it.
fn load_brain(a: &PlayArgs, kind: GameKind) -> Result<(Brain, String)> {
    let path = match a.model.as_str() {
        "none" => return Ok((Brain::Playouts, "search with random playouts (no network)".into())),
        "latest" => {
            let p = a.data_dir.join("models").join("latest.onnx");
            if !p.is_file() {
                return Ok((Brain::Playouts, format!("no model at {} yet: search with random playouts", p.display())));
            }
            p
        }
        file => PathBuf::from(file),
    };
    if !path.is_file() {
        bail!("--model {}: {} does not exist (give a model file, latest or none)", a.model, path.display());
    }
    load_model(&path, kind, &a.onnx)
}

fn load_model(path: &Path, kind: GameKind, onnx: &OnnxArgs) -> Result<(Brain, String)> {
    onnx.init().context("ONNX Runtime is needed to play with a model (or use --model none)")?;
    let m =
        NnModel::load_with(path, kind.spec(), onnx.session()).with_context(|| format!("loading {}", path.display()))?;
    let line = format!("model {} (step {})", path.display(), m.info.step);
    Ok((Brain::Net(Arc::new(m)), line))
}

pub fn play_cmd(a: &PlayArgs) -> Result<()> {
    let cfg = a.validate()?;
    let (brain, about) = load_brain(a, cfg.game)?;
    let bot = Bot { brain, about, search: cfg.search };
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    // Piped input is not echoed by a terminal: print it, so a transcript reads like a game.
    let echo = !std::io::IsTerminal::is_terminal(&stdin);
    with_game!(cfg.game, G => play_game::<G>(&bot, cfg.human, echo, &mut stdin.lock(), &mut stdout.lock(), &mut rng))
}

/// How a line of input reads.
#[derive(Debug, PartialEq, Eq)]
enum Input {
    Quit,
    Undo,
    Moves,
    Help,
    Move(String),
}

fn read_input(line: &str) -> Option<Input> {
    let t = line.trim();
    Some(match t.to_ascii_lowercase().as_str() {
        "" => return None,
        "quit" | "exit" | "q" => Input::Quit,
        "undo" | "u" => Input::Undo,
        "moves" | "legal" | "?" => Input::Moves,
        "help" | "h" => Input::Help,
        _ => Input::Move(t.to_string()),
    })
}

fn side_name(p: Player) -> &'static str {
    match p {
        Player::First => "X",
        Player::Second => "O",
    }
}

fn move_list<G: Game>(g: &G) -> String {
    g.legal_actions().into_iter().map(G::action_name).collect::<Vec<_>>().join(" ")
}

/// An example of the notation for the help line (from the game's profile).
fn notation_hint<G: Game>() -> &'static str {
    GameKind::from_name(G::spec().name).map_or("a move in the game's notation", |k| profile(k).move_hint.as_str())
}

/// The position after `moves` from the start (every move in it was checked when played).
fn replay<G: Game>(moves: &[Action]) -> G {
    let mut g = G::initial();
    for &m in moves {
        g.apply_unchecked(m);
    }
    g
}

/// Plays one game between the bot and the lines of `input`; all text goes to `out`.
fn play_game<G: Game>(
    bot: &Bot,
    human: Player,
    echo: bool,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    rng: &mut StdRng,
) -> Result<()> {
    let spec = G::spec();
    writeln!(
        out,
        "{}: you are {} ({}), the bot is {}.",
        spec.display_name,
        side_name(human),
        if human == Player::First { "first" } else { "second" },
        side_name(human.opponent())
    )?;
    let search = &bot.search;
    writeln!(
        out,
        "Bot: {}, {} search with {} simulations per move.",
        bot.about,
        search.algorithm.name(),
        search.params.simulations
    )?;
    writeln!(out, "Type {}; or undo, moves, help, quit.", notation_hint::<G>())?;
    let mut moves: Vec<Action> = Vec::new();
    let mut movers: Vec<Player> = Vec::new();
    let mut g = G::initial();
    let mut show_board = true;
    let mut line = String::new();
    loop {
        if show_board {
            writeln!(out, "\n{g}")?;
            show_board = false;
        }
        if let Some(outcome) = g.outcome() {
            let verdict = match outcome {
                Outcome::Draw => "It's a draw.".to_string(),
                Outcome::Win(p) if p == human => format!("{} wins: you win!", side_name(p)),
                Outcome::Win(p) => format!("{} wins: the bot wins.", side_name(p)),
            };
            writeln!(out, "Game over after {} moves. {verdict}", moves.len())?;
            return Ok(());
        }
        let to_move = g.to_move();
        if to_move != human {
            let result = match &bot.brain {
                Brain::Net(m) => run_search(&g, search, &mut NnEvaluator(m.clone()), rng),
                Brain::Playouts => {
                    // Random playouts are sequential; a batch of leaves buys nothing.
                    let playouts = search.with(|p| p.leaves_per_game = 1);
                    let mut ev = RolloutEvaluator { rollouts: 1, rng: StdRng::seed_from_u64(rng.random()) };
                    run_search(&g, &playouts, &mut ev, rng)
                }
            }
            .context("the bot's search failed")?;
            let best = result.choose(&g.legal_actions(), 0.0, rng);
            writeln!(
                out,
                "Bot ({}) plays {} (its value estimate for itself: {:+.2})",
                side_name(to_move),
                G::action_name(best),
                result.root_value
            )?;
            g.apply_unchecked(best);
            moves.push(best);
            movers.push(to_move);
            show_board = true;
            continue;
        }

        write!(out, "Your move ({}): ", side_name(human))?;
        out.flush()?;
        line.clear();
        if input.read_line(&mut line).context("reading stdin")? == 0 {
            writeln!(out, "\nInput ended; leaving the game unfinished.")?;
            return Ok(());
        }
        if echo {
            writeln!(out, "{}", line.trim_end())?;
        }
        match read_input(&line) {
            None => {}
            Some(Input::Quit) => {
                writeln!(out, "Quit after {} moves.", moves.len())?;
                return Ok(());
            }
            Some(Input::Help) => {
                writeln!(
                    out,
                    "Type {}. Commands: undo (take back your last move), moves (list legal moves), quit.",
                    notation_hint::<G>()
                )?;
            }
            Some(Input::Moves) => writeln!(out, "Legal moves: {}", move_list(&g))?,
            Some(Input::Undo) => {
                if !movers.contains(&human) {
                    writeln!(out, "Nothing to undo: you have not moved yet.")?;
                    continue;
                }
                // Back to just before your last move, taking the bot's replies with it.
                while let (Some(_), Some(p)) = (moves.pop(), movers.pop()) {
                    if p == human {
                        break;
                    }
                }
                g = replay::<G>(&moves);
                writeln!(out, "Undone: back to move {}.", moves.len() + 1)?;
                show_board = true;
            }
            Some(Input::Move(text)) => match G::parse_action(&text).and_then(|a| g.apply(a as i64).map(|n| (a, n))) {
                Ok((a, next)) => {
                    g = next;
                    moves.push(a);
                    movers.push(human);
                    show_board = true;
                }
                Err(e) => writeln!(out, "Not played: {e}. Legal moves: {}", move_list(&g))?,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::tictactoe::TicTacToe;

    fn run(input: &str, human: Player, sims: u32) -> String {
        let bot = Bot {
            brain: Brain::Playouts,
            about: "test".into(),
            search: SearchConfig::puct_defaults(GameKind::TicTacToe, sims, 1, false),
        };
        let mut out = Vec::new();
        let mut rng = StdRng::seed_from_u64(7);
        play_game::<TicTacToe>(&bot, human, true, &mut input.as_bytes(), &mut out, &mut rng).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn commands_are_read_case_blind_and_blank_lines_skipped() {
        assert_eq!(read_input("  \n"), None);
        assert_eq!(read_input("QUIT\n"), Some(Input::Quit));
        assert_eq!(read_input("undo"), Some(Input::Undo));
        assert_eq!(read_input(" b2 "), Some(Input::Move("b2".into())));
    }

    #[test]
    fn undo_takes_back_the_bots_reply_too() {
        let out = run("b2\nundo\nquit\n", Player::First, 50);
        assert!(out.contains("Bot (O) plays"), "{out}");
        assert!(out.contains("Undone: back to move 1."), "{out}");
        // After the undo the board is empty again.
        let after = out.rsplit("  a b c\n").next().unwrap();
        let board: Vec<&str> = after.lines().take(3).collect();
        assert_eq!(board, ["1 . . .", "2 . . .", "3 . . ."], "{out}");
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            play: PlayArgs,
        }
        let parse = |args: &[&str]| Cli::try_parse_from(std::iter::once("play").chain(args.iter().copied()));
        for (args, needle) in [
            (&["--sims", "0"][..], "--sims"),
            (&["--c-puct", "0"][..], "--c-puct"),
            (&["--game", "go"][..], "unknown game"),
            (&["--intra-threads", "0"][..], "--intra-threads"),
        ] {
            let e = parse(args).unwrap().play.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
        let c = parse(&["--game", "connect4", "--first", "bot"]).unwrap().play.validate().unwrap();
        assert_eq!((c.search.params.simulations, c.human), (400, Player::Second));
        assert!(!c.search.params.root_noise);
        assert!(parse(&["--search", "nope"]).is_err(), "clap refuses an unknown search");
    }

    #[test]
    fn nothing_to_undo_before_the_first_move() {
        let out = run("undo\nquit\n", Player::First, 10);
        assert!(out.contains("Nothing to undo"), "{out}");
        assert!(out.contains("Quit after 0 moves."), "{out}");
    }
}
