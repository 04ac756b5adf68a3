#!/usr/bin/env bash
# Fails if nbdev_clean or nbdev_export would change any file: notebooks clean, package in sync.
set -euo pipefail
snapshot() { find nbs rlhf_t2i -type f \( -name '*.ipynb' -o -name '*.py' \) -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' | sort | xargs md5sum; }
before=$(snapshot)
nbdev_clean >/dev/null
nbdev_export
after=$(snapshot)
if [ "$before" != "$after" ]; then
  echo "nbdev_clean/nbdev_export changed these files; review and commit them:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi
echo "notebooks clean and package in sync"
