//! TTTS: top-two Thompson sampling over Gaussian value posteriors, generic over
//! [`Game`].
//!
//! Every child keeps a Gaussian belief about its value from its mover's point of view
//! (the convention of PUCT's `value_sum`, see [`super::puct`]): the values backed up
//! through it are observations `y ~ N(θ, σ_obs²)` of an unknown `θ` with a normal
//! prior `N(m0, v0)`, so the posterior is the conjugate one,
//!
//! ```text
//! precision = 1/v0 + n/σ_obs²        var = 1/precision
//! mean      = (m0/v0 + Σy/σ_obs²) / precision
//! ```
//!
//! where `n` and `Σy` count each pending simulation through the child as one more
//! observation of −1 (virtual loss, as PUCT does), so the leaves of one batch spread
//! out instead of all following the same draw.
//!
//! The prior comes from the network when the parent is expanded:
//! - `m0` is the parent's network value seen from the children's mover (the side to
//!   move at the parent), minus `--ttts-fpu-reduction`: PUCT's first-play urgency,
//!   but from the network's value of the parent rather than the parent's running mean,
//!   since it is fixed once the parent is expanded.
//! - `v0 = σ0² · clamp(K·p, 0.1, 4)` with `K` the number of legal moves and `p` the
//!   child's policy prior (with root noise, the noisy one), so `K·p = 1` under a
//!   uniform policy. A move the policy likes gets a wider prior, lands on top of the
//!   draws more often while the evidence is thin, and follows its observations sooner;
//!   a move it dislikes stays close to `m0`, below the moves that have proven good.
//!   The clamp keeps a confident policy from freezing a move out or in completely.
//!
//! Terminal positions are scored exactly, as in PUCT, and their posterior is their
//! exact value with variance 0: a move that wins on the spot is drawn as a win every
//! time.
//!
//! Selection: at the root, top-two Thompson sampling (Russo 2016): draw `θ_c` from
//! every child's posterior and take the argmax `I`; with probability `β`
//! (`--ttts-beta`) play `I`, otherwise redraw (at most [`MAX_REDRAWS`] times) until
//! another child `J` comes out on top and play `J` (`I` if none does). Below the root,
//! plain Thompson sampling (one draw, the argmax; `β = 1`). The root is the only place
//! a decision is made: there the search must tell the best move from its closest rival,
//! which is what top-two's forced look at the challenger is for (best-arm
//! identification). Below the root a node's job is to back up its own value, the
//! value of its best reply; forcing visits to the second-best reply there would drag
//! that mean down and mislead the decision above, so plain Thompson sampling, which
//! concentrates on the best reply, is the right rule.
//!
//! The move played (greedy play: the move API, arena, accuracy, self-play after its
//! warm plies) is the visited root child with the largest posterior mean, TTTS's own
//! recommendation, not the most visited one: top-two sends up to `1 − β` of the
//! visits to the challenger, so at small budgets visit counts say less about which
//! move is best than the posteriors do (measured on the Connect4 sets at 100
//! simulations: 29.5% errors on opening-medium by visits, 18.5% by posterior mean).
//!
//! The result's distribution is the root's visit shares (the policy target self-play stores). Where
//! two moves are close, top-two makes them flatter than PUCT's: the challenger keeps up
//! to a `1 − β` share. A move that almost never tops a draw is not found within the
//! bounded redraws, so a clearly best move keeps nearly all the visits; unbounded
//! redraws would hand `1 − β` of the budget to hopeless moves, which neither the move
//! choice nor the policy target wants, and would cost ever more draws per simulation.
//!
//! The sampler is the search's own small RNG, so `gather` needs none. It is reseeded
//! from the driver's RNG when the root is expanded (the first `complete` of every
//! search), which makes a search exactly reproducible from the driver's seed and a
//! reset search the same as a new one.

use engine_core::{Action, Game};
use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};
use rand_distr::StandardNormal;

use super::puct::{backup, clean_value, expand, noise_root_priors, Node};
use super::{leaves_to_gather, PendingLeaf, Search, SearchAlgorithm, SearchError, SearchParams, SearchResult};
use crate::flags::{check, ConfigError};
use crate::profile::GameProfile;

/// The prior variance's policy factor `K·p` is clamped to this range.
pub const PRIOR_SCALE: (f32, f32) = (0.1, 4.0);

/// Most redraws at the root looking for a challenger before the leader is taken.
pub const MAX_REDRAWS: u32 = 32;

/// TTTS's own flags (each prefixed, since every algorithm's flags are flattened into
/// one command line).
#[derive(clap::Args, Clone, Debug)]
pub struct TttsArgs {
    /// TTTS: probability of playing the root's top draw rather than its challenger
    /// (1 = plain Thompson sampling at the root too).
    #[arg(long, default_value_t = 0.5)]
    pub ttts_beta: f32,
    /// TTTS: variance of one backed-up value around a move's true value.
    #[arg(long, default_value_t = 0.5)]
    pub ttts_obs_var: f32,
    /// TTTS: prior variance of a move's value under a uniform policy (scaled by
    /// clamp(legal moves × policy prior, 0.1, 4)).
    #[arg(long, default_value_t = 0.25)]
    pub ttts_prior_var: f32,
    /// TTTS: a move's prior mean is its parent's network value minus this.
    #[arg(long, default_value_t = 0.0)]
    pub ttts_fpu_reduction: f32,
    /// TTTS: root Dirichlet noise alpha in self-play [default: 10 / the game's average
    /// number of legal moves, from its profile].
    #[arg(long)]
    pub ttts_dirichlet_alpha: Option<f32>,
    /// TTTS: weight of the root noise in the priors in self-play (0 disables it).
    #[arg(long, default_value_t = 0.25)]
    pub ttts_dirichlet_epsilon: f32,
}

/// TTTS's own parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct TttsParams {
    /// Probability of taking the root's top draw rather than the challenger.
    pub beta: f32,
    /// Observation noise variance `σ_obs²`.
    pub obs_var: f32,
    /// Prior variance `σ0²` under a uniform policy.
    pub prior_var: f32,
    /// Prior mean = parent's network value minus this.
    pub fpu_reduction: f32,
    /// Dirichlet alpha of the root noise.
    pub dirichlet_alpha: f32,
    /// Weight of the noise in the root priors (only with root noise on).
    pub dirichlet_epsilon: f32,
}

impl TttsParams {
    /// The defaults of the flags for `profile`'s game.
    pub fn defaults(profile: &GameProfile) -> TttsParams {
        TttsParams {
            beta: 0.5,
            obs_var: 0.5,
            prior_var: 0.25,
            fpu_reduction: 0.0,
            dirichlet_alpha: profile.selfplay.dirichlet_alpha(),
            dirichlet_epsilon: 0.25,
        }
    }
}

/// The TTTS algorithm (see the module docs).
pub struct Ttts;

impl SearchAlgorithm for Ttts {
    type Args = TttsArgs;
    type Params = TttsParams;

    fn params(a: &TttsArgs, profile: &GameProfile) -> Result<TttsParams, ConfigError> {
        let alpha = a.ttts_dirichlet_alpha.unwrap_or(profile.selfplay.dirichlet_alpha());
        Ok(TttsParams {
            beta: check("ttts-beta", a.ttts_beta, 0.01, 1.0, "between 0.01 and 1")?,
            obs_var: check("ttts-obs-var", a.ttts_obs_var, 0.001, 100.0, "between 0.001 and 100")?,
            prior_var: check("ttts-prior-var", a.ttts_prior_var, 0.001, 100.0, "between 0.001 and 100")?,
            fpu_reduction: check("ttts-fpu-reduction", a.ttts_fpu_reduction, -2.0, 2.0, "between -2 and 2")?,
            dirichlet_alpha: check("ttts-dirichlet-alpha", alpha, 0.001, 100.0, "between 0.001 and 100")?,
            dirichlet_epsilon: check("ttts-dirichlet-epsilon", a.ttts_dirichlet_epsilon, 0.0, 1.0, "between 0 and 1")?,
        })
    }

    fn start<G: Game>(root: G, common: &SearchParams, params: &TttsParams) -> Result<Box<dyn Search<G>>, SearchError> {
        Ok(Box::new(TttsSearch::new(root, common.clone(), params.clone())?))
    }
}

/// The conjugate normal posterior `(mean, variance)` of a value with prior
/// `N(m0, v0)` after `n` observations summing to `sum_y`, each with noise variance
/// `obs_var`.
pub fn posterior(m0: f32, v0: f32, n: f32, sum_y: f32, obs_var: f32) -> (f32, f32) {
    let precision = 1.0 / v0 + n / obs_var;
    ((m0 / v0 + sum_y / obs_var) / precision, 1.0 / precision)
}

/// The prior variance of a child with policy prior `p` among `k` legal moves.
pub fn prior_variance(prior_var: f32, k: u32, p: f32) -> f32 {
    prior_var * (k as f32 * p).clamp(PRIOR_SCALE.0, PRIOR_SCALE.1)
}

/// Whether `n` is a terminal position already scored (expanded without children).
fn is_terminal(n: &Node) -> bool {
    n.expanded && n.num_children == 0
}

/// A child's posterior `(mean, variance)` from its mover's side, counting its virtual
/// losses; `m0` is the prior mean of `parent`'s children. A scored terminal child is
/// its exact value with variance 0.
pub fn child_posterior(nodes: &[Node], parent: usize, child: usize, m0: f32, t: &TttsParams) -> (f32, f32) {
    let c = &nodes[child];
    if is_terminal(c) {
        if let Some(q) = c.q() {
            return (q, 0.0);
        }
    }
    let v0 = prior_variance(t.prior_var, nodes[parent].num_children, c.prior);
    let vl = c.virtual_loss as f32;
    posterior(m0, v0, c.visits as f32 + vl, c.value_sum - vl, t.obs_var)
}

/// Fills `out` with `(mean, standard deviation)` of every child of `parent`.
pub fn fill_posteriors(nodes: &[Node], parent: usize, m0: f32, t: &TttsParams, out: &mut Vec<(f32, f32)>) {
    out.clear();
    out.extend(nodes[parent].children().map(|c| {
        let (mean, var) = child_posterior(nodes, parent, c, m0, t);
        (mean, var.sqrt())
    }));
}

/// One Thompson draw: a sample from each `(mean, sd)`, the index of the largest
/// (the first on ties).
pub fn thompson<R: Rng + ?Sized>(post: &[(f32, f32)], rng: &mut R) -> usize {
    let mut best = 0;
    let mut best_theta = f32::NEG_INFINITY;
    for (i, &(mean, sd)) in post.iter().enumerate() {
        let z: f32 = rng.sample(StandardNormal);
        let theta = mean + sd * z;
        if theta > best_theta {
            best_theta = theta;
            best = i;
        }
    }
    best
}

/// Top-two Thompson sampling: the top draw with probability `beta`, otherwise the
/// first other top draw within [`MAX_REDRAWS`] redraws (the top draw if none).
pub fn top_two<R: Rng + ?Sized>(post: &[(f32, f32)], beta: f32, rng: &mut R) -> usize {
    let leader = thompson(post, rng);
    if post.len() < 2 || beta >= 1.0 || rng.random::<f32>() < beta {
        return leader;
    }
    for _ in 0..MAX_REDRAWS {
        let j = thompson(post, rng);
        if j != leader {
            return j;
        }
    }
    leader
}

/// One move's TTTS search tree over a root position (PUCT's node arena).
#[derive(Clone, Debug)]
pub struct TttsSearch<G: Game> {
    pub root: G,
    pub nodes: Vec<Node>,
    /// The network's value of each expanded node for its side to move (the prior
    /// mean of its children before the reduction); parallel to `nodes`.
    pub net_value: Vec<f32>,
    pub params: SearchParams,
    pub ttts: TttsParams,
    /// Simulations backed up so far.
    pub done: u32,
    /// Leaves handed out by `gather` and not yet completed.
    pub in_flight: u32,
    rng: SmallRng,
    /// Scratch list of legal actions, reused by every `complete`.
    legal: Vec<Action>,
    /// Scratch posteriors of one node's children, reused by every selection step.
    post: Vec<(f32, f32)>,
}

impl<G: Game> TttsSearch<G> {
    pub fn new(root: G, params: SearchParams, ttts: TttsParams) -> Result<Self, SearchError> {
        if root.is_terminal() {
            return Err(SearchError::GameOver);
        }
        // The root's mover is the player who is *not* to move, as for any node.
        let nodes = vec![Node::new(0, root.to_move().opponent(), 1.0)];
        Ok(TttsSearch {
            root,
            nodes,
            net_value: vec![0.0],
            params,
            ttts,
            done: 0,
            in_flight: 0,
            // Replaced from the driver's RNG when the root is expanded, before any draw.
            rng: SmallRng::seed_from_u64(0),
            legal: Vec::new(),
            post: Vec::new(),
        })
    }

    /// The prior mean of `node`'s children: its network value (for its side to move,
    /// their mover) minus the reduction.
    pub fn prior_mean(&self, node: usize) -> f32 {
        self.net_value[node] - self.ttts.fpu_reduction
    }

    /// Walks from the root to a leaf by top-two Thompson sampling at the root and
    /// Thompson sampling below, adding a virtual loss along the way. Returns `None` on
    /// a collision with a leaf already waiting for evaluation (the virtual loss is
    /// taken back).
    pub fn select(&mut self) -> Option<(Vec<usize>, G)> {
        let mut path = vec![0usize];
        let mut state = self.root.clone();
        let mut node = 0usize;
        self.nodes[0].virtual_loss += 1;
        while self.nodes[node].expanded && self.nodes[node].num_children > 0 {
            let m0 = self.prior_mean(node);
            fill_posteriors(&self.nodes, node, m0, &self.ttts, &mut self.post);
            let k = if node == 0 {
                top_two(&self.post, self.ttts.beta, &mut self.rng)
            } else {
                thompson(&self.post, &mut self.rng)
            };
            node = self.nodes[node].first_child as usize + k;
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
}

impl<G: Game> Search<G> for TttsSearch<G> {
    fn root(&self) -> &G {
        &self.root
    }

    /// Starts a new search from `root` with the same parameters, keeping the arena's
    /// memory (no tree reuse, as with PUCT).
    fn reset(&mut self, root: G) -> Result<(), SearchError> {
        if root.is_terminal() {
            return Err(SearchError::GameOver);
        }
        self.nodes.clear();
        self.nodes.push(Node::new(0, root.to_move().opponent(), 1.0));
        self.net_value.clear();
        self.net_value.push(0.0);
        self.root = root;
        self.done = 0;
        self.in_flight = 0;
        Ok(())
    }

    /// Collects up to [`leaves_to_gather`] leaves needing evaluation. Terminal leaves
    /// are scored with the true outcome and backed up at once. Selection is random, so
    /// a collision with a pending leaf is retried (the next draws may go elsewhere),
    /// at most `leaves_per_game` times per call, which keeps batches full without
    /// looping when every path leads to a pending leaf.
    fn gather(&mut self, out: &mut Vec<PendingLeaf<G>>) {
        let mut collisions = 0;
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
            let Some((path, state)) = self.select() else {
                collisions += 1;
                if collisions >= self.params.leaves_per_game.max(1) {
                    return;
                }
                continue;
            };
            let leaf = *path.last().expect("path holds the root");
            if let Some(outcome) = state.outcome() {
                // Marked expanded without children: its posterior is its exact value.
                self.nodes[leaf].expanded = true;
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

    /// Expands a gathered leaf with the evaluator's `logits`, keeps its `value` as its
    /// children's prior mean, and backs the value up. Expanding the root reseeds the
    /// sampler from `rng` and, with root noise on, adds Dirichlet noise to the root's
    /// priors (and so to its children's prior variances).
    fn complete(&mut self, leaf: PendingLeaf<G>, logits: &[f32], value: f32, rng: &mut dyn RngCore) {
        let mut legal = std::mem::take(&mut self.legal);
        leaf.state.legal_actions_into(&mut legal);
        let to_move = leaf.state.to_move();
        expand(&mut self.nodes, leaf.node, to_move, &legal, logits);
        self.legal = legal;
        let value = clean_value(value);
        self.net_value.resize(self.nodes.len(), 0.0);
        self.net_value[leaf.node] = value;
        if leaf.node == 0 {
            self.rng = SmallRng::seed_from_u64(rng.next_u64());
            if self.params.root_noise {
                noise_root_priors(&mut self.nodes, self.ttts.dirichlet_alpha, self.ttts.dirichlet_epsilon, rng);
            }
        }
        backup(&mut self.nodes, &leaf.path, value, to_move, true);
        self.in_flight -= 1;
        self.done += 1;
    }

    fn is_finished(&self) -> bool {
        self.done >= self.params.simulations.max(1)
    }

    fn simulations_done(&self) -> u32 {
        self.done
    }

    /// Visit shares of the root's children and the root's mean backed-up value.
    fn result(&self) -> SearchResult {
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
        // The root is stored from its mover's side, the opponent of the side to move.
        let root_value = if root.visits > 0 { -root.value_sum / root.visits as f32 } else { 0.0 };
        SearchResult { policy, visits, root_value, selected: self.recommended() }
    }
}

impl<G: Game> TttsSearch<G> {
    /// The move TTTS recommends: the visited root child with the largest posterior
    /// mean (the best-arm identification answer), `None` before any visit.
    pub fn recommended(&self) -> Option<Action> {
        let m0 = self.prior_mean(0);
        self.nodes[0]
            .children()
            .filter(|&c| self.nodes[c].visits > 0)
            .map(|c| (child_posterior(&self.nodes, 0, c, m0, &self.ttts).0, self.nodes[c].action))
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .map(|(_, a)| a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{run_search, Algorithm, Driver, Evaluator, SearchConfig, UniformEvaluator};
    use engine_core::tictactoe::TicTacToe;
    use engine_core::Player;
    use rand::rngs::StdRng;

    fn ttts() -> TttsParams {
        TttsParams {
            beta: 0.5,
            obs_var: 0.5,
            prior_var: 0.25,
            fpu_reduction: 0.0,
            dirichlet_alpha: 1.0,
            dirichlet_epsilon: 0.25,
        }
    }

    fn params(sims: u32, leaves: u32) -> SearchParams {
        SearchParams { simulations: sims, leaves_per_game: leaves, root_noise: false }
    }

    fn config(sims: u32, leaves: u32) -> SearchConfig {
        SearchConfig { algorithm: Algorithm::Ttts(ttts()), params: params(sims, leaves) }
    }

    fn pos(moves: &[i64]) -> TicTacToe {
        TicTacToe::from_actions(moves).unwrap()
    }

    /// Steps `s` to the end with the uniform evaluator.
    fn run(s: &mut TttsSearch<TicTacToe>, rng: &mut StdRng) {
        let mut ev = UniformEvaluator;
        while !s.is_finished() {
            let mut leaves = Vec::new();
            s.gather(&mut leaves);
            let states: Vec<TicTacToe> = leaves.iter().map(|l| l.state).collect();
            let out = Evaluator::<TicTacToe>::evaluate(&mut ev, &states, &[]).unwrap();
            for (i, l) in leaves.into_iter().enumerate() {
                s.complete(l, &out.logits[i * 9..(i + 1) * 9], out.values[i], rng);
            }
        }
    }

    /// Root (X to move) with three children (X's moves) with the given
    /// `(prior, visits, value_sum)`.
    fn tree(children: &[(f32, u32, f32)]) -> Vec<Node> {
        let mut nodes = vec![Node::new(0, Player::Second, 1.0)];
        nodes[0].expanded = true;
        nodes[0].first_child = 1;
        nodes[0].num_children = children.len() as u32;
        for (a, &(p, n, sum)) in children.iter().enumerate() {
            let mut c = Node::new(a as Action, Player::First, p);
            c.visits = n;
            c.value_sum = sum;
            nodes.push(c);
            nodes[0].visits += n;
        }
        nodes
    }

    fn share(counts: &[u32], i: usize) -> f64 {
        counts[i] as f64 / counts.iter().sum::<u32>() as f64
    }

    #[test]
    fn the_posterior_is_the_conjugate_normal_one() {
        // Prior N(0.2, 0.5), observations 1, 0, 0.5 with noise variance 0.25:
        // precision 2 + 12 = 14, mean (0.4 + 6) / 14.
        let (m, v) = posterior(0.2, 0.5, 3.0, 1.5, 0.25);
        assert!((v - 1.0 / 14.0).abs() < 1e-6, "{v}");
        assert!((m - 6.4 / 14.0).abs() < 1e-6, "{m}");
        // No observations: the prior itself.
        assert_eq!(posterior(-0.3, 0.7, 0.0, 0.0, 0.5), (-0.3, 0.7));
        // The prior variance follows the policy, within the clamp.
        assert!((prior_variance(0.25, 4, 0.25) - 0.25).abs() < 1e-7);
        assert!((prior_variance(0.25, 4, 0.5) - 0.5).abs() < 1e-7);
        assert!((prior_variance(0.25, 4, 0.001) - 0.25 * PRIOR_SCALE.0).abs() < 1e-7);
        assert!((prior_variance(0.25, 10, 1.0) - 0.25 * PRIOR_SCALE.1).abs() < 1e-7);

        // In a tree: child 1 has prior 0.75 among 2 moves (v0 = 1.5 σ0²), 4 visits summing 2.
        let t = ttts();
        let mut nodes = tree(&[(0.75, 4, 2.0), (0.25, 0, 0.0)]);
        let (m, v) = child_posterior(&nodes, 0, 1, 0.1, &t);
        let precision = 1.0 / 0.375 + 4.0 / 0.5;
        assert!((v - 1.0 / precision).abs() < 1e-6, "{v}");
        assert!((m - (0.1 / 0.375 + 2.0 / 0.5) / precision).abs() < 1e-6, "{m}");
        // Two pending simulations count as two more observations of -1.
        nodes[1].virtual_loss = 2;
        let (m_vl, v_vl) = child_posterior(&nodes, 0, 1, 0.1, &t);
        let precision = 1.0 / 0.375 + 6.0 / 0.5;
        assert!((m_vl - (0.1 / 0.375 + 0.0 / 0.5) / precision).abs() < 1e-6, "{m_vl}");
        assert!(m_vl < m && v_vl < v);
        // A scored terminal child is its exact value, with no spread.
        nodes[2].expanded = true;
        nodes[2].visits = 3;
        nodes[2].value_sum = 3.0;
        assert_eq!(child_posterior(&nodes, 0, 2, 0.1, &t), (1.0, 0.0));
    }

    #[test]
    fn priors_come_from_the_network_and_virtual_loss_is_removed_on_completion() {
        let t = TttsParams { fpu_reduction: 0.1, ..ttts() };
        let mut s = TttsSearch::new(TicTacToe::initial(), params(100, 1), t).unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        // Expand the root: the network gives X (to move) 0.6, so X's moves start at
        // 0.6 - 0.1, with v0 = σ0² under the uniform policy.
        let mut leaves = Vec::new();
        s.gather(&mut leaves);
        assert_eq!(leaves.len(), 1);
        s.complete(leaves.pop().unwrap(), &[0.0; 9], 0.6, &mut rng);
        assert!((s.prior_mean(0) - 0.5).abs() < 1e-6);
        let fresh = s.nodes[0].first_child as usize;
        let (m, v) = child_posterior(&s.nodes, 0, fresh, s.prior_mean(0), &s.ttts);
        assert!((m - 0.5).abs() < 1e-6 && (v - 0.25).abs() < 1e-6, "{m} {v}");
        // One leaf below the root, pending: one observation of -1 so far.
        s.gather(&mut leaves);
        let leaf = leaves.pop().unwrap();
        let child = leaf.path[1];
        assert_eq!(s.nodes[child].virtual_loss, 1);
        let (pending, _) = child_posterior(&s.nodes, 0, child, s.prior_mean(0), &s.ttts);
        assert!((pending - (0.5 / 0.25 - 1.0 / 0.5) / (1.0 / 0.25 + 1.0 / 0.5)).abs() < 1e-6, "{pending}");
        // The network gives O (to move there) -0.4: X's move observed +0.4, and O's
        // replies start at -0.4 - 0.1.
        s.complete(leaf, &[0.0; 9], -0.4, &mut rng);
        assert!(s.nodes.iter().all(|n| n.virtual_loss == 0));
        let (m, _) = child_posterior(&s.nodes, 0, child, s.prior_mean(0), &s.ttts);
        assert!((m - (0.5 / 0.25 + 0.4 / 0.5) / (1.0 / 0.25 + 1.0 / 0.5)).abs() < 1e-6, "{m}");
        assert!(m > pending);
        assert!((s.prior_mean(child) + 0.5).abs() < 1e-6);
        // The root's value for X: the mean of 0.6 and 0.4.
        assert!((s.result().root_value - 0.5).abs() < 1e-6);
    }

    #[test]
    fn collisions_are_retried_so_batches_stay_full() {
        // X . .
        // . O .    O to move, 64 leaves at a time over six moves: drawn at random, the
        // . . X    leaves collide with pending ones often. Retrying the draws fills a
        //          400-simulation search in about 6 batches; stopping at the first
        //          collision (as PUCT does, whose selection is deterministic) takes 14-21.
        let mut s = TttsSearch::new(pos(&[0, 4, 8]), params(400, 64), ttts()).unwrap();
        let mut rng = StdRng::seed_from_u64(8);
        let (mut leaves, mut batches) = (Vec::new(), 0);
        while !s.is_finished() {
            s.gather(&mut leaves);
            batches += 1;
            for l in leaves.drain(..) {
                s.complete(l, &[0.0; 9], 0.0, &mut rng);
            }
        }
        assert!(batches <= 10, "{batches} batches");
    }

    #[test]
    fn thompson_sampling_picks_a_clearly_best_move() {
        let t = ttts();
        // Child 2 has been worth 0.9 over 40 visits; the others about 0.
        let nodes = tree(&[(0.4, 20, 0.5), (0.4, 20, -0.5), (0.2, 40, 36.0)]);
        let mut post = Vec::new();
        fill_posteriors(&nodes, 0, 0.0, &t, &mut post);
        let mut rng = StdRng::seed_from_u64(1);
        let mut counts = [0u32; 3];
        for _ in 0..5000 {
            counts[thompson(&post, &mut rng)] += 1;
        }
        assert!(counts[2] >= 4975, "{counts:?}");
        // With β = 1 top-two is plain Thompson sampling.
        let mut counts = [0u32; 3];
        for _ in 0..5000 {
            counts[top_two(&post, 1.0, &mut rng)] += 1;
        }
        assert!(counts[2] >= 4975, "{counts:?}");
    }

    #[test]
    fn top_two_gives_the_challenger_about_one_minus_beta() {
        // A leads, B is a close challenger, C is out of the running.
        let post = [(0.3, 0.1), (0.15, 0.1), (-0.9, 0.01)];
        let mut rng = StdRng::seed_from_u64(2);
        const N: u32 = 40_000;
        let mut plain = [0u32; 3];
        for _ in 0..N {
            plain[thompson(&post, &mut rng)] += 1;
        }
        // p = P(B on top of one draw) = Φ(-0.15 / sqrt(0.02)) ≈ 0.144.
        let p = share(&plain, 1);
        assert!((p - 0.144).abs() < 0.015, "{plain:?}");
        assert_eq!(plain[2], 0);
        for beta in [0.5f32, 0.8] {
            let mut counts = [0u32; 3];
            for _ in 0..N {
                counts[top_two(&post, beta, &mut rng)] += 1;
            }
            // With β the first draw; otherwise the other of the two (the redraws
            // almost surely find it: (1 - p)^32 < 1%).
            let b = beta as f64;
            let want = b * p + (1.0 - b) * (1.0 - p);
            let got = share(&counts, 1);
            assert!((got - want).abs() < 0.02, "β {beta}: challenger share {got}, want {want} ({counts:?})");
            assert!(got > 0.9 * (1.0 - b), "β {beta}: {got}");
            assert_eq!(counts[2], 0);
        }
        // A single move, or a leader nobody can catch, is taken every time.
        assert_eq!(top_two(&[(0.0, 1.0)], 0.5, &mut rng), 0);
        let sure = [(1.0, 0.0), (-0.5, 0.01)];
        assert!((0..200).all(|_| top_two(&sure, 0.5, &mut rng) == 0));
    }

    #[test]
    fn search_runs_exactly_the_requested_simulations_with_batches() {
        let mut rng = StdRng::seed_from_u64(1);
        for leaves in [1, 3, 8, 64] {
            let mut s =
                TttsSearch::new(TicTacToe::initial(), SearchParams { root_noise: true, ..params(37, leaves) }, ttts())
                    .unwrap();
            let mut pending = Vec::new();
            let mut most = 0;
            while !s.is_finished() {
                pending.clear();
                s.gather(&mut pending);
                assert!(pending.len() as u32 <= leaves);
                most = most.max(pending.len());
                assert!(s.done + s.in_flight <= 37);
                for l in pending.drain(..) {
                    s.complete(l, &[0.0; 9], 0.0, &mut rng);
                }
            }
            assert_eq!(s.done, 37);
            assert_eq!(s.nodes[0].visits, 37);
            assert!(s.nodes.iter().all(|n| n.virtual_loss == 0 && !n.pending));
            if leaves > 1 {
                assert!(most > 1, "{leaves} leaves per game: batches of at most {most}");
            }
            let r = s.result();
            assert!((r.policy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert_eq!(r.visits.iter().sum::<f32>(), 36.0, "every simulation but the root's expansion");
        }
    }

    #[test]
    fn finds_a_forced_win() {
        // X X .
        // O O .    X to move wins with c1 (2) (and must, or O wins with c2).
        // . . .
        let g = pos(&[0, 3, 1, 4]);
        let mut rng = StdRng::seed_from_u64(3);
        let r = run_search(&g, &config(200, 4), &mut UniformEvaluator, &mut rng).unwrap();
        let best = crate::search::apply_temperature(&r.visits, 0.0).iter().position(|&p| p == 1.0).unwrap();
        assert_eq!(best, 2, "{:?}", r.policy);
        assert!(r.root_value > 0.5, "winning side's value {}", r.root_value);
        assert_eq!(r.selected, Some(2), "the recommendation is the win");
        assert_eq!(r.choose(&g.legal_actions(), 0.0, &mut rng), 2);
    }

    #[test]
    fn the_recommendation_is_the_largest_posterior_mean_not_the_most_visits() {
        let mut s = TttsSearch::new(TicTacToe::initial(), params(10, 1), ttts()).unwrap();
        // Root with three children: the most visited has the worse mean.
        s.nodes = vec![Node::new(0, Player::Second, 1.0)];
        s.nodes[0].expanded = true;
        s.nodes[0].first_child = 1;
        s.nodes[0].num_children = 3;
        s.net_value = vec![0.0; 4];
        for (a, visits, sum) in [(0u16, 30u32, 3.0f32), (1, 12, 6.0), (2, 0, 0.0)] {
            let mut n = Node::new(a, Player::First, 1.0 / 3.0);
            n.visits = visits;
            n.value_sum = sum;
            s.nodes.push(n);
        }
        assert_eq!(s.recommended(), Some(1), "mean 0.5 after 12 visits beats 0.1 after 30; unvisited never");
        s.nodes[2].value_sum = -6.0;
        assert_eq!(s.recommended(), Some(0));
    }

    #[test]
    fn blocks_a_loss() {
        // X X .
        // . O .    O to move must block c1 (2).
        // . . .
        let g = pos(&[0, 4, 1]);
        let mut rng = StdRng::seed_from_u64(4);
        let r = run_search(&g, &config(800, 8), &mut UniformEvaluator, &mut rng).unwrap();
        let best = crate::search::apply_temperature(&r.visits, 0.0).iter().position(|&p| p == 1.0).unwrap();
        assert_eq!(best, 2, "{:?}", r.policy);
    }

    #[test]
    fn a_search_is_reproducible_and_a_reset_one_equals_a_new_one() {
        let g = pos(&[4]);
        let p = SearchParams { root_noise: true, ..params(60, 4) };
        let mut fresh = TttsSearch::new(g, p.clone(), ttts()).unwrap();
        run(&mut fresh, &mut StdRng::seed_from_u64(9));
        let mut again = TttsSearch::new(g, p.clone(), ttts()).unwrap();
        run(&mut again, &mut StdRng::seed_from_u64(9));
        assert_eq!(fresh.result().visits, again.result().visits);

        let mut reused = TttsSearch::new(TicTacToe::initial(), p, ttts()).unwrap();
        run(&mut reused, &mut StdRng::seed_from_u64(10));
        reused.reset(g).unwrap();
        assert_eq!((reused.done, reused.in_flight, reused.nodes.len(), reused.net_value.len()), (0, 0, 1, 1));
        assert_eq!(reused.nodes[0].mover, fresh.nodes[0].mover);
        run(&mut reused, &mut StdRng::seed_from_u64(9));
        assert_eq!(reused.result().visits, fresh.result().visits);
        assert_eq!(reused.result().root_value, fresh.result().root_value);
        assert!(matches!(reused.reset(pos(&[0, 3, 1, 4, 2])), Err(SearchError::GameOver)));
    }

    #[test]
    fn search_refuses_a_finished_game() {
        let g = pos(&[0, 3, 1, 4, 2]);
        assert!(matches!(TttsSearch::new(g, params(10, 1), ttts()), Err(SearchError::GameOver)));
        assert!(config(10, 1).start(g).is_err());
    }

    #[test]
    fn one_simulation_falls_back_to_the_priors() {
        let mut s = config(1, 1).start(TicTacToe::initial()).unwrap();
        Driver::new().run(std::slice::from_mut(&mut s), &mut UniformEvaluator, &mut StdRng::seed_from_u64(6)).unwrap();
        let r = s.result();
        assert!(r.policy.iter().all(|&p| (p - 1.0 / 9.0).abs() < 1e-6), "{:?}", r.policy);
        assert_eq!(r.selected, None);
    }

    #[test]
    fn flags_are_checked_and_default_from_the_profile() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: TttsArgs,
        }
        let profile = crate::profile::profile(engine_core::GameKind::Connect4);
        let parse = |extra: &[&str]| {
            let mut v = vec!["x"];
            v.extend_from_slice(extra);
            Ttts::params(&Cli::try_parse_from(v).unwrap().args, profile)
        };
        assert_eq!(parse(&[]).unwrap(), TttsParams::defaults(profile));
        assert_eq!(parse(&[]).unwrap().dirichlet_alpha, profile.selfplay.dirichlet_alpha());
        let p = parse(&["--ttts-beta", "1", "--ttts-obs-var", "0.2", "--ttts-dirichlet-alpha", "0.3"]).unwrap();
        assert_eq!((p.beta, p.obs_var, p.dirichlet_alpha), (1.0, 0.2, 0.3));
        for bad in [
            &["--ttts-beta", "0"][..],
            &["--ttts-beta", "1.5"],
            &["--ttts-obs-var", "0"],
            &["--ttts-prior-var=-1"],
            &["--ttts-prior-var", "1000"],
            &["--ttts-fpu-reduction", "3"],
            &["--ttts-dirichlet-alpha", "0"],
            &["--ttts-dirichlet-epsilon", "1.1"],
            &["--ttts-beta", "NaN"],
        ] {
            let e = parse(bad).unwrap_err().to_string();
            let flag = bad[0].split('=').next().unwrap();
            assert!(e.contains(&format!("{flag} must be")), "{bad:?}: {e}");
        }
    }
}
