//! Search: one small interface ([`Search`]) that every algorithm implements, one batched
//! driver ([`driver`]) that runs any number of searches against one evaluator, and one
//! rule for the move that is played ([`choose_move`]).
//!
//! A search never calls the network itself. [`Search::gather`] walks its tree and hands
//! out the leaves that need an evaluation (several at once, so that one game fills more
//! of a batch); [`Search::complete`] takes the network's answer for one of them. The
//! driver gathers leaves from many searches (self-play games, arena games, benchmark
//! positions), evaluates them in one call and completes them. Self-play, the move API,
//! terminal play, arena and accuracy all go through it.
//!
//! The algorithms are named once, in the `searches!` list below: each is a type
//! implementing [`SearchAlgorithm`] in its own file, with its own flags and parameters.
//! Parameters every search has (simulations, leaves per game, root exploration) are
//! [`SearchParams`].

pub mod driver;
pub mod evaluator;

use engine_core::{Action, Game};
use rand::{Rng, RngCore};

pub use driver::{run_search, search_many, Driver, SearchSet, StepTimes};
pub use evaluator::{check_output, EvalOutput, Evaluator, RolloutEvaluator, UniformEvaluator};

use crate::flags::ConfigError;
use crate::profile::GameProfile;

/// Errors of a search or of the evaluator behind it.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("evaluator failed: {0}")]
    Evaluator(String),
    #[error("evaluator returned {got} {what}, expected {expected}")]
    BadOutput { what: &'static str, got: usize, expected: usize },
    #[error("cannot search a finished game")]
    GameOver,
}

/// What every search algorithm is given, whatever its own knobs.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchParams {
    /// Completed simulations per move.
    pub simulations: u32,
    /// Most leaves one search may have waiting for the network at once.
    pub leaves_per_game: u32,
    /// Explore at the root (self-play): each algorithm adds its own noise. Off for
    /// play, arena and accuracy.
    pub root_noise: bool,
}

/// A leaf waiting for the evaluator: the node it expands, the path from the root
/// (for the backup) and its position.
#[derive(Clone, Debug)]
pub struct PendingLeaf<G> {
    pub node: usize,
    pub path: Vec<usize>,
    pub state: G,
}

/// The result of a finished search.
#[derive(Clone, Debug)]
pub struct SearchResult {
    /// The search's move distribution over every action (`num_actions` floats, 0 for
    /// illegal ones): visit shares for PUCT. Self-play stores it as the policy target.
    pub policy: Vec<f32>,
    /// Raw visit counts, same layout.
    pub visits: Vec<f32>,
    /// The root's value for its side to move.
    pub root_value: f32,
    /// The move the search itself settled on, when the algorithm picks one (Gumbel's
    /// halving winner, TTTS's largest posterior mean); `None` (PUCT) leaves the greedy
    /// choice to [`choose_move`].
    pub selected: Option<Action>,
}

impl SearchResult {
    /// The move to play: at a warm temperature (at or above [`GREEDY_BELOW`]) one
    /// sampled from the distribution; otherwise the search's own choice when it made
    /// one, or the largest share ([`choose_move`]).
    pub fn choose<R: Rng + ?Sized>(&self, legal: &[Action], temperature: f32, rng: &mut R) -> Action {
        match self.selected {
            Some(a) if temperature < GREEDY_BELOW && legal.contains(&a) => a,
            _ => choose_move(&self.policy, legal, temperature, rng),
        }
    }
}

/// One search over one root position, driven in steps by a [`Driver`].
pub trait Search<G: Game>: Send {
    /// The position searched.
    fn root(&self) -> &G;
    /// Starts over from `root` with the same settings, keeping allocated memory.
    fn reset(&mut self, root: G) -> Result<(), SearchError>;
    /// Appends the leaves that need an evaluation now (none when the search waits for
    /// pending ones or is finished). Terminal leaves are scored inside.
    fn gather(&mut self, out: &mut Vec<PendingLeaf<G>>);
    /// Takes the evaluator's answer for a gathered leaf: policy `logits` over every
    /// action and `value` for the leaf's side to move.
    fn complete(&mut self, leaf: PendingLeaf<G>, logits: &[f32], value: f32, rng: &mut dyn RngCore);
    /// Whether the simulation budget is spent.
    fn is_finished(&self) -> bool;
    /// Simulations completed so far by this search (not counting a subtree kept by
    /// [`Search::advance`]).
    fn simulations_done(&self) -> u32;
    /// Moves on to `next`, the position after `action` was played at the root, keeping
    /// the subtree below `action` where the algorithm can (its visits then count toward
    /// the next search's budget, so it needs fewer evaluations); otherwise the same as
    /// [`Search::reset`]. Returns whether a subtree was kept. Call it only when the
    /// search is finished.
    fn advance(&mut self, action: Action, next: G, rng: &mut dyn RngCore) -> Result<bool, SearchError> {
        let _ = (action, rng);
        self.reset(next).map(|_| false)
    }
    /// The move distribution and root value; meaningful once finished.
    fn result(&self) -> SearchResult;
}

/// A search algorithm: its own flags, its parameters, and how to start a search.
pub trait SearchAlgorithm {
    /// Its flags, flattened into every command that searches.
    type Args: clap::Args + Clone + std::fmt::Debug;
    /// Its validated parameters.
    type Params: Clone + std::fmt::Debug + PartialEq + Send + Sync;
    /// Validates the flags; defaults that depend on the game come from its profile.
    fn params(args: &Self::Args, profile: &GameProfile) -> Result<Self::Params, ConfigError>;
    /// A new search from `root`.
    fn start<G: Game>(root: G, common: &SearchParams, params: &Self::Params)
        -> Result<Box<dyn Search<G>>, SearchError>;
}

/// Declares the search algorithms from one list: their modules, the [`Algorithm`] enum
/// of their parameters, their names and their flags ([`AlgorithmArgs`]).
macro_rules! searches {
    ($($name:literal => $Variant:ident($module:ident::$Algo:ident)),+ $(,)?) => {
        $(pub mod $module;)+

        /// A search algorithm with its parameters.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Algorithm {
            $($Variant(<$module::$Algo as SearchAlgorithm>::Params)),+
        }

        /// The names `--search` accepts.
        pub const SEARCH_NAMES: &[&str] = &[$($name),+];

        /// The flags of every algorithm (each only matters for its own search).
        #[derive(clap::Args, Clone, Debug)]
        pub struct AlgorithmArgs {
            $(
                #[command(flatten)]
                pub $module: <$module::$Algo as SearchAlgorithm>::Args,
            )+
        }

        impl Algorithm {
            /// The algorithm called `name`, its parameters from `args`.
            pub fn from_args(name: &str, args: &AlgorithmArgs, profile: &GameProfile) -> Result<Algorithm, ConfigError> {
                match name.trim().to_ascii_lowercase().as_str() {
                    $($name => Ok(Algorithm::$Variant(<$module::$Algo as SearchAlgorithm>::params(&args.$module, profile)?)),)+
                    _ => Err(ConfigError::UnknownSearch { name: name.to_string(), known: SEARCH_NAMES.join(", ") }),
                }
            }

            /// The algorithm called `name` with its flags' defaults (for a search asked
            /// for by name, as the move API and arena players do).
            pub fn named(name: &str, profile: &GameProfile) -> Result<Algorithm, ConfigError> {
                #[derive(clap::Parser)]
                struct Defaults {
                    #[command(flatten)]
                    algorithms: AlgorithmArgs,
                }
                let d = <Defaults as clap::Parser>::try_parse_from(["defaults"])
                    .expect("every search flag has a default");
                Algorithm::from_args(name, &d.algorithms, profile)
            }

            /// Its name, as `--search` takes it.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Algorithm::$Variant(_) => $name),+
                }
            }

            /// A new search of this algorithm from `root`.
            pub fn start<G: Game>(&self, root: G, common: &SearchParams) -> Result<Box<dyn Search<G>>, SearchError> {
                match self {
                    $(Algorithm::$Variant(p) => <$module::$Algo as SearchAlgorithm>::start(root, common, p)),+
                }
            }
        }
    };
}

// The one list of search algorithms: a new one is its own file (`search/<name>.rs`,
// a type implementing `SearchAlgorithm`) and one line here.
searches! {
    "puct" => Puct(puct::Puct),
    "ttts" => Ttts(ttts::Ttts),
    "gumbel" => Gumbel(gumbel::Gumbel),
}

impl Algorithm {
    /// The same algorithm with the MCTS-solver switched on or off; only PUCT has it.
    pub fn with_solver(self, on: bool) -> Result<Algorithm, ConfigError> {
        match self {
            Algorithm::Puct(p) => Ok(Algorithm::Puct(puct::PuctParams { solver: on, ..p })),
            other if !on => Ok(other),
            other => Err(ConfigError::SolverNeedsPuct(other.name())),
        }
    }

    /// Its name, with `+solver` when PUCT proves results (how reports name it).
    pub fn label(&self) -> String {
        match self {
            Algorithm::Puct(p) if p.solver => "puct+solver".to_string(),
            other => other.name().to_string(),
        }
    }

    /// Parses `puct`, `ttts`, `gumbel` or `puct+solver` (the name with its flags'
    /// defaults; `+solver` switches PUCT's solver on).
    pub fn parse_label(text: &str, profile: &GameProfile) -> Result<Algorithm, ConfigError> {
        let t = text.trim().to_ascii_lowercase();
        match t.strip_suffix("+solver") {
            Some(name) => Algorithm::named(name, profile)?.with_solver(true),
            None => Algorithm::named(&t, profile),
        }
    }
}

/// Everything needed to start searches: the algorithm and the common parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchConfig {
    pub algorithm: Algorithm,
    pub params: SearchParams,
}

impl SearchConfig {
    /// A new search from `root`.
    pub fn start<G: Game>(&self, root: G) -> Result<Box<dyn Search<G>>, SearchError> {
        self.algorithm.start(root, &self.params)
    }

    /// PUCT with its flags' defaults for `kind`'s game.
    pub fn puct_defaults(
        kind: engine_core::GameKind,
        simulations: u32,
        leaves_per_game: u32,
        root_noise: bool,
    ) -> SearchConfig {
        SearchConfig {
            algorithm: Algorithm::Puct(puct::PuctParams::defaults(crate::profile::profile(kind))),
            params: SearchParams { simulations, leaves_per_game, root_noise },
        }
    }

    /// The same search with other common parameters.
    pub fn with(&self, f: impl FnOnce(&mut SearchParams)) -> SearchConfig {
        let mut c = self.clone();
        f(&mut c.params);
        c
    }
}

/// The search flags shared by every command that searches (declared once, flattened
/// into each).
#[derive(clap::Args, Clone, Debug)]
pub struct SearchArgs {
    /// Search algorithm.
    #[arg(long, default_value = "puct", value_parser = clap::builder::PossibleValuesParser::new(SEARCH_NAMES))]
    pub search: String,
    #[command(flatten)]
    pub algorithms: AlgorithmArgs,
}

impl SearchArgs {
    /// The chosen algorithm with its validated parameters.
    pub fn algorithm(&self, profile: &GameProfile) -> Result<Algorithm, ConfigError> {
        Algorithm::from_args(&self.search, &self.algorithms, profile)
    }
}

/// How many more leaves a search may queue now: at most `leaves_per_game` in flight
/// at once, and never more than the simulations this move still needs (so a move never
/// runs more simulations than asked, which would skew the visit targets).
pub fn leaves_to_gather(leaves_per_game: u32, simulations: u32, done: u32, in_flight: u32) -> u32 {
    let budget = simulations.saturating_sub(done + in_flight);
    leaves_per_game.max(1).saturating_sub(in_flight).min(budget)
}

/// Turns a move distribution into probabilities `∝ p^(1/T)`; `T` near 0 puts
/// everything on the largest (the first on ties).
pub fn apply_temperature(visits: &[f32], temperature: f32) -> Vec<f32> {
    let mut out = vec![0.0; visits.len()];
    if visits.is_empty() {
        return out;
    }
    let max = visits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    if temperature < 1e-3 || max <= 0.0 {
        let best = visits.iter().position(|&v| v == max).unwrap_or(0);
        out[best] = 1.0;
        return out;
    }
    // Normalising by the max first keeps n^(1/T) from overflowing for small T.
    let inv = 1.0 / temperature as f64;
    let w: Vec<f64> = visits.iter().map(|&v| (v as f64 / max as f64).powf(inv)).collect();
    let sum: f64 = w.iter().sum();
    for (o, x) in out.iter_mut().zip(w) {
        *o = (x / sum) as f32;
    }
    out
}

/// Samples an index from probabilities `p`.
pub fn sample_index<R: Rng + ?Sized>(p: &[f32], rng: &mut R) -> usize {
    let r: f32 = rng.random::<f32>() * p.iter().sum::<f32>();
    let mut acc = 0.0;
    for (i, &x) in p.iter().enumerate() {
        acc += x;
        if r < acc {
            return i;
        }
    }
    p.iter().rposition(|&x| x > 0.0).unwrap_or(0)
}

/// The temperatures at which [`choose_move`] samples rather than takes the best.
pub const GREEDY_BELOW: f32 = 1e-3;

/// The one rule for the move played after a search, everywhere (self-play, the move
/// API, terminal play, arena, accuracy): with `temperature` below [`GREEDY_BELOW`],
/// the legal action with the largest share of `policy`, ties broken uniformly at
/// random; otherwise an action sampled `∝ policy^(1/T)`.
pub fn choose_move<R: Rng + ?Sized>(policy: &[f32], legal: &[Action], temperature: f32, rng: &mut R) -> Action {
    if temperature >= GREEDY_BELOW {
        let probs = apply_temperature(policy, temperature);
        if legal.iter().any(|&a| probs[a as usize] > 0.0) {
            return sample_index(&probs, rng) as Action;
        }
    }
    let max = legal.iter().map(|&a| policy[a as usize]).fold(f32::NEG_INFINITY, f32::max);
    let top: Vec<Action> = legal.iter().copied().filter(|&a| policy[a as usize] == max).collect();
    top[rng.random_range(0..top.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn temperature_schedule() {
        let v = [1.0, 3.0, 6.0, 0.0];
        assert_eq!(apply_temperature(&v, 0.0), vec![0.0, 0.0, 1.0, 0.0]);
        let t1 = apply_temperature(&v, 1.0);
        assert!((t1[2] - 0.6).abs() < 1e-6 && (t1[0] - 0.1).abs() < 1e-6);
        assert_eq!(t1[3], 0.0);
        // Low temperature sharpens, high flattens.
        let t_low = apply_temperature(&v, 0.5);
        assert!(t_low[2] > t1[2]);
        let t_high = apply_temperature(&v, 4.0);
        assert!(t_high[2] < t1[2]);
        // Tiny temperature does not overflow.
        let t_tiny = apply_temperature(&[1000.0, 900.0], 0.01);
        assert!(t_tiny.iter().all(|x| x.is_finite()) && t_tiny[0] > 0.99);
    }

    #[test]
    fn leaves_to_gather_never_exceeds_remaining_simulations() {
        assert_eq!(leaves_to_gather(8, 100, 0, 0), 8);
        assert_eq!(leaves_to_gather(8, 100, 0, 5), 3);
        assert_eq!(leaves_to_gather(8, 10, 7, 0), 3);
        assert_eq!(leaves_to_gather(8, 10, 7, 3), 0);
        assert_eq!(leaves_to_gather(8, 10, 10, 0), 0);
        assert_eq!(leaves_to_gather(0, 10, 0, 0), 1);
    }

    #[test]
    fn the_greedy_move_is_the_largest_legal_share_with_random_ties() {
        let mut rng = StdRng::seed_from_u64(1);
        let policy = [0.1, 0.4, 0.4, 0.1, 0.9];
        // Action 4 has the largest share but is not legal here.
        let legal = [0, 1, 2, 3];
        let mut seen = [0u32; 5];
        for _ in 0..400 {
            seen[choose_move(&policy, &legal, 0.0, &mut rng) as usize] += 1;
        }
        assert_eq!(seen[0] + seen[3] + seen[4], 0, "{seen:?}");
        assert!(seen[1] > 150 && seen[2] > 150, "ties are broken at random: {seen:?}");
        assert_eq!(choose_move(&[0.0, 0.2, 0.8], &[0, 1, 2], 0.0, &mut rng), 2);
    }

    #[test]
    fn a_warm_move_follows_the_shares() {
        let mut rng = StdRng::seed_from_u64(2);
        let policy = [0.0, 0.25, 0.75];
        let mut seen = [0u32; 3];
        for _ in 0..2000 {
            seen[choose_move(&policy, &[0, 1, 2], 1.0, &mut rng) as usize] += 1;
        }
        assert_eq!(seen[0], 0);
        assert!((seen[2] as f32 / 2000.0 - 0.75).abs() < 0.05, "{seen:?}");
        // Shares that are all zero (one simulation, no visits) fall back to a legal move.
        let a = choose_move(&[0.0, 0.0, 0.0], &[1, 2], 1.0, &mut rng);
        assert!(a == 1 || a == 2);
    }

    #[test]
    fn searches_are_named_once() {
        let profile = crate::profile::profile(engine_core::GameKind::Connect4);
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            search: SearchArgs,
        }
        for &name in SEARCH_NAMES {
            let cli = Cli::try_parse_from(["x", "--search", name]).unwrap();
            assert_eq!(cli.search.algorithm(profile).unwrap().name(), name);
        }
        assert!(Cli::try_parse_from(["x", "--search", "nonsense"]).is_err());
        let args = Cli::try_parse_from(["x"]).unwrap().search.algorithms;
        let e = Algorithm::from_args("nonsense", &args, profile).unwrap_err().to_string();
        assert!(e.contains("puct"), "{e}");
    }
}
