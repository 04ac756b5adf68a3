"The shipped shapes base models: standard folders that plain diffusers / transformers load, small, with model cards."
import os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / 'data' / 'models'

def run_python(code, **env):
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd='/', env={**os.environ, **env})

def test_plain_diffusers_loads_the_pipeline():
    code = ("from diffusers import StableDiffusionPipeline; import torch, sys; "
            "assert 'rlhf_t2i' not in sys.modules; "
            f"p = StableDiffusionPipeline.from_pretrained({str(MODELS / 'shapes-sd')!r}); "
            "im = p(['two red colored circles'], num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type='np').images; "
            "print(im.shape)")
    r = run_python(code, OMP_NUM_THREADS='1')
    assert r.returncode == 0, r.stderr[-2000:]
    assert '(1, 32, 32, 3)' in r.stdout

def test_plain_transformers_loads_the_clip():
    code = ("from transformers import CLIPModel, CLIPProcessor; from PIL import Image; import sys; "
            f"m = CLIPModel.from_pretrained({str(MODELS / 'shapes-clip')!r}); p = CLIPProcessor.from_pretrained({str(MODELS / 'shapes-clip')!r}); "
            "x = p(images=[Image.new('RGB', (32, 32))], text=['a red colored circle'], return_tensors='pt', padding=True); "
            "o = m(**x); print(tuple(o.logits_per_image.shape))")
    r = run_python(code, OMP_NUM_THREADS='1')
    assert r.returncode == 0, r.stderr[-2000:]
    assert '(1, 1)' in r.stdout

def test_small_and_documented():
    size = sum(f.stat().st_size for d in ('shapes-sd', 'shapes-clip') for f in (MODELS / d).rglob('*') if f.is_file())
    assert size < 30 * 2**20, f'{size / 2**20:.1f} MB'
    for d in ('shapes-sd', 'shapes-clip'):
        card = (MODELS / d / 'README.md').read_text()
        assert 'Measured properties' in card and 'wall time' in card and 'Not measured yet' not in card

def test_missing_models_name_the_fix(tmp_path):
    r = run_python("from rlhf_t2i.models import load_pipeline; load_pipeline('shapes')", RLHF_T2I_MODELS=str(tmp_path))
    assert r.returncode != 0 and 'make models' in r.stderr and 'shapes-sd' in r.stderr
