"""Pre-training step times of the shapes base models: float32 against bfloat16 autocast, the CLIP in one pass against chunks.

Times each stage's real trainer (`train_vae`, `train_clip`, `train_unet`) on web-corpus images at the default recipe's
batch sizes (`PretrainConfig`), in one process: a step is the time of 1 + n steps minus that of 1 step, over n, so that
set-up and the first step's warm-up drop out (`--repeats` keeps the fastest of several runs where other work competes).
Prints seconds a step, the speed-up against float32 in one pass, and the stage's projected wall time at the recipe's
steps. bfloat16 is fast only where the hardware has it (GPUs; CPUs with AMX or AVX512-BF16); elsewhere expect it to be
slower.
"""
import argparse, time
from dataclasses import asdict
import torch
from diffusers import AutoencoderKL
from rlhf_t2i.models import build_clip, build_pipeline, tiny_vae_config
from rlhf_t2i.pretrain import PretrainConfig, corpus_arrays, encode_latents, encode_text, train_clip, train_unet, train_vae
from rlhf_t2i.shapes import WebCorpus

recipe = PretrainConfig()
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--steps', type=int, default=1, help='steps timed a setting (after one untimed step)')
parser.add_argument('--repeats', type=int, default=1, help='times each run is repeated, keeping the fastest (noise on a shared machine only adds time)')
parser.add_argument('--clip-batch', type=int, default=recipe.clip_batch, help='CLIP contrastive batch')
parser.add_argument('--clip-chunk', type=int, default=recipe.clip_chunk, help='pairs a CLIP pass takes at once, in the chunked rows')
parser.add_argument('--stages', default='vae,clip,unet', help='comma-separated stages to time')
parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', help='where to train')
args = parser.parse_args()
dev = torch.device(args.device)
print(f'device: {dev} ({torch.get_num_threads()} threads), torch {torch.__version__}; recipe: {asdict(recipe)}')

images, captions = corpus_arrays(WebCorpus(max(2 * args.clip_batch, 4096), seed=0))

def step_time(train) -> float:
    "Seconds a step of `train(steps)`: (1 + n steps) minus 1 step, over n, each the fastest of `--repeats` runs."
    def timed(n):
        def once():
            if dev.type == 'cuda': torch.cuda.synchronize()
            t = time.perf_counter(); train(n)
            if dev.type == 'cuda': torch.cuda.synchronize()
            return time.perf_counter() - t
        return min(once() for _ in range(args.repeats))
    one = timed(1)
    return (timed(1 + args.steps) - one) / args.steps

def vae(precision):
    def train(n):
        torch.manual_seed(0)
        model = AutoencoderKL(**tiny_vae_config('shapes', layers_per_block=recipe.vae_layers_per_block)).to(dev)
        train_vae(model, images, n, recipe.vae_batch, recipe.vae_lr, mixed_precision=precision)
    return train

def clip(precision, chunk):
    def train(n):
        model, processor = build_clip('shapes', seed=0)
        pairs = slice(0, 2 * args.clip_batch)  # tokenizing fewer captions keeps the set-up, which the difference cancels, small beside a step
        train_clip(model.to(dev), processor, images[pairs], captions[pairs], n, args.clip_batch, recipe.clip_lr, chunk_size=chunk,
                   mixed_precision=precision)
    return train

def unet():
    pipe = build_pipeline('shapes', seed=0)
    model = AutoencoderKL(**tiny_vae_config('shapes', layers_per_block=recipe.vae_layers_per_block)).to(dev)
    states, index = encode_text(pipe.text_encoder.to(dev), pipe.tokenizer, captions)
    latents = encode_latents(model, images)
    def train(n): train_unet(pipe.unet.to(dev), latents, states, index, n, recipe.unet_batch, recipe.unet_lr)
    return train

settings = {'vae': [('float32', vae('no'), recipe.vae_steps), ('bfloat16 autocast', vae('bf16'), recipe.vae_steps)],
            'clip': [('float32, one pass', clip('no', 0), recipe.clip_steps),
                     (f'float32, chunks of {args.clip_chunk}', clip('no', args.clip_chunk), recipe.clip_steps),
                     ('bfloat16 autocast, one pass', clip('bf16', 0), recipe.clip_steps),
                     (f'bfloat16 autocast, chunks of {args.clip_chunk}', clip('bf16', args.clip_chunk), recipe.clip_steps)],
            'unet': [('float32', unet(), recipe.unet_steps)]}
batch = {'vae': recipe.vae_batch, 'clip': args.clip_batch, 'unet': recipe.unet_batch}
print('\n| stage | batch | setting | s a step | speed-up | projected stage time |\n|---|---|---|---|---|---|')
for stage in args.stages.split(','):
    base = None
    for name, train, steps in settings[stage]:
        s = step_time(train); base = base or s
        print(f'| {stage} | {batch[stage]} | {name} | {s:.3f} | {base / s:.2f}x | {steps:,} steps: {steps * s / 60:.1f} min |', flush=True)
