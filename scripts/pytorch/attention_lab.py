"""Attention Lab's two models in plain PyTorch, for training a checkpoint on other machines.

Module names are the library's, so `model.safetensors` of a checkpoint (or of
`attn export --to pytorch`) loads with `load_state_dict` as it is, and a state dict saved
from here loads back into `attn eval` / `translate` / `generate`. The architecture comes
from the checkpoint's config.json ("model": every field of src/models/config.ts).

Covers sinusoidal (both layouts) and learned positions; RoPE and ALiBi models are refused.
Needs only torch (Debian's python3-torch is enough): safetensors files are read and written
here (the format is a JSON header and raw little-endian arrays).
"""

import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------- safetensors

_DTYPES = {"F32": (torch.float32, 4), "I32": (torch.int32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, size = _DTYPES[info["dtype"]]
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[8 + n + a : 8 + n + b]), dtype=dtype)
        out[name] = t.reshape(info["shape"]).to(torch.float32)
    return out


def save_safetensors(path, tensors):
    """Writes float32 tensors (sorted by name) atomically: temp file, fsync, rename."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        b = tensors[name].detach().to(torch.float32).contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------- the layers


def activate(x, name):
    if name == "relu":
        return F.relu(x)
    if name == "gelu":
        return F.gelu(x)
    if name == "gelu_tanh":
        return F.gelu(x, approximate="tanh")
    if name == "silu":
        return F.silu(x)
    raise ValueError(f"activation {name}")


def sinusoids(n_pos, d, layout):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...); "halves": sines then cosines."""
    pe = torch.zeros(n_pos, d)
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]
    i = torch.arange(0, d, 2, dtype=torch.float64)
    angle = pos / torch.pow(10000.0, i / d)
    half = (d + 1) // 2
    if layout == "interleaved":
        pe[:, 0::2] = torch.sin(angle).float()
        pe[:, 1::2] = torch.cos(angle[:, : d // 2]).float()
    else:
        pe[:, :half] = torch.sin(angle).float()
        pe[:, half:] = torch.cos(angle[:, : d // 2]).float()
    return pe


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dModel"]
        self.heads = c["heads"]
        self.q_proj = nn.Linear(d, d, bias=c["attnBias"])
        self.k_proj = nn.Linear(d, d, bias=c["attnBias"])
        self.v_proj = nn.Linear(d, d, bias=c["attnBias"])
        self.out_proj = nn.Linear(d, d, bias=c["attnOutputBias"])
        self.drop = c["attnDropout"]

    def forward(self, x, kv, mask):
        B, T, d = x.shape
        S = kv.shape[1]
        h = self.heads
        q = self.q_proj(x).view(B, T, h, -1).transpose(1, 2)
        k = self.k_proj(kv).view(B, S, h, -1).transpose(1, 2)
        v = self.v_proj(kv).view(B, S, h, -1).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        w = F.dropout(scores.softmax(-1), self.drop, self.training)
        return self.out_proj((w @ v).transpose(1, 2).reshape(B, T, d))


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.linear1 = nn.Linear(c["dModel"], c["dFF"], bias=c["ffnBias"])
        self.linear2 = nn.Linear(c["dFF"], c["dModel"], bias=c["ffnBias"])
        self.act = c["activation"]

    def forward(self, x):
        return self.linear2(activate(self.linear1(x), self.act))


class Layer(nn.Module):
    """An encoder layer (self-attention, FFN) or, with cross=True, a decoder layer."""

    def __init__(self, c, cross):
        super().__init__()
        self.pre = c["normPlacement"] == "pre"
        self.p = c["dropout"]
        self.self_attn = Attention(c)
        if cross:
            self.cross_attn = Attention(c)
        n = 3 if cross else 2
        for i in range(1, n + 1):
            setattr(self, f"norm{i}", nn.LayerNorm(c["dModel"], eps=c["lnEps"]))
        self.ffn = FeedForward(c)
        self.cross = cross

    def sub(self, x, norm, fn):
        if self.pre:
            return x + F.dropout(fn(norm(x)), self.p, self.training)
        return norm(x + F.dropout(fn(x), self.p, self.training))

    def forward(self, x, mask, memory=None, memory_mask=None):
        x = self.sub(x, self.norm1, lambda h: self.self_attn(h, h, mask))
        if self.cross:
            x = self.sub(x, self.norm2, lambda h: self.cross_attn(h, memory, memory_mask))
            return self.sub(x, self.norm3, self.ffn)
        return self.sub(x, self.norm2, self.ffn)


class Stack(nn.Module):
    def __init__(self, c, n, cross):
        super().__init__()
        if c["positional"] not in ("sinusoidal", "learned", "none"):
            raise ValueError(f"positional {c['positional']} is not in this reference (sinusoidal, learned, none)")
        self.c = c
        if c["positional"] == "learned":
            self.pos_embed = nn.Embedding(c["maxLen"], c["dModel"])
        elif c["positional"] == "sinusoidal":
            self.register_buffer("sinusoid", sinusoids(c["maxLen"], c["dModel"], c.get("sinusoidLayout", "interleaved")), persistent=False)
        self.layers = nn.ModuleList([Layer(c, cross) for _ in range(n)])
        if c["finalNorm"]:
            self.norm = nn.LayerNorm(c["dModel"], eps=c["lnEps"])

    def embed(self, ids, table):
        x = F.embedding(ids, table)
        if self.c["scaleEmbedding"]:
            x = x * math.sqrt(self.c["dModel"])
        T = ids.shape[1]
        if self.c["positional"] == "learned":
            x = x + self.pos_embed.weight[:T]
        elif self.c["positional"] == "sinusoidal":
            x = x + self.sinusoid[:T]
        return F.dropout(x, self.c["dropout"], self.training)

    def forward(self, ids, table, mask, memory=None, memory_mask=None):
        x = self.embed(ids, table)
        for layer in self.layers:
            x = layer(x, mask, memory, memory_mask)
        return self.norm(x) if self.c["finalNorm"] else x


def causal(T, device):
    return torch.triu(torch.ones(T, T, dtype=torch.bool, device=device), 1)


class Transformer(nn.Module):
    """The encoder-decoder ("kind": "encdec")."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        V, d = c["vocabSize"], c["dModel"]
        if c["shareEmbeddings"]:
            self.embed = nn.Embedding(V, d)
        else:
            self.src_embed = nn.Embedding(V, d)
            self.tgt_embed = nn.Embedding(V, d)
        self.encoder = Stack(c, c["encoderLayers"], cross=False)
        self.decoder = Stack(c, c["decoderLayers"], cross=True)
        if not c["tieOutput"]:
            self.lm_head = nn.Linear(d, V, bias=False)
        if c["outputBias"]:
            self.output_bias = nn.Parameter(torch.zeros(V))

    def tables(self):
        if self.c["shareEmbeddings"]:
            return self.embed.weight, self.embed.weight
        return self.src_embed.weight, self.tgt_embed.weight

    def forward(self, src, tgt_in):
        pad, bos = self.c["padId"], self.c["bosId"]
        src_table, tgt_table = self.tables()
        src_mask = (src == pad)[:, None, None, :]
        memory = self.encoder(src, src_table, src_mask)
        tgt_pad = tgt_in == pad
        if bos == pad:
            tgt_pad[:, 0] = False  # a decoder that starts from PAD (Marian)
        mask = causal(tgt_in.shape[1], src.device)[None, None] | tgt_pad[:, None, None, :]
        h = self.decoder(tgt_in, tgt_table, mask, memory, src_mask)
        logits = self.lm_head(h) if not self.c["tieOutput"] else h @ tgt_table.t()
        return logits + self.output_bias if self.c["outputBias"] else logits


class GPT(nn.Module):
    """The decoder-only model ("kind": "gpt")."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok_embed = nn.Embedding(c["vocabSize"], c["dModel"])
        stack = Stack(c, c["layers"], cross=False)
        # Our GPT keeps pos_embed, layers and norm at the top level.
        if c["positional"] == "learned":
            self.pos_embed = stack.pos_embed
        self.stack = [stack]  # not a submodule: its parts are registered here by name
        self.layers = stack.layers
        if c["finalNorm"]:
            self.norm = stack.norm
        if not c["tieOutput"]:
            self.lm_head = nn.Linear(c["dModel"], c["vocabSize"], bias=False)
        if c["outputBias"]:
            self.output_bias = nn.Parameter(torch.zeros(c["vocabSize"]))

    def forward(self, ids):
        stack = self.stack[0]
        stack.train(self.training)
        h = stack(ids, self.tok_embed.weight, causal(ids.shape[1], ids.device))
        logits = self.lm_head(h) if not self.c["tieOutput"] else h @ self.tok_embed.weight.t()
        return logits + self.output_bias if self.c["outputBias"] else logits


def with_defaults(c):
    """Fills the fields older config.json files lack, as src/models/config.ts does."""
    c = dict(c)
    c.setdefault("attnOutputBias", c["attnBias"])
    c.setdefault("ffnBias", True)
    c.setdefault("finalNorm", c["normPlacement"] == "pre")
    c.setdefault("sinusoidLayout", "interleaved")
    c.setdefault("outputBias", False)
    return c


def load_checkpoint(directory):
    """(model, run config) from a checkpoint directory; the weights must fit exactly."""
    with open(os.path.join(directory, "config.json")) as f:
        run = json.load(f)
    c = with_defaults(run["model"])
    model = GPT(c) if c["kind"] == "gpt" else Transformer(c)
    state = load_safetensors(os.path.join(directory, "model.safetensors"))
    model.load_state_dict(state, strict=True)
    return model, run


def state_dict_ours(model):
    """The weights under the library's names (no buffers)."""
    return {n: p for n, p in model.named_parameters()}
