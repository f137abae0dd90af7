#!/usr/bin/python3
"""Runs ONNX's own checker (and shape inference) on exported models.

    /usr/bin/python3 scripts/check_onnx.py DIR/encoder.onnx DIR/decoder.onnx ...

Needs Debian's python3-onnx. Prints one line per file and exits 1 on the first failure.
"""

import sys

import onnx


def main():
    for path in sys.argv[1:]:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        opset = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
        print(f"{path}: ok (IR {model.ir_version}, opset {opset}, {len(model.graph.node)} nodes)")


if __name__ == "__main__":
    main()
