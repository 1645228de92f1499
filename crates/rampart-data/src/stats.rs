//! The statistics: two-sample tests (Kolmogorov–Smirnov, chi-square contingency, Z on
//! proportions) and effect sizes (Wasserstein, Jensen–Shannon distance, PSI), plus the robust
//! location/scale used by the outlier indicator. Every function takes already-sorted samples
//! or aligned count vectors and never panics on empty input.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// Shares of zero are replaced by this before PSI and Jensen–Shannon (as Evidently does), so
/// a bin that one side lacks counts as a large but finite divergence instead of infinity.
pub const ZERO_SHARE: f64 = 0.0001;

/// Above this sample size (on either side) the KS p-value is asymptotic, as in scipy's
/// `ks_2samp(method='auto')`; up to it the exact distribution is computed.
pub const KS_EXACT_MAX_N: usize = 10_000;

/// Two-sample Kolmogorov–Smirnov on sorted samples: the statistic `D = sup |F_a - F_b|` (ties
/// count on both sides at once, as scipy's right-sided `searchsorted` does) and its two-sided
/// p-value. As scipy's `ks_2samp(method='auto')`: exact when both samples have at most
/// [`KS_EXACT_MAX_N`] values (Hodges' lattice-path count, in Viehmann's numerically stable
/// form; the closed alternating sum when the sizes are equal), falling back to the asymptotic
/// value if the exact computation does not give a probability. The asymptotic p-value is the
/// Kolmogorov limit with Stephens' small-sample correction
/// (`λ = (√n_e + 0.12 + 0.11/√n_e)·D`, `n_e = n·m/(n+m)`), where scipy uses the one-sample
/// distribution at `round(n_e)`; both agree closely at the sizes it is used for.
/// `None` when a side is empty.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (n, m) = (a.len() as u128, b.len() as u128);
    let g = gcd(n, m);
    // D·lcm(n, m) is the integer max |i·m/g − j·n/g|: computing it exactly avoids the
    // rounding that scipy needs to recover it from floating-point CDF differences.
    let (a_step, b_step) = (m / g, n / g);
    let (mut i, mut j) = (0usize, 0usize);
    let mut h: u128 = 0;
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        h = h.max((i as u128 * a_step).abs_diff(j as u128 * b_step));
    }
    let lcm = a_step * n;
    let d = h as f64 / lcm as f64;
    let exact = if a.len().max(b.len()) <= KS_EXACT_MAX_N {
        ks_exact_p_value(n, m, g, h)
    } else {
        None
    };
    let p_value = exact.unwrap_or_else(|| {
        let (n, m) = (n as f64, m as f64);
        let effective = (n * m / (n + m)).sqrt();
        kolmogorov_survival((effective + 0.12 + 0.11 / effective) * d)
    });
    Some((d, p_value.clamp(0.0, 1.0)))
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `P(D ≥ h/lcm(n, m))` under the null for sample sizes `n`, `m` with `g = gcd(n, m)`;
/// `None` when the computation does not yield a probability (then the caller falls back to
/// the asymptotic value, as scipy does).
fn ks_exact_p_value(n: u128, m: u128, g: u128, h: u128) -> Option<f64> {
    if h == 0 {
        return Some(1.0);
    }
    let to_i64 = |v: u128| i64::try_from(v).ok();
    let (n, m, g, h) = (to_i64(n)?, to_i64(m)?, to_i64(g)?, to_i64(h)?);
    let p = if n == m {
        prob_outside_square(n, h)
    } else {
        prob_outside_lines(n, m, g, h)?
    };
    (p.is_finite() && (0.0..=1.0).contains(&p)).then_some(p)
}

/// Equal sizes `n`: `2·Σ_k (−1)^(k+1) C(2n, n−kh) / C(2n, n)`, evaluated Horner-style as
/// `2·A₀(1 − A₁(1 − A₂(…)))` with each ratio built from `h` simple factors, which avoids the
/// cancellation of the plain alternating sum (scipy's `_compute_prob_outside_square`).
fn prob_outside_square(n: i64, h: i64) -> f64 {
    let mut p = 0.0;
    for k in (0..=n / h).rev() {
        let mut ratio = 1.0;
        for j in 0..h {
            ratio = ratio * (n - k * h - j) as f64 / (n + k * h + j + 1) as f64;
        }
        p = ratio * (1.0 - p);
    }
    2.0 * p
}

/// Unequal sizes: the share of lattice paths from (0, 0) to (m, n) that leave the band
/// `|x/m − y/n| < h/lcm`, computed column by column over a sliding window of the band as
/// `1 − inside share` directly (Viehmann 2021, arXiv:2102.08037; scipy's
/// `_compute_outer_prob_inside_method`). `None` if the window ever leaves its buffer.
fn prob_outside_lines(n: i64, m: i64, g: i64, h: i64) -> Option<f64> {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let to_usize = |v: i64| usize::try_from(v).ok();
    let mut min_j: i64 = 0;
    let mut max_j: i64 = (h.div_euclid(mg) + i64::from(h.rem_euclid(mg) != 0)).min(n + 1);
    let mut current_len = max_j - min_j;
    let mut column = vec![1.0; to_usize((2 * max_j + 2).min(n + 1))?];
    for cell in column.get_mut(..to_usize(max_j)?)? {
        *cell = 0.0;
    }
    for i in 1..=m {
        let (last_min_j, last_len) = (min_j, current_len);
        min_j = ((ng * i - h).div_euclid(mg) + 1).clamp(0, n);
        let upper = ng * i + h;
        max_j = (upper.div_euclid(mg) + i64::from(upper.rem_euclid(mg) != 0)).min(n + 1);
        if max_j <= min_j {
            return Some(1.0);
        }
        let mut value = if min_j == 0 { 0.0 } else { 1.0 };
        for offset in 0..max_j - min_j {
            let j = offset + min_j;
            let previous = *column.get(to_usize(offset + min_j - last_min_j)?)?;
            value = (previous * i as f64 + value * j as f64) / (i + j) as f64;
            *column.get_mut(to_usize(offset)?)? = value;
        }
        current_len = max_j - min_j;
        if last_len > current_len {
            // Cells the window moved past are outside the band: all their paths left it.
            let start = to_usize(current_len)?;
            let end = to_usize(last_len)?.min(column.len());
            for cell in column.get_mut(start..end).unwrap_or_default() {
                *cell = 1.0;
            }
        }
    }
    column.get(to_usize(max_j - min_j - 1)?).copied()
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
        assert!(close(d, 0.398_571_428_571_428_6, 1e-12), "{d}");
        // Exact (both samples ≤ 10000), as scipy's `ks_2samp(method='auto')`.
        assert!(close(p, 0.020_930_162_902_134_772, 1e-12), "{p}");
        let (same_d, same_p) = ks_two_sample(&sorted(&A), &sorted(&A)).unwrap();
        assert_eq!((same_d, same_p), (0.0, 1.0));
        assert!(ks_two_sample(&[], &A).is_none());
    }

    /// `(n, multiplier, offset, modulus, scale, shift)`: the sample
    /// `((i·multiplier + offset) mod modulus)·scale + shift` for `i < n`, computed the same way
    /// by tests/fixtures/ks_exact_values.py.
    type FormulaSample = (usize, usize, usize, usize, f64, f64);

    fn formula_sample(spec: FormulaSample) -> Vec<f64> {
        let (n, multiplier, offset, modulus, scale, shift) = spec;
        sorted(
            &(0..n)
                .map(|i| ((i * multiplier + offset) % modulus) as f64 * scale + shift)
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn ks_p_values_match_scipy_exact_and_asymptotic() {
        // From tests/fixtures/ks_exact_values.py (scipy 1.17, `ks_2samp(method='auto')`):
        // (a, b, statistic, p-value, exact?).
        #[rustfmt::skip]
        let cases: [(FormulaSample, FormulaSample, f64, f64, bool); 12] = [
            ((25, 37, 0, 101, 0.1, 0.0), (28, 53, 11, 97, 0.1, 0.0), 0.08857142857142856, 0.9992438291330517, true),
            ((40, 37, 0, 101, 0.1, 0.0), (40, 53, 11, 97, 0.1, 1.0), 0.15, 0.7659314523482239, true),
            ((30, 7, 3, 10, 1.0, 0.0), (45, 3, 1, 10, 1.0, 0.0), 0.03333333333333333, 1.0, true),
            ((60, 37, 0, 101, 0.1, 0.0), (90, 53, 11, 97, 0.1, 3.0), 0.31666666666666665, 0.0011660055874115356, true),
            ((300, 37, 0, 1009, 0.01, 0.0), (700, 53, 11, 997, 0.01, 0.5), 0.05238095238095238, 0.5943196509400739, true),
            ((997, 31, 5, 1009, 0.01, 0.0), (1000, 29, 7, 1013, 0.01, 0.2), 0.023924774322968908, 0.926898635659526, true),
            ((50, 37, 0, 101, 0.1, 0.0), (50, 53, 11, 97, 0.1, 2.0), 0.24, 0.11238524845512393, true),
            ((50, 7, 3, 10, 1.0, 0.0), (50, 3, 1, 10, 1.0, 1.0), 0.1, 0.9667464356809096, true),
            ((120, 37, 0, 101, 0.1, 0.0), (80, 53, 11, 97, 0.1, 1.5), 0.17083333333333334, 0.11204721438537643, true),
            ((5, 1, 0, 5, 1.0, 0.0), (5, 1, 0, 5, 1.0, 0.0), 0.0, 1.0, true),
            ((3, 1, 0, 3, 1.0, 0.0), (4, 1, 0, 4, 1.0, 10.0), 1.0, 0.05714285714285715, true),
            ((20000, 37, 0, 1009, 0.01, 0.0), (50, 53, 11, 97, 0.1, 0.0), 0.06740000000000002, 0.9654622548621086, false),
        ];
        for (a_spec, b_spec, statistic, p_value, exact) in cases {
            let (a, b) = (formula_sample(a_spec), formula_sample(b_spec));
            for (first, second) in [(&a, &b), (&b, &a)] {
                let (d, p) = ks_two_sample(first, second).unwrap();
                assert!(close(d, statistic, 1e-12), "{a_spec:?} {b_spec:?}: D {d}");
                if exact {
                    let relative = (p - p_value).abs() / p_value;
                    assert!(relative < 1e-9, "{a_spec:?} {b_spec:?}: p {p} vs {p_value}");
                } else {
                    // Asymptotic on both sides, by different formulas (see the doc comment).
                    assert!(close(p, p_value, 0.02), "{a_spec:?} {b_spec:?}: p {p}");
                }
            }
        }
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
