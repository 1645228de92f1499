"""Writes a PyTorch-style zip64 checkpoint whose tensor member is a sparse hole, so a
multi-GB checkpoint costs no disk and no time to create, yet every reader sees its full size.
Shows that scan time does not grow with tensor data:

    python3 bench/make_huge_checkpoint.py /tmp/ckpt_10g.pt 10
    time target/release/rampart scan /tmp/ckpt_10g.pt

Usage: make_huge_checkpoint.py OUT SIZE_GIB. Nothing is loaded or executed."""
import io, pickle, struct, sys, zlib, collections, types

out, gib = sys.argv[1], float(sys.argv[2])
size = int(gib * (1 << 30))

torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
class FloatStorage: pass
FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
def _rebuild_tensor_v2(*a): raise RuntimeError
_rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
torch.FloatStorage = FloatStorage; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
class Ref:
    pass
class T:
    def __reduce__(self):
        return (_rebuild_tensor_v2, (REF, 0, (size // 4,), (1,), False, collections.OrderedDict()))
REF = Ref()
class P(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", FloatStorage, "0", "cpu", size // 4) if obj is REF else None
buf = io.BytesIO(); P(buf, protocol=2).dump(collections.OrderedDict([("w", T())])); pkl = buf.getvalue()

members = [("model/data.pkl", pkl), ("model/version", b"3\n"), ("model/data/0", None)]
central = b""; f = open(out, "wb")
for name, data in members:
    offset = f.tell(); n = name.encode()
    length = size if data is None else len(data)
    crc = 0 if data is None else zlib.crc32(data)
    extra = struct.pack("<HHQQ", 1, 16, length, length)
    f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(n), len(extra)) + n + extra)
    if data is None:
        f.seek(length, 1)
    else:
        f.write(data)
    cextra = struct.pack("<HHQQQ", 1, 24, length, length, offset)
    central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(n), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + n + cextra
cd_offset = f.tell(); f.write(central); z64 = f.tell()
f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(members), len(members), len(central), cd_offset))
f.write(struct.pack("<IIQI", 0x07064B50, 0, z64, 1))
f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
f.close()
