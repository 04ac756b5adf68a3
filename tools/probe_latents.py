"""How far the shipped VAE's scaled latents move when only the object kind, or only the colour, of a rendered scene changes.

If kinds sat much closer together than colours in latent space, a UNet could hardly tell them apart; they do not (the
shipped VAE: object kind 4.0, colour 8.2, against a latent norm of 17).
"""
import argparse, random
import numpy as np
import torch
from rlhf_t2i.models import load_pipeline
from rlhf_t2i.pretrain import encode_latents
from rlhf_t2i.prompts import SHAPES_VOCAB
from rlhf_t2i.shapes import Obj, Scene, place_objects, render

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--model', default='shapes', help='pipeline whose VAE to probe: shapes, a folder or an id')
parser.add_argument('--scenes', type=int, default=40, help='one-object scenes at random places and backgrounds')
args = parser.parse_args()

vae = load_pipeline(args.model).vae
kinds, colors = SHAPES_VOCAB.objects, SHAPES_VOCAB.colors
by_kind, by_color, norms = [], [], []
for i in range(args.scenes):
    rng = random.Random(i)
    (x, y, r), = place_objects(1, rng)
    bg = rng.choice(list(SHAPES_VOCAB.backgrounds))
    def latent(kind, color):
        im = torch.from_numpy((render(Scene(bg, (Obj(kind, color, x, y, r),))) * 255 + 0.5).astype(np.uint8)).permute(2, 0, 1)[None]
        return encode_latents(vae, im)[0] * vae.config.scaling_factor
    base = latent(kinds[0], colors[0])
    norms.append(base.norm().item())
    by_kind += [(latent(k, colors[0]) - base).norm().item() for k in kinds[1:]]
    by_color += [(latent(kinds[0], c) - base).norm().item() for c in colors[1:]]
print(f'{args.scenes} scenes, L2 in scaled latents: norm of a latent {np.mean(norms):.2f}; '
      f'change of object kind {np.mean(by_kind):.2f}; change of colour {np.mean(by_color):.2f}')
