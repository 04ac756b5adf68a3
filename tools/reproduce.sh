#!/usr/bin/env bash
# `make reproduce`: every stage that exists so far, on the embedded shapes default. Each step is deterministic.
set -euo pipefail
step() { echo; echo "== $*"; }
step "prompt sets (Table 1)"
rlhf-t2i prompts --vocab paper --out data/prompts/paper.jsonl --table figures/table1_paper.md
rlhf-t2i prompts --vocab shapes --out data/prompts/shapes_seen.jsonl --table figures/table1_shapes.md
rlhf-t2i prompts --vocab shapes --objects unseen --n 120 --out data/prompts/shapes_unseen.jsonl
step "shapes world"
rlhf-t2i render --prompts data/prompts/shapes_seen.jsonl --n 24 --out figures/shapes_world.png
step "oracle accuracy on clean renders"
python bench/oracle.py --n 10000 | tee figures/oracle.md
step "feedback: the shipped base model's images, two simulated labellers, Table 2"
rlhf-t2i generate --model shapes --prompts data/prompts/shapes_seen.jsonl --per-prompt 4 --out runs/feedback/images
rlhf-t2i label simulate --data runs/feedback/images --db runs/feedback/labels.db --labellers 2
rlhf-t2i label stats --db runs/feedback/labels.db --out figures/
step "reward model: Fig 3a and Fig 3b (papermill, params/*/full.yaml)"
mkdir -p runs/experiments/full
for exp in fig3a fig3b; do
  papermill nbs/experiments/$exp.ipynb runs/experiments/full/$exp.ipynb -f params/$exp/full.yaml --progress-bar
done
