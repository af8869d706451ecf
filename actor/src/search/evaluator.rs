//! Evaluators score batches of positions for the searches: the network
//! ([`crate::nn::NnEvaluator`]), uniform priors before any model exists, or random
//! playouts for a search without a network.

use engine_core::Game;
use rand::Rng;

use super::SearchError;

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
    fn evaluate(&mut self, states: &[G], obs: &[f32]) -> Result<EvalOutput, SearchError>;

    /// The training step of the model behind this evaluator; `None` without a model.
    fn model_version(&self) -> Option<i64> {
        None
    }

    /// For an evaluator whose answer depends only on the observation (a network), an
    /// identity of what answers: equal identities give equal answers, so they may be
    /// cached ([`EvalCache`](super::driver::EvalCache)). `None` (the default): not
    /// cacheable (random rollouts).
    fn cache_identity(&self) -> Option<i64> {
        None
    }
}

/// Uniform prior, value 0: the evaluator used before any model exists.
#[derive(Clone, Copy, Debug, Default)]
pub struct UniformEvaluator;

impl<G: Game> Evaluator<G> for UniformEvaluator {
    fn evaluate(&mut self, states: &[G], _obs: &[f32]) -> Result<EvalOutput, SearchError> {
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
    fn evaluate(&mut self, states: &[G], _obs: &[f32]) -> Result<EvalOutput, SearchError> {
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

/// Checks the evaluator's output sizes for `n` positions.
pub fn check_output<G: Game>(out: &EvalOutput, n: usize) -> Result<(), SearchError> {
    let a = G::spec().num_actions;
    if out.logits.len() != n * a {
        return Err(SearchError::BadOutput { what: "policy logits", got: out.logits.len(), expected: n * a });
    }
    if out.values.len() != n {
        return Err(SearchError::BadOutput { what: "values", got: out.values.len(), expected: n });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::tictactoe::TicTacToe;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn rollout_evaluator_scores_a_won_position() {
        // X X .
        // O O X    one empty cell left; X to move completes the top row.
        // X O O
        let win = TicTacToe::from_actions(&[0, 3, 1, 4, 5, 7, 6, 8]).unwrap();
        // X . .
        // . . .    O to move can play anywhere; random play is about even, and
        // . . .    the value stays inside [-1, 1].
        let open = TicTacToe::from_actions(&[0]).unwrap();
        let mut ev = RolloutEvaluator { rollouts: 200, rng: StdRng::seed_from_u64(5) };
        let out = Evaluator::<TicTacToe>::evaluate(&mut ev, &[win, open], &[]).unwrap();
        assert_eq!(out.values[0], 1.0);
        assert!(out.values[1] > -1.0 && out.values[1] < 1.0, "{}", out.values[1]);
        assert_eq!(out.logits, vec![0.0; 18]);
    }

    #[test]
    fn output_sizes_are_checked() {
        let ok = EvalOutput { logits: vec![0.0; 18], values: vec![0.0; 2] };
        assert!(check_output::<TicTacToe>(&ok, 2).is_ok());
        let e = check_output::<TicTacToe>(&ok, 3).unwrap_err().to_string();
        assert!(e.contains("27"), "{e}");
        let short = EvalOutput { logits: vec![0.0; 18], values: vec![0.0; 1] };
        assert!(check_output::<TicTacToe>(&short, 2).unwrap_err().to_string().contains("values"));
    }
}
