//! PUCT Monte Carlo tree search (AlphaZero's selection rule), generic over [`Game`].
//!
//! [`PuctSearch::gather`] walks the tree with virtual loss, so several leaves of one
//! search can be pending at once; [`PuctSearch::complete`] expands a leaf with the
//! evaluator's answer and backs the value up.
//!
//! With `--solver` (MCTS-solver, after Winands, Björnsson and Saito 2008) the search
//! also proves wins and losses it meets: a terminal win marks its node proven for the
//! winner; a node where the side to move has a proven winning child is proven won for
//! it, and one whose children are all proven lost for it is proven lost. Selection
//! never enters a child proven lost for the side choosing, a proven node is backed up
//! as its exact result without expanding it further, and a search whose root is proven
//! stops at once, its move distribution on the winning move. Draws are not proven.
//!
//! Values convention: an evaluator returns the value of a position for its side to
//! move. Every node stores `value_sum` from the point of view of the player who made
//! the move *into* it (its `mover`), so a parent ranks its children by their Q
//! directly. Backup adds the leaf value to nodes whose mover is the leaf's side to
//! move and subtracts it from the others; comparing players (not alternating signs)
//! keeps this right for games with passes.

use engine_core::{Action, Game, Player};
use rand::{Rng, RngCore};
use rand_distr::{Distribution, Gamma};

use super::{leaves_to_gather, PendingLeaf, Search, SearchAlgorithm, SearchError, SearchParams, SearchResult};
use crate::flags::{check, ConfigError};
use crate::profile::GameProfile;

/// PUCT's own flags.
#[derive(clap::Args, Clone, Debug)]
pub struct PuctArgs {
    /// PUCT exploration constant.
    #[arg(long, default_value_t = 1.5)]
    pub c_puct: f32,
    /// Root Dirichlet noise alpha in self-play [default: 10 / the game's average number
    /// of legal moves, from its profile].
    #[arg(long)]
    pub dirichlet_alpha: Option<f32>,
    /// Weight of the root noise in self-play (0 disables it).
    #[arg(long, default_value_t = 0.25)]
    pub dirichlet_epsilon: f32,
    /// Unvisited children are valued at the parent's value minus this.
    #[arg(long, default_value_t = 0.0)]
    pub fpu_reduction: f32,
    /// MCTS-solver: prove the wins and losses the search reaches, skip moves proven
    /// lost, stop as soon as the position is proven, and play a proven win at once.
    #[arg(long)]
    pub solver: bool,
}

/// PUCT's own parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct PuctParams {
    /// Exploration constant in the PUCT formula.
    pub c_puct: f32,
    /// Dirichlet alpha for root noise; about 10 / average number of legal moves.
    pub dirichlet_alpha: f32,
    /// Weight of the noise in the root priors (only with root noise on).
    pub dirichlet_epsilon: f32,
    /// Q given to unvisited children: the parent's value minus this.
    pub fpu_reduction: f32,
    /// Prove wins and losses (see the module docs).
    pub solver: bool,
}

impl PuctParams {
    /// The defaults of the flags for `profile`'s game.
    pub fn defaults(profile: &GameProfile) -> PuctParams {
        PuctParams {
            c_puct: 1.5,
            dirichlet_alpha: profile.selfplay.dirichlet_alpha(),
            dirichlet_epsilon: 0.25,
            fpu_reduction: 0.0,
            solver: false,
        }
    }
}

/// The PUCT algorithm (see the module docs).
pub struct Puct;

impl SearchAlgorithm for Puct {
    type Args = PuctArgs;
    type Params = PuctParams;

    fn params(a: &PuctArgs, profile: &GameProfile) -> Result<PuctParams, ConfigError> {
        let alpha = a.dirichlet_alpha.unwrap_or(profile.selfplay.dirichlet_alpha());
        Ok(PuctParams {
            c_puct: check("c-puct", a.c_puct, 0.01, 100.0, "between 0.01 and 100")?,
            dirichlet_alpha: check("dirichlet-alpha", alpha, 0.001, 100.0, "between 0.001 and 100")?,
            dirichlet_epsilon: check("dirichlet-epsilon", a.dirichlet_epsilon, 0.0, 1.0, "between 0 and 1")?,
            fpu_reduction: check("fpu-reduction", a.fpu_reduction, -2.0, 2.0, "between -2 and 2")?,
            solver: a.solver,
        })
    }

    fn start<G: Game>(root: G, common: &SearchParams, params: &PuctParams) -> Result<Box<dyn Search<G>>, SearchError> {
        Ok(Box::new(PuctSearch::new(root, common.clone(), params.clone())?))
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
    /// With the solver: the winner of this position under perfect play, once proven.
    pub proven: Option<Player>,
}

impl Node {
    /// A fresh, unvisited node (other searches build their roots and test trees with it).
    pub fn new(action: Action, mover: Player, prior: f32) -> Node {
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
            proven: None,
        }
    }

    /// Mean value from the mover's side, counting virtual losses; `None` if unvisited.
    pub fn q(&self) -> Option<f32> {
        let n = self.visits + self.virtual_loss;
        (n > 0).then(|| (self.value_sum - self.virtual_loss as f32) / n as f32)
    }

    /// Its children's indices in the arena.
    pub fn children(&self) -> std::ops::Range<usize> {
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
/// the first. With `skip_proven_losses`, children proven lost for the side choosing
/// (their mover) are never chosen while another child is left.
pub fn select_child(nodes: &[Node], parent: usize, c_puct: f32, fpu_reduction: f32) -> usize {
    select_child_with(nodes, parent, c_puct, fpu_reduction, false)
}

/// [`select_child`], optionally skipping children proven lost for their mover.
pub fn select_child_with(
    nodes: &[Node],
    parent: usize,
    c_puct: f32,
    fpu_reduction: f32,
    skip_proven_losses: bool,
) -> usize {
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
        if skip_proven_losses && c.proven.is_some_and(|w| w != c.mover) {
            continue;
        }
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

/// After `path`'s last node was proven, proves what follows for its ancestors (the
/// side to move at a node wins if one child is won for it, loses if every child is
/// lost for it), stopping at the first ancestor that stays unproven.
pub fn propagate_proof(nodes: &mut [Node], path: &[usize]) {
    for &p in path.iter().rev().skip(1) {
        let r = nodes[p].children();
        if r.is_empty() {
            return;
        }
        let chooser = nodes[r.start].mover;
        let children = &nodes[r];
        let proven = if children.iter().any(|c| c.proven == Some(chooser)) {
            Some(chooser)
        } else if children.iter().all(|c| c.proven.is_some_and(|w| w != chooser)) {
            children[0].proven
        } else {
            None
        };
        match proven {
            Some(w) if nodes[p].proven.is_none() => nodes[p].proven = Some(w),
            _ => return,
        }
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

/// Mixes Dirichlet noise into the priors of the root's children (`nodes[0]`), as
/// self-play explores.
pub fn noise_root_priors(nodes: &mut [Node], alpha: f32, epsilon: f32, rng: &mut dyn RngCore) {
    let r = nodes[0].children();
    let mut priors: Vec<f32> = nodes[r.clone()].iter().map(|n| n.prior).collect();
    add_dirichlet_noise(&mut priors, alpha, epsilon, rng);
    for (n, p) in nodes[r].iter_mut().zip(priors) {
        n.prior = p;
    }
}

/// A network's value as the tree takes it: within [-1, 1], and 0 when it is not a
/// number (a broken model must not poison the tree).
pub fn clean_value(value: f32) -> f32 {
    if value.is_finite() {
        value.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// One move's PUCT search tree over a root position.
#[derive(Clone, Debug)]
pub struct PuctSearch<G: Game> {
    pub root: G,
    pub nodes: Vec<Node>,
    pub params: SearchParams,
    pub puct: PuctParams,
    /// Simulations backed up so far.
    pub done: u32,
    /// Leaves handed out by `gather` and not yet completed.
    pub in_flight: u32,
    /// Of `done`, the visits of a subtree kept from the previous move's search.
    pub reused: u32,
    /// Scratch list of legal actions, reused by every `complete`.
    legal: Vec<Action>,
    /// Scratch arena for [`Search::advance`].
    spare: Vec<Node>,
}

impl<G: Game> PuctSearch<G> {
    pub fn new(root: G, params: SearchParams, puct: PuctParams) -> Result<Self, SearchError> {
        if root.is_terminal() {
            return Err(SearchError::GameOver);
        }
        // The root's mover is the player who is *not* to move, as for any node.
        let nodes = vec![Node::new(0, root.to_move().opponent(), 1.0)];
        Ok(PuctSearch {
            root,
            nodes,
            params,
            puct,
            done: 0,
            in_flight: 0,
            reused: 0,
            legal: Vec::new(),
            spare: Vec::new(),
        })
    }

    /// Walks from the root to a leaf by PUCT, adding a virtual loss along the way.
    /// Returns `None` on a collision with a leaf already waiting for evaluation (the
    /// virtual loss is taken back).
    pub fn select(&mut self) -> Option<(Vec<usize>, G)> {
        let mut path = vec![0usize];
        let mut state = self.root.clone();
        let mut node = 0usize;
        self.nodes[0].virtual_loss += 1;
        let solver = self.puct.solver;
        while self.nodes[node].expanded && self.nodes[node].num_children > 0 {
            if solver && self.nodes[node].proven.is_some() {
                // A proven node is scored as its result, like a terminal one.
                break;
            }
            node = select_child_with(&self.nodes, node, self.puct.c_puct, self.puct.fpu_reduction, solver);
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

impl<G: Game> Search<G> for PuctSearch<G> {
    fn root(&self) -> &G {
        &self.root
    }

    /// Starts a new search from `root` with the same parameters, keeping the node
    /// arena's memory (self-play starts one search per move; no tree reuse).
    fn reset(&mut self, root: G) -> Result<(), SearchError> {
        if root.is_terminal() {
            return Err(SearchError::GameOver);
        }
        self.nodes.clear();
        self.nodes.push(Node::new(0, root.to_move().opponent(), 1.0));
        self.root = root;
        self.done = 0;
        self.in_flight = 0;
        self.reused = 0;
        Ok(())
    }

    /// Keeps the subtree of the played child as the new tree (copied into a compact
    /// arena, children still contiguous), counts its visits toward the budget (at most
    /// three quarters of it, so every move gets fresh simulations, and with them fresh
    /// root noise) and, with root noise on, noises the new root's priors.
    fn advance(&mut self, action: Action, next: G, rng: &mut dyn RngCore) -> Result<bool, SearchError> {
        let child = self.nodes[0].children().find(|&c| self.nodes[c].action == action);
        let Some(child) = child.filter(|&c| self.in_flight == 0 && self.nodes[c].expanded && !next.is_terminal())
        else {
            return self.reset(next).map(|_| false);
        };
        let mut out = std::mem::take(&mut self.spare);
        out.clear();
        out.push(self.nodes[child].clone());
        // Breadth first: each copied node's children are pushed together, so they stay
        // contiguous; `k` walks the copies in the order they were made.
        let mut k = 0;
        while k < out.len() {
            let (first, n) = (out[k].first_child as usize, out[k].num_children as usize);
            if n > 0 {
                out[k].first_child = out.len() as u32;
                for c in first..first + n {
                    out.push(self.nodes[c].clone());
                }
            }
            k += 1;
        }
        self.spare = std::mem::replace(&mut self.nodes, out);
        self.root = next;
        let budget = self.params.simulations.max(1);
        self.reused = self.nodes[0].visits.min(budget - budget / 4);
        self.done = self.reused;
        if self.params.root_noise && self.nodes[0].num_children > 0 {
            noise_root_priors(&mut self.nodes, self.puct.dirichlet_alpha, self.puct.dirichlet_epsilon, rng);
        }
        Ok(true)
    }

    /// Collects up to [`leaves_to_gather`] leaves needing evaluation. Terminal leaves
    /// are scored with the true outcome and backed up at once.
    fn gather(&mut self, out: &mut Vec<PendingLeaf<G>>) {
        loop {
            let want = leaves_to_gather(
                self.params.leaves_per_game,
                self.params.simulations.max(1),
                self.done,
                self.in_flight,
            );
            if want == 0 || (self.puct.solver && self.nodes[0].proven.is_some()) {
                return;
            }
            let Some((path, state)) = self.select() else { return };
            let leaf = *path.last().expect("path holds the root");
            if let Some(outcome) = state.outcome() {
                let to_move = state.to_move();
                if self.puct.solver {
                    if let engine_core::Outcome::Win(w) = outcome {
                        self.nodes[leaf].proven = Some(w);
                        propagate_proof(&mut self.nodes, &path);
                    }
                }
                backup(&mut self.nodes, &path, outcome.value_for(to_move), to_move, true);
                self.done += 1;
                continue;
            }
            if let Some(w) = self.nodes[leaf].proven.filter(|_| self.puct.solver) {
                let to_move = state.to_move();
                backup(&mut self.nodes, &path, if w == to_move { 1.0 } else { -1.0 }, to_move, true);
                self.done += 1;
                continue;
            }
            self.nodes[leaf].pending = true;
            self.in_flight += 1;
            out.push(PendingLeaf { node: leaf, path, state });
        }
    }

    /// Expands a gathered leaf with the evaluator's `logits` and backs up `value`.
    /// With root noise on, the root's priors get Dirichlet noise when it is expanded.
    fn complete(&mut self, leaf: PendingLeaf<G>, logits: &[f32], value: f32, rng: &mut dyn RngCore) {
        let mut legal = std::mem::take(&mut self.legal);
        leaf.state.legal_actions_into(&mut legal);
        let to_move = leaf.state.to_move();
        expand(&mut self.nodes, leaf.node, to_move, &legal, logits);
        self.legal = legal;
        if leaf.node == 0 && self.params.root_noise {
            noise_root_priors(&mut self.nodes, self.puct.dirichlet_alpha, self.puct.dirichlet_epsilon, rng);
        }
        let value = clean_value(value);
        backup(&mut self.nodes, &leaf.path, value, to_move, true);
        self.in_flight -= 1;
        self.done += 1;
    }

    fn is_finished(&self) -> bool {
        self.done >= self.params.simulations.max(1) || (self.puct.solver && self.nodes[0].proven.is_some())
    }

    fn simulations_done(&self) -> u32 {
        self.done - self.reused
    }

    /// Visit shares and root value.
    fn result(&self) -> SearchResult {
        let a = G::spec().num_actions;
        let to_move = self.root.to_move();
        // With the solver, a move proven lost keeps no share while another is left:
        // its visits came before the proof, and playing it would throw the game away.
        let lost = |n: &Node| self.puct.solver && n.proven.is_some_and(|w| w != to_move);
        let all_lost = self.nodes[0].children().all(|c| lost(&self.nodes[c]));
        let mut visits = vec![0.0f32; a];
        for c in self.nodes[0].children() {
            let n = &self.nodes[c];
            if all_lost || !lost(n) {
                visits[n.action as usize] = n.visits as f32;
            }
        }
        let total: f32 = visits.iter().sum();
        let won = self.nodes[0].children().filter(|&c| self.nodes[c].proven == Some(to_move));
        let policy = if let Some(win) = won.max_by_key(|&c| self.nodes[c].visits) {
            // A proven win: all of the distribution on it (the most visited winning move).
            let mut p = vec![0.0; a];
            p[self.nodes[win].action as usize] = 1.0;
            p
        } else if total > 0.0 {
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
        let root_value = match root.proven {
            Some(w) => {
                if w == to_move {
                    1.0
                } else {
                    -1.0
                }
            }
            None if root.visits > 0 => -root.value_sum / root.visits as f32,
            None => 0.0,
        };
        SearchResult { policy, visits, root_value, selected: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{run_search, Algorithm, Evaluator, SearchConfig, UniformEvaluator};
    use engine_core::tictactoe::TicTacToe;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn puct() -> PuctParams {
        PuctParams { c_puct: 1.5, dirichlet_alpha: 1.0, dirichlet_epsilon: 0.25, fpu_reduction: 0.0, solver: false }
    }

    fn params(sims: u32, leaves: u32) -> SearchParams {
        SearchParams { simulations: sims, leaves_per_game: leaves, root_noise: false }
    }

    fn config(sims: u32, leaves: u32) -> SearchConfig {
        SearchConfig { algorithm: Algorithm::Puct(puct()), params: params(sims, leaves) }
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
    fn search_runs_exactly_the_requested_simulations_with_batches() {
        let mut rng = StdRng::seed_from_u64(1);
        for leaves in [1, 3, 8, 64] {
            let mut s =
                PuctSearch::new(TicTacToe::initial(), SearchParams { root_noise: true, ..params(37, leaves) }, puct())
                    .unwrap();
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
        let r = run_search(&g, &config(200, 4), &mut UniformEvaluator, &mut rng).unwrap();
        let best = crate::search::apply_temperature(&r.visits, 0.0).iter().position(|&p| p == 1.0).unwrap();
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
        let r = run_search(&g, &config(800, 8), &mut UniformEvaluator, &mut rng).unwrap();
        let best = crate::search::apply_temperature(&r.visits, 0.0).iter().position(|&p| p == 1.0).unwrap();
        assert_eq!(best, 2, "{:?}", r.policy);
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
        let mut s = PuctSearch::new(TicTacToe::initial(), params(30, 4), puct()).unwrap();
        finish(&mut s, &mut rng);
        let next = pos(&[4]);
        s.reset(next).unwrap();
        let fresh = PuctSearch::new(next, params(30, 4), puct()).unwrap();
        assert_eq!((s.done, s.in_flight, s.nodes.len()), (0, 0, 1));
        assert_eq!(s.nodes[0].mover, fresh.nodes[0].mover);
        assert_eq!(s.root, fresh.root);
        assert!(matches!(s.reset(pos(&[0, 3, 1, 4, 2])), Err(SearchError::GameOver)));
    }

    /// Runs `s` to its budget with the uniform evaluator; returns the evaluations made.
    fn finish(s: &mut PuctSearch<TicTacToe>, rng: &mut StdRng) -> usize {
        let mut evals = 0;
        while !s.is_finished() {
            let mut leaves = Vec::new();
            s.gather(&mut leaves);
            let states: Vec<TicTacToe> = leaves.iter().map(|l| l.state).collect();
            let out = Evaluator::<TicTacToe>::evaluate(&mut UniformEvaluator, &states, &[]).unwrap();
            evals += leaves.len();
            for (i, l) in leaves.into_iter().enumerate() {
                s.complete(l, &out.logits[i * 9..(i + 1) * 9], out.values[i], rng);
            }
        }
        evals
    }

    /// Every node's children are in the arena, every edge's visits add up, and each
    /// child's action is legal in its parent's position.
    fn check_tree(nodes: &[Node], root: TicTacToe) {
        let mut stack = vec![(0usize, root)];
        while let Some((i, g)) = stack.pop() {
            let n = &nodes[i];
            assert_eq!((n.virtual_loss, n.pending), (0, false));
            if n.num_children == 0 {
                continue;
            }
            assert!(n.children().end <= nodes.len());
            let below: u32 = n.children().map(|c| nodes[c].visits).sum();
            // A node's visits are its own evaluation plus its children's.
            assert_eq!(n.visits, below + 1, "node {i}");
            for c in n.children() {
                assert!(g.is_legal(nodes[c].action));
                let mut next = g;
                next.apply_unchecked(nodes[c].action);
                stack.push((c, next));
            }
        }
    }

    #[test]
    fn advance_keeps_the_played_subtree_and_needs_fewer_evaluations() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut s = PuctSearch::new(TicTacToe::initial(), params(200, 4), puct()).unwrap();
        assert_eq!(finish(&mut s, &mut rng), 200);
        let child = s.nodes[0].children().find(|&c| s.nodes[c].action == 4).unwrap();
        let (kept_visits, kept_value) = (s.nodes[child].visits, s.nodes[child].value_sum);
        assert!(kept_visits > 1);
        assert!(s.advance(4, pos(&[4]), &mut rng).unwrap());
        assert_eq!(s.root, pos(&[4]));
        assert_eq!((s.nodes[0].visits, s.nodes[0].value_sum, s.nodes[0].mover), (kept_visits, kept_value, Player::First));
        check_tree(&s.nodes, pos(&[4]));
        assert_eq!((s.done, s.reused, s.simulations_done()), (kept_visits.min(150), kept_visits.min(150), 0));
        // The rest of the budget costs only the simulations not kept.
        let evals = finish(&mut s, &mut rng);
        assert_eq!(evals as u32, 200 - s.reused);
        assert_eq!(s.simulations_done(), 200 - s.reused);
        check_tree(&s.nodes, pos(&[4]));
        let r = s.result();
        assert!((r.policy.iter().sum::<f32>() - 1.0).abs() < 1e-5 && r.policy[4] == 0.0);

        // Most of a budget is never kept: a quarter of it is always searched afresh.
        let mut big = PuctSearch::new(TicTacToe::initial(), params(400, 4), puct()).unwrap();
        finish(&mut big, &mut rng);
        big.params.simulations = 8;
        let forced = big.nodes[0].children().max_by_key(|&c| big.nodes[c].visits).unwrap();
        let a = big.nodes[forced].action;
        assert!(big.advance(a, pos(&[a as i64]), &mut rng).unwrap());
        assert_eq!(big.reused, 6);
        assert_eq!(finish(&mut big, &mut rng), 2);
    }

    #[test]
    fn advance_noises_the_new_root_and_falls_back_to_a_fresh_search() {
        let mut rng = StdRng::seed_from_u64(6);
        let mut p = params(100, 4);
        p.root_noise = true;
        let mut s = PuctSearch::new(TicTacToe::initial(), p.clone(), puct()).unwrap();
        finish(&mut s, &mut rng);
        let child = s.nodes[0].children().find(|&c| s.nodes[c].action == 0).unwrap();
        let before: Vec<f32> = s.nodes[child].children().map(|c| s.nodes[c].prior).collect();
        assert!(s.advance(0, pos(&[0]), &mut rng).unwrap());
        let after: Vec<f32> = s.nodes[0].children().map(|c| s.nodes[c].prior).collect();
        assert_eq!(before.len(), after.len());
        assert!(before.iter().zip(&after).any(|(a, b)| (a - b).abs() > 1e-4), "{before:?} {after:?}");
        assert!((after.iter().sum::<f32>() - 1.0).abs() < 1e-4);

        // A move whose child was never expanded: a fresh search.
        let mut t = PuctSearch::new(TicTacToe::initial(), params(2, 1), puct()).unwrap();
        finish(&mut t, &mut rng);
        let unexpanded = t.nodes[0].children().find(|&c| !t.nodes[c].expanded).unwrap();
        let a = t.nodes[unexpanded].action;
        assert!(!t.advance(a, pos(&[a as i64]), &mut rng).unwrap());
        assert_eq!((t.nodes.len(), t.done, t.reused), (1, 0, 0));
        // A move that ends the game cannot be searched from.
        let mut u = PuctSearch::new(pos(&[0, 3, 1, 4]), params(50, 2), puct()).unwrap();
        finish(&mut u, &mut rng);
        assert!(matches!(u.advance(2, pos(&[0, 3, 1, 4, 2]), &mut rng), Err(SearchError::GameOver)));
    }

    #[test]
    fn search_refuses_a_finished_game() {
        let g = pos(&[0, 3, 1, 4, 2]);
        assert!(matches!(PuctSearch::new(g, params(10, 1), puct()), Err(SearchError::GameOver)));
    }

    /// Root (X to move) with three children (X's moves), each with two children (O's).
    fn small_tree() -> Vec<Node> {
        let mut nodes = vec![Node::new(0, Player::Second, 1.0)];
        nodes[0].expanded = true;
        nodes[0].first_child = 1;
        nodes[0].num_children = 3;
        for a in 0..3 {
            nodes.push(Node::new(a, Player::First, 1.0 / 3.0));
        }
        for (k, c) in (1..4).enumerate() {
            nodes[c].expanded = true;
            nodes[c].first_child = 4 + 2 * k as u32;
            nodes[c].num_children = 2;
        }
        for a in 0..6 {
            nodes.push(Node::new(a, Player::Second, 0.5));
        }
        nodes
    }

    #[test]
    fn a_won_reply_proves_its_parent_lost_and_all_lost_children_prove_the_root_won() {
        let mut n = small_tree();
        // O wins after X's move 0 (node 1) by O's reply at node 4: X's move 0 is lost.
        n[4].proven = Some(Player::Second);
        propagate_proof(&mut n, &[0, 1, 4]);
        assert_eq!(n[1].proven, Some(Player::Second));
        assert_eq!(n[0].proven, None, "X still has other moves");
        // X's move 1 (node 2): both O replies lose for O -> X's move 1 wins, and so the root.
        n[6].proven = Some(Player::First);
        propagate_proof(&mut n, &[0, 2, 6]);
        assert_eq!(n[2].proven, None, "O's other reply is unknown");
        n[7].proven = Some(Player::First);
        propagate_proof(&mut n, &[0, 2, 7]);
        assert_eq!(n[2].proven, Some(Player::First));
        assert_eq!(n[0].proven, Some(Player::First), "one winning move proves the root won");
    }

    #[test]
    fn selection_never_enters_a_move_proven_lost() {
        let mut n = small_tree();
        n[1].prior = 0.9;
        n[2].prior = 0.05;
        n[3].prior = 0.05;
        assert_eq!(select_child_with(&n, 0, 1.5, 0.0, true), 1);
        n[1].proven = Some(Player::Second);
        assert_eq!(select_child(&n, 0, 1.5, 0.0), 1, "without the solver the prior decides");
        assert_ne!(select_child_with(&n, 0, 1.5, 0.0, true), 1);
    }

    #[test]
    fn the_solver_stops_on_a_proven_win_and_plays_it() {
        // X X .
        // O O .    X to move wins with c1 (2).
        // . . .
        let g = pos(&[0, 3, 1, 4]);
        let solver = SearchConfig {
            algorithm: Algorithm::Puct(PuctParams { solver: true, ..puct() }),
            params: params(400, 4),
        };
        let mut rng = StdRng::seed_from_u64(3);
        let mut s = solver.start(g).unwrap();
        crate::search::Driver::new().run(std::slice::from_mut(&mut s), &mut UniformEvaluator, &mut rng).unwrap();
        assert!(s.is_finished());
        let used = s.simulations_done();
        assert!(used < 100, "a proven root stops the search early: {used} of 400 simulations");
        let r = s.result();
        assert_eq!(r.policy[2], 1.0, "{:?}", r.policy);
        assert_eq!(r.root_value, 1.0);
        // Without the solver the same budget is spent in full.
        let plain = run_search(&g, &config(400, 4), &mut UniformEvaluator, &mut rng).unwrap();
        assert_eq!(plain.visits.iter().sum::<f32>(), 399.0, "every simulation but the root's expansion");
    }

    #[test]
    fn a_move_proven_lost_gets_no_share_however_many_visits_it_had() {
        let mut s = PuctSearch::new(
            TicTacToe::initial(),
            params(10, 1),
            PuctParams { solver: true, ..puct() },
        )
        .unwrap();
        s.nodes = small_tree();
        s.nodes[1].visits = 50;
        s.nodes[2].visits = 10;
        s.nodes[3].visits = 5;
        s.nodes[1].proven = Some(Player::Second);
        let r = s.result();
        assert_eq!(r.policy[0], 0.0, "{:?}", r.policy);
        assert!((r.policy[1] - 10.0 / 15.0).abs() < 1e-6, "{:?}", r.policy);
        // When every move is lost, the shares are the visits again.
        s.nodes[2].proven = Some(Player::Second);
        s.nodes[3].proven = Some(Player::Second);
        assert!((s.result().policy[0] - 50.0 / 65.0).abs() < 1e-6);
    }

    #[test]
    fn the_solver_proves_a_lost_position_lost() {
        // A position in which every move loses (found by the exact solver): the search
        // must prove it lost.
        let lost = crate::eval::accuracy::solved_positions::<TicTacToe>()
            .into_iter()
            .find(|p| p.values.iter().flatten().all(|&v| v == -1) && p.state.ply() >= 4)
            .expect("TicTacToe has lost positions");
        let solver = SearchConfig {
            algorithm: Algorithm::Puct(PuctParams { solver: true, ..puct() }),
            params: params(2000, 1),
        };
        let mut rng = StdRng::seed_from_u64(4);
        let r = run_search(&lost.state, &solver, &mut UniformEvaluator, &mut rng).unwrap();
        assert_eq!(r.root_value, -1.0, "{:?}", lost.state);
    }
}
