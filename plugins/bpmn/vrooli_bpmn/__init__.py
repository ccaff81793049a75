"""vrooli-bpmn: a BPMN 2.0 navigator for vrooli."""

__version__ = "0.1.0"
