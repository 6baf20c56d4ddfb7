"""Tests of the benchmark scripts under `bench/` that are not about one package module."""
