#!/usr/bin/env bash
# Runs every library notebook (nbdev's test_nb) and the pytest suites, then prints one summary line.
set -uo pipefail
workers=${1:-2}
xml=.test-results.xml
rm -f "$xml"
python -m pytest tests -q -n "$workers" --junitxml="$xml" -p no:cacheprovider
rc=$?
python tools/summarize_tests.py "$xml"
# pytest's 5 means no test ran at all: a failure here too.
exit $rc
