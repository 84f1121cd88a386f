"""ONNX Runtime CPU backend for ``st:`` models: the same vectors as sentence-transformers' torch path, faster.

Only the transformer runs in ONNX Runtime; everything around it stays the model's own:

* inputs come from the model's own ``preprocess`` (its fast tokenizer, ``max_seq_length``, truncation,
  prompt), so the token ids are exactly those sentence-transformers feeds torch;
* the transformer is exported once with torch's TorchScript exporter (eager attention, so ONNX
  Runtime's BERT optimizer can fuse attention, GELU and layer norms), checked against torch on texts of
  several lengths and batch shapes, and cached under ``<cache>/onnx/<key>/`` where the key covers the
  model revision (a content hash for a local folder), torch, onnxruntime and the opset;
* the model's own pooling and normalisation modules (``modules.json``) are applied in numpy: mean or
  CLS pooling and ``Normalize``. Any other pipeline (dense layers, other poolings, prompt-excluding
  pooling, truncated dimensions, non-text inputs) is not supported: ``unsupported`` says why and the
  caller keeps the torch path.

Vectors equal the torch path's within float noise (the export check refuses a graph more than
``TOLERANCE`` away), so the backend does not change scores and need not be part of the embedding cache key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codequarry.errors import CodequarryError

log = logging.getLogger(__name__)

OPSET = 17
TOLERANCE = 1e-4  # largest |difference| of a pooled vector component allowed by the export check
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_FUSABLE = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "distilbert": "bert", "electra": "bert",
            "camembert": "bert"}  # config.model_type → onnxruntime.transformers optimizer model type
_CHECK_TEXTS = (  # export check: short and truncated texts, code and prose, two batch shapes
    "how to sort a list of tuples by the second element",
    "def read_lines(path):\n    \"\"\"Read a file and return its lines.\"\"\"\n    with open(path) as fh:\n"
    "        return [line.rstrip('\\n') for line in fh]",
    " ".join(f"token{i} = compute(token{i - 1}, {i}) # step" for i in range(1, 120)),
    "x",
    "SELECT name, count(*) FROM users GROUP BY name HAVING count(*) > 1 ORDER BY 2 DESC",
)


@dataclass(frozen=True)
class Head:
    """What follows the transformer: the pooling (``mean`` or ``cls``) and whether vectors are L2-normalised."""

    pooling: str
    normalize: bool


def available() -> str | None:
    """None when onnxruntime and onnx can be imported, else why not."""
    try:
        import onnx  # noqa: F401 - the exporter and the optimizer need it
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        return f"onnxruntime/onnx are not installed ({exc.name}); pip install 'codequarry[models]'"
    return None


def head_of(st: Any) -> Head | str:
    """The pooling head of a SentenceTransformer, or a string saying why the ONNX backend cannot run it."""
    modules = list(st)
    kinds = [type(m).__name__ for m in modules]
    if not modules or kinds[0] != "Transformer" or not hasattr(modules[0], "auto_model"):
        return f"the first module is {kinds[0] if kinds else 'missing'}, not a Transformer"
    first = modules[0]
    if getattr(first, "transformer_task", "feature-extraction") != "feature-extraction":
        return f"the transformer task is {first.transformer_task!r}, not feature-extraction"
    if getattr(first, "query_expansion", None) or getattr(first, "document_length", None) \
            or getattr(first, "query_length", None):
        return "the transformer sets per-side lengths or query expansion"
    if "text" not in (getattr(first, "modality_config", None) or {"text": 1}) or \
            "message" in (getattr(first, "modality_config", None) or {}):
        return "the transformer does not take plain text"
    if getattr(first.auto_model.config, "is_encoder_decoder", False):
        return "encoder-decoder models are not supported"
    if getattr(st, "truncate_dim", None):
        return "the model truncates its vectors (truncate_dim)"
    if len(modules) < 2 or kinds[1] != "Pooling":
        return f"the module after the transformer is {kinds[1] if len(modules) > 1 else 'missing'}, not Pooling"
    pool = modules[1].get_config_dict()
    mode = pool.get("pooling_mode")
    mode = mode[0] if isinstance(mode, (list, tuple)) and len(mode) == 1 else mode
    if mode not in ("mean", "cls"):
        return f"pooling {mode!r} is not mean or cls"
    if not pool.get("include_prompt", True):
        return "the pooling excludes prompt tokens"
    rest = kinds[2:]
    if rest not in ([], ["Normalize"]):
        return f"modules after the pooling ({', '.join(rest)}) are not supported"
    return Head(pooling=str(mode), normalize=rest == ["Normalize"])


def features(st: Any, texts: list[str], prompt: str | None) -> dict[str, np.ndarray]:
    """The model's own preprocessing of ``texts`` (as ``SentenceTransformer.encode`` does), as int64 arrays."""
    feats = st.preprocess(texts, prompt=prompt)
    return {k: np.asarray(feats[k].cpu().numpy(), dtype=np.int64) for k in _INPUTS if k in feats}


def pool(hidden: np.ndarray, mask: np.ndarray, head: Head) -> np.ndarray:
    """Mean (attention-masked, as sentence-transformers' Pooling) or CLS pooling, then optional L2 normalisation."""
    if head.pooling == "cls":
        vec = hidden[:, 0].astype(np.float32)
    else:
        m = mask[..., None].astype(np.float32)
        vec = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    if head.normalize:
        vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    return vec.astype(np.float32)


def _versions() -> dict[str, str]:
    import onnxruntime
    import torch

    return {"onnxruntime": onnxruntime.__version__, "torch": torch.__version__, "opset": str(OPSET)}


def cache_folder(root: Path, revision: str, pooling_key: str) -> Path:
    """``root/onnx/<sha256 of revision, versions and head>[:24]>``: one export per model content and toolchain."""
    import hashlib

    key = json.dumps({"revision": revision, "head": pooling_key, **_versions()}, sort_keys=True)
    return root / "onnx" / hashlib.sha256(key.encode()).hexdigest()[:24]


@contextlib.contextmanager
def _eager_attention(model: Any) -> Any:
    """Switch a transformers model to eager attention for the export (its pattern is what ORT fuses)."""
    before = getattr(model.config, "_attn_implementation", None)
    switched = False
    if before not in (None, "eager") and hasattr(model, "set_attn_implementation"):
        try:
            model.set_attn_implementation("eager")
            switched = True
        except (ValueError, ImportError, AttributeError):
            switched = False
    try:
        yield
    finally:
        if switched:
            model.set_attn_implementation(before)


def _export(st: Any, dest: Path) -> list[str]:
    """Export ``st``'s transformer (inputs → last_hidden_state) to ``dest`` and fuse it when ORT can; input names."""
    import torch

    transformer = st[0].auto_model
    sample = features(st, list(_CHECK_TEXTS[:2]), None)
    names = [k for k in _INPUTS if k in sample]

    class _Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, args))).last_hidden_state

    raw = dest.with_name("raw.onnx")
    axes = {n: {0: "batch", 1: "tokens"} for n in (*names, "last_hidden_state")}
    was_training = transformer.training
    transformer.eval()
    with _eager_attention(transformer), warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Hidden(), tuple(torch.from_numpy(sample[n]) for n in names), str(raw),
                          input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)
    transformer.train(was_training)
    cfg = transformer.config
    fuse_as = _FUSABLE.get(getattr(cfg, "model_type", ""))
    if fuse_as:
        from onnxruntime.transformers.optimizer import optimize_model

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fused = optimize_model(str(raw), model_type=fuse_as, num_heads=int(cfg.num_attention_heads),
                                   hidden_size=int(cfg.hidden_size), opt_level=0)
            fused.save_model_to_file(str(dest))
        raw.unlink()
    else:
        raw.replace(dest)
    return names


def _session(path: Path) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    opts.intra_op_num_threads = max(1, cores)
    # idle threads sleep instead of spinning between operators: on a shared machine spinning burns the CPU time
    # other processes need (measured: 20% more CPU for the same encode under load) for little gain when quiet
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """Runs a SentenceTransformer's transformer in ONNX Runtime; ``encode`` returns its sentence embeddings."""

    def __init__(self, st: Any, head: Head, session: Any, names: list[str], path: Path) -> None:
        self.st, self.head, self.session, self.names, self.path = st, head, session, names, path

    def run(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        """Pooled vectors of one tokenized batch."""
        hidden = self.session.run(["last_hidden_state"], {n: feats[n] for n in self.names})[0]
        return pool(hidden, feats["attention_mask"], self.head)

    def encode(self, texts: list[str], prompt: str | None = None) -> np.ndarray:
        return self.run(features(self.st, texts, prompt))

    def describe(self) -> dict[str, str]:
        return {"backend": "onnxruntime", **_versions(), "pooling": self.head.pooling,
                "normalize": str(self.head.normalize).lower()}


def _check(st: Any, enc: OnnxEncoder) -> float:
    """Largest |difference| between the ONNX and torch sentence embeddings over the check texts (2 batch shapes)."""
    worst = 0.0
    for batch in (list(_CHECK_TEXTS[:3]), list(_CHECK_TEXTS[3:])):
        ref = st.encode(batch, convert_to_numpy=True, show_progress_bar=False, batch_size=len(batch))
        worst = max(worst, float(np.max(np.abs(enc.encode(batch) - np.asarray(ref, dtype=np.float32)))))
    return worst


def load(st: Any, revision: str | None, cache_root: Path) -> OnnxEncoder | str:
    """An ONNX encoder for ``st`` (exported and checked once per revision, then read from the cache), or why not."""
    why = available()
    if why:
        return why
    head = head_of(st)
    if isinstance(head, str):
        return head
    if str(getattr(st, "device", "cpu")) != "cpu":
        return f"the model runs on {st.device}; the ONNX backend is CPU only"
    if not revision:
        return "the model's revision is unknown, so an export could not be cached safely"
    folder = cache_folder(cache_root, revision, f"{head.pooling}/{head.normalize}")
    meta_path = folder / "export.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            names = [str(n) for n in meta["inputs"]]
            if not meta.get("ok"):
                return f"the cached export differed from torch by {meta.get('max_abs_diff')}"
            return OnnxEncoder(st, head, _session(folder / "model.onnx"), names, folder / "model.onnx")
        except Exception as exc:  # noqa: BLE001 - a damaged cache entry (ORT raises its own types): export again
            log.warning("re-exporting the ONNX model; the cached export in %s is unreadable (%s)", folder,
                        type(exc).__name__)
            shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        try:
            names = _export(st, tmp / "model.onnx")
            enc = OnnxEncoder(st, head, _session(tmp / "model.onnx"), names, tmp / "model.onnx")
            diff = _check(st, enc)
        except Exception as exc:  # the exporter or ORT refused this architecture: keep torch
            return f"the ONNX export failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ok = diff <= TOLERANCE
        (tmp / "export.json").write_text(json.dumps({"inputs": names, "ok": ok, "max_abs_diff": diff,
                                                     "revision": revision, **_versions()}), encoding="utf-8")
        try:
            os.replace(tmp, folder)  # atomic: another process may have finished the same export first
        except OSError:
            if not meta_path.is_file():
                raise CodequarryError(f"cannot store the ONNX export in {folder}") from None
        if not ok:
            return f"the ONNX export differed from torch by {diff:.2e} (> {TOLERANCE})"
        path = folder / "model.onnx" if (folder / "model.onnx").is_file() else tmp / "model.onnx"
        return OnnxEncoder(st, head, _session(path), names, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
