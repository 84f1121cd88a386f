"""Cleaners: steps (filters, annotators, dedup, split, decontamination, obfuscation), recipes and engines."""
