"""The registry of model kinds: what each ``--model SPEC`` prefix is, where it is loaded, what it takes.

Each kind is declared once here (its SPEC form, its module and factory, a description); its
``--model-arg`` options are declared once in its module's ``OPTIONS`` (frozen dataclasses of
``codequarry.options.option`` fields). ``spec_forms`` and ``kinds_help`` derive the ``--model`` help, the
model part of ``codequarry bench --help`` and the unknown-spec error from them, so adding a kind is one
entry here plus its module. Nothing heavy is imported until a kind's options are asked for.
"""

from __future__ import annotations

import importlib
import json
import textwrap
from dataclasses import dataclass

from codequarry import options


@dataclass(frozen=True)
class ModelKind:
    """One model kind: ``form`` is how a SPEC names it, ``module:factory`` loads it, ``description`` says what it is."""

    form: str
    module: str
    factory: str
    description: str


_M = "codequarry.benchmarks."

KINDS: dict[str, ModelKind] = {
    "bm25": ModelKind("bm25", _M + "models_bm25", "load_bm25",
                      "BM25 (bm25s) with a code-aware tokenizer (whole words + camelCase/snake_case/digit parts)"),
    "st": ModelKind("st:NAME_OR_PATH", _M + "models_dense", "load_st",
                    "sentence-transformers model (Hub id or local folder)"),
    "hf": ModelKind("hf:NAME_OR_PATH", _M + "models_dense", "load_hf",
                    "transformers AutoModel (Hub id or local folder) with mean or CLS pooling"),
    "py": ModelKind("py:MODULE:ATTR", _M + "models_py", "load_py",
                    "any object with encode_queries/encode_corpus, search or score_pairs (MODULE: dotted name or a "
                    ".py file; a class or factory ATTR is called with the --model-arg values). This imports and "
                    "RUNS that Python code, by design: use only code you trust"),
    "run": ModelKind("run:FILE", _M + "models_runs", "load_run",
                     "predictions: TREC run, CodeXGLUE jsonl {url, answers}, CodeSearchNet model_predictions.csv, "
                     "or idx<TAB>0|1 lines for webquery/cosqa-qa"),
}


def spec_forms() -> str:
    """``bm25, st:NAME_OR_PATH, …``: every kind's SPEC form, for help and error messages."""
    return ", ".join(k.form for k in KINDS.values())


def options_class(kind: str) -> type:
    """The options dataclass declaring a kind's ``--model-arg`` options (imports the kind's module)."""
    return importlib.import_module(KINDS[kind].module).OPTIONS[kind]


def _arg(spec: options.Spec) -> str:
    choices = spec.choices
    if choices:
        first = [spec.default] if spec.default in choices else []
        return f"{spec.name}={'|'.join(map(str, first + [c for c in choices if c != spec.default]))}"
    if spec.default is None or spec.required:
        return f"{spec.name}="
    return f"{spec.name}={json.dumps(spec.default) if isinstance(spec.default, bool) else spec.default}"


def kinds_help(width: int = 110) -> str:
    """The ``model SPECs`` section of ``codequarry bench --help``: each kind's form, description and options."""
    lines = ["model SPECs, and the options (args) each takes through --model-arg KEY=VALUE:"]
    pad = " " * 23
    for name, kind in KINDS.items():
        specs = options.specs(options_class(name))
        text = kind.description + (("\nargs: " + " ".join(_arg(s) for s in specs)) if specs else "")
        body: list[str] = []
        for para in text.split("\n"):
            body += textwrap.wrap(para, width - len(pad), subsequent_indent="      " if para.startswith("args:") else "",
                                  break_on_hyphens=False)
        lines.append(f"  {kind.form:<20} {body[0]}")
        lines += [pad + line for line in body[1:]]
    return "\n".join(lines)
