//! Gumbel AlphaZero (Danihelka, Guez, Schrittwieser and Silver, "Policy improvement by
//! planning with Gumbel", ICLR 2022), following DeepMind's `mctx`
//! (`gumbel_muzero_policy`, `seq_halving.py`, `qtransforms.py`), generic over [`Game`].
//!
//! **Root.** The first simulation evaluates the root (as in PUCT, it counts as one of the
//! `simulations`); the other `n = simulations − 1` each visit one root action. With root
//! noise on (self-play) every legal action gets a Gumbel(0, 1) sample `g(a)`; without it
//! (play, arena, accuracy) `g = 0`, so those searches are deterministic. The
//! `m = min(--gumbel-considered, legal moves, n)` actions with the largest
//! `g + logits` are considered (at least one). Sequential halving then spends `n` in
//! phases of about equal budget (the phases of `mctx`'s
//! `get_sequence_of_considered_visits`, see [`halving_phases`]): each considered action
//! is visited up to the phase's target, then the better half by `g + logits + σ(q̂)`
//! stays (never fewer than two). The next root simulation goes to the considered action
//! with the fewest visits still below the phase's target, the better-ranked one on ties.
//! Once the budget is spent the search's own move ([`SearchResult::selected`]) is the
//! action with the largest `g + logits + σ(q̂)` among the most visited ones (`mctx`'s
//! rule: the survivors of the last halving). Sampling `g` and keeping the top actions is
//! the Gumbel-top-k trick: in self-play the selected move is a sample from an improved
//! policy, so Gumbel noise replaces PUCT's Dirichlet noise. [`SearchResult::choose`]
//! plays it whenever the temperature is greedy; self-play's first
//! `--temperature-moves` plies sample from `policy` (`π'`) instead.
//!
//! **Completed Q and σ.** At a node, a visited action's Q is its mean backed-up value;
//! an unvisited one gets the mixed value
//! `v_mix = (v̂ + ΣN · Σ_visited π(b) q(b) / Σ_visited π(b)) / (1 + ΣN)`, where `v̂` is
//! the network's value of the node and `π` its prior. The completed Qs are min-max
//! normalised to `q̂ ∈ [0, 1]` (denominator at least 1e-8) and scaled:
//! `σ(q̂) = (c_visit + max_b N(b)) · c_scale · q̂` (`--gumbel-c-visit 50` as in the
//! paper, `--gumbel-c-scale 0.1` as `mctx`'s default rather than the paper's 1: with
//! the same Connect4 network at 32 simulations the scale of 1 erred on 30.0 / 37.5 /
//! 42.0% of the opening-medium / opening-hard / middle-medium positions, 0.1 on 22.0
//! / 33.5 / 31.5%, and on TicTacToe 0.1 was better at 8, 32 and 200 simulations). The
//! improved policy is `π' = softmax(logits + σ(q̂))`; each node keeps its log-priors
//! (the logits up to a constant, which a softmax and an argmax ignore) for it.
//!
//! **Below the root** selection is deterministic:
//! `argmax_a π'(a) − N(a) / (1 + Σ_b N(b))`, which makes the visit shares follow `π'`.
//!
//! **Result.** `policy` is `π'` at the root over the legal actions (0 elsewhere).
//! Self-play stores it as the policy target: the trainer's cross-entropy against a
//! target distribution works unchanged, whether the target is PUCT's visit shares or
//! this. `visits` are the raw root visit counts; `root_value` is the value of the
//! improved policy for the root's side to move, `Σ_a π'(a) · completed Q(a)` (the
//! network's value alone after one simulation). Not the mean backed-up value PUCT
//! reports: sequential halving spends its first phase equally on every considered
//! action, bad ones included, so that mean sits far below the position's value (about
//! −0.5 for a TicTacToe position where blocking draws).
//!
//! **Batching** (`leaves_per_game > 1`). Each `gather` hands out up to
//! [`leaves_to_gather`] leaves. At the root, simulations still in flight count as
//! visits of their action for the halving schedule, so one gather can fill a phase
//! without overshooting it. A halving needs every simulation of its phase backed up:
//! when the schedule's next simulation would start a new phase while some are in
//! flight, `gather` hands out nothing more until they return (the driver completes
//! every leaf it gathered within the same step, so this never stalls). Below the root,
//! pending simulations count as virtual visits in `N` of the selection rule (not as
//! losses, so `π'` itself only ever sees finished results), which spreads parallel
//! leaves; a walk that reaches a leaf already waiting for the network ends the gather
//! round, as in PUCT. Terminal leaves are scored exactly and backed up at once.
//!
//! Values follow PUCT's convention (see `puct.rs`): every node stores `value_sum` from
//! the point of view of the player who moved into it, so a parent reads its children's
//! Q directly for its side to move, and the network's value of a node (`v̂`) is for its
//! side to move, the same side.

use engine_core::{Action, Game, Player};
use rand::RngCore;
use rand_distr::Distribution;

use super::puct::{backup, clean_value, expand, Node};
use super::{leaves_to_gather, PendingLeaf, Search, SearchAlgorithm, SearchError, SearchParams, SearchResult};
use crate::flags::{check, ConfigError};
use crate::profile::GameProfile;

/// Gumbel's own flags (prefixed: every algorithm's flags share one command line).
#[derive(clap::Args, Clone, Debug)]
pub struct GumbelArgs {
    /// Gumbel search: most root actions sequential halving starts from (the top ones by
    /// Gumbel noise + prior logit).
    #[arg(long, default_value_t = 16)]
    pub gumbel_considered: u32,
    /// Gumbel search: c_visit in σ(q̂) = (c_visit + max visits) · c_scale · q̂.
    #[arg(long, default_value_t = 50.0)]
    pub gumbel_c_visit: f32,
    /// Gumbel search: c_scale in σ(q̂) = (c_visit + max visits) · c_scale · q̂ (0 leaves
    /// the priors unchanged).
    #[arg(long, default_value_t = 0.1)]
    pub gumbel_c_scale: f32,
}

/// Gumbel's own parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct GumbelParams {
    /// Most root actions considered by sequential halving.
    pub considered: u32,
    /// Offset of the largest visit count in σ's scale.
    pub c_visit: f32,
    /// Scale of the normalised Q values in σ.
    pub c_scale: f32,
}

impl GumbelParams {
    /// The defaults of the flags.
    pub fn defaults() -> GumbelParams {
        GumbelParams { considered: 16, c_visit: 50.0, c_scale: 0.1 }
    }
}

/// The Gumbel AlphaZero algorithm (see the module docs).
pub struct Gumbel;

impl SearchAlgorithm for Gumbel {
    type Args = GumbelArgs;
    type Params = GumbelParams;

    fn params(a: &GumbelArgs, _profile: &GameProfile) -> Result<GumbelParams, ConfigError> {
        Ok(GumbelParams {
            considered: check("gumbel-considered", a.gumbel_considered, 1, 1024, "between 1 and 1024")?,
            c_visit: check("gumbel-c-visit", a.gumbel_c_visit, 0.0, 100_000.0, "between 0 and 100000")?,
            c_scale: check("gumbel-c-scale", a.gumbel_c_scale, 0.0, 100.0, "between 0 and 100")?,
        })
    }

    fn start<G: Game>(root: G, common: &SearchParams, params: &GumbelParams) -> Result<Box<dyn Search<G>>, SearchError> {
        Ok(Box::new(GumbelSearch::new(root, common.clone(), params.clone())?))
    }
}

/// One phase of sequential halving: `considered` actions (a prefix of the ranking), each
/// visited until it has `target` visits in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    pub considered: u32,
    pub target: u32,
}

/// The phases of sequential halving of `n` root visits over `m` considered actions,
/// into `out`: `mctx`'s `get_sequence_of_considered_visits`. A phase with `c` actions
/// adds `max(1, ⌊n / (⌈log2 m⌉ · c)⌋)` visits to each, the next keeps `max(2, ⌊c / 2⌋)`,
/// until the phases hold at least `n` visits (the last one is cut short by the budget).
/// One action (or none) is a single phase with all `n` visits; `n = 0` has no phase.
pub fn halving_phases(m: u32, n: u32, out: &mut Vec<Phase>) {
    out.clear();
    if n == 0 {
        return;
    }
    if m <= 1 {
        out.push(Phase { considered: 1, target: n });
        return;
    }
    let log2m = 32 - (m - 1).leading_zeros(); // ⌈log2 m⌉ for m ≥ 2
    let (mut considered, mut target, mut total) = (m, 0u32, 0u64);
    while total < n as u64 {
        let extra = (n / (log2m * considered)).max(1);
        target += extra;
        total += extra as u64 * considered as u64;
        out.push(Phase { considered, target });
        considered = (considered / 2).max(2);
    }
}

/// The rank (below `considered`) whose `count` is the smallest still under `target`,
/// the first on ties; `None` once every one has reached it.
pub fn next_in_phase(considered: usize, target: u32, count: impl Fn(usize) -> u32) -> Option<usize> {
    let mut best: Option<(usize, u32)> = None;
    for r in 0..considered {
        let c = count(r);
        if c < target && best.is_none_or(|(_, b)| c < b) {
            best = Some((r, c));
        }
    }
    best.map(|(r, _)| r)
}

/// The completed Q of `children` (in order) into `out`: a visited child's mean value,
/// the mixed value `v_mix` (module docs) for the others, `raw_value` being the
/// network's value of their parent for its side to move. Returns the largest visit
/// count. Only finished simulations count; pending ones are not results yet.
pub fn completed_q(children: &[Node], raw_value: f32, out: &mut Vec<f32>) -> u32 {
    let (mut sum_n, mut max_n) = (0u32, 0u32);
    let (mut sum_p, mut sum_pq) = (0.0f32, 0.0f32);
    for c in children {
        max_n = max_n.max(c.visits);
        if c.visits > 0 {
            // A visited action with prior 0 must still count (as `mctx` does).
            let p = c.prior.max(f32::MIN_POSITIVE);
            sum_n += c.visits;
            sum_p += p;
            sum_pq += p * c.value_sum / c.visits as f32;
        }
    }
    let v_mix = if sum_n > 0 { (raw_value + sum_n as f32 * sum_pq / sum_p) / (1.0 + sum_n as f32) } else { raw_value };
    out.clear();
    out.extend(children.iter().map(|c| if c.visits > 0 { c.value_sum / c.visits as f32 } else { v_mix }));
    max_n
}

/// σ in place: `q` min-max normalised to [0, 1] (denominator at least 1e-8), times
/// `(c_visit + max_visits) · c_scale`.
pub fn sigma(q: &mut [f32], max_visits: u32, c_visit: f32, c_scale: f32) {
    let (lo, hi) = q.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let scale = (c_visit + max_visits as f32) * c_scale / (hi - lo).max(1e-8);
    q.iter_mut().for_each(|x| *x = (*x - lo) * scale);
}

/// In-place softmax.
fn softmax(x: &mut [f32]) {
    let max = x.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    x.iter_mut().for_each(|v| *v /= sum);
}

/// The children of node `i` in the arena.
fn children(nodes: &[Node], i: usize) -> std::ops::Range<usize> {
    let n = &nodes[i];
    n.first_child as usize..(n.first_child + n.num_children) as usize
}

/// `log π + σ(completed Q)` of `parent`'s children into `out` (the improved policy's
/// logits, up to a constant). `log_prior` and `raw_value` are indexed like `nodes`.
pub fn improved_logits(
    nodes: &[Node],
    log_prior: &[f32],
    raw_value: &[f32],
    parent: usize,
    params: &GumbelParams,
    out: &mut Vec<f32>,
) {
    let r = children(nodes, parent);
    let max_n = completed_q(&nodes[r.clone()], raw_value[parent], out);
    sigma(out, max_n, params.c_visit, params.c_scale);
    for (o, lp) in out.iter_mut().zip(&log_prior[r]) {
        *o += lp;
    }
}

/// The child of `parent` chosen below the root: `argmax π'(a) − N(a) / (1 + Σ N)`, `N`
/// counting pending simulations too (so parallel leaves spread), the first on ties.
/// `scratch` is reused for `π'`.
pub fn select_interior(
    nodes: &[Node],
    log_prior: &[f32],
    raw_value: &[f32],
    parent: usize,
    params: &GumbelParams,
    scratch: &mut Vec<f32>,
) -> usize {
    improved_logits(nodes, log_prior, raw_value, parent, params, scratch);
    softmax(scratch);
    let r = children(nodes, parent);
    let total: u32 = nodes[r.clone()].iter().map(|c| c.visits + c.virtual_loss).sum();
    let denom = 1.0 + total as f32;
    let mut best = r.start;
    let mut best_score = f32::NEG_INFINITY;
    for (i, p) in r.zip(scratch.iter()) {
        let s = p - (nodes[i].visits + nodes[i].virtual_loss) as f32 / denom;
        if s > best_score {
            best_score = s;
            best = i;
        }
    }
    best
}

/// One move's Gumbel search tree over a root position.
#[derive(Clone, Debug)]
pub struct GumbelSearch<G: Game> {
    pub root: G,
    /// The arena; `virtual_loss` counts pending simulations through a node (used as
    /// virtual visits, never as losses).
    pub nodes: Vec<Node>,
    /// Per node: the log of its prior.
    log_prior: Vec<f32>,
    /// Per node: the network's value for its side to move, once evaluated.
    raw_value: Vec<f32>,
    pub params: SearchParams,
    pub gumbel: GumbelParams,
    /// Simulations backed up so far.
    pub done: u32,
    /// Leaves handed out by `gather` and not yet completed.
    pub in_flight: u32,
    /// Per root child, in child order: its Gumbel sample (0 without root noise).
    noise: Vec<f32>,
    /// The considered root children (node indices), best first as ranked at the last
    /// halving; the current phase considers a prefix.
    pub considered: Vec<usize>,
    /// The halving schedule, set when the root is expanded.
    pub phases: Vec<Phase>,
    /// Index of the current phase.
    pub phase: usize,
    /// Scratch list of legal actions, reused by every `complete`.
    legal: Vec<Action>,
    /// Scratch per-child numbers, reused by every selection.
    scratch: Vec<f32>,
}

fn root_node(mover: Player) -> Node {
    Node {
        action: 0,
        mover,
        prior: 1.0,
        visits: 0,
        value_sum: 0.0,
        virtual_loss: 0,
        first_child: 0,
        num_children: 0,
        expanded: false,
        pending: false,
        proven: None,
    }
}

impl<G: Game> GumbelSearch<G> {
    pub fn new(root: G, params: SearchParams, gumbel: GumbelParams) -> Result<Self, SearchError> {
        let mut s = GumbelSearch {
            root: root.clone(),
            nodes: Vec::new(),
            log_prior: Vec::new(),
            raw_value: Vec::new(),
            params,
            gumbel,
            done: 0,
            in_flight: 0,
            noise: Vec::new(),
            considered: Vec::new(),
            phases: Vec::new(),
            phase: 0,
            legal: Vec::new(),
            scratch: Vec::new(),
        };
        s.reset(root)?;
        Ok(s)
    }

    /// Root visits the halving schedule spends (the root's own evaluation is the first
    /// simulation).
    fn budget(&self) -> u32 {
        self.params.simulations.max(1) - 1
    }

    /// After the root's expansion: its Gumbel samples, the considered actions and the
    /// halving schedule.
    fn init_root(&mut self, rng: &mut dyn RngCore) {
        let r = children(&self.nodes, 0);
        self.noise.clear();
        if self.params.root_noise {
            let g = rand_distr::Gumbel::new(0.0f32, 1.0).expect("a valid scale");
            self.noise.extend(r.clone().map(|_| g.sample(rng)));
        } else {
            self.noise.resize(r.len(), 0.0);
        }
        let m = self.gumbel.considered.min(r.len() as u32).min(self.budget().max(1));
        self.considered.clear();
        self.considered.extend(r.clone());
        let (first, noise, lp) = (r.start, &self.noise, &self.log_prior);
        // Stable: equal scores (no noise, uniform priors) keep the action order.
        self.considered.sort_by(|&a, &b| {
            let (sa, sb) = (noise[a - first] + lp[a], noise[b - first] + lp[b]);
            sb.total_cmp(&sa)
        });
        self.considered.truncate(m as usize);
        halving_phases(m, self.budget(), &mut self.phases);
        self.phase = 0;
    }

    /// `g + log π + σ(q̂)` of every root child into `self.scratch` (child order).
    fn root_scores(&mut self) {
        improved_logits(&self.nodes, &self.log_prior, &self.raw_value, 0, &self.gumbel, &mut self.scratch);
        for (s, g) in self.scratch.iter_mut().zip(&self.noise) {
            *s += g;
        }
    }

    /// The root child the next simulation visits, halving when a phase is complete;
    /// `None` while the schedule waits for pending simulations, or when it is spent.
    fn root_child(&mut self) -> Option<usize> {
        loop {
            let ph = *self.phases.get(self.phase)?;
            let (nodes, considered) = (&self.nodes, &self.considered);
            let next = next_in_phase(ph.considered as usize, ph.target, |r| {
                let n = &nodes[considered[r]];
                n.visits + n.virtual_loss
            });
            if let Some(r) = next {
                return Some(self.considered[r]);
            }
            if self.in_flight > 0 || self.phase + 1 >= self.phases.len() {
                return None;
            }
            // Every simulation of the phase is backed up: rank its actions, and the next
            // phase keeps the best prefix.
            self.root_scores();
            let (first, scores) = (self.nodes[0].first_child as usize, &self.scratch);
            self.considered[..ph.considered as usize].sort_by(|&a, &b| scores[b - first].total_cmp(&scores[a - first]));
            self.phase += 1;
        }
    }

    /// Walks from the root to a leaf, counting a pending simulation on every node of
    /// the path. `None` on a collision with a leaf already waiting for the network (the
    /// counts are taken back) or while the root's schedule waits.
    pub fn select(&mut self) -> Option<(Vec<usize>, G)> {
        let mut state = self.root.clone();
        let mut path = vec![0usize];
        if self.nodes[0].expanded {
            let c = self.root_child()?;
            state.apply_unchecked(self.nodes[c].action);
            path.push(c);
            let mut node = c;
            while self.nodes[node].expanded && self.nodes[node].num_children > 0 {
                node =
                    select_interior(&self.nodes, &self.log_prior, &self.raw_value, node, &self.gumbel, &mut self.scratch);
                state.apply_unchecked(self.nodes[node].action);
                path.push(node);
            }
        }
        let leaf = *path.last().expect("path holds the root");
        if self.nodes[leaf].pending {
            return None;
        }
        for &i in &path {
            self.nodes[i].virtual_loss += 1;
        }
        Some((path, state))
    }
}

impl<G: Game> Search<G> for GumbelSearch<G> {
    fn root(&self) -> &G {
        &self.root
    }

    /// Starts a new search from `root` with the same parameters, keeping the memory
    /// (self-play starts one search per move; no tree reuse).
    fn reset(&mut self, root: G) -> Result<(), SearchError> {
        if root.is_terminal() {
            return Err(SearchError::GameOver);
        }
        self.nodes.clear();
        self.nodes.push(root_node(root.to_move().opponent()));
        self.log_prior.clear();
        self.log_prior.push(0.0);
        self.raw_value.clear();
        self.raw_value.push(0.0);
        self.root = root;
        self.done = 0;
        self.in_flight = 0;
        self.noise.clear();
        self.considered.clear();
        self.phases.clear();
        self.phase = 0;
        Ok(())
    }

    /// Collects up to [`leaves_to_gather`] leaves needing evaluation. Terminal leaves
    /// are scored with the true outcome and backed up at once.
    fn gather(&mut self, out: &mut Vec<PendingLeaf<G>>) {
        loop {
            let want =
                leaves_to_gather(self.params.leaves_per_game, self.params.simulations.max(1), self.done, self.in_flight);
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

    /// Expands a gathered leaf with the evaluator's `logits`, keeps its value as the
    /// node's `v̂`, and backs the value up. Expanding the root draws its Gumbel samples
    /// (with root noise on) and sets up the halving schedule.
    fn complete(&mut self, leaf: PendingLeaf<G>, logits: &[f32], value: f32, rng: &mut dyn RngCore) {
        let mut legal = std::mem::take(&mut self.legal);
        leaf.state.legal_actions_into(&mut legal);
        let to_move = leaf.state.to_move();
        let first = self.nodes.len();
        expand(&mut self.nodes, leaf.node, to_move, &legal, logits);
        self.legal = legal;
        // A prior that underflowed to 0 still needs a finite log.
        self.log_prior.extend(self.nodes[first..].iter().map(|c| c.prior.max(f32::MIN_POSITIVE).ln()));
        self.raw_value.resize(self.nodes.len(), 0.0);
        let value = clean_value(value);
        self.raw_value[leaf.node] = value;
        if leaf.node == 0 {
            self.init_root(rng);
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

    /// The improved policy `π'`, the visit counts, the improved policy's value and the
    /// action sequential halving settled on.
    fn result(&self) -> SearchResult {
        let a = G::spec().num_actions;
        let mut visits = vec![0.0f32; a];
        let mut policy = vec![0.0f32; a];
        if !self.nodes[0].expanded {
            // Not searched yet: no preference among the legal moves, no value.
            let legal = self.root.legal_actions();
            for &m in &legal {
                policy[m as usize] = 1.0 / legal.len() as f32;
            }
            return SearchResult { policy, visits, root_value: 0.0, selected: None };
        }
        let r = children(&self.nodes, 0);
        let mut q = Vec::with_capacity(r.len());
        completed_q(&self.nodes[r.clone()], self.raw_value[0], &mut q);
        let mut logits = Vec::with_capacity(r.len());
        improved_logits(&self.nodes, &self.log_prior, &self.raw_value, 0, &self.gumbel, &mut logits);
        let mut scores = logits.clone();
        softmax(&mut logits);
        let mut root_value = 0.0;
        for (((i, p), g), q) in r.clone().zip(&logits).zip(&self.noise).zip(&q) {
            let n = &self.nodes[i];
            policy[n.action as usize] = *p;
            visits[n.action as usize] = n.visits as f32;
            scores[i - r.start] += g;
            root_value += p * q;
        }
        // `mctx`'s choice: the best score among the most visited actions (the survivors
        // of the last halving, even when the budget cut its phase short).
        let most = self.nodes[r.clone()].iter().map(|c| c.visits).max().unwrap_or(0);
        let mut selected = None;
        let mut best = f32::NEG_INFINITY;
        for i in r.clone() {
            if self.nodes[i].visits == most && (selected.is_none() || scores[i - r.start] > best) {
                best = scores[i - r.start];
                selected = Some(self.nodes[i].action);
            }
        }
        SearchResult { policy, visits, root_value, selected }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{run_search, Algorithm, Evaluator, SearchConfig, UniformEvaluator};
    use engine_core::tictactoe::TicTacToe;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn params(sims: u32, leaves: u32) -> SearchParams {
        SearchParams { simulations: sims, leaves_per_game: leaves, root_noise: false }
    }

    fn config(sims: u32, leaves: u32, root_noise: bool) -> SearchConfig {
        SearchConfig {
            algorithm: Algorithm::Gumbel(GumbelParams::defaults()),
            params: SearchParams { root_noise, ..params(sims, leaves) },
        }
    }

    fn pos(moves: &[i64]) -> TicTacToe {
        TicTacToe::from_actions(moves).unwrap()
    }

    /// Visits per rank after `n` root simulations over `m` considered actions when the
    /// ranking never changes, by the search's own schedule and allocation rule; also
    /// the sequence of visit counts each simulation found its action at (`mctx`'s
    /// "considered visit" sequence).
    fn visit_table(m: u32, n: u32) -> (Vec<u32>, Vec<u32>) {
        let mut phases = Vec::new();
        halving_phases(m, n, &mut phases);
        let mut visits = vec![0u32; m as usize];
        let mut seq = Vec::new();
        let mut phase = 0;
        for _ in 0..n {
            loop {
                let ph = phases[phase];
                if let Some(r) = next_in_phase(ph.considered as usize, ph.target, |r| visits[r]) {
                    seq.push(visits[r]);
                    visits[r] += 1;
                    break;
                }
                phase += 1;
            }
        }
        (visits, seq)
    }

    #[test]
    fn halving_schedule_follows_the_papers_phases() {
        for (m, n) in [(16, 200), (4, 32), (2, 8), (7, 50), (9, 63), (1, 10), (5, 3), (16, 16)] {
            let (v, _) = visit_table(m, n);
            assert_eq!(v.iter().sum::<u32>(), n, "({m}, {n}): {v:?}");
        }
        // 16 actions, 200 visits, ⌈log2 16⌉ = 4: 3 each for 16 (48), 6 more each for 8
        // (48), 12 more for 4 (48), 25 more for 2 (50), then the 6 left over the last 2.
        let mut phases = Vec::new();
        halving_phases(16, 200, &mut phases);
        let want = [(16, 3), (8, 9), (4, 21), (2, 46), (2, 71)];
        assert_eq!(phases, want.map(|(considered, target)| Phase { considered, target }));
        let mut want = vec![49, 49, 21, 21];
        want.extend([9; 4]);
        want.extend([3; 8]);
        assert_eq!(visit_table(16, 200).0, want);
        // 4 actions, 32 visits: 4 each, then 8 more each for the best 2.
        assert_eq!(visit_table(4, 32).0, vec![12, 12, 4, 4]);
        // 2 actions, 8 visits: one phase.
        assert_eq!(visit_table(2, 8).0, vec![4, 4]);
        // 7 actions, 50 visits, ⌈log2 7⌉ = 3: 2 each (14), 5 more for 3 (15), 8 more for
        // 2 (16), then 5 left: 3 and 2.
        assert_eq!(visit_table(7, 50).0, vec![18, 17, 7, 2, 2, 2, 2]);
        // One action takes everything; fewer visits than actions visit a prefix once.
        assert_eq!(visit_table(1, 10).0, vec![10]);
        assert_eq!(visit_table(5, 3).0, vec![1, 1, 1, 0, 0]);
        halving_phases(5, 0, &mut phases);
        assert!(phases.is_empty());
    }

    #[test]
    fn considered_visit_sequences_match_mctx() {
        // `mctx`'s own tests of `get_sequence_of_considered_visits`.
        let cases: [(u32, u32, &[u32]); 4] = [
            (8, 24, &[0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]),
            (
                8,
                47,
                &[
                    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
                    11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16, 16, 17,
                ],
            ),
            (8, 13, &[0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2]),
            (7, 24, &[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8]),
        ];
        for (m, n, want) in cases {
            assert_eq!(visit_table(m, n).1, want, "({m}, {n})");
        }
    }

    /// A parent with three children: priors 0.5, 0.3, 0.2; visits 4, 1, 0; mean values
    /// -0.5, +0.3, none (for the parent's side to move).
    fn hand_node() -> (Vec<Node>, Vec<f32>) {
        let mut nodes = vec![root_node(Player::Second)];
        nodes[0].expanded = true;
        nodes[0].first_child = 1;
        nodes[0].num_children = 3;
        for (a, (p, (n, w))) in [0.5f32, 0.3, 0.2].into_iter().zip([(4, -2.0f32), (1, 0.3), (0, 0.0)]).enumerate() {
            let mut c = root_node(Player::First);
            c.action = a as Action;
            c.prior = p;
            c.visits = n;
            c.value_sum = w;
            nodes.push(c);
        }
        let log_prior = nodes.iter().map(|n| n.prior.ln()).collect();
        (nodes, log_prior)
    }

    #[test]
    fn completed_q_sigma_and_the_improved_policy_match_hand_computation() {
        let (nodes, log_prior) = hand_node();
        // v̂ = 0.2: v_mix = (0.2 + 5 · (0.5·(−0.5) + 0.3·0.3) / 0.8) / 6 = (0.2 − 1) / 6.
        let mut q = Vec::new();
        let max_n = completed_q(&nodes[1..], 0.2, &mut q);
        assert_eq!(max_n, 4);
        let v_mix: f32 = -0.8 / 6.0;
        assert!((q[0] + 0.5).abs() < 1e-6 && (q[1] - 0.3).abs() < 1e-6, "{q:?}");
        assert!((q[2] - v_mix).abs() < 1e-6, "{q:?}");
        // σ with c_visit 0.5, c_scale 2: (0.5 + 4) · 2 = 9 times q̂ = (q + 0.5) / 0.8.
        sigma(&mut q, max_n, 0.5, 2.0);
        let q_hat = (v_mix + 0.5) / 0.8;
        assert!((q_hat - 0.458_333).abs() < 1e-5);
        let want = [0.0, 9.0, 9.0 * q_hat];
        for (x, w) in q.iter().zip(want) {
            assert!((x - w).abs() < 1e-5, "{q:?} vs {want:?}");
        }
        // Equal values: q̂ = 0 everywhere, no division by zero.
        let mut flat = vec![0.3, 0.3];
        sigma(&mut flat, 10, 50.0, 1.0);
        assert_eq!(flat, vec![0.0, 0.0]);
        // Nothing visited: every action completed with v̂ itself.
        let mut fresh = nodes[1..].to_vec();
        fresh.iter_mut().for_each(|c| c.visits = 0);
        assert_eq!(completed_q(&fresh, -0.4, &mut q), 0);
        assert_eq!(q, vec![-0.4; 3]);

        // π' = softmax(log π + σ): weights 0.5·e^0, 0.3·e^9, 0.2·e^(9 q̂).
        let raw = vec![0.2, 0.0, 0.0, 0.0];
        let p = GumbelParams { considered: 16, c_visit: 0.5, c_scale: 2.0 };
        let mut logits = Vec::new();
        improved_logits(&nodes, &log_prior, &raw, 0, &p, &mut logits);
        softmax(&mut logits);
        let w = [0.5f32, 0.3 * 9.0f32.exp(), 0.2 * (9.0 * q_hat).exp()];
        let sum: f32 = w.iter().sum();
        for (x, w) in logits.iter().zip(w) {
            assert!((x - w / sum).abs() < 1e-5, "{logits:?}");
        }
        // And through a search's result: the policy is π' over the legal actions.
        let mut s = GumbelSearch::new(TicTacToe::initial(), params(10, 1), p.clone()).unwrap();
        s.nodes = nodes.clone();
        s.log_prior = log_prior.clone();
        s.raw_value = raw.clone();
        s.noise = vec![0.0; 3];
        let r = s.result();
        for (x, w) in r.policy[..3].iter().zip(w) {
            assert!((x - w / sum).abs() < 1e-5, "{:?}", r.policy);
        }
        assert!(r.policy[3..].iter().all(|&x| x == 0.0));
        assert_eq!(&r.visits[..3], &[4.0, 1.0, 0.0]);
        let value = (w[0] * -0.5 + w[1] * 0.3 + w[2] * v_mix) / sum;
        assert!((r.root_value - value).abs() < 1e-5, "{} vs {value}", r.root_value);
        assert_eq!(r.selected, Some(0), "the most visited action, the only one left");
    }

    #[test]
    fn selection_below_the_root_follows_the_improved_policy() {
        let (mut nodes, log_prior) = hand_node();
        let raw = vec![0.0; 4];
        // v̂ = 0: v_mix = 5 · (−0.16 / 0.8) / 6 = −1/6; c_visit 0.5, c_scale 1: σ = 4.5 · q̂
        // with q̂ = (0, 1, (v_mix + 0.5) / 0.8 = 5/12). π' ≈ (0.017, 0.937, 0.045); minus
        // N / (1 + 5): (0.017 − 0.667, 0.937 − 0.167, 0.045 − 0): the second child,
        // although the first has the larger prior.
        let p = GumbelParams { considered: 16, c_visit: 0.5, c_scale: 1.0 };
        let mut scratch = Vec::new();
        improved_logits(&nodes, &log_prior, &raw, 0, &p, &mut scratch);
        softmax(&mut scratch);
        let q_hat: f32 = 5.0 / 12.0;
        let w = [0.5f32, 0.3 * 4.5f32.exp(), 0.2 * (4.5 * q_hat).exp()];
        let sum: f32 = w.iter().sum();
        assert!((scratch[1] - w[1] / sum).abs() < 1e-5, "{scratch:?}");
        assert_eq!(select_interior(&nodes, &log_prior, &raw, 0, &p, &mut scratch), 2);
        // With σ off (c_scale 0) π' is the prior: 0.5 − 4/6, 0.3 − 1/6, 0.2 − 0 → the third.
        let flat = GumbelParams { c_scale: 0.0, ..p.clone() };
        assert_eq!(select_interior(&nodes, &log_prior, &raw, 0, &flat, &mut scratch), 3);
        // Pending simulations count as visits: 3 on the third child make it
        // 0.2 − 3/9 < 0.3 − 1/9.
        nodes[3].virtual_loss = 3;
        assert_eq!(select_interior(&nodes, &log_prior, &raw, 0, &flat, &mut scratch), 2);
    }

    fn run_to_end(s: &mut GumbelSearch<TicTacToe>, leaves: u32, rng: &mut StdRng) {
        let mut pending = Vec::new();
        while !s.is_finished() {
            pending.clear();
            s.gather(&mut pending);
            assert!(pending.len() as u32 <= leaves.max(1));
            assert!(s.done + s.in_flight <= s.params.simulations);
            let states: Vec<TicTacToe> = pending.iter().map(|l| l.state).collect();
            let out = Evaluator::<TicTacToe>::evaluate(&mut UniformEvaluator, &states, &[]).unwrap();
            for (k, l) in pending.drain(..).enumerate() {
                s.complete(l, &out.logits[k * 9..(k + 1) * 9], out.values[k], rng);
            }
        }
    }

    #[test]
    fn search_runs_exactly_the_requested_simulations_with_batches() {
        let mut rng = StdRng::seed_from_u64(1);
        for leaves in [1, 3, 8, 64] {
            for sims in [37, 200] {
                let mut s = GumbelSearch::new(
                    TicTacToe::initial(),
                    SearchParams { root_noise: true, ..params(sims, leaves) },
                    GumbelParams::defaults(),
                )
                .unwrap();
                run_to_end(&mut s, leaves, &mut rng);
                assert_eq!(s.done, sims);
                assert_eq!(s.nodes[0].visits, sims);
                assert_eq!(s.in_flight, 0);
                assert!(s.nodes.iter().all(|n| n.virtual_loss == 0 && !n.pending));
                let r = s.result();
                assert_eq!(r.visits.iter().sum::<f32>(), (sims - 1) as f32);
                assert!((r.policy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                // Whatever the batching, the root's visits are the schedule's table.
                let mut got: Vec<u32> = r.visits.iter().map(|&v| v as u32).collect();
                got.sort_unstable_by(|a, b| b.cmp(a));
                let mut want = visit_table(9, sims - 1).0;
                want.sort_unstable_by(|a, b| b.cmp(a));
                assert_eq!(got, want, "{leaves} leaves, {sims} simulations");
            }
        }
    }

    #[test]
    fn a_halving_waits_for_every_simulation_of_its_phase() {
        // 9 moves, 40 simulations: the root, then one visit each (9), then halving.
        let mut s = GumbelSearch::new(TicTacToe::initial(), params(40, 64), GumbelParams::defaults()).unwrap();
        assert_eq!(s.phases, vec![]);
        let mut rng = StdRng::seed_from_u64(2);
        let mut pending = Vec::new();
        s.gather(&mut pending);
        assert_eq!(pending.len(), 1, "only the root can be evaluated first");
        s.complete(pending.pop().unwrap(), &[0.0; 9], 0.0, &mut rng);
        assert_eq!(s.phases[..2], [Phase { considered: 9, target: 1 }, Phase { considered: 4, target: 3 }]);
        s.gather(&mut pending);
        assert_eq!(pending.len(), 9, "the whole first phase, then the schedule waits");
        let held = pending.pop().unwrap();
        for l in pending.drain(..) {
            s.complete(l, &[0.0; 9], 0.0, &mut rng);
        }
        s.gather(&mut pending);
        assert!(pending.is_empty(), "no halving while one of its results is in flight");
        assert_eq!(s.phase, 0);
        // The held action's result is a loss for the mover: it must not survive.
        let lost = s.nodes[held.node].action;
        s.complete(held, &[0.0; 9], 1.0, &mut rng);
        s.gather(&mut pending);
        assert_eq!(s.phase, 1);
        assert!(!pending.is_empty() && pending.len() <= 8, "{}", pending.len());
        assert!(s.considered[..4].iter().all(|&c| s.nodes[c].action != lost));
        for l in pending.drain(..) {
            s.complete(l, &[0.0; 9], 0.0, &mut rng);
        }
        run_to_end(&mut s, 64, &mut rng);
        assert_eq!(s.done, 40);
    }

    /// The search from `moves` at each of `sims`, without root noise and with it (three
    /// seeds). Without noise the move `choose` plays greedily must be `want`; with it
    /// (self-play, where the Gumbel sample is the exploration and may pick another
    /// considered move) the improved policy must still put most on `want`.
    fn plays(moves: &[i64], want: Action, sims: &[u32], leaves: u32) -> Vec<SearchResult> {
        let g = pos(moves);
        let mut out = Vec::new();
        for (seed, noise) in [(3, false), (4, true), (5, true), (6, true)] {
            let mut rng = StdRng::seed_from_u64(seed);
            for &n in sims {
                let r = run_search(&g, &config(n, leaves, noise), &mut UniformEvaluator, &mut rng).unwrap();
                let top = r.policy.iter().cloned().fold(0.0, f32::max);
                assert_eq!(r.policy[want as usize], top, "{moves:?}, {n} simulations, noise {noise}: {:?}", r.policy);
                if !noise {
                    assert_eq!(r.selected, Some(want), "{moves:?}, {n} simulations: {:?}", r.policy);
                    assert_eq!(r.choose(&g.legal_actions(), 0.0, &mut rng), want);
                }
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn finds_a_forced_win() {
        // X X .             . O O
        // O O .  and its    . X X   X to move wins with c1 (2), resp. b3 (5), the
        // . . .  mirror     . . .   first of the legal moves, resp. not.
        for (moves, win) in [(&[0, 3, 1, 4][..], 2), (&[3, 0, 4, 1][..], 5)] {
            for r in plays(moves, win, &[32, 64], 4) {
                let best = r.policy.iter().cloned().fold(0.0, f32::max);
                assert_eq!(r.policy[win as usize], best, "{:?}", r.policy);
                assert!(r.root_value > 0.9, "winning side's value {}", r.root_value);
            }
        }
    }

    #[test]
    fn blocks_a_loss() {
        // X X .
        // . O .    O to move must block c1 (2), and keeps a draw.
        // . . .
        for r in plays(&[0, 4, 1], 2, &[64, 100], 8) {
            assert!(r.root_value.abs() < 0.2, "a drawn position's value {}", r.root_value);
        }
        // . . .
        // . O .    O to move must block a3 (6). The uniform evaluator has no values and
        // . X X    explores X's replies in action order, so only after a few visits to
        //          each of O's moves does X's win behind them show; at 32 or 64
        //          simulations the first halving is a coin toss here.
        plays(&[8, 4, 7], 6, &[200], 8);
    }

    #[test]
    fn without_noise_the_search_is_deterministic_with_it_seeds_differ() {
        let run = |noise: bool, seed: u64| {
            let mut s = GumbelSearch::new(
                TicTacToe::initial(),
                SearchParams { root_noise: noise, ..params(30, 4) },
                GumbelParams { considered: 3, ..GumbelParams::defaults() },
            )
            .unwrap();
            run_to_end(&mut s, 4, &mut StdRng::seed_from_u64(seed));
            let mut set: Vec<Action> = s.considered.iter().map(|&c| s.nodes[c].action).collect();
            set.sort_unstable();
            (s.result(), set)
        };
        let (a, set_a) = run(false, 1);
        let (b, set_b) = run(false, 2);
        assert_eq!((a.policy, a.visits, a.selected, set_a.clone()), (b.policy, b.visits, b.selected, set_b));
        // Uniform priors, no noise: the first three moves, in order.
        assert_eq!(set_a, vec![0, 1, 2]);
        let sets: std::collections::BTreeSet<Vec<Action>> = (0..8).map(|seed| run(true, seed).1).collect();
        assert!(sets.len() >= 3, "{sets:?}");
    }

    #[test]
    fn edge_cases_one_move_few_simulations_one_simulation() {
        let mut rng = StdRng::seed_from_u64(9);
        // X O X
        // X O O    only c3 (8) is left, and it ends the game.
        // O X .
        let one = pos(&[0, 1, 2, 4, 3, 5, 7, 6]);
        let r = run_search(&one, &config(10, 4, true), &mut UniformEvaluator, &mut rng).unwrap();
        assert_eq!(r.selected, Some(8));
        assert_eq!(r.visits[8], 9.0);
        assert!((r.policy[8] - 1.0).abs() < 1e-6);
        // Fewer simulations than moves: m = 3 moves visited once each.
        let mut s = GumbelSearch::new(TicTacToe::initial(), params(4, 2), GumbelParams::defaults()).unwrap();
        run_to_end(&mut s, 2, &mut rng);
        assert_eq!(s.considered.len(), 3);
        let r = s.result();
        assert_eq!(r.visits.iter().filter(|&&v| v == 1.0).count(), 3);
        assert!(r.selected.is_some_and(|a| r.visits[a as usize] == 1.0));
        // One simulation: only the root's evaluation; the policy is the prior and the
        // move the best prior (uniform here: the first).
        let r = run_search(&TicTacToe::initial(), &config(1, 4, false), &mut UniformEvaluator, &mut rng).unwrap();
        assert_eq!(r.visits, vec![0.0; 9]);
        assert!(r.policy.iter().all(|&p| (p - 1.0 / 9.0).abs() < 1e-6), "{:?}", r.policy);
        assert_eq!(r.selected, Some(0));
        // With noise, one simulation still plays a legal move.
        let r = run_search(&pos(&[4]), &config(1, 4, true), &mut UniformEvaluator, &mut rng).unwrap();
        assert!(r.selected.is_some_and(|a| a != 4));
    }

    #[test]
    fn reset_search_equals_a_new_one() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut s = GumbelSearch::new(TicTacToe::initial(), params(30, 4), GumbelParams::defaults()).unwrap();
        run_to_end(&mut s, 4, &mut rng);
        let next = pos(&[4]);
        s.reset(next).unwrap();
        let mut fresh = GumbelSearch::new(next, params(30, 4), GumbelParams::defaults()).unwrap();
        assert_eq!((s.done, s.in_flight, s.nodes.len(), s.phase), (0, 0, 1, 0));
        assert!(s.considered.is_empty() && s.phases.is_empty());
        assert_eq!((s.log_prior.len(), s.raw_value.len()), (1, 1));
        assert_eq!(s.nodes[0].mover, fresh.nodes[0].mover);
        assert_eq!(s.root, fresh.root);
        run_to_end(&mut s, 4, &mut rng);
        run_to_end(&mut fresh, 4, &mut rng);
        let (a, b) = (s.result(), fresh.result());
        assert_eq!((a.policy, a.visits, a.selected), (b.policy, b.visits, b.selected));
        assert!(matches!(s.reset(pos(&[0, 3, 1, 4, 2])), Err(SearchError::GameOver)));
    }

    #[test]
    fn search_refuses_a_finished_game() {
        let g = pos(&[0, 3, 1, 4, 2]);
        assert!(matches!(GumbelSearch::new(g, params(10, 1), GumbelParams::defaults()), Err(SearchError::GameOver)));
        assert!(config(10, 1, false).start(g).is_err());
    }

    #[test]
    fn flags_are_validated() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            search: crate::search::SearchArgs,
        }
        let profile = crate::profile::profile(engine_core::GameKind::Connect4);
        let parse = |args: &[&str]| {
            let mut v = vec!["x", "--search", "gumbel"];
            v.extend_from_slice(args);
            Cli::try_parse_from(v).unwrap().search.algorithm(profile)
        };
        assert_eq!(parse(&[]).unwrap(), Algorithm::Gumbel(GumbelParams::defaults()));
        let p = parse(&["--gumbel-considered", "4", "--gumbel-c-visit", "10", "--gumbel-c-scale", "1"]).unwrap();
        assert_eq!(p, Algorithm::Gumbel(GumbelParams { considered: 4, c_visit: 10.0, c_scale: 1.0 }));
        for (args, flag) in [
            (&["--gumbel-considered", "0"][..], "--gumbel-considered"),
            (&["--gumbel-c-visit=-1"][..], "--gumbel-c-visit"),
            (&["--gumbel-c-scale", "1000"][..], "--gumbel-c-scale"),
        ] {
            let e = parse(args).unwrap_err().to_string();
            assert!(e.contains(flag), "{e}");
        }
    }
}
