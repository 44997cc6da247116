"""Synthetic CMS-like inventories and benchmarks."""
