"""Fault drills: a loopback TCP proxy that injects faults (``proxy``) and the drills that run a
burst through it and report detection and recovery (``drill``)."""
