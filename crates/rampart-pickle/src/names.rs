//! Global names as Python's `find_class` sees them: legacy aliases mapped to their
//! Python 3 modules, and the shape of a dotted qualname.

/// Python 2 module names that `pickle` (with `fix_imports`, the default) loads as their
/// Python 3 modules (`_compat_pickle.IMPORT_MAPPING`), plus path-module aliases: a
/// denylist entry for `os` must also catch `posixpath.system`-style spellings.
const MODULE_ALIASES: &[(&str, &str)] = &[
    ("__builtin__", "builtins"),
    ("exceptions", "builtins"),
    ("copy_reg", "copyreg"),
    ("cPickle", "pickle"),
    ("posixpath", "os.path"),
    ("ntpath", "os.path"),
    ("macpath", "os.path"),
    ("commands", "subprocess"),
    ("httplib", "http.client"),
    ("urllib2", "urllib.request"),
    ("urlparse", "urllib.parse"),
    ("robotparser", "urllib.robotparser"),
    ("xmlrpclib", "xmlrpc.client"),
    ("SimpleXMLRPCServer", "xmlrpc.server"),
    ("DocXMLRPCServer", "xmlrpc.server"),
    ("BaseHTTPServer", "http.server"),
    ("SimpleHTTPServer", "http.server"),
    ("CGIHTTPServer", "http.server"),
    ("Cookie", "http.cookies"),
    ("cookielib", "http.cookiejar"),
    ("htmlentitydefs", "html.entities"),
    ("HTMLParser", "html.parser"),
    ("SocketServer", "socketserver"),
    ("thread", "_thread"),
    ("dummy_thread", "_dummy_thread"),
    ("Queue", "queue"),
    ("ConfigParser", "configparser"),
    ("repr", "reprlib"),
    ("UserDict", "collections"),
    ("UserList", "collections"),
    ("UserString", "collections"),
    ("StringIO", "io"),
    ("cStringIO", "io"),
    ("anydbm", "dbm"),
    ("whichdb", "dbm"),
    ("dbhash", "dbm.bsd"),
    ("dumbdbm", "dbm.dumb"),
    ("dbm", "dbm.ndbm"),
    ("gdbm", "dbm.gnu"),
    ("_abcoll", "collections.abc"),
    ("_elementtree", "xml.etree.ElementTree"),
    ("markupbase", "_markupbase"),
    ("_winreg", "winreg"),
    ("test.test_support", "test.support"),
    ("Tkinter", "tkinter"),
    ("tkFileDialog", "tkinter.filedialog"),
    ("FileDialog", "tkinter.filedialog"),
];

/// `(module, name)`.
type ModuleName = (&'static str, &'static str);

/// `(module, name)` pairs that move to another module (`_compat_pickle.NAME_MAPPING`,
/// the entries that matter for deciding safety).
const NAME_ALIASES: &[(ModuleName, ModuleName)] = &[
    (("__builtin__", "xrange"), ("builtins", "range")),
    (("__builtin__", "reduce"), ("functools", "reduce")),
    (("__builtin__", "intern"), ("sys", "intern")),
    (("__builtin__", "unichr"), ("builtins", "chr")),
    (("__builtin__", "unicode"), ("builtins", "str")),
    (("__builtin__", "long"), ("builtins", "int")),
    (("__builtin__", "basestring"), ("builtins", "str")),
    (("itertools", "izip"), ("builtins", "zip")),
    (("itertools", "imap"), ("builtins", "map")),
    (("itertools", "ifilter"), ("builtins", "filter")),
    (("_socket", "fromfd"), ("socket", "fromfd")),
    (
        ("_multiprocessing", "Connection"),
        ("multiprocessing.connection", "Connection"),
    ),
    (
        ("multiprocessing.process", "Process"),
        ("multiprocessing.context", "Process"),
    ),
    (
        ("multiprocessing.forking", "Popen"),
        ("multiprocessing.popen_fork", "Popen"),
    ),
    (("urllib", "urlopen"), ("urllib.request", "urlopen")),
    (("urllib", "urlretrieve"), ("urllib.request", "urlretrieve")),
    (
        ("UserDict", "IterableUserDict"),
        ("collections", "UserDict"),
    ),
    (("exceptions", "StandardError"), ("builtins", "Exception")),
];

/// The global as the loader resolves it: `(module, qualname)` after legacy aliases.
pub(crate) fn canonical<'a>(module: &'a str, name: &'a str) -> (&'a str, &'a str) {
    if let Some((_, renamed)) = NAME_ALIASES
        .iter()
        .find(|((m, n), _)| *m == module && *n == name)
    {
        return *renamed;
    }
    let module = MODULE_ALIASES
        .iter()
        .find(|(old, _)| *old == module)
        .map_or(module, |(_, new)| new);
    (module, name)
}

/// `__x__`: a special attribute (`__globals__`, `__builtins__`, `__class__`, ...).
pub(crate) fn is_dunder(component: &str) -> bool {
    component.len() > 4 && component.starts_with("__") && component.ends_with("__")
}

/// Module names that look like dunders but are real, importable modules.
pub(crate) fn is_dunder_module(component: &str) -> bool {
    matches!(
        component,
        "__main__" | "__builtin__" | "__future__" | "__mp_main__"
    )
}

/// `CapWords`, optionally private (`_Private`): the spelling of a class.
pub(crate) fn is_class_name(name: &str) -> bool {
    name.trim_start_matches('_')
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase())
}

/// A Python identifier (ASCII-conservative: non-ASCII letters are accepted too).
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// `a.b.c` made of identifiers.
pub(crate) fn is_dotted_identifier(s: &str) -> bool {
    s.split('.').all(is_identifier)
}

/// True when a dotted qualname walks attributes of something that is not a class:
/// `size.shape`, `dict.get`, `Outer.method`. Nested classes (`Outer.Inner`) are not chains.
pub(crate) fn is_attribute_chain(name: &str) -> bool {
    name.contains('.') && !name.split('.').all(is_class_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_names_map_to_python3_modules() {
        assert_eq!(canonical("__builtin__", "eval"), ("builtins", "eval"));
        assert_eq!(canonical("__builtin__", "reduce"), ("functools", "reduce"));
        assert_eq!(canonical("posixpath", "system"), ("os.path", "system"));
        assert_eq!(
            canonical("commands", "getoutput"),
            ("subprocess", "getoutput")
        );
        assert_eq!(canonical("numpy", "dtype"), ("numpy", "dtype"));
    }

    #[test]
    fn classifies_name_shapes() {
        assert!(
            is_dunder("__builtins__") && !is_dunder("__pyx_unpickle_Tree") && !is_dunder("____")
        );
        assert!(is_class_name("Tree") && is_class_name("_Private") && !is_class_name("newObj"));
        assert!(is_attribute_chain("size.shape") && is_attribute_chain("dict.get"));
        assert!(is_attribute_chain("DataFrame.query") && !is_attribute_chain("Outer.Inner"));
        assert!(
            is_dotted_identifier("numpy._core.multiarray") && !is_dotted_identifier(") 2024 Foo")
        );
        assert!(!is_dotted_identifier("os.") && !is_identifier("1abc"));
    }
}
