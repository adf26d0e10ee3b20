"""Training state is read without unpickling code: a state file planted where `l2vkit fit` or `l2vkit concepts`
looks for one (``X.train_state.pt`` beside the output) is refused before anything in it runs."""
import os

import pytest
import torch

pytestmark = pytest.mark.unit


class Planted:
    """Unpickling this runs ``touch MARKER``, as a crafted state file would run any command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_state_holding_code_is_refused_without_running_it(tmp_path):
    from l2vkit.training import load_state, save_state

    marker, path = tmp_path / "ran", tmp_path / "coupling.train_state.pt"
    torch.save({"step": 3, "payload": Planted(marker)}, path)
    with pytest.raises(ValueError, match="not a plain training state.*delete it"):
        load_state(path)
    assert not marker.exists()
    assert load_state(tmp_path / "none.pt") is None
    # what the trainers save (tensors, optimiser state, RNG states, numbers, strings, lists) loads as before
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    import numpy as np

    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": 7, "seed": 0,
             "rng": np.random.default_rng(0).bit_generator.state, "torch_rng": torch.Generator().get_state(),
             "history": [{"loss": 0.5}], "names": ["red->blue"], "settings": {"lr": 1e-4, "frames": (9, 16)}}
    save_state(tmp_path / "ok.pt", state)
    again = load_state(tmp_path / "ok.pt")
    assert again["step"] == 7 and again["rng"] == state["rng"] and torch.equal(again["torch_rng"], state["torch_rng"])
    assert torch.equal(again["model"]["weight"], state["model"]["weight"])


@pytest.mark.integration
def test_fit_refuses_a_planted_state_beside_its_output(tmp_path):
    import numpy as np

    from l2vkit.coupling import build_coupling_data, fit_coupling
    from l2vkit.testing import tiny_qwen2_vl
    from l2vkit.testing_generators import tiny_generator

    vlm, generator = tiny_qwen2_vl(), tiny_generator("wan")
    videos = np.random.default_rng(0).integers(0, 256, (2, 9, 16, 16, 3), dtype=np.uint8)
    data = build_coupling_data(vlm, generator, videos, ["a red circle", "a blue square"], progress=False)
    marker, state = tmp_path / "ran", tmp_path / "phi.train_state.pt"
    torch.save({"config": {}, "payload": Planted(marker)}, state)
    with pytest.raises(ValueError, match="not a plain training state"):
        fit_coupling(vlm, generator, data, steps={"global": 1, "local": 0, "rho": 0}, progress=False, width=16,
                     mixer_depth=1, local_depth=1, projections=4, checkpoint=state)
    assert not marker.exists()
