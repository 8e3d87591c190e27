// The seed design's transport (jupyter-jchannel): a browser WebSocket to a local aiohttp server.
// Run in the page with page.evaluate(source, options). The server (bench/wsserver.py) echoes text
// frames; binary frames are echoed on /echo and answered with their size (as text) on /ack.
// Returns per-round-trip times in milliseconds: small JSON (one per sample, the mean of perSample
// round trips), and bulk one-way (page -> server, small ack) and round trip (echoed), one per
// transfer.
async ({ baseUrl, samples, perSample, warmup, warmupMs = 0, message, bulkBytes, bulkSamples }) => {
  const withTimeout = (promise, ms, what) => {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`websocket: timed out after ${ms} ms: ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  const open = async (path) => {
    const ws = new WebSocket(baseUrl + path);
    ws.binaryType = 'arraybuffer';
    await withTimeout(new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`cannot open ${baseUrl + path}`));
    }), 30000, 'open');
    let next = null;
    ws.onmessage = (event) => next(event.data);
    ws.onerror = () => next(new Error('websocket error'));
    const request = (data) => {
      const answer = new Promise((resolve) => { next = resolve; });
      ws.send(data);
      return withTimeout(answer, 120000, 'answer');
    };
    return { ws, request };
  };
  const result = { small: [], bulkOneWay: [], bulkRoundTrip: [] };
  const echo = await open('/echo');
  const smallTrip = async () => {
    const back = JSON.parse(await echo.request(JSON.stringify(message)));
    if (back.n !== message.n) throw new Error('bad answer');
  };
  for (let i = 0; i < warmup; i++) await smallTrip();
  for (const end = performance.now() + warmupMs; warmup > 0 && performance.now() < end; ) await smallTrip();
  for (let s = 0; s < samples; s++) {
    const started = performance.now();
    for (let i = 0; i < perSample; i++) await smallTrip();
    result.small.push((performance.now() - started) / perSample);
  }
  const data = new Uint8Array(bulkBytes);
  for (let offset = 0; offset < bulkBytes; offset += 65536) {
    crypto.getRandomValues(data.subarray(offset, Math.min(offset + 65536, bulkBytes)));
  }
  const ack = await open('/ack');
  for (let s = 0; s <= bulkSamples; s++) {
    const started = performance.now();
    const size = Number(await ack.request(data));
    const elapsed = performance.now() - started;
    if (size !== bulkBytes) throw new Error(`server got ${size} bytes`);
    if (s > 0) result.bulkOneWay.push(elapsed); // the first transfer is a warm-up
  }
  for (let s = 0; s <= bulkSamples; s++) {
    const started = performance.now();
    const back = await echo.request(data);
    const elapsed = performance.now() - started;
    if (back.byteLength !== bulkBytes) throw new Error(`echo returned ${back.byteLength} bytes`);
    if (s > 0) result.bulkRoundTrip.push(elapsed);
  }
  echo.ws.close();
  ack.ws.close();
  return result;
}
