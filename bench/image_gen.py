"""Assembles `docker save` archives for bench/image_bench.sh without a container engine.

The small image is built from this machine's real package databases: /etc/os-release,
/etc/debian_version, /var/lib/dpkg/status (a Debian system's, hundreds of packages) and the `*.dist-info`
metadata of a Python venv's site-packages, laid out as a Debian image with Python in
/usr/local/lib/python3.11/site-packages. The large image adds one layer holding a
model of the requested size: a safetensors file (a valid header, then zero weights) or, with
`--model-format pytorch`, a `pytorch_model.bin` laid out as `torch.save` writes it (the
pickle first, stored members whose sizes follow in data descriptors, data aligned to 64
bytes, eight zero-filled tensor storages, ZIP64 end records).

    python3 image_gen.py OUT.tar --site-packages DIR [--model-gib N] [--model-format F] [--gzip]

With --gzip the layers are stored gzip-compressed (as registries serve them and `skopeo copy
docker-archive:` keeps them); the config's diff ids stay those of the uncompressed tars.
"""
import argparse
import gzip
import shutil
import hashlib
import io
import json
import os
import pickle
import struct
import tarfile
import zlib

SITE = "usr/local/lib/python3.11/site-packages"
CHUNK = 1 << 20


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def base_layer(path, site_packages):
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        with open("/etc/os-release", "rb") as f:
            add_bytes(tar, "usr/lib/os-release", f.read())
        link = tarfile.TarInfo("etc/os-release")
        link.type = tarfile.SYMTYPE
        link.linkname = "../usr/lib/os-release"
        tar.addfile(link)
        with open("/etc/debian_version", "rb") as f:
            add_bytes(tar, "etc/debian_version", f.read())
        with open("/var/lib/dpkg/status", "rb") as f:
            add_bytes(tar, "var/lib/dpkg/status", f.read())
        for entry in sorted(os.listdir(site_packages)):
            if not entry.endswith(".dist-info"):
                continue
            for name in ("METADATA", "RECORD", "INSTALLER", "WHEEL"):
                source = os.path.join(site_packages, entry, name)
                if os.path.isfile(source):
                    with open(source, "rb") as f:
                        add_bytes(tar, f"{SITE}/{entry}/{name}", f.read())
        add_bytes(tar, "app/serve.py", b"print('serving')\n")


class Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def model_layer(path, gib):
    weights = int(gib * (1 << 30)) // 4 * 4
    header = json.dumps(
        {"weight": {"dtype": "F32", "shape": [weights // 4], "data_offsets": [0, weights]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    prefix = len(header).to_bytes(8, "little") + header
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("models/model.safetensors")
        info.size = len(prefix) + weights
        info.mode = 0o644
        stream = io.BufferedReader(Zeros(weights), CHUNK)
        tar.addfile(info, _Concat(prefix, stream))


class _Storage:
    """Pickles as a persistent id for storage `key`, like torch.save's."""

    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class _Rebuild:
    """Pickles as `torch._utils._rebuild_tensor_v2(storage, 0, (numel,), (1,), False, {})`
    without torch: the GLOBAL is written by name, nothing is imported."""

    def __init__(self, storage):
        self.storage = storage


class _TorchPickler(pickle._Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", _GlobalRef("torch", "FloatStorage"), obj.key, "cpu", obj.numel)
        return None

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _GlobalRef):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            return
        if isinstance(obj, _Rebuild):
            self.save(_GlobalRef("torch._utils", "_rebuild_tensor_v2"))
            self.save((obj.storage, 0, (obj.storage.numel,), (1,), False, {}))
            self.write(pickle.REDUCE)
            return
        super().save(obj, save_persistent_id)


class _GlobalRef:
    def __init__(self, module, name):
        self.module, self.name = module, name


def pytorch_zip(path, gib, tensors=8):
    """A sparse file: tensor storages are holes, so writing it costs no disk or time."""
    per_tensor = int(gib * (1 << 30)) // tensors // 4 * 4
    state = {f"layer.{i}.weight": _Rebuild(_Storage(str(i), per_tensor // 4)) for i in range(tensors)}
    buf = io.BytesIO()
    _TorchPickler(buf, protocol=2).dump(state)
    zero_crc = 0
    zeros = bytes(CHUNK)
    for _ in range(per_tensor // CHUNK):
        zero_crc = zlib.crc32(zeros, zero_crc)
    zero_crc = zlib.crc32(bytes(per_tensor % CHUNK), zero_crc)
    members = [("archive/data.pkl", buf.getvalue()), ("archive/byteorder", b"little")]
    members += [(f"archive/data/{i}", None) for i in range(tensors)]
    members += [("archive/version", b"3\n"), ("archive/.data/serialization_id", b"0" * 40)]
    central = b""
    with open(path, "wb") as f:
        for name, data in members:
            offset, n = f.tell(), name.encode()
            length = per_tensor if data is None else len(data)
            crc = zero_crc if data is None else zlib.crc32(data)
            pad = -(offset + 30 + len(n) + 4) % 64
            extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 8, 0, 0, 0, 0, 0, 0, len(n), len(extra)))
            f.write(n + extra)
            if data is None:
                f.seek(length, 1)
            else:
                f.write(data)
            wide = length >= 0xFFFFFFFF
            f.write(struct.pack("<IIQQ" if wide else "<IIII", 0x08074B50, crc, length, length))
            cextra = struct.pack("<HHQQQ", 1, 24, length, length, offset)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 8, 0, 0, 0, crc, 0xFFFFFFFF,
                                   0xFFFFFFFF, len(n), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + n + cextra
        cd_offset = f.tell()
        f.write(central)
        z64 = f.tell()
        f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(members), len(members),
                            len(central), cd_offset))
        f.write(struct.pack("<IIQI", 0x07064B50, 0, z64, 1))
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))


def pytorch_layer(path, gib):
    model = path + ".bin"
    pytorch_zip(model, gib)
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        tar.add(model, arcname="models/pytorch_model.bin")
    os.remove(model)


class _Concat(io.RawIOBase):
    def __init__(self, first, rest):
        self.first = first
        self.rest = rest

    def read(self, n=-1):
        # tarfile needs every read to return all `n` bytes until the end.
        out = b""
        if self.first:
            out, self.first = self.first[:n], self.first[n:]
        if n < 0 or len(out) < n:
            out += self.rest.read(-1 if n < 0 else n - len(out))
        return out


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--site-packages", required=True)
    parser.add_argument("--model-gib", type=float, default=0)
    parser.add_argument("--model-format", choices=["safetensors", "pytorch"], default="safetensors")
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()
    work = args.out + ".parts"
    os.makedirs(work, exist_ok=True)
    layers = [os.path.join(work, "base.tar")]
    base_layer(layers[0], args.site_packages)
    if args.model_gib > 0:
        layers.append(os.path.join(work, "model.tar"))
        if args.model_format == "pytorch":
            pytorch_layer(layers[1], args.model_gib)
        else:
            model_layer(layers[1], args.model_gib)
    diff_ids = [f"sha256:{sha256_file(layer)}" for layer in layers]
    if args.gzip:
        for layer in layers:
            with open(layer, "rb") as raw, gzip.open(layer + ".gz", "wb", compresslevel=1) as packed:
                shutil.copyfileobj(raw, packed, CHUNK)
            os.replace(layer + ".gz", layer)
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {"User": "10001", "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
                   "Cmd": ["python3", "/app/serve.py"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"COPY layer {i} / # buildkit"} for i in range(len(layers))],
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    names = [f"{d[len('sha256:'):]}/layer.tar" for d in diff_ids]
    manifest = json.dumps([{"Config": config_name, "RepoTags": ["bench/model-server:1.0"],
                            "Layers": names}]).encode()
    with tarfile.open(args.out, "w", format=tarfile.GNU_FORMAT) as tar:
        add_bytes(tar, "manifest.json", manifest)
        add_bytes(tar, config_name, config)
        for layer, name in zip(layers, names):
            tar.add(layer, arcname=name)
    for layer in layers:
        os.remove(layer)
    os.rmdir(work)


if __name__ == "__main__":
    main()
