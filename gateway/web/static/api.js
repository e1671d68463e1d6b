// The gateway's API from the browser: the access token lives in this module's memory only (never localStorage,
// never a cookie), so a reload signs in again and a cross-site request carries no credential.
let session = null;
let stepUpUntil = 0; // the last step-up's validity (ms since the epoch)

export function signedIn() {
  return session !== null;
}

// A public auth call (no session yet): its JSON answer, or the problem's detail as an error.
async function publicCall(path, body, failed) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
    body: JSON.stringify(body),
  });
  if (!r.ok) {
    const problem = await r.json().catch(() => ({}));
    throw new Error(problem.detail || problem.title || `${failed} (${r.status})`);
  }
  return r.json();
}

export async function signIn(email, password, totpCode) {
  session = await publicCall("/v1/auth/login", { email, password, totp_code: totpCode }, "sign-in failed");
}

// First sign-in: the authenticator's key and recovery codes (shown once), then a first code confirms and signs in.
export function enroll(email, password) {
  return publicCall("/v1/auth/enroll", { email, password }, "enrolment failed");
}

export async function confirmEnrollment(email, password, totpCode) {
  session = await publicCall("/v1/auth/enroll/confirm", { email, password, totp_code: totpCode }, "enrolment failed");
}

// ``everywhere``: every session of this person, in each browser and device.
export async function signOut(everywhere = false) {
  if (session === null) return;
  await request("POST", `/v1/auth/logout${everywhere ? "?everywhere=true" : ""}`).catch(() => {});
  session = null;
}

// A step-up (POST /v1/auth/step-up) with the TOTP code typed in ``input``; without one, the last step-up if it is
// still valid for a few seconds more. The field is cleared once the code is used (a code is single use); a refused
// code stays for the user to correct. ``action`` says in the error what the code is for.
export async function stepUp(input, action) {
  const code = input.value.trim();
  if (!code && Date.now() <= stepUpUntil - 5000) return;
  if (!/^[0-9]{6}$/.test(code)) throw new Error(`Enter the 6-digit code from your authenticator app to ${action}.`);
  const proof = await request("POST", "/v1/auth/step-up", { totp_code: code });
  input.value = "";
  stepUpUntil = Date.parse(proof.valid_until);
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
  if (!r.ok) {
    const error = new Error(answer.detail || answer.title || `${method} ${path}: ${r.status}`);
    error.status = r.status; // a caller may tell "not allowed" (403) from a failure
    throw error;
  }
  return answer;
}
