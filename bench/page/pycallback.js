// Page -> Python -> page: call a Python function the page got from `window` (window.lbBenchEcho,
// set by window_setup() in the kernel) and await its result, timed in the page. Run with
// page.evaluate(source, options). Returns per-call times in milliseconds, one per sample.
async ({ samples, perSample, warmup, warmupMs = 0, message }) => {
  const echo = window.lbBenchEcho;
  const call = async () => {
    const back = await echo(message);
    if (back.n !== message.n) throw new Error('bad answer');
  };
  for (let i = 0; i < warmup; i++) await call();
  for (const end = performance.now() + warmupMs; warmup > 0 && performance.now() < end; ) await call();
  const out = [];
  for (let s = 0; s < samples; s++) {
    const started = performance.now();
    for (let i = 0; i < perSample; i++) await call();
    out.push((performance.now() - started) / perSample);
  }
  return { samples: out };
}
