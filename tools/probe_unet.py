"""Which change makes the shapes UNet draw shapes: train one UNet variant on the shipped VAE and text encoder, then bench it.

Each variant repeats stage 3 of `rlhf_t2i.pretrain` (same corpus, seed, schedule and EMA) with one thing changed, saves
the pipeline under --out/<variant>/, and runs `bench/base_models.py` on it into --out/probe_<variant>.json. Run several
variants side by side on one GPU: `for v in default masked long; do python tools/probe_unet.py --variant $v & done; wait`.
"""
import argparse, json, subprocess, sys, time
from pathlib import Path
import torch
from diffusers import UNet2DConditionModel
from rlhf_t2i.models import load_pipeline, tiny_unet_config
from rlhf_t2i.pretrain import PretrainConfig, corpus_arrays, encode_latents, encode_text, train_unet
from rlhf_t2i.shapes import CaptionNoise, WebCorpus

WIDE = (64, 128, 128)
VARIANTS = {  # name -> what differs from the notebook's recipe
    'default': {},  # text states as the pipeline computes them at sampling
    'masked': dict(masked=True),  # text states with the attention mask, as the UNet shipped before the fix was trained
    'long': dict(steps=4),  # four times the steps
    'wide': dict(channels=WIDE),  # twice the channels at every level
    'wide-long': dict(channels=WIDE, steps=4),
    'clean': dict(clean=True),  # captions without noise and no mixed scenes
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--variant', required=True, choices=list(VARIANTS), help='what to change in the UNet recipe')
parser.add_argument('--out', default='runs/probe_unet', help='folder for the pipelines and the numbers')
parser.add_argument('--steps', type=int, default=PretrainConfig.unet_steps, help='UNet steps of the default recipe')
parser.add_argument('--corpus-size', type=int, default=PretrainConfig.corpus_size, help='web-corpus images')
parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', help='where to train and sample')
parser.add_argument('--bench-args', default='', help='extra arguments for bench/base_models.py, e.g. "--prompts 20"')
args = parser.parse_args()
v, c = VARIANTS[args.variant], PretrainConfig()
torch.backends.cuda.matmul.allow_tf32 = True

t0 = time.time()
noise = CaptionNoise(**{k: 0.0 for k in CaptionNoise.__dataclass_fields__}) if v.get('clean') else CaptionNoise()
images, captions = corpus_arrays(WebCorpus(args.corpus_size, noise=noise, seed=c.corpus_seed))
pipe = load_pipeline('shapes', device=args.device)
pipe.text_encoder.config.use_attention_mask = bool(v.get('masked'))  # encode_text follows the config, as the pipeline does
states, index = encode_text(pipe.text_encoder, pipe.tokenizer, captions)
pipe.text_encoder.config.use_attention_mask = False
latents = encode_latents(pipe.vae, images) * pipe.vae.config.scaling_factor
torch.manual_seed(c.seed)
unet = UNet2DConditionModel(**tiny_unet_config('shapes', **({'block_out_channels': v['channels']} if 'channels' in v else {}))).to(args.device)
steps = args.steps * v.get('steps', 1)
losses, ema = train_unet(unet, latents, states, index, steps, c.unet_batch, c.unet_lr, c.p_uncond, seed=c.seed)
ema.copy_to(unet.parameters())
train_seconds = time.time() - t0
pipe.register_modules(unet=unet.eval())
folder = Path(args.out)/args.variant
pipe.save_pretrained(folder)
numbers = Path(args.out)/f'probe_{args.variant}.json'
subprocess.run([sys.executable, 'bench/base_models.py', '--model', str(folder), '--device', args.device, '--json', str(numbers),
                *args.bench_args.split()], check=True)
result = json.loads(numbers.read_text())
result.update(variant=args.variant, recipe=v, unet_steps=steps, train_seconds=train_seconds, device=args.device,
              last_loss=sum(losses[-50:]) / len(losses[-50:]), params=sum(p.numel() for p in unet.parameters()))
numbers.write_text(json.dumps(result, indent=1, default=list))
print(f"{args.variant}: {steps} steps in {train_seconds:.0f} s, loss {result['last_loss']:.4f}, well formed {result['well_formed']:.3f}, "
      f"good {result['good']:.3f}, object {result['attribute_right']['object']:.3f}, count {result['attribute_right']['count']:.3f}")
