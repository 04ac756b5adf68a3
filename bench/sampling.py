"""Sampling throughput of the shipped pipeline: batched against one prompt at a time, in one run.

Prints images/s of each way and their ratio, at the default sampler (DDIM 20 steps, guidance 3.5), for each weight dtype
asked for (float32 on the CPU; on a GPU also float16 and bfloat16).
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
parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', help='where to sample')
parser.add_argument('--dtypes', default=None, help='comma-separated weight dtypes (default: float32 on the CPU, float32,float16,bfloat16 on a GPU)')
args = parser.parse_args()
dtypes = (args.dtypes or ('float32' if args.device == 'cpu' else 'float32,float16,bfloat16')).split(',')

def sync():
    if args.device.startswith('cuda'): torch.cuda.synchronize()

texts = [p.text for p in build_prompt_set('shapes', args.n, seed=1)]
rates = {}
for dtype in dtypes:
    pipe = load_pipeline(args.model, device=args.device, dtype=getattr(torch, dtype))
    pipe.set_progress_bar_config(disable=True)
    generate_images(pipe, texts[:2], [0, 1], batch_size=2, progress=False)  # warm-up
    for name, n, bs in (('batched', args.n, args.batch_size), ('one at a time', args.n_single, 1)):
        sync(); t = time.perf_counter()
        generate_images(pipe, texts[:n], list(range(n)), batch_size=bs, progress=False)
        sync(); rates[dtype, name] = n / (time.perf_counter() - t)
threads = torch.get_num_threads() if args.device == 'cpu' else torch.cuda.get_device_name()
print(f'device: {args.device} ({threads}{" threads" if args.device == "cpu" else ""}), sampler: {SHAPES_SAMPLER}, batch {args.batch_size}')
print('| dtype | batched images/s | one at a time images/s | ratio |\n|---|---|---|---|')
for d in dtypes: print(f'| {d} | {rates[d, "batched"]:.1f} | {rates[d, "one at a time"]:.1f} | {rates[d, "batched"] / rates[d, "one at a time"]:.1f}x |')
