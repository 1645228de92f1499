//! Feature matrices and label vectors as the evaluations take them, checked for the mistakes
//! that would otherwise yield meaningless numbers: NaN/infinite features, labels that are not
//! class indices, row counts that do not match.

use thiserror::Error;

use crate::npy::NpyArray;

/// Rows of features, row-major; each row has `row_shape` (e.g. `[64]` or `[1, 28, 28]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    pub rows: usize,
    pub row_shape: Vec<usize>,
    pub values: Vec<f32>,
}

#[derive(Debug, Error, PartialEq)]
pub enum DataError {
    #[error(
        "{what}: value {value} at row {row}, column {column} is not a finite number; remove or impute it"
    )]
    NotFinite {
        what: String,
        row: usize,
        column: usize,
        value: f64,
    },
    #[error("{what}: expected a 1-D array (or [n, 1]) of labels, got shape {shape:?}")]
    LabelShape { what: String, shape: Vec<usize> },
    #[error("{what}: expected an array with a row dimension, got shape {shape:?}")]
    FeatureShape { what: String, shape: Vec<usize> },
    #[error("{what}: value {value} at row {row} is not a class index (a non-negative integer)")]
    NotAClass {
        what: String,
        row: usize,
        value: f64,
    },
    #[error(
        "{what}: label {label} at row {row} is out of range for a model with {classes} classes (0..{classes})"
    )]
    LabelOutOfRange {
        what: String,
        row: usize,
        label: usize,
        classes: usize,
    },
    #[error("{what} has {actual} rows but {other} has {expected}")]
    RowCount {
        what: String,
        actual: usize,
        other: String,
        expected: usize,
    },
}

impl Features {
    /// Features from an array whose first dimension is the rows.
    pub fn from_npy(array: NpyArray, what: &str) -> Result<Self, DataError> {
        let Some((&rows, row_shape)) = array.shape.split_first() else {
            return Err(DataError::FeatureShape {
                what: what.to_owned(),
                shape: array.shape,
            });
        };
        let row_shape = if row_shape.is_empty() {
            vec![1]
        } else {
            row_shape.to_vec()
        };
        Self::from_values(rows, row_shape, &array.values, what)
    }

    /// Features from row-major `f64` values, rejecting NaN and infinities.
    pub fn from_values(
        rows: usize,
        row_shape: Vec<usize>,
        values: &[f64],
        what: &str,
    ) -> Result<Self, DataError> {
        let row_len = row_shape.iter().product::<usize>().max(1);
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            return Err(DataError::NotFinite {
                what: what.to_owned(),
                row: at / row_len,
                column: at % row_len,
                value: values.get(at).copied().unwrap_or(f64::NAN),
            });
        }
        Ok(Features {
            rows,
            row_shape,
            values: values.iter().map(|&v| v as f32).collect(),
        })
    }

    pub fn row_len(&self) -> usize {
        self.row_shape.iter().product::<usize>().max(1)
    }
}

/// Class indices from a 1-D (or `[n, 1]`) array.
pub fn labels_from_npy(array: &NpyArray, what: &str) -> Result<Vec<usize>, DataError> {
    match array.shape.as_slice() {
        [_] | [_, 1] => labels_from_values(&array.values, what),
        shape => Err(DataError::LabelShape {
            what: what.to_owned(),
            shape: shape.to_vec(),
        }),
    }
}

/// Class indices from numbers that must be non-negative integers.
pub fn labels_from_values(values: &[f64], what: &str) -> Result<Vec<usize>, DataError> {
    values
        .iter()
        .enumerate()
        .map(|(row, &value)| {
            if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < 1e15 {
                Ok(value as usize)
            } else {
                Err(DataError::NotAClass {
                    what: what.to_owned(),
                    row,
                    value,
                })
            }
        })
        .collect()
}

/// Checks every label is below `classes`.
pub fn check_labels(labels: &[usize], classes: usize, what: &str) -> Result<(), DataError> {
    match labels.iter().position(|&label| label >= classes) {
        Some(row) => Err(DataError::LabelOutOfRange {
            what: what.to_owned(),
            row,
            label: labels.get(row).copied().unwrap_or_default(),
            classes,
        }),
        None => Ok(()),
    }
}

/// Checks two inputs describe the same rows.
pub fn check_rows(
    what: &str,
    actual: usize,
    other: &str,
    expected: usize,
) -> Result<(), DataError> {
    if actual == expected {
        Ok(())
    } else {
        Err(DataError::RowCount {
            what: what.to_owned(),
            actual,
            other: other.to_owned(),
            expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_is_reported_with_row_and_column() {
        let err = Features::from_values(2, vec![3], &[0.0, 1.0, 2.0, 3.0, f64::NAN, 5.0], "--data")
            .unwrap_err();
        assert!(matches!(
            err,
            DataError::NotFinite {
                row: 1,
                column: 1,
                ..
            }
        ));
        assert!(err.to_string().contains("row 1, column 1"));
    }

    #[test]
    fn labels_must_be_class_indices_in_range() {
        assert_eq!(
            labels_from_values(&[0.0, 2.0, 1.0], "y").unwrap(),
            vec![0, 2, 1]
        );
        assert!(matches!(
            labels_from_values(&[0.0, 1.5], "y"),
            Err(DataError::NotAClass { row: 1, .. })
        ));
        assert!(matches!(
            labels_from_values(&[-1.0], "y"),
            Err(DataError::NotAClass { row: 0, .. })
        ));
        assert!(matches!(
            check_labels(&[0, 3, 1], 3, "y"),
            Err(DataError::LabelOutOfRange {
                row: 1,
                label: 3,
                classes: 3,
                ..
            })
        ));
        assert!(check_labels(&[0, 2], 3, "y").is_ok());
        let column = NpyArray {
            shape: vec![2, 1],
            values: vec![1.0, 0.0],
        };
        assert_eq!(labels_from_npy(&column, "y").unwrap(), vec![1, 0]);
        let matrix = NpyArray {
            shape: vec![1, 2],
            values: vec![1.0, 0.0],
        };
        assert!(labels_from_npy(&matrix, "y").is_err());
    }
}
