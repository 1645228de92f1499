#!/usr/bin/env python3
"""Writes the seed inputs of the tlog_* fuzz targets (fuzz/corpus/tlog_*) from the shared
transparency-log vectors (shared/data/tlog/checkpoint_vectors.json). Standard library only.

    python3 crates/rampart-tlog/scripts/gen_fuzz_seeds.py
"""
import base64
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
VECTORS = os.path.join(ROOT, "..", "shared", "data", "tlog", "checkpoint_vectors.json")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(target, name, text):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)


def main():
    with open(VECTORS, encoding="utf-8") as f:
        v = json.load(f)
    write("tlog_note", "seed-spec-example", v["spec_signed_note_example"]["note"])
    write("tlog_note", "seed-checkpoint-cosigned", v["checkpoint_size8_cosigned"])
    write("tlog_note", "seed-no-blank-line", v["checkpoint_size6"].replace("\n\n", "\n"))
    body8 = v["checkpoint_size8"].split("\n\n")[0] + "\n"
    write("tlog_checkpoint", "seed-body-size8", body8)
    write("tlog_checkpoint", "seed-body-extensions", body8 + "extension line\n")
    write("tlog_checkpoint", "seed-signed-size6", v["checkpoint_size6"])
    write("tlog_checkpoint", "seed-cosigned-size8", v["checkpoint_size8_cosigned"])
    proof = v["tlog_proof_leaf5_size8"]
    leaf = hashlib.sha256(b"\x00" + bytes.fromhex(v["leaf5_input_hex"])).digest()
    write("tlog_proof", "seed-tlog-proof-leaf5", proof)
    write("tlog_proof", "seed-tlog-proof-extra",
          proof.replace("index 5", "extra " + base64.b64encode(leaf).decode() + "\nindex 5", 1))
    write("tlog_proof", "seed-add-checkpoint-6-to-8", v["witness_add_checkpoint_request_6_to_8"])


if __name__ == "__main__":
    main()
