"""Fine-tuning step time: this trainer (cached latents and text states) against a straightforward loop, in one run.

Both arms train the same UNet (the shipped shapes pipeline by default) on the same reward-weighted images with the same
batch size. The straightforward loop follows the diffusers text-to-image example: every step it opens the batch's image
files, runs the VAE encoder and the text encoder, then the UNet. This trainer encodes the fixed data once and trains on
the cached tensors. Prints the median step times, their ratio, and the UNet's achieved FLOP/s in this trainer against
the machine's fp32 matmul rate measured in the same process, and the most caching can give: the straightforward step over its time
without the encoding (Amdahl). The gain grows with the encoders' share of a step:
`--model sd-like` measures it in SD v1.5's proportions.

A third arm trains this trainer with `compile=True` (torch.compile of the UNet's step) on the same batches: its steady step,
its compile time (its first step beyond a steady one), the number of steps at which compiling pays for itself, and how far
its losses are from the eager trainer's. On a CPU the compile takes minutes; `--no-compile` leaves the arm out.
"""
import argparse, json, os, statistics, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode
from diffusers import DDPMScheduler
from rlhf_t2i.feedback import LabelStore, SimulatedLabeller, simulate_labelling
from rlhf_t2i.finetune import FinetuneConfig, finetune, model_rows
from rlhf_t2i.worlds import render_folder, shows_prompt
from rlhf_t2i.models import build_pipeline, load_pipeline
from rlhf_t2i.prompts import build_prompt_set

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--model', default='shapes', help="pipeline: shapes, a folder, an id, or 'sd-like' (random weights in SD v1.5's proportions)")
parser.add_argument('--steps', type=int, default=20, help='steps timed in each arm (the first two are dropped as warm-up)')
parser.add_argument('--batch-size', type=int, default=64, help='examples per step')
parser.add_argument('--prompts', type=int, default=64, help='prompts of the fine-tuning data; 4 images each')
parser.add_argument('--dtype', '--mixed-precision', dest='dtype', default='fp32', choices=['fp32', 'no', 'fp16', 'bf16'],
                    help='autocast dtype of every arm (fp16 and bf16 on a GPU; fp32 is no autocast)')
parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', choices=['cpu', 'cuda'], help='where every arm trains')
parser.add_argument('--no-compile', action='store_true', help='leave out the compiled arm (its compile takes minutes on a CPU)')
args = parser.parse_args()
if args.device == 'cuda' and not torch.cuda.is_available(): sys.exit('--device cuda: no CUDA device here')
if args.device == 'cpu': os.environ['ACCELERATE_USE_CPU'] = 'true'  # accelerate would take a GPU when there is one
device = args.device
args.mixed_precision = 'no' if args.dtype in ('fp32', 'no') else args.dtype
amp = dict(no=None, fp16=torch.float16, bf16=torch.bfloat16)[args.mixed_precision]

def sync():
    if device == 'cuda': torch.cuda.synchronize()

tmp = Path(tempfile.mkdtemp())
if args.model == 'sd-like':  # SD v1.5's layout (f8 VAE at 64 px, 768-wide text encoder); step times do not depend on the weights
    build_pipeline('sd-like', seed=0).save_pretrained(tmp/'sd-like'); args.model = str(tmp/'sd-like')
data = render_folder(build_prompt_set('shapes', args.prompts, seed=0), tmp/'data', per_prompt=4, wrong=2)
with LabelStore(tmp/'labels.db') as s: simulate_labelling(s, data, [SimulatedLabeller('oracle', flip=0, skip=0)], labellers_per_image=1)
meta = [json.loads(l) for l in (data/'metadata.jsonl').read_text().splitlines()]
(data/'rewards.jsonl').write_text(''.join(json.dumps(dict(file_name=r['file_name'], prompt=r['prompt'], reward=float(shows_prompt(r)))) + '\n' for r in meta))

# this trainer: labelled + scored images, no pre-training term (the straightforward loop has none either)
cfg = FinetuneConfig(variant='labelled+scored', max_train_steps=args.steps, train_batch_size=args.batch_size, checkpointing_steps=0, validation_steps=0,
                     mixed_precision=args.mixed_precision)
info = finetune(args.model, tmp/'ours', data, tmp/'labels.db', data, config=cfg, progress=False)
ours = statistics.median(h['seconds'] for h in info['history'][2:])
if not args.no_compile:  # the same run compiled: the same batches, so the same losses up to the compiled kernels' rounding
    from dataclasses import replace
    comp = finetune(args.model, tmp/'compiled', data, tmp/'labels.db', data, config=replace(cfg, compile=True), progress=False)
    compiled = statistics.median(h['seconds'] for h in comp['history'][2:])
    # relative to the larger of the two; a batch of weight-0 rows has loss 0 in both
    gaps = [abs(a['model'] - b['model']) / max(abs(a['model']), abs(b['model'])) if a['model'] or b['model'] else 0.0 for a, b in zip(info['history'], comp['history'])]

# the straightforward loop
pipe = load_pipeline(args.model, device=device)
rows = model_rows(data, tmp/'labels.db', data)
unet, vae, te, tok = pipe.unet.train(), pipe.vae, pipe.text_encoder, pipe.tokenizer
vae.requires_grad_(False); te.requires_grad_(False)
opt = torch.optim.AdamW(unet.parameters(), lr=cfg.learning_rate, weight_decay=cfg.adam_weight_decay)
sched = DDPMScheduler.from_config(pipe.scheduler.config)
size = unet.config.sample_size * pipe.vae_scale_factor
g = torch.Generator().manual_seed(0)

def encode_batch():
    "What the straightforward loop does each step before the UNet: open the images, run the VAE and the text encoder."
    idx = torch.randint(0, len(rows), (args.batch_size,), generator=g).tolist()
    x = torch.from_numpy(np.stack([np.asarray(Image.open(rows.path[i]).convert('RGB').resize((size, size)), np.float32) / 127.5 - 1 for i in idx])).permute(0, 3, 1, 2).to(device)
    with torch.no_grad(), torch.autocast(device, amp, enabled=amp is not None):
        lat = vae.encode(x).latent_dist.sample(generator=g).float() * vae.config.scaling_factor
        ids = tok([rows.prompt[i] for i in idx], padding='max_length', max_length=tok.model_max_length, truncation=True, return_tensors='pt').input_ids
        states = te(ids.to(device))[0]
    return idx, lat, states

def train_unet(idx, lat, states):
    noise = torch.randn(lat.shape, generator=g).to(device)
    t = torch.randint(0, sched.config.num_train_timesteps, (len(idx),), generator=g).to(device)
    with torch.autocast(device, amp, enabled=amp is not None):
        pred = unet(sched.add_noise(lat, noise, t), t, states).sample
    per = F.mse_loss(pred.float(), noise, reduction='none').mean((1, 2, 3))
    loss = (torch.tensor(rows.weight.values[idx], dtype=torch.float32, device=device) * per).mean()
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(unet.parameters(), cfg.max_grad_norm); opt.step()

times, encode_times = [], []
for _ in range(args.steps):
    sync(); t0 = time.perf_counter(); batch = encode_batch(); sync(); t1 = time.perf_counter(); train_unet(*batch); sync()
    times.append(time.perf_counter() - t0); encode_times.append(t1 - t0)
plain = statistics.median(times[2:])
plain_unet = statistics.median(a - b for a, b in zip(times[2:], encode_times[2:]))

# the UNet's FLOPs per step (forward and backward) and the machine's matmul rate
lat = torch.randn(args.batch_size, unet.config.in_channels, unet.config.sample_size, unet.config.sample_size, device=device)
states = te(tok(['a red colored circle'] * args.batch_size, padding='max_length', max_length=tok.model_max_length, return_tensors='pt').input_ids.to(device))[0].detach()
with FlopCounterMode(display=False) as fc:
    unet(lat, torch.full((args.batch_size,), 500, device=device), states).sample.pow(2).mean().backward()
unet_flops = fc.get_total_flops()
n = 2048 if device == 'cpu' else 8192
a, b = (torch.randn(n, n, device=device, dtype=amp or torch.float32) for _ in range(2))
a @ b; sync()
t0 = time.perf_counter()
for _ in range(10): a @ b
sync(); peak = 10 * 2 * n ** 3 / (time.perf_counter() - t0)
rate_name = f'{amp or torch.float32} matmul rate'.replace('torch.', '')

where = f'{torch.get_num_threads()} CPU threads' if device == 'cpu' else torch.cuda.get_device_name()
print(f'{len(rows)} weighted images, batch {args.batch_size}, {args.steps} steps per arm (median of the last {args.steps - 2}), '
      f'{where}, mixed precision: {args.mixed_precision}\n')
print('| arm | median step time |\n|---|---|')
if not args.no_compile: print(f'| this trainer, compiled UNet (cached, compile=True) | {compiled * 1000:.0f} ms |')
print(f'| this trainer (cached latents and text states) | {ours * 1000:.0f} ms |')
print(f'| straightforward loop (VAE and text encoder every step) | {plain * 1000:.0f} ms |')
print(f'| the same loop, its UNet step alone (encoding excluded) | {plain_unet * 1000:.0f} ms |')
print(f'\nspeed-up (straightforward / this trainer): {plain / ours:.2f}x')
# Amdahl's bound: caching removes the encoding and no more, so the loop's own UNet step sets the ceiling
print(f'the most caching can give on this model (straightforward / its UNet step alone): {plain / plain_unet:.2f}x')
print(f'UNet forward+backward: {unet_flops / 1e9:.1f} GFLOP a step; achieved {unet_flops / ours / 1e9:.1f} GFLOP/s '
      f'against a measured {rate_name} of {peak / 1e9:.1f} GFLOP/s ({100 * unet_flops / ours / peak:.0f}%)')
if not args.no_compile:
    gain = ours - compiled
    print(f'\ncompiled: speed-up over the straightforward loop {plain / compiled:.2f}x, over this trainer eager {ours / compiled:.2f}x; '
          f'achieved {unet_flops / compiled / 1e9:.1f} GFLOP/s ({100 * unet_flops / compiled / peak:.0f}% of the {rate_name})')
    print(f'compile time: {comp["compile_seconds"]:.1f} s (first step beyond a steady one); it pays for itself after '
          + (f'{comp["compile_seconds"] / gain:.0f} steps' if gain > 0 else 'no number of steps (no faster a step)'))
    # the first step's loss is the same computation on the same weights; later ones also carry the updates' rounding, which Adam amplifies
    print(f'compiled vs eager loss, relative difference at the first step: {gaps[0]:.2e}; largest over {len(gaps)} steps: {max(gaps):.2e}')
