"""A local embassy-like fixture website for ``monitor demo``, the tests and the benchmarks."""
