"""Docstring and doc-comment cleaning, the CodeSearchNet summary rule, and CodeSearchNet's docstring tokenizer.

The CSN functions reproduce github/CodeSearchNet ``function_parser`` (parsers/commentutils.py and
parsers/language_parser.py) exactly, quirks included (protocols.md §1b); the ``clean_*`` helpers
serve the languages CodeSearchNet did not cover.
"""

from __future__ import annotations

import html
import re

# CodeSearchNet's DOCSTRING_REGEX_TOKENIZER, character for character: identifier-ish runs, or runs of one
# punctuation character; the pairs (), {} and [] stay whole.
DOCSTRING_TOKEN_RE = re.compile(
    r"[^\s,'\"`.():\[\]=*;>{\}+-/\\]+|\\+|\.+|\(\)|{\}|\[\]|\(+|\)+|:+|\[+|\]+|{+|\}+|=+|\*+|;+|>+|\++|-+|/+"
)


def tokenize_docstring(text: str) -> list[str]:
    """CodeSearchNet's docstring_tokens: regex tokens of the text (CSN applies it to the summary)."""
    return [t for t in DOCSTRING_TOKEN_RE.findall(text or "") if t]


def docstring_summary(docstring: str) -> str:
    """CSN's summary: text before the first blank line, else before the first ``@`` (Javadoc tags), else all."""
    if "\n\n" in docstring:
        return docstring.split("\n\n")[0]
    if "@" in docstring:
        return docstring[: docstring.find("@")]
    return docstring


def csn_strip_comment(comment: str) -> str:
    """CSN's strip_c_style_comment_delimiters: per line, drop ``*/``, then a leading ``*``, ``/**`` or ``//``.

    Faithful to CSN, so ``/* x */`` keeps its ``/*`` and ``///`` keeps one ``/``.
    """
    out = []
    for line in comment.split("\n"):
        line = line.strip()
        if line.endswith("*/"):
            line = line[:-2]
        if line.startswith("*"):
            line = line[1:]
        elif line.startswith("/**"):
            line = line[3:]
        elif line.startswith("//"):
            line = line[2:]
        out.append(line.strip())
    return "\n".join(out)


def csn_python_docstring(literal: str) -> str:
    """CSN's python docstring: the string literal stripped of whitespace, then of ``"`` and ``'`` (prefixes stay)."""
    return literal.strip().strip('"').strip("'")


_LINE_MARKERS = ("///", "//!", "//", "#", "--")  # "--": SQL line comments


def clean_doc_comment(comment: str) -> str:
    """A doc comment's text without its delimiters (``/** */``, ``/*! */``, ``/* */``, ``///``, ``//!``, ``//``, ``#``).

    Leading ``*`` columns of block comments are dropped; the common indentation is removed; a
    single space after a line marker is dropped, deeper indentation is kept.
    """
    text = comment.strip()
    lines: list[str] = []
    if text.startswith("/*"):
        body = text[2:]
        if body.endswith("*/"):
            body = body[:-2]
        if body[:1] in ("*", "!") and not body.startswith("*/"):
            body = body[1:]
        raw = body.split("\n")
        starred = all(line.strip().startswith("*") for line in raw[1:] if line.strip())
        for i, line in enumerate(raw):
            if i > 0 and starred:
                line = line.strip()[1:] if line.strip().startswith("*") else line.strip()
            lines.append(line.rstrip())
    else:
        for line in text.split("\n"):
            line = line.strip()
            for marker in _LINE_MARKERS:
                if line.startswith(marker):
                    line = line[len(marker):]
                    break
            lines.append(line.rstrip())
    return _dedent(lines).strip("\n")


def _dedent(lines: list[str]) -> str:
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] if line.strip() else "" for line in lines)


_XML_INLINE = re.compile(r"<(see|seealso|paramref|typeparamref)\b[^>]*?(?:cref|name|langword|href)\s*=\s*\"([^\"]*)\"[^>]*/>")
_XML_TAG = re.compile(r"</?([A-Za-z]+)\b[^>]*?/?>")
_XML_SECTION = re.compile(r"<(param|typeparam|exception)\b[^>]*?(?:name|cref)\s*=\s*\"([^\"]*)\"[^>]*>(.*?)</\1>", re.S)
_XML_SIMPLE_SECTION = re.compile(r"<(summary|remarks|returns|value|example)\b[^>]*>(.*?)</\1>", re.S)


def clean_xml_doc(text: str) -> str:
    """C# XML documentation as plain text: the <summary> first, then remarks, params, returns as paragraphs."""
    if "<" not in text:
        return text.strip()
    text = _XML_INLINE.sub(lambda m: m.group(2).split(":")[-1], text)
    parts: list[str] = []
    sections = {m.group(1): m.group(2) for m in _XML_SIMPLE_SECTION.finditer(text)}
    for name in ("summary", "remarks"):
        if name in sections:
            parts.append(_xml_text(sections[name]))
    for m in _XML_SECTION.finditer(text):
        parts.append(f"{m.group(2).split(':')[-1]}: {_xml_text(m.group(3))}")
    for name, label in (("returns", "Returns"), ("value", "Value"), ("example", "Example")):
        if name in sections:
            parts.append(f"{label}: {_xml_text(sections[name])}")
    if not parts:
        return _xml_text(text)
    return "\n\n".join(p for p in parts if p)


def _xml_text(fragment: str) -> str:
    fragment = re.sub(r"</?para\s*/?>", "\n\n", fragment)
    fragment = _XML_TAG.sub("", fragment)
    fragment = html.unescape(fragment)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", fragment)]
    return "\n\n".join(p for p in paragraphs if p)
