#!/usr/bin/env python3
"""Loads a directory written by `attn export --to hf-gpt2|hf-marian` with the real
transformers classes and checks its logits against ours.

    python scripts/check_hf_export.py DIR CASE.json

CASE.json (written by test/interop/hf-export-python.test.ts): {"family", "input_ids",
"decoder_input_ids" (Marian), "logits" (ours, flat)}. Prints the largest difference and
exits 1 above 1e-4. Needs transformers and torch (see make_hf_fixtures.py).
"""

import json
import sys

import torch
from transformers import GPT2LMHeadModel, MarianMTModel


def main():
    out_dir, case_file = sys.argv[1], sys.argv[2]
    with open(case_file) as f:
        case = json.load(f)
    torch.set_num_threads(1)
    with torch.no_grad():
        if case["family"] == "hf-gpt2":
            model = GPT2LMHeadModel.from_pretrained(out_dir).eval()
            logits = model(torch.tensor(case["input_ids"])).logits
        else:
            model = MarianMTModel.from_pretrained(out_dir).eval()
            logits = model(
                input_ids=torch.tensor(case["input_ids"]),
                decoder_input_ids=torch.tensor(case["decoder_input_ids"]),
            ).logits
    ours = torch.tensor(case["logits"]).reshape(logits.shape)
    diff = (logits - ours).abs().max().item()
    print(json.dumps({"max_abs_diff": diff, "shape": list(logits.shape)}))
    sys.exit(0 if diff < 1e-4 else 1)


if __name__ == "__main__":
    main()
