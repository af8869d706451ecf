//! The one batched driver: it runs any number of searches against one evaluator, each
//! step gathering the pending leaves of every unfinished search into one evaluator
//! call. Self-play keeps its games' searches in a [`SearchSet`] and calls
//! [`Driver::step`] in its own loop (model swaps, pacing, moves between steps);
//! everything else calls [`run_search`] (one position) or [`search_many`].

use std::collections::HashMap;
use std::time::Instant;

use engine_core::Game;
use rand::RngCore;

use super::{
    check_output, EvalOutput, Evaluator, PendingLeaf, Search, SearchConfig, SearchError, SearchResult, UniformEvaluator,
};

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

/// Network answers of recently evaluated observations, so a position met again (a
/// transposition in one tree, the same subtree searched again at the next move, the
/// same opening in another game) is not evaluated again. Keyed by a 64-bit hash of the
/// observation; two generations of at most `capacity` entries each (when the newer is
/// full it becomes the older and the older is dropped), all cleared when the
/// evaluator's [`Evaluator::cache_identity`] changes (a new model).
pub struct EvalCache<G> {
    capacity: usize,
    identity: Option<i64>,
    newer: HashMap<u64, Box<[f32]>>,
    older: HashMap<u64, Box<[f32]>>,
    /// Leaves answered from the cache (or by an equal leaf of the same batch), in all.
    pub hits: u64,
    // Scratch of one batch, reused: each leaf's row of the network's answer (`None`:
    // answered from the cache), the rows by key, and the leaves sent.
    rows: Vec<Option<usize>>,
    sent: HashMap<u64, usize>,
    miss_obs: Vec<f32>,
    miss_states: Vec<G>,
}

impl<G: Game> EvalCache<G> {
    pub fn new(capacity: usize) -> EvalCache<G> {
        EvalCache {
            capacity: capacity.max(1),
            identity: None,
            newer: HashMap::new(),
            older: HashMap::new(),
            hits: 0,
            rows: Vec::new(),
            sent: HashMap::new(),
            miss_obs: Vec::new(),
            miss_states: Vec::new(),
        }
    }

    fn get(&self, key: u64) -> Option<&[f32]> {
        self.newer.get(&key).or_else(|| self.older.get(&key)).map(|b| &b[..])
    }

    fn insert(&mut self, key: u64, answer: Box<[f32]>) {
        if self.newer.len() >= self.capacity {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(key, answer);
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch's answers: leaves whose observation is cached (or equal to an earlier
    /// leaf of this batch) are not sent to the evaluator; the others are, in one call,
    /// and their answers are cached (not a uniform fall-back's). Returns the answers
    /// for every leaf and how many the evaluator scored.
    fn evaluate(
        &mut self,
        identity: i64,
        evaluator: &mut dyn Evaluator<G>,
        states: &[G],
        obs: &[f32],
        uniform_on_error: bool,
    ) -> Result<(EvalOutput, usize), SearchError> {
        let spec = G::spec();
        let (a, obs_len, n) = (spec.num_actions, spec.obs_len(), states.len());
        if self.identity != Some(identity) {
            self.newer.clear();
            self.older.clear();
            self.identity = Some(identity);
        }
        let mut answer = EvalOutput { logits: vec![0.0; n * a], values: vec![0.0; n] };
        self.rows.clear();
        self.sent.clear();
        self.miss_obs.clear();
        self.miss_states.clear();
        for (k, chunk) in obs.chunks(obs_len).enumerate() {
            let key = obs_hash(chunk);
            if let Some(hit) = self.get(key) {
                answer.logits[k * a..(k + 1) * a].copy_from_slice(&hit[..a]);
                answer.values[k] = hit[a];
                self.rows.push(None);
                self.hits += 1;
            } else if let Some(&row) = self.sent.get(&key) {
                self.rows.push(Some(row));
                self.hits += 1;
            } else {
                let row = self.miss_states.len();
                self.sent.insert(key, row);
                self.miss_obs.extend_from_slice(chunk);
                self.miss_states.push(states[k].clone());
                self.rows.push(Some(row));
            }
        }
        let m = self.miss_states.len();
        if m == 0 {
            return Ok((answer, 0));
        }
        let (out, fresh) = evaluate_or_uniform(evaluator, &self.miss_states, &self.miss_obs, uniform_on_error)?;
        for (k, row) in self.rows.iter().enumerate() {
            if let Some(row) = *row {
                answer.logits[k * a..(k + 1) * a].copy_from_slice(&out.logits[row * a..(row + 1) * a]);
                answer.values[k] = out.values[row];
            }
        }
        if fresh {
            let sent = std::mem::take(&mut self.sent);
            for (&key, &row) in &sent {
                let mut entry = Vec::with_capacity(a + 1);
                entry.extend_from_slice(&out.logits[row * a..(row + 1) * a]);
                entry.push(out.values[row]);
                self.insert(key, entry.into_boxed_slice());
            }
            self.sent = sent;
        }
        Ok((answer, m))
    }
}

/// The evaluator's answer for `states`, checked; on an error with `uniform_on_error`,
/// logged and replaced by uniform priors and value 0, so every pending leaf can still
/// be completed and the trees stay consistent. The flag says whether it is the
/// evaluator's own answer.
fn evaluate_or_uniform<G: Game>(
    evaluator: &mut dyn Evaluator<G>,
    states: &[G],
    obs: &[f32],
    uniform_on_error: bool,
) -> Result<(EvalOutput, bool), SearchError> {
    match evaluator.evaluate(states, obs).and_then(|o| check_output::<G>(&o, states.len()).map(|_| o)) {
        Ok(o) => Ok((o, true)),
        Err(e) if uniform_on_error => {
            tracing::error!("evaluation failed, using uniform priors for this batch: {e}");
            Ok((UniformEvaluator.evaluate(states, obs)?, false))
        }
        Err(e) => Err(e),
    }
}

/// A 64-bit hash of an observation's bits (FNV-1a over 32-bit words, then a final
/// avalanche): the cache key. A false match needs two of the cache's ~10⁵ positions to
/// collide in 64 bits.
fn obs_hash(obs: &[f32]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in obs {
        h = (h ^ u64::from(x.to_bits())).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
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
    /// Answers of recent positions, for evaluators that can be cached (`None`: off).
    pub cache: Option<EvalCache<G>>,
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
            cache: None,
        }
    }

    /// A driver that caches network answers (see [`EvalCache`]); `capacity` 0: none.
    pub fn with_cache(capacity: usize) -> Driver<G> {
        let mut d = Driver::new();
        d.cache = (capacity > 0).then(|| EvalCache::new(capacity));
        d
    }

    /// One step: gather from every unfinished search, one evaluator call for all the
    /// leaves, complete each. Returns the number of leaves the evaluator scored (0 when
    /// no search needed the network: finished, only terminal leaves this time, or every
    /// leaf answered from the cache).
    pub fn step<S: SearchSet<G> + ?Sized>(
        &mut self,
        searches: &mut S,
        evaluator: &mut dyn Evaluator<G>,
        rng: &mut dyn RngCore,
        times: &mut StepTimes,
    ) -> Result<usize, SearchError> {
        let spec = G::spec();
        let obs_len = spec.obs_len();
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
        let out = match (&mut self.cache, evaluator.cache_identity()) {
            (Some(cache), Some(id)) => cache.evaluate(id, evaluator, &self.states, &self.obs, self.uniform_on_error),
            _ => evaluate_or_uniform(evaluator, &self.states, &self.obs, self.uniform_on_error).map(|(o, _)| (o, n)),
        };
        times.inference += lap(&mut clock);
        let (out, evaluated) = match out {
            Ok(o) => o,
            Err(e) => {
                self.leaves.clear();
                return Err(e);
            }
        };
        let a = spec.num_actions;
        for (k, (i, leaf)) in self.leaves.drain(..).enumerate() {
            let s = searches.search_mut(i).expect("a leaf's search stays in its slot");
            s.complete(leaf, &out.logits[k * a..(k + 1) * a], out.values[k], rng);
        }
        times.complete += lap(&mut clock);
        Ok(evaluated)
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

    /// Answers that differ per position (a function of the observation only, like a
    /// network), counting the positions it is asked for; `identity` is its model.
    struct ObsNet {
        positions: usize,
        identity: i64,
        fail: bool,
    }

    impl Evaluator<TicTacToe> for ObsNet {
        fn evaluate(&mut self, states: &[TicTacToe], obs: &[f32]) -> Result<crate::search::EvalOutput, SearchError> {
            if self.fail {
                return Err(SearchError::Evaluator("broken".into()));
            }
            self.positions += states.len();
            let mut out = crate::search::EvalOutput::default();
            for o in obs.chunks(18) {
                out.logits.extend((0..9).map(|i| o[i] - 2.0 * o[9 + i] + 0.1 * (i as f32) * self.identity as f32));
                let v: f32 = o.iter().enumerate().map(|(i, x)| x * ((i * 7 % 5) as f32 - 2.0)).sum();
                out.values.push((0.3 * v).tanh());
            }
            Ok(out)
        }

        fn cache_identity(&self) -> Option<i64> {
            Some(self.identity)
        }
    }

    #[test]
    fn the_cache_answers_positions_met_again_and_changes_no_result() {
        let roots: Vec<TicTacToe> =
            [&[][..], &[4], &[0, 4], &[4, 0]].iter().map(|m| TicTacToe::from_actions(m).unwrap()).collect();
        let run = |driver: &mut Driver<TicTacToe>, net: &mut ObsNet| {
            let mut searches: Vec<Box<dyn Search<TicTacToe>>> =
                roots.iter().map(|r| config(300, 4).start(*r).unwrap()).collect();
            let mut rng = StdRng::seed_from_u64(9);
            driver.run(&mut searches[..], net, &mut rng).unwrap();
            searches.iter().map(|s| s.result()).collect::<Vec<_>>()
        };
        let mut plain = ObsNet { positions: 0, identity: 1, fail: false };
        let want = run(&mut Driver::new(), &mut plain);
        let mut cached = ObsNet { positions: 0, identity: 1, fail: false };
        let mut driver = Driver::with_cache(100_000);
        let got = run(&mut driver, &mut cached);
        for (a, b) in want.iter().zip(&got) {
            assert_eq!((&a.visits, a.root_value), (&b.visits, b.root_value));
        }
        // TicTacToe trees of 300 simulations are full of transpositions.
        let hits = driver.cache.as_ref().unwrap().hits;
        assert!(cached.positions < plain.positions, "{} vs {}", cached.positions, plain.positions);
        assert_eq!(cached.positions as u64 + hits, plain.positions as u64);
        // Run again: everything is cached now.
        let again = run(&mut driver, &mut cached);
        assert_eq!(again[0].visits, want[0].visits);
        assert_eq!(cached.positions as u64 + driver.cache.as_ref().unwrap().hits, 2 * plain.positions as u64);

        // Another model: the cache is emptied, not served (its answers differ).
        let mut other = ObsNet { positions: 0, identity: 2, fail: false };
        run(&mut driver, &mut other);
        assert!(other.positions > 0);
        let mut fresh_other = ObsNet { positions: 0, identity: 2, fail: false };
        let want_other = run(&mut Driver::new(), &mut fresh_other);
        let mut check = ObsNet { positions: 0, identity: 2, fail: false };
        assert_eq!(run(&mut driver, &mut check)[1].visits, want_other[1].visits);

        // A small cache keeps working as it turns over.
        let mut small = Driver::with_cache(16);
        let mut net = ObsNet { positions: 0, identity: 1, fail: false };
        let got = run(&mut small, &mut net);
        assert_eq!(got[2].visits, want[2].visits);
        assert!(small.cache.as_ref().unwrap().len() <= 32);
    }

    #[test]
    fn a_failed_batch_with_the_cache_falls_back_to_uniform_and_caches_nothing() {
        let mut searches = [config(10, 2).start(TicTacToe::initial()).unwrap()];
        let mut driver = Driver::with_cache(1000);
        let mut rng = StdRng::seed_from_u64(2);
        let mut broken = ObsNet { positions: 0, identity: 1, fail: true };
        let e = driver.run(&mut searches[..], &mut broken, &mut rng).unwrap_err();
        assert!(e.to_string().contains("broken"), "{e}");
        let mut searches = [config(10, 2).start(TicTacToe::initial()).unwrap()];
        driver.uniform_on_error = true;
        driver.run(&mut searches[..], &mut broken, &mut rng).unwrap();
        assert_eq!(searches[0].simulations_done(), 10);
        assert!(driver.cache.as_ref().unwrap().is_empty());
    }
}
