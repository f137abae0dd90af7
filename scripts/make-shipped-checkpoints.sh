#!/usr/bin/env bash
# Rebuilds the small trained checkpoints the explorer ships with (web/public/checkpoints/).
# Each is made by a plain `attn train` command; only config.json, model.safetensors and
# tokenizer.json are kept. Seeds are fixed, so a rerun on the same backend gives the same files.
# Takes about 45 minutes on 2 cores (kjv-gpt most of it). Usage: bash scripts/make-shipped-checkpoints.sh [name...]
set -euo pipefail
cd "$(dirname "$0")/.."
ATTN="node bin/attn.js"
WORK="${WORK:-runs/shipped}"
DEST=web/public/checkpoints
KJV="${KJV:-../shared/data/kjv/input.txt}"

train() { # name, attn train arguments...
  local name=$1
  shift
  rm -rf "$WORK/$name"
  $ATTN train "$@" --out "$WORK/$name" --quiet
  mkdir -p "$DEST/$name"
  for f in config.json model.safetensors tokenizer.json; do cp "$WORK/$name/last/$f" "$DEST/$name/$f"; done
  # The repository's formatting (the lint step checks web/).
  npx biome format --write "$DEST/$name" >/dev/null
  echo "$name: $(du -sh "$DEST/$name" | cut -f1)"
}

names=("$@")
pick() { [ ${#names[@]} -eq 0 ] && return 0; for n in "${names[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }

pick dates && train dates --task dates
pick reverse-sinusoidal && train reverse-sinusoidal --task reverse --positional sinusoidal
pick reverse-learned && train reverse-learned --task reverse --positional learned
# 0.8 M parameters (3.3 MB), 8000 steps of 32 × 128 characters (33 M characters, about 8
# passes over the text); about 30 minutes of the script's time on 2 cores.
pick kjv-gpt && train kjv-gpt --data "$KJV" --steps 8000 --batch-size 32 --lr 2e-3 --dropout 0 --eval-every 1000
