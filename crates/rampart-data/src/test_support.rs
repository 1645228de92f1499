//! Seeded generators of synthetic tables for the tests: no `rand` in the workspace, so a
//! xorshift generator with Box–Muller normals.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::profile::{ProfileOptions, Profiler, TableProfile};

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub fn normal(&mut self, mean: f64, std: f64) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        mean + std * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// An index drawn with the given weights (summing to 1).
    pub fn pick(&mut self, weights: &[f64]) -> usize {
        let mut u = self.uniform();
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len() - 1
    }
}

/// A generated column.
pub enum Column {
    Numbers(Vec<f64>),
    Text(Vec<String>),
}

pub fn batch(columns: Vec<(&str, Column)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, column)| {
            let data_type = match column {
                Column::Numbers(_) => DataType::Float64,
                Column::Text(_) => DataType::Utf8,
            };
            Field::new(*name, data_type, true)
        })
        .collect();
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|(_, column)| match column {
            Column::Numbers(values) => Arc::new(Float64Array::from(values)) as ArrayRef,
            Column::Text(values) => Arc::new(StringArray::from(values)) as ArrayRef,
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

pub fn profile(source: &str, batch: &RecordBatch) -> TableProfile {
    let mut profiler = Profiler::new(&batch.schema(), &ProfileOptions::default());
    profiler.add(batch).unwrap();
    profiler.finish(source)
}

/// The drift scenario: which columns are generated drifted in the current data.
pub const DRIFTED: [&str; 5] = ["shifted", "scaled", "drift_cat", "new_cat", "drift_binary"];
pub const STABLE: [&str; 5] = ["normal", "skewed", "integers", "cat", "binary"];

/// Reference (`current == false`) or current data of the drift scenario.
pub fn drift_table(rows: usize, seed: u64, current: bool) -> RecordBatch {
    let mut rng = Rng::new(seed);
    let mut numbers = |f: &mut dyn FnMut(&mut Rng) -> f64| -> Column {
        Column::Numbers((0..rows).map(|_| f(&mut rng)).collect())
    };
    let normal = numbers(&mut |r| r.normal(10.0, 2.0));
    let skewed = numbers(&mut |r| r.normal(0.0, 1.0).exp());
    let integers = numbers(&mut |r| (r.uniform() * 100.0).floor());
    let shift = if current { 0.5 } else { 0.0 };
    let shifted = numbers(&mut |r| r.normal(shift, 1.0));
    let spread = if current { 2.0 } else { 1.0 };
    let scaled = numbers(&mut |r| r.normal(0.0, spread));
    let mut rng = Rng::new(seed ^ 0xabcd);
    let mut text = |labels: &[&str], weights: &[f64]| -> Column {
        Column::Text(
            (0..rows)
                .map(|_| labels[rng.pick(weights)].to_owned())
                .collect(),
        )
    };
    let cat = text(&["a", "b", "c"], &[0.5, 0.3, 0.2]);
    let drift_weights: &[f64] = if current {
        &[0.2, 0.3, 0.5]
    } else {
        &[0.5, 0.3, 0.2]
    };
    let drift_cat = text(&["a", "b", "c"], drift_weights);
    let new_weights: &[f64] = if current {
        &[0.4, 0.3, 0.1, 0.2]
    } else {
        &[0.5, 0.3, 0.2, 0.0]
    };
    let new_cat = text(&["x", "y", "z", "unseen"], new_weights);
    let binary = text(&["yes", "no"], &[0.3, 0.7]);
    let drift_binary_weights: &[f64] = if current { &[0.6, 0.4] } else { &[0.3, 0.7] };
    let drift_binary = text(&["yes", "no"], drift_binary_weights);
    batch(vec![
        ("normal", normal),
        ("skewed", skewed),
        ("integers", integers),
        ("shifted", shifted),
        ("scaled", scaled),
        ("cat", cat),
        ("drift_cat", drift_cat),
        ("new_cat", new_cat),
        ("binary", binary),
        ("drift_binary", drift_binary),
    ])
}
