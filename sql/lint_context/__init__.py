"""What sqlfluff's jinja templater needs of dbt's context to render the models and macros
(`.sqlfluff` loads this folder as `library_path`): stand-ins for the DuckDB target.

sqlfluff's own dbt builtins cover `ref`, `source`, `config`, `is_incremental` and
`return`; these add the rest the SQL uses. They only have to render valid SQL of the same
shape as dbt's, never the same values: nothing here runs, `make lint` only reads.
"""

import datetime
import os
import re
import types
from pathlib import Path

import jinja2
import yaml

_VARS = yaml.safe_load((Path(__file__).parents[1] / "dbt_project.yml").read_text())["vars"]

target = types.SimpleNamespace(type="duckdb", name="local", schema="main")
modules = types.SimpleNamespace(re=re, datetime=datetime)
execute = False  # as at dbt's parse: the macros skip their warehouse queries


def var(name, default=None):
    return _VARS.get(name, default)


def env_var(name, default=""):
    return os.environ.get(name, default)


@jinja2.pass_context
def _dispatch(context, macro_name, macro_namespace=None):
    """adapter.dispatch: the duckdb__ implementation, else the default__ one."""
    for prefix in ("duckdb__", "default__"):
        macro = context.resolve_or_missing(prefix + macro_name)
        if macro is not jinja2.runtime.missing:
            return macro
    raise jinja2.UndefinedError(f"no implementation of {macro_name}")


adapter = types.SimpleNamespace(
    dispatch=_dispatch,
    get_relation=lambda *args, **kwargs: None,
    get_columns_in_relation=lambda *args, **kwargs: [],
)
exceptions = types.SimpleNamespace(
    raise_compiler_error=lambda message: "",
)
# dbt's cross-database macros, as dbt-duckdb renders them
dbt = types.SimpleNamespace(
    dateadd=lambda part, amount, date: f"date_add({date}, interval ({amount}) {part})",
    date_trunc=lambda part, date: f"date_trunc('{part}', {date})",
    datediff=lambda first, second, part: f"date_diff('{part}', {first}, {second})",
    type_float=lambda: "float",
)
