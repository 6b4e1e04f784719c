// Talking to the API, shared by every page. Every error of the API has the body
// {"detail": {"code": "...", "message": "..."}}; ApiError carries both for display.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = response.statusText || "the request failed";
  try {
    const body = await response.json();
    if (body && body.detail && typeof body.detail === "object") {
      code = body.detail.code || code;
      message = body.detail.message || message;
    } else if (body && typeof body.detail === "string") {
      message = body.detail;
    }
  } catch {
    // Not JSON (e.g. a proxy's HTML page): the status text is all there is.
  }
  return new ApiError(response.status, code, message);
}

// A server started with VST_API_KEYS wants a key on every API request; the page keeps it in this
// browser's localStorage and sends it as X-API-Key. Without keys on the server, none is needed.
const KEY_STORAGE = "vst-api-key";

export function apiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return ""; // storage disabled: the key lives only as long as the page
  }
}

export function setApiKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled: nothing to keep.
  }
}

export const needsKey = (error) => error instanceof ApiError && error.status === 401;

// fetch() that throws ApiError for 4xx/5xx and for a server that cannot be reached.
export async function request(url, options = {}) {
  const headers = new Headers(options.headers || {});
  const key = apiKey();
  if (key) headers.set("X-API-Key", key);
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...options, headers });
  } catch {
    throw new ApiError(0, "network_error", "cannot reach the server; check that it is running");
  }
  if (!response.ok) {
    throw await errorFrom(response);
  }
  return response;
}

export async function getJson(url) {
  return (await request(url, { headers: { Accept: "application/json" } })).json();
}

export async function postJson(url, body) {
  const response = await request(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}

export async function postForm(url, form) {
  return (await request(url, { method: "POST", body: form, headers: { Accept: "application/json" } })).json();
}

// An <img> cannot send a header: with a key, images are fetched with it and shown from a blob URL.
export async function imageSource(url) {
  if (!apiKey()) return url;
  const blob = await (await request(url)).blob();
  return URL.createObjectURL(blob);
}

export function showImage(image, url) {
  if (!apiKey()) {
    image.src = url;
    return Promise.resolve();
  }
  return imageSource(url).then((source) => { image.src = source; }, () => { image.alt += " (could not be loaded)"; });
}

// Shows an error (or clears the box with null) in an element with role="alert".
export function showError(box, error) {
  if (!error) {
    box.classList.add("hidden");
    box.textContent = "";
    return;
  }
  box.textContent = "";
  const text = document.createElement("span");
  text.className = "error-text";
  text.textContent = error.message || String(error);
  box.append(text);
  if (error.code) {
    const code = document.createElement("code");
    code.textContent = ` (${error.code})`;
    box.append(code);
  }
  box.classList.remove("hidden");
}

// The survey's links lead somewhere only while a survey set is loaded: hidden until the status says so.
export async function revealSurveyLinks() {
  try {
    const status = await getJson("/survey/api/status");
    document.querySelectorAll(".survey-link").forEach((link) => link.classList.toggle("hidden", !status.available));
    return status;
  } catch {
    return null; // the links stay hidden
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function percent(value, digits = 0) {
  return `${(100 * value).toFixed(digits)}%`;
}
