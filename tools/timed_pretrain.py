"""Pre-train the shapes CLIP and UNet within a time budget, the shipped VAE reused: each stage's steps fitted to its measured step time.

For a lent GPU, where one call has minutes: the run is `rlhf_t2i.pretrain.pretrain` with a `PretrainConfig` whose steps
are the budget over a step's time, measured here on throwaway models. The work folder it leaves (vae/, clip/, unet/ and
their .done.json, config.json) is one `pretrain(out, work, PretrainConfig(**json.load(open(work/'config.json'))))` loads anywhere.
"""
import argparse, json, shutil, time
from dataclasses import asdict, replace
from pathlib import Path
import torch
from rlhf_t2i.models import build_clip, build_pipeline
from rlhf_t2i.pretrain import PretrainConfig, corpus_arrays, pretrain, train_clip, train_unet
from rlhf_t2i.shapes import WebCorpus

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--work', required=True, help='work folder of the run (the stages and their .done.json)')
parser.add_argument('--out', required=True, help='where the model folders are written')
parser.add_argument('--clip-seconds', type=float, default=150, help='time budget of the CLIP stage')
parser.add_argument('--unet-seconds', type=float, default=300, help='time budget of the UNet stage')
parser.add_argument('--clip-batch', type=int, default=PretrainConfig.clip_batch, help='contrastive batch size')
parser.add_argument('--clip-group-size', type=int, default=1, help='hard negatives a caption group (1: plain batches)')
parser.add_argument('--clip-lr', type=float, default=PretrainConfig.clip_lr, help='CLIP learning rate')
parser.add_argument('--unet-batch', type=int, default=256, help='UNet batch size')
parser.add_argument('--clip-from', default=None, help='work folder of an earlier run whose finished CLIP to reuse (its settings kept)')
parser.add_argument('--vae', default='data/models/shapes-sd/vae', help='finished VAE to reuse (trained with the default VAE settings)')
parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', help='where to train')
args = parser.parse_args()
torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True  # TF32 on GPUs that have it; no effect on the CPU

def seconds_a_step(train, short: int = 10, long: int = 40) -> float:
    "Wall time of one step of `train(steps)`: the difference of a long and a short call, so that set-up cancels out."
    def timed(n):
        t = time.perf_counter(); train(n)
        if args.device == 'cuda': torch.cuda.synchronize()
        return time.perf_counter() - t
    timed(short)  # warm-up
    return (timed(long) - timed(short)) / (long - short)

base = PretrainConfig()
reused = json.loads((Path(args.clip_from)/'clip.done.json').read_text()) if args.clip_from else None
if not reused:
    images, captions = corpus_arrays(WebCorpus(base.corpus_size, seed=base.corpus_seed))
    clip, processor = build_clip('shapes', seed=1)
    clip.to(args.device)
    clip_step = seconds_a_step(lambda n: train_clip(clip, processor, images, captions, n, args.clip_batch, args.clip_lr))
    del clip, images, captions
pipe = build_pipeline('shapes', seed=1)
unet = pipe.unet.to(args.device)
latents, states = torch.randn(4096, 4, 8, 8), torch.randn(512, 20, pipe.text_encoder.config.hidden_size)
unet_step = seconds_a_step(lambda n: train_unet(unet, latents, states, torch.randint(0, 512, (4096,)), n, args.unet_batch))
del pipe, unet
clip_settings = {k: v for k, v in reused['settings'].items() if k.startswith('clip')} if reused else dict(
    clip_steps=int(args.clip_seconds / clip_step), clip_batch=args.clip_batch, clip_lr=args.clip_lr, clip_group_size=args.clip_group_size)
config = replace(base, **clip_settings, unet_steps=int(args.unet_seconds / unet_step), unet_batch=args.unet_batch)
print(f'step times: unet {1000 * unet_step:.1f} ms' + ('' if reused else f', clip {1000 * clip_step:.1f} ms') + f' -> {config}', flush=True)

work = Path(args.work); work.mkdir(parents=True, exist_ok=True)
if reused and not (work/'clip.done.json').exists():
    shutil.copytree(Path(args.clip_from)/'clip', work/'clip'); shutil.copy(Path(args.clip_from)/'clip.done.json', work)
if not (work/'vae.done.json').exists():  # the shipped VAE with its own record: reused only if its settings are this config's
    shutil.copytree(args.vae, work/'vae', dirs_exist_ok=True)
    shipped = json.loads((Path(args.vae).parent.parent/'pretrain.json').read_text())['stages']['vae']
    (work/'vae.done.json').write_text(json.dumps(shipped))
stages = pretrain(args.out, work, config, device=args.device)
print(json.dumps(dict(config=asdict(config), stages=stages)), flush=True)
