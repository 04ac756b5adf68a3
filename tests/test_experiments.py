"The experiment notebooks under papermill with their quick parameters, as `rlhf-t2i reproduce --profile quick` runs them."
import json, math, subprocess, sys
import pytest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPERMILL = Path(sys.executable).parent / 'papermill'

def run_experiment(name, tmp_path, shared=(), **params):
    "Run nbs/experiments/NAME.ipynb with params/{SHARED..., NAME}/quick.yaml, writing into tmp_path; returns its JSON result."
    files = [a for p in (*shared, name) for a in ('-f', ROOT / f'params/{p}/quick.yaml')]
    args = [PAPERMILL, ROOT / f'nbs/experiments/{name}.ipynb', tmp_path / f'{name}.ipynb', *files,
            '-p', 'out', tmp_path / 'figures', '-p', 'work', tmp_path / 'work', '--cwd', ROOT, '--log-output']
    for k, v in params.items(): args += ['-p', k, v]
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (tmp_path / 'figures' / f'{name}.png').stat().st_size > 10_000
    return json.loads((tmp_path / 'figures' / f'{name}.json').read_text())

def shares_of(rates, n):
    "Assert win / tie / lose are counts of `n` prompts that add up to all of them, and `diff` is win - lose inside its interval."
    counts = [rates[k] * n for k in ('win', 'tie', 'lose')]
    assert all(abs(c - round(c)) < 1e-9 for c in counts) and sum(map(round, counts)) == n, (rates, n)  # else not shares of the prompts
    assert abs(rates['diff'] - (rates['win'] - rates['lose'])) < 1e-12 and rates['diff_lo'] <= rates['diff'] <= rates['diff_hi'], rates

def test_fig3a_quick(tmp_path):
    res = run_experiment('fig3a', tmp_path)
    acc = res['accuracy']
    # params/fig3a/quick.yaml: 12 held-out prompts a side x 4 renders, 2 of them misaligned: 2 x 2 (good, bad) pairs a prompt.
    # Other counts mean the held-out renders or the oracle's reading of them are wrong (eval_good: exactly half aligned)
    assert {k: res['pairs'][k] for k in ('seen', 'unseen', 'all')} == {'seen': 48, 'unseen': 48, 'all': 96} and res['eval_good'] == 0.5, (res['pairs'], res['eval_good'])
    # the shipped CLIP separates held-out aligned and misaligned clean renders far better than chance, so the pairs are built right;
    # a reward learned from 240 images is near chance here (0.59 at seed 0), its accuracy is the full profile's to show
    assert acc['CLIP score']['all'] > 0.8, acc
    # each accuracy counts its pairs (a tie scores half): hits = accuracy x pairs is a whole or half number, else it averages something else
    assert all(abs(2 * r['accuracy'] * r['pairs'] - round(2 * r['accuracy'] * r['pairs'])) < 1e-6 for r in res['table']), res['table'][:3]

def test_fig3b_quick(tmp_path):
    res = run_experiment('fig3b', tmp_path)
    from rlhf_t2i.reward import labelled_data
    work = tmp_path/'work'/'rendered'  # params/fig3b/quick.yaml's source: each source has a folder of its own
    train = labelled_data(work/'labels.db', work/'train')
    # "half" is half of each prompt's labelled images (pandas rounds 1.5 to 2): any other count halves something else
    assert res['images_all'] == len(train) and res['images_half'] == sum(round(n / 2) for n in train.groupby('prompt').size()), res
    # both rewards are scored on the same 96 held-out pairs (as Fig 3a's), or their accuracies are not comparable
    assert {(r['scorer'], r['pairs']) for r in res['table'] if r['subset'] == 'all'} == {('all images per prompt', 96), ('half the images per prompt', 96)}

def test_rlhf_experiments_quick(tmp_path):
    "Table 3, Fig 4 and Fig 6 share one work folder: the stages run once, the three notebooks read them."
    t3 = run_experiment('table3', tmp_path, shared=('rlhf',))
    models = [r['model'] for r in t3['table']]
    full = '+ pre-training data (full)'  # the base, the four variants, then the ceiling, the reward variant and per-prompt weights
    assert models[0] == 'pre-trained' and models[5:] == [f'{full}, oracle as reward', f'{full}, patch-attention reward', f'{full}, per-prompt weights'], models
    # 16 evaluation prompts x 4 images a model, each read aligned or not: a share that is not k/64 was taken over other images
    assert all(abs(r['aligned'] * 64 - round(r['aligned'] * 64)) < 1e-9 and r['frechet'] > 0 for r in t3['table']), t3['table']
    # pooled over 2 seed sets of the same prompts: shares are k/128, a model's pooled difference is the mean of its two
    pooled, at_first = {r['model']: r for r in t3['pooled']}, {r['model']: r for r in t3['table']}
    assert list(pooled) == models and all(abs(r['aligned'] * 128 - round(r['aligned'] * 128)) < 1e-9 for r in pooled.values()), pooled
    for m in models[1:]:
        r = pooled[m]
        assert abs(r['vs base aligned'] - (r['vs base at 1000'] + r['vs base at 2000']) / 2) < 1e-9 and r['vs base at 1000'] == at_first[m]['vs base aligned'], r
    ceiling = pooled[f'{full}, oracle as reward']  # a share of the ceiling's gain, where it gained
    assert ceiling['of ceiling'] == 1.0 if ceiling['vs base aligned'] > 0 else math.isnan(ceiling['of ceiling']), ceiling
    assert t3['reward_models']['patch-attention']['config']['variant'] == 'patch-attention'
    d = t3['d_model']  # D_model: 60 prompts x (4 labelled, some skipped, + 4 unlabelled) images, judged by the oracle
    assert 440 <= d['images'] <= 480 and abs(d['aligned'] * d['images'] - round(d['aligned'] * d['images'])) < 1e-6, d
    f4 = run_experiment('fig4', tmp_path, shared=('rlhf',))
    assert f4['prompts'] == 16 and (tmp_path / 'figures' / 'fig2.png').stat().st_size > 10_000
    shares_of(f4['alignment'], 16); shares_of(f4['fidelity'], 16)
    # Fig 4 reads the same evaluation images as Table 3: the base's oracle alignment must be the same number
    assert f4['oracle']['pre-trained']['alignment'] == at_first['pre-trained']['aligned'], (f4['oracle'], at_first['pre-trained'])
    f6 = run_experiment('fig6', tmp_path, shared=('rlhf',))
    for t in ('table6', 'table7'):  # best-of-n vs random samples, the fine-tuned model vs best-of-n: both questions over all 16 prompts
        overall = [r for r in f6[t] if r['group'] == 'all']
        assert sorted(r['question'] for r in overall) == ['alignment', 'fidelity'], f6[t]
        for r in overall: shares_of(r, 16)
    assert f6['oracle']['pre-trained'] == f4['oracle']['pre-trained'], f6['oracle']  # the same base images as Fig 4 and Table 3
    # every fine-tuned model of Table 3's last three rows and the full method, at 2 seed sets and pooled (32 prompt-seed-set outcomes)
    comp = {(r['model'], r['seed_set'], r['question']): r for r in f4['comparisons']}
    assert {m for m, _, _ in comp} == {full, *models[5:]} and len(comp) == 4 * 3 * 2, sorted(comp)
    for (m, s, q), r in comp.items(): shares_of(r, 32 if s == 'pooled' else 16)
    assert comp[full, '1000', 'alignment']['diff'] == f4['alignment']['diff']  # the headline is the full method at the first seed set

@pytest.mark.slow  # about 7 CPU-minutes beyond Table 3's: twenty fine-tuned controls, each evaluated
def test_limits_quick(tmp_path):
    "The limits notebook's controls on Table 3's work folder, its Table 3 row the same evaluation as Table 3's."
    t3 = run_experiment('table3', tmp_path, shared=('rlhf',))
    table3 = {r['model']: r for r in t3['table']}  # Table 3's models, evaluated on the same images
    lim = run_experiment('limits', tmp_path, shared=('rlhf',))  # the controls, on the same work folder
    rows = {r['model']: r for r in lim['table']}
    assert list(rows)[:2] == ['pre-trained', 'oracle weights, no pre-training data'] and len(rows) == 20, list(rows)
    assert [m for m in rows if m.startswith('D_model of 10 images a prompt')] == list(rows)[-2:]  # 4 labelled + 4 + 2 unlabelled
    assert {'full method, oracle weights, 24 steps', 'full method, learned reward, 24 steps'} <= set(rows) and lim['paper_steps'] == 24  # params/limits/quick.yaml
    assert rows['pre-trained']['vs base aligned'] == 0 and all(r['vs base aligned_low'] <= r['vs base aligned'] <= r['vs base aligned_high'] for r in rows.values())
    assert rows['full method, learned reward (Table 3)']['aligned'] == table3['+ pre-training data (full)']['aligned']
    assert lim['render_images'] == 480 and lim['render_aligned'] == 1.0, lim  # 60 prompts x 8 renders, every one aligned

def test_tiny_profile_runs_the_paper_path(tmp_path):
    "`rlhf-t2i reproduce --profile tiny`: every step in the paper's world (its vocabulary, the detector judge, D_pre from a datasets dataset) on tiny random models."
    cli = Path(sys.executable).parent / 'rlhf-t2i'
    # --threads 1: reproduce pins 2 threads by default, which beside another test worker on 2 cores runs many times slower
    r = subprocess.run([str(cli), 'reproduce', '--profile', 'tiny', '--runs', str(tmp_path), '--threads', '1'], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    figs = tmp_path / 'reproduce' / 'tiny' / 'figures'
    t2 = json.loads((figs / 'table2.json').read_text())
    assert t2['stats'][0]['labels'] == 2 * 12 * 2  # 12 paper prompts x 2 images, two labellers each
    t3 = json.loads((figs / 'table3.json').read_text())
    assert [r['model'] for r in t3['table']][0] == 'pre-trained' and len(t3['table']) == 6  # base + 4 variants + per-prompt weights; no judge-as-reward or ranking rows
    f4 = json.loads((figs / 'fig4.json').read_text())
    assert f4['prompts'] == 8 and f4['raters'] == 3  # params/rlhf/tiny.yaml, params/fig4/tiny.yaml
    for name in ('fig3a', 'fig3b', 'fig6'): assert (figs / f'{name}.json').is_file(), name
    assert not (figs / 'shapes_world.png').exists() and (figs / 'README.md').is_file()  # shapes world's own steps do not run

SHARED_PARAMS = {'fig3a': (), 'fig3b': ()}  # every other experiment notebook runs with params/rlhf/<profile>.yaml first
EXPERIMENTS = sorted(p.stem for p in (ROOT / 'nbs/experiments').glob('*.ipynb'))

def declared_parameters(notebook) -> dict:
    "The parameter cell of nbs/experiments/NOTEBOOK.ipynb: name -> default value."
    import ast, papermill as pm
    return {k: ast.literal_eval(v['default']) for k, v in pm.inspect_notebook(str(ROOT / f'nbs/experiments/{notebook}.ipynb')).items()}

@pytest.mark.parametrize('notebook', EXPERIMENTS)
def test_code_cells_compile(notebook):
    "Every code cell of an experiment notebook parses on this Python (most of them run only in slow tests or make targets)."
    cells = json.loads((ROOT / f'nbs/experiments/{notebook}.ipynb').read_text())['cells']
    for i, c in enumerate(c for c in cells if c['cell_type'] == 'code'):
        source = ''.join(c['source'])
        compile('\n'.join('' if l.lstrip().startswith(('%', '!')) else l for l in source.split('\n')), f'{notebook} code cell {i}', 'exec')

@pytest.mark.parametrize('notebook', EXPERIMENTS)
def test_parameter_cells_are_the_quick_profile(notebook):
    "A notebook run bare is its quick profile; its own params files name only parameters it declares (papermill would inject a typo unused)."
    import yaml
    declared, shared = declared_parameters(notebook), SHARED_PARAMS.get(notebook, ('rlhf',))
    for profile in ('quick', 'full', 'tiny', 'paper'):
        own = ROOT / f'params/{notebook}/{profile}.yaml'
        if not own.exists(): continue
        mine = yaml.safe_load(own.read_text()) or {}
        assert set(mine) <= set(declared), (profile, sorted(set(mine) - set(declared)))
        if profile == 'quick':
            params = {k: v for p in shared for k, v in (yaml.safe_load((ROOT / f'params/{p}/quick.yaml').read_text()) or {}).items() if k in declared}
            differ = {k: (declared[k], v) for k, v in {**params, **mine}.items() if declared[k] != v}
            assert not differ, differ  # (the parameter cell's default, the quick profile's value)

def test_shared_params_are_declared():
    "Every parameter of params/rlhf is declared by some notebook that runs with it."
    import yaml
    users = set().union(*(declared_parameters(n) for n in EXPERIMENTS if SHARED_PARAMS.get(n, ('rlhf',))))
    for f in (ROOT / 'params/rlhf').glob('*.yaml'):
        assert set(yaml.safe_load(f.read_text())) <= users, (f.name, sorted(set(yaml.safe_load(f.read_text())) - users))
