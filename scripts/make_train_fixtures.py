#!/usr/bin/python3
"""Golden train-mode parity fixtures for Attention Lab.

Runs a few whole training steps in PyTorch (float64) on tiny models built by hand
like ours (the building blocks of make_fixtures.py; no nn.Transformer* /
nn.MultiheadAttention), with train-mode dropout that uses exactly the masks our
engine draws (mulberry32, re-implemented below), label-smoothed cross-entropy,
gradient clipping by global norm, torch.optim.Adam / AdamW and our learning-rate
schedules. Writes test/fixtures/train_*.safetensors + .json, read by
test/train/train-parity.test.ts. See scripts/README.md.

Run with Debian's PyTorch:  /usr/bin/python3 scripts/make_train_fixtures.py
"""

import math
import os
import re
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (Linear, LayerNorm, init, safetensors writer)

torch.set_num_threads(1)

OUT_DIR = mf.OUT_DIR
PAD_ID, BOS_ID, EOS_ID, FIRST_TOKEN = mf.PAD_ID, mf.BOS_ID, mf.EOS_ID, mf.FIRST_TOKEN
V, D, H, DFF = 24, 16, 2, 32
STEPS = 4
U32 = 0xFFFFFFFF
GOLDEN = 0x6D2B79F5


# --------------------------------------------------------------------------
# The engine's RNG and dropout (src/tensor/random.ts, src/tensor/ops/dropout.ts,
# src/backend/reference/nn.ts `dropout`)
# --------------------------------------------------------------------------


def fround(x):
    """Math.fround: the nearest float32."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def mulberry32_draws(state, n):
    """Draws 1..n of mulberry32 after `state` (counter-based: draw i uses state + i*GOLDEN)."""
    out = []
    for i in range(1, n + 1):
        a = (state + i * GOLDEN) & U32
        t = ((a ^ (a >> 15)) * (1 | a)) & U32
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & U32)) & U32) ^ t
        out.append(t ^ (t >> 14))
    return out


class EngineRng:
    """manualSeed(seed): Mulberry32(seed); dropout takes `state = rng.skip(x.size)`."""

    def __init__(self, seed):
        self.a = seed & U32

    def skip(self, n):
        start = self.a
        self.a = (self.a + n * GOLDEN) & U32
        return start


class DropoutStream:
    """Inverted dropout with the engine's masks: element i (row-major) is kept iff draw
    i+1 after the call's state is >= p * 2^32; kept values are scaled by fround(1/(1-p)).
    p = 0 draws nothing (the op returns its input). Records every call."""

    def __init__(self, rng):
        self.rng = rng
        self.calls = []  # (state, size, p, [bool keep])

    def __call__(self, x, p):
        if p == 0:
            return x
        n = x.numel()
        state = self.rng.skip(n)
        threshold = p * 4294967296.0
        keep = [u >= threshold for u in mulberry32_draws(state, n)]
        self.calls.append((state, n, p, keep))
        scale = fround(1.0 / (1.0 - p))
        mask = torch.tensor(keep, dtype=x.dtype).reshape(x.shape) * scale
        return x * mask


def check_rng():
    # First draws of new Mulberry32(1234).nextU32() and skip(), from src/tensor/random.ts.
    assert mulberry32_draws(1234, 3) == [314799534, 3021131492, 3877737075]
    r = EngineRng(1234)
    r.skip(3)
    s = r.skip(1000)
    assert s == 1199731377, s
    assert mulberry32_draws(r.a, 1) == [744662650]
    assert fround(1 / 0.9) == 1.1111111640930176


# --------------------------------------------------------------------------
# Modules: the layers of make_fixtures.py with dropout where ours has it
# (src/models/blocks.ts, src/models/stack.ts, src/nn/attention.ts)
# --------------------------------------------------------------------------


class Attention(nn.Module):
    def __init__(self, d, heads, bias):
        super().__init__()
        self.heads = heads
        self.dk = d // heads
        self.q_proj = mf.Linear(d, d, bias)
        self.k_proj = mf.Linear(d, d, bias)
        self.v_proj = mf.Linear(d, d, bias)
        self.out_proj = mf.Linear(d, d, bias)

    def split(self, x):
        b, t, _ = x.shape
        return x.reshape(b, t, self.heads, self.dk).transpose(1, 2)

    def forward(self, query, kv, mask, drop, attn_p):
        b, tq, d = query.shape
        q, k, v = self.split(self.q_proj(query)), self.split(self.k_proj(kv)), self.split(self.v_proj(kv))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dk)
        weights = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        weights = drop(weights, attn_p)  # on the weights [B,H,Tq,Tk], GPT-2 style
        heads = torch.matmul(weights, v)
        return self.out_proj(heads.transpose(1, 2).reshape(b, tq, d))


class FFN(nn.Module):
    def __init__(self, d, d_ff, activation):
        super().__init__()
        self.activation = activation
        self.linear1 = mf.Linear(d, d_ff, True)
        self.linear2 = mf.Linear(d_ff, d, True)

    def forward(self, x):
        return self.linear2(mf.activation_fn(self.activation, self.linear1(x)))


class EncoderLayer(nn.Module):
    """Also GPT's block. One dropout after each sub-layer, before the residual add."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.self_attn = Attention(cfg["dModel"], cfg["heads"], cfg["attnBias"])
        self.norm1 = mf.LayerNorm(cfg["dModel"], cfg["lnEps"])
        self.ffn = FFN(cfg["dModel"], cfg["dFF"], cfg["activation"])
        self.norm2 = mf.LayerNorm(cfg["dModel"], cfg["lnEps"])

    def forward(self, x, mask, drop):
        p, ap = self.cfg["dropout"], self.cfg["attnDropout"]
        attn = lambda h: drop(self.self_attn(h, h, mask, drop, ap), p)  # noqa: E731
        ffn = lambda h: drop(self.ffn(h), p)  # noqa: E731
        if self.cfg["normPlacement"] == "post":
            n1 = self.norm1(x + attn(x))
            return self.norm2(n1 + ffn(n1))
        r1 = x + attn(self.norm1(x))
        return r1 + ffn(self.norm2(r1))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg["dModel"]
        self.self_attn = Attention(d, cfg["heads"], cfg["attnBias"])
        self.cross_attn = Attention(d, cfg["heads"], cfg["attnBias"])
        self.norm1 = mf.LayerNorm(d, cfg["lnEps"])
        self.norm2 = mf.LayerNorm(d, cfg["lnEps"])
        self.norm3 = mf.LayerNorm(d, cfg["lnEps"])
        self.ffn = FFN(d, cfg["dFF"], cfg["activation"])

    def forward(self, x, memory, self_mask, cross_mask, drop):
        assert self.cfg["normPlacement"] == "post"
        p, ap = self.cfg["dropout"], self.cfg["attnDropout"]
        n1 = self.norm1(x + drop(self.self_attn(x, x, self_mask, drop, ap), p))
        n2 = self.norm2(n1 + drop(self.cross_attn(n1, memory, cross_mask, drop, ap), p))
        return self.norm3(n2 + drop(self.ffn(n2), p))


class EncoderDecoder(nn.Module):
    """The paper's model: post-LN, sinusoidal positions, one embedding for source, target
    and output, scaled by sqrt(d) at the input. The encoder runs fully before the decoder."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = mf.Embedding(cfg["vocabSize"], cfg["dModel"])
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList([EncoderLayer(cfg) for _ in range(cfg["encoderLayers"])])
        self.decoder = nn.Module()
        self.decoder.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg["decoderLayers"])])

    def stack_input(self, ids, drop):
        d = self.cfg["dModel"]
        x = self.embed(ids) * math.sqrt(d) + mf.sinusoidal_pe(ids.shape[1], d, self.embed.weight.dtype)
        return drop(x, self.cfg["dropout"])

    def forward(self, batch, drop):
        src, tgt_in, tgt_out = batch["src"], batch["tgt_in"], batch["tgt_out"]
        b, s = src.shape
        t = tgt_in.shape[1]
        src_pad, tgt_pad = src == PAD_ID, tgt_in == PAD_ID
        x = self.stack_input(src, drop)
        for layer in self.encoder.layers:
            x = layer(x, mf.build_mask(b, s, s, src_pad), drop)
        y = self.stack_input(tgt_in, drop)
        for layer in self.decoder.layers:
            y = layer(y, x, mf.build_mask(b, t, t, tgt_pad, causal=True), mf.build_mask(b, t, s, src_pad), drop)
        logits = torch.matmul(y, self.embed.weight.t())
        eps = self.cfg["labelSmoothing"]
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1).long(),
            ignore_index=PAD_ID, label_smoothing=eps,
        )
        if logits.dtype == torch.float64:
            ref = mf.label_smoothed_ce(logits, tgt_out, eps, ignore_index=PAD_ID)
            assert torch.allclose(loss, ref, rtol=1e-12, atol=0), (loss, ref)
        return loss


class GPT(nn.Module):
    """Pre-LN blocks with a causal mask, learned positions, final norm, tied head."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok_embed = mf.Embedding(cfg["vocabSize"], cfg["dModel"])
        self.pos_embed = mf.Embedding(cfg["maxLen"], cfg["dModel"])
        self.layers = nn.ModuleList([EncoderLayer(cfg) for _ in range(cfg["layers"])])
        self.norm = mf.LayerNorm(cfg["dModel"], cfg["lnEps"])

    def forward(self, batch, drop):
        tokens, targets = batch["tokens"], batch["targets"]
        b, t = tokens.shape
        x = drop(self.tok_embed(tokens) + self.pos_embed.weight[:t], self.cfg["dropout"])
        mask = mf.build_mask(b, t, t, None, causal=True)
        for layer in self.layers:
            x = layer(x, mask, drop)
        logits = torch.matmul(self.norm(x), self.tok_embed.weight.t())
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long(),
            label_smoothing=self.cfg["labelSmoothing"],
        )


# --------------------------------------------------------------------------
# Optimiser pieces: schedules (src/train/schedules.ts), decay mask (src/train/optim.ts)
# --------------------------------------------------------------------------


def paper_lr(n, d_model, warmup):
    return d_model**-0.5 * min(n**-0.5, n * warmup**-1.5)


def cosine_lr(n, progress, peak, warmup, min_lr):
    """cosineSchedule as the Trainer calls it, schedule(n, progress) with progress =
    n / maxSteps: half a cosine over the whole horizon, times n / warmup during warm-up."""
    p = min(1.0, max(0.0, progress))
    lr = min_lr + (peak - min_lr) * 0.5 * (1 + math.cos(math.pi * p))
    return lr * n / warmup if n < warmup else lr


def schedule_fn(sched, max_steps):
    if sched["type"] == "paper":
        return lambda n: paper_lr(n, sched["dModel"], sched["warmup"])
    assert sched["type"] == "cosine"
    return lambda n: cosine_lr(n, n / max_steps, sched["peakLr"], sched["warmup"], sched["minLr"])


def decays(name):
    """decayMask's default rule: no decay for biases, norms, embedding tables."""
    parts = name.lower().split(".")
    mod = parts[-2] if len(parts) > 1 else ""
    if parts[-1] == "bias":
        return False
    if "norm" in mod or (mod.startswith("ln") and (mod[2:].isdigit() or mod[2:3] in ("", "_"))):
        return False
    return "embed" not in mod


def manual_adam(p, g, m, v, step, lr, b1, b2, eps, wd):
    """Our kernel's formula (src/backend/reference/nn.ts `adam`), to check torch's step."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    step_size = lr / (1 - b1**step)
    p = p * (1 - lr * wd) - step_size * m / (torch.sqrt(v) / math.sqrt(1 - b2**step) + eps)
    return p, m, v


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def train(model, batches, spec, dtype):
    """K steps as src/train/trainer.ts does them: zero grads, forward, backward, clip
    (torch.nn.utils.clip_grad_norm_), lr = schedule(n), optimizer step."""
    model = model.to(dtype)
    named = list(model.named_parameters())
    adam = spec["adam"]
    groups = [
        {"params": [p for n, p in named if decays(n)], "weight_decay": adam["weightDecay"]},
        {"params": [p for n, p in named if not decays(n)], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    cls = torch.optim.AdamW if adam["weightDecay"] > 0 else torch.optim.Adam
    opt = cls(groups, lr=1.0, betas=(adam["beta1"], adam["beta2"]), eps=adam["eps"], foreach=False)
    lr_of = schedule_fn(spec["schedule"], spec["steps"])
    rng = EngineRng(spec["seed"])
    moments = {n: (torch.zeros_like(p), torch.zeros_like(p)) for n, p in named}
    steps = []
    for n, batch in enumerate(batches, start=1):
        lr = lr_of(n)
        opt.zero_grad(set_to_none=True)
        drop = DropoutStream(rng)
        model.train()
        loss = model(batch, drop)
        loss.backward()
        grads = {name: p.grad.detach().clone() for name, p in named}
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), spec["clipNorm"]))
        for g in opt.param_groups:
            g["lr"] = lr
        before = {name: p.detach().clone() for name, p in named}
        opt.step()
        if dtype == torch.float64:  # torch's Adam/AdamW step == our kernel's formula
            for name, p in named:
                m, v = moments[name]
                wd = adam["weightDecay"] if decays(name) else 0.0
                want, m, v = manual_adam(
                    before[name], p.grad, m, v, n, lr, adam["beta1"], adam["beta2"], adam["eps"], wd
                )
                moments[name] = (m, v)
                assert torch.allclose(p.detach(), want, rtol=1e-13, atol=1e-15), name
        steps.append({
            "lr": lr,
            "loss": float(loss),
            "gradNorm": norm,
            "grads": grads,
            "params": {name: p.detach().clone() for name, p in named},
            "calls": drop.calls,
            "rngAfter": rng.a,
        })
    return steps


def invariant_params(steps):
    """Parameters whose gradient is zero in exact arithmetic but not numerically: every
    element below 1e-10 of the global norm yet not all exactly zero (e.g. a key-projection
    bias, to which softmax is shift-invariant)."""
    names = set()
    for name in steps[0]["grads"]:
        gs = [s["grads"][name] for s in steps]
        tiny = all(float(g.abs().max()) < 1e-10 * s["gradNorm"] for g, s in zip(gs, steps))
        if tiny and any(bool((g != 0).any()) for g in gs):
            names.add(name)
    return sorted(names)


def check_no_near_zero(steps, steps32, invariant):
    """Adam's first update is lr*g/(|g| + eps) ~ lr*sign(g): a gradient element that is a
    near-cancellation could flip sign in float32 and move its weight by 2*lr. (From step 2
    on, m and v carry step 1's gradient, so a tiny g no longer decides the sign.) Require
    every nonzero step-1 element to be above 1e-5 of its tensor's largest (float32 sums
    of a few hundred terms err by ~1e-7 of the terms: 100x margin), and the float32 torch
    run of the same step to agree with float64 on each element within 1e-2 relative
    (a flip is an error of 1).
    Exact zeros (position rows past T) are zero in any precision."""
    worst, worst32 = (1.0, None), (0.0, None)
    for name, g in steps[0]["grads"].items():
        if name in invariant:
            continue
        a = g.abs()
        nz = a > 0
        if not bool(nz.any()):
            continue
        r = float(a[nz].min() / a.max())
        if r < worst[0]:
            worst = (r, name)
        e = float(((steps32[0]["grads"][name].double() - g).abs()[nz] / a[nz]).max())
        if e > worst32[0]:
            worst32 = (e, name)
    assert worst[0] > 1e-5, "near-zero step-1 gradient element: %r" % (worst,)
    assert worst32[0] < 1e-2, "float32 step-1 gradient element off by: %r" % (worst32,)
    return worst, worst32


def pack_bits(bits):
    words = [0] * ((len(bits) + 31) // 32)
    for i, b in enumerate(bits):
        if b:
            words[i >> 5] |= 1 << (i & 31)
    return torch.tensor([w - (1 << 32) if w >= 1 << 31 else w for w in words], dtype=torch.int64)


WRITTEN = []
SCALAR = re.compile(r'^ *("[^"]*"|-?[0-9][-+.0-9eE]*|true|false|null),?$')


def write_json(path, obj):
    """mf.write_json, then an array of scalars on one line where it fits in 100 columns,
    as Biome's formatter has it (the JSON files are linted)."""
    mf.write_json(path, obj)
    lines, out, i = open(path).read().split("\n"), [], 0
    while i < len(lines):
        line, j = lines[i], i + 1
        while line.endswith("[") and j < len(lines) and SCALAR.match(lines[j]):
            j += 1
        if line.endswith("[") and j > i + 1 and j < len(lines) and lines[j].strip() in ("]", "],"):
            items = ", ".join(l.strip().rstrip(",") for l in lines[i + 1 : j])
            one = line + items + lines[j].strip()
            if len(one) <= 100:
                out.append(one)
                i = j + 1
                continue
        out.append(line)
        i += 1
    with open(path, "w") as f:
        f.write("\n".join(out))


def write_fixture(name, kind, cfg, spec, description, init, batches, steps, shadow, extra):
    tensors = {"param." + n: p.float() for n, p in init.items()}
    meta_steps = []
    for k, (batch, s) in enumerate(zip(batches, steps), start=1):
        for iname, v in batch.items():
            tensors["input.step%d.%s" % (k, iname)] = v
        for pname, p in s["params"].items():
            tensors["step%d.param.%s" % (k, pname)] = p
        bits = [b for c in s["calls"] for b in c[3]]
        tensors["step%d.dropout_keep" % k] = pack_bits(bits)
        meta_steps.append({
            "lr": s["lr"],
            "loss": s["loss"],
            "gradNorm": s["gradNorm"],
            "clipped": s["gradNorm"] > spec["clipNorm"],
            "dropout": [{"state": c[0], "size": c[1], "p": c[2]} for c in s["calls"]],
            "rngAfter": s["rngAfter"],
        })
    base = os.path.join(OUT_DIR, name)
    meta = {"fixture": name, "kind": kind, "generator": "scripts/make_train_fixtures.py"}
    mf.write_safetensors(base + ".safetensors", tensors, meta)
    doc = {"kind": kind, "config": cfg, "train": spec, "description": description}
    doc.update(extra)
    doc["steps"] = meta_steps
    doc["float32Torch"] = shadow
    write_json(base + ".json", doc)
    _, back = mf.read_safetensors(base + ".safetensors")
    assert sorted(back) == sorted(tensors)
    for k, v in tensors.items():
        ref = v.detach().float() if v.is_floating_point() else v.to(torch.int32)
        assert torch.equal(back[k], ref), k
    WRITTEN.extend([base + ".safetensors", base + ".json"])


def shadow_report(steps64, steps32, invariant):
    """The same steps in float32 torch, with the same masks: how far a float32 engine
    drifts from float64 (a yardstick for the test's tolerances, written to the JSON).
    A weight's error grows with the learning rate it has seen: paramErrPerLrSum is the
    worst error divided by the sum of the lrs so far."""
    out = []
    lr_sum = 0.0
    for s64, s32 in zip(steps64, steps32):
        lr_sum += s64["lr"]
        worst = 0.0
        for name, p in s64["params"].items():
            if name in invariant:
                continue
            worst = max(worst, float((s32["params"][name].double() - p).abs().max()))
        out.append({
            "lossRelErr": abs(s32["loss"] - s64["loss"]) / abs(s64["loss"]),
            "gradNormRelErr": abs(s32["gradNorm"] - s64["gradNorm"]) / s64["gradNorm"],
            "paramMaxAbsErr": worst,
            "paramErrPerLrSum": worst / lr_sum,
        })
    return out


def run_fixture(name, kind, model_cls, cfg, spec, description, seed, batches):
    gen = torch.Generator().manual_seed(seed)
    model = model_cls(cfg)
    mf.init_params(model, gen)
    init = {n: p.detach().clone() for n, p in model.named_parameters()}
    steps = train(model, batches, spec, torch.float64)
    model32 = model_cls(cfg)
    with torch.no_grad():
        for n, p in model32.named_parameters():
            p.copy_(init[n])
    steps32 = train(model32, batches, spec, torch.float32)
    invariant = invariant_params(steps)
    worst, worst32 = check_no_near_zero(steps, steps32, invariant)
    shadow = shadow_report(steps, steps32, invariant)
    # Clipping must be on in one step and off in another, each clearly (5% margin), and on
    # in a step after the first (Adam's first step does not see the gradient's scale).
    ratios = [s["gradNorm"] / spec["clipNorm"] for s in steps]
    print(name, ratios)
    assert all(abs(r - 1) > 0.05 for r in ratios), ratios
    assert any(r > 1 for r in ratios[1:]) and any(r < 1 for r in ratios), ratios
    # Each mask keeps about 1 - p.
    for c in [c for s in steps for c in s["calls"]]:
        kept = sum(c[3]) / c[1]
        assert abs(kept - (1 - c[2])) < 0.1, kept
    extra = {
        "invariant": invariant,
        "decayed": [n for n, _ in model.named_parameters() if spec["adam"]["weightDecay"] > 0 and decays(n)],
    }
    write_fixture(name, kind, cfg, spec, description, init, batches, steps, shadow, extra)
    print("%s: loss %s" % (name, " ".join("%.4f" % s["loss"] for s in steps)))
    print("  grad norm / clip: %s" % " ".join("%.3f" % r for r in ratios))
    print("  lr: %s" % " ".join("%.5f" % s["lr"] for s in steps))
    print("  step 1: smallest gradient element / tensor max: %.2e (%s)" % worst)
    print("  step 1: float32 torch gradient, worst element relative error: %.2e (%s)" % worst32)
    print("  invariant: %s" % (invariant or "none"))
    print("  float32 torch vs float64: %s" % shadow)


# --------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------


def tokens(gen, lengths, t):
    ids = torch.randint(FIRST_TOKEN, V, (len(lengths), t), generator=gen, dtype=torch.int64)
    keep = torch.tensor([[1 if j < n else 0 for j in range(t)] for n in lengths])
    return (ids * keep).to(torch.int32)


def seq2seq_batch(gen, src_lengths, tgt_lengths):
    """tgt length n: tgt_in = [BOS, y1..y(n-1), PAD...], tgt_out = [y1..y(n-1), EOS, PAD...]."""
    src = tokens(gen, src_lengths, max(src_lengths))
    t = max(tgt_lengths)
    body = tokens(gen, [n - 1 for n in tgt_lengths], t)
    tgt_in = torch.zeros(len(tgt_lengths), t, dtype=torch.int32)
    tgt_out = torch.zeros(len(tgt_lengths), t, dtype=torch.int32)
    for r, n in enumerate(tgt_lengths):
        tgt_in[r, 0] = BOS_ID
        tgt_in[r, 1:n] = body[r, : n - 1]
        tgt_out[r, : n - 1] = body[r, : n - 1]
        tgt_out[r, n - 1] = EOS_ID
    return {"src": src, "tgt_in": tgt_in, "tgt_out": tgt_out}


def lm_batch(gen, b, t):
    seq = torch.randint(FIRST_TOKEN, V, (b, t + 1), generator=gen, dtype=torch.int64)
    return {
        "tokens": seq[:, :t].to(torch.int32).contiguous(),
        "targets": seq[:, 1:].to(torch.int32).contiguous(),
    }


def common_cfg(**kw):
    cfg = {
        "vocabSize": V, "dModel": D, "heads": H, "dFF": DFF,
        "dropout": 0.1, "attnDropout": 0.0, "normPlacement": "post", "positional": "sinusoidal",
        "maxLen": 16, "activation": "relu", "attnBias": False, "lnEps": mf.LN_EPS,
        "labelSmoothing": 0.1, "padId": PAD_ID, "bosId": BOS_ID, "eosId": EOS_ID,
        "scaleEmbedding": True, "tieEmbeddings": True,
    }
    cfg.update(kw)
    return cfg


def main():
    t0 = time.time()
    os.makedirs(OUT_DIR, exist_ok=True)
    check_rng()

    gen = torch.Generator().manual_seed(201)
    lengths = [
        ([7, 5, 4], [6, 4, 3]),
        ([6, 6, 3, 2], [5, 2, 5, 4]),
        ([8, 4, 7], [7, 6, 2]),
        ([5, 3, 5], [4, 4, 6]),
    ]
    batches = [seq2seq_batch(gen, s, t) for s, t in lengths]
    assert all(bool((b["src"] == PAD_ID).any()) and bool((b["tgt_out"] == PAD_ID).any()) for b in batches)
    run_fixture(
        "train_encdec", "train_encdec", EncoderDecoder,
        dict(common_cfg(encoderLayers=2, decoderLayers=2)),
        {
            "seed": 4321, "steps": STEPS, "labelSmoothing": 0.1, "clipNorm": 2.0,
            "schedule": {"type": "paper", "dModel": D, "warmup": 3},
            "adam": {"beta1": 0.9, "beta2": 0.98, "eps": 1e-9, "weightDecay": 0.0},
        },
        "The paper's model (post-LN, sinusoidal, shared tied embedding x sqrt(d), no attention "
        "biases, ReLU) trained 4 steps on padded batches: dropout 0.1 with the engine's masks, "
        "label smoothing 0.1, clipping by global norm, Adam (0.9, 0.98, 1e-9), the paper's "
        "schedule with warm-up 3.",
        202, batches,
    )

    gen = torch.Generator().manual_seed(301)
    batches = [lm_batch(gen, 3, 7) for _ in range(STEPS)]
    run_fixture(
        "train_gpt", "train_gpt", GPT,
        dict(common_cfg(layers=2, dropout=0.1, attnDropout=0.1, normPlacement="pre",
                        positional="learned", activation="gelu_tanh", attnBias=True,
                        labelSmoothing=0.0, scaleEmbedding=False)),
        {
            "seed": 8765, "steps": STEPS, "labelSmoothing": 0.0, "clipNorm": 3.3,
            "schedule": {"type": "cosine", "peakLr": 0.01, "warmup": 2, "totalSteps": STEPS,
                         "minLr": 0.0005},
            "adam": {"beta1": 0.9, "beta2": 0.98, "eps": 1e-9, "weightDecay": 0.1},
        },
        "GPT (pre-LN, learned positions, tanh GELU, attention biases, tied head) trained 4 "
        "steps: dropout 0.1 on embeddings and sub-layer outputs and 0.1 on attention weights "
        "with the engine's masks, clipping by global norm, AdamW (decoupled decay 0.1 on "
        "decayMask's weights), the cosine schedule as the Trainer calls it (progress = step / 4).",
        319, batches,
    )

    total = 0
    for path in WRITTEN:
        size = os.path.getsize(path)
        total += size
        print("%8d  %s" % (size, os.path.relpath(path, mf.ROOT)))
    print("total %d bytes" % total)
    assert total < 1024 * 1024, "fixtures exceed 1 MB"
    print("OK (%.2fs)" % (time.time() - t0))


if __name__ == "__main__":
    sys.exit(main())
