"Each library notebook in `nbs/` is one test, run by nbdev's own `test_nb` (what `nbdev_test` runs)."
import os
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook  # renamed so pytest does not collect it

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))

@pytest.mark.parametrize('notebook', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook(notebook):
    skip = get_config(path=ROOT).tst_flags.split()
    force = os.environ.get('RLHF_T2I_TEST_FLAGS', '').split()
    passed, _ = run_notebook(notebook, skip_flags=skip, force_flags=force, basepath=ROOT)
    assert passed, f'{notebook.name} failed; the traceback is above'
