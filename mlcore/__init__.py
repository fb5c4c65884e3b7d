"""Eligo's machine-learning core: corpus formats and the joint NER + RE model.

Nothing in this package imports Django: it is usable from the worker, the CLI
(`python -m mlcore`) and notebooks alike.
"""
