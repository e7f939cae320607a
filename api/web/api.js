// The HTTP API as the page uses it: the API key (this browser tab only), requests, problems,
// and polling a job until it is finished.

const KEY = "journeyminer.apiKey";
export const API = "/api/v1";

/** An error answer of the API: the problem+json body (title, detail and its extra fields). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const apiKey = {
  get: () => sessionStorage.getItem(KEY),
  set: (key) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

async function problemOf(response) {
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try {
      const body = await response.json();
      if (body && typeof body === "object") {
        return { title: body.title || response.statusText, ...body };
      }
    } catch {
      /* not JSON after all: fall through */
    }
  }
  return { title: response.statusText || "Error", status: response.status, detail: await response.text() };
}

/**
 * One request with the API key. `json` sends a JSON body, `form` a FormData; `as` picks how the
 * answer is read: "json" (default), "text" or "blob". Errors throw ApiError.
 */
export async function request(method, path, { json, form, as = "json", key } = {}) {
  const headers = { Authorization: `Bearer ${key ?? apiKey.get() ?? ""}` };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let response;
  try {
    response = await fetch(path.startsWith("/") ? path : `${API}/${path}`, { method, headers, body });
  } catch (err) {
    throw new ApiError(0, {
      title: "The server cannot be reached",
      detail: `${err.message}. Check that journeyminer is running and try again.`,
    });
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  if (as === "text") return response.text();
  if (as === "blob") return response.blob();
  return response.json();
}

export const get = (path, options) => request("GET", path, options);
export const post = (path, options) => request("POST", path, options);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll a job or analysis (`status_url`) until it is done; `onProgress(job)` sees every state.
 * A failed or cancelled job throws ApiError with the job's problem.
 */
export async function waitFor(statusUrl, onProgress = () => {}, intervalMs = 250) {
  for (;;) {
    const job = await get(statusUrl);
    onProgress(job);
    if (job.status === "done") return job;
    if (job.status === "failed" || job.status === "cancelled") {
      const problem = job.error || { title: `The job was ${job.status}`, detail: job.stage || "" };
      throw new ApiError(problem.status || 500, { title: problem.title || "The job failed", ...problem });
    }
    await sleep(intervalMs);
  }
}
