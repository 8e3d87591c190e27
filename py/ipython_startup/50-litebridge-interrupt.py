"""litebridge: let the kernel's Stop button interrupt a running cell (docs/usage.md, "Interrupt").

The litebridge wheel installs this file into ``<sys.prefix>/etc/ipython/startup/`` and IPython
runs it when the Pyodide kernel of JupyterLite starts (IPython's startup files of
``ENV_CONFIG_DIRS``). It loads ``litebridge/_interrupt.py`` on its own, under its own module name,
without importing the ``litebridge`` package (importing that connects the kernel to the page),
calls its ``enable()``, and leaves no name behind in the user namespace.
"""


def _litebridge_enable_interrupt() -> None:
    import importlib.util
    import sys

    name = "litebridge._interrupt"
    try:
        module = sys.modules.get(name)
        if module is None:
            package = importlib.util.find_spec("litebridge")  # a top-level spec: imports nothing
            if package is None or not package.submodule_search_locations:
                return
            path = f"{next(iter(package.submodule_search_locations))}/_interrupt.py"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                return
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        module.enable()
    except Exception as exc:  # noqa: BLE001 - a startup file must never break the kernel
        sys.modules.pop(name, None)
        print(f"litebridge: keyboard interrupt not enabled: {exc!r}", file=sys.stderr)


_litebridge_enable_interrupt()
del _litebridge_enable_interrupt
