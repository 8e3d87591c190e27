// The page's side of the minimal round trips (await_port_min, jspi_port_min in
// bench/kernel_bench.py): with `enable`, a temporary listener on the kernel's Worker, in place of
// the bridge's own, posts every frame whose JSON is exactly `frame` straight back, marked
// `answers: answers` as the bridge marks an answer (docs/protocol.md section 3); any other
// message goes on to the bridge's own listener. Without `enable`, the bridge's listener is put
// back. No bridge code runs for an echoed frame: one structured clone each way, as in
// raw_floor.js's postMessage round trip.
// Run in the page with page.evaluate(source, options); returns true.
async ({ kernelId, frame, answers, enable }) => {
  const k = await window.litebridge.kernel(kernelId, { timeoutMs: 30000 });
  const worker = k.worker;
  const own = k.onWorkerMessage;
  if (worker == null || typeof own !== 'function') throw new Error('the kernel bridge has no Worker');
  const MARK = 'litebridge.frame';
  const SAVED = '__litebridgeBenchEcho';
  if (enable) {
    if (worker[SAVED] !== undefined) throw new Error('the port echo is already installed');
    const echo = (event) => {
      if (event.data?.lb === MARK && event.data.json === frame) {
        worker.postMessage({ lb: MARK, json: frame, buffers: [], answers }, []);
        return;
      }
      own(event);
    };
    worker[SAVED] = echo;
    worker.removeEventListener('message', own);
    worker.addEventListener('message', echo);
  } else {
    if (worker[SAVED] === undefined) throw new Error('the port echo is not installed');
    worker.removeEventListener('message', worker[SAVED]);
    worker.addEventListener('message', own);
    delete worker[SAVED];
  }
  return true;
}
