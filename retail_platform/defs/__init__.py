"""The Dagster definitions, by layer; ``retail_platform.definitions`` assembles them.

Every Dagster entry point (the code location, its run workers, ``dg check defs``, the
benchmarks) imports a module of this package before it builds a definition, so the
warnings filter below is in place wherever one is built."""

import warnings

import dagster as dg

# We use BackfillPolicy.single_run() and source code references on purpose (one run per
# backfill; links from the UI to the code); their beta warnings would otherwise repeat for
# every asset at every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
