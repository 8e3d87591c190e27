// The raw JavaScript floors, no Python: run in the page with page.evaluate(source, options).
// A plain Worker (from a blob) and the page exchange the same small JSON message as the bridge
// benchmarks, two ways:
//  - sab: the worker writes the request into a SharedArrayBuffer and blocks in Atomics.wait; the
//    page's loop (Atomics.waitAsync) decodes it, encodes the answer and notifies. Timed in the
//    worker. Needs crossOriginIsolated.
//  - postMessage: the page posts the message to the worker, which posts it back. Timed in the page.
//  - bulkBack (bulkBytes > 0): the way back of an echo: the page copies bulkBytes into the SAB,
//    the worker copies them out into a buffer it reuses. Timed in the worker.
//  - bulk (bulkBytes > 0): one-way transfer floor: the worker copies bulkBytes into the SAB, the
//    page copies them out into a fresh buffer and answers with the size. Timed in the worker.
// warmupMs: the warm-up of the small round trips lasts that long at least, after its warmup
// round trips (the runner's WARMUP_MIN_MS). gapUs makes the worker busy for that long before each
// sync call (standing for the caller's own work); workerSpinUs polls STATE before Atomics.wait
// (as the bridge's worker helper does, so the runner passes the helper's WAIT_SPIN_MS);
// pageSpinUs polls before waitAsync (an experiment).
// Returns per-call times in milliseconds, one per sample (the mean of perSample round trips), and
// one per bulk transfer. sabFloor false or postMessageFloor false leaves that floor out.
async ({ samples, perSample, warmup, warmupMs = 0, message, gapUs = 0, pageSpinUs = 0, workerSpinUs = 0, bulkBytes = 0, bulkSamples = 0, postMessageFloor = true, sabFloor = true }) => {
  // Copies out of the SAB go through new + set, as the bridge's do: V8's slice() of a
  // SharedArrayBuffer view takes a slower path (node 20: 16 MiB in 6.95 ms, new + set 1.23 ms).
  const copyOut = (view, n) => {
    const copy = new Uint8Array(n);
    copy.set(view.subarray(0, n));
    return copy;
  };
  const workerMain = () => {
    const copyOut = COPY_OUT;
    // phases in STATE (int32 0): seq * 8 + 1 = request written, seq * 8 + 4 = answer written
    self.onmessage = (event) => {
      const { mode, sab, samples, perSample, warmup, warmupMs, message, gapUs, workerSpinUs } = event.data;
      if (mode === 'echo') {
        self.onmessage = (e) => self.postMessage(e.data);
        self.postMessage('ready');
        return;
      }
      const header = new Int32Array(sab, 0, 8);
      const payload = new Uint8Array(sab, 32);
      if (mode === 'bulk') {
        // one-way bulk floor: copy the bytes into the SAB, the page copies them out into a
        // fresh buffer (the two copies the bridge cannot avoid) and answers with the size
        const data = new Uint8Array(payload.length);
        for (let i = 0; i < data.length; i += 4096) data[i] = i & 255;
        const out = [];
        for (let s = 0; s <= samples; s++) {
          const started = performance.now();
          payload.set(data);
          header[1] = data.length;
          const asked = (s + 1) * 8 + 1;
          Atomics.store(header, 0, asked);
          Atomics.notify(header, 0);
          while (Atomics.load(header, 0) === asked) Atomics.wait(header, 0, asked, 10000);
          if (header[1] !== data.length) throw new Error('bad answer');
          if (s > 0) out.push(performance.now() - started); // the first transfer is a warm-up
        }
        Atomics.store(header, 0, -1);
        Atomics.notify(header, 0);
        self.postMessage(out);
        return;
      }
      if (mode === 'bulkback') {
        // the way back of an echo: the page copies its bytes into the SAB, the worker copies
        // them out into a buffer it reuses (as the bridge's worker reads answers)
        const into = new Uint8Array(payload.length);
        const out = [];
        for (let s = 0; s <= samples; s++) {
          const started = performance.now();
          const asked = (s + 1) * 8 + 1;
          Atomics.store(header, 0, asked);
          Atomics.notify(header, 0);
          while (Atomics.load(header, 0) === asked) Atomics.wait(header, 0, asked, 10000);
          into.set(payload.subarray(0, header[1]));
          if (header[1] !== into.length || into[4096] !== (4096 & 255)) throw new Error('bad answer');
          if (s > 0) out.push(performance.now() - started); // the first transfer is a warm-up
        }
        Atomics.store(header, 0, -1);
        Atomics.notify(header, 0);
        self.postMessage(out);
        return;
      }
      const encoder = new TextEncoder();
      const decoder = new TextDecoder();
      const text = JSON.stringify(message);
      let seq = 0;
      const busy = (us) => {
        const end = performance.now() + us / 1000;
        while (performance.now() < end);
      };
      const roundTrip = () => {
        if (gapUs > 0) busy(gapUs); // stands for the caller's own work between calls
        seq += 1;
        const bytes = encoder.encode(text); // encodeInto refuses SAB views: encode, then copy
        payload.set(bytes);
        header[1] = bytes.length;
        const asked = seq * 8 + 1;
        Atomics.store(header, 0, asked);
        Atomics.notify(header, 0);
        if (workerSpinUs > 0) {
          const end = performance.now() + workerSpinUs / 1000;
          while (Atomics.load(header, 0) === asked && performance.now() < end);
        }
        while (Atomics.load(header, 0) === asked) {
          Atomics.wait(header, 0, asked, 10000);
        }
        const answer = JSON.parse(decoder.decode(copyOut(payload, header[1])));
        if (answer.n !== message.n) throw new Error('bad answer');
      };
      for (let i = 0; i < warmup; i++) roundTrip();
      for (const end = performance.now() + warmupMs; warmup > 0 && performance.now() < end; ) roundTrip();
      const out = [];
      for (let s = 0; s < samples; s++) {
        const started = performance.now();
        for (let i = 0; i < perSample; i++) roundTrip();
        out.push((performance.now() - started) / perSample);
      }
      Atomics.store(header, 0, -1);
      Atomics.notify(header, 0);
      self.postMessage(out);
    };
  };
  const workerSource = workerMain.toString().replace('COPY_OUT', copyOut.toString());
  const url = URL.createObjectURL(new Blob([`(${workerSource})()`], { type: 'text/javascript' }));
  const result = { sab: null, postMessage: null, bulk: null, bulkBack: null, crossOriginIsolated: self.crossOriginIsolated };
  const withTimeout = (promise, ms, what) => {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`raw floor: timed out after ${ms} ms: ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  try {
    const runSab = async (mode, bytes, options) => {
      const worker = new Worker(url);
      const sab = new SharedArrayBuffer(32 + bytes);
      const header = new Int32Array(sab, 0, 8);
      const payload = new Uint8Array(sab, 32);
      const encoder = new TextEncoder();
      const decoder = new TextDecoder();
      let back = null; // bulkback: the page's bytes, made once
      const answer = (state) => {
        if (mode === 'bulkback') {
          if (back === null) {
            back = new Uint8Array(bytes);
            for (let i = 0; i < back.length; i += 4096) back[i] = i & 255;
          }
          payload.set(back);
          header[1] = back.length;
          return;
        }
        if (mode === 'bulk') {
          const copy = copyOut(payload, header[1]);
          header[1] = copy.length;
          return;
        }
        const request = JSON.parse(decoder.decode(copyOut(payload, header[1])));
        const encoded = encoder.encode(JSON.stringify(request));
        payload.set(encoded);
        header[1] = encoded.length;
      };
      const serve = async () => {
        let handled = 0;
        for (;;) {
          const state = Atomics.load(header, 0);
          if (state === -1) return;
          if (state % 8 === 1 && state !== handled) {
            handled = state;
            answer(state);
            Atomics.store(header, 0, state + 3);
            Atomics.notify(header, 0);
            continue;
          }
          if (pageSpinUs > 0 && state % 8 === 4) {
            // poll a little before sleeping: the next request of a loop arrives soon
            const end = performance.now() + pageSpinUs / 1000;
            while (Atomics.load(header, 0) === state && performance.now() < end);
            if (Atomics.load(header, 0) !== state) continue;
          }
          const waited = Atomics.waitAsync(header, 0, state, 10000);
          if (waited.async) await waited.value;
        }
      };
      const done = new Promise((resolve, reject) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.onerror = (event) => reject(new Error(`raw floor worker: ${event.message}`));
      });
      const serving = serve();
      worker.postMessage({ mode, sab, ...options });
      try {
        return await withTimeout(done, 120000, `SAB floor (${mode})`);
      } finally {
        Atomics.store(header, 0, -1);
        Atomics.notify(header, 0);
        await serving;
        worker.terminate();
      }
    };
    if (sabFloor && self.crossOriginIsolated) {
      result.sab = await runSab('sync', 64 * 1024, { samples, perSample, warmup, warmupMs, message, gapUs, workerSpinUs });
      if (bulkBytes > 0) {
        result.bulk = await runSab('bulk', bulkBytes, { samples: bulkSamples });
        result.bulkBack = await runSab('bulkback', bulkBytes, { samples: bulkSamples });
      }
    }
    if (postMessageFloor) {
      const worker = new Worker(url);
      let next = null;
      worker.onmessage = (event) => next(event.data);
      const reply = () => new Promise((resolve) => { next = resolve; });
      let ready = reply();
      worker.postMessage({ mode: 'echo' });
      await withTimeout(ready, 30000, 'echo worker start');
      const roundTrip = async () => {
        const answer = reply();
        worker.postMessage(message);
        const back = await answer;
        if (back.n !== message.n) throw new Error('bad answer');
      };
      const measure = async () => {
        for (let i = 0; i < warmup; i++) await roundTrip();
        for (const end = performance.now() + warmupMs; warmup > 0 && performance.now() < end; ) await roundTrip();
        const out = [];
        for (let s = 0; s < samples; s++) {
          const started = performance.now();
          for (let i = 0; i < perSample; i++) await roundTrip();
          out.push((performance.now() - started) / perSample);
        }
        return out;
      };
      result.postMessage = await withTimeout(measure(), 120000, 'postMessage floor');
      worker.terminate();
    }
  } finally {
    URL.revokeObjectURL(url);
  }
  return result;
}
