"""Load against a pool: when open-loop requests arrive (``arrivals``: a pure schedule, where a
new pattern plugs in), warm-up (``warmup``), the run loop with its stop path, outages and stalls
(``engine``, which also re-exports the names front ends use), and what runs report and how
results merge (``results``)."""
