// The page's own CPU time per synchronous call, no worker and no wake-up: run in the page with
// page.evaluate(source, options). `frame` is a request frame's JSON as the kernel encodes it for
// call_sync (protocol section 7). Times, per call, in milliseconds (one value per sample, the
// mean of at least perSample * 20 calls lasting at least MIN_SAMPLE_MS):
//  - serve: the bridge's own handling of the decoded frame, as its SAB channel does it
//    (KernelBridge.serveSync(frame).run(): JSON.parse, handler lookup, argument decoding, the
//    handler's `this` proxy and call, result encoding, JSON.stringify);
//  - frameIo: the frame copies around it on the page (request bytes out of a
//    SharedArrayBuffer into a fresh buffer + TextDecoder; answer TextEncoder + copy into it);
//  - proxy: creating one handler `this` Proxy and reading a property through it, alone.
async ({ kernelId, frame, samples, perSample, warmup }) => {
  const k = await window.litebridge.kernel(kernelId, { timeoutMs: 30000 });
  if (typeof k.serveSync !== 'function') throw new Error('KernelBridge.serveSync is missing');
  const request = { json: frame, buffers: [] };
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const sab = new Uint8Array(new SharedArrayBuffer(64 * 1024));
  const requestBytes = encoder.encode(frame);
  let sink = 0;
  const serve = () => {
    const answer = k.serveSync(request).run();
    if (answer instanceof Promise) throw new Error('the bench handler must answer synchronously');
    sink += answer.json.length;
  };
  const answerJson = k.serveSync(request).run().json;
  const frameIo = () => {
    sab.set(requestBytes);
    const text = decoder.decode(sab.slice(0, requestBytes.length));
    const bytes = encoder.encode(answerJson);
    sab.set(bytes);
    sink += text.length + bytes.length;
  };
  const target = { f() { return 1; } };
  const handler = {
    get(t, key) { return key === 'kernel' ? k : Reflect.get(t, key, t); },
    set(t, key, value) { return Reflect.set(t, key, value, t); }
  };
  const proxy = () => {
    const p = new Proxy(target, handler);
    sink += p.f === target.f ? 1 : 0;
  };
  // A sample repeats its `ops` calls until it lasts MIN_SAMPLE_MS: performance.now() is coarsened
  // (5 us where cross-origin isolated in the High Resolution Time spec's recommendation, 20 us in
  // Firefox; MDN, "DOMHighResTimeStamp", Security requirements), and 200 calls of the 0.1 us proxy
  // piece read 0 in Firefox.
  const MIN_SAMPLE_MS = 2;
  const time = (fn, ops) => {
    for (let i = 0; i < warmup; i++) fn();
    const out = [];
    for (let s = 0; s < samples; s++) {
      const started = performance.now();
      let done = 0;
      let elapsed = 0;
      do {
        for (let i = 0; i < ops; i++) fn();
        done += ops;
        elapsed = performance.now() - started;
      } while (elapsed < MIN_SAMPLE_MS);
      out.push(elapsed / done);
    }
    return out;
  };
  const ops = perSample * 20;
  return { serve: time(serve, ops), frameIo: time(frameIo, ops), proxy: time(proxy, ops), sink };
}
