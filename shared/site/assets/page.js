// page.js: engagement beacons and the native share button. Beacons are best effort: the
// endpoint may be missing or blocked, and the page must behave the same either way.
(function () {
  'use strict';
  var main = document.querySelector('main[data-credential]');
  if (!main) return;
  var id = main.getAttribute('data-credential');

  function send(event) {
    var body = JSON.stringify({ credentialId: id, event: event });
    try {
      if (navigator.sendBeacon && navigator.sendBeacon('/e', new Blob([body], { type: 'application/json' }))) return;
    } catch (e) { /* some browsers refuse non-form beacon types: fall through */ }
    try {
      fetch('/e', { method: 'POST', keepalive: true, headers: { 'Content-Type': 'application/json' }, body: body })
        .catch(function () {});
    } catch (e) { /* no fetch: no beacon */ }
  }

  send('view');
  document.addEventListener('click', function (e) {
    var el = e.target && e.target.closest ? e.target.closest('[data-event]') : null;
    if (el) send(el.getAttribute('data-event'));
  });

  var share = document.getElementById('share-native');
  if (share && navigator.share) {
    share.hidden = false;
    share.addEventListener('click', function () {
      navigator.share({ title: document.title, url: main.getAttribute('data-credential-url') }).catch(function () {});
    });
  }
})();
