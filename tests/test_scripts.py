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

def test_label_commands(tmp_path):
    from rlhf_t2i.generate import render_folder
    from rlhf_t2i.prompts import build_prompt_set
    data, db = render_folder(build_prompt_set('shapes', 12, seed=1), tmp_path / 'data', per_prompt=3, wrong=1), tmp_path / 'labels.db'
    r = run(CLI, 'label', 'simulate', '--data', data, '--db', db, '--labellers', '3', '--labellers-per-image', '3')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('108 labels')  # 36 images x 3 labellers
    r = run(CLI, 'label', 'stats', '--db', db, '--out', tmp_path / 'fig')
    assert r.returncode == 0, r.stderr
    assert "Fleiss' kappa" in r.stdout and (tmp_path / 'fig' / 'table2.png').exists()
    stats = json.loads((tmp_path / 'fig' / 'table2.json').read_text())['stats']
    assert abs(stats[0]['good'] - 2 / 3) < 0.15  # two of three images per prompt are right, up to labeller noise
    r = run(CLI, 'label', 'export', '--db', db, '--out', tmp_path / 'labels.parquet')
    assert r.returncode == 0, r.stderr
    r = run(CLI, 'label', 'import', tmp_path / 'labels.parquet', '--db', db)
    assert r.returncode == 0 and r.stdout.startswith('0 labels'), r.stdout + r.stderr
    assert run(CLI, 'label', 'add-labeller', 'ann', '--db', db).returncode == 0
    r = run(CLI, 'label', 'add-labeller', 'ann', '--db', db)
    assert r.returncode == 2 and "'ann'" in r.stderr
    r = run(CLI, 'label', 'stats', '--db', tmp_path / 'empty.db')
    assert r.returncode == 2 and 'no labels' in r.stderr

def test_generate_command_on_a_tiny_pipeline(tmp_path):
    "The real `rlhf-t2i generate` for two sampler steps on a tiny randomly initialised pipeline, then resumed."
    from rlhf_t2i.models import build_pipeline
    build_pipeline('shapes', seed=0).save_pretrained(tmp_path / 'tiny')
    assert run(CLI, 'prompts', '--n', '3', '--out', tmp_path / 'p.jsonl').returncode == 0
    args = (CLI, 'generate', '--model', tmp_path / 'tiny', '--prompts', tmp_path / 'p.jsonl', '--per-prompt', '2', '--steps', '2', '--out', tmp_path / 'out')
    r = run(*args)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith('6 new images')
    assert len((tmp_path / 'out' / 'metadata.jsonl').read_text().splitlines()) == 6
    assert run(*args).stdout.startswith('0 new images')
    r = run(CLI, 'generate', '--model', tmp_path / 'nowhere', '--prompts', tmp_path / 'p.jsonl', '--out', tmp_path / 'o2')
    assert r.returncode == 2 and 'nowhere' in r.stderr

def test_reward_commands(tmp_path):
    "The real `rlhf-t2i train-reward` and `score` on rendered images with simulated labels; bad input gives one clear line."
    from rlhf_t2i.generate import render_folder
    from rlhf_t2i.prompts import build_prompt_set
    from rlhf_t2i.models import build_clip
    data, db = render_folder(build_prompt_set('shapes', 20, seed=2), tmp_path / 'data', per_prompt=4, wrong=2), tmp_path / 'labels.db'
    assert run(CLI, 'label', 'simulate', '--data', data, '--db', db, '--labellers', '2').returncode == 0
    r = run(CLI, 'train-reward', '--data', data, '--db', db, '--out', tmp_path / 'reward', '--hidden', '64', '--max-epochs', '20', '--n-prompts', '4')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'validation pairwise accuracy' in r.stdout and (tmp_path / 'reward' / 'model.safetensors').exists()
    r = run(CLI, 'score', '--reward', tmp_path / 'reward', '--data', data)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(l) for l in (data / 'rewards.jsonl').read_text().splitlines()]
    assert len(rows) == 80 and all(isinstance(x['reward'], float) for x in rows)
    clip, processor = build_clip('shapes', seed=5)
    clip.save_pretrained(tmp_path / 'other-clip'); processor.save_pretrained(tmp_path / 'other-clip')
    r = run(CLI, 'score', '--reward', tmp_path / 'reward', '--data', data, '--backbone', tmp_path / 'other-clip')
    assert r.returncode == 2 and "trained on backbone 'shapes'" in r.stderr and 'other-clip' in r.stderr
    r = run(CLI, 'train-reward', '--data', data, '--db', tmp_path / 'none.db', '--out', tmp_path / 'r2')
    assert r.returncode == 2 and 'none.db' in r.stderr and 'Traceback' not in r.stderr
