#!/usr/bin/env bash
# Runs every library notebook (nbdev's test_nb) and the pytest suites, then prints one summary line.
set -uo pipefail
workers=${1:-2}
xml=.test-results.xml
rm -f "$xml"
# One torch thread a worker: two workers with two threads each on two cores wait on each other (100x slower).
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} python -m pytest tests -q -n "$workers" --junitxml="$xml" -p no:cacheprovider -rs  # -rs: each skip with its reason
rc=$?
python tools/summarize_tests.py "$xml"
exit $rc  # pytest's 5 (no test ran) fails too
