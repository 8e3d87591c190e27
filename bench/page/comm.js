// Jupyter comm round trip in the same kernel, the way ipywidgets/anywidget talk: the page opens a
// comm through the app's kernel connection (window.__lbTest.kernels, set by the test harness), the
// kernel's comm target (bench/kernel_bench.py: setup_comm) sends every message's data back.
// Run with page.evaluate(source, options). Returns per-round-trip times in milliseconds, one per
// sample (the mean of perSample sequential round trips).
async ({ kernelId, target, samples, perSample, warmup, warmupMs = 0, message }) => {
  const kernel = window.__lbTest.kernels[kernelId];
  const comm = kernel.createComm(target);
  let next = null;
  comm.onMsg = (msg) => next(msg.content.data);
  comm.open({}); // comm_open has no reply; the kernel handles it before the first comm_msg
  const withTimeout = (promise, ms) => {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`comm: no answer after ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  const roundTrip = async () => {
    const answer = new Promise((resolve) => { next = resolve; });
    comm.send(message);
    const back = await withTimeout(answer, 30000);
    if (back.n !== message.n) throw new Error('bad answer');
  };
  for (let i = 0; i < warmup; i++) await roundTrip();
  for (const end = performance.now() + warmupMs; warmup > 0 && performance.now() < end; ) await roundTrip();
  const out = [];
  for (let s = 0; s < samples; s++) {
    const started = performance.now();
    for (let i = 0; i < perSample; i++) await roundTrip();
    out.push((performance.now() - started) / perSample);
  }
  comm.close();
  return out;
}
