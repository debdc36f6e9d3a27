// The browser side of tests/browser.rs. Runs every case in order, posts
// each case's observations to /report on this page's own origin, then posts
// /done. The Rust test judges the observations together with what the
// server received.
'use strict';

const CFG = JSON.parse(document.getElementById('config').textContent);
const S3 = CFG.s3; // origin B: the server under test
const GRPC = CFG.grpc; // origin C: the tonic-web example (or null)
const S3S = CFG.s3s; // origin D: the s3s example, through presigned URLs
const RUN = CFG.run; // unique per run: no cache carries over

// A URL on the server under test, unique to this run and step.
function s3(bucket, key, step) {
  return `${S3}/${bucket}/${key}?t=${RUN}-${step}`;
}

// fetch() and everything JavaScript could see of the outcome.
async function attempt(url, init) {
  const u = new URL(url);
  const seen = { url, target: u.pathname + u.search, method: (init && init.method) || 'GET' };
  try {
    // No `cache: 'no-store'` here: Chromium then bypasses its preflight
    // cache too, which would defeat the Max-Age case. Every URL is unique
    // to this run and step instead.
    const response = await fetch(url, Object.assign({
      signal: AbortSignal.timeout(15000),
    }, init || {}));
    seen.fetched = true;
    seen.status = response.status;
    seen.headers = {};
    response.headers.forEach((value, name) => { seen.headers[name] = value; });
    seen.body = await response.text();
  } catch (err) {
    seen.fetched = false;
    seen.error = String(err);
  }
  return seen;
}

// Ask the test (through this page's own origin) to act, e.g. swap a policy.
async function control(name) {
  const response = await fetch(`/control/${name}`, { method: 'POST' });
  return { status: response.status, answer: await response.text() };
}

async function post(path, value) {
  await fetch(path, { method: 'POST', body: JSON.stringify(value) });
}

const cases = [];
function testCase(id, run) {
  cases.push({ id, run });
}

testCase('c01', async () => ({
  allowed: await attempt(s3('c01-allowed', 'hello.txt', 'allowed')),
  refused: await attempt(s3('c01-refused', 'hello.txt', 'refused')),
}));

testCase('c02', async () => {
  const put = await attempt(s3('c02', 'upload.txt', 'put'), {
    method: 'PUT',
    headers: { 'x-custom-token': 'token-1' },
    body: 'uploaded by the browser',
  });
  const headerRefused = await attempt(s3('c02', 'upload.txt', 'bad-header'), {
    method: 'PUT',
    headers: { 'x-not-allowed': 'nope' },
    body: 'must never be stored',
  });
  const methodRefused = await attempt(s3('c02', 'upload.txt', 'bad-method'), {
    method: 'DELETE',
  });
  const readBack = await attempt(s3('c02', 'upload.txt', 'read-back'));
  return { put, headerRefused, methodRefused, readBack };
});

testCase('c03', async () => ({
  amz: await attempt(s3('c03', 'meta.txt', 'amz'), {
    method: 'PUT',
    headers: { 'x-amz-meta-foo': 'bar' },
    body: 'with metadata',
  }),
  other: await attempt(s3('c03', 'meta.txt', 'other'), {
    method: 'PUT',
    headers: { 'x-goog-meta-foo': 'bar' },
    body: 'with foreign metadata',
  }),
}));

testCase('c04', async () => ({
  exposed: await attempt(s3('c04-exposed', 'note.txt', 'exposed')),
  hidden: await attempt(s3('c04-hidden', 'note.txt', 'hidden')),
}));

testCase('c05', async () => ({
  specific: await attempt(s3('c05-specific', 'hello.txt', 'specific'), { credentials: 'include' }),
  starWithCredentials: await attempt(s3('c05-star', 'hello.txt', 'star-include'), { credentials: 'include' }),
  starWithout: await attempt(s3('c05-star', 'hello.txt', 'star-omit'), { credentials: 'omit' }),
}));

testCase('c06', async () => ({
  get: await attempt(s3('c06-wild', 'hello.txt', 'get')),
  put: await attempt(s3('c06-wild', 'put.txt', 'put'), {
    method: 'PUT',
    headers: { 'x-custom-token': 'token-6' },
    body: 'wildcard origin',
  }),
  otherScheme: await attempt(s3('c06-https-only', 'hello.txt', 'other-scheme')),
}));

testCase('c07', async () => {
  const twice = async (bucket) => {
    const url = s3(bucket, 'twice.txt', 'twice');
    const init = { method: 'PUT', headers: { 'x-custom-token': 'token-7' }, body: 'again' };
    return [await attempt(url, init), await attempt(url, init)];
  };
  return {
    max600: await twice('c07-600'),
    max0: await twice('c07-0'),
    unset: await twice('c07-unset'),
  };
});

testCase('c08', async () => ({
  put: await attempt(s3('c08', 'ordered.txt', 'put'), {
    method: 'PUT',
    headers: { 'x-custom-token': 'token-8' },
    body: 'second rule',
  }),
  get: await attempt(s3('c08', 'ordered.txt', 'get')),
}));

testCase('c09', async () => ({
  missing: await attempt(s3('c09', 'no-such-key.txt', 'missing')),
}));

testCase('c10', async () => {
  const before = await attempt(s3('c10', 'hello.txt', 'before'));
  const swap = await control('swap-c10');
  const after = await attempt(s3('c10', 'hello.txt', 'after'));
  const clear = await control('clear-c10');
  const cleared = await attempt(s3('c10', 'hello.txt', 'cleared'));
  return { before, swap, after, clear, cleared };
});

// gRPC-web: unary calls framed by hand. A good name gets a data frame and a
// trailer frame; an empty name gets INVALID_ARGUMENT as a trailers-only
// answer, where grpc-status and grpc-message are response headers that a
// script can read only when they are exposed.
function grpcFrame(name) {
  const utf8 = new TextEncoder().encode(name);
  if (utf8.length > 127) throw new Error('name too long for a one-byte varint');
  const message = new Uint8Array([0x0a, utf8.length, ...utf8]); // field 1, wire type 2
  const frame = new Uint8Array(5 + message.length);
  frame[0] = 0; // data frame, not compressed
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, 5);
  return frame;
}

function readGrpcWeb(bytes) {
  const out = { messages: [], trailers: {} };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 5 <= bytes.length) {
    const flags = bytes[at];
    const length = view.getUint32(at + 1);
    const payload = bytes.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    if (flags & 0x80) {
      for (const line of new TextDecoder().decode(payload).split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) out.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    } else if (payload[0] === 0x0a) {
      // field 1, wire type 2; one-byte length is enough for these replies
      const len = payload[1];
      out.messages.push(new TextDecoder().decode(payload.subarray(2, 2 + len)));
    } else {
      out.messages.push({ raw: Array.from(payload) });
    }
  }
  out.leftover = bytes.length - at;
  return out;
}

async function grpcCall(path, name) {
  const seen = { url: `${GRPC}${path}`, name };
  try {
    const response = await fetch(seen.url, {
      method: 'POST',
      cache: 'no-store',
      signal: AbortSignal.timeout(15000),
      headers: {
        'content-type': 'application/grpc-web+proto',
        'accept': 'application/grpc-web+proto',
        'x-grpc-web': '1',
      },
      body: grpcFrame(name),
    });
    seen.fetched = true;
    seen.status = response.status;
    seen.headers = {};
    response.headers.forEach((value, key) => { seen.headers[key] = value; });
    seen.grpcStatusHeader = response.headers.get('grpc-status');
    const message = response.headers.get('grpc-message');
    // grpc-message is percent-encoded on the wire (gRPC over HTTP/2 spec).
    seen.grpcMessageHeader = message === null ? null : decodeURIComponent(message);
    seen.decoded = readGrpcWeb(new Uint8Array(await response.arrayBuffer()));
  } catch (err) {
    seen.fetched = false;
    seen.error = String(err);
  }
  return seen;
}

testCase('c11', async () => {
  if (!GRPC) return { skipped: 'no gRPC-web server' };
  return {
    hello: await grpcCall('/greeter.Greeter/SayHello', `browser-${RUN}`),
    invalid: await grpcCall('/greeter.Greeter/SayHello', ''),
  };
});

// An upload to the s3s example with a presigned PUT URL: the browser sends
// its preflight to that URL first (PUT with a content-type that is not
// CORS-safelisted), then the PUT; the ETag is readable only because the
// bucket's rule exposes it.
testCase('c12', async () => {
  const put = (url) => attempt(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: S3S.body,
  });
  const upload = await put(S3S.put);
  const readBack = await attempt(S3S.get);
  const refused = await put(S3S.refusedPut);
  return { upload, readBack, refused };
});

window.addEventListener('error', (e) => { post('/log', { error: String(e.message) }); });
window.addEventListener('unhandledrejection', (e) => { post('/log', { rejection: String(e.reason) }); });

(async () => {
  for (const { id, run } of cases) {
    const started = performance.now();
    let observed;
    try {
      observed = await run();
    } catch (err) {
      observed = { exception: String(err && err.stack ? err.stack : err) };
    }
    await post('/report', { id, ms: Math.round(performance.now() - started), observed });
  }
  await post('/done', {});
})();
