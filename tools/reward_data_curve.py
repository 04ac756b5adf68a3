"""How the learned reward's ranking of the base model's own images grows with its labels: labelled prompts, images a prompt.

After `make reproduce`: draws and labels up to --per-prompt images of each of D_model's prompts into --scratch (the same
model, prompts, simulated labellers and image seeds as the reward stage, whose labelled images are the first
`per_prompt` of them), trains the reward stage's model on subsets, and prints its AUC against the oracle on D_model's
unlabelled images and the share of the weight it puts on the aligned ones (the share reward weighting gives them), as
mean and standard deviation over reward training seeds.
"""
import argparse, json
from pathlib import Path
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from rlhf_t2i.models import load_clip
from rlhf_t2i.reward import REWARD_CONFIG, EmbeddingCache, RewardConfig, labelled_data, reward_experiment_data, reward_scores, train_on

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--work', default='runs/experiments/full/rlhf', help="finetune_experiment's work folder (params/rlhf/full.yaml)")
parser.add_argument('--scratch', default='runs/experiments/reward-data-curve', help='folder for the extra labelled images')
parser.add_argument('--per-prompt', type=int, default=16, help='most labelled images a prompt (doubled from 2 up to it)')
parser.add_argument('--seeds', type=int, default=3, help='reward training seeds a row')
args = parser.parse_args()

W = Path(args.work)
if not (W/'experiment.json').is_file(): raise FileNotFoundError(f'{W}/experiment.json is missing: run make reproduce first')
made = json.loads((W/'experiment.json').read_text())
data = reward_experiment_data(Path(args.scratch), 'generated', made['model'], made['train_prompts'], args.per_prompt, eval_prompts=1,
                              eval_per_prompt=1, labellers=made['labellers'], flip=made['flip'], skip=made['skip'], seed=made['seed'])
labelled = labelled_data(data['db'], data['train_dir'])
meta = pd.DataFrame([json.loads(line) for line in open(data['train_dir']/'metadata.jsonl')])
order = {p: list(g.seed) for p, g in meta.groupby('prompt', sort=False)}  # metadata rows come in image-index order
labelled['index'] = [order[p].index(s) for p, s in zip(labelled.prompt, labelled.seed)]
test = pd.DataFrame([json.loads(line) for line in open(W/'unlabelled'/'rewards-oracle.jsonl')])
test['path'] = [str(W/'unlabelled'/f) for f in test.file_name]
truth = test.reward.to_numpy() > 0.5

stage = json.loads((W/'reward'/REWARD_CONFIG).read_text())  # the reward stage's backbone and training settings
clip, processor = load_clip(stage['backbone'])
cache = EmbeddingCache(Path(args.scratch)/'embeddings', clip, processor)
prompts = np.array(sorted(labelled.prompt.unique()))
base = made['per_prompt']
grid = [(f, base) for f in (0.125, 0.25, 0.5)] + [(1.0, k) for k in sorted({2 ** i for i in range(1, 10) if 2 ** i <= args.per_prompt} | {base})]
rows = []
for frac, k in grid:
    for seed in range(args.seeds):
        keep = set(np.random.default_rng(seed).choice(prompts, round(frac * len(prompts)), replace=False))
        subset = labelled[labelled.prompt.isin(keep) & (labelled['index'] < k)]
        model, _, _ = train_on(subset, cache, RewardConfig(**{**stage['config'], 'seed': seed}))
        s = reward_scores(model, cache, test)
        w = np.clip(s, 0, None)  # as fine-tuning weights them: a negative score counts 0
        rows.append(dict(prompts=len(keep), per_prompt=k, images=len(subset), auc=roc_auc_score(truth, s), share=w[truth].sum() / w.sum()))
        print(rows[-1], flush=True)

r = pd.DataFrame(rows).groupby(['prompts', 'per_prompt'], sort=False).agg(['mean', 'std'])
print(f'\nscored: {len(test)} unlabelled images of D_model, {truth.mean():.1%} aligned by the oracle; {args.seeds} seeds a row')
print('\n| labelled prompts | images a prompt | labelled images | AUC against the oracle | weight on aligned images |\n|---|---|---|---|---|')
for (p, k), x in r.iterrows():
    print(f"| {p} | {k} | {x['images', 'mean']:.0f} | {x['auc', 'mean']:.3f} ± {x['auc', 'std']:.3f} | "
          f"{x['share', 'mean']:.1%} ± {x['share', 'std']:.1%} |")
