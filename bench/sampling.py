"""Sampling throughput of the shipped pipeline: batched against one prompt at a time, in one run.

Prints images/s of each way and their ratio, at the default sampler (DDIM 20 steps, guidance 5).
"""
import argparse, time
import torch
from rlhf_t2i.prompts import build_prompt_set
from rlhf_t2i.models import load_pipeline
from rlhf_t2i.generate import SHAPES_SAMPLER, generate_images

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--model', default='shapes', help='pipeline: shapes, a folder or an id')
parser.add_argument('--n', type=int, default=128, help='images for the batched run')
parser.add_argument('--n-single', type=int, default=32, help='images for the one-at-a-time run')
parser.add_argument('--batch-size', type=int, default=64, help='batch size of the batched run')
args = parser.parse_args()

pipe = load_pipeline(args.model)
pipe.set_progress_bar_config(disable=True)
texts = [p.text for p in build_prompt_set('shapes', args.n, seed=1)]
generate_images(pipe, texts[:2], [0, 1], batch_size=2, progress=False)  # warm-up
rates = {}
for name, n, bs in (('batched', args.n, args.batch_size), ('one at a time', args.n_single, 1)):
    t = time.perf_counter()
    generate_images(pipe, texts[:n], list(range(n)), batch_size=bs, progress=False)
    rates[name] = n / (time.perf_counter() - t)
print(f'torch threads: {torch.get_num_threads()}, sampler: {SHAPES_SAMPLER}')
print('| mode | images/s |\n|---|---|')
for k, v in rates.items(): print(f'| {k} | {v:.1f} |')
print(f'batched / one at a time: {rates["batched"] / rates["one at a time"]:.1f}x')
