"""Sphinx settings of the book that its _config.yml cannot express.

* MathJax on every page: Sphinx loads it only on pages whose source holds math, but the tables
  that ``ees_theory.report`` prints from code cells typeset their quantities too
  (``ees_theory.report.typeset``), and on a page without math in its text they would stay raw TeX.
* numpydoc sections (``Parameters`` / ``Returns`` / ``Raises`` / ``Examples`` over a line of
  dashes) are rendered by ``sphinx.ext.napoleon``, but only in docstrings that have one: napoleon
  would otherwise also read every attribute docstring's ``text: more text`` as ``type: description``.
  Where a docstring has its own ``Parameters`` or ``Returns`` section, the type hints are not added
  as a second list of parameters (``autodoc_typehints: description``): the section names the types.
"""

import re

from sphinx.ext import napoleon

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


def setup(app):
    app.set_html_assets_policy("always")
    app.setup_extension("sphinx.ext.napoleon")
    # napoleon's own listener would rewrite every docstring: keep it for those with a section only
    listeners = app.events.listeners.get("autodoc-process-docstring", [])
    listeners[:] = [entry for entry in listeners if entry.handler is not napoleon._process_docstring]
    app.connect("autodoc-process-docstring", _numpydoc_where_written)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
