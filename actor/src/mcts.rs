//! PUCT Monte Carlo tree search, generic over [`Game`], that knows nothing about
//! neural networks: positions are scored by an [`Evaluator`].
//!
//! The search is split so that self-play can batch many games into one network call:
//! [`Search::gather`] walks the tree (with virtual loss, so several leaves of one game
//! can be pending at once) and returns the leaves that need an evaluation;
//! [`Search::complete`] expands a leaf with the evaluator's answer and backs the value
//! up. [`run_search`] drives one game's search alone (HTTP play, arena).
//!
//! Values convention: an evaluator returns the value of a position for its side to
//! move. Every node stores `value_sum` from the point of view of the player who made
//! the move *into* it (its `mover`), so a parent ranks its children by their Q
//! directly. Backup adds the leaf value to nodes whose mover is the leaf's side to
//! move and subtracts it from the others; comparing players (not alternating signs)
//! keeps this right for games with passes.

use engine_core::{Action, Game, Player};
use rand::Rng;
use rand_distr::{Distribution, Gamma};

/// Errors from an evaluator.
#[derive(Debug, thiserror::Error)]
pub enum MctsError {
    #[error("evaluator failed: {0}")]
    Evaluator(String),
    #[error("evaluator returned {got} {what}, expected {expected}")]
    BadOutput { what: &'static str, got: usize, expected: usize },
    #[error("cannot search a finished game")]
    GameOver,
}

/// What an evaluator returns for a batch of `n` positions.
#[derive(Clone, Debug, Default)]
pub struct EvalOutput {
    /// `n × num_actions` policy logits (illegal actions are masked by the search).
    pub logits: Vec<f32>,
    /// `n` values in [-1, 1], each for its position's side to move.
    pub values: Vec<f32>,
}

/// Scores a batch of positions. `obs` holds the `n = states.len()` observations
/// (`n × obs_len` floats, §2 of docs/CONTRACTS.md); evaluators that need the rules
/// (random rollouts) use `states`.
pub trait Evaluator<G: Game> {
    fn evaluate(&mut self, states: &[G], obs: &[f32]) -> Result<EvalOutput, MctsError>;

    /// The training step of the model behind this evaluator; `None` without a model.
    fn model_version(&self) -> Option<i64> {
        None
    }
}

/// Uniform prior, value 0: the evaluator used before any model exists.
#[derive(Clone, Copy, Debug, Default)]
pub struct UniformEvaluator;

impl<G: Game> Evaluator<G> for UniformEvaluator {
    fn evaluate(&mut self, states: &[G], _obs: &[f32]) -> Result<EvalOutput, MctsError> {
        Ok(EvalOutput { logits: vec![0.0; states.len() * G::spec().num_actions], values: vec![0.0; states.len()] })
    }
}

/// Uniform prior, value = mean outcome of `rollouts` uniformly random playouts: a
/// search without a network that still plays sensibly (games with no model, arena
/// `mcts`).
pub struct RolloutEvaluator<R: Rng> {
    pub rollouts: usize,
    pub rng: R,
}

impl<G: Game, R: Rng> Evaluator<G> for RolloutEvaluator<R> {
    fn evaluate(&mut self, states: &[G], _obs: &[f32]) -> Result<EvalOutput, MctsError> {
        let mut values = Vec::with_capacity(states.len());
        let mut legal = Vec::new();
        for s in states {
            let me = s.to_move();
            let mut total = 0.0;
            for _ in 0..self.rollouts.max(1) {
                let mut g = s.clone();
                loop {
                    if let Some(o) = g.outcome() {
                        total += o.value_for(me);
                        break;
                    }
                    g.legal_actions_into(&mut legal);
                    let a = legal[self.rng.random_range(0..legal.len())];
                    g.apply_unchecked(a);
                }
            }
            values.push(total / self.rollouts.max(1) as f32);
        }
        Ok(EvalOutput { logits: vec![0.0; states.len() * G::spec().num_actions], values })
    }
}

/// Search parameters, passed in (never global).
#[derive(Clone, Debug, PartialEq)]
pub struct SearchParams {
    /// Completed simulations per move.
    pub simulations: u32,
    /// Exploration constant in the PUCT formula.
    pub c_puct: f32,
    /// Dirichlet alpha for root noise; about 10 / average number of legal moves.
    pub dirichlet_alpha: f32,
    /// Weight of the noise in the root priors; 0 disables it (play, arena).
    pub dirichlet_epsilon: f32,
    /// Q given to unvisited children: the parent's value minus this.
    pub fpu_reduction: f32,
    /// Most leaves one game may have waiting for the network at once.
    pub leaves_per_game: u32,
}

/// Per-game defaults for the search knobs, derived from the game's size.
#[derive(Clone, Debug, PartialEq)]
pub struct GameDefaults {
    /// Simulations per self-play move.
    pub selfplay_simulations: u32,
    /// Simulations per move when a person plays the bot (`/api/move` default).
    pub play_simulations: u32,
    /// About 10 / the average number of legal moves.
    pub dirichlet_alpha: f32,
    /// Plies sampled with temperature 1 at the start of a self-play game.
    pub temperature_moves: u32,
    /// Most uniformly random moves a self-play game starts with (see
    /// `SelfPlayConfig::random_opening_plies`).
    pub random_opening_plies: u32,
    /// Self-play positions per second over all workers (0 = no cap). Set where
    /// self-play outruns the trainer: unthrottled TicTacToe makes ~3,500 positions/s on
    /// one core while the trainer, on the other, draws a few thousand samples/s; 1,000/s
    /// keeps its sample ratio at a few samples per position and leaves it the CPU.
    /// Connect4 and Othello are bound by the network (tens of positions/s) and need none.
    pub max_positions_per_s: f64,
    /// Self-play worker threads. One where the trainer needs the other core the whole
    /// time (TicTacToe's steps are cheap and it trains flat out); two for Connect4 and
    /// Othello, whose trainers are held back by their sample ratio most of the time, so
    /// a second worker turns that idle core into self-play.
    pub threads: usize,
    /// Positions written with uniform priors before self-play waits for the first
    /// model (see `SelfPlayConfig::bootstrap_positions`): about twice the trainer's
    /// `min_positions`; TicTacToe is paced and needs no stop.
    pub bootstrap_positions: u64,
}

/// Defaults for `spec`'s game; unknown games get values derived from their size.
pub fn game_defaults(spec: &engine_core::GameSpec) -> GameDefaults {
    let (avg_legal, sims, play, temp_moves, openings, pace, threads, bootstrap) = match spec.name {
        "tictactoe" => (5.0, 100, 200, 2, 4, 1000.0, 1, 0),
        "connect4" => (6.5, 200, 400, 6, 4, 0.0, 2, 20_000),
        "othello" => (9.0, 200, 400, 10, 0, 0.0, 2, 40_000),
        _ => ((spec.num_actions as f32 / 3.0).max(2.0), 200, 400, (spec.max_game_length / 6) as u32, 0, 0.0, 1, 0),
    };
    GameDefaults {
        selfplay_simulations: sims,
        play_simulations: play,
        dirichlet_alpha: 10.0 / avg_legal,
        temperature_moves: temp_moves,
        random_opening_plies: openings,
        max_positions_per_s: pace,
        threads,
        bootstrap_positions: bootstrap,
    }
}

/// One node of the search tree; children are contiguous in the arena.
#[derive(Clone, Debug)]
pub struct Node {
    /// The action that led here from the parent.
    pub action: Action,
    /// The player who played `action`; `value_sum` is from their point of view.
    pub mover: Player,
    pub prior: f32,
    pub visits: u32,
    pub value_sum: f32,
    /// Pending simulations passing through this node, each counted as a loss.
    pub virtual_loss: u32,
    pub first_child: u32,
    pub num_children: u32,
    pub expanded: bool,
    /// Queued for evaluation; a second visit before it returns is a collision.
    pub pending: bool,
}

impl Node {
    fn new(action: Action, mover: Player, prior: f32) -> Node {
        Node {
            action,
            mover,
            prior,
            visits: 0,
            value_sum: 0.0,
            virtual_loss: 0,
            first_child: 0,
            num_children: 0,
            expanded: false,
            pending: false,
        }
    }

    /// Mean value from the mover's side, counting virtual losses; `None` if unvisited.
    pub fn q(&self) -> Option<f32> {
        let n = self.visits + self.virtual_loss;
        (n > 0).then(|| (self.value_sum - self.virtual_loss as f32) / n as f32)
    }

    fn children(&self) -> std::ops::Range<usize> {
        self.first_child as usize..(self.first_child + self.num_children) as usize
    }
}

/// The PUCT score of a child: `Q + c · P · sqrt(N_parent) / (1 + N_child)`, with `fpu`
/// standing in for Q when the child is unvisited. All counts include virtual loss.
pub fn puct_score(
    c_puct: f32,
    parent_visits: u32,
    prior: f32,
    child_visits: u32,
    child_q: Option<f32>,
    fpu: f32,
) -> f32 {
    let q = child_q.unwrap_or(fpu);
    // sqrt(max(N, 1)) so the first selection at a fresh node follows the prior.
    let u = c_puct * prior * (parent_visits.max(1) as f32).sqrt() / (1.0 + child_visits as f32);
    q + u
}

/// Index (into `nodes`) of the child of `parent` with the best PUCT score; ties go to
/// the first.
pub fn select_child(nodes: &[Node], parent: usize, c_puct: f32, fpu_reduction: f32) -> usize {
    let p = &nodes[parent];
    let parent_n = p.visits + p.virtual_loss;
    // The parent's own value is stored from its mover's side; its children's movers
    // are the parent's side to move, normally the other player.
    let parent_q_for_children = p.q().map(|q| -q).unwrap_or(0.0);
    let fpu = parent_q_for_children - fpu_reduction;
    let mut best = p.first_child as usize;
    let mut best_score = f32::NEG_INFINITY;
    for i in p.children() {
        let c = &nodes[i];
        let s = puct_score(c_puct, parent_n, c.prior, c.visits + c.virtual_loss, c.q(), fpu);
        if s > best_score {
            best_score = s;
            best = i;
        }
    }
    best
}

/// Softmax of `logits` over the `legal` actions only.
pub fn masked_softmax(logits: &[f32], legal: &[Action]) -> Vec<f32> {
    let max = legal.iter().map(|&a| logits[a as usize]).fold(f32::NEG_INFINITY, f32::max);
    let mut p: Vec<f32> = legal
        .iter()
        .map(|&a| {
            let l = logits[a as usize];
            // A NaN or infinite logit from a broken model must not poison the tree.
            if l.is_finite() && max.is_finite() {
                (l - max).exp()
            } else {
                1.0
            }
        })
        .collect();
    let sum: f32 = p.iter().sum();
    if sum.is_nan() || sum <= 0.0 || !sum.is_finite() {
        let u = 1.0 / legal.len() as f32;
        p.iter_mut().for_each(|x| *x = u);
    } else {
        p.iter_mut().for_each(|x| *x /= sum);
    }
    p
}

/// Adds children for `legal` actions to `node` with priors softmaxed from `logits`
/// (the same numbers as [`masked_softmax`], written straight into the new children:
/// this runs once per evaluated leaf, so it allocates nothing).
pub fn expand(nodes: &mut Vec<Node>, node: usize, to_move: Player, legal: &[Action], logits: &[f32]) {
    let first = nodes.len() as u32;
    let max = legal.iter().map(|&a| logits[a as usize]).fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for &a in legal {
        let l = logits[a as usize];
        // A NaN or infinite logit from a broken model must not poison the tree.
        let e = if l.is_finite() && max.is_finite() { (l - max).exp() } else { 1.0 };
        sum += e;
        nodes.push(Node::new(a, to_move, e));
    }
    let children = &mut nodes[first as usize..];
    if sum.is_nan() || sum <= 0.0 || !sum.is_finite() {
        let u = 1.0 / legal.len() as f32;
        children.iter_mut().for_each(|c| c.prior = u);
    } else {
        children.iter_mut().for_each(|c| c.prior /= sum);
    }
    let n = &mut nodes[node];
    n.first_child = first;
    n.num_children = legal.len() as u32;
    n.expanded = true;
    n.pending = false;
}

/// Adds the value `value` (for `leaf_to_move`) to every node on `path`, removing the
/// virtual loss each carried for this simulation.
pub fn backup(nodes: &mut [Node], path: &[usize], value: f32, leaf_to_move: Player, had_virtual_loss: bool) {
    for &i in path {
        let n = &mut nodes[i];
        if had_virtual_loss {
            n.virtual_loss -= 1;
        }
        n.visits += 1;
        n.value_sum += if n.mover == leaf_to_move { value } else { -value };
    }
}

/// Mixes Dirichlet(alpha) noise into `priors`: `(1 - eps) p + eps η`.
pub fn add_dirichlet_noise<R: Rng + ?Sized>(priors: &mut [f32], alpha: f32, epsilon: f32, rng: &mut R) {
    if priors.len() < 2 || epsilon <= 0.0 || alpha <= 0.0 {
        return;
    }
    let gamma = Gamma::new(alpha as f64, 1.0).expect("alpha > 0 checked above");
    let eta: Vec<f64> = priors.iter().map(|_| gamma.sample(rng)).collect();
    let sum: f64 = eta.iter().sum();
    if sum.is_nan() || sum <= 0.0 {
        return;
    }
    for (p, e) in priors.iter_mut().zip(eta) {
        *p = (1.0 - epsilon) * *p + epsilon * (e / sum) as f32;
    }
}

/// Turns visit counts into move probabilities `∝ n^(1/T)`; `T` near 0 picks the most
/// visited move (the first on ties).
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

/// How many more leaves a game may queue now: at most `leaves_per_game` in flight at
/// once, and never more than the simulations this move still needs (so a move never
/// runs more simulations than asked, which would skew the visit targets).
pub fn leaves_to_gather(leaves_per_game: u32, simulations: u32, done: u32, in_flight: u32) -> u32 {
    let budget = simulations.saturating_sub(done + in_flight);
    leaves_per_game.max(1).saturating_sub(in_flight).min(budget)
}

/// A leaf waiting for the evaluator.
#[derive(Clone, Debug)]
pub struct PendingLeaf<G> {
    pub node: usize,
    pub path: Vec<usize>,
    pub state: G,
}

/// The result of a finished search.
#[derive(Clone, Debug)]
pub struct SearchResult {
    /// Visit share of every action (`num_actions` floats, 0 for illegal ones).
    pub policy: Vec<f32>,
    /// Raw visit counts, same layout.
    pub visits: Vec<f32>,
    /// The root's value for its side to move.
    pub root_value: f32,
}

/// One move's search tree over a root position.
#[derive(Clone, Debug)]
pub struct Search<G: Game> {
    pub root: G,
    pub nodes: Vec<Node>,
    pub params: SearchParams,
    /// Simulations backed up so far.
    pub done: u32,
    /// Leaves handed out by `gather` and not yet completed.
    pub in_flight: u32,
    /// Whether to add Dirichlet noise when the root is expanded (self-play only).
    pub root_noise: bool,
    /// Scratch list of legal actions, reused by every `complete`.
    legal: Vec<Action>,
}

impl<G: Game> Search<G> {
    pub fn new(root: G, params: SearchParams, root_noise: bool) -> Result<Self, MctsError> {
        if root.is_terminal() {
            return Err(MctsError::GameOver);
        }
        // The root's mover is the player who is *not* to move, as for any node.
        let nodes = vec![Node::new(0, root.to_move().opponent(), 1.0)];
        Ok(Search { root, nodes, params, done: 0, in_flight: 0, root_noise, legal: Vec::new() })
    }

    /// Starts a new search from `root` with the same parameters, keeping the node
    /// arena's memory (self-play starts one search per move; no tree reuse).
    pub fn reset(&mut self, root: G) -> Result<(), MctsError> {
        if root.is_terminal() {
            return Err(MctsError::GameOver);
        }
        self.nodes.clear();
        self.nodes.push(Node::new(0, root.to_move().opponent(), 1.0));
        self.root = root;
        self.done = 0;
        self.in_flight = 0;
        Ok(())
    }

    pub fn is_finished(&self) -> bool {
        self.done >= self.params.simulations.max(1)
    }

    /// Walks from the root to a leaf by PUCT, adding a virtual loss along the way.
    /// Returns `None` on a collision with a leaf already waiting for evaluation (the
    /// virtual loss is taken back).
    pub fn select(&mut self) -> Option<(Vec<usize>, G)> {
        let mut path = vec![0usize];
        let mut state = self.root.clone();
        let mut node = 0usize;
        self.nodes[0].virtual_loss += 1;
        while self.nodes[node].expanded && self.nodes[node].num_children > 0 {
            node = select_child(&self.nodes, node, self.params.c_puct, self.params.fpu_reduction);
            state.apply_unchecked(self.nodes[node].action);
            self.nodes[node].virtual_loss += 1;
            path.push(node);
        }
        if self.nodes[node].pending {
            for &i in &path {
                self.nodes[i].virtual_loss -= 1;
            }
            return None;
        }
        Some((path, state))
    }

    /// Collects up to [`leaves_to_gather`] leaves needing evaluation. Terminal leaves
    /// are scored with the true outcome and backed up at once.
    pub fn gather(&mut self, out: &mut Vec<PendingLeaf<G>>) {
        loop {
            let want = leaves_to_gather(
                self.params.leaves_per_game,
                self.params.simulations.max(1),
                self.done,
                self.in_flight,
            );
            if want == 0 {
                return;
            }
            let Some((path, state)) = self.select() else { return };
            let leaf = *path.last().expect("path holds the root");
            if let Some(outcome) = state.outcome() {
                let to_move = state.to_move();
                backup(&mut self.nodes, &path, outcome.value_for(to_move), to_move, true);
                self.done += 1;
                continue;
            }
            self.nodes[leaf].pending = true;
            self.in_flight += 1;
            out.push(PendingLeaf { node: leaf, path, state });
        }
    }

    /// Expands a gathered leaf with the evaluator's `logits` and backs up `value`.
    pub fn complete<R: Rng + ?Sized>(&mut self, leaf: PendingLeaf<G>, logits: &[f32], value: f32, rng: &mut R) {
        let mut legal = std::mem::take(&mut self.legal);
        leaf.state.legal_actions_into(&mut legal);
        let to_move = leaf.state.to_move();
        expand(&mut self.nodes, leaf.node, to_move, &legal, logits);
        self.legal = legal;
        if leaf.node == 0 && self.root_noise {
            let r = self.nodes[0].children();
            let mut priors: Vec<f32> = self.nodes[r.clone()].iter().map(|n| n.prior).collect();
            add_dirichlet_noise(&mut priors, self.params.dirichlet_alpha, self.params.dirichlet_epsilon, rng);
            for (n, p) in self.nodes[r].iter_mut().zip(priors) {
                n.prior = p;
            }
        }
        let value = if value.is_finite() { value.clamp(-1.0, 1.0) } else { 0.0 };
        backup(&mut self.nodes, &leaf.path, value, to_move, true);
        self.in_flight -= 1;
        self.done += 1;
    }

    /// Visit shares and root value once the search is done.
    pub fn result(&self) -> SearchResult {
        let a = G::spec().num_actions;
        let mut visits = vec![0.0f32; a];
        for c in self.nodes[0].children() {
            visits[self.nodes[c].action as usize] = self.nodes[c].visits as f32;
        }
        let total: f32 = visits.iter().sum();
        let policy = if total > 0.0 {
            visits.iter().map(|v| v / total).collect()
        } else {
            // Only possible with one simulation: fall back to the priors.
            let mut p = vec![0.0; a];
            for c in self.nodes[0].children() {
                p[self.nodes[c].action as usize] = self.nodes[c].prior;
            }
            p
        };
        let root = &self.nodes[0];
        let root_value = if root.visits > 0 { -root.value_sum / root.visits as f32 } else { 0.0 };
        SearchResult { policy, visits, root_value }
    }
}

/// Encodes the states of `leaves` into one observation buffer.
pub fn encode_batch<G: Game>(leaves: &[PendingLeaf<G>], obs: &mut Vec<f32>) -> Vec<G> {
    let len = G::spec().obs_len();
    obs.clear();
    obs.resize(leaves.len() * len, 0.0);
    for (l, chunk) in leaves.iter().zip(obs.chunks_mut(len)) {
        l.state.encode(chunk);
    }
    leaves.iter().map(|l| l.state.clone()).collect()
}

/// Checks the evaluator's output sizes for `n` positions.
pub fn check_output<G: Game>(out: &EvalOutput, n: usize) -> Result<(), MctsError> {
    let a = G::spec().num_actions;
    if out.logits.len() != n * a {
        return Err(MctsError::BadOutput { what: "policy logits", got: out.logits.len(), expected: n * a });
    }
    if out.values.len() != n {
        return Err(MctsError::BadOutput { what: "values", got: out.values.len(), expected: n });
    }
    Ok(())
}

/// Runs a whole search for one position, batching up to `leaves_per_game` leaves per
/// evaluator call.
pub fn run_search<G: Game, E: Evaluator<G> + ?Sized, R: Rng + ?Sized>(
    root: &G,
    params: &SearchParams,
    root_noise: bool,
    evaluator: &mut E,
    rng: &mut R,
) -> Result<SearchResult, MctsError> {
    let mut search = Search::new(root.clone(), params.clone(), root_noise)?;
    let mut leaves = Vec::new();
    let mut obs = Vec::new();
    let a = G::spec().num_actions;
    while !search.is_finished() {
        leaves.clear();
        search.gather(&mut leaves);
        if leaves.is_empty() {
            continue;
        }
        let states = encode_batch(&leaves, &mut obs);
        let out = evaluator.evaluate(&states, &obs)?;
        check_output::<G>(&out, leaves.len())?;
        for (i, leaf) in leaves.drain(..).enumerate() {
            search.complete(leaf, &out.logits[i * a..(i + 1) * a], out.values[i], rng);
        }
    }
    Ok(search.result())
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::tictactoe::TicTacToe;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn params(sims: u32, leaves: u32) -> SearchParams {
        SearchParams {
            simulations: sims,
            c_puct: 1.5,
            dirichlet_alpha: 1.0,
            dirichlet_epsilon: 0.25,
            fpu_reduction: 0.0,
            leaves_per_game: leaves,
        }
    }

    fn pos(moves: &[i64]) -> TicTacToe {
        TicTacToe::from_actions(moves).unwrap()
    }

    #[test]
    fn puct_prefers_prior_then_value() {
        // Same visits and Q: the higher prior wins.
        assert!(puct_score(1.5, 10, 0.6, 2, Some(0.0), 0.0) > puct_score(1.5, 10, 0.2, 2, Some(0.0), 0.0));
        // Same prior and visits: the higher Q wins.
        assert!(puct_score(1.5, 10, 0.3, 2, Some(0.5), 0.0) > puct_score(1.5, 10, 0.3, 2, Some(-0.5), 0.0));
        // Exact value: q + c·P·sqrt(N)/(1+n) = 0.25 + 2·0.5·2/(1+1).
        let s = puct_score(2.0, 4, 0.5, 1, Some(0.25), 0.0);
        assert!((s - 1.25).abs() < 1e-6, "{s}");
        // Unvisited child uses the first-play-urgency value.
        assert!((puct_score(1.0, 0, 0.0, 0, None, -0.3) + 0.3).abs() < 1e-6);
    }

    #[test]
    fn dirichlet_noise_keeps_a_distribution_and_changes_it() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut p = vec![0.25f32; 4];
        add_dirichlet_noise(&mut p, 0.3, 0.25, &mut rng);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(p.iter().all(|&x| x >= 0.75 * 0.25 - 1e-6));
        assert!(p.iter().any(|&x| (x - 0.25).abs() > 1e-3), "{p:?}");
        let mut q = vec![0.5f32, 0.5];
        add_dirichlet_noise(&mut q, 0.3, 0.0, &mut rng);
        assert_eq!(q, vec![0.5, 0.5]);
    }

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
    fn backup_signs_follow_the_mover() {
        // Root (X to move) -> child after X plays -> grandchild after O plays.
        let mut nodes = vec![
            Node::new(0, Player::Second, 1.0),
            Node::new(4, Player::First, 1.0),
            Node::new(0, Player::Second, 1.0),
        ];
        // The leaf (after X, O) has X to move, and X is winning there: +1 for X.
        backup(&mut nodes, &[0, 1, 2], 1.0, Player::First, false);
        assert_eq!(nodes[1].value_sum, 1.0, "X's move into node 1 is good for X");
        assert_eq!(nodes[2].value_sum, -1.0, "O's move into node 2 is bad for O");
        assert_eq!(nodes[0].value_sum, -1.0, "root stored from O's side");
        assert!(nodes.iter().all(|n| n.visits == 1));
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
    fn search_runs_exactly_the_requested_simulations_with_batches() {
        let mut rng = StdRng::seed_from_u64(1);
        for leaves in [1, 3, 8, 64] {
            let mut s = Search::new(TicTacToe::initial(), params(37, leaves), true).unwrap();
            let mut pending = Vec::new();
            let a = 9;
            while !s.is_finished() {
                pending.clear();
                s.gather(&mut pending);
                assert!(pending.len() as u32 <= leaves);
                assert!(s.done + s.in_flight <= 37);
                for l in pending.drain(..) {
                    s.complete(l, &vec![0.0; a], 0.0, &mut rng);
                }
            }
            assert_eq!(s.done, 37);
            assert_eq!(s.nodes[0].visits, 37);
            assert!(s.nodes.iter().all(|n| n.virtual_loss == 0));
            let r = s.result();
            assert!((r.policy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn finds_a_forced_win() {
        // X X .
        // O O .    X to move wins with c1 (2) (and must, or O wins with c2).
        // . . .
        let g = pos(&[0, 3, 1, 4]);
        let mut rng = StdRng::seed_from_u64(3);
        let r = run_search(&g, &params(200, 4), false, &mut UniformEvaluator, &mut rng).unwrap();
        let best = apply_temperature(&r.visits, 0.0).iter().position(|&p| p == 1.0).unwrap();
        assert_eq!(best, 2, "{:?}", r.policy);
        assert!(r.root_value > 0.5, "winning side's value {}", r.root_value);
    }

    #[test]
    fn blocks_a_loss() {
        // X X .
        // . O .    O to move must block c1 (2).
        // . . .
        let g = pos(&[0, 4, 1]);
        let mut rng = StdRng::seed_from_u64(4);
        let r = run_search(&g, &params(800, 8), false, &mut UniformEvaluator, &mut rng).unwrap();
        let best = apply_temperature(&r.visits, 0.0).iter().position(|&p| p == 1.0).unwrap();
        assert_eq!(best, 2, "{:?}", r.policy);
    }

    #[test]
    fn rollout_evaluator_scores_a_won_position() {
        // X X .
        // O O X    one empty cell left; X to move completes the top row.
        // X O O
        let win = pos(&[0, 3, 1, 4, 5, 7, 6, 8]);
        // X . .
        // . . .    O to move can play anywhere; random play is about even, and
        // . . .    the value stays inside [-1, 1].
        let open = pos(&[0]);
        let mut ev = RolloutEvaluator { rollouts: 200, rng: StdRng::seed_from_u64(5) };
        let out = Evaluator::<TicTacToe>::evaluate(&mut ev, &[win, open], &[]).unwrap();
        assert_eq!(out.values[0], 1.0);
        assert!(out.values[1] > -1.0 && out.values[1] < 1.0, "{}", out.values[1]);
        assert_eq!(out.logits, vec![0.0; 18]);
    }

    #[test]
    fn expand_priors_match_masked_softmax() {
        let logits = [0.3, -1.0, 2.0, f32::NAN, 0.0, 5.0, 1.0, 1.0, -3.0];
        let legal: Vec<Action> = vec![0, 2, 4, 5, 8];
        let mut nodes = vec![Node::new(0, Player::Second, 1.0)];
        expand(&mut nodes, 0, Player::First, &legal, &logits);
        let want = masked_softmax(&logits, &legal);
        assert_eq!(nodes[0].num_children, 5);
        for (c, w) in nodes[1..].iter().zip(&want) {
            assert!((c.prior - w).abs() < 1e-6, "{} vs {w}", c.prior);
        }
        // A NaN among the legal logits: every legal move counts the same as the max.
        let mut nodes = vec![Node::new(0, Player::Second, 1.0)];
        expand(&mut nodes, 0, Player::First, &[1, 3], &logits);
        let want = masked_softmax(&logits, &[1, 3]);
        assert!((nodes[1].prior - want[0]).abs() < 1e-6 && (nodes[2].prior - want[1]).abs() < 1e-6);
    }

    #[test]
    fn reset_search_equals_a_new_one() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut s = Search::new(TicTacToe::initial(), params(30, 4), false).unwrap();
        let mut ev = UniformEvaluator;
        while !s.is_finished() {
            let mut leaves = Vec::new();
            s.gather(&mut leaves);
            let states: Vec<TicTacToe> = leaves.iter().map(|l| l.state).collect();
            let out = Evaluator::<TicTacToe>::evaluate(&mut ev, &states, &[]).unwrap();
            for (i, l) in leaves.into_iter().enumerate() {
                s.complete(l, &out.logits[i * 9..(i + 1) * 9], out.values[i], &mut rng);
            }
        }
        let next = pos(&[4]);
        s.reset(next).unwrap();
        let fresh = Search::new(next, params(30, 4), false).unwrap();
        assert_eq!((s.done, s.in_flight, s.nodes.len()), (0, 0, 1));
        assert_eq!(s.nodes[0].mover, fresh.nodes[0].mover);
        assert_eq!(s.root, fresh.root);
        assert!(matches!(s.reset(pos(&[0, 3, 1, 4, 2])), Err(MctsError::GameOver)));
    }

    #[test]
    fn search_refuses_a_finished_game() {
        let g = pos(&[0, 3, 1, 4, 2]);
        assert!(matches!(Search::new(g, params(10, 1), false), Err(MctsError::GameOver)));
    }
}
