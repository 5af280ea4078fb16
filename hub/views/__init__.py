"""Thin Flask views: parse, call policy, render."""
