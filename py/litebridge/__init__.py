"""litebridge: calls between the Python kernel of JupyterLite (Pyodide) and its page."""

__version__ = "0.1.0"
