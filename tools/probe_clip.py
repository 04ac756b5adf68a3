"""Does a contrastive recipe make the shapes CLIP see shape and count? Train (the shipped CLIP further, or a new one) and measure.

Every --every steps: zero-shot caption retrieval per attribute on clean renders (as bench/base_models.py), and how far
the text tower's hidden states (what the UNet is conditioned on) move when only the object word changes, against when
only the colour word changes. The shipped UNet follows exactly the attributes these states distinguish.
"""
import argparse, json, random, time
import numpy as np
import torch
from rlhf_t2i.models import build_clip, load_clip
from rlhf_t2i.pretrain import PretrainConfig, caption_groups, corpus_arrays, train_clip
from rlhf_t2i.prompts import SHAPES_VOCAB, Prompt
from rlhf_t2i.reward import image_embeddings, text_embeddings
from rlhf_t2i.shapes import WebCorpus, render, scene_for_prompt

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--steps', type=int, default=1200, help='further training steps')
parser.add_argument('--every', type=int, default=300, help='measure every this many steps')
parser.add_argument('--lr', type=float, default=5e-4, help='learning rate of the continued training')
parser.add_argument('--batch', type=int, default=PretrainConfig.clip_batch, help='contrastive batch size')
parser.add_argument('--group-size', type=int, default=1, help='hard negatives a caption group (1: plain random batches)')
parser.add_argument('--from-scratch', action='store_true', help='train a new CLIP (seed 0) instead of continuing the shipped one')
parser.add_argument('--corpus-size', type=int, default=PretrainConfig.corpus_size, help='web-corpus images')
parser.add_argument('--mixed-precision', default='no', choices=['no', 'bf16'], help='bfloat16 autocast (fast on GPUs and CPUs with AMX)')
parser.add_argument('--chunk', type=int, default=PretrainConfig.clip_chunk, help='pairs a pass takes at once (gradient caching); 0: all')
parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', help='where to train')
parser.add_argument('--json', default=None, help='write the measurements here')
args = parser.parse_args()

clip, processor = build_clip('shapes', seed=0) if args.from_scratch else load_clip('shapes')
clip.to(args.device)
v, rng = SHAPES_VOCAB, random.Random(0)
options = {'count': v.counts, 'color': v.colors, 'object': v.objects, 'background': list(v.backgrounds)}
cases = [Prompt(rng.choice(v.objects), rng.choice(v.counts), rng.choice(v.colors), rng.choice(list(v.backgrounds)), 'combination') for _ in range(200)]
renders = [render(scene_for_prompt(p, rng)) for p in cases]

@torch.no_grad()
def measure() -> dict:
    clip.eval()
    ims = image_embeddings(clip, processor, renders)
    out = {}
    for a, opts in options.items():
        texts = [Prompt(**{**p.__dict__, a: o}).text for p in cases for o in opts]
        tx = text_embeddings(clip, processor, texts).view(len(cases), len(opts), -1)
        pick = (tx @ ims[:, :, None]).squeeze(-1).argmax(1)
        out[f'retrieval_{a}'] = float(np.mean([list(opts)[int(k)] == getattr(p, a) for k, p in zip(pick, cases)]))
    tok = processor.tokenizer
    def states(s): return clip.text_model(tok([s], padding='max_length', max_length=tok.model_max_length, return_tensors='pt').input_ids.to(clip.device))[0][0].cpu()
    base = states('one red colored circle')
    out['state_change_object'] = float(np.mean([(states(f'one red colored {k}') - base).norm() for k in v.objects if k != 'circle']))
    out['state_change_color'] = float(np.mean([(states(f'one {c} colored circle') - base).norm() for c in v.colors if c != 'red']))
    clip.train()
    return out

images, captions = corpus_arrays(WebCorpus(args.corpus_size, seed=0))
groups = caption_groups(captions)
rows, t0 = [dict(step=0, **measure())], time.time()
print(rows[-1], flush=True)
for done in range(args.every, args.steps + 1, args.every):
    train_clip(clip, processor, images, captions, steps=args.every, batch_size=args.batch, lr=args.lr, seed=done,
               groups=groups, group_size=args.group_size, chunk_size=args.chunk, mixed_precision=args.mixed_precision)
    rows.append(dict(step=done, seconds=time.time() - t0, **measure()))
    print(rows[-1], flush=True)
    if args.json: open(args.json, 'w').write(json.dumps(rows, indent=1))
