"""The learned reward used as a strict filter: fine-tuning on D_model's best --top share by reward, unweighted, with and without D_pre.

After `make reproduce`: (a) the `filtered` variant keeping the top share of D_model by the reward stage's scores; (b) the
full method on the same images, weight 1 each over their mean (so the D_model term is not a tenth of the D_pre term),
drawn by weight beside pre-training data: the construction of the README's oracle-weighted control. Both train
--steps steps into --scratch and are evaluated beside the base on the 120 evaluation prompts at two seed sets; prints
oracle alignment and fidelity, per category, and the difference from the base with its 95% interval over prompts.
"""
import argparse, json
from pathlib import Path
from rlhf_t2i.evaluate import aligned_difference, alignment_summary, draw_sets, eval_prompts, image_sets
from rlhf_t2i.finetune import FinetuneConfig, filtered, finetune, model_rows, weight_on_aligned

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--work', default='runs/experiments/full/rlhf', help="finetune_experiment's work folder (params/rlhf/full.yaml)")
parser.add_argument('--scratch', default='runs/experiments/strict-filter', help='folder for the fine-tuned models and second seed set')
parser.add_argument('--top', type=float, default=0.1, help="share of D_model kept, by the reward's score")
parser.add_argument('--steps', type=int, default=2000, help='fine-tuning steps a model')
parser.add_argument('--pretrain-fraction', type=float, default=None, help="share of the full method's batch from D_pre (default: the work folder's)")
parser.add_argument('--eval-seeds', default='1000,2000', help='evaluation seed sets, comma-separated (1000 is the work folder\'s own)')
args = parser.parse_args()

W, S = Path(args.work), Path(args.scratch)
if not (W/'experiment.json').is_file(): raise FileNotFoundError(f'{W}/experiment.json is missing: run make reproduce first')
made = json.loads((W/'experiment.json').read_text())
labelled, db, unlabelled = W/'feedback'/'train', W/'feedback'/'labels.db', W/'unlabelled'
rows = model_rows(labelled, db, unlabelled)
for top in sorted({0.02, 0.05, 0.1, 0.25, 0.5, args.top}):
    print(f"the reward's best {top:.0%}: {weight_on_aligned(filtered(rows, top=top))['aligned']:.1%} aligned by the oracle")
kept = filtered(rows, top=args.top)
share = weight_on_aligned(kept)
print(f'kept: {share["images"]} images of {kept.prompt.nunique()} prompts, {share["aligned"]:.1%} aligned by the oracle')

name = f'rewards-top{args.top:g}.jsonl'  # weight 1 on the kept images, 0 elsewhere, for the full method's sampler
keep = set(kept.path)
for folder in (labelled, unlabelled):
    scores = [json.loads(line) for line in open(folder/'rewards.jsonl')]
    (folder/name).write_text(''.join(json.dumps({**r, 'reward': float(str((folder/r['file_name']).resolve()) in keep)}) + '\n' for r in scores))
pf = made['config']['pretrain_fraction'] if args.pretrain_fraction is None else args.pretrain_fraction
runs = {f'filtered, top {args.top:.0%}': dict(variant='filtered', filter_top=args.top),
        f'full method on the same images, drawn by weight, {pf:.0%} D_pre': dict(variant='full', rewards_file=name, sample_by_weight=True,
                                                                                normalize_weights=True, pretrain_fraction=pf)}
models = {'pre-trained': made['model']}
for label, change in runs.items():
    out = S/f"finetune-{change['variant']}-top{args.top:g}-pf{change.get('pretrain_fraction', 0):g}-normalized-{args.steps}"
    if not (out/'finetune.json').exists():
        config = FinetuneConfig(**{**made['config'], **change, 'max_train_steps': args.steps})
        finetune(made['model'], out, labelled, db, unlabelled, 'shapes', config, progress=False, pretrain_images=made['pretrain_images'])
    models[label] = out

for seed in (int(s) for s in args.eval_seeds.split(',')):
    folders = draw_sets(models, eval_prompts(60, 60), W/'eval' if seed == 1000 else S/f'eval-{seed}', 4, seed=seed, progress=False)
    sets = image_sets(*folders.values())
    print(f'\nseed set {seed}\n\n| model | aligned | minus base, points (95% CI) | count / colour / background / combination | seen / unseen | well formed |'
          '\n|---|---|---|---|---|---|')
    for m in models:
        a = alignment_summary(sets[sets.model == m])
        d = aligned_difference(sets, m, 'pre-trained') if m != 'pre-trained' else None
        diff = f"{100 * d['aligned']:+.1f} [{100 * d['aligned_low']:+.1f}, {100 * d['aligned_high']:+.1f}]" if d else ''
        cats = ' / '.join(f"{100 * a[f'aligned {c}']:.1f}" for c in ('count', 'color', 'background', 'combination'))
        print(f"| {m} | {a['aligned']:.1%} | {diff} | {cats}% | {100 * a['aligned_seen']:.1f} / {100 * a['aligned_unseen']:.1f}% | {a['well_formed']:.1%} |")
