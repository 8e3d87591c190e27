// Why frames travel on the kernel Worker's own channel (docs/protocol.md section 1): the page
// echoes a small frame through an empty worker (from a blob), page -> worker -> page, sending
// each way either on the Worker's own channel (worker.postMessage / self.postMessage, "w") or on
// a MessagePort pair transferred to the worker ("p"). Modes "ww", "pp", "wp", "pw" (page -> worker
// first), measured in turn, `rounds` times, `n` round trips each. Returns, per mode, the mean
// round trip of each round in microseconds. Run in the page with page.evaluate(source, options).
async ({ n, rounds }) => {
  const source = `
    let port = null;
    let toPage = null;
    self.onmessage = (event) => {
      const data = event.data;
      if (data && data.port) {
        port = data.port;
        port.onmessage = (m) => toPage(m.data);
        self.postMessage('ready');
        return;
      }
      if (data && data.reply) {
        toPage = data.reply === 'port' ? (d) => port.postMessage(d) : (d) => self.postMessage(d);
        self.postMessage('ok');
        return;
      }
      toPage(data);
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url);
  const frame = {
    lb: 'litebridge.frame',
    json: '{"v":2,"id":1,"kind":"litebridge.call","method":"bench_echo","args":[{"op":"echo","n":42}],"sync":false}',
    buffers: []
  };
  const channel = new MessageChannel();
  try {
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage({ port: channel.port2 }, [channel.port2]);
    });
    const out = { ww: [], pp: [], wp: [], pw: [] };
    for (let round = 0; round < rounds; round++) {
      for (const mode of Object.keys(out)) {
        await new Promise((resolve) => {
          worker.onmessage = resolve;
          worker.postMessage({ reply: mode[1] === 'p' ? 'port' : 'worker' });
        });
        let next = null;
        worker.onmessage = () => next();
        channel.port1.onmessage = () => next();
        const send = mode[0] === 'p' ? (m) => channel.port1.postMessage(m) : (m) => worker.postMessage(m);
        const started = performance.now();
        for (let i = 0; i < n; i++) {
          await new Promise((resolve) => {
            next = resolve;
            send(frame);
          });
        }
        out[mode].push(((performance.now() - started) * 1000) / n);
      }
    }
    return out;
  } finally {
    worker.terminate();
    channel.port1.close();
    URL.revokeObjectURL(url);
  }
}
