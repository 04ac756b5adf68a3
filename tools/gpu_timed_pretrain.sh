#!/usr/bin/env bash
# CLIP recipes side by side on one lent GPU, each followed by a UNet, within one call (tools/timed_pretrain.py).
# Usage: tools/gpu_timed_pretrain.sh OUT "A:--clip-batch,512 B:--clip-batch,2048"; each variant's work folder (less the
# shipped VAE) comes back as OUT/<variant>.tgz; SECONDS_EACH caps a variant (default 500).
set -u
out=${1:?usage: tools/gpu_timed_pretrain.sh OUT VARIANTS}; mkdir -p "$out"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=4
stamp() { echo "== $(date +%T) $*"; }
stamp start; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || true
for spec in ${2:?variants}; do
  v=${spec%%:*}
  (timeout "${SECONDS_EACH:-500}" python3 tools/timed_pretrain.py --work /tmp/work/$v --out /tmp/models/$v $(echo ${spec#*:} | tr ',' ' ') > "$out/$v.log" 2>&1
   stamp "$v finished: $?"; rm -rf /tmp/work/$v/vae; tar czf "$out/$v.tgz" -C /tmp/work/$v .) &
done
wait
for f in "$out"/*.log; do echo "-- $f"; grep -v 'it/s' "$f" | tail -4 | cut -c1-600; done
