"""The restricted unpickler: plain data loads (py2 and py3 pickles), anything that could run code is refused."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest

from codequarry.errors import CodequarryError
from codequarry.releases.pickles import as_text, safe_load, safe_loads


class _RunsCommand:
    """Unpickling this would call os.system(cmd)."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class _Evals:
    def __reduce__(self):
        return (eval, ("__import__('os').system('true')",))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_reduce_to_os_system_is_refused_and_never_runs(tmp_path, protocol):
    marker = tmp_path / "pwned"
    data = pickle.dumps({"ok": [1, 2], "payload": _RunsCommand(f"touch {marker}")}, protocol=protocol)
    path = tmp_path / "evil.pickle"
    path.write_bytes(data)
    with pytest.raises(CodequarryError) as err:
        safe_load(path)
    msg = str(err.value)
    assert "system" in msg and ("posix" in msg or "nt" in msg) and str(path) in msg
    assert not marker.exists()


def test_crafted_protocol0_global_and_other_callables_are_refused(tmp_path):
    marker = tmp_path / "pwned0"
    hand_made = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    with pytest.raises(CodequarryError, match=r"os\.system"):
        safe_loads(hand_made)
    assert not marker.exists()
    with pytest.raises(CodequarryError, match=r"(__builtin__|builtins)\.eval"):
        safe_loads(pickle.dumps(_Evals(), protocol=2))
    # INST opcode (protocol 0 class instantiation) and copy_reg._reconstructor (py2 objects)
    with pytest.raises(CodequarryError, match=r"subprocess\.Popen"):
        safe_loads(b"(S'true'\nisubprocess\nPopen\n.")
    with pytest.raises(CodequarryError, match=r"copy_reg\._reconstructor"):
        safe_loads(b"ccopy_reg\n_reconstructor\n(c__builtin__\nobject\nNtR.")
    # a class instance (NEWOBJ / BUILD path)
    with pytest.raises(CodequarryError, match="refused to load global"):
        safe_loads(pickle.dumps(CodequarryError("x"), protocol=4))


def test_codecs_encode_is_limited_to_latin1():
    assert safe_loads(pickle.dumps(b"caf\xe9", protocol=2)) == b"caf\xe9"  # py3 bytes at protocol 2
    bad = b"c_codecs\nencode\n(Vx\nVrot13\ntR."
    with pytest.raises(CodequarryError):
        safe_loads(bad)


def test_persistent_ids_are_refused():
    with pytest.raises(CodequarryError, match="persistent id"):
        safe_loads(b"Pfoo\n.")


@pytest.mark.parametrize("protocol", [0, 2])
def test_python2_pickles_load_with_byte_strings_and_sets(py2_pickle, protocol):
    obj = {(17335003, 1): b"SELECT caf\xc3\xa9 FROM t", 5996881: "How to limit a number? (caf\u00e9) \\ \n",
           "iids": {(1, 0), (2, 3)}, 2**40: [None, True, -7, 300, 70000]}
    data = py2_pickle(obj, protocol)
    loaded = safe_loads(data)
    assert loaded == obj
    assert as_text(loaded[(17335003, 1)]) == "SELECT café FROM t"
    assert as_text(loaded[5996881]) == obj[5996881]
    # the loader and Python's own (trusted) loader agree
    assert pickle.loads(data, encoding="bytes") == loaded


def test_as_text_rejects_invalid_utf8_and_non_text():
    with pytest.raises(UnicodeDecodeError):
        as_text(b"\xff\xfe")
    with pytest.raises(TypeError):
        as_text(3)


def test_truncated_and_garbage_pickles_are_clear_errors(tmp_path, py2_pickle):
    data = py2_pickle({(1, 2): b"x" * 100}, 2)
    with pytest.raises(CodequarryError, match="truncated"):
        safe_loads(data[: len(data) // 2])
    with pytest.raises(CodequarryError, match="not a valid pickle"):
        safe_loads(b"this is not a pickle")
    with pytest.raises(CodequarryError, match="cannot read pickle"):
        safe_load(tmp_path / "missing.pickle")


def test_real_staqc_pickles_need_no_globals(shared_data):
    """The shipped StaQC pickles are py2 protocol-0 dicts: labels (qid, idx) → 0/1, titles qid → unicode."""
    py = safe_load(shared_data / "staqc" / "python_all_agreed_iid_to_label.pickle")
    sql = safe_load(shared_data / "staqc" / "sql_all_agreed_iid_to_label.pickle")
    titles = safe_load(shared_data / "staqc" / "sql_how_to_do_it_by_classifier_multiple_qid_to_title.pickle")
    assert (len(py), sum(py.values())) == (4884, 2169)
    assert (len(sql), sum(sql.values())) == (3637, 2056)
    assert len(titles) == 39752
    assert all(isinstance(k, int) and isinstance(v, str) for k, v in titles.items())
    assert all(isinstance(k, tuple) and len(k) == 2 and v in (0, 1) for k, v in py.items())


def test_marker_check_in_a_fresh_interpreter(tmp_path):
    """End to end in a subprocess: loading the crafted file exits with the refusal, and no file appears."""
    marker = tmp_path / "pwned-sub"
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps([_RunsCommand(f"touch {marker}")], protocol=2))
    code = ("import sys\nfrom codequarry.releases.pickles import safe_load\nfrom codequarry.errors import CodequarryError\n"
            f"try:\n    safe_load({str(path)!r})\nexcept CodequarryError as e:\n    print(e); sys.exit(7)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 7 and "refused to load global" in res.stdout
    assert not marker.exists()
