"""Reward-model training epoch time with cached CLIP embeddings against recomputing them every epoch, in one run.

Both arms train the same MLP on the same labelled images (clean renders, half misaligned, labelled by the oracle) for
the same number of epochs with the same seed. The cached arm embeds every image and prompt once (the first pass fills
the cache) and then trains on tensors; the recomputing arm runs the frozen CLIP on each batch, as a loop that does not
cache would. Prints a table and the ratio of the mean epoch times.
"""
import argparse, tempfile, time
from pathlib import Path
import numpy as np
import torch
from rlhf_t2i.feedback import LabelStore, SimulatedLabeller, simulate_labelling
from rlhf_t2i.worlds import render_folder
from rlhf_t2i.models import load_clip
from rlhf_t2i.prompts import build_prompt_set, perturb
from rlhf_t2i.reward import (EmbeddingCache, RewardConfig, RewardModel, _open_image, build_examples, image_embeddings, labelled_data,
                             reward_loss, row_prompt, text_embeddings)

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--backbone', default='shapes', help='CLIP: shapes, a folder or an id')
parser.add_argument('--prompts', type=int, default=256, help='prompts; 4 images each')
parser.add_argument('--epochs', type=int, default=3, help='epochs timed in each arm')
parser.add_argument('--n-prompts', type=int, default=RewardConfig.n_prompts, help='prompts in the auxiliary softmax')
parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s)')
args = parser.parse_args()
if args.threads: torch.set_num_threads(args.threads)

tmp = Path(tempfile.mkdtemp())
folder = render_folder(build_prompt_set('shapes', args.prompts, seed=0), tmp/'data', per_prompt=4, wrong=2)
with LabelStore(tmp/'labels.db') as s: simulate_labelling(s, folder, [SimulatedLabeller('oracle', flip=0, skip=0)], labellers_per_image=1)
data = labelled_data(tmp/'labels.db', folder)
clip, processor = load_clip(args.backbone)
cfg = RewardConfig(n_prompts=args.n_prompts)

def epoch(model, opt, batches, get):
    "One epoch over `batches` of row indices; `get(idx)` gives (image, text, label, perturbed, mask) tensors."
    t = time.perf_counter()
    for idx in batches:
        img, txt, lab, pert, mask = get(idx)
        loss = reward_loss(model, img, txt, lab, pert, cfg.lam, cfg.temperature, mask)[0]
        opt.zero_grad(); loss.backward(); opt.step()
    return time.perf_counter() - t

def arm(get, dim):
    torch.manual_seed(0)
    model = RewardModel(dim, cfg.hidden, cfg.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    batches = torch.randperm(len(data), generator=torch.Generator().manual_seed(0)).split(cfg.batch_size)
    return [epoch(model, opt, batches, get) for _ in range(args.epochs)]

# cached: the first pass computes and stores every embedding, then training reads tensors
t = time.perf_counter()
ex = build_examples(data, EmbeddingCache(tmp/'cache', clip, processor), cfg.n_prompts)
fill = time.perf_counter() - t
cached = arm(lambda idx: (ex['image'][idx], ex['text'][idx], ex['label'][idx], ex['perturbed'][idx], ex['has_perturbed'][idx]), ex['image'].shape[1])

# recomputing: the frozen CLIP embeds each batch's images, prompts and perturbed prompts every time
pert_texts = [[q.text for q in perturb(row_prompt(r), cfg.n_prompts - 1)] for _, r in data.iterrows()]
def recompute(idx):
    idx = idx.tolist()
    b = len(idx)  # one batch of exactly these rows: no padding up to the default batch size
    img = image_embeddings(clip, processor, [_open_image(data.path[i]) for i in idx], b)
    txt = text_embeddings(clip, processor, [data.prompt[i] for i in idx], b)
    pert = text_embeddings(clip, processor, [t for i in idx for t in pert_texts[i]], b * (cfg.n_prompts - 1)).reshape(len(idx), cfg.n_prompts - 1, -1)
    return img, txt, torch.tensor(data.label.values[idx], dtype=torch.float32), pert, torch.ones(len(idx), dtype=torch.bool)
recomputed = arm(recompute, ex['image'].shape[1])

print(f'{len(data)} labelled images, {args.epochs} epochs per arm, MLP {cfg.hidden} hidden, N = {cfg.n_prompts}, {torch.get_num_threads()} threads\n')
print('| arm | mean epoch time | epochs |\n|---|---|---|')
print(f'| cached embeddings | {np.mean(cached) * 1000:.1f} ms | {len(cached)} |')
print(f'| recomputing embeddings | {np.mean(recomputed) * 1000:.1f} ms | {len(recomputed)} |')
print(f'\nfilling the cache once: {fill:.1f} s')
print(f'ratio (recomputing / cached): {np.mean(recomputed) / np.mean(cached):.1f}x')
