#!/usr/bin/env node
// Verifies one Open Badges 3.0 credential issued by Credence with verifiers that share no code
// with Credence: Digital Bazaar's VC stack (@digitalbazaar/vc, data-integrity,
// eddsa-rdfc-2022-cryptosuite, vc-bitstring-status-list; jsonld.js in safe mode) for the
// embedded proof, jose for the VC-JWT, and ajv for the official OB 3.0 JSON schema.
//
//   node verify.mjs [--list-contexts] FILE
//
// FILE holds either the credential as JSON (an embedded eddsa-rdfc-2022 DataIntegrityProof) or a
// compact VC-JWT, or a badge image with one baked in (PNG iTXt chunk `openbadgecredential`, SVG
// `openbadges:credential` element), unbaked here by code of its own per the OB 3.0 baking spec. One JSON result goes to stdout:
//   {"format": "ldp"|"jwt", "verified": bool, "status": "valid"|"revoked"|"suspended"|"invalid",
//    "errors": [...], "checks": [{"name", "ok", "message"}]}
// Exit status: 0 verified and neither revoked nor suspended, 1 anything else, 2 usage error.
// --list-contexts prints the embedded JSON-LD contexts this verifier serves ({url: sha256}) and
// exits, so the Go test can prove the map below matches Credence's own.
//
// Nothing is fetched from the network at large. The document loader serves:
//   - JSON-LD contexts: the repository's embedded copies (shared/standards/jsonld/contexts),
//     mapped by URL exactly as shared/standards/jsonld reads them, loaded from disk here;
//   - did:web documents, fetched over HTTP from loopback hosts only (the local Credence server);
//   - the status list credentials the credential itself names, again from loopback hosts only.
// Anything else is refused.

import {createHash} from 'node:crypto';
import {inflateSync} from 'node:zlib';
import {readFile, readdir} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';
import path from 'node:path';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import jsonld from 'jsonld';
import * as jose from 'jose';
import Ajv2019 from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHARED = path.resolve(HERE, '..', '..');
const JSONLD_PKG = path.join(SHARED, 'standards', 'jsonld');
const SCHEMA_FILE = path.join(SHARED, 'standards', 'schema', 'schemas',
  'ob_v3p0_achievementcredential-jsonschema1.json');

const MAX_FETCH_BYTES = 4 << 20;
const FETCH_TIMEOUT_MS = 10_000;
// JWT registered claims: JWT-level metadata beside the credential's own properties in a VC-JWT
// payload, never part of the credential's data model (and not JSON-LD terms).
const JWT_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'];
const JWT_ALGS = ['RS256', 'ES256', 'EdDSA'];

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// JSON-LD contexts: the URL -> file map is Go source (var contextFiles in package jsonld), so it
// is read from there rather than copied, and cannot drift from what Credence signs with. The
// parser is strict: anything it does not understand in that map is an error, never a skip.

async function loadContextMap() {
  const names = (await readdir(JSONLD_PKG))
    .filter(n => n.endsWith('.go') && !n.endsWith('_test.go'));
  let src = '';
  for(const n of names) {
    src += await readFile(path.join(JSONLD_PKG, n), 'utf8') + '\n';
  }
  const consts = new Map();
  for(const m of src.matchAll(/^\s*([A-Za-z_]\w*)\s*=\s*"([^"\\]+)"/gm)) {
    consts.set(m[1], m[2]);
  }
  const block = /var\s+contextFiles\s*=\s*map\[string\]string\s*\{([\s\S]*?)\n\}/.exec(src);
  if(!block) {
    throw new Error(`cannot find "var contextFiles = map[string]string{" in ${JSONLD_PKG}`);
  }
  const map = new Map();
  for(let line of block[1].split('\n')) {
    line = line.trim();
    if(!line || line.startsWith('//')) {
      continue;
    }
    const m = /^(?:"([^"\\]+)"|([A-Za-z_]\w*))\s*:\s*"([^"\\/]+)",?\s*(?:\/\/.*)?$/.exec(line);
    if(!m) {
      throw new Error(`cannot read the contextFiles entry ${JSON.stringify(line)}`);
    }
    const url = m[1] ?? consts.get(m[2]);
    if(!url) {
      throw new Error(`contextFiles names the constant ${m[2]}, which is not a string constant`);
    }
    map.set(url, path.join(JSONLD_PKG, 'contexts', m[3]));
  }
  if(map.size === 0) {
    throw new Error('contextFiles is empty');
  }
  const docs = new Map();
  for(const [url, file] of map) {
    const raw = await readFile(file);
    docs.set(url, {raw, doc: JSON.parse(raw.toString('utf8'))});
  }
  return docs;
}

// ---------------------------------------------------------------------------------------------
// Loopback-only HTTP, for did:web documents and status lists served by the local Credence.

function isLoopbackHost(hostname) {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

async function fetchLoopbackJSON(url, accept) {
  const u = new URL(url);
  if(!(u.protocol === 'http:' || u.protocol === 'https:')) {
    throw new Error(`refusing to fetch ${url}: only http(s) URLs`);
  }
  if(!isLoopbackHost(u.hostname)) {
    throw new Error(`refusing to fetch ${url}: only loopback hosts are allowed`);
  }
  const res = await fetch(u, {
    headers: {accept}, redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS)
  });
  const body = await res.text();
  if(!res.ok) {
    throw new Error(`GET ${url}: HTTP ${res.status}`);
  }
  if(body.length > MAX_FETCH_BYTES) {
    throw new Error(`GET ${url}: response larger than ${MAX_FETCH_BYTES} bytes`);
  }
  try {
    return JSON.parse(body);
  } catch(e) {
    throw new Error(`GET ${url}: not JSON: ${e.message}`);
  }
}

// did:web method-specific id -> URL of the DID document (did:web spec, "Read (Resolve)"). The
// only hosts allowed are loopback ones, which the local server serves over plain HTTP.
function didWebURL(did) {
  const msid = did.slice('did:web:'.length);
  if(!msid || /[^A-Za-z0-9.\-_:%]/.test(msid)) {
    throw new Error(`malformed did:web DID ${JSON.stringify(did)}`);
  }
  const parts = msid.split(':').map(decodeURIComponent);
  if(parts.some(p => !p || p.includes('/'))) {
    throw new Error(`malformed did:web DID ${JSON.stringify(did)}`);
  }
  const host = parts.shift();
  const pathPart = parts.length ? parts.join('/') : '.well-known';
  const u = new URL(`http://${host}/${pathPart}/did.json`);
  if(!isLoopbackHost(u.hostname)) {
    throw new Error(`refusing to resolve ${did}: only loopback did:web hosts are allowed`);
  }
  return u.href;
}

// ---------------------------------------------------------------------------------------------

function makeDocumentLoader({contexts, statusLists}) {
  const didDocs = new Map();
  const resolveDID = did => {
    if(!didDocs.has(did)) {
      didDocs.set(did, (async () => {
        const doc = await fetchLoopbackJSON(didWebURL(did), 'application/did+json, application/json');
        if(doc?.id !== did) {
          throw new Error(`the DID document for ${did} has id ${JSON.stringify(doc?.id)}`);
        }
        return doc;
      })());
    }
    return didDocs.get(did);
  };
  const lists = new Map();

  const loader = async url => {
    const ctx = contexts.get(url);
    if(ctx) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(ctx.doc)};
    }
    if(url.startsWith('did:web:')) {
      const [did, fragment] = url.split('#', 2);
      const doc = await resolveDID(did);
      if(fragment === undefined) {
        return {contextUrl: null, documentUrl: url, document: structuredClone(doc)};
      }
      const vm = (doc.verificationMethod ?? []).find(m => m?.id === url || m?.id === `#${fragment}`);
      if(!vm) {
        throw new Error(`the DID document of ${did} has no verification method ${url}`);
      }
      // A dereferenced verification method carries its document's context (as did-io does).
      return {
        contextUrl: null, documentUrl: url,
        document: {'@context': structuredClone(doc['@context']), ...structuredClone(vm), id: url}
      };
    }
    if(statusLists.has(url)) {
      if(!lists.has(url)) {
        lists.set(url, fetchLoopbackJSON(url,
          'application/vc+ld+json, application/vc, application/ld+json;q=0.9, application/json;q=0.8'));
      }
      return {contextUrl: null, documentUrl: url, document: structuredClone(await lists.get(url))};
    }
    throw new Error(`document loader refuses ${url}: not an embedded context, a loopback did:web ` +
      'DID or a status list credential named by the credential');
  };
  loader.resolveDID = resolveDID;
  return loader;
}

function statusListURLs(credential) {
  const out = new Set();
  const entries = [].concat(credential?.credentialStatus ?? []);
  for(const e of entries) {
    if(typeof e?.statusListCredential === 'string') {
      out.add(e.statusListCredential);
    }
  }
  return out;
}

// Flattens the nested errors jsonld-signatures and the status checker produce (VerificationError
// .errors, Error.cause) into messages, so a failure names its real reason.
function messages(err, out = [], seen = new Set()) {
  if(!err || seen.has(err)) {
    return out;
  }
  seen.add(err);
  if(Array.isArray(err)) {
    err.forEach(e => messages(e, out, seen));
    return out;
  }
  if(Array.isArray(err.errors) && err.errors.length) {
    messages(err.errors, out, seen);
  } else {
    let m = err.message ?? String(err);
    if(err.details && typeof err.details === 'object') {
      const d = {...err.details};
      delete d.document;
      m += ` ${JSON.stringify(d)}`;
    }
    out.push(err.name && err.name !== 'Error' ? `${err.name}: ${m}` : m);
  }
  if(err.cause) {
    messages(err.cause, out, seen);
  }
  return out;
}

class Report {
  constructor(format) {
    this.format = format;
    this.checks = [];
    this.bits = {};
  }
  check(name, ok, message = '') {
    this.checks.push({name, ok, message});
    return ok;
  }
  fail(name, err) {
    return this.check(name, false, messages(err).join('; '));
  }
  result() {
    const verified = this.checks.length > 0 && this.checks.every(c => c.ok);
    let status = 'invalid';
    if(verified) {
      status = this.bits.revocation ? 'revoked' : this.bits.suspension ? 'suspended' : 'valid';
    }
    return {
      format: this.format, verified, status,
      errors: this.checks.filter(c => !c.ok).map(c => `${c.name}: ${c.message}`),
      checks: this.checks
    };
  }
}

async function loadSchemaValidator() {
  const schema = JSON.parse(await readFile(SCHEMA_FILE, 'utf8'));
  // ajv's strict mode stays on (an unknown keyword or format is an error), except for its
  // tuple lint: the official schema's "@context" lists two positional items on purpose, leaving
  // further contexts open.
  const ajv = new Ajv2019({allErrors: true, strictTuples: false});
  addFormats(ajv);
  return ajv.compile(schema);
}

function checkSchema(report, validate, doc) {
  if(validate(doc)) {
    return report.check('schema', true, 'OB 3.0 AchievementCredential JSON schema');
  }
  const errs = validate.errors.map(e => `${e.instancePath || '/'} ${e.message}`);
  return report.check('schema', false, errs.join('; '));
}

function recordStatus(report, statusResult) {
  if(!statusResult) {
    return;
  }
  if(!statusResult.verified) {
    report.fail('status', statusResult.error ?? new Error('status check failed'));
    return;
  }
  const seen = [];
  for(const r of statusResult.results ?? []) {
    const purpose = r.credentialStatus?.statusPurpose;
    report.bits[purpose] = report.bits[purpose] || r.status === true;
    seen.push(`${purpose}=${r.status}`);
  }
  report.check('status', seen.length > 0, seen.length ? seen.join(', ') : 'no status results');
}

const suite = () => new DataIntegrityProof({cryptosuite: eddsaRdfc2022});

async function verifyLDP(credential, {contexts, validate}) {
  const report = new Report('ldp');
  checkSchema(report, validate, credential);
  const documentLoader = makeDocumentLoader({contexts, statusLists: statusListURLs(credential)});
  let statusResult;
  const result = await vc.verifyCredential({
    credential,
    suite: suite(),
    documentLoader,
    checkStatus: async opts => {
      statusResult = await checkStatus({
        ...opts, verifyBitstringStatusListCredential: true, verifyMatchingIssuers: true
      });
      return statusResult;
    }
  });
  const proofOK = result.results?.length > 0 && result.results.every(r => r.verified);
  if(proofOK) {
    report.check('proof', true, 'eddsa-rdfc-2022 DataIntegrityProof (JSON-LD safe mode)');
  } else {
    report.fail('proof', result.error ?? result.results?.map(r => r.error));
  }
  if(proofOK && credential.credentialStatus) {
    recordStatus(report, statusResult ?? result.statusResult);
  }
  return report.result();
}

async function verifyJWT(token, {contexts, validate}) {
  const report = new Report('jwt');
  let header;
  let claims;
  try {
    header = jose.decodeProtectedHeader(token);
    claims = jose.decodeJwt(token);
  } catch(e) {
    report.fail('jwt', e);
    return report.result();
  }
  const documentLoader = makeDocumentLoader({contexts, statusLists: statusListURLs(claims)});

  // The key: the header's kid, a DID URL dereferenced through the issuer's did:web document,
  // which must list it for assertionMethod.
  let payload;
  try {
    if(!JWT_ALGS.includes(header.alg)) {
      throw new Error(`alg ${JSON.stringify(header.alg)} is not one of ${JWT_ALGS.join(', ')}`);
    }
    const kid = header.kid;
    if(typeof kid !== 'string' || !kid.startsWith('did:web:') || !kid.includes('#')) {
      throw new Error(`kid ${JSON.stringify(kid)} is not a did:web DID URL`);
    }
    const did = kid.split('#')[0];
    const didDoc = await documentLoader.resolveDID(did);
    const {document: vm} = await documentLoader(kid);
    if(!['JsonWebKey', 'JsonWebKey2020'].includes(vm.type) || !vm.publicKeyJwk) {
      throw new Error(`verification method ${kid} is a ${vm.type}, not a JsonWebKey with publicKeyJwk`);
    }
    if(vm.controller !== did) {
      throw new Error(`verification method ${kid} is controlled by ${vm.controller}, not ${did}`);
    }
    const frag = `#${kid.split('#')[1]}`;
    const authorized = [].concat(didDoc.assertionMethod ?? [])
      .some(a => [kid, frag].includes(typeof a === 'string' ? a : a?.id));
    if(!authorized) {
      throw new Error(`${kid} is not an assertionMethod of ${did}`);
    }
    const key = await jose.importJWK(vm.publicKeyJwk, header.alg);
    ({payload} = await jose.jwtVerify(token, key, {
      algorithms: [header.alg], issuer: did, clockTolerance: 300
    }));
    report.check('signature', true, `${header.alg} with ${kid}`);
  } catch(e) {
    report.fail('signature', e);
    return report.result();
  }

  checkSchema(report, validate, payload);

  // The credential is the payload less the JWT claims, which must agree with it.
  const credential = {...payload};
  for(const c of JWT_CLAIMS) {
    delete credential[c];
  }
  try {
    const issuerId = typeof credential.issuer === 'object' ? credential.issuer?.id : credential.issuer;
    const wrong = [];
    if(payload.iss !== issuerId) {
      wrong.push(`iss ${payload.iss} is not the issuer ${issuerId}`);
    }
    if(issuerId !== header.kid.split('#')[0]) {
      wrong.push(`the kid's DID is not the issuer ${issuerId}`);
    }
    if('jti' in payload && payload.jti !== credential.id) {
      wrong.push(`jti ${payload.jti} is not the credential id ${credential.id}`);
    }
    if('nbf' in payload && credential.validFrom &&
      payload.nbf !== Math.floor(Date.parse(credential.validFrom) / 1000)) {
      wrong.push(`nbf ${payload.nbf} is not validFrom ${credential.validFrom}`);
    }
    if(wrong.length) {
      throw new Error(wrong.join('; '));
    }
    report.check('claims', true, 'iss, jti and nbf match the credential');
  } catch(e) {
    report.fail('claims', e);
  }

  try {
    vc._checkCredential({credential});
    await jsonld.canonize(credential, {
      algorithm: 'RDFC-1.0', format: 'application/n-quads', safe: true, base: null,
      rdfDirection: 'i18n-datatype', documentLoader
    });
    report.check('data model', true, 'VC data model checks and JSON-LD safe mode');
  } catch(e) {
    report.fail('data model', e);
  }

  if(credential.credentialStatus) {
    recordStatus(report, await checkStatus({
      credential, documentLoader, suite: suite(),
      verifyBitstringStatusListCredential: true, verifyMatchingIssuers: true
    }));
  }
  return report.result();
}

// unbakePNG walks the PNG chunks (length, type, data, CRC) to the iTXt chunk whose keyword is
// openbadgecredential: keyword NUL, compression flag, method, language tag NUL, translated
// keyword NUL, text (zlib-compressed when the flag is 1).
function unbakePNG(buf) {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if(!buf.subarray(0, 8).equals(sig)) {
    return null;
  }
  for(let off = 8; off + 12 <= buf.length;) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    off += 12 + len;
    if(type !== 'iTXt') {
      continue;
    }
    const k = data.indexOf(0);
    if(data.toString('latin1', 0, k) !== 'openbadgecredential') {
      continue;
    }
    const compressed = data[k + 1] === 1;
    const lang = data.indexOf(0, k + 3);
    const translated = data.indexOf(0, lang + 1);
    const text = data.subarray(translated + 1);
    return (compressed ? inflateSync(text) : text).toString('utf8').trim();
  }
  throw new UsageError('a PNG without an openbadgecredential iTXt chunk');
}

// unbakeSVG finds the openbadges:credential element: a JWT in its verify attribute, or the
// JSON credential as its (CDATA) content.
function unbakeSVG(text) {
  if(!/<svg[\s>]/.test(text)) {
    return null;
  }
  const m = /<openbadges:credential\b([^>]*?)(\/>|>([\s\S]*?)<\/openbadges:credential>)/.exec(text);
  if(!m) {
    throw new UsageError('an SVG without an openbadges:credential element');
  }
  const verify = /\bverify\s*=\s*"([^"]*)"/.exec(m[1]);
  if(verify) {
    return verify[1].trim();
  }
  const body = (m[3] ?? '').trim();
  const cdata = /^<!\[CDATA\[([\s\S]*)\]\]>$/.exec(body);
  return (cdata ? cdata[1] : body).trim();
}

async function main(argv) {
  const args = argv.slice(2);
  const listContexts = args[0] === '--list-contexts';
  if(listContexts) {
    args.shift();
  }
  if(args.length !== (listContexts ? 0 : 1) || args.some(a => a.startsWith('-'))) {
    throw new UsageError('usage: node verify.mjs FILE   (a credential as JSON or a compact VC-JWT)\n' +
      '       node verify.mjs --list-contexts');
  }
  const contexts = await loadContextMap();
  if(listContexts) {
    const out = {};
    for(const [url, {raw}] of contexts) {
      out[url] = createHash('sha256').update(raw).digest('hex');
    }
    process.stdout.write(JSON.stringify(out) + '\n');
    return 0;
  }
  let text;
  try {
    const raw = await readFile(args[0]);
    text = unbakePNG(raw) ?? raw.toString('utf8').trim();
    text = unbakeSVG(text) ?? text;
  } catch(e) {
    throw e instanceof UsageError ? e : new UsageError(`cannot read ${args[0]}: ${e.message}`);
  }
  const validate = await loadSchemaValidator();
  let result;
  if(text.startsWith('{')) {
    let credential;
    try {
      credential = JSON.parse(text);
    } catch(e) {
      result = {format: 'ldp', verified: false, status: 'invalid', errors: [`json: ${e.message}`], checks: []};
    }
    result ??= await verifyLDP(credential, {contexts, validate});
  } else {
    result = await verifyJWT(text, {contexts, validate});
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.verified && result.status === 'valid' ? 0 : 1;
}

main(process.argv).then(code => {
  process.exitCode = code;
}, err => {
  process.stderr.write(`verify.mjs: ${err instanceof UsageError ? '' : 'error: '}${err.message}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
