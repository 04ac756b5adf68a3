#!/usr/bin/env bash
# The GPU checks of one device session: sampling throughput by dtype, fine-tuning step time (fp32, bf16, fp16 autocast),
# then the UNet-recipe probe (tools/probe_unet.py), its variants side by side on the one GPU. Usage: tools/gpu_check.sh OUT
set -u
out=${1:?usage: tools/gpu_check.sh OUT}; mkdir -p "$out"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
stamp() { echo "== $(date +%T) $*"; }
stamp start; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, diffusers, transformers, accelerate, peft; print('torch', torch.__version__, 'diffusers', diffusers.__version__, 'transformers', transformers.__version__, 'accelerate', accelerate.__version__, 'peft', peft.__version__)"
stamp sampling; python3 bench/sampling.py --n 256 --n-single 32 2>&1 | grep -v 'it/s'
for mp in no bf16 fp16; do stamp "finetune $mp"; python3 bench/finetune.py --steps 20 --mixed-precision $mp 2>&1 | grep -v 'it/s'; done
stamp probe
for v in ${PROBE_VARIANTS:-default masked clean wide long wide-long}; do
  python3 tools/probe_unet.py --variant $v --out /tmp/probe > /tmp/probe_$v.log 2>&1 && cp /tmp/probe/probe_$v.json "$out/" &
done
wait
stamp done
for f in /tmp/probe_*.log; do echo "-- $f"; grep -v 'it/s' "$f" | tail -2; done
tar czf "$out/logs.tgz" -C /tmp $(cd /tmp && ls probe_*.log)
