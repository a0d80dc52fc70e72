// check.js: verifies this page's VC-JWT in the browser, independently of the server: it
// fetches the token and the issuer's did:web document, checks the RS256 signature with
// WebCrypto, and checks that the token is the credential this page shows.
(function () {
  'use strict';
  var box = document.getElementById('browser-check');
  if (!box) return;
  var out = box.querySelector('p') || box;

  function done(result, text) {
    box.setAttribute('data-result', result);
    out.textContent = text;
  }
  function fail(why) {
    done('fail', 'The signature could not be checked in your browser: ' + why);
  }

  function b64urlBytes(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s), a = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i);
    return a;
  }
  function b64urlJSON(s) {
    return JSON.parse(new TextDecoder().decode(b64urlBytes(s)));
  }

  // didWebURL maps did:web:host%3Aport:issuers:ID to {scheme}//host:port/issuers/ID/did.json.
  // The scheme follows the page, so the local server (plain http) works too.
  function didWebURL(did) {
    if (did.indexOf('did:web:') !== 0) throw new Error('the signing key ' + did + ' is not a did:web key');
    var parts = did.slice('did:web:'.length).split(':').map(decodeURIComponent);
    var host = parts.shift();
    var path = parts.length ? '/' + parts.join('/') + '/did.json' : '/.well-known/did.json';
    return (location.protocol === 'http:' ? 'http:' : 'https:') + '//' + host + path;
  }

  function getText(url) {
    return fetch(url, { credentials: 'omit' }).then(function (r) {
      if (!r.ok) throw new Error(url + ' answered ' + r.status);
      return r.text();
    });
  }

  if (!window.fetch || !window.crypto || !crypto.subtle || !window.TextDecoder) {
    fail('this browser has no WebCrypto. The server-side checks below still apply.');
    return;
  }
  out.textContent = 'Checking the signature in your browser…';

  var want = box.getAttribute('data-credential-id');
  var parts, header, payload, did;
  getText(box.getAttribute('data-jwt')).then(function (jwt) {
    parts = jwt.trim().split('.');
    if (parts.length !== 3) throw new Error('the token is not a compact JWS');
    header = b64urlJSON(parts[0]);
    payload = b64urlJSON(parts[1]);
    if (header.alg !== 'RS256') throw new Error('unexpected algorithm ' + header.alg);
    if (!header.kid) throw new Error('the token names no key');
    var vc = payload.vc || payload;
    if (vc.id !== want) throw new Error('the token is credential ' + vc.id + ', not this page\'s ' + want);
    did = header.kid.split('#')[0];
    var issuer = vc.issuer && vc.issuer.id ? vc.issuer.id : vc.issuer;
    if (issuer !== did) throw new Error('the token is signed by ' + did + ' but names ' + issuer + ' as issuer');
    return getText(didWebURL(did));
  }).then(function (text) {
    var doc = JSON.parse(text);
    if (doc.id !== did) throw new Error('the DID document is for ' + doc.id + ', not ' + did);
    var vm = (doc.verificationMethod || []).filter(function (m) {
      return m.id === header.kid || (m.id && m.id.charAt(0) === '#' && did + m.id === header.kid);
    })[0];
    if (!vm || !vm.publicKeyJwk) throw new Error('the issuer\'s DID document does not list the key ' + header.kid);
    var jwk = vm.publicKeyJwk;
    if (jwk.kty !== 'RSA') throw new Error('the key is ' + jwk.kty + ', not RSA');
    return crypto.subtle.importKey('jwk', { kty: 'RSA', n: jwk.n, e: jwk.e, alg: 'RS256', ext: true },
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
  }).then(function (key) {
    return crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, b64urlBytes(parts[2]),
      new TextEncoder().encode(parts[0] + '.' + parts[1]));
  }).then(function (ok) {
    if (ok) done('ok', 'Signature checked in your browser');
    else fail('the signature does not match the issuer\'s key.');
  }).catch(function (e) {
    fail(e && e.message ? e.message : String(e));
  });
})();
