//! Search trees kept between move requests. A game in the web page asks for a move,
//! the user replies, and the next request holds the same moves plus two; the tree of
//! the first search already holds visits below those two moves, which the next search
//! keeps ([`Search::advance`]) instead of evaluating them again.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use engine_core::{Action, Game};

use crate::nn::NnModel;
use crate::search::Search;

/// How many trees are kept: one per game being played at once, the oldest dropped.
pub const KEPT_TREES: usize = 8;

/// What a kept tree can be reused for: the same game, model, search and budget.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeKey {
    pub game: &'static str,
    pub search: String,
    pub simulations: u32,
}

struct KeptTree {
    key: TreeKey,
    /// The moves from the start to the tree's root.
    moves: Vec<i64>,
    model: Arc<NnModel>,
    /// A `Box<dyn Search<G>>` of the game type of `key.game`.
    search: Box<dyn Any + Send>,
}

/// The trees of the last few move requests.
#[derive(Default)]
pub struct TreeCache {
    trees: Mutex<VecDeque<KeptTree>>,
    /// Root visits the searches started with, over all requests that found a tree.
    kept_visits: AtomicU64,
    /// Requests that found a tree.
    hits: AtomicU64,
}

impl TreeCache {
    /// Takes out the kept tree for `key` and `model` whose moves lead to `moves` (the
    /// longest such), moved on to the position after `moves`. `None` when there is
    /// none; a tree of the wrong game type is dropped.
    pub fn take<G: Game>(
        &self,
        key: &TreeKey,
        model: &Arc<NnModel>,
        moves: &[i64],
        rng: &mut dyn rand::RngCore,
    ) -> Option<Box<dyn Search<G>>> {
        let kept = {
            let mut trees = self.trees.lock().unwrap_or_else(|p| p.into_inner());
            let i = trees
                .iter()
                .enumerate()
                .filter(|(_, t)| {
                    t.key == *key
                        && Arc::ptr_eq(&t.model, model)
                        && moves.len() >= t.moves.len()
                        && moves.starts_with(&t.moves)
                })
                .max_by_key(|(_, t)| t.moves.len())
                .map(|(i, _)| i)?;
            trees.remove(i)?
        };
        let mut search = *kept.search.downcast::<Box<dyn Search<G>>>().ok()?;
        for &a in &moves[kept.moves.len()..] {
            // The request's moves were checked legal before the search was asked for.
            let mut next = search.root().clone();
            next.apply_unchecked(a as Action);
            search.advance(a as Action, next, rng).ok()?;
        }
        let visits: f32 = search.result().visits.iter().sum();
        self.kept_visits.fetch_add(visits as u64, Ordering::Relaxed);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(search)
    }

    /// (requests that went on from a kept tree, the root visits they started with).
    pub fn reuse(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.kept_visits.load(Ordering::Relaxed))
    }

    /// Keeps `search` (whose root is the position after `moves`) for a later request.
    pub fn keep<G: Game>(&self, key: TreeKey, model: Arc<NnModel>, moves: Vec<i64>, search: Box<dyn Search<G>>) {
        let mut trees = self.trees.lock().unwrap_or_else(|p| p.into_inner());
        trees.retain(|t| !(t.key == key && t.moves == moves));
        trees.push_front(KeptTree { key, moves, model, search: Box::new(search) });
        trees.truncate(KEPT_TREES);
    }

    /// Trees kept now.
    pub fn len(&self) -> usize {
        self.trees.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
