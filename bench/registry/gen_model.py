"""Writes a safetensors file of one F32 tensor holding SIZE bytes of random data.

    python3 gen_model.py PATH SIZE_BYTES

A real model format (not opaque bytes) so that `rampart push` passes its scan gate the way
a published model would; the scanner reads only the header, the tensor data is streamed.
"""

import json
import os
import struct
import sys

CHUNK = 16 << 20


def main() -> None:
    path, size = sys.argv[1], int(sys.argv[2])
    size -= size % 4
    header = json.dumps(
        {"weight": {"dtype": "F32", "shape": [size // 4], "data_offsets": [0, size]}},
        separators=(",", ":"),
    ).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(header)) + header)
        left = size
        while left:
            n = min(CHUNK, left)
            out.write(os.urandom(n))
            left -= n


if __name__ == "__main__":
    main()
