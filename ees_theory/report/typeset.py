r"""Plain-text statements with their quantities typeset as math, for the book's tables.

The specification and the claims ledger write statements, evidence and counterexample summaries
in plain text (``"f(k) = Hbar_k - P_k is strictly decreasing in k"``), so that a terminal can
print them. The book shows the same words with every quantity typeset:
:func:`typeset` finds each maximal run of symbols, numbers and operators in the text and writes
it as one math span. :func:`symbol` is the one place that says how a name is written (``Hbar_k``
is :math:`\bar H_k`, ``p_max`` is :math:`p_{\max}`, ``k*`` is :math:`k^*`, the tie count is
:math:`t`), so the same quantity looks the same in every table.

>>> print(typeset("f(k) = Hbar_k - P_k is strictly decreasing in k").markdown())
$f(k) = \bar H_k - P_k$ is strictly decreasing in $k$
>>> print(typeset("tau -> 0 gives k* -> 1 (or t for a t-way tie at the top)").markdown())
$\tau \to 0$ gives $k^* \to 1$ (or $t$ for a $t$-way tie at the top)
>>> print(typeset("eta sampling keeps every token epsilon sampling keeps (eta <= epsilon)").markdown())
eta sampling keeps every token epsilon sampling keeps ($\eta \le \epsilon$)
>>> str(typeset("p_max = 0.30"))          # a terminal still gets the plain text
'p_max = 0.30'
>>> typeset("p_max >= 0.3").html()
'<span class="math notranslate nohighlight">\\(p_{\\max} \\ge 0.3\\)</span>'
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

__all__ = ["Prose", "typeset", "symbol", "ASCII_MATH"]

#: Greek letters written out in plain text (``delta`` and ``mu`` stay words: they are parameter
#: names of samplers, shown as code).
_GREEK = {"tau", "theta", "eta", "epsilon", "sigma", "lambda", "gamma", "kappa", "omega", "alpha", "beta"}
#: Single letters that are always quantities in this project's texts ("a" and "I" are words).
_VARS = set("cfgHijkLmnNpPqtTuVz")
#: Operator names: math only when an operand follows.
_FUNCS = {"ln": r"\ln", "log": r"\log", "exp": r"\exp", "max": r"\max", "min": r"\min", "sum": r"\sum"}
#: Words that name a parameter inside a formula (``(H / ln n)**exponent``).
_PARAM_WORDS = {"exponent"}
_UNICODE = {"τ": r"\tau", "θ": r"\theta", "η": r"\eta", "ε": r"\epsilon", "σ": r"\sigma", "δ": r"\delta", "μ": r"\mu",
            "≤": r"\le", "≥": r"\ge", "→": r"\to", "∞": r"\infty", "−": "-", "·": r"\cdot", "×": r"\times", "∈": r"\in",
            "Σ": r"\sum", "∑": r"\sum"}
_RELATIONS = {"<=": r"\le", ">=": r"\ge", "->": r"\to", "!=": r"\ne", "==": "=", "<": "<", ">": ">", "=": "=",
              "≤": r"\le", "≥": r"\ge", "→": r"\to", "∈": r"\in"}
_ARITH = {"+": "+", "-": "-", "−": "-", "/": "/", "·": r"\cdot", "×": r"\times", "**": "^", "^": "^", "|": r"\vert "}

#: Plain-text spellings of math that a rendered table must not show outside a formula or code:
#: the pattern the book's tests search the built pages with. (``tau``, ``theta`` and ``T0`` are
#: also argument names, which the protocol's tables rightly print as words.)
ASCII_MATH = re.compile(r"p_max|p_min|H_bar|Hbar|T_min|T_max|>=|<=|->|\bsum\(|\bexp\(|\bk\*|\*\*")

_TOKEN = re.compile(
    r"""(?P<code>`[^`]*`)
      | (?P<abbr>\b(?:[a-z]\.){2,})
      | (?P<hex>-?0x[0-9a-fA-F.]+p[-+]?\d+)
      | (?P<num>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<word>[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z][A-Za-z0-9_]*)*)
      | (?P<op><=|>=|->|!=|==|\*\*|\.\.|[<>=+\-*/^|·×−≤≥→∈])
      | (?P<open>[(\[])
      | (?P<close>[)\]])
      | (?P<space>\s+)
      | (?P<other>.)""",
    re.X | re.S,
)


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\|*_`[]<$"})


def _md_escape(s: str) -> str:
    """Text as literal markdown: ``T(c*theta)`` must not turn into emphasis, ``$`` into math."""
    return s.translate(_MD_SPECIAL).replace("\n", " ")


def symbol(name: str) -> str | None:
    r"""How a plain-text name is typeset (TeX), or ``None`` when it is an ordinary word.

    >>> [symbol(s) for s in ("Hbar_k", "H_bar", "p_max", "T0", "T_min", "P_k", "tau", "k", "inf", "min_p", "the")]
    ['\\bar H_k', '\\bar H', 'p_{\\max}', 'T_0', 'T_{\\min}', 'P_k', '\\tau', 'k', '\\infty', None, None]
    """
    m = re.fullmatch(r"(?:Hbar|H_bar)(?:_(\w+))?", name)
    if m:
        return r"\bar H" + (_sub(m.group(1)) if m.group(1) else "")
    m = re.fullmatch(r"([A-Za-z])_(\d+|[A-Za-z]|min|max)", name)
    if m:
        return symbol(m.group(1)) + _sub(m.group(2))
    m = re.fullmatch(r"([A-Z])(\d)", name)
    if m:
        return f"{m.group(1)}_{m.group(2)}"
    if name in _GREEK:
        return "\\" + name
    if name in _VARS or name == "a":
        return name
    if name == "inf":
        return r"\infty"
    return _UNICODE.get(name)


def _sub(s: str) -> str:
    """A subscript: braces only around more than one symbol."""
    t = {"min": r"\min", "max": r"\max"}.get(s) or (symbol(s) or s if len(s) == 1 else s)
    return f"_{t}" if len(t) == 1 else f"_{{{t}}}"


def _number(s: str) -> str:
    r"""``1e-4`` as :math:`10^{-4}`, ``2.5e+3`` as :math:`2.5 \\cdot 10^{3}`, other numbers as written."""
    m = re.fullmatch(r"([\d.]+)[eE]([-+]?\d+)", s)
    if not m:
        return s
    exp = str(int(m.group(2)))
    return f"10^{{{exp}}}" if float(m.group(1)) == 1 else rf"{m.group(1)} \cdot 10^{{{exp}}}"


@dataclass(frozen=True)
class Prose:
    """Text made of plain parts, code parts and math parts: ``parts`` is a tuple of
    ``(kind, text)`` with ``kind`` one of ``"text"``, ``"code"``, ``"math"`` (TeX).

    It shows as HTML (math in the span Sphinx writes, which MathJax typesets), as MyST markdown
    (``$...$``) and, for a terminal, as the ``plain`` text it was made from.
    """

    parts: tuple[tuple[str, str], ...]
    plain: str

    def html(self) -> str:
        out = []
        for kind, s in self.parts:
            if kind == "math":
                out.append(f'<span class="math notranslate nohighlight">\\({html.escape(s, quote=False)}\\)</span>')
            elif kind == "code":
                out.append(f'<code style="overflow-wrap:anywhere">{html.escape(s)}</code>')
            else:
                out.append(html.escape(s))
        return "".join(out)

    def markdown(self) -> str:
        out = []
        for kind, s in self.parts:
            if kind == "math":
                out.append(f"${s}$")
            elif kind == "code":
                out.append("`" + s.replace("`", "'") + "`")
            else:
                out.append(_md_escape(s))
        return "".join(out)

    def __str__(self) -> str:
        return self.plain


def typeset(text: str) -> Prose:
    r"""``text`` with every run of quantities, numbers and operators typeset as one formula.

    A run must hold a quantity or a relation (``12 spot checks`` and ``(0.25, 0.7)`` stay text);
    a name with an underscore that is not a quantity (``min_p``) is shown as code; a hyphenated
    word keeps its hyphen (``top-k``: top-:math:`k`); a Greek name before "sampling" names a
    sampler and stays a word. Brackets that do not pair up inside a run stay text.

    >>> print(typeset("n = 101, certified = yes: p_max = 0.30 over 100 tied tokens").markdown())
    $n = 101$, certified = yes: $p_{\max} = 0.30$ over 100 tied tokens
    >>> print(typeset("T(H = theta) = N*T0; T(c*theta, c*H) = T(theta, H)").markdown())
    $T(H = \theta) = N T_0$; $T(c \theta, c H) = T(\theta, H)$
    >>> print(typeset("k*(tau=0.05) = 1 but k*(tau=4.0) = 2").markdown())
    $k^*(\tau=0.05) = 1$ but $k^*(\tau=4.0) = 2$
    >>> print(typeset("T = 1.5 (H < ln n, so (H / ln n)**exponent > 0)").markdown())
    $T = 1.5$ ($H < \ln n$, so $(H / \ln n)^{\mathrm{exponent}} > 0$)
    >>> print(typeset("the p-less threshold sum p^2 lies in [1/V, max p]; 12 spot checks (min_p = 0.1)").markdown())
    the p-less threshold $\sum p^{2}$ lies in $[1/V, \max p]$; 12 spot checks (`min_p` $= 0.1$)
    >>> print(typeset("k* at τ = 1e-4").markdown())
    $k^*$ at $\tau = 10^{-4}$
    >>> print(typeset("zipf: p_i proportional to rank**-exponent, i.i.d. rows of `share` tokens").markdown())
    zipf: $p_i$ proportional to $\mathrm{rank}^{-\mathrm{exponent}}$, i.i.d. rows of `share` tokens
    >>> typeset(3)
    Traceback (most recent call last):
    ...
    TypeError: typeset: text must be a str, got int
    """
    if not isinstance(text, str):
        raise TypeError(f"typeset: text must be a str, got {type(text).__name__}")
    toks = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]
    kinds = [_classify(toks, i) for i in range(len(toks))]
    parts: list[tuple[str, str]] = []
    i = 0
    while i < len(toks):
        if kinds[i] in ("text", "code"):
            parts.append((kinds[i], toks[i][1][1:-1] if toks[i][0] == "code" else toks[i][1]))
            i += 1
            continue
        j = i
        depth = 0
        while j < len(toks) and kinds[j] not in ("text", "code"):
            name, s = toks[j]
            if s == "," and depth == 0:
                break
            # "epsilon (eta <= epsilon)": a bracket after a space opens a run of its own
            if name == "open" and depth == 0 and toks[j - 1][0] == "space" and any(t[0] != "space" for t in toks[i:j]):
                break
            depth += (name == "open") - (name == "close")
            if depth < 0:
                break
            j += 1
        if j == i:  # a comma or an unpaired bracket at depth 0: text
            parts.append(("text", toks[i][1]))
            i += 1
            continue
        parts += _run(toks[i:j], kinds[i:j])
        i = j
    return Prose(tuple(_merge(parts)), text)


def _classify(toks: list[tuple[str, str]], i: int) -> str:
    """``text`` or ``code`` (a word), ``strong`` (a quantity: makes a run math), ``rel`` (a
    relation or a power: makes a run with a number math), ``weak`` (a number, an operator, a
    bracket, a space or a comma: math inside a run only)."""
    name, s = toks[i]
    if name in ("num", "open", "close", "space") or s in (",", ".."):
        return "weak"
    if name == "op":
        return "rel" if s in _RELATIONS or s in ("**", "^") else "weak"
    if name == "code":
        return "code"
    if name in ("hex", "other", "abbr"):
        return ("rel" if s in _RELATIONS else "strong") if s in _UNICODE and s not in _ARITH else "text"
    # a word
    nxt = next((t for t in toks[i + 1:] if t[0] != "space"), ("", ""))
    if "-" in s:
        return "text"  # a hyphenated word: its one-letter parts are typeset by _merge
    if s in _GREEK and nxt[1] == "sampling":
        return "text"
    if s in _FUNCS:
        return "weak" if nxt[0] in ("word", "num", "open") else "text"
    prev = next((t for t in reversed(toks[:i]) if t[0] != "space"), ("", ""))
    if s in _PARAM_WORDS:
        return "weak" if prev[0] == "op" or nxt[1] in _RELATIONS else "text"
    if nxt[1] in ("**", "^") and symbol(s) is None:  # "rank**-exponent": a word as a base
        return "weak"
    if s == "inf":
        return "weak"
    if s == "a":  # the article, or a variable next to an operator ("p_1 = a > 1/2", "(1 - a)")
        return "strong" if prev[0] in ("op", "open") or nxt[0] == "op" else "text"
    if symbol(s) is not None:
        return "strong"
    return "code" if "_" in s else "text"


def _run(toks: list[tuple[str, str]], kinds: list[str]) -> list[tuple[str, str]]:
    """A run of math-capable tokens: trimmed of edge spaces, commas and unpaired brackets, then
    math if a quantity or relation is left in it, text otherwise."""
    stack: list[int] = []
    unpaired: list[int] = []
    for j, (name, _) in enumerate(toks):
        if name == "open":
            stack.append(j)
        elif name == "close" and stack:
            stack.pop()
        elif name == "close":
            unpaired.append(j)
    unpaired = sorted(unpaired + stack)
    if unpaired:  # "1.5 (H < ln n": the bracket is text, each side its own run
        j = unpaired[0]
        return _run(toks[:j], kinds[:j]) + [("text", toks[j][1])] + _run(toks[j + 1:], kinds[j + 1:])
    lo, hi = 0, len(toks)
    while True:
        start = (lo, hi)
        while lo < hi and (toks[lo][0] == "space" or toks[lo][1] in (",", "..")):
            lo += 1
        while hi > lo and (toks[hi - 1][0] == "space" or toks[hi - 1][1] in (",", "..")):
            hi -= 1
        # brackets at the edges that do not pair up within the run
        if lo < hi and toks[lo][0] == "open" and _partner(toks, lo, hi) is None:
            lo += 1
        if hi > lo and toks[hi - 1][0] == "close" and _opener(toks, lo, hi - 1) is None:
            hi -= 1
        if (lo, hi) == start:
            break
    if hi - lo > 2 and toks[lo][1] == "(" and _partner(toks, lo, hi) == hi - 1:
        # "(n = 1)": the brackets are punctuation of the sentence
        return ([("text", "".join(s for _, s in toks[:lo + 1]))] + _run(toks[lo + 1:hi - 1], kinds[lo + 1:hi - 1])
                + [("text", "".join(s for _, s in toks[hi - 1:]))])
    pre = [("text", "".join(s for _, s in toks[:lo]))]
    post = [("text", "".join(s for _, s in toks[hi:]))]
    inner = toks[lo:hi]
    has_rel = any(k == "rel" for k in kinds[lo:hi]) and any(n == "num" or s in ("**", "^") for n, s in inner)
    if not any(k == "strong" for k in kinds[lo:hi]) and not has_rel and not _has_symbol(inner):
        return pre + [("text", "".join(s for _, s in inner))] + post
    return pre + [("math", _tex(inner))] + post


def _has_symbol(toks: list[tuple[str, str]]) -> bool:
    return any(n == "word" and s in _FUNCS for n, s in toks) and any(n == "word" and symbol(s) for n, s in toks)


def _partner(toks, i, hi):
    depth = 0
    for j in range(i, hi):
        depth += (toks[j][0] == "open") - (toks[j][0] == "close")
        if depth == 0:
            return j
    return None


def _opener(toks, lo, i):
    depth = 0
    for j in range(i, lo - 1, -1):
        depth += (toks[j][0] == "close") - (toks[j][0] == "open")
        if depth == 0:
            return j
    return None


def _tex(toks: list[tuple[str, str]]) -> str:
    out: list[str] = []
    brace_next = False
    sign = ""
    for j, (name, s) in enumerate(toks):
        nxt = toks[j + 1][1] if j + 1 < len(toks) else ""
        if name == "space":
            if not brace_next:
                out.append(" ")
            continue
        if name == "num":
            t = _number(s)
        elif name == "word":
            t = _FUNCS.get(s) or (rf"\mathrm{{{s}}}" if s in _PARAM_WORDS else symbol(s)) or rf"\mathrm{{{s}}}"
        elif s == "*":
            # "k*" (then a space, a bracket or the end) is k-star; "N*T0" is a product
            t = " " if nxt[:1].isalnum() else "^*"
        elif s == "..":
            t = r"\ldots "
        else:
            t = _RELATIONS.get(s) or _ARITH.get(s) or _UNICODE.get(s) or s
        if brace_next and t.strip() == "-":  # "rank**-exponent": the sign goes inside the braces
            sign = "-"
            continue
        if brace_next and t.strip():
            t = "{" + sign + t.strip() + "}"
            brace_next, sign = False, ""
        elif t == "^":
            brace_next = True
        if t.startswith("\\") and t[-1].isalpha() and nxt[:1].isalnum():
            t += " "
        out.append(t)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def _merge(parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Join neighbouring parts of one kind; typeset the one-letter parts of hyphenated words."""
    out: list[tuple[str, str]] = []
    for kind, s in parts:
        if not s:
            continue
        if kind == "text":
            for piece in re.split(r"(\b[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z][A-Za-z0-9_]*)+\b)", s):
                if not piece:
                    continue
                if "-" in piece and re.fullmatch(r"[\w-]+", piece):
                    words = piece.split("-")
                    for w_i, w in enumerate(words):
                        sep = "-" if w_i else ""
                        if len(w) == 1 and w in _VARS and piece not in _NAMED_WORDS:
                            _add(out, "text", sep)
                            _add(out, "math", w)
                        else:
                            _add(out, "text", sep + w)
                else:
                    _add(out, "text", piece)
        else:
            _add(out, kind, s)
    return out


#: Hyphenated names whose one-letter part is a letter of the name, not a quantity.
_NAMED_WORDS = {"p-less", "p-less-norm"}


def _add(out: list[tuple[str, str]], kind: str, s: str) -> None:
    if not s:
        return
    if out and out[-1][0] == kind and kind != "math":
        out[-1] = (kind, out[-1][1] + s)
    else:
        out.append((kind, s))
