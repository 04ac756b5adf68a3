"""Would a CLIP that has seen the generator's kind of image make a better reward backbone? A probe; the shipped CLIP is unchanged.

The shipped shapes CLIP learned from crisp renders only, while every generated image comes through the shipped VAE's
decoder, soft and smeared. This continues the CLIP's contrastive training on web-corpus images of which a share has
been through that VAE (encoded, decoded), its text tower frozen (it is the pipeline's text encoder). Then, on a D_model
work folder (`make reproduce`'s, or any `finetune_experiment` folder), it compares the shipped and the tuned image tower
the way the reward stage uses them: a reward model trained on the labellers' labels and a logistic probe fitted to the
oracle's verdicts, each scored on the unlabelled images by AUC against the oracle and by the share of its weight on
aligned images; beside them, each CLIP's zero-shot caption retrieval on clean renders, which the tuning must keep.
"""
import argparse, json, random, time
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from rlhf_t2i.finetune import ORACLE_REWARDS
from rlhf_t2i.models import clip_features, load_clip, load_pipeline
from rlhf_t2i.pretrain import corpus_arrays, reconstruct, train_clip
from rlhf_t2i.prompts import SHAPES_VOCAB, Prompt
from rlhf_t2i.reward import EmbeddingCache, RewardConfig, labelled_data, reward_scores, train_on
from rlhf_t2i.shapes import WebCorpus, render, scene_for_prompt

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--work', default='runs/experiments/full/rlhf', help="a finetune_experiment work folder with the oracle's scores of D_model")
parser.add_argument('--out', default='runs/probe-robust-clip', help='where the tuned CLIP and the embedding caches go')
parser.add_argument('--corpus', type=int, default=16384, help='web-corpus images to tune on (a corpus seed the shipped CLIP did not train on)')
parser.add_argument('--vae-share', type=float, default=0.5, help='share of them passed through the shipped VAE')
parser.add_argument('--steps', type=int, default=200, help='contrastive steps')
parser.add_argument('--batch', type=int, default=1024, help='pairs a step')
parser.add_argument('--chunk', type=int, default=512, help='pairs the towers take at once (gradient caching)')
parser.add_argument('--lr', type=float, default=1e-4, help='peak learning rate (warm-up, then cosine)')
parser.add_argument('--retrieval', type=int, default=400, help='clean renders for the retrieval check')
parser.add_argument('--seed', type=int, default=0, help='tuning, reward and retrieval seed')
args = parser.parse_args()
W, out = Path(args.work), Path(args.out)
for f in (W/'feedback'/'train'/ORACLE_REWARDS, W/'unlabelled'/ORACLE_REWARDS):
    if not f.is_file(): raise SystemExit(f"{f} is missing: run make reproduce (or finetune_experiment with oracle_variants) first")

# --- tune the image tower on clean and VAE-round-tripped web images
tuned_dir = out/'clip'
if not (tuned_dir/'config.json').exists():
    t0 = time.time()
    images, captions = corpus_arrays(WebCorpus(args.corpus, seed=1000 + args.seed))
    vae = load_pipeline('shapes').vae
    n_vae = int(args.vae_share * len(images))
    with torch.no_grad():
        for i in range(0, n_vae, 512):
            rec = reconstruct(vae, images[i:i + 512])
            images[i:i + len(rec)] = torch.from_numpy((rec * 255 + 0.5).astype(np.uint8)).permute(0, 3, 1, 2)
    clip, processor = load_clip('shapes')
    clip.text_model.requires_grad_(False); clip.text_projection.requires_grad_(False)
    losses = train_clip(clip, processor, images, captions, steps=args.steps, batch_size=args.batch, lr=args.lr, seed=args.seed,
                        chunk_size=args.chunk)
    clip.eval().save_pretrained(tuned_dir); processor.save_pretrained(tuned_dir)
    (out/'tuning.json').write_text(json.dumps(dict(vars(args), first_loss=losses[0], last_loss=losses[-1], seconds=time.time() - t0), indent=1))
print('tuning:', json.loads((out/'tuning.json').read_text()))

# --- the two backbones on D_model
def scored(folder, name):
    d = pd.DataFrame([json.loads(line) for line in open(W/folder/name)])
    return d.assign(path=[str(W/folder/p) for p in d.file_name])

labelled = labelled_data(W/'feedback'/'labels.db', W/'feedback'/'train')
labelled['oracle'] = scored('feedback/train', ORACLE_REWARDS).set_index('image_id').reward.reindex(labelled.image_id).to_numpy()
test = scored('unlabelled', ORACLE_REWARDS).rename(columns={'reward': 'oracle'})
truth = test.oracle.to_numpy() > 0.5

def retrieval(clip, processor, rng):
    "Zero-shot accuracy per attribute: the true prompt against its variants in that attribute, on clean renders."
    v, hits = SHAPES_VOCAB, {}
    options = {'count': v.counts, 'color': v.colors, 'object': v.objects, 'background': list(v.backgrounds)}
    for a, opts in options.items():
        right = []
        for _ in range(args.retrieval // len(options)):
            p = Prompt(rng.choice(v.objects), rng.choice(v.counts), rng.choice(v.colors), rng.choice(list(v.backgrounds)), 'combination')
            texts = [Prompt(**{**p.__dict__, a: o}).text for o in opts]
            x = processor(images=[(np.clip(render(scene_for_prompt(p, rng)), 0, 1) * 255).astype(np.uint8)], text=texts, return_tensors='pt',
                          padding='max_length', max_length=processor.tokenizer.model_max_length, truncation=True)
            with torch.no_grad():
                i = torch.nn.functional.normalize(clip_features(clip.get_image_features(pixel_values=x['pixel_values'])), dim=-1)
                t = torch.nn.functional.normalize(clip_features(clip.get_text_features(input_ids=x['input_ids'], attention_mask=x['attention_mask'])), dim=-1)
            right.append(int((i @ t.T).argmax()) == list(opts).index(getattr(p, a)))
        hits[a] = np.mean(right)
    return hits

rows = []
for name, src in (('shipped', 'shapes'), ('tuned on VAE round trips', str(tuned_dir))):
    clip, processor = load_clip(src)
    cache = EmbeddingCache(out/'embeddings', clip, processor)
    model, _, _ = train_on(labelled, cache, RewardConfig(seed=args.seed))
    reward = reward_scores(model, cache, test)
    def features(d):
        i, t = cache.images(d.path).numpy(), cache.texts(list(d.prompt)).numpy()
        return np.concatenate([i, t, i * t], 1)
    probe = LogisticRegression(C=10, max_iter=5000).fit(features(labelled), labelled.oracle > 0.5).predict_proba(features(test))[:, 1]
    sim = (cache.images(test.path) * cache.texts(list(test.prompt))).sum(1).numpy()
    for scorer, s in (('CLIP score', sim), ("reward model, labellers' labels", reward), ("logistic probe, oracle's verdicts", probe)):
        w = np.clip(s, 0, None)
        rows.append((name, scorer, roc_auc_score(truth, s), w[truth].sum() / w.sum()))
    rows.append((name, 'retrieval on clean renders: ' + ' / '.join(f'{a} {100 * h:.0f}%' for a, h in retrieval(clip, processor, random.Random(args.seed)).items()), None, None))

print(f'\n{len(labelled)} labelled images; scored: {len(test)} unlabelled images of the same prompts, {truth.mean():.1%} aligned by the oracle\n')
print('| CLIP | scorer | AUC against the oracle | weight on aligned images |\n|---|---|---|---|')
for name, scorer, auc, w in rows:
    print(f'| {name} | {scorer} | ' + ('' if auc is None else f'{auc:.3f} | {w:.1%}') + ' |')
