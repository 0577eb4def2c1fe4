// Kiosk mode and the wall view: the branch tablet follows the queue and returns to its start by
// itself, the department's screen follows the day's appointments. A reload rather than a timed
// <meta> refresh, which screen readers announce and axe refuses on pages people use; both are
// city-managed screens that always run script.
(() => {
  'use strict';
  const root = document.querySelector('.kiosk[data-reload-s], .wall[data-reload-s]');
  if (!root) return;
  const seconds = Number(root.dataset.reloadS) || 60;
  const to = root.dataset.reloadTo;
  setTimeout(() => {
    if (to) location.replace(to);
    else location.reload();
  }, seconds * 1000);
})();
