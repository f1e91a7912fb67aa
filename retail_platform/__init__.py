"""retail_platform: a Dagster code location for a retail analytics warehouse."""

import warnings

import dagster as dg

# We use BackfillPolicy.single_run() on purpose (one run per backfill); its beta
# warning would otherwise repeat for every asset at every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
