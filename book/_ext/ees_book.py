"""Sphinx settings of the book that its _config.yml cannot express.

* MathJax on every page: Sphinx loads it only on pages whose source holds math, but the tables
  that ``ees_theory.report`` prints from code cells typeset their quantities too
  (``ees_theory.report.typeset``), and on a page without math in its text they would stay raw TeX.
* numpydoc sections (``Parameters`` / ``Returns`` / ``Raises`` / ``Examples`` over a line of
  dashes) are rendered by ``sphinx.ext.napoleon``, but only in docstrings that have one: napoleon
  would otherwise also read every attribute docstring's ``text: more text`` as ``type: description``.
  Where a docstring has its own ``Parameters`` or ``Returns`` section, the type hints are not added
  as a second list of parameters (``autodoc_typehints: description``): the section names the types.
* ``.. api-module:: NAME`` writes one module's API page body: a table of its public names
  (``autosummary``), then the module (``automodule``) with exactly those names as members. Which
  names those are is decided in :mod:`api_names` (read by ``tests/test_api_docs.py`` too), so a name
  added to a module's ``__all__`` reaches its page without editing the page. With ``:package:``
  the module renders no member itself: its table links each name to the page that renders it, or
  lists the package's submodules; a content block, when given, is the table's entries instead.
  With ``:submodules:`` as well, the page then renders each public submodule the package's folder
  holds (:func:`api_names.submodules`), under a heading of its name: a module added there reaches
  the book without a page or a table-of-contents line of its own.
  The tables (``api-summary``, an ``autosummary``) link each name, but their summaries carry no
  links: a summary is the first sentence of a docstring, whose short references (``:class:`Policy```)
  name objects relative to the module that wrote them, not to the page that shows the table; a
  summary never stops inside a literal (autosummary would cut ````e_1 + ... + e_k```` after its
  ``...``); and its quantities are typeset as in every other table of the book
  (:func:`ees_theory.report.typeset.typeset`: ``p >= 0`` shows as a formula).
* A reference to a name under the module that re-exports it (``:func:`ees_theory.reference.truncate```,
  the name users call) resolves to the page that renders it (``ees_theory.reference.truncation.truncate``),
  found by :func:`api_names.rendered_at`.
"""

import inspect
import re

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.addnodes import pending_xref
from sphinx.ext import napoleon
from sphinx.ext.autosummary import Autosummary, autosummary_table, import_by_name
from sphinx.util.docutils import SphinxDirective

import api_names
from ees_theory.report.typeset import ASCII_MATH, typeset

_NUMPY_SECTION = re.compile(r"^\s*(Parameters|Returns|Raises|Yields|Examples)\s*\n\s*-{3,}\s*$", re.M)
_SIGNATURE_SECTION = re.compile(r"^\s*(Parameters|Returns)\s*\n\s*-{3,}\s*$", re.M)


def _numpydoc_where_written(app, what, name, obj, options, lines):
    text = "\n".join(lines)
    if _SIGNATURE_SECTION.search(text):
        # autodoc recorded the hints under this name when it read the signature; without them it
        # adds no typed "Parameters" / "Return type" fields after the written ones
        app.env.temp_data.get("annotations", {}).pop(name, None)
    if _NUMPY_SECTION.search(text):
        napoleon._process_docstring(app, what, name, obj, options, lines)


def _whole_literals(summary: str, real_name: str) -> str:
    """``summary``, or, when it stops inside a ````literal````, the first sentence of the docstring
    that ends outside every literal."""
    if summary.count("``") % 2 == 0:
        return summary
    text = " ".join((inspect.getdoc(import_by_name(real_name)[1]) or "").split("\n\n")[0].split())
    for m in re.finditer(r"\.(\s|$)", text):
        if text[: m.start()].count("``") % 2 == 0:
            return text[: m.start() + 1]
    return text


# a literal or an interpreted text (a role): what typesetting leaves as it is
_MARKUP = re.compile(r"(``.+?``|:[\w:.-]+:`[^`]*`)")


def _typeset_summary(summary: str) -> str:
    """``summary`` (reST) with the quantities of its plain parts written as ``:math:`` roles, where
    a plain part writes a formula in plain text (``ASCII_MATH``); other summaries stay as written."""
    out = []
    for i, part in enumerate(_MARKUP.split(summary)):
        if i % 2 or not ASCII_MATH.search(part):
            out.append(part)
            continue
        pieces = typeset(part).parts
        for j, (kind, text) in enumerate(pieces):
            if kind == "text":
                out.append(text)
                continue
            role = f":math:`{text}`" if kind == "math" else f"``{text}``"
            # reST markup needs a non-word character on each side; "\ " is an empty one
            before = "\\ " if out and out[-1][-1:].isalnum() else ""
            after = "\\ " if j + 1 < len(pieces) and pieces[j + 1][1][:1].isalnum() else ""
            out.append(before + role + after)
    return "".join(out)


class ApiSummary(Autosummary):
    """``autosummary`` whose summaries end outside literals (:func:`_whole_literals`) and typeset
    their quantities (:func:`_typeset_summary`)."""

    def get_items(self, names):
        return [(display, sig, _typeset_summary(_whole_literals(summary, real)), real)
                for display, sig, summary, real in super().get_items(names)]


def _module_lines(name: str) -> list[str]:
    """The lines of one module's page body: the table of its public names, then the module."""
    names = api_names.public_names(name)
    members = [f"   :members: {', '.join(names)}"] if names else ["   :no-members:"]
    lines = [".. api-summary::", "   :nosignatures:", ""] + [f"   ~{name}.{n}" for n in names] + [""] if names else []
    return lines + [f".. automodule:: {name}", *members, ""]


class ApiModule(SphinxDirective):
    """``.. api-module:: NAME`` (options ``:package:``, ``:submodules:``; content: the table's
    entries, one a line)."""

    required_arguments = 1
    has_content = True
    option_spec = {"package": directives.flag, "submodules": directives.flag}

    def run(self):
        name = self.arguments[0]
        if "package" in self.options:
            entries = [line.strip() for line in self.content if line.strip()] or api_names.summary_targets(name)
            lines = [".. api-summary::", "   :nosignatures:", ""] + [f"   ~{e}" for e in entries] + [""] if entries else []
            lines += [f".. automodule:: {name}", "   :no-members:", ""]
        else:
            lines = _module_lines(name)
        if "submodules" in self.options:
            for sub in api_names.submodules(name):
                # no current module: the table names each entry in full, as on a page of its own
                lines += [".. py:currentmodule:: None", "", f".. rubric:: ``{sub}``", "", *_module_lines(sub)]
        source, _ = self.get_source_info()
        # parsed in place of the directive, as if the page had these lines
        self.state_machine.insert_input(StringList(lines, source=source), source)
        return []


def _plain_summaries(app, doctree):
    for table in doctree.findall(autosummary_table):
        for row in table.findall(nodes.row):
            for entry in list(row.findall(nodes.entry))[1:]:  # the summary column; the name links stay
                for ref in list(entry.findall(pending_xref)):
                    ref.replace_self(ref.children)


def _public_alias(app, env, node, contnode):
    """Resolve ``package.name`` to where ``name`` is rendered, when ``package`` re-exports it."""
    if node.get("refdomain") != "py":
        return None
    module, _, name = node.get("reftarget", "").rpartition(".")
    if not module.startswith("ees_theory") or not name:
        return None
    try:
        real = api_names.rendered_at(module, name)
    except (ImportError, AttributeError, ValueError, TypeError):  # not a module's public name
        return None
    return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, node["reftype"], real, node, contnode)


def setup(app):
    app.set_html_assets_policy("always")
    app.add_directive("api-module", ApiModule)
    app.add_directive("api-summary", ApiSummary)
    app.connect("doctree-read", _plain_summaries)
    app.connect("missing-reference", _public_alias)
    app.setup_extension("sphinx.ext.napoleon")
    # napoleon's own listener would rewrite every docstring: keep it for those with a section only
    listeners = app.events.listeners.get("autodoc-process-docstring", [])
    listeners[:] = [entry for entry in listeners if entry.handler is not napoleon._process_docstring]
    app.connect("autodoc-process-docstring", _numpydoc_where_written)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
