//! Typosquatting: a dependency whose name is a small trick away from a popular package's
//! name, and is not popular itself.
//!
//! Only names *outside* the popular list are ever flagged: popular packages are often close
//! to each other (`boto` and `boto3`), and a name in the list is by definition what many
//! people install on purpose. Names are PEP 503-normalised first, so `python_dateutil` is
//! `python-dateutil` and not a squat.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::version::normalize_name;

/// How a name imitates a popular one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "technique", rename_all = "snake_case")]
pub enum Technique {
    /// Characters inserted, deleted or replaced (optimal string alignment distance).
    Edit { distance: usize },
    /// Two neighbouring characters swapped (`reqeusts`).
    SwappedPair,
    /// Look-alike characters: `l`/`1`/`I`, `0`/`o`, `rn`/`m`, `vv`/`w`.
    Homoglyph,
    /// The same letters with separators added or removed (`py-yaml`, `scikitlearn`).
    Separator,
    /// A prefix or suffix around the popular name (`python-requests`, `0requests`,
    /// `requests2`).
    Affix { affix: String },
}

impl fmt::Display for Technique {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Technique::Edit { distance: 1 } => f.write_str("one character changed"),
            Technique::Edit { distance } => write!(f, "{distance} characters changed"),
            Technique::SwappedPair => f.write_str("two adjacent characters swapped"),
            Technique::Homoglyph => f.write_str("look-alike characters substituted"),
            Technique::Separator => f.write_str("separators added or removed"),
            Technique::Affix { affix } => write!(f, "'{affix}' added to the name"),
        }
    }
}

/// A name that imitates a popular package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Typosquat {
    /// The checked name, PEP 503-normalised.
    pub name: String,
    /// The popular package it imitates.
    pub target: String,
    pub technique: Technique,
}

/// The popular names, indexed for each technique.
#[derive(Clone, Debug, Default)]
pub struct Typosquats {
    /// Name → popularity rank (0 is the most popular).
    popular: HashMap<String, usize>,
    /// Names in popularity order, for edit distance: the most popular target wins.
    ranked: Vec<(String, Vec<char>)>,
    /// Separators removed → the most popular name.
    squashed: HashMap<String, String>,
    /// Homoglyphs folded → the most popular name.
    skeletons: HashMap<String, String>,
}

/// Edit distance is only tried for names at least this long: among short names, one edit
/// away is simply another word (`six`/`sip`, `idna`/`idea`). It is also only tried against
/// names with the same first letter: a squat keeps the look of the name's start, while
/// another first letter is usually another word (`hyper`/`typer`, `slack`/`black`).
const MIN_EDIT_LEN: usize = 5;
/// From this length, two edits still look like the same name (for names without
/// separators: `pytest-cpp`/`pytest-cov` are a family, not a squat).
const TWO_EDITS_LEN: usize = 10;
/// Edits and affixes are only tried against this many of the most popular names. Squats
/// target the most installed packages, while the long tail is full of legitimate
/// neighbours (`gitdb2`, `pytest-csv`). Measured over the 9,985 PyPI projects ranked
/// 5,001–15,000 (popular, yet outside the list, so every hit is a false alarm): all five
/// techniques against all 5,000 names flagged 408 (4.1%); with this tier, the first-letter
/// rule, family variants and two edits only for names without separators, 78 (0.8%),
/// most of them names a reviewer should look at anyway (`panda`, `pyyml`, `datazets`).
const FUZZY_TARGETS: usize = 1000;
/// What is left after stripping an affix must be at least this long to count.
const MIN_AFFIX_CORE: usize = 4;
/// A later name segment this short (`gpu`, `cov`) names a variant, see [`is_variant`].
const VARIANT_SEGMENT: usize = 4;
const PREFIXES: [&str; 4] = ["python-", "python", "py-", "py"];
const SUFFIXES: [&str; 3] = ["-python", "python", "-py"];

impl Typosquats {
    /// Reads a popularity list, most popular first: one name per line, or
    /// `rank<TAB>name` as `pypi-top.txt` has it. `#` starts a comment line.
    pub fn from_top_list(text: &str) -> Typosquats {
        let mut squats = Typosquats::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let name = normalize_name(line.rsplit('\t').next().unwrap_or(line));
            if name.is_empty() || squats.popular.contains_key(&name) {
                continue;
            }
            squats.popular.insert(name.clone(), squats.ranked.len());
            squats
                .squashed
                .entry(squash(&name))
                .or_insert_with(|| name.clone());
            squats
                .skeletons
                .entry(skeleton(&name))
                .or_insert_with(|| name.clone());
            let chars = name.chars().collect();
            squats.ranked.push((name, chars));
        }
        squats
    }

    /// [`Typosquats::from_top_list`] on a file.
    pub fn from_top_list_file(path: &Path) -> std::io::Result<Typosquats> {
        Ok(Typosquats::from_top_list(&std::fs::read_to_string(path)?))
    }

    /// How many popular names are known.
    pub fn len(&self) -> usize {
        self.popular.len()
    }

    pub fn is_empty(&self) -> bool {
        self.popular.is_empty()
    }

    /// Whether `name` is itself in the popular list.
    pub fn is_popular(&self, name: &str) -> bool {
        self.popular.contains_key(&normalize_name(name))
    }

    /// The popular package `name` imitates, if any. Names in the list never are squats.
    pub fn check(&self, name: &str) -> Option<Typosquat> {
        let name = normalize_name(name);
        if name.is_empty() || self.popular.contains_key(&name) {
            return None;
        }
        let found = |target: &str, technique| Typosquat {
            name: name.clone(),
            target: target.to_owned(),
            technique,
        };
        if let Some(target) = self.squashed.get(&squash(&name)) {
            return Some(found(target, Technique::Separator));
        }
        if let Some(target) = self.skeletons.get(&skeleton(&name)) {
            return Some(found(target, Technique::Homoglyph));
        }
        // An affix and an edit can both fit (`python-dateutils` is `dateutils` with a
        // prefix and `python-dateutil` with one more letter): the more popular target is
        // the likelier victim.
        let by_affix = affix_cores(&name).find_map(|(core, affix)| {
            let rank = *self.popular.get(core)?;
            (rank < FUZZY_TARGETS && core.chars().count() >= MIN_AFFIX_CORE).then_some((
                rank,
                core,
                Technique::Affix { affix },
            ))
        });
        let by_edit = self.nearest_by_edits(&name);
        [by_affix, by_edit]
            .into_iter()
            .flatten()
            .min_by_key(|(rank, _, _)| *rank)
            .map(|(_, target, technique)| found(target, technique))
    }

    /// The closest popular name within the edit budget (most popular among equals), with
    /// its rank.
    fn nearest_by_edits(&self, name: &str) -> Option<(usize, &str, Technique)> {
        let chars: Vec<char> = name.chars().collect();
        if chars.len() < MIN_EDIT_LEN {
            return None;
        }
        let max = if chars.len() >= TWO_EDITS_LEN && !chars.contains(&'-') {
            2
        } else {
            1
        };
        let mut best: Option<(usize, &str, &[char], usize)> = None;
        for (rank, (target, target_chars)) in self.ranked.iter().take(FUZZY_TARGETS).enumerate() {
            if target_chars.len() < MIN_EDIT_LEN
                || target_chars.len().abs_diff(chars.len()) > max
                || target_chars.first() != chars.first()
            {
                continue;
            }
            if is_variant(name, target) {
                continue;
            }
            let limit = best.map_or(max, |(_, _, _, d)| d.saturating_sub(1));
            if let Some(distance) = osa_distance_within(&chars, target_chars, limit) {
                best = Some((rank, target, target_chars, distance));
                if distance == 1 {
                    break;
                }
            }
        }
        let (rank, target, target_chars, distance) = best?;
        let technique = if distance == 1 && is_adjacent_swap(&chars, target_chars) {
            Technique::SwappedPair
        } else {
            Technique::Edit { distance }
        };
        Some((rank, target, technique))
    }
}

/// Names of one family that differ only in a short later segment: build variants
/// (`faiss-gpu`/`faiss-cpu`) and plugins (`pytest-csv`/`pytest-cov`), not squats.
fn is_variant(name: &str, target: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (name.split('-').collect(), target.split('-').collect());
    if a.len() != b.len() || a.first() != b.first() {
        return false;
    }
    let mut differing = a.iter().zip(&b).filter(|(x, y)| x != y);
    matches!((differing.next(), differing.next()), (Some((x, y)), None)
        if x.chars().count() <= VARIANT_SEGMENT && y.chars().count() <= VARIANT_SEGMENT)
}

fn squash(name: &str) -> String {
    name.chars().filter(|&c| c != '-').collect()
}

/// Folds look-alikes to one representative, after removing separators.
fn skeleton(name: &str) -> String {
    squash(name)
        .replace("rn", "m")
        .replace("vv", "w")
        .chars()
        .map(|c| match c {
            '1' | 'i' => 'l',
            '0' => 'o',
            other => other,
        })
        .collect()
}

/// `(core, affix)` pairs: the name with one known prefix or suffix, or leading or
/// trailing digits, removed.
fn affix_cores(name: &str) -> impl Iterator<Item = (&str, String)> {
    let prefixes = PREFIXES
        .iter()
        .filter_map(move |p| name.strip_prefix(p).map(|core| (core, (*p).to_owned())));
    let suffixes = SUFFIXES
        .iter()
        .filter_map(move |s| name.strip_suffix(s).map(|core| (core, (*s).to_owned())));
    let leading = name.trim_start_matches(|c: char| c.is_ascii_digit());
    let leading_core = leading.trim_start_matches('-');
    let trailing = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let trailing_core = trailing.trim_end_matches('-');
    let digits = [
        (leading_core, name.get(..name.len() - leading_core.len())),
        (trailing_core, name.get(trailing_core.len()..)),
    ]
    .into_iter()
    .filter(move |(core, _)| core.len() < name.len())
    .filter_map(|(core, affix)| Some((core, affix?.to_owned())));
    prefixes.chain(suffixes).chain(digits)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions), or
/// `None` once it must exceed `max`.
fn osa_distance_within(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let width = b.len() + 1;
    let mut before: Vec<usize> = vec![usize::MAX; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current: Vec<usize> = vec![0; width];
    for (i, &ca) in a.iter().enumerate() {
        current.fill(usize::MAX);
        if let Some(first) = current.first_mut() {
            *first = i + 1;
        }
        let mut row_min = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let substitute = previous
                .get(j)
                .map_or(usize::MAX, |d| d.saturating_add(cost));
            let delete = previous
                .get(j + 1)
                .map_or(usize::MAX, |d| d.saturating_add(1));
            let insert = current.get(j).map_or(usize::MAX, |d| d.saturating_add(1));
            let mut best = substitute.min(delete).min(insert);
            if i > 0 && j > 0 && a.get(i - 1) == Some(&cb) && b.get(j - 1) == Some(&ca) && ca != cb
            {
                best = best.min(
                    before
                        .get(j - 1)
                        .map_or(usize::MAX, |d| d.saturating_add(1)),
                );
            }
            if let Some(cell) = current.get_mut(j + 1) {
                *cell = best;
            }
            row_min = row_min.min(best);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous.last().copied().filter(|&d| d <= max)
}

fn is_adjacent_swap(a: &[char], b: &[char]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let differing: Vec<usize> = (0..a.len()).filter(|&i| a.get(i) != b.get(i)).collect();
    matches!(differing.as_slice(), [i, j] if *j == i + 1
        && a.get(*i) == b.get(*j) && a.get(*j) == b.get(*i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top() -> Typosquats {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/pypi-top.txt");
        Typosquats::from_top_list_file(&path).unwrap()
    }

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn osa_distance_counts_swaps_as_one_edit_and_stops_early() {
        let d = |a: &str, b: &str, max| osa_distance_within(&chars(a), &chars(b), max);
        assert_eq!(d("requests", "requests", 2), Some(0));
        assert_eq!(d("reqeusts", "requests", 2), Some(1));
        assert_eq!(d("requets", "requests", 2), Some(1));
        assert_eq!(d("requestss", "requests", 2), Some(1));
        assert_eq!(d("rqeuests", "requests", 1), Some(1));
        assert_eq!(d("abcd", "badc", 2), Some(2));
        assert_eq!(d("numpy", "scipy", 1), None);
        assert_eq!(d("", "abc", 3), Some(3));
        assert_eq!(d("kitten", "sitting", 3), Some(3));
        assert_eq!(d("kitten", "sitting", 2), None);
    }

    #[test]
    fn reads_ranked_and_plain_lists() {
        let squats = Typosquats::from_top_list("# comment\n1\trequests\n2\tNumPy\nflask\n\n");
        assert_eq!(squats.len(), 3);
        assert!(squats.is_popular("numpy") && squats.is_popular("Flask"));
    }

    #[test]
    fn each_technique_is_recognised() {
        let squats = top();
        let check = |name: &str| {
            let squat = squats
                .check(name)
                .unwrap_or_else(|| panic!("{name} not flagged"));
            (squat.target, squat.technique)
        };
        let affix = |a: &str| Technique::Affix { affix: a.into() };
        assert_eq!(check("0requests"), ("requests".into(), affix("0")));
        assert_eq!(check("requests2"), ("requests".into(), affix("2")));
        assert_eq!(
            check("python-requests"),
            ("requests".into(), affix("python-"))
        );
        assert_eq!(
            check("requests-python"),
            ("requests".into(), affix("-python"))
        );
        assert_eq!(
            check("reqeusts"),
            ("requests".into(), Technique::SwappedPair)
        );
        assert_eq!(
            check("requets"),
            ("requests".into(), Technique::Edit { distance: 1 })
        );
        assert_eq!(
            check("reqursts"),
            ("requests".into(), Technique::Edit { distance: 1 })
        );
        assert_eq!(
            check("urllib4"),
            ("urllib3".into(), Technique::Edit { distance: 1 })
        );
        assert_eq!(check("urlIib3"), ("urllib3".into(), Technique::Homoglyph));
        assert_eq!(check("nurnpy"), ("numpy".into(), Technique::Homoglyph));
        assert_eq!(check("b0to3"), ("boto3".into(), Technique::Homoglyph));
        assert_eq!(check("py-yaml"), ("pyyaml".into(), Technique::Separator));
        assert_eq!(
            check("scikitlearn"),
            ("scikit-learn".into(), Technique::Separator)
        );
        assert_eq!(
            check("python-dateutils"),
            ("python-dateutil".into(), Technique::Edit { distance: 1 })
        );
        assert_eq!(
            check("tensorfloww"),
            ("tensorflow".into(), Technique::Edit { distance: 1 })
        );
        assert_eq!(
            check("transfromers"),
            ("transformers".into(), Technique::SwappedPair)
        );
    }

    #[test]
    fn popular_names_and_their_spellings_are_never_flagged() {
        let squats = top();
        assert!(squats.len() >= 4990, "{}", squats.len());
        let flagged: Vec<_> = squats
            .ranked
            .iter()
            .filter_map(|(name, _)| squats.check(name))
            .collect();
        assert_eq!(flagged, [], "false positives in the top list itself");
        for name in [
            "python_dateutil",
            "Python.Dateutil",
            "PyYAML",
            "typing_extensions",
            "Jinja2",
        ] {
            assert_eq!(squats.check(name), None, "{name}");
        }
    }

    /// Popular ML packages ranked 5,001–15,000 on PyPI (outside the list), checked by hand:
    /// legitimate, and not flagged.
    #[test]
    fn popular_packages_outside_the_list_are_not_flagged() {
        let squats = top();
        for name in [
            "auto-gptq",
            "faiss-gpu",
            "polars-lts-cpu",
            "llama-cpp-python",
            "segmentation-models-pytorch",
            "torchinfo",
            "onnxsim",
            "onnxmltools",
            "tf2onnx",
            "torcheval",
            "torchtune",
            "keras-hub",
            "dvclive",
            "xgboost-ray",
            "botorch",
            "jaxopt",
            "curated-transformers",
            "sklearn-crfsuite",
            "pytorch-forecasting",
            "transformers-stream-generator",
            "tensorflow-decision-forests",
            "llama-index-llms-ollama",
            "rotary-embedding-torch",
            "onnxruntime-genai",
        ] {
            assert!(!squats.is_popular(name), "{name} is in the list now");
            assert_eq!(squats.check(name), None, "{name}");
        }
    }

    #[test]
    fn family_variants_are_not_squats() {
        assert!(is_variant("faiss-gpu", "faiss-cpu"));
        assert!(is_variant("pytest-csv", "pytest-cov"));
        assert!(!is_variant("python-dateutils", "python-dateutil"));
        assert!(!is_variant("faiss-gpu", "faiss"));
        assert!(!is_variant("a-gpu-x", "a-cpu-y"));
    }

    #[test]
    fn unrelated_and_short_names_are_not_flagged() {
        let squats = top();
        for name in ["my-internal-tool", "zzzz", "six1x", "", "a", "rampart"] {
            assert_eq!(squats.check(name), None, "{name}");
        }
    }
}
