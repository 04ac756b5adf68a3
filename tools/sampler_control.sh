#!/usr/bin/env bash
# Table 3 and Fig 4 with another sampler as the shipped one: a scratch clone of this commit whose shapes-sd folder names
# SCHEDULER (a diffusers class) and whose SHAPES_SAMPLER guidance is GUIDANCE; prints both tables beside this checkout's.
# Usage: tools/sampler_control.sh [SCHEDULER] [GUIDANCE] [DIR]  (default: EulerAncestralDiscreteScheduler 3.0 /tmp/sampler-control;
# about 20 min on 2 cores, plus a venv)
set -eu
scheduler=${1:-EulerAncestralDiscreteScheduler}; guidance=${2:-3.0}; dir=${3:-/tmp/sampler-control}
here=$(git rev-parse --show-toplevel)
rm -rf "$dir"; git clone -q "$here" "$dir"; cd "$dir"
python3 - "$scheduler" "$guidance" <<'PY'
import json, re, sys
from pathlib import Path
scheduler, guidance = sys.argv[1:]
def edit(path, change):
    d = json.loads(Path(path).read_text()); change(d); Path(path).write_text(json.dumps(d, indent=2))
edit('data/models/shapes-sd/model_index.json', lambda d: d.update(scheduler=['diffusers', scheduler]))
edit('data/models/shapes-sd/scheduler/scheduler_config.json', lambda d: d.update(_class_name=scheduler))
p = Path('rlhf_t2i/generate.py'); s = p.read_text()
s, n = re.subn(r'guidance_scale=[0-9.]+\)', f'guidance_scale={guidance})', s, count=1); assert n == 1, 'SHAPES_SAMPLER not found'
p.write_text(s)
PY
make venv >/dev/null
.venv/bin/rlhf-t2i reproduce --profile full --only table3,fig4
for side in "$here" "$dir"; do echo "== $side"; sed -n '/^## Table 3/,/^## Fig 6/p' "$side/figures/README.md" | grep '^|'; done
