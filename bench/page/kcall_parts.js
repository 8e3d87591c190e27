// The page's pieces of one page -> Python k.call("bench.echo", message), each timed alone in a
// loop on the kernel's bridge (window.litebridge): run in the page with page.evaluate(source,
// options). Times per call in milliseconds, one value per sample (the mean of the operations
// of a sample: perSample * fastFactor for the CPU-only pieces, perSample for round trips):
//  - send: KernelBridge.invoke up to the Worker (name check, encode, envelope, JSON.stringify,
//    pending entry, deadline, the SAB re-entry check), with the Worker's postMessage replaced by
//    a no-op that keeps the frame: the bridge's CPU only, no structured clone;
//  - settle: the bridge's handling of the answer frame (onFrame: JSON.parse, pending
//    lookup, plain-JSON fast path, resolve) and the promise chain up to the caller's await;
//  - port: the request frame (as send produced it) posted on the kernel's Worker and its answer
//    awaited through a temporary listener in place of the bridge's: the round trip through the
//    kernel's worker and Python with no bridge code on the page (compare raw.postmessage, an
//    empty worker);
//  - full: await k.call(...) itself, in this same script.
// Returns those lists, and `frame`: the request JSON the kernel's side of the profile serves.
// With portOnly, only the port loop runs (on the frame given as `frame`) and only `port` is
// returned: the runner measures it while the kernel answers with a minimal receiver.
async ({ kernelId, samples, perSample, warmup, message, fastFactor, portOnly = false, frame: givenFrame = null }) => {
  const k = await window.litebridge.kernel(kernelId, { timeoutMs: 30000 });
  for (const name of ['invoke', 'onFrame', 'onWorkerMessage']) {
    if (typeof k[name] !== 'function') throw new Error(`KernelBridge.${name} is missing`);
  }
  const worker = k.worker;
  if (worker == null) throw new Error('the kernel bridge has no Worker');
  const own = k.onWorkerMessage;
  const MARK = 'litebridge.frame';
  const method = 'bench.echo';
  const fast = perSample * fastFactor;
  const check = (back) => {
    if (back.n !== message.n) throw new Error('bad answer');
  };

  // send + settle: the Worker's postMessage keeps the frames instead of sending them; every
  // captured request is then answered with the frame Python would send (same id).
  const captured = [];
  const answerOf = (json) => {
    const id = JSON.parse(json).id;
    return { lb: MARK, json: JSON.stringify({ v: 2, id, kind: 'litebridge.result', value: message }), buffers: [] };
  };
  const sendSettle = async (ops) => {
    captured.length = 0;
    worker.postMessage = (frame) => { captured.push(frame); };
    let sendMs;
    let calls;
    try {
      const started = performance.now();
      calls = [];
      for (let i = 0; i < ops; i++) calls.push(k.call(method, message));
      sendMs = (performance.now() - started) / ops;
    } finally {
      delete worker.postMessage; // the prototype's postMessage again
    }
    if (captured.length !== ops) throw new Error(`captured ${captured.length} frames, expected ${ops}`);
    const answers = captured.map((frame) => answerOf(frame.json));
    const started = performance.now();
    for (const answer of answers) k.onFrame(answer);
    const backs = await Promise.all(calls);
    const settleMs = (performance.now() - started) / ops;
    backs.forEach(check);
    return { sendMs, settleMs, frame: captured[0].json };
  };

  // port: the request straight on the kernel's Worker, the answer to a temporary listener;
  // any other message (a handle release...) goes on to the bridge's own listener
  const isAnswer = (data) =>
    data?.lb === MARK && typeof data.json === 'string' &&
    (data.json.includes('"litebridge.result"') || data.json.includes('"litebridge.error"'));
  const portLoop = async (frameJson, ops) => {
    let next = null;
    const listener = (event) => (isAnswer(event.data) ? next(event.data) : own(event));
    worker.removeEventListener('message', own);
    worker.addEventListener('message', listener);
    try {
      const started = performance.now();
      for (let i = 0; i < ops; i++) {
        const answer = new Promise((resolve) => { next = resolve; });
        worker.postMessage({ lb: MARK, json: frameJson, buffers: [] }, []);
        const data = await answer;
        if (!data.json.includes('"litebridge.result"')) {
          throw new Error(`the kernel answered with an error: ${data.json.slice(0, 300)}`);
        }
      }
      return (performance.now() - started) / ops;
    } finally {
      worker.removeEventListener('message', listener);
      worker.addEventListener('message', own);
    }
  };

  const fullLoop = async (ops) => {
    const started = performance.now();
    for (let i = 0; i < ops; i++) check(await k.call(method, message));
    return (performance.now() - started) / ops;
  };

  if (portOnly) {
    await portLoop(givenFrame, Math.max(1, warmup));
    const port = [];
    for (let s = 0; s < samples; s++) port.push(await portLoop(givenFrame, perSample));
    return { port };
  }
  const first = await sendSettle(Math.max(1, warmup));
  const frame = first.frame;
  await portLoop(frame, Math.max(1, warmup));
  await fullLoop(Math.max(1, warmup));
  const out = { send: [], settle: [], port: [], full: [], frame, transport: k.transport };
  for (let s = 0; s < samples; s++) {
    const { sendMs, settleMs } = await sendSettle(fast);
    out.send.push(sendMs);
    out.settle.push(settleMs);
    out.port.push(await portLoop(frame, perSample));
    out.full.push(await fullLoop(perSample));
  }
  return out;
}
