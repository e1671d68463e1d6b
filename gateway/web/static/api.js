// The gateway's API from the browser: the access token lives in this module's memory only (never localStorage,
// never a cookie), so a reload signs in again and a cross-site request carries no credential.
let session = null;

export function signedIn() {
  return session !== null;
}

export async function signIn(email, password, totpCode) {
  const r = await fetch("/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
    body: JSON.stringify({ email, password, totp_code: totpCode }),
  });
  if (!r.ok) {
    const problem = await r.json().catch(() => ({}));
    throw new Error(problem.detail || problem.title || `sign-in failed (${r.status})`);
  }
  session = await r.json();
}

export async function signOut() {
  if (session === null) return;
  await request("POST", "/v1/auth/logout").catch(() => {});
  session = null;
}

export function accessToken() {
  return session ? session.access_token : null;
}

export async function request(method, path, body) {
  const headers = { Authorization: `Bearer ${accessToken()}` };
  if (method !== "GET") headers["Idempotency-Key"] = crypto.randomUUID();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 204) return null;
  const answer = await r.json();
  if (!r.ok) throw new Error(answer.detail || answer.title || `${method} ${path}: ${r.status}`);
  return answer;
}
