#!/usr/bin/env python3
"""Hugging Face interop fixtures: a tiny GPT-2 and a tiny MarianMT made by the real
`transformers` classes with random weights, with their tokenizers, saved as
`save_pretrained` writes them, plus what they compute.

Writes test/fixtures/hf/{gpt2,marian}/ (the model directory as HF saves it) and
expected.json + expected.safetensors in each. CI reads these files and needs no Python.

Needs transformers, torch, tokenizers, sentencepiece and safetensors. Debian has no
transformers package; a virtual environment from the machine's local wheel index works:

    python3 -m venv /work/hfenv
    /work/hfenv/bin/pip install torch transformers sentencepiece safetensors
    /work/hfenv/bin/python scripts/make_hf_fixtures.py

Deterministic for one set of library versions (seeds fixed, one thread); expected.json
records the versions that made it.
"""

import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
import tokenizers
import torch
import transformers
from safetensors.torch import save_file
from tokenizers import ByteLevelBPETokenizer
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    GPT2TokenizerFast,
    MarianConfig,
    MarianMTModel,
    MarianTokenizer,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "hf")
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")

torch.set_num_threads(1)


def versions():
    return {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "tokenizers": tokenizers.__version__,
        "sentencepiece": spm.__version__,
    }


def perturb(model, skip=()):
    """Random weights far from init (N(0, 0.02) logits would be nearly flat): matrices and
    biases N(0, 0.15²), LayerNorm gains 1 + N(0, 0.1²)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if any(s in name for s in skip):
                continue
            noise = torch.randn(p.shape, generator=g)
            if "ln" in name.split(".")[-2] or "layer_norm" in name:
                if name.endswith(".weight"):
                    p.copy_(1 + 0.1 * noise)
                else:
                    p.copy_(0.1 * noise)
            else:
                p.copy_(0.15 * noise)


def read_lines(path, n, column=None):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            out.append(line.split("\t")[column] if column is not None else line)
            if len(out) == n:
                break
    return out


def reset(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)


# Texts the tokenizers are checked on: contractions, numbers, punctuation runs,
# several spaces, a newline, accents, characters never seen in training.
GPT2_TEXTS = [
    "In the beginning God created the heaven and the earth.",
    "And God said, Let there be light: and there was light.",
    "It's 1,234 years, they'll say -- isn't it?  Two  spaces\nand a newline.",
    "Ünïcödé ☃ and émoji 🙂 too",
    "",
    "   leading and trailing   ",
]

MARIAN_SRC = [
    "En el principio crió Dios los cielos y la tierra.",
    "Y dijo Dios: Sea la luz: y fué la luz.",
    "¿Qué año es? 1937, dijo él.",
]
MARIAN_TGT = [
    "In the beginning, God created the heavens and the earth.",
    "God said, “Let there be light,” and there was light.",
]


def make_gpt2():
    d = os.path.join(OUT, "gpt2")
    reset(d)
    text = read_lines(os.path.join(SHARED, "kjv", "input.txt"), 3000)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        text, vocab_size=400, min_frequency=2, special_tokens=["<|endoftext|>"], show_progress=False
    )
    with tempfile.TemporaryDirectory() as tmp:
        bpe.save_model(tmp)
        tok = GPT2TokenizerFast.from_pretrained(tmp)
        # The slow-tokenizer files (what GPT-2's own repository has) beside tokenizer.json.
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(tmp, name), os.path.join(d, name))
    eot = tok.convert_tokens_to_ids("<|endoftext|>")
    V = len(tok)
    cfg = GPT2Config(
        vocab_size=V,
        n_positions=32,
        n_embd=32,
        n_layer=2,
        n_head=4,
        bos_token_id=eot,
        eos_token_id=eot,
    )
    torch.manual_seed(0)
    model = GPT2LMHeadModel(cfg).eval()
    perturb(model)
    model.save_pretrained(d, safe_serialization=True)
    tok.save_pretrained(d)

    ids = torch.tensor(
        [
            tok("In the beginning God created")["input_ids"][:8],
            tok("And the earth was without form")["input_ids"][:8],
        ]
    )
    with torch.no_grad():
        logits = model(ids).logits
        prompt = torch.tensor([tok("And God said")["input_ids"]])
        greedy = model.generate(
            prompt, max_new_tokens=12, do_sample=False, pad_token_id=eot, eos_token_id=None
        )[0]
    save_file({"input_ids": ids.to(torch.int32), "logits": logits.contiguous()},
              os.path.join(d, "expected.safetensors"))
    expected = {
        "made_by": "scripts/make_hf_fixtures.py",
        "versions": versions(),
        "vocab_size": V,
        "eot_id": eot,
        "tokens": [{"text": t, "ids": tok(t)["input_ids"]} for t in GPT2_TEXTS],
        "decoded": [{"ids": tok(t)["input_ids"], "text": tok.decode(tok(t)["input_ids"])} for t in GPT2_TEXTS],
        "greedy": {"prompt": prompt[0].tolist(), "ids": greedy.tolist()},
    }
    with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
    return d


def train_spm(lines, prefix, vocab_size, normalization):
    # The model records its model_prefix: train in the directory with a bare name, so the
    # file does not depend on the temporary directory's random name.
    cwd = os.getcwd()
    os.chdir(os.path.dirname(prefix))
    try:
        _train_spm(lines, os.path.basename(prefix), vocab_size, normalization)
    finally:
        os.chdir(cwd)


def _train_spm(lines, prefix, vocab_size, normalization):
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_prefix=prefix,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        num_threads=1,
        seed_sentencepiece_size=20000,
        minloglevel=2,
        normalization_rule_name=normalization,
    )


def make_marian():
    d = os.path.join(OUT, "marian")
    reset(d)
    tsv = os.path.join(SHARED, "bible-es-en", "train.tsv")
    es = read_lines(tsv, 3000, 1)
    en = read_lines(tsv, 3000, 2)
    with tempfile.TemporaryDirectory() as tmp:
        # opus-mt uses nmt_nfkc (a 240 kB precompiled table); the target side uses
        # identity to keep the fixture small and to cover both.
        train_spm(es, os.path.join(tmp, "source"), 300, "nmt_nfkc")
        train_spm(en, os.path.join(tmp, "target"), 300, "identity")
        pieces = []
        for side in ("source", "target"):
            sp = spm.SentencePieceProcessor(model_file=os.path.join(tmp, side + ".model"))
            for i in range(sp.get_piece_size()):
                if not (sp.is_control(i) or sp.is_unknown(i)):
                    pieces.append(sp.id_to_piece(i))
        # As opus-mt: </s> 0, <unk> 1, the pieces of both sides, <pad> last.
        vocab = {"</s>": 0, "<unk>": 1}
        for p in pieces:
            vocab.setdefault(p, len(vocab))
        vocab["<pad>"] = len(vocab)
        with open(os.path.join(tmp, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
        tok = MarianTokenizer(
            source_spm=os.path.join(tmp, "source.model"),
            target_spm=os.path.join(tmp, "target.model"),
            vocab=os.path.join(tmp, "vocab.json"),
        )
        tok.save_pretrained(d)
    V = len(vocab)
    pad = vocab["<pad>"]
    cfg = MarianConfig(
        vocab_size=V,
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
        forced_eos_token_id=0,
        activation_function="swish",
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
    )
    torch.manual_seed(0)
    model = MarianMTModel(cfg).eval()
    perturb(model, skip=("embed_positions",))
    with torch.no_grad():
        model.final_logits_bias.copy_(0.3 * torch.randn(model.final_logits_bias.shape,
                                                        generator=torch.Generator().manual_seed(2)))
    model.save_pretrained(d, safe_serialization=True)

    batch = tok(MARIAN_SRC[:2], padding=True, return_tensors="pt")
    dec_in = torch.tensor([[pad] + tok(text_target=t)["input_ids"][:6] for t in MARIAN_TGT])
    with torch.no_grad():
        logits = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], decoder_input_ids=dec_in
        ).logits
        greedy = model.generate(
            **tok(MARIAN_SRC, padding=True, return_tensors="pt"), num_beams=1, do_sample=False,
            max_new_tokens=12,
            # As opus-mt's generation_config.json: PAD (the start token) is never generated.
            bad_words_ids=[[pad]],
        )
    save_file(
        {
            "input_ids": batch["input_ids"].to(torch.int32).contiguous(),
            "attention_mask": batch["attention_mask"].to(torch.int32).contiguous(),
            "decoder_input_ids": dec_in.to(torch.int32).contiguous(),
            "logits": logits.contiguous(),
        },
        os.path.join(d, "expected.safetensors"),
    )
    expected = {
        "made_by": "scripts/make_hf_fixtures.py",
        "versions": versions(),
        "vocab_size": V,
        "pad_id": pad,
        "source": [{"text": t, "ids": tok(t)["input_ids"]} for t in MARIAN_SRC],
        "target": [{"text": t, "ids": tok(text_target=t)["input_ids"]} for t in MARIAN_TGT],
        "decoded": [
            {"ids": ids, "text": tok.decode(ids, skip_special_tokens=True)}
            for ids in (tok(text_target=t)["input_ids"] for t in MARIAN_TGT)
        ],
        "greedy": [
            {"source": s, "ids": [i for i in row.tolist()]} for s, row in zip(MARIAN_SRC, greedy)
        ],
    }
    with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
    return d


def main():
    for d in (make_gpt2(), make_marian()):
        total = 0
        for name in sorted(os.listdir(d)):
            size = os.path.getsize(os.path.join(d, name))
            total += size
            print(f"{os.path.relpath(os.path.join(d, name), ROOT)}  {size:,} bytes")
        if total > 1_500_000:
            sys.exit(f"{d}: fixtures too large ({total:,} bytes)")
    print("OK")


if __name__ == "__main__":
    main()
