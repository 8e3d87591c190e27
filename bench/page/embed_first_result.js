// Kernel start through embed() (issue 9), run in a host page next to the site whose module
// script set window.lbEmbed (tests/browser/embed_helpers.py HOST_HTML). Times, in milliseconds:
// navigation of the host page to the first execute result (comparable to the repl's navigation
// to first output), embed() call to that result, and the boot stages reached inside the frame.
async ({ marker, timeoutMs }) => {
  const called = performance.now();
  const kernel = await window.lbEmbed.embed({ timeoutMs });
  const ready = performance.now();
  const result = await kernel.execute(`print(${JSON.stringify(marker)})`, { timeoutMs });
  const done = performance.now();
  const text = result.outputs.map((o) => (o.output_type === 'stream' ? o.text : '')).join('');
  const stages = kernel.bootTimesMs;
  kernel.dispose();
  return {
    ok: result.status === 'ok' && text.includes(marker),
    navigationToResultMs: done,
    callToResultMs: done - called,
    callToReadyMs: ready - called,
    callToAppMs: stages.app ?? null,
    callToKernelMs: stages.kernel ?? null,
    transport: kernel.transport,
  };
}
