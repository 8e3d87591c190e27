// Init script for the kernel-start measurement: records performance.now() (milliseconds since
// navigation start) in window.__benchFirstOutputMs when the first cell output containing the
// marker text appears. Installed with context.add_init_script before navigating.
(() => {
  const marker = 'litebridge-bench-first-output';
  const check = (observer) => {
    for (const node of document.querySelectorAll('.jp-OutputArea-output')) {
      if (node.textContent.includes(marker)) {
        window.__benchFirstOutputMs = performance.now();
        observer.disconnect();
        return;
      }
    }
  };
  const start = () => {
    const observer = new MutationObserver(() => check(observer));
    observer.observe(document.documentElement, { childList: true, subtree: true, characterData: true });
  };
  if (document.documentElement) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
