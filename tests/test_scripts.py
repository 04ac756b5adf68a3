"The real command line and benchmark scripts, run as a user would run them."
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / 'rlhf-t2i'

def run(*args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=ROOT, **kw)

def test_prompts_command(tmp_path):
    r = run(CLI, 'prompts', '--vocab', 'shapes', '--n', '40', '--seed', '3', '--out', tmp_path / 'p.jsonl')
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in (tmp_path / 'p.jsonl').read_text().splitlines()]
    assert len(rows) == 40 and {r['category'] for r in rows} == {'count', 'color', 'background', 'combination'}
    assert '| category | prompts | examples |' in r.stdout

def test_bad_input_is_one_clear_line(tmp_path):
    r = run(CLI, 'render', '--prompts', tmp_path / 'missing.jsonl', '--out', tmp_path / 'g.png')
    assert r.returncode == 2 and 'missing.jsonl' in r.stderr and 'Traceback' not in r.stderr
    (tmp_path / 'bad.jsonl').write_text('{"text": "two purple colored unicorns"}\n')
    r = run(CLI, 'render', '--prompts', tmp_path / 'bad.jsonl', '--out', tmp_path / 'g.png')
    assert r.returncode == 2 and "'unicorns'" in r.stderr and 'line 1' in r.stderr

def test_oracle_benchmark_script():
    r = run(sys.executable, 'bench/oracle.py', '--n', '200')
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith('min accuracy:') and float(last.split()[-1].rstrip('%')) >= 99
