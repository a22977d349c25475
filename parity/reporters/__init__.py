"""Reporters turn a RunReport into files or terminal output; none of them computes verdicts."""
