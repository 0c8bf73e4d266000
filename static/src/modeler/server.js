// Talking to Kesu's JSON endpoints the way every modeler request must: same-origin cookies and the CSRF header.

/** POST `body` as JSON; resolves to {status, ok, body} whatever the status, rejects only when unreachable. */
export async function postJSON(url, csrf, body) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrf },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  return { status: response.status, ok: response.ok, body: answer };
}

/** The text of a GET (the diagram to open). */
export async function getText(url) {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) { throw new Error(`${url}: ${response.status}`); }
  return response.text();
}

/** Run `fn` once, `delay` ms after the last call. */
export function debounce(fn, delay) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), delay); };
}
