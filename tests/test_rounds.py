"Repeated rounds of feedback and fine-tuning (rlhf_t2i.rounds) on a tiny random pipeline: what each round trains, resuming between rounds, bad input."
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / 'rlhf-t2i'
# 4 prompts x (2 labelled + 2 unlabelled) images a round, one labeller who flips 40% of a random pipeline's (all misaligned) images to good
SIZES = dict(train_prompts=4, per_prompt=2, unlabelled_per_prompt=2, labellers=1, flip=0.4, reward_epochs=2, pretrain_images=16)
STEPS = dict(max_train_steps=2, train_batch_size=4, checkpointing_steps=0, validation_steps=0)

@pytest.fixture(scope='module')
def base(tmp_path_factory):
    "A tiny random shapes pipeline, saved as the base model."
    from rlhf_t2i.models import build_pipeline
    folder = tmp_path_factory.mktemp('models') / 'base'
    build_pipeline('shapes', seed=0).save_pretrained(folder)
    return folder

def rounds(work, base, n, **changes):
    from rlhf_t2i.finetune import FinetuneConfig
    from rlhf_t2i.rounds import run_rounds
    return run_rounds(work, rounds=n, model=str(base), config=FinetuneConfig(**STEPS), progress=False, **{**SIZES, **changes})

def flags(d: dict) -> list:
    return [a for k, v in d.items() for a in (f'--{k.replace("_", "-")}', str(v))]

def unet(folder):
    from safetensors.torch import load_file
    return load_file(Path(folder) / 'unet' / 'diffusion_pytorch_model.safetensors')

def test_round_two_trains_round_one_model_on_its_own_images_and_a_killed_run_resumes(tmp_path, base):
    from rlhf_t2i.generate import read_metadata
    # killed between rounds: round 1 by the command line, then a second run to round 2; beside it a straight run to round 2
    r = subprocess.run([str(a) for a in (CLI, 'rounds', '--work', tmp_path / 'killed', '--rounds', 1, '--model', base, *flags(SIZES), *flags(STEPS), '--quiet')],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stdout.startswith('round 1: sampled') and not (tmp_path / 'killed' / 'round-2').exists(), r.stdout
    killed = rounds(tmp_path / 'killed', base, 2)['rounds']
    straight = rounds(tmp_path / 'straight', base, 2)['rounds']
    w = tmp_path / 'straight'
    info = json.loads((w / 'round-2' / 'model' / 'finetune.json').read_text())
    assert info['model'] == str(w / 'round-1' / 'model')  # round 2 fine-tuned round 1's model ...
    assert info['data']['labelled'] == [str(w / 'round-2' / 'labelled')] and info['data']['scored'] == [str(w / 'round-2' / 'unlabelled')]  # ... on round 2's images
    images = {(k, n): read_metadata(w / f'round-{k}' / n) for k in (1, 2) for n in ('labelled', 'unlabelled')}
    assert {m['model'] for n in ('labelled', 'unlabelled') for m in images[2, n]} == {str(w / 'round-1' / 'model')}  # drawn by round 1's model
    assert all(len(v) == 8 for v in images.values())  # 4 prompts x 2 images each
    ids = {key: {m['image_id'] for m in v} for key, v in images.items()}
    assert not (ids[1, 'labelled'] | ids[1, 'unlabelled']) & (ids[2, 'labelled'] | ids[2, 'unlabelled'])  # the rounds' images differ
    assert straight[1]['reward']['images'] == killed[1]['reward']['images'] > straight[0]['reward']['images']  # refit on both rounds' labels

    def scores(work):
        return [(s['image_id'], s['reward']) for s in map(json.loads, (work / 'round-2' / 'unlabelled' / 'rewards-round-2.jsonl').read_text().splitlines())]
    assert scores(tmp_path / 'killed') == scores(w)  # the same images, the same round-2 reward's scores, to the last bit
    same = lambda rec: {k: rec[k] for k in ('image_seed', 'images', 'labels', 'labels_so_far', 'rewards_file')} | \
        {'reward': {k: v for k, v in rec['reward'].items() if k != 'folder'}, 'model_rows': rec['finetune']['model_rows']}
    assert [same(r) for r in killed] == [same(r) for r in straight]
    a, b = unet(tmp_path / 'killed' / 'round-2' / 'model'), unet(w / 'round-2' / 'model')
    assert all((a[k] == b[k]).all() for k in a)  # and the same round-2 model
    # a work folder made with other parameters is refused, naming them
    with pytest.raises(ValueError, match=r'other parameters \(per_prompt\)'): rounds(w, base, 2, per_prompt=3)

def test_a_round_no_image_of_which_rates_above_zero_is_an_error(tmp_path, base):
    "The judge as reward, and a judge that reads no image as aligned: the round stops with the reason, it fine-tunes nothing."
    from rlhf_t2i.worlds import ShapesJudge

    class Blind(ShapesJudge):
        name = 'blind'
        def judge(self, images, prompts): return super().judge(images, prompts).assign(object_right=False, aligned=False)

    with pytest.raises(ValueError, match=r'round 1: no image of .* has a score above zero in rewards-oracle.jsonl'):
        rounds(tmp_path / 'w', base, 1, reward='oracle', judge=Blind())
    assert not (tmp_path / 'w' / 'round-1' / 'model').exists() and not (tmp_path / 'w' / 'round-1' / 'round.json').exists()

@pytest.mark.slow  # about 7 CPU-minutes: two arms of two rounds, each measured against the base
def test_rounds_notebook_quick(tmp_path):
    "nbs/experiments/rounds.ipynb under papermill with params/rounds/quick.yaml: both arms, every round measured."
    from test_experiments import run_experiment
    res = run_experiment('rounds', tmp_path)
    curves = {(c['run'], c['round']): c for c in res['curves']}
    assert sorted(curves) == [('oracle', 1), ('oracle', 2), ('paper', 1), ('paper', 2)]
    # the base's pooled share: 16 prompts x 4 images at 2 seed sets, each read aligned or not; k/128 or it averaged other images
    assert abs(res['base']['aligned'] * 128 - round(res['base']['aligned'] * 128)) < 1e-9, res['base']
    assert all(abs(c['diff_aligned'] - (c['aligned'] - c['base_aligned'])) < 1e-9 for c in curves.values())
    # the oracle as reward puts all of D_model's weight on the images the judge reads as aligned; the learned reward less
    assert all(r['d_model']['weight_on_aligned'] == 1 for r in res['round_records']['oracle'])
    assert all(r['d_model']['weight_on_aligned'] < 1 for r in res['round_records']['paper'])
    assert all('reward_mean' in c for (arm, _), c in curves.items() if arm == 'paper')  # the reward's check, learned arms only
