//! Ratings: the score of one match with its Elo difference, interval and p-value, and
//! one maximum-likelihood Bradley–Terry (Elo) fit over many players.
//!
//! Elo scale: a player rated `d` above another is expected to score
//! `1 / (1 + 10^(-d/400))` against it. Draws count as half a win for each side, as in
//! every Elo list; the fit treats a game's score `s` as `s` wins and `1 - s` losses.

/// Elo points per natural unit of the logistic model: `d_elo = d_nat * 400 / ln 10`.
const ELO_PER_NAT: f64 = 400.0 / std::f64::consts::LN_10;
/// 97.5% quantile of the standard normal: 95% two-sided intervals.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The expected score of a player `elo_diff` points above its opponent.
pub fn expected_score(elo_diff: f64) -> f64 {
    1.0 / (1.0 + 10f64.powf(-elo_diff / 400.0))
}

/// The Elo difference that gives `score` (±infinity at 1 and 0).
pub fn elo_from_score(score: f64) -> f64 {
    if score >= 1.0 {
        f64::INFINITY
    } else if score <= 0.0 {
        f64::NEG_INFINITY
    } else {
        // + 0.0 turns an even score's -0 into 0.
        -400.0 * (1.0 / score - 1.0).log10() + 0.0
    }
}

/// Complementary error function (W. J. Cody's rational approximation as given in
/// Numerical Recipes `erfcc`; relative error below 1.2e-7 everywhere).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// One match between two players, from A's side.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct MatchSummary {
    pub wins: u32,
    pub draws: u32,
    pub losses: u32,
    pub games: u32,
    /// (wins + draws/2) / games.
    pub score: f64,
    /// Elo difference A − B implied by the score (±inf at a perfect score).
    pub elo: f64,
    /// 95% interval of the Elo difference.
    pub elo_lo: f64,
    pub elo_hi: f64,
    /// Two-sided p-value of "A and B are equally strong".
    pub p_value: f64,
}

/// Summarises a match (see [`MatchSummary`]).
///
/// Method: the 95% interval of the score is the Wilson score interval of `s` over `n`
/// games (draws as half a win; the binomial variance `s(1 − s)` it assumes is at least
/// the true variance with draws, so it errs wide), mapped to Elo (the map is
/// monotone). Unlike `s ± 1.96 σ/√n` it stays inside (0, 1) for a perfect score, so
/// 20 wins out of 20 still get a finite lower bound. The p-value tests `s = ½` with a z-test
/// whose variance is the one under that hypothesis with the observed draw rate
/// (`(1 − draw rate) / 4` per game), so a match with no losses still gets a finite,
/// meaningful p-value; all draws give p = 1.
pub fn summarize_match(wins: u32, draws: u32, losses: u32) -> MatchSummary {
    let games = wins + draws + losses;
    if games == 0 {
        return MatchSummary { p_value: 1.0, score: 0.5, ..MatchSummary::default() };
    }
    let n = games as f64;
    let (w, d) = (wins as f64, draws as f64);
    let s = (w + 0.5 * d) / n;
    let z2 = Z95 * Z95;
    let centre = (s + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (s * (1.0 - s) / n + z2 / (4.0 * n * n)).sqrt();
    let lo = (centre - half).clamp(0.0, 1.0);
    let hi = (centre + half).clamp(0.0, 1.0);
    let var0 = (1.0 - d / n) / 4.0;
    let p_value = if var0 <= 0.0 {
        1.0
    } else {
        let z = (s - 0.5) / (var0 / n).sqrt();
        erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
    };
    MatchSummary {
        wins,
        draws,
        losses,
        games,
        score: s,
        elo: elo_from_score(s),
        elo_lo: elo_from_score(lo),
        elo_hi: elo_from_score(hi),
        p_value,
    }
}

/// The results of every game between two players, aggregated.
#[derive(Clone, Debug, PartialEq)]
pub struct PairResult {
    pub a: usize,
    pub b: usize,
    /// Games played between them.
    pub games: f64,
    /// A's total score (wins + draws/2).
    pub score_a: f64,
}

/// One fitted rating.
#[derive(Clone, Debug, PartialEq)]
pub struct Rating {
    pub elo: f64,
    /// 95% interval (the anchor's is [0, 0]).
    pub elo_lo: f64,
    pub elo_hi: f64,
    pub games: f64,
}

/// Fit settings.
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// The player fixed at 0 Elo.
    pub anchor: usize,
    /// Virtual draws added to every pair that met. 0 gives the plain maximum-likelihood
    /// fit, which diverges when a player won (or lost) every game; BayesElo uses 2. The
    /// continuous evaluation uses 1 so a new snapshot that beats everything still gets
    /// a finite rating.
    pub prior_draws: f64,
}

/// Maximum-likelihood Bradley–Terry ratings of `n` players from `results`, with 95%
/// intervals from the observed Fisher information.
///
/// With `θ` the ratings in natural units and `p_ij = σ(θ_i − θ_j)`, the
/// log-likelihood is `Σ s_ij log p_ij + (n_ij − s_ij) log(1 − p_ij)`; it is concave,
/// and Newton's method (with the anchor held at 0 and step halving) converges in a few
/// iterations. The covariance is the inverse of the negative Hessian over the free
/// players; each interval is `±1.96 √(cov_ii)` around the estimate, i.e. relative to
/// the anchor. Players with no path of games to the anchor get a tiny ridge so the
/// system stays solvable; their intervals come out huge, which is the honest answer.
pub fn fit_ratings(n: usize, results: &[PairResult], opts: &FitOptions) -> Vec<Rating> {
    let mut games = vec![0.0; n];
    for r in results {
        games[r.a] += r.games;
        games[r.b] += r.games;
    }
    if n == 0 {
        return Vec::new();
    }
    // Merge with the prior: virtual draws on each pair that met.
    let pairs: Vec<(usize, usize, f64, f64)> = results
        .iter()
        .filter(|r| r.a != r.b && r.games > 0.0)
        .map(|r| (r.a, r.b, r.games + opts.prior_draws, r.score_a + 0.5 * opts.prior_draws))
        .collect();
    let free: Vec<usize> = (0..n).filter(|&i| i != opts.anchor).collect();
    let mut pos = vec![usize::MAX; n];
    for (k, &i) in free.iter().enumerate() {
        pos[i] = k;
    }
    let m = free.len();
    const RIDGE: f64 = 1e-9;
    let loglik = |theta: &[f64]| -> f64 {
        let mut ll = 0.0;
        for &(a, b, g, s) in &pairs {
            let x = theta[a] - theta[b];
            // log σ(x) = -ln(1 + e^-x), computed stably.
            let lp = -softplus(-x);
            let lq = -softplus(x);
            ll += s * lp + (g - s) * lq;
        }
        ll - 0.5 * RIDGE * theta.iter().map(|t| t * t).sum::<f64>()
    };
    let grad_hess = |theta: &[f64]| -> (Vec<f64>, Vec<f64>) {
        let mut g = vec![0.0; m];
        let mut h = vec![0.0; m * m]; // negative Hessian
        for (k, &i) in free.iter().enumerate() {
            g[k] -= RIDGE * theta[i];
            h[k * m + k] += RIDGE;
        }
        for &(a, b, games, s) in &pairs {
            let p = sigmoid(theta[a] - theta[b]);
            let r = s - games * p;
            let w = games * p * (1.0 - p);
            let (pa, pb) = (pos[a], pos[b]);
            if pa != usize::MAX {
                g[pa] += r;
                h[pa * m + pa] += w;
            }
            if pb != usize::MAX {
                g[pb] -= r;
                h[pb * m + pb] += w;
            }
            if pa != usize::MAX && pb != usize::MAX {
                h[pa * m + pb] -= w;
                h[pb * m + pa] -= w;
            }
        }
        (g, h)
    };
    let mut theta = vec![0.0; n];
    let mut ll = loglik(&theta);
    for _ in 0..200 {
        let (g, h) = grad_hess(&theta);
        let Some(step) = solve(&h, &g, m) else { break };
        let mut t = 1.0;
        let mut improved = false;
        while t > 1e-6 {
            let mut next = theta.clone();
            for (k, &i) in free.iter().enumerate() {
                // Keep each step moderate: far from the optimum the Hessian is flat.
                next[i] += t * step[k].clamp(-5.0, 5.0);
            }
            let nll = loglik(&next);
            if nll >= ll - 1e-12 {
                let gain = nll - ll;
                theta = next;
                ll = nll;
                improved = gain > 1e-10;
                break;
            }
            t *= 0.5;
        }
        if !improved {
            break;
        }
    }
    let (_, h) = grad_hess(&theta);
    let cov = invert(&h, m);
    (0..n)
        .map(|i| {
            let elo = theta[i] * ELO_PER_NAT + 0.0;
            let half = if i == opts.anchor {
                0.0
            } else {
                let var = cov.as_ref().map_or(f64::INFINITY, |c| c[pos[i] * m + pos[i]]);
                Z95 * var.max(0.0).sqrt() * ELO_PER_NAT
            };
            Rating { elo, elo_lo: elo - half, elo_hi: elo + half, games: games[i] }
        })
        .collect()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// ln(1 + e^x) without overflow.
fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

/// Solves `a x = b` (`a` is `m × m`, row-major) by Gaussian elimination with partial
/// pivoting; `None` if singular.
fn solve(a: &[f64], b: &[f64], m: usize) -> Option<Vec<f64>> {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    for col in 0..m {
        let piv = (col..m).max_by(|&i, &j| a[i * m + col].abs().total_cmp(&a[j * m + col].abs()))?;
        if a[piv * m + col].abs() < 1e-300 {
            return None;
        }
        if piv != col {
            for k in 0..m {
                a.swap(piv * m + k, col * m + k);
            }
            b.swap(piv, col);
        }
        for r in col + 1..m {
            let f = a[r * m + col] / a[col * m + col];
            if f != 0.0 {
                for k in col..m {
                    a[r * m + k] -= f * a[col * m + k];
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; m];
    for r in (0..m).rev() {
        let s: f64 = (r + 1..m).map(|k| a[r * m + k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r * m + r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// The inverse of `a` (`m × m`), column by column.
fn invert(a: &[f64], m: usize) -> Option<Vec<f64>> {
    let mut inv = vec![0.0; m * m];
    for c in 0..m {
        let mut e = vec![0.0; m];
        e[c] = 1.0;
        let col = solve(a, &e, m)?;
        for r in 0..m {
            inv[r * m + c] = col[r];
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: usize, b: usize, games: f64, score_a: f64) -> PairResult {
        PairResult { a, b, games, score_a }
    }

    fn plain(anchor: usize) -> FitOptions {
        FitOptions { anchor, prior_draws: 0.0 }
    }

    #[test]
    fn score_to_elo() {
        assert!((elo_from_score(0.75) - 190.848).abs() < 0.01);
        assert_eq!(elo_from_score(0.5), 0.0);
        assert!((expected_score(elo_from_score(0.3)) - 0.3).abs() < 1e-12);
        assert_eq!(elo_from_score(1.0), f64::INFINITY);
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
        // Two-sided p of z = 1.96 is 0.05.
        assert!((erfc(Z95 / std::f64::consts::SQRT_2) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn match_summary_intervals_and_p_values() {
        // 60 wins 20 draws 20 losses: score 0.7, clearly stronger.
        let m = summarize_match(60, 20, 20);
        assert!((m.score - 0.7).abs() < 1e-12);
        assert!((m.elo - elo_from_score(0.7)).abs() < 1e-9);
        assert!(m.elo_lo < m.elo && m.elo < m.elo_hi && m.elo_lo > 0.0, "{m:?}");
        // z = 0.2 / sqrt(0.8/4/100) = 4.47 -> p ≈ 7.7e-6.
        assert!(m.p_value < 1e-4 && m.p_value > 1e-6, "{m:?}");
        // Even match: p = 1, Elo 0.
        let e = summarize_match(10, 0, 10);
        assert_eq!(e.elo, 0.0);
        assert!((e.p_value - 1.0).abs() < 1e-6);
        // 6-4 in 10 games is not significant.
        assert!(summarize_match(6, 0, 4).p_value > 0.4);
        // All wins: unbounded Elo and upper bound, but a finite lower bound (Wilson:
        // 20/20 -> score above 0.839 -> +286).
        let w = summarize_match(20, 0, 0);
        assert_eq!((w.elo, w.elo_hi), (f64::INFINITY, f64::INFINITY));
        assert!((w.elo_lo - 286.0).abs() < 2.0, "{w:?}");
        assert!(w.p_value < 1e-5);
        assert_eq!(summarize_match(0, 12, 0).p_value, 1.0);
    }

    #[test]
    fn two_players_at_75_percent_are_191_apart() {
        let r = fit_ratings(2, &[pair(0, 1, 100.0, 25.0)], &plain(0));
        assert_eq!(r[0].elo, 0.0);
        assert!((r[1].elo - 190.85).abs() < 0.1, "{r:?}");
        assert_eq!((r[0].elo_lo, r[0].elo_hi), (0.0, 0.0));
        assert!(r[1].elo_lo < 190.0 && r[1].elo_hi > 191.0);
        // Fisher interval: se = 1/sqrt(n p q) nats = 1/sqrt(18.75) -> ±1.96·0.2309·173.7 ≈ ±78.6.
        assert!(((r[1].elo_hi - r[1].elo_lo) / 2.0 - 78.6).abs() < 0.5, "{r:?}");
        assert_eq!(r[1].games, 100.0);
    }

    #[test]
    fn symmetric_results_give_equal_ratings() {
        let res = [pair(0, 1, 50.0, 25.0), pair(1, 2, 50.0, 25.0), pair(0, 2, 50.0, 25.0)];
        for x in fit_ratings(3, &res, &plain(0)) {
            assert!(x.elo.abs() < 1e-6, "{x:?}");
        }
    }

    #[test]
    fn a_chain_is_ordered_and_additive() {
        // C (anchor) < B < A: B scores 75% against C, A 75% against B.
        let res = [pair(1, 0, 200.0, 150.0), pair(2, 1, 200.0, 150.0)];
        let r = fit_ratings(3, &res, &plain(0));
        assert!((r[1].elo - 190.85).abs() < 0.1, "{r:?}");
        assert!((r[2].elo - 381.7).abs() < 0.2, "{r:?}");
        // A is further from the anchor, so less certain.
        assert!(r[2].elo_hi - r[2].elo_lo > r[1].elo_hi - r[1].elo_lo);
    }

    #[test]
    fn a_perfect_score_stays_finite_with_the_prior() {
        let res = [pair(1, 0, 20.0, 20.0)];
        let r = fit_ratings(2, &res, &FitOptions { anchor: 0, prior_draws: 1.0 });
        // 20.5 / 21 -> 640 Elo.
        assert!((r[1].elo - elo_from_score(20.5 / 21.0)).abs() < 0.5, "{r:?}");
        assert!(r[1].elo_hi.is_finite());
    }

    #[test]
    fn a_player_with_no_games_gets_an_unbounded_interval() {
        let r = fit_ratings(3, &[pair(0, 1, 10.0, 5.0)], &plain(0));
        assert_eq!(r[2].games, 0.0);
        assert!(r[2].elo_hi - r[2].elo_lo > 1e4, "{r:?}");
    }
}
