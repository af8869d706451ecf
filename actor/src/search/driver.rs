//! The one batched driver: it runs any number of searches against one evaluator, each
//! step gathering the pending leaves of every unfinished search into one evaluator
//! call. Self-play keeps its games' searches in a [`SearchSet`] and calls
//! [`Driver::step`] in its own loop (model swaps, pacing, moves between steps);
//! everything else calls [`run_search`] (one position) or [`search_many`].

use std::time::Instant;

use engine_core::Game;
use rand::RngCore;

use super::{check_output, Evaluator, PendingLeaf, Search, SearchConfig, SearchError, SearchResult, UniformEvaluator};

/// Searches a driver can step: indexed, some slots possibly empty (finished games).
pub trait SearchSet<G: Game> {
    /// Number of slots.
    fn slots(&self) -> usize;
    /// The search in slot `i`, if any.
    fn search_mut(&mut self, i: usize) -> Option<&mut dyn Search<G>>;
}

impl<G: Game> SearchSet<G> for [Box<dyn Search<G>>] {
    fn slots(&self) -> usize {
        self.len()
    }

    fn search_mut(&mut self, i: usize) -> Option<&mut dyn Search<G>> {
        Some(self[i].as_mut())
    }
}

/// Nanoseconds spent in each phase of the steps (added up over calls).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepTimes {
    /// Walking the trees (gather).
    pub select: u64,
    /// Writing the observations.
    pub encode: u64,
    /// The evaluator call.
    pub inference: u64,
    /// Expanding leaves and backing up (complete).
    pub complete: u64,
}

/// Nanoseconds since `clock`, which moves on to now.
pub fn lap(clock: &mut Instant) -> u64 {
    let now = Instant::now();
    let ns = now.duration_since(*clock).as_nanos() as u64;
    *clock = now;
    ns
}

/// Gathers, evaluates and completes leaves of many searches, one batch per step. Keeps
/// its buffers between steps, so a step allocates nothing once warm.
pub struct Driver<G: Game> {
    leaves: Vec<(usize, PendingLeaf<G>)>,
    gathered: Vec<PendingLeaf<G>>,
    states: Vec<G>,
    obs: Vec<f32>,
    /// On an evaluator error, log it and complete the batch with uniform priors and
    /// value 0 instead of failing (self-play: one bad batch must not stop training).
    pub uniform_on_error: bool,
}

impl<G: Game> Default for Driver<G> {
    fn default() -> Self {
        Driver::new()
    }
}

impl<G: Game> Driver<G> {
    pub fn new() -> Driver<G> {
        Driver {
            leaves: Vec::new(),
            gathered: Vec::new(),
            states: Vec::new(),
            obs: Vec::new(),
            uniform_on_error: false,
        }
    }

    /// One step: gather from every unfinished search, one evaluator call for all the
    /// leaves, complete each. Returns the number of leaves evaluated (0 when no search
    /// needed the network: finished, or only terminal leaves this time).
    pub fn step<S: SearchSet<G> + ?Sized>(
        &mut self,
        searches: &mut S,
        evaluator: &mut dyn Evaluator<G>,
        rng: &mut dyn RngCore,
        times: &mut StepTimes,
    ) -> Result<usize, SearchError> {
        let spec = G::spec();
        let (a, obs_len) = (spec.num_actions, spec.obs_len());
        let mut clock = Instant::now();
        for i in 0..searches.slots() {
            let Some(s) = searches.search_mut(i) else { continue };
            if s.is_finished() {
                continue;
            }
            self.gathered.clear();
            s.gather(&mut self.gathered);
            self.leaves.extend(self.gathered.drain(..).map(|l| (i, l)));
        }
        times.select += lap(&mut clock);
        if self.leaves.is_empty() {
            return Ok(0);
        }
        // Encode straight from the pending leaves into the reused buffer.
        self.obs.clear();
        self.obs.resize(self.leaves.len() * obs_len, 0.0);
        self.states.clear();
        for ((_, l), chunk) in self.leaves.iter().zip(self.obs.chunks_mut(obs_len)) {
            l.state.encode(chunk);
            self.states.push(l.state.clone());
        }
        times.encode += lap(&mut clock);
        let n = self.states.len();
        let out = evaluator.evaluate(&self.states, &self.obs).and_then(|o| check_output::<G>(&o, n).map(|_| o));
        times.inference += lap(&mut clock);
        let out = match out {
            Ok(o) => o,
            Err(e) if self.uniform_on_error => {
                // Keep the trees consistent (every pending leaf is completed) and go on
                // with priors from nobody.
                tracing::error!("evaluation failed, using uniform priors for this batch: {e}");
                UniformEvaluator.evaluate(&self.states, &self.obs)?
            }
            Err(e) => {
                self.leaves.clear();
                return Err(e);
            }
        };
        for (k, (i, leaf)) in self.leaves.drain(..).enumerate() {
            let s = searches.search_mut(i).expect("a leaf's search stays in its slot");
            s.complete(leaf, &out.logits[k * a..(k + 1) * a], out.values[k], rng);
        }
        times.complete += lap(&mut clock);
        Ok(n)
    }

    /// Steps until every search in `searches` is finished.
    pub fn run<S: SearchSet<G> + ?Sized>(
        &mut self,
        searches: &mut S,
        evaluator: &mut dyn Evaluator<G>,
        rng: &mut dyn RngCore,
    ) -> Result<(), SearchError> {
        let mut times = StepTimes::default();
        while (0..searches.slots()).any(|i| searches.search_mut(i).is_some_and(|s| !s.is_finished())) {
            self.step(searches, evaluator, rng, &mut times)?;
        }
        Ok(())
    }
}

/// Runs a whole search of `config` for one position.
pub fn run_search<G: Game>(
    root: &G,
    config: &SearchConfig,
    evaluator: &mut dyn Evaluator<G>,
    rng: &mut dyn RngCore,
) -> Result<SearchResult, SearchError> {
    let mut searches = [config.start(root.clone())?];
    Driver::new().run(&mut searches[..], evaluator, rng)?;
    Ok(searches[0].result())
}

/// Runs one search per root in lockstep, every step's leaves in one evaluator call.
/// Roots are taken `CHUNK` at a time to bound the batch.
pub fn search_many<G: Game>(
    roots: &[G],
    config: &SearchConfig,
    evaluator: &mut dyn Evaluator<G>,
    rng: &mut dyn RngCore,
) -> Result<Vec<SearchResult>, SearchError> {
    const CHUNK: usize = 256;
    let mut driver = Driver::new();
    let mut out = Vec::with_capacity(roots.len());
    for chunk in roots.chunks(CHUNK) {
        let mut searches: Vec<Box<dyn Search<G>>> =
            chunk.iter().map(|r| config.start(r.clone())).collect::<Result<_, _>>()?;
        driver.run(&mut searches[..], evaluator, rng)?;
        out.extend(searches.iter().map(|s| s.result()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{puct::PuctParams, Algorithm, SearchParams};
    use engine_core::tictactoe::TicTacToe;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn config(sims: u32, leaves: u32) -> SearchConfig {
        SearchConfig {
            algorithm: Algorithm::Puct(PuctParams {
                c_puct: 1.5,
                dirichlet_alpha: 1.0,
                dirichlet_epsilon: 0.25,
                fpu_reduction: 0.0,
                solver: false,
            }),
            params: SearchParams { simulations: sims, leaves_per_game: leaves, root_noise: false },
        }
    }

    /// Counts calls and positions, answers uniformly.
    #[derive(Default)]
    struct Counting {
        calls: usize,
        positions: usize,
        fail: bool,
    }

    impl Evaluator<TicTacToe> for Counting {
        fn evaluate(&mut self, states: &[TicTacToe], obs: &[f32]) -> Result<crate::search::EvalOutput, SearchError> {
            self.calls += 1;
            self.positions += states.len();
            assert_eq!(obs.len(), states.len() * TicTacToe::spec().obs_len());
            if self.fail {
                return Err(SearchError::Evaluator("broken".into()));
            }
            UniformEvaluator.evaluate(states, obs)
        }
    }

    #[test]
    fn many_searches_share_each_batch() {
        let roots: Vec<TicTacToe> =
            [&[][..], &[4], &[0, 4], &[4, 0, 8]].iter().map(|m| TicTacToe::from_actions(m).unwrap()).collect();
        let mut ev = Counting::default();
        let mut rng = StdRng::seed_from_u64(1);
        let results = search_many(&roots, &config(40, 4), &mut ev, &mut rng).unwrap();
        assert_eq!(results.len(), 4);
        for (r, g) in results.iter().zip(&roots) {
            assert!((r.policy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            for a in 0..9u16 {
                assert!(r.policy[a as usize] == 0.0 || g.is_legal(a), "illegal action {a} has visits");
            }
        }
        // Four searches of 40 simulations, at most 4 leaves each per step: far fewer
        // calls than positions, and never more than 16 positions in one call.
        assert!(
            ev.calls * 16 >= ev.positions && ev.calls < ev.positions / 2,
            "{} calls, {} positions",
            ev.calls,
            ev.positions
        );
        // The same searches one by one give the same results (the batch does not change them).
        let mut rng = StdRng::seed_from_u64(1);
        for (g, r) in roots.iter().zip(&results) {
            let alone = run_search(g, &config(40, 4), &mut UniformEvaluator, &mut rng).unwrap();
            assert_eq!(alone.visits, r.visits);
        }
    }

    #[test]
    fn an_evaluator_error_fails_or_falls_back_to_uniform() {
        let g = TicTacToe::initial();
        let mut rng = StdRng::seed_from_u64(2);
        let mut broken = Counting { fail: true, ..Default::default() };
        let e = run_search(&g, &config(10, 2), &mut broken, &mut rng).unwrap_err();
        assert!(e.to_string().contains("broken"), "{e}");
        let mut searches = [config(10, 2).start(g).unwrap()];
        let mut driver = Driver::new();
        driver.uniform_on_error = true;
        driver.run(&mut searches[..], &mut broken, &mut rng).unwrap();
        assert!(searches[0].is_finished());
        assert_eq!(searches[0].simulations_done(), 10);
    }

    #[test]
    fn step_times_add_up() {
        let mut searches = [config(20, 4).start(TicTacToe::initial()).unwrap()];
        let mut times = StepTimes::default();
        let mut rng = StdRng::seed_from_u64(3);
        let n = Driver::new().step(&mut searches[..], &mut UniformEvaluator, &mut rng, &mut times).unwrap();
        assert!((1..=4).contains(&n), "{n}");
        assert!(times.select > 0 && times.complete > 0);
    }
}
