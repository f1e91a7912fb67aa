"""The benchmark scripts still run (tiny volumes; their figures are not asserted)."""

from benchmarks import run


def test_benchmarks_run_in_quick_mode():
    figures = run.main(["--quick"])
    assert figures["simulator"]["order_lines"] > 0
    assert figures["sensor"]["run requests from that tick"] > 0
