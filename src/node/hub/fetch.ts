/** HTTP statuses that carry a Location to follow. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/**
 * Wraps `fetch` so that the access token goes to the hub endpoint and nowhere else.
 *
 * The token is not given to @huggingface/hub at all: this wrapper adds `Authorization` only to
 * requests whose origin is the endpoint's, and follows redirects itself so that a hop to a CDN or
 * any other host never carries it — whatever the underlying fetch does with redirects.
 * (That also avoids the library's check that tokens start with `hf_`.)
 */
export function hubFetch(endpoint: string, token: string | undefined, base: typeof fetch = fetch): typeof fetch {
  const hubOrigin = new URL(endpoint).origin;

  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (input instanceof Request) {
      // The library never passes Request objects; keep the guarantee by refusing to forward a token.
      const headers = new Headers(input.headers);
      headers.delete('authorization');
      return base(new Request(input, { headers }), init);
    }
    let url = new URL(String(input));
    let method = (init?.method ?? 'GET').toUpperCase();
    let body = init?.body;
    const headers = new Headers(init?.headers);

    for (let hop = 0; ; hop++) {
      const sameOrigin = url.origin === hubOrigin;
      if (sameOrigin && token) headers.set('authorization', `Bearer ${token}`);
      else headers.delete('authorization');

      const resp = await base(url, { ...init, method, body, headers, redirect: 'manual' });
      const location = resp.headers.get('location');
      if (!REDIRECTS.has(resp.status) || !location) return resp;
      if (hop >= MAX_REDIRECTS) throw new TypeError(`too many redirects fetching ${String(input)}`);

      await resp.body?.cancel();
      url = new URL(location, url);
      if (resp.status === 303 || ((resp.status === 301 || resp.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers.delete('content-type');
      }
    }
  };
  return wrapped as typeof fetch;
}
