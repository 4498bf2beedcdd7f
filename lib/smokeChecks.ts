/**
 * The smoke test's HTTP checks against a deployed gateway (`npm run smoke`, tools/smoke.ts), none of
 * which costs anything at a provider: only /models and LiteLLM's key records are asked, never a
 * completion. Each check is a row of the table (lib/smoke.ts); no secret reaches a row's detail.
 */
import { randomBytes } from "crypto";
import { CheckRow, describeKey, keyInfoDifferences, keyInfoHash } from "./smoke";
import { scrubSecrets } from "./scrub";
import { KeyRecord } from "./virtualKeys";

/** What the checks need, from the stack's outputs (and the --public-url / --admin-url options). */
export interface SmokeTarget {
  /** Open WebUI's URL (the stack's openWebuiUrl, on the public listener). */
  readonly openWebuiUrl: string;
  /** The API's base URL (the stack's apiBaseUrl), e.g. http://127.0.0.1:8080/api/litellm/v1. */
  readonly apiBaseUrl: string;
  /** Origin of the admin listener (adminUiUrl's, or --admin-url). */
  readonly adminOrigin: string;
  /** How to reach the admin listener when it does not answer (a tunnel), or undefined when given. */
  readonly adminHint?: string;
  /** Each consumer's virtual key by name, Open WebUI's included (secret: never printed). */
  readonly keys: Readonly<Record<string, string>>;
  /** LiteLLM's master key (secret: only sent to the admin listener). */
  readonly masterKey: string;
  /** What the stack declares for each key (its declaredKeys output), by consumer name. */
  readonly declared: Readonly<Record<string, KeyRecord>>;
  /** Per request. Default 15 s. */
  readonly timeoutMs?: number;
}

/**
 * Management paths the public listener must refuse itself (nginx's 403 with the code
 * "path_not_allowed", lib/nginxConf.ts), not pass to LiteLLM (whose refusal would be a 401): key
 * management, the admin UI, spend logs. Sent without any credential.
 */
export const PUBLIC_MANAGEMENT_PATHS: readonly { method: string; path: string }[] = [
  { method: "POST", path: "/api/litellm/key/generate" },
  { method: "GET", path: "/api/litellm/key/list" },
  { method: "GET", path: "/api/litellm/ui/" },
  { method: "GET", path: "/api/litellm/spend/logs" },
  { method: "POST", path: "/api/litellm/v1/key/generate" },
];

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Why a request got no answer, e.g. "ECONNREFUSED" or "timeout after 15 s". */
class Unreachable extends Error {}

async function send(url: string, init: RequestInit, timeoutMs: number): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    const reason = e.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : (e.cause?.code ?? e.message);
    throw new Unreachable(reason);
  }
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", body: await response.text() };
}

/** The parts of a JSON answer the checks read (OpenAI's error envelope, a list, /key/info's record). */
interface JsonAnswer {
  readonly error?: { readonly code?: unknown; readonly type?: unknown; readonly message?: unknown } | null;
  readonly data?: unknown;
  readonly info?: unknown;
  readonly status?: unknown;
}

function json(body: string): JsonAnswer {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null ? (value as JsonAnswer) : {};
  } catch {
    return {};
  }
}

/**
 * An answer as a short phrase: the status, and the error's code, type or message (the first that
 * is a word: LiteLLM's code is the status again, e.g. "401"), or an HTML page's title (nginx's
 * error pages), or the start of another body.
 */
function described(answer: Answer, secrets: readonly string[]): string {
  const error = json(answer.body).error;
  const what =
    typeof error === "object" && error !== null
      ? [error.code, error.type, error.message].find((v) => typeof v === "string" && v !== "" && !/^[0-9]+$/.test(v))
      : (/<title>([^<]*)<\/title>/i.exec(answer.body)?.[1] ?? answer.body.slice(0, 80));
  const phrase = typeof what === "string" ? what.replace(/\s+/g, " ").trim() : "";
  return scrubSecrets(`${answer.status}${phrase ? ` (${phrase})` : ""}`, secrets, 160);
}

/** Runs every HTTP check in order; never throws for what a gateway answers or fails to answer. */
export async function httpChecks(target: SmokeTarget): Promise<CheckRow[]> {
  const timeoutMs = target.timeoutMs ?? 15_000;
  const secrets = [target.masterKey, ...Object.values(target.keys)];
  const rows: CheckRow[] = [];
  const row = (check: string, pass: boolean, detail: string) =>
    rows.push({ check, result: pass ? "PASS" : "FAIL", detail: scrubSecrets(detail, secrets, 400) });
  const attempt = async (check: string, url: string, init: RequestInit, judge: (a: Answer) => [boolean, string]) => {
    try {
      row(check, ...judge(await send(url, init, timeoutMs)));
    } catch (error) {
      if (!(error instanceof Unreachable)) throw error;
      row(check, false, `${init.method ?? "GET"} ${url}: ${error.message}`);
    }
  };

  // The page, then Open WebUI's own health answer (main.py:healthcheck, {"status": true}) through
  // the same listener: nginx's default page or another app at this URL fails the second.
  const health = new URL("health", target.openWebuiUrl).href;
  let page: Answer | undefined;
  try {
    page = await send(target.openWebuiUrl, {}, timeoutMs);
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    row("Open WebUI answers", false, `GET ${target.openWebuiUrl}: ${error.message}`);
  }
  if (page !== undefined) {
    const title = /<title>([^<]*)<\/title>/i.exec(page.body)?.[1]?.trim();
    if (page.status !== 200 || !/text\/html/i.test(page.contentType)) {
      row("Open WebUI answers", false, `GET ${target.openWebuiUrl}: ${described(page, secrets)}, expected 200 and a page`);
    } else {
      await attempt("Open WebUI answers", health, {}, (a) =>
        a.status === 200 && json(a.body).status === true
          ? [true, `200${title ? `, "${title}"` : ""}; /health {"status": true}`]
          : [false, `GET ${health}: ${described(a, secrets)}, expected Open WebUI's 200 {"status": true}`],
      );
    }
  }

  const models = `${target.apiBaseUrl.replace(/\/$/, "")}/models`;
  for (const name of Object.keys(target.declared)) {
    const key = target.keys[name];
    if (key === undefined) {
      row(`API accepts key ${name}`, false, "the stack declares this key but its outputs hold no value for it");
      continue;
    }
    await attempt(`API accepts key ${name}`, models, { headers: { Authorization: `Bearer ${key}` } }, (a) => {
      const list = json(a.body).data;
      return a.status === 200 && Array.isArray(list)
        ? [true, `200, ${list.length} model${list.length === 1 ? "" : "s"}`]
        : [false, `GET ${models}: ${described(a, secrets)}, expected 200 and a model list`];
    });
  }
  const wrongKey = `sk-smoke-wrong-${randomBytes(16).toString("hex")}`;
  const refused = (a: Answer): [boolean, string] =>
    a.status === 401
      ? [true, `401 ${described(a, secrets).replace(/^401 ?/, "")}`.trim()]
      : [false, `GET ${models}: ${described(a, secrets)}, expected 401`];
  await attempt("API refuses a wrong key", models, { headers: { Authorization: `Bearer ${wrongKey}` } }, refused);
  await attempt("API refuses no key", models, {}, refused);

  const publicOrigin = new URL(target.openWebuiUrl).origin;
  const notRefused: string[] = [];
  for (const { method, path } of PUBLIC_MANAGEMENT_PATHS) {
    try {
      const a = await send(publicOrigin + path, { method }, timeoutMs);
      if (a.status !== 403 || json(a.body).error?.code !== "path_not_allowed") {
        notRefused.push(`${method} ${path}: ${described(a, secrets)}`);
      }
    } catch (error) {
      if (!(error instanceof Unreachable)) throw error;
      notRefused.push(`${method} ${path}: ${error.message}`);
    }
  }
  row(
    "management refused publicly",
    notRefused.length === 0,
    notRefused.length === 0
      ? `${PUBLIC_MANAGEMENT_PATHS.length} paths: 403 path_not_allowed`
      : `expected the gateway's 403 path_not_allowed; ${notRefused.join("; ")}`,
  );

  let adminDown: string | undefined;
  for (const [name, declared] of Object.entries(target.declared)) {
    const check = `key ${name}: budget, models, limits`;
    const key = target.keys[name];
    if (adminDown !== undefined || key === undefined) {
      row(check, false, adminDown ?? "no key value in the stack's outputs");
      continue;
    }
    const url = `${target.adminOrigin}/key/info?key=${keyInfoHash(key)}`;
    try {
      const a = await send(url, { headers: { Authorization: `Bearer ${target.masterKey}` } }, timeoutMs);
      if (a.status !== 200) {
        row(check, false, `GET ${target.adminOrigin}/key/info: ${described(a, secrets)}, expected 200`);
        continue;
      }
      const differences = keyInfoDifferences(declared, json(a.body).info);
      row(check, differences.length === 0, differences.length === 0 ? describeKey(declared) : differences.join("; "));
    } catch (error) {
      if (!(error instanceof Unreachable)) throw error;
      adminDown = `admin listener ${target.adminOrigin} unreachable (${error.message})${target.adminHint ? `; ${target.adminHint}` : ""}`;
      row(check, false, adminDown);
    }
  }
  return rows;
}
