"The real command line and benchmark scripts, run as a user would run them."
import json, subprocess, sys
import pytest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / 'rlhf-t2i'

def run(*args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=ROOT, **kw)

def test_prompts_command(tmp_path):
    r = run(CLI, 'prompts', '--vocab', 'shapes', '--n', '40', '--seed', '3', '--out', tmp_path / 'p.jsonl')
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in (tmp_path / 'p.jsonl').read_text().splitlines()]
    # 40 prompts, balanced over the four categories (the default mix), and the printed table counts what the file holds
    counts = {c: sum(r['category'] == c for r in rows) for c in ('count', 'color', 'background', 'combination')}
    assert len(rows) == 40 and counts == dict.fromkeys(counts, 10), counts
    assert '| category | prompts | examples |' in r.stdout and all(f'| {c} | {n} |' in r.stdout for c, n in counts.items()), r.stdout
    assert len({r['text'] for r in rows}) == 40  # a prompt set draws distinct prompts

def test_bad_input_is_one_clear_line(tmp_path):
    r = run(CLI, 'render', '--prompts', tmp_path / 'missing.jsonl', '--out', tmp_path / 'g.png')
    assert r.returncode == 2 and 'missing.jsonl' in r.stderr and 'Traceback' not in r.stderr
    (tmp_path / 'bad.jsonl').write_text('{"text": "two purple colored unicorns"}\n')
    r = run(CLI, 'render', '--prompts', tmp_path / 'bad.jsonl', '--out', tmp_path / 'g.png')
    assert r.returncode == 2 and "'unicorns'" in r.stderr and 'line 1' in r.stderr

def test_oracle_benchmark_script(tmp_path):
    "bench/oracle.py: accuracy, read time and robustness rows; its verdict check agrees with itself and counts a changed verdict."
    args = (sys.executable, 'bench/oracle.py', '--n', '200', '--n-soft', '40', '--no-vae')
    r = run(*args, '--save-verdicts', tmp_path / 'v.json')
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith('min accuracy:') and float(last.split()[-1].rstrip('%')) >= 99
    soft = {l.split('|')[1].strip(): float(l.split('|')[2].strip(' %')) for l in r.stdout.splitlines() if l.count('|') == 3 and '%' in l and l.startswith(('| clean', '| blur'))}
    assert soft['clean'] == 100 and 60 <= soft['blur 1 px'] <= soft['clean'], soft  # soft shapes mostly read right, never better than clean ones
    saved = json.loads((tmp_path / 'v.json').read_text())
    assert len(saved['clean']) == 200 and len(saved['one object, blur 1 px']) == 40
    first = saved['clean'][0]['objects'][0]
    first[0] = 'ring' if first[0] != 'ring' else 'star'  # one verdict changed
    (tmp_path / 'changed.json').write_text(json.dumps(saved))
    r = run(*args, '--check-verdicts', tmp_path / 'changed.json')
    assert r.returncode == 0, r.stderr
    table = {l.split('|')[1].strip(): [int(x) for x in l.split('|')[2:-1]] for l in r.stdout.splitlines() if l.count('|') == 10 and l.split('|')[2].strip().isdigit()}
    assert table['clean'] == [200, 200, 200, 199, 200, 200, 200, 199], table  # reads, background, count, kinds, colours, aligned, fidelity, all
    assert all(v[-1] == v[0] for k, v in table.items() if k != 'clean'), table

def test_pretrain_benchmark_script():
    "bench/pretrain.py at a small CLIP batch: a step time for every stage and setting."
    r = run(sys.executable, 'bench/pretrain.py', '--clip-batch', '64', '--clip-chunk', '16', '--steps', '3', '--repeats', '2')  # fewer: the difference of two timings can go below 0 on a busy machine
    assert r.returncode == 0, r.stderr
    rows = [l.split('|') for l in r.stdout.splitlines() if l.startswith(('| vae', '| clip', '| unet'))]
    assert [row[1].strip() for row in rows] == ['vae'] * 2 + ['clip'] * 4 + ['unet'] and all(float(row[4]) > 0 for row in rows)
    assert 'chunks of 16' in r.stdout

def test_finetune_benchmark_script():
    "bench/finetune.py at toy size: both arms, the loop's UNet step alone, and the caching ceiling computed from them."
    r = run(sys.executable, 'bench/finetune.py', '--steps', '4', '--prompts', '8', '--batch-size', '8', '--no-compile')
    assert r.returncode == 0, r.stderr
    ms = [float(l.rsplit('|', 2)[1].split()[0]) for l in r.stdout.splitlines() if l.endswith(' ms |')]
    assert len(ms) == 3 and all(m > 0 for m in ms)  # this trainer, the loop, the loop's UNet step alone
    ceiling = next(l for l in r.stdout.splitlines() if l.startswith('the most caching can give'))
    assert abs(float(ceiling.split()[-1].rstrip('x')) - ms[1] / ms[2]) < 0.1  # the table rounds to whole ms

def _toy_pipeline(folder):
    "The shapes pipeline with a toy UNet (two levels, one layer each): compiles in a fraction of the shipped UNet's time."
    from diffusers import UNet2DConditionModel
    from rlhf_t2i.models import build_pipeline, tiny_unet_config
    pipe = build_pipeline('shapes', seed=0)
    pipe.register_modules(unet=UNet2DConditionModel(**tiny_unet_config(
        'shapes', pipe.text_encoder.config.hidden_size, block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8,
        down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'), up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'))))
    pipe.save_pretrained(folder)
    return folder

@pytest.mark.slow  # a toy UNet's compile takes minutes on 2 loaded CPU cores
def test_finetune_benchmark_compiled(tmp_path):
    "bench/finetune.py's compiled arm on a toy UNet: a step time, a compile time, and the eager arm's first loss within 1e-4 (relative)."
    r = run(sys.executable, 'bench/finetune.py', '--model', _toy_pipeline(tmp_path / 'toy'), '--steps', '4', '--prompts', '4', '--batch-size', '4')
    assert r.returncode == 0, r.stderr[-3000:]
    assert '| this trainer, compiled UNet' in r.stdout and 'compile time:' in r.stdout
    line = next(l for l in r.stdout.splitlines() if l.startswith('compiled vs eager loss'))
    first = float(line.split(';')[0].split()[-1])
    assert first < 1e-4, line  # the same batch on the same weights: only the compiled kernels' rounding differs

def test_sampling_benchmark_script():
    "bench/sampling.py at two sampler steps, eager: images/s batched and one at a time; a bad dtype is one clear line."
    r = run(sys.executable, 'bench/sampling.py', '--n', '4', '--n-single', '2', '--batch-size', '2', '--steps', '2', '--no-compile')
    assert r.returncode == 0, r.stderr[-3000:]
    row = next(l for l in r.stdout.splitlines() if l.startswith('| float32 | eager'))
    assert float(row.split('|')[3]) > 0 and float(row.split('|')[4]) > 0
    r = run(sys.executable, 'bench/sampling.py', '--dtype', 'fp8', '--no-compile')
    assert r.returncode != 0 and "'fp8'" in r.stderr

@pytest.mark.slow  # compiles a toy UNet
def test_sampling_benchmark_compiled(tmp_path):
    "bench/sampling.py's compiled row on a toy UNet: images/s and a compile time."
    r = run(sys.executable, 'bench/sampling.py', '--model', _toy_pipeline(tmp_path / 'toy'), '--n', '4', '--n-single', '2', '--batch-size', '2', '--steps', '2')
    assert r.returncode == 0, r.stderr[-3000:]
    assert float(next(l for l in r.stdout.splitlines() if l.startswith('| float32 | compiled')).split('|')[3]) > 0
    assert 'compile time' in r.stdout

def test_label_commands(tmp_path):
    from rlhf_t2i.worlds import render_folder
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
    r = run(*args[:-1], tmp_path / 'euler-a', '--scheduler', 'euler-a', '--per-prompt', '1')
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / 'euler-a' / 'metadata.jsonl').read_text().splitlines()[0])['sampler']['scheduler'] == 'EulerAncestralDiscreteScheduler'
    r = run(CLI, 'generate', '--model', tmp_path / 'nowhere', '--prompts', tmp_path / 'p.jsonl', '--out', tmp_path / 'o2')
    assert r.returncode == 2 and 'nowhere' in r.stderr

def test_two_process_generation_equals_one_process(tmp_path):
    "2 CPU processes (torchrun; accelerate over gloo) of `rlhf-t2i generate` write the same folder, byte for byte, as 1 process."
    import os
    from rlhf_t2i.models import build_pipeline
    build_pipeline('shapes', seed=0).save_pretrained(tmp_path / 'tiny')
    assert run(CLI, 'prompts', '--n', '3', '--out', tmp_path / 'p.jsonl').returncode == 0
    args = ['generate', '--model', tmp_path / 'tiny', '--prompts', tmp_path / 'p.jsonl', '--per-prompt', '2', '--steps', '2', '--batch-size', '2']
    one_thread = {**os.environ, 'OMP_NUM_THREADS': '1'}  # as torchrun gives each process: thread count changes float sums
    assert run(CLI, *args, '--out', tmp_path / 'one', env=one_thread).returncode == 0
    torchrun = Path(sys.executable).parent / 'torchrun'
    r = run(torchrun, '--nproc_per_node', '2', '--master_port', '29519', '-m', 'rlhf_t2i.cli', *args, '--out', tmp_path / 'two',
            env={**one_thread, 'ACCELERATE_USE_CPU': 'true'})
    assert r.returncode == 0, r.stderr[-3000:]
    one, two = tmp_path / 'one', tmp_path / 'two'
    assert (two / 'metadata.jsonl').read_text() == (one / 'metadata.jsonl').read_text()  # merged in one-process order
    assert not list(two.glob('metadata.part*'))
    files = sorted(p.relative_to(one) for p in (one / 'images').iterdir())
    assert len(files) == 6 and all((two / f).read_bytes() == (one / f).read_bytes() for f in files)

def _random_reward(folder):
    "A reward model folder on the shipped shapes CLIP with an untrained MLP: scores to compare, no training to wait for."
    import torch
    from rlhf_t2i.models import load_clip
    from rlhf_t2i.reward import RewardModel, backbone_fingerprint, save_reward
    torch.manual_seed(0)
    clip = load_clip('shapes')[0]
    return save_reward(RewardModel(clip.config.projection_dim, hidden=32), folder, 'shapes', backbone_fingerprint(clip))

def test_two_process_scoring_equals_one_process(tmp_path):
    "2 CPU processes (torchrun; accelerate over gloo) of `rlhf-t2i score` write the same rewards.jsonl, byte for byte, as 1 process."
    import os
    from rlhf_t2i.worlds import render_folder
    from rlhf_t2i.prompts import build_prompt_set
    data = render_folder(build_prompt_set('shapes', 5, seed=3), tmp_path / 'data', per_prompt=2, wrong=1)
    args = ['score', '--reward', _random_reward(tmp_path / 'reward'), '--data', data, '--batch-size', '3']  # 10 images: batches 3, 3, 3, 1
    one_thread = {**os.environ, 'OMP_NUM_THREADS': '1'}  # as torchrun gives each process: thread count changes float sums
    r = run(CLI, *args, '--name', 'one.jsonl', env=one_thread)
    assert r.returncode == 0, r.stderr[-3000:]
    torchrun = Path(sys.executable).parent / 'torchrun'
    r = run(torchrun, '--nproc_per_node', '2', '--master_port', '29523', '-m', 'rlhf_t2i.cli', *args, '--name', 'two.jsonl',
            env={**one_thread, 'ACCELERATE_USE_CPU': 'true'})
    assert r.returncode == 0, r.stderr[-3000:]
    one = (data / 'one.jsonl').read_bytes()
    assert len(one.splitlines()) == 10 and (data / 'two.jsonl').read_bytes() == one  # each process's batches, merged in one-process order
    assert not list(data.glob('*.part*'))  # the part files are gone

def test_two_process_judging_equals_one_process(tmp_path):
    "2 CPU processes (torchrun) of `worlds.judge_folder` each return the whole table one process returns."
    import os
    from rlhf_t2i.worlds import render_folder
    from rlhf_t2i.prompts import build_prompt_set
    data = render_folder(build_prompt_set('shapes', 5, seed=4), tmp_path / 'data', per_prompt=2, wrong=1)
    script = tmp_path / 'judge.py'
    script.write_text('import os, sys\nfrom rlhf_t2i.worlds import judge_folder\n'
                      "judge_folder('shapes', sys.argv[1], batch_size=3).to_json(f'{sys.argv[2]}{os.environ.get(\"RANK\", \"\")}.json')\n")
    r = run(sys.executable, script, data, tmp_path / 'one')
    assert r.returncode == 0, r.stderr[-3000:]
    torchrun = Path(sys.executable).parent / 'torchrun'
    r = run(torchrun, '--nproc_per_node', '2', '--master_port', '29525', script, data, tmp_path / 'two', env={**os.environ, 'ACCELERATE_USE_CPU': 'true'})
    assert r.returncode == 0, r.stderr[-3000:]
    one = (tmp_path / 'one.json').read_text()
    assert json.loads(one)['truth'] and len(json.loads(one)['truth']) == 10
    assert (tmp_path / 'two0.json').read_text() == one and (tmp_path / 'two1.json').read_text() == one  # each process: the whole table
    assert not list(data.glob('*.part*'))

def test_score_dtype(tmp_path):
    "`rlhf-t2i score --dtype bfloat16` runs on the CPU and scores close to float32, not the same; a bad dtype is refused naming it."
    from rlhf_t2i.worlds import render_folder
    from rlhf_t2i.prompts import build_prompt_set
    data = render_folder(build_prompt_set('shapes', 2, seed=5), tmp_path / 'data', per_prompt=2)
    reward = _random_reward(tmp_path / 'reward')
    for dtype in ('float32', 'bfloat16'):
        r = run(CLI, 'score', '--reward', reward, '--data', data, '--dtype', dtype, '--name', f'{dtype}.jsonl')
        assert r.returncode == 0, r.stderr[-3000:]
    f32, b16 = ([json.loads(l)['reward'] for l in (data / f'{d}.jsonl').read_text().splitlines()] for d in ('float32', 'bfloat16'))
    assert len(f32) == len(b16) == 4
    gap = max(abs(a - b) for a, b in zip(f32, b16))
    assert 0 < gap < 0.05, (f32, b16)  # bfloat16 embeddings: other numbers, close ones
    r = run(CLI, 'score', '--reward', reward, '--data', data, '--dtype', 'fp8')
    assert r.returncode == 2 and "unknown dtype 'fp8'" in r.stderr and 'Traceback' not in r.stderr

def test_reward_commands(tmp_path):
    "The real `rlhf-t2i train-reward` and `score` on rendered images with simulated labels; bad input gives one clear line."
    from rlhf_t2i.worlds import render_folder
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
    from rlhf_t2i.generate import read_metadata
    from rlhf_t2i.reward import load_reward
    meta = read_metadata(data)
    assert [x['image_id'] for x in rows] == [m['image_id'] for m in meta]  # one score an image, in the folder's order
    expected = load_reward(tmp_path / 'reward').score([data / m['file_name'] for m in meta[:8]], [m['prompt'] for m in meta[:8]])
    assert max(abs(x['reward'] - float(e)) for x, e in zip(rows, expected)) < 1e-5  # the command's scores are the saved model's, image by image
    clip, processor = build_clip('shapes', seed=5)
    clip.save_pretrained(tmp_path / 'other-clip'); processor.save_pretrained(tmp_path / 'other-clip')
    r = run(CLI, 'score', '--reward', tmp_path / 'reward', '--data', data, '--backbone', tmp_path / 'other-clip')
    assert r.returncode == 2 and "trained on backbone 'shapes'" in r.stderr and 'other-clip' in r.stderr
    r = run(CLI, 'train-reward', '--data', data, '--db', tmp_path / 'none.db', '--out', tmp_path / 'r2')
    assert r.returncode == 2 and 'none.db' in r.stderr and 'Traceback' not in r.stderr

def _finetune_fixture(tmp_path):
    "A tiny shapes pipeline, labelled rendered images and rewards from the labels."
    from rlhf_t2i.worlds import render_folder, shows_prompt
    from rlhf_t2i.models import build_pipeline
    from rlhf_t2i.prompts import build_prompt_set
    build_pipeline('shapes', seed=0).save_pretrained(tmp_path / 'base')
    data, db = render_folder(build_prompt_set('shapes', 6, seed=4), tmp_path / 'data', per_prompt=4, wrong=2), tmp_path / 'labels.db'
    assert run(CLI, 'label', 'simulate', '--data', data, '--db', db, '--labellers', '1', '--labellers-per-image', '1').returncode == 0
    rows = [json.loads(l) for l in (data / 'metadata.jsonl').read_text().splitlines()]
    (data / 'rewards.jsonl').write_text(''.join(json.dumps(dict(file_name=r['file_name'], prompt=r['prompt'], reward=float(shows_prompt(r)))) + '\n' for r in rows))
    return data, db

def test_finetune_command_two_steps(tmp_path):
    "The real `rlhf-t2i finetune` for two steps on a tiny pipeline; a rerun resumes and has nothing left to do."
    data, db = _finetune_fixture(tmp_path)
    args = (CLI, 'finetune', '--model', tmp_path / 'base', '--out', tmp_path / 'ft', '--labelled', data, '--db', db, '--scored', data,
            '--pretrain-images', '32', '--max-train-steps', '2', '--train-batch-size', '8', '--checkpointing-steps', '1', '--validation-steps', '0')
    r = run(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'full: steps 0..2' in r.stdout and (tmp_path / 'ft' / 'unet' / 'diffusion_pytorch_model.safetensors').exists()
    assert 'nothing to do' in run(*args).stdout
    r = run(CLI, 'finetune', '--model', tmp_path / 'base', '--out', tmp_path / 'x', '--scored', tmp_path / 'base')
    assert r.returncode == 2 and 'rewards.jsonl' in r.stderr and 'Traceback' not in r.stderr

def test_two_process_update_equals_one_process(tmp_path):
    "2 CPU processes of batch 4 (torchrun; accelerate's MULTI_CPU over gloo) make the same update as 1 process of batch 8."
    from safetensors.torch import load_file
    data, db = _finetune_fixture(tmp_path)
    common = ['--model', tmp_path / 'base', '--labelled', data, '--db', db, '--scored', data, '--pretrain-images', '32',
              '--max-train-steps', '1', '--checkpointing-steps', '0', '--validation-steps', '0', '--learning-rate', '1e-3', '--lr-warmup-steps', '0']
    import os
    torchrun = Path(sys.executable).parent / 'torchrun'  # `accelerate launch --cpu` starts one process; torchrun starts two
    r1 = run(CLI, 'finetune', '--out', tmp_path / 'one', '--train-batch-size', '8', *common)
    assert r1.returncode == 0, r1.stderr[-3000:]
    r2 = run(torchrun, '--nproc_per_node', '2', '--master_port', '29517', '-m', 'rlhf_t2i.cli', 'finetune', '--out', tmp_path / 'two',
             '--train-batch-size', '4', *common, env={**os.environ, 'ACCELERATE_USE_CPU': 'true'})
    assert r2.returncode == 0, r2.stderr[-3000:]
    a = load_file(tmp_path / 'one' / 'unet' / 'diffusion_pytorch_model.safetensors')
    b = load_file(tmp_path / 'two' / 'unet' / 'diffusion_pytorch_model.safetensors')
    base = load_file(tmp_path / 'base' / 'unet' / 'diffusion_pytorch_model.safetensors')
    import torch
    da, db_ = (torch.cat([(w[k] - base[k]).flatten() for k in sorted(base)]) for w in (a, b))
    # Adam's first step is lr * sign(gradient): a gradient component near zero may flip sign on summation-order
    # noise, so compare whole update vectors; a process drawing other rows or noise would differ by about 100%
    assert da.norm() > 0 and ((da - db_).norm() / da.norm()).item() < 0.02, ((da - db_).norm() / da.norm()).item()
