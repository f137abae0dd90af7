#!/usr/bin/python3
"""Golden fixture for the GRU cell of src/models/gru.ts.

Runs torch.nn.GRUCell (PyTorch's own, not a re-implementation) in float64 on a
small seeded input and writes test/fixtures/gru_cell.json: the cell's weights
under PyTorch's names, the input x, the state h, the new state h' and the
gradients of L = sum(h' * dout) with respect to x, h and every parameter.
test/models/rnn.test.ts loads it; CI never needs torch.

Run with Debian's PyTorch:  /usr/bin/python3 scripts/make_rnn_fixtures.py
Deterministic (fixed seed, one thread): two runs write identical files.
"""

import json
import os

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "gru_cell.json")

INPUT, HIDDEN, BATCH = 3, 4, 2

torch.set_num_threads(1)


def flat(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def main():
    torch.manual_seed(12)
    cell = torch.nn.GRUCell(INPUT, HIDDEN).double()
    x = torch.randn(BATCH, INPUT, dtype=torch.float64, requires_grad=True)
    h = torch.randn(BATCH, HIDDEN, dtype=torch.float64, requires_grad=True)
    dout = torch.randn(BATCH, HIDDEN, dtype=torch.float64)
    out = cell(x, h)
    (out * dout).sum().backward()

    # The equations src/models/gru.ts implements, checked against PyTorch's cell.
    H = HIDDEN
    gi = x @ cell.weight_ih.t() + cell.bias_ih
    gh = h @ cell.weight_hh.t() + cell.bias_hh
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    manual = (1 - z) * n + z * h
    err = (manual - out).abs().max().item()
    if err > 1e-12:
        raise SystemExit(f"hand-written GRU equations differ from torch.nn.GRUCell by {err}")

    values = {"x": flat(x), "h": flat(h), "dout": flat(dout), "out": flat(out)}
    values["grad.x"] = flat(x.grad)
    values["grad.h"] = flat(h.grad)
    for name, p in cell.named_parameters():
        values["param." + name] = flat(p)
        values["grad." + name] = flat(p.grad)
    doc = {
        "kind": "gru_cell",
        "config": {"inputSize": INPUT, "hiddenSize": HIDDEN, "batch": BATCH},
        "description": "torch.nn.GRUCell in float64 (torch "
        + torch.__version__
        + "); out = cell(x, h); grads of sum(out * dout).",
        "values": values,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(OUT, os.path.getsize(OUT), "bytes")
    print("OK")


if __name__ == "__main__":
    main()
