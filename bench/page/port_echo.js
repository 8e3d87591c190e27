// The page's side of the minimal round trips (await_port_min, jspi_port_min in
// bench/kernel_bench.py): with `enable`, a temporary onmessage on the kernel's port posts every
// frame whose JSON is exactly `frame` straight back, marked `answers: answers` as the bridge
// marks an answer (docs/protocol.md section 3); any other frame goes on to the bridge's own
// handler. Without `enable`, the bridge's handler is put back. No bridge code runs for an
// echoed frame: one structured clone each way, as in raw_floor.js's postMessage round trip.
// Run in the page with page.evaluate(source, options); returns true.
async ({ kernelId, frame, answers, enable }) => {
  const k = await window.litebridge.kernel(kernelId, { timeoutMs: 30000 });
  const port = k.port;
  if (!(port instanceof MessagePort)) throw new Error('the kernel bridge has no port');
  const SAVED = '__litebridgeBenchEchoSaved';
  if (enable) {
    if (port[SAVED] !== undefined) throw new Error('the port echo is already installed');
    const saved = port.onmessage;
    port[SAVED] = saved;
    port.onmessage = (event) => {
      if (event.data?.json === frame) {
        port.postMessage({ json: frame, buffers: [], answers });
        return;
      }
      saved.call(port, event);
    };
  } else {
    if (port[SAVED] === undefined) throw new Error('the port echo is not installed');
    port.onmessage = port[SAVED];
    delete port[SAVED];
  }
  return true;
}
