"""The labelling page in a real browser: Debian's chromium, headless, driven by Playwright (never `playwright install`:
browser downloads fail here; `make browser` installs chromium). A labeller logs in, labels a screen with the keyboard
only, reloads, and the labels are in the database. Without chromium or playwright the test skips, except under CI
(CI=true), where it fails."""
import importlib.util, os, signal, socket, subprocess, sys, time
import httpx
import pytest
from rlhf_t2i.feedback import LabelStore
from rlhf_t2i.prompts import build_prompt_set
from rlhf_t2i.worlds import render_folder

CHROMIUM = '/usr/bin/chromium'
# wait_for_function gets arrow functions: a bare expression is polled with eval, which the page's CSP forbids
ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']


def require_browser():
    "Skip (fail under CI) without chromium or playwright."
    missing = [what for what, ok in ((CHROMIUM, os.access(CHROMIUM, os.X_OK)),
                                     ('the playwright package', importlib.util.find_spec('playwright') is not None)) if not ok]
    if missing:
        why = ' and '.join(missing) + " missing: `make browser` installs Debian's chromium (as root only) and `make venv` playwright"
        if os.environ.get('CI', '').lower() in ('true', '1', 'yes'): pytest.fail(why)
        pytest.skip(why)


def make_folder(d, model, per_prompt):
    "An image folder of 3 prompts x `per_prompt` rendered images from `model`."
    return render_folder(build_prompt_set('shapes', 3, seed=4), d, per_prompt, model_id=model)


@pytest.fixture
def server(tmp_path):
    "A `serve` process on a free loopback port with 3 prompts x 3 images (and two models' folders to compare) and labeller 'ann': (url, token, db)."
    d, tuned = make_folder(tmp_path/'base', 'base', 3), make_folder(tmp_path/'tuned', 'finetuned', 4)
    db = tmp_path/'labels.db'
    with LabelStore(db) as s: token = s.add_labeller('ann')
    with socket.socket() as sock: sock.bind(('127.0.0.1', 0)); port = sock.getsockname()[1]
    code = f'from rlhf_t2i.app import serve; serve({str(d)!r}, {str(db)!r}, port={port}, compare=[{str(d)!r}, {str(tuned)!r}])'
    log = open(tmp_path/'server.log', 'w')
    proc = subprocess.Popen([sys.executable, '-c', code], stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, OMP_NUM_THREADS='1'))
    url = f'http://127.0.0.1:{port}/'
    try:
        for _ in range(600):
            assert proc.poll() is None, (tmp_path/'server.log').read_text()
            try:
                if httpx.get(url + 'api/health', timeout=2).status_code == 200: break
            except httpx.TransportError: time.sleep(0.05)
        yield url, token, db
    finally:
        proc.send_signal(signal.SIGTERM)
        try: proc.wait(timeout=30)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()


def labels(db) -> dict:
    "ann's current labels in the database: image id -> value."
    with LabelStore(db) as s:
        cur = s.current_labels()
        return dict(zip(cur.image_id, cur.value))


@pytest.fixture
def browser():
    "Headless Debian chromium driven by Playwright."
    require_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try: yield b
        finally: b.close()


def new_page(browser):
    page = browser.new_page()
    page.set_default_timeout(20_000)
    return page


def test_keyboard_labelling(server, browser, tmp_path):
    from playwright.sync_api import expect
    url, token, db = server
    page = new_page(browser)
    page.goto(url)
    expect(page.locator('#login')).to_be_visible()
    page.keyboard.type('not-my-token'); page.keyboard.press('Enter')  # the token field has the focus
    expect(page.locator('#login-error')).to_contain_text('unknown access token')
    page.keyboard.type(token); page.keyboard.press('Enter')
    expect(page.locator('#progress')).to_have_text('0 / 9 images labelled')
    figures = page.locator('#images figure')
    expect(figures).to_have_count(3)
    page.wait_for_function("() => [...document.querySelectorAll('#images img')].every((i) => i.complete && i.naturalWidth === 32)")
    ids = [figures.nth(i).get_attribute('data-image-id') for i in range(3)]
    prompt = page.locator('#prompt').text_content()

    page.keyboard.press('3'); page.keyboard.press('g')  # image 3 good
    page.keyboard.press('Enter')  # images 1 and 2 have no answer yet: refused, nothing sent
    expect(page.locator('#status')).to_have_text('Choose good, bad or skip for image 1.')
    page.keyboard.press('b'); page.keyboard.press('s')  # image 1 (selected by the refusal) bad, then image 2 skip
    pressed = [figures.nth(i).locator('button[aria-pressed="true"]').text_content() for i in range(3)]
    assert pressed == ['bad (b)', 'skip (s)', 'good (g)'], pressed
    assert labels(db) == {}
    page.screenshot(path=tmp_path/'screen.png')
    page.keyboard.press('Enter')
    expect(page.locator('#status')).to_have_text('Saved 3 answers.')
    expect(page.locator('#progress')).to_have_text('3 / 9 images labelled')
    assert labels(db) == dict(zip(ids, ['bad', 'skip', 'good']))

    page.reload()  # still logged in (the token is in localStorage), on the next prompt
    expect(page.locator('#progress')).to_have_text('3 / 9 images labelled')
    expect(page.locator('#prompt')).not_to_have_text(prompt)
    assert labels(db) == dict(zip(ids, ['bad', 'skip', 'good']))
    assert page.evaluate("localStorage.getItem('rlhf_t2i.outbox.ann')") == '[]'

    other = browser.new_page()  # a link with ?token= logs in and leaves the address bar
    other.goto(f'{url}?token={token}#label')
    expect(other.locator('#who')).to_have_text('ann')
    assert 'token' not in other.url and other.url.endswith('#label')


def test_keyboard_compare(server, browser, tmp_path):
    from playwright.sync_api import expect
    url, token, db = server
    page = new_page(browser)
    page.goto(f'{url}?token={token}#compare')
    expect(page.locator('#cmp-progress')).to_have_text('0 / 3 prompts compared')
    page.wait_for_function("() => [...document.querySelectorAll('#left img, #right img')].filter((i) => i.complete && i.naturalWidth === 32).length === 7")
    sizes = sorted([page.locator('#left img').count(), page.locator('#right img').count()])
    assert sizes == [3, 4], sizes  # base has 3 images a prompt, finetuned 4
    left_is_base = page.locator('#left img').count() == 3
    prompt = page.locator('#cmp-prompt').text_content()
    page.keyboard.press('e')  # alignment: right
    page.keyboard.press('Enter')
    expect(page.locator('#status')).to_have_text('Choose left, tie or right for fidelity.')
    page.keyboard.press('s')  # fidelity: tie
    page.screenshot(path=tmp_path/'compare.png')
    page.keyboard.press('Enter')
    expect(page.locator('#status')).to_have_text('Saved 1 answer.')
    expect(page.locator('#cmp-progress')).to_have_text('1 / 3 prompts compared')
    with LabelStore(db) as s: v, h = s.votes(), s.vote_history()
    assert len(v) == len(h) == 1 and v.prompt[0] == prompt and (v.alignment[0], v.fidelity[0]) == ('right', 'tie')
    assert v.left_model[0] == ('base' if left_is_base else 'finetuned')
