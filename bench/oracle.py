"""How well, how robustly and how fast the shapes-world oracle reads images.

Prints one row per attribute (count, colour, object, background) with its accuracy on `--n` fresh random clean
scenes and the mean time of one read on one core; then the robustness rows: the share of `--n-soft` one-object renders
whose kind is read right when clean, blurred by 0.5 and 1 pixel, and passed through the shipped VAE. The last line is
the smallest of the four clean accuracies.

`--save-verdicts FILE` writes every read's verdicts (background, each object's kind and colour, fidelity; alignment
for `--folder`'s images, an image folder with metadata.jsonl such as `rlhf-t2i generate` writes) and
`--check-verdicts FILE` compares this oracle's verdicts with a saved file, image by image: how a change of the oracle
is shown to read every image as before.
"""
import os
os.environ.setdefault('OMP_NUM_THREADS', '1')  # the read time is one core's
import argparse, json, random, time
from pathlib import Path
import numpy as np
from PIL import Image
from scipy import ndimage
from rlhf_t2i.shapes import (BACKGROUNDS, COLOR_NAMES, KIND_NAMES, Obj, Scene, alignment, fidelity, parse_image, place_objects,
                             random_scene, render)

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--n', type=int, default=10_000, help='number of random clean renders')
parser.add_argument('--n-soft', type=int, default=400, help='one-object renders of the robustness rows')
parser.add_argument('--size', type=int, default=32, help='image side in pixels')
parser.add_argument('--seed', type=int, default=0, help='seed of the random scenes')
parser.add_argument('--no-vae', action='store_true', help='leave out the VAE round trips (no model loaded)')
parser.add_argument('--multi-soft', type=int, default=0, help='also keep verdicts on this many of the clean scenes blurred by 1 px and VAE round-tripped')
parser.add_argument('--folder', default=None, help='an image folder (metadata.jsonl) whose images are also read, with their prompts')
parser.add_argument('--save-verdicts', default=None, help='write every read verdict to this JSON file')
parser.add_argument('--check-verdicts', default=None, help='compare every read verdict with this JSON file (from --save-verdicts)')
parser.add_argument('--fidelity-tol', type=float, default=1e-6, help='largest fidelity difference that --check-verdicts counts as agreeing')
args = parser.parse_args()

def verdict(img, prompt=None) -> dict:
    "What the oracle reads from one image, as plain values."
    p = parse_image(img)
    v = dict(background=p.background, objects=[[o.kind, o.color] for o in p.objects], fidelity=fidelity(img, p))
    if prompt is not None: v['alignment'] = alignment(p, prompt)
    return v

def one_object_renders(n: int, size: int, seed: int) -> tuple:
    "`n` renders of one random object on a random background, and their kinds."
    scenes = []
    for i in range(n):
        rng = random.Random(f'one/{seed}/{i}')
        (x, y, r), = place_objects(1, rng)
        scenes.append(Scene(rng.choice(tuple(BACKGROUNDS)), (Obj(rng.choice(KIND_NAMES), rng.choice(COLOR_NAMES), x, y, r),)))
    return [render(s, size) for s in scenes], [s.objects[0].kind for s in scenes]

def vae_round_trips(images) -> list:
    "`images` encoded and decoded by the shipped shapes VAE."
    import torch
    from rlhf_t2i.models import load_pipeline
    from rlhf_t2i.pretrain import reconstruct
    torch.set_num_threads(1)  # the same reconstructions in every run on this machine
    vae = load_pipeline('shapes').vae
    u8 = torch.from_numpy((np.clip(np.stack(images), 0, 1) * 255 + 0.5).astype(np.uint8)).permute(0, 3, 1, 2)  # (N, 3, H, W)
    with torch.no_grad(): return list(np.clip(np.concatenate([reconstruct(vae, u8[i:i + 256]) for i in range(0, len(u8), 256)]), 0, 1))

verdicts = {}

# accuracy and time on clean renders
scenes = [random_scene(random.Random(f'oracle/{args.seed}/{i}')) for i in range(args.n)]
clean = [render(s, args.size) for s in scenes]
hits, seconds, parses = dict.fromkeys(('count', 'color', 'object', 'background'), 0), 0.0, []
for s, img in zip(scenes, clean):
    t = time.perf_counter()
    p = parse_image(img)
    seconds += time.perf_counter() - t
    parses.append(p)
    hits['count'] += p.count == len(s.objects)
    hits['color'] += sorted(o.color for o in p.objects) == sorted(o.color for o in s.objects)
    hits['object'] += sorted(o.kind for o in p.objects) == sorted(o.kind for o in s.objects)
    hits['background'] += p.background == s.background
acc = {k: v / args.n for k, v in hits.items()}
if args.save_verdicts or args.check_verdicts:
    verdicts['clean'] = [dict(background=p.background, objects=[[o.kind, o.color] for o in p.objects], fidelity=fidelity(img, p))
                         for p, img in zip(parses, clean)]

# robustness: one-object renders, softened
renders, kinds = one_object_renders(args.n_soft, args.size, args.seed)
soft = {'clean': renders, 'blur 0.5 px': [ndimage.gaussian_filter(im, (0.5, 0.5, 0)) for im in renders],
        'blur 1 px': [ndimage.gaussian_filter(im, (1.0, 1.0, 0)) for im in renders]}
if not args.no_vae: soft['VAE round trip'] = vae_round_trips(renders)
soft_reads = {name: [verdict(im) for im in ims] for name, ims in soft.items()}
kind_right = {name: np.mean([[o[0] for o in v['objects']] == [k] for v, k in zip(vs, kinds)]) for name, vs in soft_reads.items()}
if args.save_verdicts or args.check_verdicts:
    verdicts.update({f'one object, {name}': vs for name, vs in soft_reads.items()})
    if args.multi_soft:
        some = clean[:args.multi_soft]
        verdicts['clean scenes, blur 1 px'] = [verdict(ndimage.gaussian_filter(im, (1.0, 1.0, 0))) for im in some]
        if not args.no_vae: verdicts['clean scenes, VAE round trip'] = [verdict(im) for im in vae_round_trips(some)]

if args.folder:
    from rlhf_t2i.generate import read_metadata
    from rlhf_t2i.prompts import parse_prompt
    rows = read_metadata(args.folder)
    verdicts['folder'] = [dict(file_name=r['file_name'], **verdict(Image.open(Path(args.folder)/r['file_name']).convert('RGB'), parse_prompt(r['prompt'])))
                          for r in rows]

attributes = ('count', 'color', 'object', 'background')
print(f'oracle on {args.n} random clean renders at {args.size} px (seed {args.seed})\n')
print('| attribute | accuracy | errors |\n|---|---|---|')
for a in attributes: print(f'| {a} | {acc[a]:.4%} | {round((1 - acc[a]) * args.n)} |')
print(f'\nmean read time: {1000 * seconds / args.n:.3f} ms per image (one core)\n')
print(f'robustness: {args.n_soft} one-object renders read as one object of their kind\n')
print('| images | kind read right |\n|---|---|')
for name, v in kind_right.items(): print(f'| {name} | {v:.1%} |')

if args.save_verdicts:
    Path(args.save_verdicts).write_text(json.dumps(verdicts))
    print(f'\nverdicts of {sum(map(len, verdicts.values()))} reads -> {args.save_verdicts}')
if args.check_verdicts:
    saved = json.loads(Path(args.check_verdicts).read_text())
    print(f'\nagreement with {args.check_verdicts} (fidelity within {args.fidelity_tol:g})\n')
    print('| images | reads | background | count | kinds | colours | aligned | fidelity | all |\n|---|---|---|---|---|---|---|---|---|')
    for name, old in saved.items():
        new = verdicts.get(name, [])
        if len(new) != len(old): print(f'| {name} | {len(old)} saved, {len(new)} read now: run with the same flags |'); continue
        same = dict(background=[a['background'] == b['background'] for a, b in zip(old, new)],
                    count=[len(a['objects']) == len(b['objects']) for a, b in zip(old, new)],
                    kinds=[[o[0] for o in a['objects']] == [o[0] for o in b['objects']] for a, b in zip(old, new)],
                    colours=[[o[1] for o in a['objects']] == [o[1] for o in b['objects']] for a, b in zip(old, new)],
                    aligned=[a.get('alignment') == b.get('alignment') for a, b in zip(old, new)],
                    fidelity=[abs(a['fidelity'] - b['fidelity']) <= args.fidelity_tol for a, b in zip(old, new)])
        every = np.all(list(same.values()), axis=0)
        print(f'| {name} | {len(old)} | ' + ' | '.join(str(sum(v)) for v in same.values()) + f' | {every.sum()} |')
        worst = max(abs(a['fidelity'] - b['fidelity']) for a, b in zip(old, new))
        if not every.all() or worst > 0: print(f'|  largest fidelity difference {worst:.2g}; first disagreeing reads: {np.flatnonzero(~every)[:5].tolist()} |')
print(f'\nmin accuracy: {min(acc[a] for a in attributes):.4%}')
