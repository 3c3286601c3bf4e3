"""Diagnosis: queueing models (``queueing``), answers and recommendations (``recommend``), the
rules that make them (``rules``), and measuring and verifying them on the target (``verify``)."""
