"""How well a reward on the shapes CLIP's embeddings can rank the base model's own images: labels or backbone?

On `make reproduce`'s D_model (labelled images of the fine-tuning prompts, and unlabelled images of the same prompts),
scores the unlabelled images with: CLIP score; the reward stage's reward model; the same reward model retrained on the
same images with the oracle's verdicts in place of the simulated labellers' labels (no label noise); and a logistic
probe on the embeddings fitted to the oracle's verdicts. Prints each scorer's AUC against the oracle and the share of
the weight it puts on oracle-aligned images (the share D_model's reward weighting gives them).
"""
import argparse, json
from pathlib import Path
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from rlhf_t2i.models import load_clip
from rlhf_t2i.reward import EmbeddingCache, RewardConfig, clip_score, labelled_data, reward_scores, train_on

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--work', default='runs/experiments/full/rlhf', help="finetune_experiment's work folder (params/rlhf/full.yaml)")
parser.add_argument('--epochs', type=int, default=100, help="reward training epochs (the work folder's reward_epochs)")
parser.add_argument('--seed', type=int, default=0, help='reward training seed')
args = parser.parse_args()

W = Path(args.work)
def scored(folder, name):
    "Rows (image_id, path, prompt, score) of a folder's scores file."
    f = W/folder/name
    if not f.is_file(): raise FileNotFoundError(f'{f} is missing: run make reproduce first (it scores D_model)')
    d = pd.DataFrame([json.loads(line) for line in open(f)])
    return d.assign(path=[str(W/folder/p) for p in d.file_name])

labelled = labelled_data(W/'feedback'/'labels.db', W/'feedback'/'train')
oracle = scored('feedback/train', 'rewards-oracle.jsonl').set_index('image_id').reward
labelled['oracle'] = oracle.reindex(labelled.image_id).to_numpy()
test = scored('unlabelled', 'rewards-oracle.jsonl').rename(columns={'reward': 'oracle'})
test['learned'] = scored('unlabelled', 'rewards.jsonl').set_index('image_id').reward.reindex(test.image_id).to_numpy()
truth = test.oracle.to_numpy() > 0.5

clip, processor = load_clip('shapes')
cache = EmbeddingCache(W/'reward'/'embeddings', clip, processor)
config = RewardConfig(max_epochs=args.epochs, seed=args.seed)
scores = {'CLIP score': clip_score(cache, test), 'reward model (the reward stage, labellers\' labels)': test.learned.to_numpy()}
for name, labels in (("labellers' labels", labelled.label), ("the oracle's verdicts", labelled.oracle)):
    model, _, _ = train_on(labelled.assign(label=labels.astype(float)), cache, config)
    scores[f'reward model retrained on {name}'] = reward_scores(model, cache, test)
def features(d):
    i, t = cache.images(d.path).numpy(), cache.texts(list(d.prompt)).numpy()
    return np.concatenate([i, t, i * t], 1)  # the product lets a linear probe see image-text agreement
probe = LogisticRegression(C=10, max_iter=5000).fit(features(labelled), labelled.oracle > 0.5)
scores["logistic probe on the oracle's verdicts"] = probe.predict_proba(features(test))[:, 1]

print(f'{len(labelled)} labelled images (people agree with the oracle: labels AUC {roc_auc_score(labelled.oracle > 0.5, labelled.label):.3f}); '
      f'scored: {len(test)} unlabelled images of the same prompts, {truth.mean():.1%} aligned by the oracle')
print('\n| scorer | AUC against the oracle | weight on aligned images |\n|---|---|---|')
for name, s in scores.items():
    w = np.clip(s, 0, None)  # as fine-tuning weights them: a negative score counts 0
    print(f'| {name} | {roc_auc_score(truth, s):.3f} | {w[truth].sum() / w.sum():.1%} |')
