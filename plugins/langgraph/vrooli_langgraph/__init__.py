"""vrooli-langgraph: LangGraph graphs as vrooli routines.

The navigator (``vrooli_langgraph.navigator``) delegates: a graph runs in LangGraph itself, inside one
step of the run, with a checkpointer over vrooli's storage (``vrooli_langgraph.saver``). LangGraph is
imported when a graph is loaded, not when the plugin is registered.
"""

__all__: list[str] = []
