"""Continue training an Attention Lab checkpoint with PyTorch DistributedDataParallel.

    attn export --to pytorch runs/es-en --out runs/es-en-pt --data train.tsv --columns ref,es,en --src es --tgt en
    torchrun --nproc_per_node 2 scripts/pytorch/train_ddp.py runs/es-en-pt --steps 1000 --out runs/es-en-ddp
    attn eval --checkpoint runs/es-en-ddp --data test.tsv --columns ref,es,en --src es --tgt en

The export holds our config.json, model.safetensors, tokenizer.json and train.jsonl (the
training pairs as token ids, so no tokenizer is needed here). Each process takes every
world-size-th batch; gradients are averaged by DDP (gloo on CPU, nccl on GPUs). Rank 0
writes --out as a checkpoint that `attn eval`, `translate`, `generate` and `explore` read.
"""

import argparse
import json
import os
import random
import shutil
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attention_lab import load_checkpoint, save_safetensors, state_dict_ours  # noqa: E402


def batches(examples, c, max_tokens, rng):
    """Batches of similar length, about max_tokens padded tokens each, in a shuffled order."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i].get("src", [])), len(examples[i].get("tgt", examples[i].get("ids", [])))))
    out, cur, longest = [], [], 0
    for i in order:
        n = max(len(examples[i].get("src", [])), len(examples[i].get("tgt", examples[i].get("ids", [])))) + 2
        if cur and max(longest, n) * (len(cur) + 1) > max_tokens:
            out.append(cur)
            cur, longest = [], 0
        cur.append(examples[i])
        longest = max(longest, n)
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def pad_rows(rows, pad):
    n = max(len(r) for r in rows)
    return torch.tensor([r + [pad] * (n - len(r)) for r in rows])


def loss_of(model, batch, c, smoothing):
    pad, bos, eos = c["padId"], c["bosId"], c["eosId"]
    if c["kind"] == "gpt":
        ids = pad_rows([e["ids"] for e in batch], pad)
        logits = model(ids[:, :-1])
        target = ids[:, 1:].clone()
        target[ids[:, 1:] == pad] = -100
    else:
        src = pad_rows([e["src"] + [eos] for e in batch], pad)
        tgt_in = pad_rows([[bos] + e["tgt"] for e in batch], pad)
        target = pad_rows([e["tgt"] + [eos] for e in batch], -100)
        logits = model(src, tgt_in)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100, label_smoothing=smoothing)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", help="a directory written by attn export --to pytorch (with train.jsonl)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--max-tokens", type=int, default=1000)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(a.seed)
    model, run = load_checkpoint(a.checkpoint)
    c = model.c
    with open(os.path.join(a.checkpoint, "train.jsonl")) as f:
        examples = [json.loads(line) for line in f if line.strip()]
    ddp = DistributedDataParallel(model)
    opt = torch.optim.Adam(ddp.parameters(), lr=a.lr, betas=(0.9, 0.98), eps=1e-9)
    rng = random.Random(a.seed)  # the same order on every rank; each takes its share
    ddp.train()
    step, queue = 0, []
    while step < a.steps:
        if not queue:
            queue = batches(examples, c, a.max_tokens, rng)
        group, queue = queue[:world], queue[world:]
        if len(group) < world:
            continue
        loss = loss_of(ddp, group[rank], c, a.label_smoothing)
        opt.zero_grad()
        loss.backward()  # DDP all-reduces (averages) the gradients here
        opt.step()
        step += 1
        total = loss.detach().clone()
        dist.all_reduce(total)
        if rank == 0:
            print(json.dumps({"step": step, "loss": round(total.item() / world, 4), "world": world}), flush=True)

    if rank == 0:
        tmp = a.out.rstrip("/") + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        save_safetensors(os.path.join(tmp, "model.safetensors"), state_dict_ours(model))
        run = dict(run)
        run["model"] = c
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(run, f)
        shutil.copy(os.path.join(a.checkpoint, "tokenizer.json"), os.path.join(tmp, "tokenizer.json"))
        if os.path.exists(a.out):
            shutil.rmtree(a.out)
        os.replace(tmp, a.out)
        print(json.dumps({"saved": a.out, "steps": step}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
