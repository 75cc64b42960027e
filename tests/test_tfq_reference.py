"""results/tfq_reference.json (chapter 09's PennyLane reference values) is what tools/tfq_reference.py computes now."""

import copy
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("tfq_reference", ROOT / "tools" / "tfq_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _tool()


@pytest.fixture(scope="module")
def fresh():
    return tool.compute()


@pytest.fixture(scope="module")
def committed():
    assert tool.FIXTURE.is_file(), "results/tfq_reference.json is missing: run .venv/bin/python tools/tfq_reference.py"
    return json.loads(tool.FIXTURE.read_text())


def test_committed_fixture_equals_a_fresh_computation(committed, fresh):
    problems = tool.differences(committed, fresh, tol=1e-12)
    assert not problems, ("results/tfq_reference.json is stale; regenerate it with "
                          ".venv/bin/python tools/tfq_reference.py:\n" + "\n".join(problems))


def test_committed_fixture_is_in_the_tools_format(committed):
    # no hand edits, no drift in the format: the file is exactly what render() writes for its values
    # (the values themselves are compared with a fresh computation, to 1e-12, above: the last of their
    # 14 decimals may differ between runs, so a byte comparison with a fresh computation would be flaky)
    assert tool.FIXTURE.read_text() == tool.render(committed)


def test_the_comparison_notices_an_edited_value(committed, fresh):
    edited = copy.deepcopy(committed)
    edited["cases"][2]["d_expval_d_weights"][1][0][1][1] += 1e-9
    assert any("d_expval_d_weights differs" in p for p in tool.differences(edited, fresh))
    edited = copy.deepcopy(committed)
    edited["pennylane_version"] = "0.0.0"
    assert any("pennylane_version" in p for p in tool.differences(edited, fresh))
    edited = copy.deepcopy(committed)
    del edited["cases"][0]["expval"]
    assert tool.differences(edited, fresh)


def test_fixture_is_small_and_describes_the_circuit(committed):
    assert tool.FIXTURE.stat().st_size < 10_000
    assert committed["circuit"]["spec"] == {"n_qubits": 4, "n_layers": 1, "entangle": True, "reupload": False}
    assert committed["pennylane_version"]
    for case in committed["cases"]:
        assert len(case["expval"]) == 4 and all(-1 <= v <= 1 for v in case["expval"])
        assert [len(row) for row in case["d_expval_d_inputs"]] == [4] * 4


def test_check_mode_exit_codes(fresh, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tool, "compute", lambda: fresh)  # computed once for the module
    assert tool.main(["--check"]) == 0
    # a fresh computation that differs in the last decimals only (as between runs) is not stale
    jittered = copy.deepcopy(fresh)
    jittered["cases"][0]["expval"][0] += 1e-14
    monkeypatch.setattr(tool, "compute", lambda: jittered)
    assert tool.main(["--check"]) == 0
    monkeypatch.setattr(tool, "compute", lambda: fresh)
    reformatted = tmp_path / "reformatted.json"
    reformatted.write_text(json.dumps(json.loads(tool.FIXTURE.read_text()), indent=2))
    with monkeypatch.context() as m:
        m.setattr(tool, "FIXTURE", reformatted)
        m.setattr(tool, "ROOT", tmp_path)
        assert tool.main(["--check"]) == 1
        assert "format" in capsys.readouterr().err
    stale = tmp_path / "tfq_reference.json"
    data = json.loads(tool.FIXTURE.read_text())
    data["cases"][0]["expval"][0] += 1e-6
    stale.write_text(json.dumps(data))
    monkeypatch.setattr(tool, "FIXTURE", stale)
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    assert tool.main(["--check"]) == 1
    assert "expval differs" in capsys.readouterr().err
