/**
 * The litebridge JupyterLite labextension.
 *
 * @packageDocumentation
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IKernelSpecs } from '@jupyterlite/services';

import { installWaitAsyncFix } from './waitAsyncFix';

// As early as possible: when JupyterLite loads this federated module, before any plugin
// activates and before any kernel (and so coincident) exists.
installWaitAsyncFix();

/** The plugin id, also the key under which it can be disabled in `jupyter-lite.json`. */
export const PLUGIN_ID = 'litebridge:plugin';

/**
 * The litebridge plugin: fixes `Atomics.waitAsync` for the Pyodide kernel's coincident
 * transport and attaches a bridge to every kernel the page starts.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'litebridge: calls between the Pyodide kernel and this page.',
  autoStart: true,
  requires: [IKernelSpecs],
  activate: (_app: JupyterFrontEnd, _kernelspecs: IKernelSpecs): void => {
    installWaitAsyncFix();
  }
};

export default plugin;
