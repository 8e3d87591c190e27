// Page -> Python: k.call("bench.echo", message) on the kernel's bridge (window.litebridge), timed
// in the page. Run with page.evaluate(source, options). Returns per-call times in milliseconds,
// one per sample (the mean of perSample sequential calls).
async ({ kernelId, samples, perSample, warmup, warmupMs = 0, message }) => {
  const k = await window.litebridge.kernel(kernelId, { timeoutMs: 30000 });
  const call = async () => {
    const back = await k.call('bench.echo', message);
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
  return { samples: out, transport: k.transport };
}
