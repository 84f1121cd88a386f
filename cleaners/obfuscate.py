"""Transform step ``obfuscate``: AdvTest-style renaming (CodeXGLUE NL-code-search-Adv) for any supported language.

The function's own name becomes ``Func`` (at its definition and in bare recursive calls) and its
parameters and locals become ``arg_0, arg_1, …``, numbered in order of first appearance (so
parameters come first). Names are found with tree-sitter, scope-aware enough for code search data:
a local is a name the function binds (parameters; assigned, declared, loop, ``with``/``catch``
variables; nested definitions), minus names declared ``global``/``nonlocal``. Everything else keeps
its name: attributes and methods after ``.``/``->``, globals and builtins the function only reads,
imports, keyword arguments at call sites (``f(x=1)``), struct/object keys, type names, ``$this`` and
PHP superglobals. Code is rewritten by byte spans, so formatting, comments and strings stay as they
are (JS shorthand properties ``{a}`` become ``{a: arg_0}`` to keep the object's key). The result
must parse with no more ERROR/MISSING nodes than the input, or the row is excluded.

Per-language rules live in each language's module (``codequarry.languages.<module>.obfuscation``,
read through ``codequarry.languages.obfuscation.rules_for``), covering python, java, go, javascript,
typescript (+ tsx: a TypeScript row that only parses with the TSX grammar is obfuscated with it),
php, ruby, c, cpp, c_sharp, rust and kotlin. Each section's comment says what binds a local there and
what keeps its name (C++ constructors, destructors and operators keep their names; a shadowed name
keeps one placeholder). A language without rules (SQL: queries, not functions) is excluded as
``unsupported_language``. Time is linear in the function's size (one cursor walk per question).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyarrow as pa

from codequarry.cleaners.base import Step, StepOutput, keep_mask
from codequarry.cleaners.step_utils import column, with_column
from codequarry.errors import CodequarryError
from codequarry.languages.obfuscation import Rules, rules_for, supported_languages
from codequarry.languages.tokens import walk
from codequarry.options import option

FUNC = "Func"
ARG = "arg_{}"


class ObfuscationError(Exception):
    """A row that cannot be obfuscated; ``reason`` is the exclusion reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Obfuscated:
    """The rewritten code and the names it replaced (original → new)."""

    code: str
    mapping: dict[str, str] = field(default_factory=dict)
    tokens_code: str = ""  # the code to tokenize: without the Python docstring (CSN/AdvTest tokens omit it)
    grammar: str = ""  # the registry language whose grammar parsed it (``tsx`` for a TypeScript row with JSX)


def _rules(language: str | None) -> tuple[Rules, object]:
    from codequarry.languages import get_language

    if not language:
        raise ObfuscationError("unsupported_language", "the row has no language")
    try:
        spec = get_language(language)
    except CodequarryError as exc:
        raise ObfuscationError("unsupported_language", str(exc)) from exc
    rules = rules_for(spec)
    if rules is None:
        raise ObfuscationError("unsupported_language", f"obfuscate has no rules for {spec.name}; supported: "
                               f"{', '.join(sorted(supported_languages()))}")
    return rules, spec


def _line_span(src: bytes, start: int, end: int) -> tuple[int, int]:
    """Widen a span to its whole line(s) when nothing but whitespace shares them."""
    line_start = src.rfind(b"\n", 0, start) + 1
    line_end = src.find(b"\n", end)
    line_end = len(src) if line_end < 0 else line_end
    if not src[line_start:start].strip() and not src[end:line_end].strip():
        return line_start, min(line_end + 1, len(src))
    return start, end


def _docstring_spans(fn: object, root: object, rules: Rules) -> list[tuple[int, int]]:
    """The docstring: Python's first string statement; elsewhere the comments right before the function."""
    if rules.string_docstring:
        body = fn.child_by_field_name("body")  # type: ignore[attr-defined]
        first = next((c for c in (body.named_children if body is not None else []) if c.type != "comment"), None)
        if (first is not None and first.type == "expression_statement" and first.named_child_count == 1
                and first.named_children[0].type in ("string", "concatenated_string")):
            return [(first.start_byte, first.end_byte)]
        return []
    spans = []
    node = fn
    parent = node.parent
    while parent is not None and parent.parent is not None \
            and (node.prev_named_sibling is None or parent.type in rules.doc_wrappers):
        node, parent = parent, parent.parent  # a decorated/exported/template definition: look before its wrapper
    sib = node.prev_named_sibling if node is not None else None
    while sib is not None and sib.type in rules.doc_between:
        sib = sib.prev_named_sibling  # Rust: `/// doc` then `#[inline]` then the fn
    while sib is not None and "comment" in sib.type:
        spans.append((sib.start_byte, sib.end_byte))
        sib = sib.prev_named_sibling
    return sorted(spans)


def obfuscate_code(code: str, language: str, keep_docstring: bool = True) -> Obfuscated:
    """Rename a function to ``Func`` and its parameters/locals to ``arg_i``; raise ObfuscationError if impossible."""
    from codequarry.languages import parse
    from codequarry.languages.spec import as_bytes
    from codequarry.languages.tokens import tree_error_count

    if code is None or not code.strip():
        raise ObfuscationError("no_code", "the row has no code")
    rules, spec = _rules(language)
    body = as_bytes(code)
    prefix, suffix, src, tree, fn = _parse_function(body, rules, spec)
    if (fn is None or tree.root_node.has_error) and rules.dialect is not None:
        # a TypeScript row from a .tsx file (rows say `typescript`) parses only with the TSX grammar
        d_rules, d_spec = _rules(rules.dialect)
        d_parsed = _parse_function(body, d_rules, d_spec)
        if d_parsed[4] is not None and (fn is None or tree_error_count(d_parsed[3].root_node)
                                        < tree_error_count(tree.root_node)):
            rules, spec = d_rules, d_spec
            prefix, suffix, src, tree, fn = d_parsed
    root = tree.root_node
    if fn is None:
        raise ObfuscationError("no_function", f"no {spec.name} function definition found")
    name_node = rules.name_of(fn)
    func_name = src[name_node.start_byte:name_node.end_byte].decode("utf-8", "replace") if name_node is not None else None
    bound, excluded = rules.bindings(fn, src)
    local = {b for b in bound - excluded if b}  # a MISSING identifier (error recovery) has no text
    occurrences = [o for o in rules.occurrences(fn, src) if o.text and not o.node.is_missing]
    is_method = rules.is_method(fn, src)
    kept_names = {o.text for o in occurrences if o.text not in local}
    mapping: dict[str, str] = {}
    counter = 0

    def new_name(old: str) -> str:
        nonlocal counter
        if old not in mapping:
            while ARG.format(counter) in kept_names:
                counter += 1
            mapping[old] = ARG.format(counter)
            counter += 1
        return mapping[old]

    edits: dict[int, tuple[int, int, bytes]] = {}
    if name_node is not None:
        edits[name_node.start_byte] = (name_node.start_byte, name_node.end_byte, FUNC.encode())
    for occ in occurrences:
        start, end = occ.start, occ.end
        if start in edits:
            continue
        if occ.style == "func":
            if occ.text == func_name and func_name not in local:
                edits[start] = (start, end, FUNC.encode())
        elif occ.text in local:
            new = new_name(occ.text)
            rep = f"{occ.text}: {new}" if occ.style == "shorthand" else occ.before + new
            edits[start] = (start, end, rep.encode("utf-8"))
        elif occ.style == "plain" and occ.recursion and occ.text == func_name and not is_method:
            edits[start] = (start, end, FUNC.encode())
    if func_name is not None:
        mapping = {func_name: FUNC, **{k: v for k, v in mapping.items() if k != func_name}}
    doc = _docstring_spans(fn, root, rules)
    removals = [_line_span(src, s, e) for s, e in doc] if not keep_docstring else []
    out = _apply(src, sorted([*edits.values(), *((s, e, b"") for s, e in removals)]))
    after = parse(out, spec)
    if tree_error_count(after.root_node) > tree_error_count(root):
        raise ObfuscationError("obfuscation_broke_parse", "the renamed code has new parse errors")
    new_code = out[len(prefix):len(out) - len(suffix)].decode("utf-8", "replace")
    tokens_code = new_code
    if rules.string_docstring and keep_docstring:
        fn2 = next((n for n in walk(after.root_node) if n.type in rules.functions), None)
        spans = _docstring_spans(fn2, after.root_node, rules) if fn2 is not None else []
        if spans:
            s, e = _line_span(out, *spans[0])
            stripped = out[:s] + out[e:]
            tokens_code = stripped[len(prefix):len(stripped) - len(suffix)].decode("utf-8", "replace")
    return Obfuscated(code=new_code, mapping=mapping, tokens_code=tokens_code, grammar=spec.name)


def _needs_prefix(code: bytes, rules: Rules, spec: object) -> bool:
    """Whether the rules' prefix goes before this snippet (PHP's ``<?php``, unless the snippet opens with ``<?``)."""
    unless = getattr(spec, "snippet_unless_prefix", None)
    return bool(rules.prefix) and not (unless and code.lstrip().startswith(unless.encode()))


def _parse_function(body: bytes, rules: Rules, spec: object) -> tuple[bytes, bytes, bytes, object, object | None]:
    """(prefix, suffix, parsed bytes, tree, function node) of a snippet: bare, or inside a class if that parses better."""
    from codequarry.languages import parse
    from codequarry.languages.tokens import tree_error_count

    prefix = rules.prefix if _needs_prefix(body, rules, spec) else b""
    suffix = b""
    src = prefix + body
    tree = parse(src, spec)
    fn = _function(tree.root_node, rules)
    if (fn is None or tree.root_node.has_error) and rules.wrap is not None:
        # a method on its own: parse it inside a class and keep that if it parses better
        w_prefix, w_suffix = prefix + rules.wrap[0], rules.wrap[1]
        w_src = w_prefix + body + w_suffix
        w_tree = parse(w_src, spec)
        w_fn = _function(w_tree.root_node, rules)
        if w_fn is not None and (fn is None or tree_error_count(w_tree.root_node) < tree_error_count(tree.root_node)):
            prefix, suffix, src, tree, fn = w_prefix, w_suffix, w_src, w_tree, w_fn
    return prefix, suffix, src, tree, fn


def _function(root: object, rules: Rules) -> object | None:
    """The outermost function definition of a snippet (the first in document order)."""
    return next((n for n in walk(root) if n.type in rules.functions), None)


def _apply(src: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray()
    pos = 0
    for start, end, rep in edits:
        if start < pos:
            continue  # inside a span already replaced (a removed docstring never holds names)
        out += src[pos:start]
        out += rep
        pos = end
    out += src[pos:]
    return bytes(out)


def code_tokens(result: Obfuscated, language: str) -> list[str]:
    """CodeSearchNet code tokens of the obfuscated code (the Python docstring left out, as CSN does)."""
    from codequarry.languages import tokenize_code

    rules, spec = _rules(result.grammar or language)
    text = result.tokens_code or result.code
    if _needs_prefix(text.encode("utf-8", "replace"), rules, spec):
        toks = tokenize_code(rules.prefix.decode() + text, spec)
        first = tokenize_code(rules.prefix.decode(), spec)[:1]
        return toks[1:] if toks and toks[:1] == first else toks
    return tokenize_code(text, spec)


@dataclass(frozen=True)
class Params:
    keep_docstring: bool = option(True, help="keep the function's docstring in the rewritten code (false "
                                             "removes it)")
    tokens: bool = option(True, help="recompute code_tokens from the rewritten code (false: keep the row's "
                                     "tokens)")


class Obfuscate(Step):
    """Rewrites ``code`` (and ``code_tokens``) AdvTest-style; rows that cannot be rewritten are excluded."""

    name = "obfuscate"
    description = ("rename the function to Func and its parameters/locals to arg_0, arg_1, … with tree-sitter "
                   "(AdvTest-style adversarial variants), keeping attribute, global and library names")
    kind = "transform"
    Params = Params

    def process(self, batch: pa.Table) -> StepOutput:
        codes = column(batch, "code")
        langs = column(batch, "language")
        old_tokens = column(batch, "code_tokens")
        keep, reasons, details, new_codes, new_tokens = [], [], [], [], []
        for code, lang, toks in zip(codes, langs, old_tokens):
            try:
                result = obfuscate_code(code, lang, keep_docstring=self.params.keep_docstring)
            except ObfuscationError as exc:
                keep.append(False)
                reasons.append(exc.reason)
                details.append(json.dumps({"language": lang, "error": str(exc)}, ensure_ascii=False))
                new_codes.append(code)
                new_tokens.append(toks)
                continue
            keep.append(True)
            reasons.append(None)
            details.append(None)
            new_codes.append(result.code)
            new_tokens.append(code_tokens(result, lang) if self.params.tokens else toks)
        out = with_column(batch, pa.field("code", pa.string()), new_codes)
        if self.params.tokens or "code_tokens" in batch.column_names:
            out = with_column(out, pa.field("code_tokens", pa.list_(pa.string())), new_tokens)
        result = keep_mask(out, keep, reasons, details)
        if result.dropped is not None:
            # excluded rows are recorded as they came in
            dropped_idx = [i for i, k in enumerate(keep) if not k]
            result = StepOutput(kept=result.kept, dropped=batch.take(dropped_idx), reasons=result.reasons,
                                details=result.details)
        return result
