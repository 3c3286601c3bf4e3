"""`pooltui tune`: find the best pool for a workload by measurement (see ``tuner``)."""
