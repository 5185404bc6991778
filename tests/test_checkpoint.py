"""baselines/checkpoint.py: weights files round-trip and foreign files are refused before unpickling."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from baselines.checkpoint import load_state_dict, torch_bytes  # noqa: E402


def test_a_state_dict_round_trips_through_bytes(tmp_path) -> None:
    state = {"layer.weight": torch.arange(6.0).reshape(2, 3), "layer.bias": torch.tensor([0.5, -1.0])}
    path = tmp_path / "weights.pt"
    path.write_bytes(torch_bytes(state))
    loaded = load_state_dict(path, "Test.load")
    assert list(loaded) == ["layer.weight", "layer.bias"]
    for name, tensor in state.items():
        assert torch.equal(loaded[name], tensor)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a checkpoint", "is not a torch.save archive"),
        (torch_bytes({"weight": [1.0, 2.0]}), "does not hold a state dict"),
        (torch_bytes([torch.zeros(2)]), "does not hold a state dict"),
    ],
)
def test_a_foreign_file_raises_a_value_error_naming_the_owner_and_path(tmp_path, content: bytes, message: str) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"^Test.load: .*weights.pt {message}"):
        load_state_dict(path, "Test.load")


def test_a_missing_file_raises_a_value_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="is not a torch.save archive"):
        load_state_dict(tmp_path / "absent.pt", "Test.load")
