"""Load and fault tests of the labelling server (`rlhf_t2i.app.serve`): a real server process on 127.0.0.1, 8 labellers
in threads each posting labels through the same API as the page (a screen, then one POST per image with a client-made
request id, retried with that id on connection errors), and the same with the server killed by SIGKILL a third of the
way in and restarted. Every acknowledged label must be in the database exactly once. 8 x 100 labels by default, 8 x 500
with the slow flag (about 45 s a test on 2 busy cores). Compare mode the same way: 8 raters voting at once on two
models' images, each changing some votes and retrying some, must each be counted once a prompt, with no acknowledged
vote lost. Loopback only, bounded in requests and time; run with `-s` to see the figures."""
import os, random, signal, socket, sqlite3, subprocess, sys, threading, time, uuid
from pathlib import Path
import httpx
import numpy as np
import pytest
from rlhf_t2i.evaluate import side_by_side
from rlhf_t2i.feedback import LABEL_VALUES, SIDES, LabelStore
from rlhf_t2i.prompts import build_prompt_set
from rlhf_t2i.worlds import render_folder

LABELLERS = 8
SIZES = [pytest.param(100, id='8x100'), pytest.param(500, id='8x500', marks=pytest.mark.slow)]  # labels per labeller
LABELLERS_PER_IMAGE = 2
PROMPTS = 720  # x 3 images x 2 labellers an image = 4,320 labels to hand out, over the 4,000 posted
DEADLINE_S = 420  # a whole test; the threads give up after it and the test fails


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    "An image folder of 2,160 rendered images, three per prompt."
    return render_folder(build_prompt_set('shapes', PROMPTS, seed=0), tmp_path_factory.mktemp('load')/'images', per_prompt=3, model_id='base')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Server:
    "A `serve` process on 127.0.0.1:`port`, its output in `log`; `options`: more arguments of `serve`, as Python source."
    def __init__(self, folder, db, port, log, options=''):
        self.folder, self.db, self.port, self.log, self.options, self.proc = folder, db, port, log, options, None

    def start(self, timeout=90):
        code = (f'from rlhf_t2i.app import serve; serve({str(self.folder)!r}, {str(self.db)!r}, port={self.port}, '
                f'labellers_per_image={LABELLERS_PER_IMAGE}{self.options})')
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
        self.proc = subprocess.Popen([sys.executable, '-c', code], stdout=open(self.log, 'a'), stderr=subprocess.STDOUT, env=env)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None: raise RuntimeError(f'server exited with {self.proc.returncode}:\n{Path(self.log).read_text()}')
            try:
                if httpx.get(f'http://127.0.0.1:{self.port}/api/health', timeout=2).status_code == 200: return time.monotonic() - t0
            except httpx.TransportError: pass
            time.sleep(0.05)
        raise RuntimeError(f'server not up after {timeout} s:\n{Path(self.log).read_text()}')

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try: self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()


class Labeller(threading.Thread):
    "A labeller's client: asks for a screen, labels its images one POST each, until `n` labels are acknowledged."
    def __init__(self, name, token, port, n, deadline, counter):
        super().__init__(daemon=True)
        self.name, self.token, self.port, self.n, self.deadline, self.counter = name, token, port, n, deadline, counter
        self.acked, self.latency, self.retries, self.error = [], [], 0, None

    def call(self, client, method, path, **kw):
        "One API call, retried (same body, so the same request id) on connection errors and 503s until the deadline."
        for attempt in range(10_000):
            if time.monotonic() > self.deadline: raise TimeoutError(f'{self.name}: {method} {path} not answered before the deadline')
            try: r = client.request(method, path, **kw)
            except httpx.TransportError: r = None
            if r is not None and r.status_code != 503:
                if r.status_code >= 400: raise AssertionError(f'{self.name}: {method} {path} -> {r.status_code} {r.text}')
                return r.json()
            self.retries += 1
            time.sleep(min(0.5, 0.02 * 2 ** min(attempt, 5)))
        raise TimeoutError(f'{self.name}: {method} {path}: too many retries')

    def run(self):
        try:
            with httpx.Client(base_url=f'http://127.0.0.1:{self.port}', headers={'Authorization': f'Bearer {self.token}'},
                              timeout=10) as c:
                while len(self.acked) < self.n:
                    screen = self.call(c, 'GET', f'/api/labellers/{self.name}/screen')
                    if not screen['images']: raise AssertionError(f'{self.name}: nothing left after {len(self.acked)} labels')
                    for im in screen['images'][:self.n - len(self.acked)]:
                        rid, value = uuid.uuid4().hex, LABEL_VALUES[len(self.acked) % 3]
                        t0 = time.perf_counter()
                        body = self.call(c, 'POST', f'/api/labellers/{self.name}/labels',
                                         json=dict(image_id=im['image_id'], value=value, request_id=rid))
                        self.latency.append(time.perf_counter() - t0)
                        assert body['request_id'] == rid and body['image_id'] == im['image_id'], body
                        self.acked.append((rid, im['image_id'], value))
                        with self.counter['lock']: self.counter['n'] += 1
        except BaseException as e:  # reported by the test
            self.error = e


def run_load(folder, tmp_path, per_labeller, kill_after=None):
    "8 labellers x `per_labeller` labels against a server; with `kill_after`, SIGKILL it once that many labels are acknowledged, and restart it."
    db = tmp_path/'labels.db'
    with LabelStore(db) as s: tokens = {f'l{i}': s.add_labeller(f'l{i}') for i in range(LABELLERS)}
    server = Server(folder, db, free_port(), tmp_path/'server.log')
    fig = dict(start_s=server.start())
    counter = dict(n=0, lock=threading.Lock())
    deadline = time.monotonic() + DEADLINE_S
    threads = [Labeller(name, tok, server.port, per_labeller, deadline, counter) for name, tok in tokens.items()]
    try:
        t0 = time.perf_counter()
        for t in threads: t.start()
        if kill_after:
            while counter['n'] < kill_after and any(t.is_alive() for t in threads) and time.monotonic() < deadline: time.sleep(0.01)
            server.kill()
            fig['acked_before_kill'] = before = {(t.name, rid) for t in threads for rid, *_ in list(t.acked)}
            con = sqlite3.connect(db)  # before the restart: what the killed server committed
            stored = set(con.execute('SELECT labeller, request_id FROM labels').fetchall())
            con.close()
            fig['missing_after_kill'] = len(before - stored)
            fig['restart_s'] = server.start()
        for t in threads: t.join(max(1, deadline - time.monotonic()))
        fig['load_s'] = time.perf_counter() - t0
    finally:
        server.stop()
    for t in threads:
        assert t.error is None, f'{t.name}: {t.error!r}\n{(tmp_path/"server.log").read_text()[-3000:]}'
        assert len(t.acked) == per_labeller
    fig['threads'] = threads
    return db, fig


def check_exactly_once(db, threads):
    "Every acknowledged label is in the database once, as sent, and nothing else is."
    con = sqlite3.connect(db)
    rows = con.execute('SELECT labeller, request_id, image_id, value FROM labels').fetchall()
    per_image = con.execute('SELECT COUNT(DISTINCT labeller) FROM labels GROUP BY image_id').fetchall()
    dup_pairs = con.execute('SELECT COUNT(*) FROM (SELECT 1 FROM labels GROUP BY labeller, image_id HAVING COUNT(*) > 1)').fetchone()[0]
    con.close()
    acked = {(t.name, rid): (image_id, value) for t in threads for rid, image_id, value in t.acked}
    assert len(acked) == sum(t.n for t in threads)
    stored = {}
    for labeller, rid, image_id, value in rows:
        assert (labeller, rid) not in stored, f'stored twice: {labeller} {rid}'
        stored[labeller, rid] = (image_id, value)
    assert stored == acked, f'{len(set(acked) - set(stored))} acknowledged labels missing, {len(set(stored) - set(acked))} unacknowledged stored'
    assert dup_pairs == 0  # no labeller labelled an image twice
    return sum(n > LABELLERS_PER_IMAGE for (n,) in per_image)


def report(title, fig, over):
    lat = np.array([x for t in fig['threads'] for x in t.latency]) * 1000
    n = len(lat)
    lines = [f'== {title}: {LABELLERS} labellers x {fig["threads"][0].n} labels = {n} labels in {fig["load_s"]:.1f} s: {n / fig["load_s"]:.0f} labels/s',
             f'   POST latency p50 {np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms, max {lat.max():.0f} ms; '
             f'retries {sum(t.retries for t in fig["threads"])}; server start {fig["start_s"]:.1f} s',
             f'   images over {LABELLERS_PER_IMAGE} labellers (two labellers given the same screen at once): {over}']
    if 'acked_before_kill' in fig:
        lines.append(f'   SIGKILL after {len(fig["acked_before_kill"])} acknowledged labels; missing from the database right after the kill: '
                     f'{fig["missing_after_kill"]}; restart {fig["restart_s"]:.1f} s')
    print('\n'.join(lines))


@pytest.mark.parametrize('per_labeller', SIZES)
def test_concurrent_labellers(folder, tmp_path, per_labeller):
    db, fig = run_load(folder, tmp_path, per_labeller)
    over = check_exactly_once(db, fig['threads'])
    report('load', fig, over)
    assert over <= 0.05 * LABELLERS * per_labeller  # next_screen's choice is no reservation: a few images get a third labeller


@pytest.mark.parametrize('per_labeller', SIZES)
def test_sigkill_mid_load(folder, tmp_path, per_labeller):
    db, fig = run_load(folder, tmp_path, per_labeller, kill_after=LABELLERS * per_labeller // 3)
    assert len(fig['acked_before_kill']) >= LABELLERS * per_labeller // 3
    assert fig['missing_after_kill'] == 0
    over = check_exactly_once(db, fig['threads'])
    report('kill', fig, over)


# Compare mode: raters voting at once
RATERS = 8
CMP_PROMPTS = 24
RATERS_PER_QUERY = 5  # fewer than the raters: prompts fill up while others still vote, so the count of raters decides


@pytest.fixture(scope='module')
def compare_folders(tmp_path_factory):
    "Two models' image folders of the same 24 prompts, two images a prompt each."
    d, prompts = tmp_path_factory.mktemp('compare'), build_prompt_set('shapes', CMP_PROMPTS, seed=3)
    return [render_folder(prompts, d/m, per_prompt=2, wrong=w, model_id=m) for m, w in (('base', 1), ('finetuned', 0))]


class Rater(Labeller):
    "A rater's client: opens queries and votes until none is left; changes about a third of its votes (a new request id) and resends some (the same one)."
    def __init__(self, name, token, port, deadline, counter, seed):
        super().__init__(name, token, port, 0, deadline, counter)
        self.rng, self.prompts = random.Random(seed), []

    def vote(self, c, q, rid):
        body = dict(query_id=q['query_id'], request_id=rid, alignment=self.rng.choice(SIDES), fidelity=self.rng.choice(SIDES))
        t0 = time.perf_counter()
        got = self.call(c, 'POST', f'/api/labellers/{self.name}/votes', json=body)
        self.latency.append(time.perf_counter() - t0)
        assert got['request_id'] == rid, got
        self.acked.append((rid, q['prompt'], body['alignment'], body['fidelity']))
        if self.rng.random() < 0.2:  # the same request again, as after a lost answer: stored once, the same answer
            assert self.call(c, 'POST', f'/api/labellers/{self.name}/votes', json=body) == got

    def run(self):
        try:
            with httpx.Client(base_url=f'http://127.0.0.1:{self.port}', headers={'Authorization': f'Bearer {self.token}'},
                              timeout=10) as c:
                while (q := self.call(c, 'GET', f'/api/labellers/{self.name}/compare'))['query_id']:
                    assert q['prompt'] not in self.prompts, f'{self.name} was asked twice about {q["prompt"]!r}'
                    self.prompts.append(q['prompt'])
                    self.vote(c, q, uuid.uuid4().hex)
                    if self.rng.random() < 0.35: self.vote(c, q, uuid.uuid4().hex)  # a change of mind on the same query
                self.progress = q['progress']
        except BaseException as e:  # reported by the test
            self.error = e


def test_concurrent_raters(compare_folders, tmp_path):
    "8 raters vote at once in compare mode: each acknowledged vote stored once, each rater counted once a prompt, its last vote current."
    db = tmp_path/'votes.db'
    with LabelStore(db) as s: tokens = {f'r{i}': s.add_labeller(f'r{i}') for i in range(RATERS)}
    server = Server(compare_folders[0], db, free_port(), tmp_path/'server.log',
                    options=f', compare={[str(f) for f in compare_folders]!r}, raters_per_query={RATERS_PER_QUERY}')
    start_s = server.start()
    counter, deadline = dict(n=0, lock=threading.Lock()), time.monotonic() + DEADLINE_S
    raters = [Rater(name, tok, server.port, deadline, counter, seed=i) for i, (name, tok) in enumerate(tokens.items())]
    try:
        t0 = time.perf_counter()
        for t in raters: t.start()
        for t in raters: t.join(max(1, deadline - time.monotonic()))
        load_s = time.perf_counter() - t0
    finally:
        server.stop()
    log = (tmp_path/'server.log').read_text()
    for t in raters: assert t.error is None, f'{t.name}: {t.error!r}\n{log[-3000:]}'
    assert 'Traceback' not in log, log[-3000:]

    with LabelStore(db) as s: history, current = s.vote_history(), s.votes()
    acked = {(t.name, rid): (p, a, f) for t in raters for rid, p, a, f in t.acked}
    stored = {(r.labeller, r.request_id): (r.prompt, r.alignment, r.fidelity) for r in history.itertuples()}
    assert len(history) == len(stored) == len(acked), 'a vote stored twice, or one not acknowledged'
    assert stored == acked, f'{len(set(acked) - set(stored))} acknowledged votes missing'
    last = {(t.name, p): (a, f) for t in raters for _, p, a, f in t.acked}  # each rater's last acknowledged vote a prompt
    assert {(r.labeller, r.prompt): (r.alignment, r.fidelity) for r in current.itertuples()} == last
    assert len(current) == len(last) < len(history)  # changed votes are history, not counted
    per_prompt = current.groupby('prompt').labeller.agg(['size', 'nunique'])
    assert (per_prompt['size'] == per_prompt['nunique']).all()
    assert len(per_prompt) == CMP_PROMPTS and per_prompt['nunique'].min() >= RATERS_PER_QUERY  # none closed early by a rater counted twice
    outcomes = side_by_side(current, 'finetuned', 'base')
    assert (outcomes.set_index('prompt').votes.groupby('prompt').first() == per_prompt['nunique']).all()  # the analysis counts raters
    for t in raters: assert t.progress == {'done': len(t.prompts), 'total': len(t.prompts)}, (t.name, t.progress)
    lat = np.array([x for t in raters for x in t.latency]) * 1000
    over = int((per_prompt['nunique'] - RATERS_PER_QUERY).sum())
    print(f'== compare: {RATERS} raters, {len(history)} votes ({len(history) - len(current)} changed) on {CMP_PROMPTS} prompts in {load_s:.1f} s; '
          f'POST p50 {np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms; retries {sum(t.retries for t in raters)}; '
          f'server start {start_s:.1f} s; raters beyond {RATERS_PER_QUERY} a prompt (two raters given it at once): {over}')
    assert over <= CMP_PROMPTS * (RATERS - RATERS_PER_QUERY) // 2  # no reservation: a prompt handed to several raters at once gets extras, not every rater
