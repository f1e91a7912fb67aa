"""Start bqemulator (a DuckDB-backed BigQuery REST emulator) for the tests.

Run with the emulator's own venv (see ``requirements.txt``), not the project's::

    .venv-bqemulator/bin/python serve.py --port 9050 --home .venv-bqemulator/home

Before the server starts it:

* points ``HOME`` at a project-local folder (``--home`` or ``BQEMU_HOME``) and installs
  DuckDB's spatial extension there from the ``duckdb-extension-spatial`` package, since
  bqemulator runs ``INSTALL spatial`` at start-up and there is no network to download it;
* adds ``*/*`` to the media types bqemulator accepts in multipart uploads: the real
  google-cloud-bigquery client sends that for small ``load_table_from_*`` uploads;
* lets bqemulator's rewrite of ``CREATE TABLE t (<columns>) AS <query>`` (which DuckDB
  cannot parse) see a query in parentheses: dbt-bigquery writes every table with a
  contract (``contract: {enforced: true}``) as ``... (<columns>) PARTITION BY ... AS
  (SELECT ...)``, which BigQuery accepts and bqemulator's rewrite skipped.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def install_spatial(home: Path) -> None:
    """Install the spatial extension from its wheel into ``home``/.duckdb, once."""
    os.environ["HOME"] = str(home)  # DuckDB keeps its extensions under ~/.duckdb
    home.mkdir(parents=True, exist_ok=True)

    import duckdb
    import duckdb_extension_spatial

    package = Path(duckdb_extension_spatial.__file__).parent
    extension = package / "extensions" / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    with duckdb.connect() as connection:
        installed = connection.execute(
            "SELECT installed FROM duckdb_extensions() WHERE extension_name = 'spatial'"
        ).fetchone()
        if not (installed and installed[0]):
            connection.execute(f"INSTALL '{extension}'")


def accept_any_media_type() -> None:
    from bqemulator.api.routes import upload

    if "*/*" not in upload._PERMITTED_MEDIA_CONTENT_TYPES:
        upload._PERMITTED_MEDIA_CONTENT_TYPES = (*upload._PERMITTED_MEDIA_CONTENT_TYPES, "*/*")


def rewrite_parenthesized_ctas() -> None:
    from bqemulator.sql.rewriter import create_table_schema_ctas as rewriter
    from sqlglot import exp

    first_select = rewriter._first_select

    def first_select_in_parentheses(body):
        while isinstance(body, (exp.Subquery, exp.Paren)):
            body = body.this
        return first_select(body)

    rewriter._first_select = first_select_in_parentheses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="REST port")
    parser.add_argument("--grpc-port", type=int, default=0, help="Storage API port (0: any)")
    parser.add_argument("--project", default="test-project", help="default project id")
    parser.add_argument("--home", type=Path, default=os.environ.get("BQEMU_HOME"))
    parser.add_argument("--data-dir", type=Path, help="persist to this folder (default: memory)")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--install-only", action="store_true", help="set up HOME, then exit")
    args = parser.parse_args()
    if args.home is None:
        parser.error("give --home or BQEMU_HOME (a project-local folder for DuckDB)")
    install_spatial(args.home.resolve())
    if args.install_only:
        return
    if args.port is None:
        parser.error("give --port")
    accept_any_media_type()
    rewrite_parenthesized_ctas()

    from bqemulator.config import PersistenceMode, Settings
    from bqemulator.server import run_forever

    settings = Settings(
        rest_host=args.host,
        rest_port=args.port,
        grpc_host=args.host,
        grpc_port=args.grpc_port,
        default_project_id=args.project,
        persistence_mode=PersistenceMode.PERSISTENT if args.data_dir else PersistenceMode.EPHEMERAL,
        data_dir=args.data_dir,
        enable_format_extensions=False,  # the avro extension would be downloaded
        log_level=args.log_level,
        log_format="console",
        metrics_enabled=False,
    )
    run_forever(settings)


if __name__ == "__main__":
    main()
