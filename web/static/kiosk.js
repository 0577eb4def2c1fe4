// Kiosk mode: the branch tablet follows the queue and returns to its start by itself. A
// reload rather than a timed <meta> refresh, which screen readers announce and axe refuses on
// pages people use; the kiosk is a city-managed device that always runs script.
(() => {
  'use strict';
  const root = document.querySelector('.kiosk[data-reload-s]');
  if (!root) return;
  const seconds = Number(root.dataset.reloadS) || 60;
  const to = root.dataset.reloadTo;
  setTimeout(() => {
    if (to) location.replace(to);
    else location.reload();
  }, seconds * 1000);
})();
