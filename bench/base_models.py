"""What the shipped shapes base models are like, measured with the oracle.

Generates images of a paper-style shapes prompt set (seen and unseen objects, the four categories) at fixed seeds with
the shipped pipeline, and prints: the well-formed rate (oracle fidelity), the oracle-"good" rate overall, per category
and seen/unseen, the shipped CLIP's zero-shot caption retrieval per attribute on clean renders (against chance), and its
pairwise accuracy on (good, bad) generated pairs of one prompt. Writes the numbers to --json.
"""
import argparse, itertools, json, random, time
from collections import defaultdict
from pathlib import Path
import numpy as np
import torch
from rlhf_t2i.prompts import CATEGORIES, SHAPES_VOCAB, Prompt, build_prompt_set
from rlhf_t2i.shapes import FIDELITY_THRESHOLD, alignment, fidelity, parse_image, render, scene_for_prompt
from rlhf_t2i.models import clip_features, load_clip, load_pipeline
from rlhf_t2i.generate import SCHEDULERS, SHAPES_SAMPLER, generate_images, image_seed, use_scheduler

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--model', default='shapes', help='pipeline: shapes, a folder or an id')
parser.add_argument('--clip', default='shapes', help='CLIP: shapes, a folder or an id')
parser.add_argument('--prompts', type=int, default=250, help='prompts (seen and unseen objects, all four categories)')
parser.add_argument('--per-prompt', type=int, default=4, help='images per prompt')
parser.add_argument('--seed', type=int, default=0, help='image i of a prompt is drawn with image_seed(prompt, seed, i)')
parser.add_argument('--scheduler', choices=list(SCHEDULERS), default=None, help="sampler by name (default: the pipeline's own, DDIM for shapes)")
parser.add_argument('--steps', type=int, default=SHAPES_SAMPLER['num_inference_steps'], help='sampler steps')
parser.add_argument('--guidance', type=float, default=SHAPES_SAMPLER['guidance_scale'], help='classifier-free guidance scale')
parser.add_argument('--retrieval', type=int, default=400, help='clean renders for the CLIP retrieval test')
parser.add_argument('--json', default=None, help='write the numbers here')
parser.add_argument('--samples', default=None, help='save a grid of the first 32 images here, each titled with its prompt and the oracle\'s verdict')
parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', help='where to generate (the CLIP tests run on the CPU)')
args = parser.parse_args()

def pct(x): return f'{100 * x:.1f}%'

# --- generation and the oracle
pipe = load_pipeline(args.model, device=args.device)
pipe.set_progress_bar_config(disable=True)
if args.scheduler: use_scheduler(pipe, args.scheduler)
sampler_name = type(pipe.scheduler).__name__.removesuffix('Scheduler')
prompts = build_prompt_set('shapes', args.prompts, objects='all', seed=0)
jobs = [(p, image_seed(p, args.seed, i)) for p in prompts for i in range(args.per_prompt)]
t = time.time()
images = generate_images(pipe, [p for p, _ in jobs], [s for _, s in jobs], num_inference_steps=args.steps, guidance_scale=args.guidance)
gen_seconds = time.time() - t
rows = []
for (p, s), im in zip(jobs, images):
    parse = parse_image(im)
    rows.append(dict(prompt=p, seed=s, fidelity=fidelity(im, parse), **alignment(parse, p)))
well_formed = np.mean([r['fidelity'] >= FIDELITY_THRESHOLD for r in rows])
good = lambda rs: np.mean([r['aligned'] for r in rs]) if rs else float('nan')
by_cat = {c: good([r for r in rows if r['prompt'].category == c]) for c in CATEGORIES}
by_seen = {k: good([r for r in rows if r['prompt'].seen == (k == 'seen')]) for k in ('seen', 'unseen')}
attr = {a: np.mean([r[a] for r in rows if r[a] is not None]) for a in ('count', 'object', 'color', 'background')}
if args.samples:
    from rlhf_t2i.plots import image_grid
    image_grid(images[:32], [f"{r['prompt'].text} ({'good' if r['aligned'] else 'bad'})" for r in rows[:32]], path=args.samples)

print(f'{len(rows)} images of {len(prompts)} prompts, {sampler_name} {args.steps} steps, guidance {args.guidance}: {gen_seconds:.0f} s on {args.device}')
print('\n| measure | value |\n|---|---|')
print(f'| well formed (fidelity >= {FIDELITY_THRESHOLD:.3f}) | {pct(well_formed)} |')
print(f'| mean fidelity | {np.mean([r["fidelity"] for r in rows]):.3f} |')
print(f'| oracle-good overall | {pct(good(rows))} |')
for c in CATEGORIES: print(f'| good: {c} | {pct(by_cat[c])} |')
for k in by_seen: print(f'| good: {k} objects | {pct(by_seen[k])} |')
for a, v in attr.items(): print(f'| attribute right: {a} | {pct(v)} |')

# --- the CLIP: zero-shot retrieval per attribute on clean renders
clip, processor = load_clip(args.clip)
@torch.no_grad()
def clip_scores(images, texts):
    "Cosine similarity of each image with each text."
    from PIL import Image
    pil = [Image.fromarray((np.clip(im, 0, 1) * 255).astype(np.uint8)) for im in images]
    x = processor(images=pil, text=list(texts), return_tensors='pt', padding='max_length', max_length=processor.tokenizer.model_max_length, truncation=True)
    i = clip_features(clip.get_image_features(pixel_values=x['pixel_values']))
    tx = clip_features(clip.get_text_features(input_ids=x['input_ids'], attention_mask=x['attention_mask']))
    return (torch.nn.functional.normalize(i, dim=-1) @ torch.nn.functional.normalize(tx, dim=-1).T).numpy()

rng, v = random.Random(0), SHAPES_VOCAB
retrieval = {}
options = {'count': v.counts, 'color': v.colors, 'object': v.objects, 'background': list(v.backgrounds)}
for a, opts in options.items():
    hits = []
    for i in range(args.retrieval // len(options)):
        p = Prompt(rng.choice(v.objects), rng.choice(v.counts), rng.choice(v.colors), rng.choice(list(v.backgrounds)), 'combination')
        im = render(scene_for_prompt(p, rng))
        cands = [Prompt(**{**p.__dict__, a: o}) for o in opts]
        hits.append(int(np.argmax(clip_scores([im], [c.text for c in cands])[0])) == list(opts).index(getattr(p, a)))
    retrieval[a] = (np.mean(hits), 1 / len(opts))
print('\n| CLIP zero-shot retrieval on clean renders | accuracy | chance |\n|---|---|---|')
for a, (acc, chance) in retrieval.items(): print(f'| {a} | {pct(acc)} | {pct(chance)} |')

# --- the CLIP on (good, bad) generated pairs of one prompt
by_prompt = defaultdict(list)
for r, im in zip(rows, images): by_prompt[r['prompt']].append((r['aligned'], im))
pairs_right, n_pairs = 0, 0
for p, items in by_prompt.items():
    goods, bads = [im for ok, im in items if ok], [im for ok, im in items if not ok]
    if not goods or not bads: continue
    s = clip_scores(goods + bads, [p.text])[:, 0]
    for g, b in itertools.product(s[:len(goods)], s[len(goods):]): pairs_right += g > b; n_pairs += 1
pairwise = pairs_right / max(n_pairs, 1)
print(f'\nCLIP pairwise accuracy on {n_pairs} (good, bad) pairs of one prompt: {pct(pairwise)} (the oracle: 100%, by definition)')

if args.json:
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(dict(images=len(rows), prompts=len(prompts), seed=args.seed, sampler=dict(scheduler=sampler_name, steps=args.steps, guidance=args.guidance),
        generation_seconds=gen_seconds, well_formed=well_formed, good=good(rows), good_by_category=by_cat, good_by_seen=by_seen,
        attribute_right=attr, clip_retrieval={a: dict(accuracy=x, chance=c) for a, (x, c) in retrieval.items()},
        clip_pairwise=dict(accuracy=pairwise, pairs=n_pairs)), indent=1, default=float))
print(f'\nsmallest good rate by category: {min(by_cat, key=by_cat.get)}; largest: {max(by_cat, key=by_cat.get)}')
