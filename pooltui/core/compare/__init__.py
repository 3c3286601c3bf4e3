"""Comparisons that know their noise: a figure's spread over repeats (``noise.Spread``), two
configurations' paired runs judged with a bootstrap interval (``noise.compare``)."""
