#!/usr/bin/env bash
# Pre-training recipes side by side on one GPU: each variant trains the CLIP and the UNet (the VAE too, unless a
# finished one with the same settings is in runs/gpu_pretrain/<variant>/), then bench/base_models.py measures it.
# Usage: tools/gpu_pretrain.sh OUT "A:--flag,value B:--flag,value"; DEVICE (default cuda) and BENCH_FLAGS override.
set -u
out=${1:?usage: tools/gpu_pretrain.sh OUT VARIANTS}; mkdir -p "$out"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
stamp() { echo "== $(date +%T) $*"; }
run() {  # variant name, then pretrain flags
  local v=$1; shift
  python3 -m rlhf_t2i.cli pretrain --out "$out/$v/models" --work runs/gpu_pretrain/$v --device "${DEVICE:-cuda}" "$@" > "$out/$v.log" 2>&1 \
  && python3 bench/base_models.py --model "$out/$v/models/shapes-sd" --clip "$out/$v/models/shapes-clip" --device "${DEVICE:-cuda}" \
       --json "$out/$v/base_models.json" ${BENCH_FLAGS:-} >> "$out/$v.log" 2>&1
  stamp "$v finished: $?"
}
stamp start; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || true
for spec in ${2:?variants}; do run ${spec%%:*} $(echo ${spec#*:} | tr ',' ' ') & done
wait
for f in "$out"/*.log; do echo "-- $f"; grep -v 'it/s\|Loading' "$f" | tail -30; done
for d in "$out"/*/models; do tar czf "$d.tgz" -C "$d" . && rm -rf "$d"; done  # nested model folders do not come back from the device
