//! What a pickle may import and call: the built-in allowlist of what ordinary ML pickles
//! use, the denylist that ranks everything else, and the team's `[pickle]` additions.
//!
//! Precedence, strongest first: the config's `deny`, an exact `allow` entry (config or
//! built-in), the built-in denylist, dunder components, the built-in framework patterns,
//! the config's `module.*` allow entries, attribute chains, and finally "not listed".

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::names::{self, is_class_name, is_dunder, is_dunder_module};

/// The `[pickle]` table of `rampart.toml`.
///
/// Entries are `"module.qualname"` (exactly that global) or `"module.*"` (every global of
/// the module and its submodules). `allow` extends the built-in allowlist, for a team's own
/// classes; an exact entry even overrides the built-in denylist, a `module.*` entry does
/// not. `deny` extends the denylist and wins over everything.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PickleConfig {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

/// An invalid `[pickle]` entry.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid `{list}` entry `{entry}` in [pickle]: {reason}")]
    InvalidEntry {
        list: &'static str,
        entry: String,
        reason: &'static str,
    },
}

/// How an allowlisted global may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// Importing and calling it with any arguments is harmless.
    Call,
    /// A class benign pickles only instantiate without its constructor (NEWOBJ,
    /// copyreg._reconstructor) and then give state; its constructor may do more.
    Instantiate,
    /// Benign pickles only reference it (a function stored as a parameter, a dtype
    /// constant); calling it is not on the list.
    Reference,
}

/// The decision about one global.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed(Use),
    /// On a denylist; the text says what the global can do.
    Denied(&'static str),
    /// A dunder component in the dotted path.
    Dunder(String),
    /// A dotted name that walks attributes of a function or module-level object.
    AttributeChain,
    Unlisted,
}

/// Globals whose arguments decide what really runs, or that read inline data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    /// `copyreg._reconstructor(cls, base, state)`: instantiates `cls`, calls `base.__init__`.
    Reconstructor,
    /// Helpers that call or instantiate some of their arguments: `copyreg.__newobj__(cls)`,
    /// `collections.defaultdict(factory)`, numpy's `_reconstruct(subtype, ...)`, Cython's
    /// `__pyx_unpickle_X(cls, ...)`, torch's `_rebuild_from_type_v2(func, type, ...)`.
    Runs {
        calls: &'static [usize],
        instantiates: &'static [usize],
    },
    /// `numpy.core._ufunc_reconstruct(module, name)`: imports any `module.name`.
    Resolver,
    /// `builtins.getattr(cls, 'name')`: how Python pickles a bound class method
    /// (`zoneinfo.ZoneInfo._unpickle`); judged as the global `cls.name` when `cls` is one.
    GetAttr,
    /// `pickle.loads(data)` and friends: unpickles a nested pickle.
    Loads,
    /// `pickle.load(file)`: unpickles from a file object (`io.BytesIO(data)`).
    Load,
    /// `io.BytesIO(data)`.
    BytesIo,
    /// `_codecs.encode(text, 'latin1')`: how protocol 0-2 pickle bytes.
    CodecsEncode,
    /// `numpy.dtype(...)`.
    NumpyDtype,
    /// `joblib.numpy_pickle.NumpyArrayWrapper`: array bytes follow its BUILD inline.
    JoblibArray,
    /// `joblib.numpy_pickle.NDArrayWrapper`: the array is in a side file.
    JoblibSideFile,
}

/// One global, judged.
#[derive(Clone, Debug)]
pub(crate) struct Judgement {
    /// `module.qualname` after legacy aliases.
    pub canonical: String,
    pub verdict: Verdict,
    pub special: Option<Special>,
}

/// The compiled allow/deny tables; built once, shared by every scan.
#[derive(Debug)]
pub(crate) struct Policy {
    config_deny: HashSet<String>,
    config_allow_exact: HashSet<String>,
    config_allow_modules: HashSet<String>,
    builtin_allow: HashMap<&'static str, Use>,
    builtin_deny: HashMap<&'static str, &'static str>,
}

impl Policy {
    pub(crate) fn new(config: &PickleConfig) -> Result<Self, ConfigError> {
        let mut policy = Policy {
            config_deny: HashSet::new(),
            config_allow_exact: HashSet::new(),
            config_allow_modules: HashSet::new(),
            builtin_allow: ALLOW_EXACT.iter().copied().collect(),
            builtin_deny: DENY.iter().copied().collect(),
        };
        for entry in &config.deny {
            // Both forms deny by prefix: `os.*` covers `os`'s submodules, and an exact
            // entry covers attribute chains below it.
            let (target, _) = parse_entry("deny", entry)?;
            policy.config_deny.insert(target);
        }
        for entry in &config.allow {
            match parse_entry("allow", entry)? {
                (module, true) => policy.config_allow_modules.insert(module),
                (exact, false) => policy.config_allow_exact.insert(exact),
            };
        }
        Ok(policy)
    }

    /// The built-in lists alone (for content sniffing), compiled once.
    pub(crate) fn builtin() -> &'static Policy {
        static BUILTIN: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
        BUILTIN.get_or_init(|| Policy {
            config_deny: HashSet::new(),
            config_allow_exact: HashSet::new(),
            config_allow_modules: HashSet::new(),
            builtin_allow: ALLOW_EXACT.iter().copied().collect(),
            builtin_deny: DENY.iter().copied().collect(),
        })
    }

    pub(crate) fn judge(&self, module: &str, name: &str) -> Judgement {
        let (module, name) = names::canonical(module, name);
        let canonical = format!("{module}.{name}");
        let verdict = self.verdict(&canonical, module, name);
        let special = special(&canonical);
        Judgement {
            canonical,
            verdict,
            special,
        }
    }

    fn verdict(&self, canonical: &str, module: &str, name: &str) -> Verdict {
        if prefixes(canonical).any(|p| self.config_deny.contains(p)) {
            return Verdict::Denied("listed under `deny` in [pickle] of rampart.toml");
        }
        if self.config_allow_exact.contains(canonical) {
            return Verdict::Allowed(Use::Call);
        }
        if let Some(&how) = self.builtin_allow.get(canonical) {
            return Verdict::Allowed(how);
        }
        if let Some(reason) = prefixes(canonical).find_map(|p| self.builtin_deny.get(p)) {
            return Verdict::Denied(reason);
        }
        if let Some(component) = canonical
            .split('.')
            .find(|c| is_dunder(c) && !is_dunder_module(c))
        {
            return Verdict::Dunder(component.to_owned());
        }
        if !name.contains('.')
            && let Some(how) = framework_pattern(module, name)
        {
            return Verdict::Allowed(how);
        }
        if prefixes(module).any(|p| self.config_allow_modules.contains(p)) {
            return Verdict::Allowed(Use::Call);
        }
        if names::is_attribute_chain(name) {
            return Verdict::AttributeChain;
        }
        Verdict::Unlisted
    }
}

/// `a`, `a.b`, `a.b.c` for `a.b.c`: what prefix-matching tables look up.
fn prefixes(dotted: &str) -> impl Iterator<Item = &str> {
    dotted
        .match_indices('.')
        .map(|(i, _)| &dotted[..i])
        .chain(std::iter::once(dotted))
}

/// Validates a config entry; returns the dotted target and whether it was `module.*`.
fn parse_entry(list: &'static str, entry: &str) -> Result<(String, bool), ConfigError> {
    let invalid = |reason| ConfigError::InvalidEntry {
        list,
        entry: entry.to_owned(),
        reason,
    };
    let (target, wildcard) = match entry.strip_suffix(".*") {
        Some(module) => (module, true),
        None => (entry, false),
    };
    if target.is_empty() {
        return Err(invalid("expected `module.qualname` or `module.*`"));
    }
    if !names::is_dotted_identifier(target) {
        return Err(invalid(
            "every dotted component must be a Python identifier (`*` only as the last one)",
        ));
    }
    if !wildcard && !target.contains('.') {
        return Err(invalid(
            "a bare module name is ambiguous: write `module.*` for the whole module or `module.name`",
        ));
    }
    Ok((target.to_owned(), wildcard))
}

/// `f(cls, ...)` that runs `cls.__new__(cls)`.
const INSTANTIATES_FIRST: Special = Special::Runs {
    calls: &[],
    instantiates: &[0],
};

fn special(canonical: &str) -> Option<Special> {
    let special = match canonical {
        "copyreg._reconstructor" => Special::Reconstructor,
        "copyreg.__newobj__"
        | "copyreg.__newobj_ex__"
        | "numpy.core.multiarray._reconstruct"
        | "numpy._core.multiarray._reconstruct"
        | "torch._utils._rebuild_wrapper_subclass"
        | "pandas.core.indexes.base._new_Index" => INSTANTIATES_FIRST,
        "numpy.ma.core._mareconstruct" => Special::Runs {
            calls: &[],
            instantiates: &[0, 1],
        },
        "collections.defaultdict" | "numpy.random._pickle.__bit_generator_ctor" => Special::Runs {
            calls: &[0],
            instantiates: &[],
        },
        // `bit_generator_ctor(bit_generator_name)`: both may end up called.
        "numpy.random._pickle.__randomstate_ctor" | "numpy.random._pickle.__generator_ctor" => {
            Special::Runs {
                calls: &[0, 1],
                instantiates: &[],
            }
        }
        "torch._tensor._rebuild_from_type_v2" | "torch._tensor._rebuild_from_type" => {
            Special::Runs {
                calls: &[0],
                instantiates: &[1],
            }
        }
        "numpy.core._ufunc_reconstruct" | "numpy._core._ufunc_reconstruct" => Special::Resolver,
        "builtins.getattr" => Special::GetAttr,
        "pickle.loads"
        | "pickle._loads"
        | "_pickle.loads"
        | "dill.loads"
        | "dill._dill.loads"
        | "cloudpickle.loads"
        | "numpy.loads"
        | "torch.storage._load_from_bytes" => Special::Loads,
        "pickle.load"
        | "pickle._load"
        | "_pickle.load"
        | "dill.load"
        | "joblib.load"
        | "torch.load"
        | "torch.serialization.load" => Special::Load,
        "io.BytesIO" | "_io.BytesIO" => Special::BytesIo,
        "_codecs.encode" | "codecs.encode" => Special::CodecsEncode,
        "numpy.dtype" => Special::NumpyDtype,
        "joblib.numpy_pickle.NumpyArrayWrapper"
        | "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper" => Special::JoblibArray,
        "joblib.numpy_pickle.NDArrayWrapper"
        | "joblib.numpy_pickle_compat.NDArrayWrapper"
        | "joblib.numpy_pickle_compat.ZNDArrayWrapper"
        | "joblib.numpy_pickle.ZNDArrayWrapper"
        | "sklearn.externals.joblib.numpy_pickle.NDArrayWrapper"
        | "sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper" => Special::JoblibSideFile,
        other if other.starts_with("sklearn.") && other.ends_with(".newObj") => INSTANTIATES_FIRST,
        other
            if other
                .rsplit('.')
                .next()
                .is_some_and(|name| name.starts_with("__pyx_unpickle_")) =>
        {
            INSTANTIATES_FIRST
        }
        _ => return None,
    };
    Some(special)
}

/// Exact globals of ordinary ML pickles. Everything here must be harmless to import, and
/// (for `Call`) harmless to call with any arguments a pickle can supply.
const ALLOW_EXACT: &[(&str, Use)] = &[
    // Python: the containers and scalars pickle itself falls back to for protocol 0-2
    // (set, frozenset, bytearray, bytes via _codecs.encode), and `object` as the base
    // class copyreg._reconstructor is given. None of them touches the outside world.
    ("builtins.set", Use::Call),
    ("builtins.frozenset", Use::Call),
    ("builtins.bytearray", Use::Call),
    ("builtins.bytes", Use::Call),
    ("builtins.slice", Use::Call),
    ("builtins.complex", Use::Call),
    ("builtins.range", Use::Call),
    ("builtins.object", Use::Call),
    ("builtins.int", Use::Call),
    ("builtins.float", Use::Call),
    ("builtins.str", Use::Call),
    ("builtins.list", Use::Call),
    ("builtins.dict", Use::Call),
    ("builtins.tuple", Use::Call),
    ("builtins.bool", Use::Call),
    ("builtins.Ellipsis", Use::Reference),
    ("builtins.NotImplemented", Use::Reference),
    ("_codecs.encode", Use::Call),
    ("codecs.encode", Use::Call),
    ("io.BytesIO", Use::Call),
    ("_io.BytesIO", Use::Call),
    // copyreg's object-rebuilding helpers; the class they instantiate is judged separately.
    ("copyreg._reconstructor", Use::Call),
    ("copyreg.__newobj__", Use::Call),
    ("copyreg.__newobj_ex__", Use::Call),
    // Plain value types of the standard library.
    ("collections.OrderedDict", Use::Call),
    ("collections.defaultdict", Use::Call),
    ("collections.Counter", Use::Call),
    ("collections.deque", Use::Call),
    ("datetime.datetime", Use::Call),
    ("datetime.date", Use::Call),
    ("datetime.time", Use::Call),
    ("datetime.timedelta", Use::Call),
    ("datetime.timezone", Use::Call),
    ("decimal.Decimal", Use::Call),
    ("fractions.Fraction", Use::Call),
    ("uuid.UUID", Use::Call),
    ("re._compile", Use::Call),
    ("pathlib.Path", Use::Call),
    ("pathlib.PosixPath", Use::Call),
    ("pathlib.WindowsPath", Use::Call),
    ("pathlib.PurePath", Use::Call),
    ("pathlib.PurePosixPath", Use::Call),
    ("pathlib.PureWindowsPath", Use::Call),
    ("pathlib._local.Path", Use::Call),
    ("pathlib._local.PosixPath", Use::Call),
    ("pathlib._local.WindowsPath", Use::Call),
    ("pathlib._local.PurePosixPath", Use::Call),
    ("pathlib._local.PureWindowsPath", Use::Call),
    // Time zones of pandas/datetime values: they only read the system tz database.
    ("zoneinfo.ZoneInfo._unpickle", Use::Call),
    ("pytz._p", Use::Call),
    ("pytz._UTC", Use::Call),
    ("dateutil.tz.tz.tzutc", Use::Call),
    ("dateutil.tz.tz.tzoffset", Use::Call),
    ("dateutil.tz.tz.tzlocal", Use::Call),
    // NumPy 1.x (numpy.core) and 2.x (numpy._core): array, scalar and dtype rebuilding.
    ("numpy.core.multiarray._reconstruct", Use::Call),
    ("numpy._core.multiarray._reconstruct", Use::Call),
    ("numpy.core.multiarray.scalar", Use::Call),
    ("numpy._core.multiarray.scalar", Use::Call),
    ("numpy.core.numeric._frombuffer", Use::Call),
    ("numpy._core.numeric._frombuffer", Use::Call),
    (
        "numpy._core._internal._convert_to_stringdtype_kwargs",
        Use::Call,
    ),
    // Resolves `module.name` of a ufunc; the resolved global is judged in its place.
    ("numpy.core._ufunc_reconstruct", Use::Call),
    ("numpy._core._ufunc_reconstruct", Use::Call),
    ("numpy.dtype", Use::Call),
    ("numpy.ndarray", Use::Call),
    ("numpy.matrix", Use::Call),
    ("numpy.matrixlib.defmatrix.matrix", Use::Call),
    ("numpy.recarray", Use::Call),
    ("numpy.record", Use::Call),
    ("numpy.core.records.recarray", Use::Call),
    ("numpy._core.records.recarray", Use::Call),
    ("numpy.ma.core._mareconstruct", Use::Call),
    ("numpy.ma.core.MaskedArray", Use::Call),
    ("numpy.ma.MaskedArray", Use::Call),
    ("numpy.rec.recarray", Use::Call),
    ("numpy.rec.record", Use::Call),
    ("numpy.ma.core.MaskedConstant", Use::Call),
    // NumPy random state (KMeans, forests and many estimators keep one).
    ("numpy.random._pickle.__randomstate_ctor", Use::Call),
    ("numpy.random._pickle.__bit_generator_ctor", Use::Call),
    ("numpy.random._pickle.__generator_ctor", Use::Call),
    ("numpy.random.__RandomState_ctor", Use::Call),
    ("numpy.random.mtrand.__RandomState_ctor", Use::Call),
    ("numpy.random.mtrand.RandomState", Use::Call),
    ("numpy.random._mt19937.MT19937", Use::Call),
    ("numpy.random._pcg64.PCG64", Use::Call),
    ("numpy.random._pcg64.PCG64DXSM", Use::Call),
    ("numpy.random._philox.Philox", Use::Call),
    ("numpy.random._sfc64.SFC64", Use::Call),
    ("numpy.random._generator.Generator", Use::Call),
    ("numpy.random.bit_generator.SeedSequence", Use::Call),
    (
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
        Use::Call,
    ),
    ("numpy.random._bit_generator.SeedSequence", Use::Call),
    (
        "numpy.random._bit_generator.__pyx_unpickle_SeedSequence",
        Use::Call,
    ),
    // PyTorch: what torch.save writes for tensors, parameters and storages (the same set
    // torch.load(weights_only=True) accepts), plus whole-model helpers.
    ("torch._tensor._rebuild_from_type_v2", Use::Call),
    ("torch._tensor._rebuild_from_type", Use::Call),
    ("torch.serialization._get_layout", Use::Call),
    ("torch.Size", Use::Call),
    ("torch.Tensor", Use::Call),
    ("torch.device", Use::Call),
    ("torch.nn.parameter.Parameter", Use::Call),
    ("torch.nn.parameter.Buffer", Use::Call),
    ("torch.nn.parameter.UninitializedParameter", Use::Call),
    ("torch.nn.parameter.UninitializedBuffer", Use::Call),
    ("torch.storage.UntypedStorage", Use::Call),
    ("torch.storage.TypedStorage", Use::Call),
    ("torch.storage._UntypedStorage", Use::Call),
    ("torch.storage._TypedStorage", Use::Call),
    ("torch.storage._LegacyStorage", Use::Call),
    ("torch.amp.grad_scaler.GradScaler", Use::Instantiate),
    ("torch.cuda.amp.grad_scaler.GradScaler", Use::Instantiate),
    // joblib: placeholders its own unpickler replaces with arrays.
    ("joblib.numpy_pickle.NumpyArrayWrapper", Use::Call),
    ("joblib.numpy_pickle.NDArrayWrapper", Use::Call),
    ("joblib.numpy_pickle.ZNDArrayWrapper", Use::Call),
    ("joblib.numpy_pickle_compat.NDArrayWrapper", Use::Call),
    ("joblib.numpy_pickle_compat.ZNDArrayWrapper", Use::Call),
    (
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
        Use::Call,
    ),
    (
        "sklearn.externals.joblib.numpy_pickle.NDArrayWrapper",
        Use::Call,
    ),
    (
        "sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper",
        Use::Call,
    ),
    // Gradient-boosting libraries: estimators and boosters, rebuilt by NEWOBJ + BUILD (the
    // booster's state is the library's own binary model format; its constructor can load
    // model files, so it is not for calling).
    ("xgboost.core.Booster", Use::Instantiate),
    ("xgboost.sklearn.XGBModel", Use::Instantiate),
    ("xgboost.sklearn.XGBClassifier", Use::Instantiate),
    ("xgboost.sklearn.XGBRegressor", Use::Instantiate),
    ("xgboost.sklearn.XGBRanker", Use::Instantiate),
    ("xgboost.sklearn.XGBRFClassifier", Use::Instantiate),
    ("xgboost.sklearn.XGBRFRegressor", Use::Instantiate),
    ("lightgbm.basic.Booster", Use::Instantiate),
    ("lightgbm.sklearn.LGBMModel", Use::Instantiate),
    ("lightgbm.sklearn.LGBMClassifier", Use::Instantiate),
    ("lightgbm.sklearn.LGBMRegressor", Use::Instantiate),
    ("lightgbm.sklearn.LGBMRanker", Use::Instantiate),
    ("catboost.core.CatBoost", Use::Instantiate),
    ("catboost.core.CatBoostClassifier", Use::Instantiate),
    ("catboost.core.CatBoostRegressor", Use::Instantiate),
    ("catboost.core.CatBoostRanker", Use::Instantiate),
    // Hugging Face training_args.bin: the dataclasses (rebuilt by NEWOBJ + BUILD; their
    // constructors set up devices) and, by pattern below, their enums.
    (
        "transformers.training_args.TrainingArguments",
        Use::Instantiate,
    ),
    (
        "transformers.training_args_seq2seq.Seq2SeqTrainingArguments",
        Use::Instantiate,
    ),
    (
        "transformers.generation.configuration_utils.GenerationConfig",
        Use::Instantiate,
    ),
    ("transformers.debug_utils.DebugOption", Use::Call),
    ("accelerate.state.PartialState", Use::Instantiate),
    // PyTorch Lightning checkpoints: `hyper_parameters` hold attribute dicts, argparse
    // namespaces and OmegaConf configs (rebuilt by NEWOBJ + BUILD; interpolations are
    // only resolved on access, by OmegaConf's own resolvers).
    ("argparse.Namespace", Use::Call),
    (
        "pytorch_lightning.utilities.parsing.AttributeDict",
        Use::Instantiate,
    ),
    (
        "lightning_fabric.utilities.data.AttributeDict",
        Use::Instantiate,
    ),
    (
        "lightning.fabric.utilities.data.AttributeDict",
        Use::Instantiate,
    ),
    ("typing.Any", Use::Reference),
];

/// NumPy scalar types (dtype parameters of estimators) and ufuncs/functions benign
/// pickles store as parameters (`FunctionTransformer(np.log1p)`).
const NUMPY_SCALAR_TYPES: &[&str] = &[
    "bool_",
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "intc",
    "uintc",
    "intp",
    "uintp",
    "int_",
    "uint",
    "longlong",
    "ulonglong",
    "short",
    "ushort",
    "byte",
    "ubyte",
    "half",
    "single",
    "double",
    "longdouble",
    "float16",
    "float32",
    "float64",
    "float128",
    "complex64",
    "complex128",
    "complex256",
    "csingle",
    "cdouble",
    "clongdouble",
    "float_",
    "complex_",
    "str_",
    "bytes_",
    "unicode_",
    "string_",
    "void",
    "object_",
    "datetime64",
    "timedelta64",
    "generic",
    "number",
    "integer",
    "floating",
    "signedinteger",
    "unsignedinteger",
    "inexact",
    "complexfloating",
    "character",
    "flexible",
];

const NUMPY_FUNCTIONS: &[&str] = &[
    "abs",
    "absolute",
    "add",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "cbrt",
    "ceil",
    "conjugate",
    "copysign",
    "cos",
    "cosh",
    "deg2rad",
    "degrees",
    "divide",
    "exp",
    "exp2",
    "expm1",
    "fabs",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "hypot",
    "isfinite",
    "isinf",
    "isnan",
    "log",
    "log10",
    "log1p",
    "log2",
    "logaddexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "maximum",
    "minimum",
    "mod",
    "multiply",
    "negative",
    "positive",
    "power",
    "rad2deg",
    "radians",
    "reciprocal",
    "remainder",
    "rint",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "subtract",
    "tan",
    "tanh",
    "true_divide",
    "trunc",
    "mean",
    "median",
    "sum",
    "std",
    "var",
    "max",
    "min",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "nanmean",
    "nanmedian",
    "nansum",
    "nanstd",
    "nanmax",
    "nanmin",
    "prod",
    "cumsum",
    "clip",
    "round",
    "around",
    "nan",
    "inf",
    "pi",
    "e",
];

/// torch module attributes that are constants (dtypes, layouts, memory formats, qschemes).
const TORCH_CONSTANTS: &[&str] = &[
    "float32",
    "float",
    "float64",
    "double",
    "float16",
    "half",
    "bfloat16",
    "complex32",
    "chalf",
    "complex64",
    "cfloat",
    "complex128",
    "cdouble",
    "uint8",
    "int8",
    "int16",
    "short",
    "int32",
    "int",
    "int64",
    "long",
    "bool",
    "qint8",
    "quint8",
    "qint32",
    "quint4x2",
    "quint2x4",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn_x2",
    "uint16",
    "uint32",
    "uint64",
    "uint1",
    "uint2",
    "uint3",
    "uint4",
    "uint5",
    "uint6",
    "uint7",
    "int1",
    "int2",
    "int3",
    "int4",
    "int5",
    "int6",
    "int7",
    "bits8",
    "bits16",
    "bits1x8",
    "bits2x4",
    "bits4x2",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "sparse_csc",
    "sparse_bsr",
    "sparse_bsc",
    "_mkldnn",
    "jagged",
    "contiguous_format",
    "channels_last",
    "channels_last_3d",
    "preserve_format",
    "per_tensor_affine",
    "per_channel_affine",
    "per_tensor_symmetric",
    "per_channel_symmetric",
    "per_channel_affine_float_qparams",
];

/// Modules of the Hugging Face/accelerate training-argument enums and dataclasses.
const TRAINING_ARGUMENT_MODULES: &[&str] = &[
    "transformers.training_args",
    "transformers.training_args_seq2seq",
    "transformers.trainer_utils",
    "transformers.trainer_pt_utils",
    "transformers.debug_utils",
    "transformers.utils.generic",
    "accelerate.utils.dataclasses",
];

/// Framework rules too regular to enumerate: single-component names only.
fn framework_pattern(module: &str, name: &str) -> Option<Use> {
    let under = |root: &str| {
        module == root
            || module
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    let class = is_class_name(name);
    let first = module.split('.').next().unwrap_or(module);
    match first {
        "numpy" => {
            if module == "numpy" && NUMPY_SCALAR_TYPES.contains(&name) {
                Some(Use::Call)
            } else if module == "numpy" && NUMPY_FUNCTIONS.contains(&name) {
                Some(Use::Reference)
            } else if module == "numpy.dtypes" && class && name.ends_with("DType") {
                Some(Use::Call)
            } else {
                None
            }
        }
        "torch" => torch_pattern(module, name, class),
        "sklearn" => {
            // scikit-learn estimators, transformers and their Cython helpers. Test, testing
            // and vendored (externals) modules hold runners and loaders, so they are out.
            const EXCLUDED: &[&str] = &[
                "tests",
                "testing",
                "_testing",
                "externals",
                "_build_utils",
                "__check_build",
            ];
            if module.split('.').any(|c| EXCLUDED.contains(&c)) {
                None
            } else if class || name.starts_with("__pyx_unpickle_") || name == "newObj" {
                Some(Use::Call)
            } else {
                // Functions stored as parameters (scorers, metrics), never called on load:
                // some sklearn functions read or write files when called.
                Some(Use::Reference)
            }
        }
        "pandas" => pandas_pattern(module, name, class),
        "scipy" => {
            // scipy.sparse matrices and arrays: plain index/data arrays.
            const FORMATS: &[&str] = &["csr", "csc", "coo", "lil", "dok", "dia", "bsr"];
            let sparse = under("scipy.sparse")
                && name
                    .strip_suffix("_matrix")
                    .or_else(|| name.strip_suffix("_array"))
                    .is_some_and(|format| FORMATS.contains(&format));
            sparse.then_some(Use::Call)
        }
        "omegaconf" => {
            const CONFIG_MODULES: &[&str] = &[
                "omegaconf.dictconfig",
                "omegaconf.listconfig",
                "omegaconf.base",
                "omegaconf.nodes",
            ];
            (class && CONFIG_MODULES.contains(&module)).then_some(Use::Instantiate)
        }
        "transformers" | "accelerate" => {
            (class && TRAINING_ARGUMENT_MODULES.contains(&module)).then_some(Use::Call)
        }
        _ => None,
    }
}

fn torch_pattern(module: &str, name: &str, class: bool) -> Option<Use> {
    let under = |root: &str| {
        module == root
            || module
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    if module == "torch" && TORCH_CONSTANTS.contains(&name) {
        return Some(Use::Reference);
    }
    // Typed storages and legacy tensor types (`torch.FloatStorage`, `torch.cuda.HalfTensor`).
    if matches!(module, "torch" | "torch.cuda")
        && class
        && (name.ends_with("Storage") || name.ends_with("Tensor"))
    {
        return Some(Use::Call);
    }
    // The tensor rebuild functions torch.save writes (_rebuild_tensor_v2, _rebuild_parameter,
    // _rebuild_qtensor, _rebuild_sparse_tensor, ...).
    if module == "torch._utils" && name.starts_with("_rebuild_") {
        return Some(Use::Call);
    }
    // Whole-model saves: layers are rebuilt with NEWOBJ + BUILD of their attribute dicts;
    // optimizers and schedulers likewise. Their constructors are not for calling from a
    // pickle (LambdaLR calls the function it is given).
    if (under("torch.nn.modules") || under("torch.optim")) && class {
        return Some(Use::Instantiate);
    }
    // Activation functions stored as layer attributes.
    if under("torch.nn.functional") && !class {
        return Some(Use::Reference);
    }
    None
}

fn pandas_pattern(module: &str, name: &str, class: bool) -> Option<Use> {
    let under = |root: &str| {
        module == root
            || module
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    // Readers, writers, expression evaluation and test helpers are not data structures.
    const EXCLUDED: &[&str] = &[
        "pandas.io",
        "pandas.core.computation",
        "pandas.util",
        "pandas.testing",
        "pandas._testing",
        "pandas.plotting",
        "pandas.api",
    ];
    if EXCLUDED.iter().any(|root| under(root)) {
        return None;
    }
    // Top-level classes that open files when constructed.
    if module == "pandas" && matches!(name, "ExcelWriter" | "ExcelFile" | "HDFStore") {
        return None;
    }
    let structural = module == "pandas"
        || module == "pandas.arrays"
        || under("pandas.core")
        || under("pandas._libs")
        || under("pandas.tseries");
    let unpickle_helper = name.starts_with("_new_")
        || name.starts_with("_unpickle")
        || name.starts_with("__pyx_unpickle_")
        || name.ends_with("_unpickle")
        || name == "__nat_unpickle";
    (structural && (class || unpickle_helper)).then_some(Use::Call)
}

/// Globals that give a pickle code execution, file, process or network access, or a way
/// to reach any other global. Matched by dotted prefix: a module entry covers its
/// submodules and everything in them (CVE-2025-10157).
const DENY: &[(&str, &str)] = &[
    // Operating system, processes, interpreter internals.
    (
        "os",
        "operating-system access: runs commands, reads and writes files",
    ),
    (
        "posix",
        "operating-system access: runs commands, reads and writes files",
    ),
    (
        "nt",
        "operating-system access: runs commands, reads and writes files",
    ),
    ("subprocess", "runs external commands"),
    ("pty", "spawns processes on a pseudo-terminal"),
    (
        "sys",
        "interpreter internals (sys.modules, audit hooks, tracing)",
    ),
    ("gc", "reaches every live object"),
    ("signal", "installs signal handlers"),
    ("multiprocessing", "spawns processes"),
    ("_multiprocessing", "spawns processes"),
    ("concurrent", "spawns processes and threads"),
    ("threading", "starts threads"),
    ("_thread", "starts threads"),
    ("asyncio", "runs subprocesses and network I/O"),
    ("_posixsubprocess", "runs external commands"),
    // Evaluating code and reaching arbitrary globals.
    ("builtins.eval", "evaluates Python code"),
    ("builtins.exec", "executes Python code"),
    ("builtins.execfile", "executes a Python file"),
    ("builtins.compile", "compiles Python code"),
    (
        "builtins.getattr",
        "reaches any attribute (os.system from os)",
    ),
    (
        "builtins.setattr",
        "rewrites attributes of modules and classes",
    ),
    (
        "builtins.delattr",
        "deletes attributes of modules and classes",
    ),
    ("builtins.__import__", "imports any module"),
    ("builtins.vars", "exposes namespaces"),
    ("builtins.globals", "exposes the global namespace"),
    ("builtins.locals", "exposes a local namespace"),
    ("builtins.open", "opens files"),
    ("builtins.breakpoint", "starts a debugger"),
    ("builtins.input", "reads from the console"),
    ("builtins.apply", "calls any function"),
    ("builtins.exit", "ends the process"),
    ("builtins.quit", "ends the process"),
    ("builtins.help", "starts the interactive help and its pager"),
    ("builtins.__build_class__", "builds classes from code"),
    ("builtins.reload", "re-runs module code"),
    ("builtins.file", "opens files"),
    (
        "pkgutil",
        "resolves any name to an object (a universal gadget: GHSA-vvpj-8cmc-gx39)",
    ),
    ("pydoc", "locates any object by name and runs pagers"),
    ("importlib", "imports any module"),
    ("imp", "imports any module"),
    ("zipimport", "imports code from archives"),
    ("runpy", "runs modules and code"),
    ("marshal", "loads code objects"),
    ("types", "builds code objects and functions"),
    (
        "copyreg",
        "changes how objects are rebuilt (extension registry, reducers)",
    ),
    (
        "operator",
        "attrgetter/itemgetter/methodcaller reach any attribute or call any method",
    ),
    (
        "_operator",
        "attrgetter/itemgetter/methodcaller reach any attribute or call any method",
    ),
    (
        "functools",
        "partial/reduce call functions with attacker-chosen arguments",
    ),
    ("code", "runs an interactive interpreter on code strings"),
    ("codeop", "compiles code"),
    ("timeit", "executes code strings"),
    ("cProfile", "executes code strings"),
    ("profile", "executes code strings"),
    ("_lsprof", "profiles and runs code"),
    ("trace", "executes code strings"),
    ("pdb", "debugger: executes code"),
    ("bdb", "debugger: executes code"),
    ("doctest", "executes code in docstrings"),
    (
        "idlelib",
        "runs code (IDLE's run/autocomplete/calltip helpers)",
    ),
    ("lib2to3", "loads pickled grammar files"),
    ("ctypes", "calls native code"),
    ("_ctypes", "calls native code"),
    ("cffi", "calls native code"),
    ("numexpr.evaluate", "evaluates expressions"),
    ("sympy.sympify", "evaluates expressions"),
    ("sympy.parsing", "evaluates expressions"),
    // Nested deserialisation.
    (
        "pickle",
        "unpickles nested data (a second, unscanned payload)",
    ),
    (
        "_pickle",
        "unpickles nested data (a second, unscanned payload)",
    ),
    ("pickletools", "pickle machinery"),
    ("dill", "unpickles nested data and rebuilds code"),
    ("cloudpickle", "unpickles nested data and rebuilds code"),
    ("shelve", "opens pickle databases"),
    ("joblib.load", "unpickles another file"),
    ("joblib.numpy_pickle.load", "unpickles another file"),
    (
        "joblib.numpy_pickle.NumpyUnpickler",
        "unpickles another file",
    ),
    (
        "joblib.numpy_pickle_compat.load_compatibility",
        "unpickles another file",
    ),
    ("joblib.externals", "vendored cloudpickle and process pools"),
    ("sklearn.externals.joblib.load", "unpickles another file"),
    (
        "sklearn.externals.joblib.numpy_pickle.load",
        "unpickles another file",
    ),
    ("yaml.load", "constructs arbitrary objects from YAML"),
    ("yaml.load_all", "constructs arbitrary objects from YAML"),
    ("yaml.unsafe_load", "constructs arbitrary objects from YAML"),
    (
        "yaml.unsafe_load_all",
        "constructs arbitrary objects from YAML",
    ),
    ("yaml.full_load", "constructs arbitrary objects from YAML"),
    (
        "yaml.full_load_all",
        "constructs arbitrary objects from YAML",
    ),
    (
        "yaml.UnsafeLoader",
        "constructs arbitrary objects from YAML",
    ),
    // Packaging: installing runs the package's code.
    (
        "pip",
        "installs packages, which runs their code (CVE-2025-1716)",
    ),
    ("ensurepip", "installs pip and packages"),
    ("venv", "creates environments and runs pip"),
    ("distutils", "runs compilers and commands"),
    ("setuptools", "runs builds and commands"),
    // Files.
    ("shutil", "copies, moves and deletes files"),
    ("tempfile", "creates files"),
    ("tarfile", "extracts archives onto disk"),
    ("zipfile", "extracts archives onto disk"),
    ("fileinput", "reads and rewrites files"),
    ("linecache", "reads files"),
    ("glob", "lists the filesystem"),
    ("io.open", "opens files"),
    ("io.open_code", "opens files"),
    ("io.FileIO", "opens files"),
    ("_io.open", "opens files"),
    ("_io.open_code", "opens files"),
    ("_io.FileIO", "opens files"),
    ("codecs.open", "opens files"),
    (
        "logging.FileHandler",
        "creates and writes files (CVE-2026-56304)",
    ),
    (
        "logging.handlers",
        "writes files and sends logs over the network",
    ),
    (
        "logging.config",
        "configures logging from files and sockets, importing anything named",
    ),
    ("mailcap", "runs commands from mailcap entries"),
    // Commands hidden in otherwise harmless modules (CVE-2026-56315).
    ("uuid._get_command_stdout", "runs external commands"),
    ("uuid._popen", "runs external commands"),
    ("_pyrepl", "runs pagers and commands"),
    ("_osx_support", "runs external commands"),
    ("_aix_support", "runs external commands"),
    ("platform.popen", "runs external commands"),
    ("platform._syscmd_file", "runs external commands"),
    ("platform._syscmd_ver", "runs external commands"),
    // Network.
    ("socket", "opens network connections"),
    ("_socket", "opens network connections"),
    ("ssl", "opens network connections"),
    ("select", "waits on sockets and files"),
    ("http", "makes or serves HTTP requests"),
    ("urllib", "fetches URLs"),
    ("urllib3", "fetches URLs"),
    ("requests", "fetches URLs"),
    ("httpx", "fetches URLs"),
    ("aiohttp", "fetches URLs"),
    ("ftplib", "opens FTP connections"),
    ("smtplib", "sends mail"),
    ("telnetlib", "opens telnet connections"),
    (
        "imaplib",
        "opens IMAP connections and runs IMAP4_stream commands",
    ),
    ("poplib", "opens POP3 connections"),
    ("nntplib", "opens NNTP connections"),
    ("xmlrpc", "makes remote procedure calls"),
    ("socketserver", "serves network connections"),
    ("webbrowser", "opens URLs by running a browser"),
    // NumPy helpers that run commands, compile code or load/save files (with pickles).
    (
        "numpy.testing",
        "runs external commands (numpy.testing._private.utils)",
    ),
    ("numpy.f2py", "compiles and evaluates code"),
    ("numpy.distutils", "runs compilers and commands"),
    ("numpy.ctypeslib", "loads native libraries"),
    ("numpy.load", "loads files, pickles included"),
    (
        "numpy.loads",
        "unpickles nested data (old alias of pickle.loads)",
    ),
    ("numpy.save", "writes files"),
    ("numpy.savez", "writes files"),
    ("numpy.savez_compressed", "writes files"),
    ("numpy.savetxt", "writes files"),
    ("numpy.loadtxt", "reads files"),
    ("numpy.genfromtxt", "reads files"),
    ("numpy.fromfile", "reads files"),
    ("numpy.memmap", "maps and creates files"),
    ("numpy.lib.npyio", "loads and saves files, pickles included"),
    (
        "numpy.lib._npyio_impl",
        "loads and saves files, pickles included",
    ),
    (
        "numpy.lib.format",
        "reads arrays from files, pickles included",
    ),
    // pandas readers and expression evaluation.
    ("pandas.read_pickle", "unpickles another file"),
    ("pandas.io", "reads files and URLs, pickles included"),
    ("pandas.eval", "evaluates expressions"),
    ("pandas.core.computation", "evaluates expressions"),
    // PyTorch loaders and code-running internals.
    ("torch.load", "unpickles another file"),
    ("torch.serialization.load", "unpickles another file"),
    (
        "torch.storage._load_from_bytes",
        "unpickles nested data with torch.load",
    ),
    ("torch._inductor", "compiles and runs generated code"),
    ("torch.utils.bottleneck", "runs scripts"),
    ("torch._dynamo.guards", "evaluates guard code"),
    (
        "torch.fx.experimental.symbolic_shapes.ShapeEnv",
        "evaluates guard expressions",
    ),
    (
        "torch.jit.unsupported_tensor_ops.execWrapper",
        "executes code strings",
    ),
    ("torch.jit.load", "loads TorchScript archives"),
    ("torch.jit._serialization", "loads TorchScript archives"),
    ("torch.hub", "downloads and runs code"),
    ("torch.package", "imports packaged code"),
    (
        "torch.utils.cpp_extension",
        "compiles and loads native code",
    ),
    ("torch.ops", "dispatches to any registered operator"),
    ("torch.distributed.rpc", "makes remote procedure calls"),
    // Keras/TensorFlow loaders and file I/O.
    (
        "keras.models.load_model",
        "loads models that can contain code",
    ),
    ("keras.saving", "loads models that can contain code"),
    (
        "tf_keras.models.load_model",
        "loads models that can contain code",
    ),
    (
        "tensorflow.keras.models.load_model",
        "loads models that can contain code",
    ),
    ("tensorflow.io", "reads and writes files"),
    ("tensorflow.python.ops.gen_io_ops", "reads and writes files"),
    (
        "tensorflow.saved_model",
        "loads models that can contain code",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::new(&PickleConfig::default()).unwrap()
    }

    fn verdict(module: &str, name: &str) -> Verdict {
        policy().judge(module, name).verdict
    }

    #[test]
    fn builtin_exact_allow_entries_never_hide_a_denied_global_except_the_copyreg_helpers() {
        let p = policy();
        for (name, _) in ALLOW_EXACT {
            let denied = prefixes(name).find_map(|prefix| p.builtin_deny.get(prefix));
            if denied.is_some() {
                assert!(
                    name.starts_with("copyreg."),
                    "{name} is both allowed and denied"
                );
            }
        }
    }

    #[test]
    fn denylist_covers_submodules_and_legacy_aliases() {
        assert!(matches!(
            verdict("asyncio.unix_events", "_UnixSubprocessTransport"),
            Verdict::Denied(_)
        ));
        assert!(matches!(verdict("__builtin__", "eval"), Verdict::Denied(_)));
        assert!(matches!(verdict("posixpath", "system"), Verdict::Denied(_)));
        assert!(matches!(
            verdict("copy_reg", "add_extension"),
            Verdict::Denied(_)
        ));
        assert!(matches!(
            verdict("numpy.testing._private.utils", "runstring"),
            Verdict::Denied(_)
        ));
        assert_eq!(
            verdict("copy_reg", "_reconstructor"),
            Verdict::Allowed(Use::Call)
        );
    }

    #[test]
    fn frameworks_are_allowed_with_the_right_use() {
        assert_eq!(
            verdict("torch._utils", "_rebuild_tensor_v2"),
            Verdict::Allowed(Use::Call)
        );
        assert_eq!(
            verdict("torch", "FloatStorage"),
            Verdict::Allowed(Use::Call)
        );
        assert_eq!(
            verdict("torch", "float16"),
            Verdict::Allowed(Use::Reference)
        );
        assert_eq!(
            verdict("sklearn.tree._tree", "Tree"),
            Verdict::Allowed(Use::Call)
        );
        assert_eq!(
            verdict("sklearn.metrics._classification", "accuracy_score"),
            Verdict::Allowed(Use::Reference)
        );
        assert_eq!(
            verdict("sklearn.utils._testing", "TempMemmap"),
            Verdict::Unlisted
        );
        assert_eq!(verdict("pandas", "DataFrame"), Verdict::Allowed(Use::Call));
        assert_eq!(
            verdict("pandas._libs.internals", "_unpickle_block"),
            Verdict::Allowed(Use::Call)
        );
        assert_eq!(verdict("pandas", "ExcelWriter"), Verdict::Unlisted);
        assert!(matches!(
            verdict("pandas.io.pickle", "read_pickle"),
            Verdict::Denied(_)
        ));
        assert_eq!(
            verdict("scipy.sparse._csr", "csr_matrix"),
            Verdict::Allowed(Use::Call)
        );
        assert_eq!(verdict("numpy", "log1p"), Verdict::Allowed(Use::Reference));
    }

    #[test]
    fn dunders_and_attribute_chains_are_flagged() {
        assert_eq!(
            verdict("numpy", "__builtins__"),
            Verdict::Dunder("__builtins__".into())
        );
        assert_eq!(verdict("numpy", "size.shape"), Verdict::AttributeChain);
        assert_eq!(verdict("__main__", "MyModel"), Verdict::Unlisted);
        assert_eq!(
            verdict("copyreg", "__newobj__"),
            Verdict::Allowed(Use::Call)
        );
        assert_eq!(
            verdict("numpy.random._pickle", "__randomstate_ctor"),
            Verdict::Allowed(Use::Call)
        );
    }

    #[test]
    fn config_extends_both_lists_with_precedence() {
        let config = PickleConfig {
            allow: vec!["mypkg.*".into(), "functools.partial".into(), "os.*".into()],
            deny: vec!["torch.nn.modules.*".into(), "numpy.dtype".into()],
        };
        let p = Policy::new(&config).unwrap();
        assert_eq!(
            p.judge("mypkg.models", "Net").verdict,
            Verdict::Allowed(Use::Call)
        );
        assert_eq!(
            p.judge("functools", "partial").verdict,
            Verdict::Allowed(Use::Call)
        );
        // A wildcard does not lift the built-in denylist.
        assert!(matches!(
            p.judge("os", "system").verdict,
            Verdict::Denied(_)
        ));
        assert!(matches!(
            p.judge("torch.nn.modules.linear", "Linear").verdict,
            Verdict::Denied(_)
        ));
        assert!(matches!(
            p.judge("numpy", "dtype").verdict,
            Verdict::Denied(_)
        ));
    }

    #[test]
    fn invalid_config_entries_are_rejected() {
        for bad in [
            "",
            "os",
            "*",
            ".*",
            "a..b",
            "mod.na me",
            "a.*.b",
            "1x.y",
            "x.y.*.*",
        ] {
            let config = PickleConfig {
                allow: vec![bad.into()],
                deny: vec![],
            };
            assert!(Policy::new(&config).is_err(), "{bad:?} was accepted");
        }
    }
}
