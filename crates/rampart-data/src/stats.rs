//! The statistics: two-sample tests (Kolmogorov–Smirnov, chi-square contingency, Z on
//! proportions) and effect sizes (Wasserstein, Jensen–Shannon distance, PSI), plus the robust
//! location/scale used by the outlier indicator. Every function takes already-sorted samples
//! or aligned count vectors and never panics on empty input.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// Shares of zero are replaced by this before PSI and Jensen–Shannon (as Evidently does), so
/// a bin that one side lacks counts as a large but finite divergence instead of infinity.
pub const ZERO_SHARE: f64 = 0.0001;

/// Two-sample Kolmogorov–Smirnov: the statistic `D = sup |F_a - F_b|` and its two-sided
/// p-value from the asymptotic Kolmogorov distribution with Stephens' small-sample correction
/// (`λ = (√n_e + 0.12 + 0.11/√n_e)·D`, `n_e = n·m/(n+m)`). `None` when a side is empty.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut d: f64 = 0.0;
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    let effective = (n * m / (n + m)).sqrt();
    let lambda = (effective + 0.12 + 0.11 / effective) * d;
    Some((d, kolmogorov_survival(lambda)))
}

/// `P(K > λ)` for the Kolmogorov distribution.
fn kolmogorov_survival(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    if lambda < 1.18 {
        // The alternating series converges slowly here; use the dual (Jacobi) form of the CDF.
        let factor = std::f64::consts::PI * std::f64::consts::PI / (8.0 * lambda * lambda);
        let cdf: f64 = (1..=20)
            .map(|k| {
                let odd = f64::from(2 * k - 1);
                (-odd * odd * factor).exp()
            })
            .sum::<f64>()
            * (2.0 * std::f64::consts::PI).sqrt()
            / lambda;
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    let sum: f64 = (1..=100)
        .map(|k| {
            let k = f64::from(k);
            let sign = if k as u32 % 2 == 1 { 1.0 } else { -1.0 };
            sign * (-2.0 * k * k * lambda * lambda).exp()
        })
        .sum();
    (2.0 * sum).clamp(0.0, 1.0)
}

/// First Wasserstein (earth mover's) distance between two empirical distributions:
/// `∫ |F_a(x) - F_b(x)| dx`. 0 when a side is empty.
pub fn wasserstein(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut total = 0.0;
    let mut x = a[0].min(b[0]);
    loop {
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        let next = match (a.get(i), b.get(j)) {
            (Some(&p), Some(&q)) => p.min(q),
            (Some(&p), None) => p,
            (None, Some(&q)) => q,
            (None, None) => break,
        };
        total += (i as f64 / n - j as f64 / m).abs() * (next - x);
        x = next;
    }
    total
}

/// Two-sample chi-square test of homogeneity on the 2×k contingency table of counts
/// (reference row, current row): neither side is treated as exact, unlike a goodness-of-fit
/// test against reference shares. No continuity correction. Categories empty on both sides
/// are ignored; returns `(statistic, p_value)`, `(0, 1)` with fewer than two categories.
pub fn chi_square_two_sample(reference: &[u64], current: &[u64]) -> (f64, f64) {
    let pairs: Vec<(f64, f64)> = reference
        .iter()
        .zip(current)
        .filter(|(r, c)| **r + **c > 0)
        .map(|(r, c)| (*r as f64, *c as f64))
        .collect();
    let reference_total: f64 = pairs.iter().map(|p| p.0).sum();
    let current_total: f64 = pairs.iter().map(|p| p.1).sum();
    let total = reference_total + current_total;
    if pairs.len() < 2 || reference_total == 0.0 || current_total == 0.0 {
        return (0.0, 1.0);
    }
    let statistic: f64 = pairs
        .iter()
        .map(|(r, c)| {
            let column = r + c;
            let expected_r = reference_total * column / total;
            let expected_c = current_total * column / total;
            (r - expected_r).powi(2) / expected_r + (c - expected_c).powi(2) / expected_c
        })
        .sum();
    let freedom = (pairs.len() - 1) as f64;
    let p_value = ChiSquared::new(freedom).map_or(1.0, |dist| dist.sf(statistic));
    (statistic, p_value)
}

/// Z-test for the difference of two proportions `x1/n1` and `x2/n2` with the pooled
/// variance; returns `(z, two-sided p_value)`, `(0, 1)` when undefined.
pub fn z_test_proportions(x1: u64, n1: u64, x2: u64, n2: u64) -> (f64, f64) {
    if n1 == 0 || n2 == 0 {
        return (0.0, 1.0);
    }
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let pooled = (x1 + x2) / (n1 + n2);
    let variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if variance <= 0.0 {
        return (0.0, 1.0);
    }
    let z = (x1 / n1 - x2 / n2) / variance.sqrt();
    let p_value = 2.0 * Normal::standard().sf(z.abs());
    (z, p_value)
}

/// Jensen–Shannon distance (natural logarithm, so in `[0, √ln 2]`) between two
/// distributions given as non-negative weights over the same bins; each is normalised first,
/// as scipy's `jensenshannon` does.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let p_total: f64 = p.iter().sum();
    let q_total: f64 = q.iter().sum();
    if p_total <= 0.0 || q_total <= 0.0 {
        return 0.0;
    }
    let kl_to_mean = |x: f64, mean: f64| if x > 0.0 { x * (x / mean).ln() } else { 0.0 };
    let divergence: f64 = p
        .iter()
        .zip(q)
        .map(|(p, q)| {
            let (p, q) = (p / p_total, q / q_total);
            let mean = (p + q) / 2.0;
            kl_to_mean(p, mean) + kl_to_mean(q, mean)
        })
        .sum::<f64>()
        / 2.0;
    divergence.max(0.0).sqrt()
}

/// Population stability index `Σ (c - r)·ln(c / r)` over aligned shares, with zero shares
/// replaced by [`ZERO_SHARE`].
pub fn psi(reference: &[f64], current: &[f64]) -> f64 {
    reference
        .iter()
        .zip(current)
        .map(|(r, c)| {
            let (r, c) = (r.max(ZERO_SHARE), c.max(ZERO_SHARE));
            (c - r) * (c / r).ln()
        })
        .sum()
}

/// Shares with zeros replaced by [`ZERO_SHARE`], as Evidently feeds them to Jensen–Shannon.
pub fn smoothed(shares: &[f64]) -> Vec<f64> {
    shares.iter().map(|s| s.max(ZERO_SHARE)).collect()
}

/// Interior bin edges at the reference's quantiles `1/bins … (bins-1)/bins` (duplicates
/// removed, so heavily tied data gets fewer bins). Bins are `(-∞, e₁], (e₁, e₂], … (e_k, ∞)`.
pub fn quantile_edges(sorted: &[f64], bins: usize) -> Vec<f64> {
    let mut edges: Vec<f64> = (1..bins)
        .filter_map(|i| quantile(sorted, i as f64 / bins as f64))
        .collect();
    edges.dedup();
    edges
}

/// Linear-interpolated quantile (numpy's default) of sorted data; `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    let below = position.floor();
    // `position` is within [0, last], so the conversions are exact and in range.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let index = below as usize;
    let low = *sorted.get(index)?;
    let high = *sorted.get(index + 1).unwrap_or(&low);
    Some(low + (high - low) * (position - below))
}

/// The share of sorted values falling in each bin defined by interior `edges`
/// (`edges.len() + 1` bins, right-closed).
pub fn bin_shares(sorted: &[f64], edges: &[f64]) -> Vec<f64> {
    if sorted.is_empty() {
        return vec![0.0; edges.len() + 1];
    }
    let total = sorted.len() as f64;
    let mut shares = Vec::with_capacity(edges.len() + 1);
    let mut previous = 0usize;
    for edge in edges {
        let upto = sorted.partition_point(|v| v <= edge);
        shares.push(upto.saturating_sub(previous) as f64 / total);
        previous = upto;
    }
    shares.push(sorted.len().saturating_sub(previous) as f64 / total);
    shares
}

/// Median of sorted data; `None` when empty.
pub fn median(sorted: &[f64]) -> Option<f64> {
    quantile(sorted, 0.5)
}

/// Median and median absolute deviation of (unsorted) values; `None` when empty.
pub fn median_and_mad(values: &[f64]) -> Option<(f64, f64)> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let center = median(&sorted)?;
    let mut deviations: Vec<f64> = sorted.iter().map(|v| (v - center).abs()).collect();
    deviations.sort_unstable_by(f64::total_cmp);
    Some((center, median(&deviations)?))
}

/// The modified z-score of Iglewicz and Hoaglin: `0.6745·(x − median)/MAD`, which is
/// comparable to a standard-normal z for normal data.
pub fn robust_z(value: f64, center: f64, mad: f64) -> f64 {
    if mad > 0.0 {
        0.6745 * (value - center) / mad
    } else if value == center {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Two-sided normal tail probability `P(|Z| > z)`.
pub fn normal_two_sided_tail(z: f64) -> f64 {
    2.0 * Normal::standard().sf(z.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from tests/fixtures/reference_values.py (scipy 1.17).
    const A: [f64; 25] = [
        0.61, 0.29, 0.06, 0.59, -1.73, -0.74, 0.51, -0.56, 0.39, 1.64, 0.05, -0.06, 0.64, -0.82,
        0.37, 1.77, 1.09, -1.28, 2.36, 1.31, 1.05, -0.32, -0.4, 1.06, -2.47,
    ];
    const B: [f64; 28] = [
        2.2, 1.66, 1.38, 0.2, 0.36, 0.0, 0.96, 1.56, 0.44, 1.5, -0.3, 0.66, 2.31, 3.29, -0.27,
        1.07, 0.72, 1.64, 0.53, 0.82, 0.9, 1.7, 1.12, 1.8, 0.1, 0.51, 1.63, 1.55,
    ];

    fn sorted(values: &[f64]) -> Vec<f64> {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        v
    }

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance
    }

    #[test]
    fn ks_matches_scipy() {
        let (d, p) = ks_two_sample(&sorted(&A), &sorted(&B)).unwrap();
        assert!(close(d, 0.398_571_428_571_428_5, 1e-12), "{d}");
        // scipy's `asymp` uses kstwo(round(n_e)); the Kolmogorov limit with Stephens'
        // correction agrees to within 10 % here.
        assert!((p / 0.022_452_941_507_780_988 - 1.0).abs() < 0.1, "{p}");
        let (same_d, same_p) = ks_two_sample(&sorted(&A), &sorted(&A)).unwrap();
        assert_eq!(same_d, 0.0);
        assert!(same_p > 0.99);
        assert!(ks_two_sample(&[], &A).is_none());
    }

    #[test]
    fn kolmogorov_tail_is_continuous_across_the_series_switch() {
        let below = kolmogorov_survival(1.179_999);
        let above = kolmogorov_survival(1.18);
        assert!(close(below, above, 1e-5), "{below} {above}");
        // Textbook value: P(K > 1.36) ≈ 0.05.
        assert!(close(kolmogorov_survival(1.358), 0.05, 5e-4));
    }

    #[test]
    fn wasserstein_matches_scipy() {
        let w = wasserstein(&sorted(&A), &sorted(&B));
        assert!(close(w, 0.856_885_714_285_714_3, 1e-12), "{w}");
        assert_eq!(wasserstein(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert!(close(wasserstein(&[0.0], &[5.0]), 5.0, 1e-12));
    }

    #[test]
    fn chi_square_is_the_contingency_test() {
        let (statistic, p) = chi_square_two_sample(&[30, 50, 20], &[45, 35, 20]);
        assert!(close(statistic, 5.647_058_823_529_411, 1e-9), "{statistic}");
        assert!(close(p, 0.059_395_939_605_204_77, 1e-9), "{p}");
        assert_eq!(chi_square_two_sample(&[10], &[20]), (0.0, 1.0));
    }

    #[test]
    fn z_test_matches_pooled_formula() {
        let (z, p) = z_test_proportions(40, 100, 55, 100);
        assert!(close(z, -2.123_976_976_214_366_5, 1e-9), "{z}");
        assert!(close(p, 0.033_672_068_856_345_77, 1e-9), "{p}");
        assert_eq!(z_test_proportions(0, 10, 0, 10), (0.0, 1.0));
    }

    #[test]
    fn jensen_shannon_matches_scipy() {
        let js = jensen_shannon(&[0.3, 0.5, 0.2], &[0.45, 0.35, 0.2]);
        assert!(close(js, 0.119_177_378_007_676_03, 1e-12), "{js}");
        let js = jensen_shannon(&smoothed(&[0.5, 0.5, 0.0]), &[0.25, 0.25, 0.5]);
        assert!(close(js, 0.464_010_780_396_373_17, 1e-12), "{js}");
        assert_eq!(jensen_shannon(&[1.0, 2.0], &[2.0, 4.0]), 0.0);
    }

    #[test]
    fn psi_matches_formula() {
        let value = psi(&[0.3, 0.5, 0.2], &[0.45, 0.35, 0.2]);
        assert!(close(value, 0.114_321_007_807_034_55, 1e-12), "{value}");
    }

    #[test]
    fn quantile_bins_split_evenly() {
        let data: Vec<f64> = (0..100).map(f64::from).collect();
        let edges = quantile_edges(&data, 10);
        assert_eq!(edges.len(), 9);
        assert!(close(edges[0], 9.9, 1e-9));
        let shares = bin_shares(&data, &edges);
        assert_eq!(shares.len(), 10);
        assert!(shares.iter().all(|s| close(*s, 0.1, 1e-12)), "{shares:?}");
        assert_eq!(quantile_edges(&[1.0; 50], 10), [1.0]);
        assert_eq!(bin_shares(&[], &[1.0]), [0.0, 0.0]);
    }

    #[test]
    fn robust_z_uses_median_and_mad() {
        let (center, mad) = median_and_mad(&[1.0, 2.0, 3.0, 4.0, 100.0]).unwrap();
        assert_eq!((center, mad), (3.0, 1.0));
        assert!(close(robust_z(100.0, center, mad), 65.4265, 1e-9));
        assert_eq!(robust_z(3.0, 3.0, 0.0), 0.0);
        assert!(robust_z(4.0, 3.0, 0.0).is_infinite());
        // P(|Z| > 3.5) for a standard normal.
        assert!(close(normal_two_sided_tail(3.5), 4.652e-4, 1e-6));
    }
}
