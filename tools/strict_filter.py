"""The learned reward sharpened: fine-tuning on D_model's best --top share by reward (a strict filter), or on every image weighted by reward ** --power.

After `make reproduce`. With --top: (a) the `filtered` variant keeping the top share of D_model by the reward stage's
scores; (b) the full method on the same images, weight 1 each. With --power K: (b) only, every image weighted by its
reward to the power K (K = 1 is the paper's weighting; the filter is its limit as K grows). (b) divides the weights by
their mean (so the D_model term is not a tenth of the D_pre term) and draws rows by weight beside pre-training data:
the construction of the README's oracle-weighted control, which `--scores rewards-oracle.jsonl --power 1` repeats (the
oracle's verdicts in place of the reward's scores: a ceiling). Each model trains --steps steps into --scratch and is
evaluated beside the base and Table 3's full method on the 120 evaluation prompts at each seed set and pooled over
them; prints oracle alignment and fidelity, per category, the difference from the base with its 95% interval over
prompts, and Fig 4's side-by-side win rates.
"""
import argparse, json
import pandas as pd
from pathlib import Path
from rlhf_t2i.evaluate import aligned_difference, alignment_summary, draw_sets, eval_prompts, image_sets, side_by_side, simulate_votes, win_rates
from rlhf_t2i.feedback import LabelStore
from rlhf_t2i.finetune import FinetuneConfig, filtered, finetune, model_rows, weight_on_aligned

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--work', default='runs/experiments/full/rlhf', help="finetune_experiment's work folder (params/rlhf/full.yaml)")
parser.add_argument('--scratch', default='runs/experiments/strict-filter', help='folder for the fine-tuned models, the other seed sets and their votes')
parser.add_argument('--top', type=float, default=0.1, help="share of D_model kept, by the reward's score")
parser.add_argument('--scores', default='rewards.jsonl', help="each image folder's score file to sharpen (rewards-oracle.jsonl: the oracle's verdicts, for a ceiling)")
parser.add_argument('--power', type=float, default=None, help='weight every image by reward ** POWER instead of filtering (full method only)')
parser.add_argument('--steps', type=int, default=2000, help='fine-tuning steps a model')
parser.add_argument('--pretrain-fraction', type=float, default=None, help="share of the full method's batch from D_pre (default: the work folder's)")
parser.add_argument('--eval-seeds', default='1000,2000,3000', help='evaluation seed sets, comma-separated (1000 is the work folder\'s own)')
args = parser.parse_args()

W, S = Path(args.work), Path(args.scratch)
if not (W/'experiment.json').is_file(): raise FileNotFoundError(f'{W}/experiment.json is missing: run make reproduce first')
made = json.loads((W/'experiment.json').read_text())
labelled, db, unlabelled = W/'feedback'/'train', W/'feedback'/'labels.db', W/'unlabelled'
rows = model_rows(labelled, db, unlabelled, rewards_file=args.scores)
scorer = 'reward' if args.scores == 'rewards.jsonl' else Path(args.scores).stem.removeprefix('rewards-')
for top in sorted({0.02, 0.05, 0.1, 0.25, 0.5, args.top}):
    print(f"the {scorer}'s best {top:.0%}: {weight_on_aligned(filtered(rows, top=top))['aligned']:.1%} aligned by the oracle")
if args.power is None:
    kept = filtered(rows, top=args.top)
    share = weight_on_aligned(kept)
    print(f'kept: {share["images"]} images of {kept.prompt.nunique()} prompts, {share["aligned"]:.1%} aligned by the oracle')
    tag, keep = f'top{args.top:g}', set(kept.path)
    new_weight = lambda path, reward: float(path in keep)  # weight 1 on the kept images, 0 elsewhere
else:
    w = rows.weight ** args.power
    share = weight_on_aligned(rows.assign(weight=w))
    print(f'{scorer} ** {args.power:g}: {share["weight_on_aligned"]:.1%} of the weight on aligned images '
          f'({scorer} ** 1: {weight_on_aligned(rows)["weight_on_aligned"]:.1%}); effective images {w.sum() ** 2 / (w ** 2).sum():.0f} of {len(w)}')
    tag = f'pow{args.power:g}'
    new_weight = lambda path, reward: max(reward, 0.0) ** args.power

if scorer != 'reward': tag = f'{scorer}-{tag}'
name = f'rewards-{tag}.jsonl'  # the new weights, beside rewards.jsonl, for the full method's sampler
for folder in (labelled, unlabelled):
    scores = [json.loads(line) for line in open(folder/args.scores)]
    (folder/name).write_text(''.join(json.dumps({**r, 'reward': new_weight(str((folder/r['file_name']).resolve()), r['reward'])}) + '\n' for r in scores))
pf = made['config']['pretrain_fraction'] if args.pretrain_fraction is None else args.pretrain_fraction
sharpened = f'{scorer} ** {args.power:g}' if args.power is not None else f'top {args.top:.0%}' + ('' if scorer == 'reward' else f' by {scorer}')
runs = {f'full method, {sharpened}, drawn by weight, {pf:.0%} D_pre':
        dict(variant='full', rewards_file=name, sample_by_weight=True, normalize_weights=True, pretrain_fraction=pf)}
if args.power is None: runs = {f'filtered, {sharpened}': dict(variant='filtered', filter_top=args.top, rewards_file=args.scores), **runs}
models = {'pre-trained': made['model'], '+ pre-training data (full)': W/'finetune-full'}  # the base and Table 3's full method, for reference
for label, change in runs.items():
    out = S/f"finetune-{change['variant']}-{tag}-pf{change.get('pretrain_fraction', 0):g}-normalized-{args.steps}"
    if not (out/'finetune.json').exists():
        config = FinetuneConfig(**{**made['config'], **change, 'max_train_steps': args.steps})
        finetune(made['model'], out, labelled, db, unlabelled, 'shapes', config, progress=False, pretrain_images=made['pretrain_images'])
    models[label] = out

def report(sets, title, votes=None):
    "Print each model's oracle alignment and fidelity in `sets` beside the base's; with a `votes` store, Fig 4's side-by-side rates too."
    print(f'\n{title}\n\n| model | aligned | minus base, points (95% CI); well formed | count / colour / background / combination | seen / unseen | well formed '
          '| side by side with the base (Fig 4), alignment win / tie / lose, win - lose (95% CI) | fidelity win - lose |\n|---|---|---|---|---|---|---|---|')
    for m in models:
        a = alignment_summary(sets[sets.model == m])
        cats = ' / '.join(f"{100 * a[f'aligned {c}']:.1f}" for c in ('count', 'color', 'background', 'combination'))
        diff = sbs = fid = ''
        if m != 'pre-trained':
            d = aligned_difference(sets, m, 'pre-trained')
            diff = f"{100 * d['aligned']:+.1f} [{100 * d['aligned_low']:+.1f}, {100 * d['aligned_high']:+.1f}]; well formed {100 * d['well_formed']:+.1f}"
            if votes:
                with LabelStore(votes) as store:  # 9 simulated raters a prompt, as Fig 4
                    simulate_votes(store, sets, m, 'pre-trained')
                    rates = win_rates(side_by_side(store.votes(), m, 'pre-trained')).set_index('question')
                r, f = rates.loc['alignment'], rates.loc['fidelity']
                sbs = f"{r.win:.0%} / {r.tie:.0%} / {r.lose:.0%}, {100 * r['diff']:+.0f} [{100 * r.diff_lo:+.0f}, {100 * r.diff_hi:+.0f}]"
                fid = f"{100 * f['diff']:+.0f} [{100 * f.diff_lo:+.0f}, {100 * f.diff_hi:+.0f}]"
        print(f"| {m} | {a['aligned']:.1%} | {diff} | {cats}% | {100 * a['aligned_seen']:.1f} / {100 * a['aligned_unseen']:.1f}% | {a['well_formed']:.1%} | {sbs} | {fid} |")

every = []
for seed in (int(s) for s in args.eval_seeds.split(',')):
    folders = draw_sets(models, eval_prompts(60, 60), W/'eval' if seed == 1000 else S/f'eval-{seed}', 4, seed=seed, progress=False)
    every.append(image_sets(*folders.values()))
    report(every[-1], f'seed set {seed}', S/f'votes-{seed}.db')
if len(every) > 1:  # the same 120 prompts at each seed set: each prompt's shares over all its images, the interval still over prompts
    pooled = pd.concat(every).groupby(['model', 'prompt', 'category', 'seen'], as_index=False)[['alignment', 'well_formed']].mean()
    report(pooled, f'seed sets {args.eval_seeds} pooled ({4 * len(every)} images a prompt)')
