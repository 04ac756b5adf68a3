"""Sampling throughput of the shipped pipeline: batched against one prompt at a time, eager against a compiled UNet, in one run.

Prints images/s of each way and their ratio, at the default sampler (DDIM 20 steps, guidance 3.5), for each weight dtype
asked for (float32 on the CPU; on a GPU also float16 and bfloat16). The compiled row (`torch.compile` of the UNet,
`generate.compile_unet`) samples the same batches; its compile time is its first batch beyond a steady one, and the
break-even is the number of images after which compiling has paid for itself. On a CPU the compile takes minutes;
`--no-compile` leaves it out.
"""
import argparse, sys, time
import numpy as np
import torch
from rlhf_t2i.prompts import build_prompt_set
from rlhf_t2i.models import load_pipeline
from rlhf_t2i.generate import SHAPES_SAMPLER, compile_unet, generate_images

DTYPES = dict(fp32='float32', fp16='float16', bf16='bfloat16', float32='float32', float16='float16', bfloat16='bfloat16')
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--model', default='shapes', help='pipeline: shapes, a folder or an id')
parser.add_argument('--n', type=int, default=128, help='images for the batched run')
parser.add_argument('--n-single', type=int, default=32, help='images for the one-at-a-time run')
parser.add_argument('--batch-size', type=int, default=64, help='batch size of the batched run')
parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', help='where to sample (cpu or cuda)')
parser.add_argument('--dtype', '--dtypes', dest='dtypes', default=None,
                    help='comma-separated weight dtypes, fp32/fp16/bf16 (default: fp32 on the CPU, fp32,fp16,bf16 on a GPU)')
parser.add_argument('--no-compile', action='store_true', help='leave out the compiled UNet (its compile takes minutes on a CPU)')
parser.add_argument('--steps', type=int, default=SHAPES_SAMPLER['num_inference_steps'], help='sampler steps')
args = parser.parse_args()
if args.device.startswith('cuda') and not torch.cuda.is_available(): sys.exit('--device cuda: no CUDA device here')
asked = (args.dtypes or ('fp32' if args.device == 'cpu' else 'fp32,fp16,bf16')).split(',')
if bad := [d for d in asked if d not in DTYPES]: sys.exit(f'unknown dtype {bad[0]!r}; known: fp32, fp16, bf16')
dtypes = [DTYPES[d] for d in asked]

def sync():
    if args.device.startswith('cuda'): torch.cuda.synchronize()

def timed(pipe, n, bs) -> list:
    "Seconds of each batch of `n` images drawn `bs` at a time."
    out = []
    for i in range(0, n, bs):
        sync(); t = time.perf_counter()
        generate_images(pipe, texts[i:i + bs], list(range(i, min(i + bs, n))), batch_size=bs, progress=False, num_inference_steps=args.steps)
        sync(); out.append(time.perf_counter() - t)
    return out

texts = [p.text for p in build_prompt_set('shapes', max(args.n, args.n_single), seed=1)]
rates, compiled = {}, {}
for dtype in dtypes:
    pipe = load_pipeline(args.model, device=args.device, dtype=getattr(torch, dtype))
    pipe.set_progress_bar_config(disable=True)
    timed(pipe, 2, 2)  # warm-up
    rates[dtype, 'batched'] = args.n / sum(timed(pipe, args.n, args.batch_size))
    rates[dtype, 'one at a time'] = args.n_single / sum(timed(pipe, args.n_single, 1))
    if not args.no_compile:
        eager = args.batch_size / rates[dtype, 'batched']  # an eager batch's time, for the break-even
        compile_unet(pipe)
        first = timed(pipe, args.batch_size, args.batch_size)[0]  # compiles
        steady = timed(pipe, args.n, args.batch_size)
        # a last partial batch would recompile for its shape: only whole batches are timed
        per_batch = float(np.median(steady))
        compiled[dtype] = dict(rate=args.batch_size / per_batch, compile=first - per_batch, gain=eager - per_batch)
        if args.device.startswith('cuda'):  # CUDA graphs replay the whole UNet in one launch: for a launch-bound small UNet
            pipe.unet = torch.compile(pipe.unet._orig_mod, mode='reduce-overhead')
            first = timed(pipe, args.batch_size, args.batch_size)[0]
            per_batch = float(np.median(timed(pipe, args.n, args.batch_size)))
            compiled[dtype, 'graphs'] = dict(rate=args.batch_size / per_batch, compile=first - per_batch, gain=eager - per_batch)

where = f'{torch.get_num_threads()} threads' if args.device == 'cpu' else torch.cuda.get_device_name()
print(f'device: {args.device} ({where}), sampler: DDIM {args.steps} steps, guidance {SHAPES_SAMPLER["guidance_scale"]}, batch {args.batch_size}')
print('| dtype | UNet | batched images/s | one at a time images/s | ratio |\n|---|---|---|---|---|')
for d in dtypes:
    print(f'| {d} | eager | {rates[d, "batched"]:.1f} | {rates[d, "one at a time"]:.1f} | {rates[d, "batched"] / rates[d, "one at a time"]:.1f}x |')
    for key, name in ((d, 'compiled'), ((d, 'graphs'), 'compiled, CUDA graphs')):
        if key in compiled: print(f'| {d} | {name} | {compiled[key]["rate"]:.1f} | | {compiled[key]["rate"] / rates[d, "batched"]:.2f}x the eager batched |')
for key, c in compiled.items():
    name = key if isinstance(key, str) else f'{key[0]}, CUDA graphs'
    pays = f'after {c["compile"] / c["gain"] * args.batch_size:.0f} images' if c['gain'] > 0 else 'never (no faster a batch)'
    print(f'{name}: compile time {c["compile"]:.1f} s (first batch beyond a steady one); pays for itself {pays}')
