"""Oracle alignment of fine-tuned models on their own fine-tuning prompts (new seeds), each paired with the base.

Whether fine-tuning's small gains on the evaluation prompts come from those prompts being new to the model: the same
models drawn on a sample of the prompts whose images they were trained on, at image seeds none of their training
images used. Runs on `make reproduce`'s and `make limits`' work folder; models missing there are skipped.
"""
import argparse
from pathlib import Path
import numpy as np
from rlhf_t2i.evaluate import aligned_difference, draw_sets, image_sets
from rlhf_t2i.reward import training_prompts

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--work', default='runs/experiments/full/rlhf', help="finetune_experiment's work folder (params/rlhf/full.yaml)")
parser.add_argument('--out', default='runs/train-prompt-check', help='where the images are drawn (resumes)')
parser.add_argument('--train-prompts', type=int, default=600, help='the fine-tuning prompts of the work folder (its train_prompts)')
parser.add_argument('--prompts', type=int, default=240, help='how many of them to draw, chosen at random')
parser.add_argument('--per-prompt', type=int, default=2, help='images a prompt and model')
parser.add_argument('--seed', type=int, default=7000, help='image j of a prompt is drawn with image_seed(prompt, seed, j); fine-tuning used 0-11')
args = parser.parse_args()

W = Path(args.work)
candidates = {'full method, oracle weights (Table 3)': W/'finetune-full-oracle', 'full method, learned reward (Table 3)': W/'finetune-full',
              'oracle weights, no pre-training data': W/'finetune-labelled+scored-oracle',
              'full method, oracle weights, 9000 steps': W/'limits'/'full-method-oracle-weights-9000-steps',
              'full method, learned reward, 9000 steps': W/'limits'/'full-method-learned-reward-9000-steps',
              'D_model of 16 images a prompt, oracle weights, 2000 steps': W/'limits'/'D_model-of-16-images-a-prompt-oracle-weights-2000-steps',
              'clean renders, 2000 steps': W/'limits'/'clean-renders-2000-steps'}
models = {'pre-trained': 'shapes', **{k: v for k, v in candidates.items() if (v/'model_index.json').exists()}}
train = training_prompts(args.train_prompts, seed=0)  # finetune_experiment's seed 0
pick = np.random.default_rng(0).choice(len(train), min(args.prompts, len(train)), replace=False)
sets = image_sets(*draw_sets(models, [train[i] for i in sorted(pick)], args.out, args.per_prompt, seed=args.seed, progress=False).values())
base = sets[sets.model == 'pre-trained']
print(f'{len(pick)} fine-tuning prompts x {args.per_prompt} images; base {base.alignment.mean():.1%} aligned, {base.well_formed.mean():.1%} well formed')
print('\n| model | aligned | minus the base (95% interval) | well formed minus the base |\n|---|---|---|---|')
for m in list(models)[1:]:
    d = aligned_difference(sets, m, 'pre-trained')
    print(f"| {m} | {sets[sets.model == m].alignment.mean():.1%} | {100 * d['aligned']:+.1f} [{100 * d['aligned_low']:+.1f}, "
          f"{100 * d['aligned_high']:+.1f}] | {100 * d['well_formed']:+.1f} |")

# the fine-tuning prompts are mostly combinations (few single-attribute prompts exist), where fidelity falls most
wf = sets.pivot_table(index='model', columns='category', values='well_formed', aggfunc='mean').loc[list(models)]
n = base.category.value_counts()
print('\n| model | ' + ' | '.join(f'well formed: {c} ({n.get(c, 0)} prompts)' for c in wf.columns) + ' |\n|---' * (len(wf.columns) + 1) + '|')
for m, r in wf.iterrows(): print(f'| {m} | ' + ' | '.join(f'{v:.1%}' for v in r) + ' |')
