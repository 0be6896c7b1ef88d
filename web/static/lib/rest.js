// MAuth-signed requests to the OWT/Conclave management REST API from a browser, with the
// algorithm of OWT's REST client: signature = base64(lower-hex(HMAC-SHA256(key, "timestamp,cnonce"))).
// The key stays in memory: callers keep the RestClient object, nothing is stored.

const encoder = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** base64(lower-hex(HMAC-SHA256(key, message))), computed with WebCrypto. */
export async function signature(key, message) {
  const k = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', k, encoder.encode(message));
  return btoa(hex(mac));
}

/** The Authorization header OWT's JS REST client sends (no spaces, no quotes). */
export async function authorization(serviceId, key, timestamp = Date.now(), cnonce = randomNonce()) {
  const sig = await signature(key, `${timestamp},${cnonce}`);
  return `MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=${serviceId},mauth_cnonce=${cnonce},mauth_timestamp=${timestamp},mauth_signature=${sig}`;
}

function randomNonce() {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return hex(b.buffer);
}

/** Error of a REST call: HTTP status plus OWT's {error: {code, message}} when present. */
export class RestError extends Error {
  constructor(method, path, status, code, message) {
    super(`${method} ${path} → ${status}${code ? ` (code ${code})` : ''}: ${message}`);
    this.name = 'RestError';
    this.status = status;
    this.code = code;
    this.serverMessage = message;
  }
}

/** RestClient signs every request with one service's id and key. */
export class RestClient {
  constructor(base, serviceId, key) {
    this.base = base.replace(/\/+$/, '');
    this.serviceId = serviceId;
    this.key = key;
  }

  /** Sends a signed request; resolves with parsed JSON (or text), rejects with RestError. */
  async request(method, path, body) {
    const headers = { Authorization: await authorization(this.serviceId, this.key) };
    const init = { method, headers };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(this.base + path, init);
    } catch (e) {
      throw new RestError(method, path, 0, 0, `network error: ${e.message}`);
    }
    const text = await resp.text();
    let data = text;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      // plain text body ('Room deleted', a token)
    }
    if (!resp.ok) {
      const err = data && data.error;
      throw new RestError(method, path, resp.status, err && err.code, (err && err.message) || text || resp.statusText);
    }
    return data;
  }

  get(path) { return this.request('GET', path); }
  post(path, body) { return this.request('POST', path, body === undefined ? {} : body); }
  put(path, body) { return this.request('PUT', path, body); }
  patch(path, body) { return this.request('PATCH', path, body); }
  del(path) { return this.request('DELETE', path); }
}
