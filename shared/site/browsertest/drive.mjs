// drive.mjs: opens Credence's public pages in headless Chromium and reports what a visitor's
// browser actually sees, as one JSON object on stdout. It judges nothing: the Go test
// (browser_test.go) starts the server, decides what is expected and asserts on this report.
//
//   node drive.mjs CONFIG.json
//
// CONFIG: {chromium, base, valid: {url, jwtPath}, revoked: {url, jwt}, tamperedJWT,
//          screenshotDir}   (full-page PNGs of the valid and revoked pages are written there)
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const origin = new URL(cfg.base).origin;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

// Playwright gives every launch a fresh temporary profile (its own --user-data-dir), so no
// state carries over between runs. The flags keep Chromium from calling home: the test must
// not depend on, or talk to, anything but the local server.
const browser = await chromium.launch({
  executablePath: cfg.chromium,
  headless: true,
  timeout: 60_000,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});

const report = { browserVersion: browser.version(), pages: {}, offsite: [] };

async function newPage(viewport) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, locale: 'en-US' });
  // `make test` runs every package at once on few cores: generous limits, so only a real hang fails.
  context.setDefaultTimeout(60_000);
  context.setDefaultNavigationTimeout(60_000);
  // Anything not served by the local server is refused and recorded: a page that needs a third
  // party to render is a finding, and the test must never reach the internet.
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('data:') || new URL(u).origin === origin) return route.fallback();
    report.offsite.push(u);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  const seen = { console: [], pageErrors: [], csp: [] };
  page.on('console', (m) => { if (m.type() === 'error') seen.console.push(m.text()); });
  page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
  // Init scripts are injected by the browser itself, outside the page's CSP, so this listener
  // and axe-core run even though the page allows first-party scripts only.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
    });
  });
  await page.addInitScript({ content: axeSource });
  return { context, page, seen };
}

async function axe(page) {
  const res = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    resultTypes: ['violations'],
  }));
  return {
    passes: res.passes.length,
    violations: res.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ') + (n.failureSummary ? ': ' + n.failureSummary.replace(/\s+/g, ' ') : '')),
    })),
  };
}

// credentialPage reads the DOM contract of a credential page once the in-browser check is done.
async function credentialPage(page) {
  await page.waitForFunction(
    () => document.querySelector('#browser-check')?.getAttribute('data-result') !== 'pending',
    null, { timeout: 60_000 },
  ).catch(() => {});
  return page.evaluate(() => {
    const attr = (sel, name) => document.querySelector(sel)?.getAttribute(name) ?? null;
    const text = (sel) => document.querySelector(sel)?.textContent.replace(/\s+/g, ' ').trim() ?? null;
    const svg = document.querySelector('figure#qr svg');
    const box = svg ? svg.getBoundingClientRect() : null;
    const links = {};
    for (const id of ['linkedin-add', 'linkedin-share', 'download-png', 'download-svg', 'download-json', 'download-jwt', 'wallet']) {
      const a = document.querySelector('a#' + id);
      links[id] = a ? a.href : null;
    }
    const badge = document.querySelector('.badge img');
    return {
      title: document.title,
      lang: document.documentElement.lang,
      credential: attr('main#content', 'data-credential'),
      status: attr('section#status', 'data-status'),
      statusText: text('section#status'),
      qr: svg ? {
        width: box.width, height: box.height,
        shapes: svg.querySelectorAll('path, rect, polygon, use').length,
        pathLength: [...svg.querySelectorAll('path')].reduce((n, p) => n + (p.getAttribute('d') || '').length, 0),
      } : null,
      browserCheck: attr('section#browser-check', 'data-result'),
      browserCheckText: text('section#browser-check p'),
      links,
      checks: [...document.querySelectorAll('section#checks li[data-check]')].map((li) => ({
        name: li.getAttribute('data-check'), ok: li.getAttribute('data-ok'),
      })),
      badgeLoaded: badge ? badge.complete && badge.naturalWidth > 0 : false,
      csp: window.__csp,
    };
  });
}

// phoneWidth reports how wide the document is at the phone viewport and, when it is wider, the
// innermost elements that stick out, so a failure names the culprit.
async function phoneWidth(page) {
  await page.setViewportSize(PHONE);
  return page.evaluate((vw) => {
    // Text overflows its element's box without widening it, so text nodes are measured too.
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n && out.length < 5; n = walker.nextNode()) {
      let right;
      if (n.nodeType === Node.TEXT_NODE) {
        if (!n.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        right = range.getBoundingClientRect().right;
      } else {
        if (n.children.length || n.textContent.trim()) continue;
        right = n.getBoundingClientRect().right;
      }
      if (right > vw + 1) {
        const el = n.nodeType === Node.TEXT_NODE ? n.parentElement : n;
        out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().replace(/\s+/g, '.') : '') +
          ' (right edge ' + Math.round(right) + ' px): ' + n.textContent.trim().slice(0, 80));
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, overflowing: out };
  }, PHONE.width);
}

async function finish(name, { page, context, seen }, data) {
  report.pages[name] = { ...data, console: seen.console, pageErrors: seen.pageErrors };
  await context.close();
}

async function shoot(page, file) {
  const buf = await page.screenshot({ fullPage: true, type: 'png', animations: 'disabled' });
  writeFileSync(path.join(cfg.screenshotDir, file), buf);
  return file;
}

async function run(name, fn) {
  try {
    await fn();
  } catch (e) {
    report.pages[name] = { ...(report.pages[name] || {}), error: String(e && e.stack ? e.stack : e) };
  }
}

await run('valid', async () => {
  const p = await newPage(DESKTOP);
  const resp = await p.page.goto(cfg.valid.url, { waitUntil: 'load' });
  const data = await credentialPage(p.page);
  data.httpStatus = resp.status();
  data.axe = await axe(p.page);
  data.screenshot = await shoot(p.page, 'credential-valid-desktop.png');
  data.phone = await phoneWidth(p.page);
  data.axePhone = await axe(p.page);
  data.screenshotPhone = await shoot(p.page, 'credential-valid-phone.png');
  await finish('valid', p, data);
});

await run('tampered', async () => {
  const p = await newPage(DESKTOP);
  let served = 0;
  await p.page.route('**' + cfg.valid.jwtPath, (route) => {
    served++;
    return route.fulfill({ status: 200, contentType: 'application/jwt', body: cfg.tamperedJWT });
  });
  await p.page.goto(cfg.valid.url, { waitUntil: 'load' });
  const data = await credentialPage(p.page);
  data.tamperedServed = served;
  await finish('tampered', p, data);
});

await run('revoked', async () => {
  const p = await newPage(DESKTOP);
  const resp = await p.page.goto(cfg.revoked.url, { waitUntil: 'load' });
  const data = await credentialPage(p.page);
  data.httpStatus = resp.status();
  data.axe = await axe(p.page);
  data.screenshot = await shoot(p.page, 'credential-revoked-desktop.png');
  data.phone = await phoneWidth(p.page);
  data.screenshotPhone = await shoot(p.page, 'credential-revoked-phone.png');
  await finish('revoked', p, data);
});

await run('verify', async () => {
  const p = await newPage(DESKTOP);
  const resp = await p.page.goto(origin + '/verify', { waitUntil: 'load' });
  const data = { httpStatus: resp.status(), lang: await p.page.evaluate(() => document.documentElement.lang) };
  data.axe = await axe(p.page);
  // A visitor pastes the revoked credential's JWT and submits the form, as on any browser.
  await p.page.fill('#credential', cfg.revoked.jwt);
  await Promise.all([p.page.waitForNavigation({ waitUntil: 'load' }), p.page.click('button[type=submit]')]);
  data.verdict = (await p.page.textContent('#result-heading'))?.trim() ?? null;
  data.verdictClass = await p.page.getAttribute('.verdict', 'class');
  data.axeResult = await axe(p.page);
  data.csp = await p.page.evaluate(() => window.__csp);
  await finish('verify', p, data);
});

await browser.close();
process.stdout.write(JSON.stringify(report) + '\n');
