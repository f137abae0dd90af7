#!/usr/bin/python3
"""Times the PyTorch peer's corpus decoding (shared/bench/peer_translate.py)
on the sentences `attn bench --checkpoint` uses: greedy in batches of 64 and
beam 4 in batches of 16 (alpha 0.6), printing one JSON line per mode with
sentences/s, target tokens/s and BLEU.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=passive \
        GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
        /usr/bin/python3 bench/peer_decode.py runs/peer-30m-a
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "bench")
sys.path.insert(0, SHARED)

import torch  # noqa: E402
import peer_translate as PT  # noqa: E402
from bleu import corpus_bleu  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir", help="a peer run directory (model.pt, spm.model)")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "data",
                                                   "bible-es-en", "dev.tsv"))
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--modes", default="greedy,beam4")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, sp = PT.load_checkpoint(a.run_dir)
    rows = PT.read_tsv(a.data)[:a.sentences]
    src = [es for _, es, _ in rows]
    refs = [en for _, _, en in rows]
    for mode in a.modes.split(","):
        beam = 1 if mode == "greedy" else int(mode[len("beam"):])
        t0 = time.perf_counter()
        hyps = PT.translate(model, sp, src, "greedy" if beam == 1 else "beam",
                            64 if beam == 1 else 16, beam=beam, alpha=0.6)
        s = time.perf_counter() - t0
        tokens = sum(len(sp.encode(h)) + 1 for h in hyps)
        bleu = corpus_bleu(hyps, [refs])
        print(json.dumps({
            "config": f"peer-corpus-{mode}", "sentences": len(src), "seconds": s,
            "sentences_per_s": len(src) / s, "target_tokens_per_s": tokens / s,
            "bleu": bleu["bleu"],
        }), flush=True)


if __name__ == "__main__":
    main()
