#!/usr/bin/python3
"""Golden parity fixtures for Attention Lab.

Builds small Transformer modules in PyTorch from the documented definitions in
scripts/README.md (hand-written: no nn.MultiheadAttention / nn.Transformer*),
runs them in float64, and writes test/fixtures/NAME.safetensors + NAME.json and
test/fixtures/param_counts.json.

Run with Debian's PyTorch:  /usr/bin/python3 scripts/make_fixtures.py
"""

import json
import math
import os
import re
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")

PAD_ID = 0
BOS_ID = 1
EOS_ID = 2
FIRST_TOKEN = 3  # ordinary tokens are drawn from FIRST_TOKEN..V-1
LN_EPS = 1e-5

torch.set_num_threads(1)  # bit-stable float64 results across machines


# --------------------------------------------------------------------------
# Recording of intermediates
# --------------------------------------------------------------------------


class Recorder:
    """Collects named intermediates (detached) during one forward pass."""

    def __init__(self):
        self.values = {}

    def __call__(self, name, tensor):
        if name in self.values:
            raise KeyError("intermediate recorded twice: " + name)
        self.values[name] = tensor.detach().clone()
        return tensor


def join(prefix, name):
    return prefix + "." + name if prefix else name


# --------------------------------------------------------------------------
# Modules (hand-written from the definitions)
# --------------------------------------------------------------------------


def new_param(shape, device):
    return nn.Parameter(torch.empty(*shape, dtype=torch.float32, device=device))


class Linear(nn.Module):
    """y = x W^T + b, W: [out, in]."""

    def __init__(self, d_in, d_out, bias=True, device=None):
        super().__init__()
        self.weight = new_param((d_out, d_in), device)
        self.bias = new_param((d_out,), device) if bias else None

    def forward(self, x):
        y = torch.matmul(x, self.weight.t())
        if self.bias is not None:
            y = y + self.bias
        return y


class LayerNorm(nn.Module):
    """Biased variance over the last axis, learned gain `weight` and `bias`."""

    def __init__(self, d, eps=LN_EPS, device=None):
        super().__init__()
        self.eps = eps
        self.weight = new_param((d,), device)
        self.bias = new_param((d,), device)

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class Embedding(nn.Module):
    def __init__(self, n, d, device=None):
        super().__init__()
        self.weight = new_param((n, d), device)

    def forward(self, ids):
        return self.weight[ids.long()]


def activation_fn(name, x):
    if name == "relu":
        return torch.clamp(x, min=0)
    if name == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name == "gelu_tanh":
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    raise ValueError(name)


class FeedForward(nn.Module):
    def __init__(self, d, d_ff, activation, device=None):
        super().__init__()
        self.activation = activation
        self.linear1 = Linear(d, d_ff, True, device)
        self.linear2 = Linear(d_ff, d, True, device)

    def forward(self, x, rec, prefix):
        h = rec(join(prefix, "hidden"), activation_fn(self.activation, self.linear1(x)))
        return rec(join(prefix, "out"), self.linear2(h))


def sinusoidal_pe(n_pos, d, dtype=torch.float64):
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(same)."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, d, 2, dtype=torch.float64)[None, :]
    angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), two_i / d)
    pe = torch.zeros(n_pos, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d // 2])
    return pe.to(dtype)


def rope_rotate(x):
    """Rotate-half RoPE on x [B,H,T,dk]; positions 0..T-1."""
    dk = x.shape[-1]
    half = dk // 2
    t = x.shape[-2]
    i = torch.arange(half, dtype=torch.float64)
    theta = torch.pow(torch.tensor(10000.0, dtype=torch.float64), -2.0 * i / dk)
    angle = torch.arange(t, dtype=torch.float64)[:, None] * theta[None, :]  # [T, dk/2]
    cos = torch.cos(angle).to(x.dtype)
    sin = torch.sin(angle).to(x.dtype)
    x1 = x[..., :half]
    x2 = x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def alibi_slopes(h):
    return torch.tensor([2.0 ** (-8.0 * (k + 1) / h) for k in range(h)], dtype=torch.float64)


def alibi_bias(h, tq, tk, dtype):
    """[H, Tq, Tk] = -m_h * |i - j|."""
    i = torch.arange(tq, dtype=torch.float64)[:, None]
    j = torch.arange(tk, dtype=torch.float64)[None, :]
    return (-alibi_slopes(h)[:, None, None] * (i - j).abs()[None]).to(dtype)


def build_mask(b, tq, tk, key_padding=None, causal=False, device=None):
    """Bool [B,1,Tq,Tk], True = masked. key_padding: [B,Tk] (nonzero = PAD)."""
    mask = torch.zeros(b, 1, tq, tk, dtype=torch.bool, device=device)
    if key_padding is not None:
        mask = mask | (key_padding != 0)[:, None, None, :]
    if causal:
        j = torch.arange(tk)[None, :]
        i = torch.arange(tq)[:, None]
        mask = mask | (j > i)[None, None]
    return mask


class MultiHeadAttention(nn.Module):
    def __init__(self, d, heads, bias, device=None):
        super().__init__()
        assert d % heads == 0
        self.d = d
        self.heads = heads
        self.dk = d // heads
        self.q_proj = Linear(d, d, bias, device)
        self.k_proj = Linear(d, d, bias, device)
        self.v_proj = Linear(d, d, bias, device)
        self.out_proj = Linear(d, d, bias, device)

    def split(self, x):
        b, t, _ = x.shape
        return x.reshape(b, t, self.heads, self.dk).transpose(1, 2)

    def forward(self, query, kv, mask, rec, prefix, positional=None):
        """positional: None | "rope" | "alibi" (only for self-attention)."""
        b, tq, _ = query.shape
        tk = kv.shape[1]
        q = self.split(self.q_proj(query))
        k = self.split(self.k_proj(kv))
        v = self.split(self.v_proj(kv))
        if positional == "rope":
            q = rope_rotate(q)
            k = rope_rotate(k)
        rec(join(prefix, "q"), q)
        rec(join(prefix, "k"), k)
        rec(join(prefix, "v"), v)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dk)
        if positional == "alibi":
            scores = scores + alibi_bias(self.heads, tq, tk, scores.dtype)[None]
        rec(join(prefix, "scores"), scores)
        masked = scores
        if mask is not None:
            masked = scores.masked_fill(mask, float("-inf"))
        rec(join(prefix, "masked_scores"), masked)
        weights = rec(join(prefix, "weights"), torch.softmax(masked, dim=-1))
        heads = rec(join(prefix, "heads"), torch.matmul(weights, v))
        concat = rec(join(prefix, "concat"), heads.transpose(1, 2).reshape(b, tq, self.d))
        return rec(join(prefix, "out"), self.out_proj(concat))


class EncoderLayer(nn.Module):
    """Also the GPT block (pre-LN, causal mask passed in)."""

    def __init__(self, cfg, device=None):
        super().__init__()
        d = cfg["dModel"]
        eps = cfg["lnEps"]
        self.pre = cfg["normPlacement"] == "pre"
        self.self_attn = MultiHeadAttention(d, cfg["heads"], cfg["attnBias"], device)
        self.norm1 = LayerNorm(d, eps, device)
        self.ffn = FeedForward(d, cfg["dFF"], cfg["activation"], device)
        self.norm2 = LayerNorm(d, eps, device)

    def forward(self, x, mask, rec, prefix, positional=None):
        p = lambda n: join(prefix, n)  # noqa: E731
        if not self.pre:
            a = self.self_attn(x, x, mask, rec, p("self_attn"), positional)
            r1 = rec(p("residual1"), x + a)
            n1 = rec(p("norm1"), self.norm1(r1))
            f = self.ffn(n1, rec, p("ffn"))
            r2 = rec(p("residual2"), n1 + f)
            n2 = rec(p("norm2"), self.norm2(r2))
            return rec(p("out"), n2)
        n1 = rec(p("norm1"), self.norm1(x))
        a = self.self_attn(n1, n1, mask, rec, p("self_attn"), positional)
        r1 = rec(p("residual1"), x + a)
        n2 = rec(p("norm2"), self.norm2(r1))
        f = self.ffn(n2, rec, p("ffn"))
        r2 = rec(p("residual2"), r1 + f)
        return rec(p("out"), r2)


class DecoderLayer(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        d = cfg["dModel"]
        eps = cfg["lnEps"]
        self.pre = cfg["normPlacement"] == "pre"
        self.self_attn = MultiHeadAttention(d, cfg["heads"], cfg["attnBias"], device)
        self.cross_attn = MultiHeadAttention(d, cfg["heads"], cfg["attnBias"], device)
        self.norm1 = LayerNorm(d, eps, device)
        self.norm2 = LayerNorm(d, eps, device)
        self.norm3 = LayerNorm(d, eps, device)
        self.ffn = FeedForward(d, cfg["dFF"], cfg["activation"], device)

    def forward(self, x, memory, self_mask, cross_mask, rec, prefix, positional=None):
        p = lambda n: join(prefix, n)  # noqa: E731
        if not self.pre:
            a = self.self_attn(x, x, self_mask, rec, p("self_attn"), positional)
            r1 = rec(p("residual1"), x + a)
            n1 = rec(p("norm1"), self.norm1(r1))
            c = self.cross_attn(n1, memory, cross_mask, rec, p("cross_attn"))
            r2 = rec(p("residual2"), n1 + c)
            n2 = rec(p("norm2"), self.norm2(r2))
            f = self.ffn(n2, rec, p("ffn"))
            r3 = rec(p("residual3"), n2 + f)
            n3 = rec(p("norm3"), self.norm3(r3))
            return rec(p("out"), n3)
        n1 = rec(p("norm1"), self.norm1(x))
        a = self.self_attn(n1, n1, self_mask, rec, p("self_attn"), positional)
        r1 = rec(p("residual1"), x + a)
        n2 = rec(p("norm2"), self.norm2(r1))
        c = self.cross_attn(n2, memory, cross_mask, rec, p("cross_attn"))
        r2 = rec(p("residual2"), r1 + c)
        n3 = rec(p("norm3"), self.norm3(r2))
        f = self.ffn(n3, rec, p("ffn"))
        r3 = rec(p("residual3"), r2 + f)
        return rec(p("out"), r3)


class Stack(nn.Module):
    """Encoder or decoder stack: optional learned positions, layers, optional final norm."""

    def __init__(self, cfg, n_layers, layer_cls, device=None):
        super().__init__()
        if cfg["positional"] == "learned":
            self.pos_embed = Embedding(cfg["maxLen"], cfg["dModel"], device)
        self.layers = nn.ModuleList([layer_cls(cfg, device) for _ in range(n_layers)])
        if cfg["normPlacement"] == "pre":
            self.norm = LayerNorm(cfg["dModel"], cfg["lnEps"], device)


def label_smoothed_ce(logits, labels, eps, ignore_index=None):
    """Target (1-eps)*one_hot + eps/V; mean over labels != ignore_index."""
    v = logits.shape[-1]
    logp = torch.log_softmax(logits.reshape(-1, v), dim=-1)
    y = labels.reshape(-1).long()
    keep = torch.ones_like(y, dtype=torch.bool) if ignore_index is None else y != ignore_index
    y_safe = torch.where(keep, y, torch.zeros_like(y))
    nll = -logp.gather(1, y_safe[:, None])[:, 0]
    smooth = -logp.sum(dim=-1) / v
    per = (1.0 - eps) * nll + eps * smooth
    per = torch.where(keep, per, torch.zeros_like(per))
    return per.sum() / keep.sum()


class EncoderDecoder(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.cfg = cfg
        assert cfg["tieEmbeddings"]
        self.embed = Embedding(cfg["vocabSize"], cfg["dModel"], device)
        self.encoder = Stack(cfg, cfg["encoderLayers"], EncoderLayer, device)
        self.decoder = Stack(cfg, cfg["decoderLayers"], DecoderLayer, device)

    def embed_input(self, stack, ids, rec, prefix):
        cfg = self.cfg
        d = cfg["dModel"]
        x = self.embed(ids)
        if cfg["scaleEmbedding"]:
            x = x * math.sqrt(d)
        rec(join(prefix, "embed"), x)
        t = ids.shape[1]
        if cfg["positional"] == "sinusoidal":
            pos = rec(join(prefix, "pos"), sinusoidal_pe(t, d, x.dtype))
            x = x + pos
        elif cfg["positional"] == "learned":
            pos = rec(join(prefix, "pos"), stack.pos_embed.weight[:t])
            x = x + pos
        return rec(join(prefix, "input"), x)

    def forward(self, src, tgt_in, tgt_out, rec):
        cfg = self.cfg
        posmode = cfg["positional"] if cfg["positional"] in ("rope", "alibi") else None
        b, s = src.shape
        t = tgt_in.shape[1]
        src_pad = src == cfg["padId"]
        tgt_pad = tgt_in == cfg["padId"]
        enc_mask = build_mask(b, s, s, src_pad, causal=False)
        dec_mask = build_mask(b, t, t, tgt_pad, causal=True)
        cross_mask = build_mask(b, t, s, src_pad, causal=False)

        x = self.embed_input(self.encoder, src, rec, "encoder")
        for i, layer in enumerate(self.encoder.layers):
            x = layer(x, enc_mask, rec, "encoder.layers.%d" % i, posmode)
        if hasattr(self.encoder, "norm"):
            x = self.encoder.norm(x)
        memory = rec("encoder.out", x)

        y = self.embed_input(self.decoder, tgt_in, rec, "decoder")
        for i, layer in enumerate(self.decoder.layers):
            y = layer(y, memory, dec_mask, cross_mask, rec, "decoder.layers.%d" % i, posmode)
        if hasattr(self.decoder, "norm"):
            y = self.decoder.norm(y)
        y = rec("decoder.out", y)
        logits = rec("logits", torch.matmul(y, self.embed.weight.t()))
        loss = label_smoothed_ce(logits, tgt_out, cfg["labelSmoothing"], ignore_index=cfg["padId"])
        return rec("loss", loss)


class GPT(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.cfg = cfg
        assert cfg["normPlacement"] == "pre" and cfg["tieEmbeddings"]
        self.tok_embed = Embedding(cfg["vocabSize"], cfg["dModel"], device)
        if cfg["positional"] == "learned":
            self.pos_embed = Embedding(cfg["maxLen"], cfg["dModel"], device)
        self.layers = nn.ModuleList([EncoderLayer(cfg, device) for _ in range(cfg["layers"])])
        self.norm = LayerNorm(cfg["dModel"], cfg["lnEps"], device)

    def forward(self, tokens, targets, rec):
        cfg = self.cfg
        b, t = tokens.shape
        x = rec("embed", self.tok_embed(tokens))
        posmode = None
        if cfg["positional"] == "learned":
            x = x + rec("pos", self.pos_embed.weight[:t])
        elif cfg["positional"] in ("rope", "alibi"):
            posmode = cfg["positional"]
        else:
            raise ValueError(cfg["positional"])
        x = rec("input", x)
        mask = build_mask(b, t, t, None, causal=True)
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, rec, "layers.%d" % i, posmode)
        h = rec("final_norm", self.norm(x))
        logits = rec("logits", torch.matmul(h, self.tok_embed.weight.t()))
        loss = label_smoothed_ce(logits, targets, cfg["labelSmoothing"], ignore_index=None)
        return rec("loss", loss)


# --------------------------------------------------------------------------
# Init, safetensors, JSON
# --------------------------------------------------------------------------


def init_params(module, gen):
    """Deterministic init in sorted-name order: matrices N(0, 0.3), LayerNorm gain
    1 + 0.1*N(0,1), every bias (LayerNorm bias included) 0.1*N(0,1)."""
    ln_gains = set()
    for mname, m in module.named_modules():
        if isinstance(m, LayerNorm):
            ln_gains.add(join(mname, "weight"))
    with torch.no_grad():
        for name, p in sorted(module.named_parameters()):
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name in ln_gains:
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.3 * noise)


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype in (torch.float32, torch.float64, torch.float16):
        arr = t.to(torch.float32).reshape(-1).tolist()
        return "F32", struct.pack("<%df" % len(arr), *arr)
    if t.dtype in (torch.int32, torch.int64, torch.bool, torch.uint8):
        arr = t.to(torch.int64).reshape(-1).tolist()
        return "I32", struct.pack("<%di" % len(arr), *arr)
    raise TypeError(t.dtype)


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        dtype, data = tensor_bytes(t)
        header[name] = {
            "dtype": dtype,
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b0, b1 = info["data_offsets"]
        fmt = "f" if info["dtype"] == "F32" else "i"
        vals = struct.unpack("<%d%s" % ((b1 - b0) // 4, fmt), raw[base + b0 : base + b1])
        dt = torch.float32 if fmt == "f" else torch.int32
        out[name] = torch.tensor(vals, dtype=dt).reshape(info["shape"])
    return header, out


def write_json(path, obj):
    with open(path, "w") as f:
        text = json.dumps(obj, indent=2)
        # Biome's JSON formatter writes 1e-5, not Python's 1e-05.
        text = re.sub(r"(?<=[0-9.])e([+-]?)0+(?=[0-9])", r"e\1", text)
        f.write(text + "\n")


WRITTEN = []


def save_fixture(name, kind, cfg, description, model, inputs, rec, grad_inputs):
    tensors = {}
    for pname, p in model.named_parameters():
        tensors["param." + pname] = p.detach().float()
        assert p.grad is not None, "no gradient for " + pname
        tensors["grad." + pname] = p.grad.detach()
    for iname, v in inputs.items():
        tensors["input." + iname] = v
    for oname, v in rec.values.items():
        tensors["out." + oname] = v
    for iname, g in grad_inputs.items():
        tensors["grad_input." + iname] = g
    base = os.path.join(OUT_DIR, name)
    meta = {"fixture": name, "kind": kind, "generator": "scripts/make_fixtures.py"}
    write_safetensors(base + ".safetensors", tensors, meta)
    write_json(base + ".json", {"kind": kind, "config": cfg, "description": description})
    # Round-trip check of the writer.
    _, back = read_safetensors(base + ".safetensors")
    assert sorted(back) == sorted(tensors)
    for k, v in tensors.items():
        ref = v.detach().cpu()
        ref = ref.to(torch.int32) if not ref.is_floating_point() else ref.float()
        assert back[k].dtype == ref.dtype and list(back[k].shape) == list(ref.shape), k
        assert torch.equal(back[k], ref), k
    WRITTEN.append(base + ".safetensors")
    WRITTEN.append(base + ".json")
    return tensors


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

D, H, DFF, V, B = 16, 4, 32, 23, 3


def padding_mask(lengths, t):
    """int32 [B,T], 1 where position >= length."""
    return torch.tensor([[1 if j >= n else 0 for j in range(t)] for n in lengths], dtype=torch.int32)


def random_tokens(gen, lengths, t):
    """int32 [B,T] of tokens in FIRST_TOKEN..V-1, PAD after each length."""
    ids = torch.randint(FIRST_TOKEN, V, (len(lengths), t), generator=gen, dtype=torch.int64)
    ids = ids * (1 - padding_mask(lengths, t).long())
    return ids.to(torch.int32)


def seq2seq_batch(gen, src_lengths, s, tgt_lengths, t):
    """tgt_len n: tgt_in = [BOS, y1..y(n-1)], tgt_out = [y1..y(n-1), EOS], PAD after n."""
    src = random_tokens(gen, src_lengths, s)
    body = random_tokens(gen, [n - 1 for n in tgt_lengths], t)
    tgt_in = torch.zeros(len(tgt_lengths), t, dtype=torch.int32)
    tgt_out = torch.zeros(len(tgt_lengths), t, dtype=torch.int32)
    for r, n in enumerate(tgt_lengths):
        tgt_in[r, 0] = BOS_ID
        tgt_in[r, 1:n] = body[r, : n - 1]
        tgt_out[r, : n - 1] = body[r, : n - 1]
        tgt_out[r, n - 1] = EOS_ID
    return src, tgt_in, tgt_out


def randn(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float32)


def layer_cfg(norm, activation="relu", attn_bias=False):
    return {
        "dModel": D,
        "heads": H,
        "dFF": DFF,
        "normPlacement": norm,
        "activation": activation,
        "attnBias": attn_bias,
        "lnEps": LN_EPS,
    }


def model_cfg(**kw):
    cfg = {
        "dModel": D,
        "heads": H,
        "dFF": DFF,
        "vocabSize": V,
        "normPlacement": "post",
        "positional": "sinusoidal",
        "maxLen": 16,
        "activation": "relu",
        "attnBias": False,
        "lnEps": LN_EPS,
        "labelSmoothing": 0.1,
        "padId": PAD_ID,
        "bosId": BOS_ID,
        "eosId": EOS_ID,
        "scaleEmbedding": True,
        "tieEmbeddings": True,
    }
    cfg.update(kw)
    order = list(cfg)
    for k in ("layers", "decoderLayers", "encoderLayers"):
        if k in order:
            order.remove(k)
            order.insert(order.index("vocabSize") + 1, k)
    return {k: cfg[k] for k in order}


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


def fixture_mha(name, seed, causal, cross, attn_bias, tq, tk, kv_lengths, description):
    gen = torch.Generator().manual_seed(seed)
    model = MultiHeadAttention(D, H, attn_bias)
    init_params(model, gen)
    query = randn(gen, B, tq, D)
    key_value = randn(gen, B, tk, D) if cross else None
    kpm = padding_mask(kv_lengths, tk)
    dout = randn(gen, B, tq, D)
    model = model.double()
    q64 = query.double().requires_grad_(True)
    kv64 = key_value.double().requires_grad_(True) if cross else q64
    mask = build_mask(B, tq, tk, kpm, causal=causal)
    rec = Recorder()
    out = model(q64, kv64, mask, rec, "")
    loss = rec("loss", (out * dout.double()).sum())
    loss.backward()
    inputs = {"query": query, "key_padding_mask": kpm, "dout": dout}
    grads = {"query": q64.grad}
    if cross:
        inputs["key_value"] = key_value
        grads["key_value"] = kv64.grad
    cfg = {"dModel": D, "heads": H, "attnBias": attn_bias, "causal": causal, "cross": cross}
    save_fixture(name, "mha", cfg, description, model, inputs, rec, grads)
    return model, inputs, rec


def fixture_encoder_layer(name, seed, norm):
    gen = torch.Generator().manual_seed(seed)
    cfg = layer_cfg(norm)
    model = EncoderLayer(cfg)
    init_params(model, gen)
    t = 6
    x = randn(gen, B, t, D)
    kpm = padding_mask([6, 4, 3], t)
    dout = randn(gen, B, t, D)
    model = model.double()
    x64 = x.double().requires_grad_(True)
    rec = Recorder()
    out = model(x64, build_mask(B, t, t, kpm), rec, "")
    rec("loss", (out * dout.double()).sum()).backward()
    desc = (
        "Single %s-LN encoder layer (ReLU, no attention biases), non-causal self-attention "
        "with key padding; loss = sum(out * dout)." % norm
    )
    save_fixture(
        name, "encoder_layer", cfg, desc, model,
        {"x": x, "key_padding_mask": kpm, "dout": dout}, rec, {"x": x64.grad},
    )


def fixture_decoder_layer(name, seed, norm):
    gen = torch.Generator().manual_seed(seed)
    cfg = layer_cfg(norm)
    model = DecoderLayer(cfg)
    init_params(model, gen)
    t, s = 6, 7
    x = randn(gen, B, t, D)
    memory = randn(gen, B, s, D)
    tpm = padding_mask([6, 5, 3], t)
    spm = padding_mask([7, 4, 6], s)
    dout = randn(gen, B, t, D)
    model = model.double()
    x64 = x.double().requires_grad_(True)
    m64 = memory.double().requires_grad_(True)
    rec = Recorder()
    out = model(
        x64, m64, build_mask(B, t, t, tpm, causal=True), build_mask(B, t, s, spm), rec, ""
    )
    rec("loss", (out * dout.double()).sum()).backward()
    desc = (
        "Single %s-LN decoder layer (ReLU, no attention biases): causal + target-padding "
        "self-attention, cross-attention over `memory` with source padding; "
        "loss = sum(out * dout)." % norm
    )
    inputs = {
        "x": x, "memory": memory, "tgt_padding_mask": tpm, "src_padding_mask": spm, "dout": dout,
    }
    save_fixture(
        name, "decoder_layer", cfg, desc, model, inputs, rec,
        {"x": x64.grad, "memory": m64.grad},
    )


def fixture_encdec(name, seed, cfg, description):
    gen = torch.Generator().manual_seed(seed)
    model = EncoderDecoder(cfg)
    init_params(model, gen)
    src, tgt_in, tgt_out = seq2seq_batch(gen, [7, 5, 4], 7, [6, 4, 3], 6)
    model = model.double()
    rec = Recorder()
    model(src, tgt_in, tgt_out, rec).backward()
    # Self-check: loss against PyTorch's cross-entropy.
    ref = F.cross_entropy(
        rec.values["logits"].reshape(-1, V), tgt_out.reshape(-1).long(),
        ignore_index=PAD_ID, label_smoothing=cfg["labelSmoothing"],
    )
    assert torch.allclose(ref, rec.values["loss"], rtol=1e-12, atol=1e-12), (ref, rec.values["loss"])
    inputs = {"src": src, "tgt_in": tgt_in, "tgt_out": tgt_out}
    return save_fixture(name, "encdec", cfg, description, model, inputs, rec, {})


def fixture_gpt(name, seed, positional, description):
    cfg = model_cfg(
        layers=2, normPlacement="pre", positional=positional, maxLen=16,
        activation="gelu_tanh", attnBias=True, labelSmoothing=0.0, scaleEmbedding=False,
    )
    gen = torch.Generator().manual_seed(seed)
    model = GPT(cfg)
    init_params(model, gen)
    t = 7
    seq = torch.randint(FIRST_TOKEN, V, (B, t + 1), generator=gen, dtype=torch.int64)
    tokens = seq[:, :t].to(torch.int32).contiguous()
    targets = seq[:, 1:].to(torch.int32).contiguous()
    model = model.double()
    rec = Recorder()
    model(tokens, targets, rec).backward()
    ref = F.cross_entropy(rec.values["logits"].reshape(-1, V), targets.reshape(-1).long())
    assert torch.allclose(ref, rec.values["loss"], rtol=1e-12, atol=1e-12)
    save_fixture(name, "gpt", cfg, description, model, {"tokens": tokens, "targets": targets}, rec, {})


# --------------------------------------------------------------------------
# Self-checks
# --------------------------------------------------------------------------


def check_attention_against_torch(model, inputs, rec):
    """Compare the hand-written MHA (mha_self) with nn.MultiheadAttention."""
    ref = nn.MultiheadAttention(D, H, bias=True, batch_first=True).double()
    with torch.no_grad():
        ref.in_proj_weight.copy_(
            torch.cat([model.q_proj.weight, model.k_proj.weight, model.v_proj.weight], 0)
        )
        ref.in_proj_bias.copy_(torch.cat([model.q_proj.bias, model.k_proj.bias, model.v_proj.bias]))
        ref.out_proj.weight.copy_(model.out_proj.weight)
        ref.out_proj.bias.copy_(model.out_proj.bias)
    x = inputs["query"].double()
    t = x.shape[1]
    causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    out, w = ref(
        x, x, x, key_padding_mask=inputs["key_padding_mask"].bool(), attn_mask=causal,
        need_weights=True, average_attn_weights=False,
    )
    assert torch.allclose(out, rec.values["out"], atol=1e-12), "MHA output mismatch"
    assert torch.allclose(w, rec.values["weights"], atol=1e-12), "MHA weights mismatch"
    # And plain softmax(QK^T/sqrt(dk) + mask) V from the recorded q, k, v.
    q, k, v = rec.values["q"], rec.values["k"], rec.values["v"]
    bias = torch.zeros(B, 1, t, t, dtype=torch.float64)
    m = build_mask(B, t, t, inputs["key_padding_mask"], causal=True)
    bias = bias.masked_fill(m, float("-inf"))
    sdpa = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // H) + bias, -1) @ v
    assert torch.allclose(sdpa, rec.values["heads"], atol=1e-12)


def check_positional():
    # RoPE rotate-half == complex multiplication of (x[i], x[i+dk/2]) by e^{i p theta_i}.
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3, 5, 8, generator=gen, dtype=torch.float64)
    half = 4
    z = torch.complex(x[..., :half], x[..., half:])
    theta = 10000.0 ** (-2.0 * torch.arange(half, dtype=torch.float64) / 8)
    ang = torch.arange(5, dtype=torch.float64)[:, None] * theta
    zr = z * torch.polar(torch.ones_like(ang), ang)
    assert torch.allclose(rope_rotate(x), torch.cat([zr.real, zr.imag], -1), atol=1e-12)
    assert torch.equal(rope_rotate(x)[..., 0, :], x[..., 0, :])
    # ALiBi slopes for 4 heads: 1/4, 1/16, 1/64, 1/256.
    assert alibi_slopes(4).tolist() == [0.25, 0.0625, 0.015625, 0.00390625]
    # Sinusoidal: row 0 = [0,1,0,1,...], PE[p,2i] = sin(p/10000^(2i/d)).
    pe = sinusoidal_pe(9, 16)
    assert torch.equal(pe[0], torch.tensor([0.0, 1.0] * 8, dtype=torch.float64))
    assert abs(pe[5, 6] - math.sin(5 / 10000 ** (6 / 16))) < 1e-14
    assert abs(pe[5, 7] - math.cos(5 / 10000 ** (6 / 16))) < 1e-14
    # LayerNorm and GELU against torch.
    ln = LayerNorm(16).double()
    init_params(ln, gen)
    y = torch.randn(4, 16, generator=gen, dtype=torch.float64)
    ref = F.layer_norm(y, (16,), ln.weight, ln.bias, LN_EPS)
    assert torch.allclose(ln(y), ref, atol=1e-12)
    assert torch.allclose(activation_fn("gelu", y), F.gelu(y), atol=1e-12)
    assert torch.allclose(activation_fn("gelu_tanh", y), F.gelu(y, approximate="tanh"), atol=1e-12)


# --------------------------------------------------------------------------
# Parameter counts
# --------------------------------------------------------------------------


def count_params(model):
    seen = set()
    total = 0
    for p in model.parameters():  # nn.Module.parameters() already de-duplicates
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def param_counts():
    meta = torch.device("meta")
    paper = dict(normPlacement="post", positional="sinusoidal", attnBias=False)
    specs = {
        "paper-base@37000": (
            "encdec",
            model_cfg(dModel=512, heads=8, dFF=2048, encoderLayers=6, decoderLayers=6,
                      vocabSize=37000, **paper),
            63045632,
        ),
        "s2s-small": (
            "encdec",
            model_cfg(dModel=256, heads=4, dFF=1024, encoderLayers=3, decoderLayers=3,
                      vocabSize=8000, **paper),
            7568384,
        ),
        "s2s-base": (
            "encdec",
            model_cfg(dModel=512, heads=8, dFF=2048, encoderLayers=6, decoderLayers=6,
                      vocabSize=8000, **paper),
            48197632,
        ),
        "gpt-small": (
            "gpt",
            model_cfg(dModel=256, heads=4, dFF=1024, layers=4, maxLen=128, vocabSize=8000,
                      normPlacement="pre", positional="learned", attnBias=True,
                      activation="gelu_tanh", scaleEmbedding=False, labelSmoothing=0.0),
            5240320,
        ),
    }
    counts = {}
    for name, (kind, cfg, expected) in specs.items():
        model = EncoderDecoder(cfg, meta) if kind == "encdec" else GPT(cfg, meta)
        n = count_params(model)
        assert n == expected, "%s: %d != expected %d" % (name, n, expected)
        counts[name] = n
    path = os.path.join(OUT_DIR, "param_counts.json")
    write_json(path, counts)
    WRITTEN.append(path)
    return counts


# --------------------------------------------------------------------------


def main():
    t0 = time.time()
    torch.manual_seed(0)
    os.makedirs(OUT_DIR, exist_ok=True)
    check_positional()

    m, inp, rec = fixture_mha(
        "mha_self", 101, causal=True, cross=False, attn_bias=True, tq=6, tk=6,
        kv_lengths=[6, 4, 3],
        description="Self-attention (key = value = query) with causal + key-padding masks and "
        "projection biases; loss = sum(out * dout).",
    )
    check_attention_against_torch(m, inp, rec)
    fixture_mha(
        "mha_cross", 102, causal=False, cross=True, attn_bias=False, tq=5, tk=7,
        kv_lengths=[7, 5, 4],
        description="Cross-attention (Tq=5 from `query`, Tk=7 from `key_value`) with key padding, "
        "no projection biases; loss = sum(out * dout).",
    )
    fixture_encoder_layer("encoder_layer_post", 103, "post")
    fixture_encoder_layer("encoder_layer_pre", 104, "pre")
    fixture_decoder_layer("decoder_layer_post", 105, "post")
    fixture_decoder_layer("decoder_layer_pre", 106, "pre")
    fixture_encdec(
        "encdec_post", 107,
        model_cfg(encoderLayers=2, decoderLayers=2),
        "The paper's model: post-LN, sinusoidal positions, ReLU, no attention biases, tied "
        "embedding scaled by sqrt(d), label smoothing 0.1, padded batch.",
    )
    fixture_encdec(
        "encdec_pre_learned", 108,
        model_cfg(encoderLayers=2, decoderLayers=2, normPlacement="pre", positional="learned",
                  activation="gelu", attnBias=True),
        "Pre-LN encoder-decoder with final norms, learned positions (maxLen 16), erf GELU, "
        "attention biases, tied scaled embedding, label smoothing 0.1, padded batch.",
    )
    fixture_gpt(
        "gpt", 109, "learned",
        "Decoder-only GPT: pre-LN, learned positions (context 16), tanh GELU, attention biases, "
        "tied head, mean cross-entropy over all positions.",
    )
    fixture_gpt(
        "gpt_rope", 110, "rope",
        "GPT as in `gpt` but with rotary position embedding (rotate-half) on q and k; "
        "no position embedding.",
    )
    fixture_gpt(
        "gpt_alibi", 111, "alibi",
        "GPT as in `gpt` but with ALiBi score biases; no position embedding.",
    )
    counts = param_counts()

    total = 0
    for path in WRITTEN:
        size = os.path.getsize(path)
        total += size
        print("%8d  %s" % (size, os.path.relpath(path, ROOT)))
    print("total %d bytes" % total)
    assert total < 3 * 1024 * 1024, "fixtures exceed 3 MB"
    print("param counts:", counts)
    print("OK (%.2fs)" % (time.time() - t0))


if __name__ == "__main__":
    sys.exit(main())
