"""The console's screens: the tune screen and the modal screens it opens (one module each).

Nothing is imported here, so importing one screen never drags in the others.
"""
