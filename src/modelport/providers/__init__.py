"""Upstream model providers. The only package that makes network calls to them."""
