/**
 * The LiteLLM stand-in held to what LiteLLM 1.110.1 does for the calls the gateway and its tests
 * make (each behaviour's upstream source is in tests/fixtures/docker/litellm_standin.py's docstring).
 */
import { spawnSync } from "child_process";
import { LITELLM_CONFIG_PATH, LITELLM_PORT } from "../../lib/constants";
import { litellmArgs } from "../../lib/services";
import { Standin, STANDIN_SCRIPT, standinEnv, startStandin } from "../helpers/litellmStandin";
import { describeWith, requirements } from "../helpers/requirements";

const KEY = "sk-standinAPItest0123456789abcdefghijklmnopqr";
const OTHER = "sk-standinAPIother0123456789abcdefghijklmnopq";

describeWith("LiteLLM stand-in: LiteLLM 1.110.1's answers", [requirements.python3()], () => {
  let litellm: Standin;

  const call = async (method: string, path: string, body?: unknown, key = litellm.masterKey) => {
    const response = await fetch(litellm.url + path, {
      method,
      headers: { Authorization: `Bearer ${key}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as any };
  };
  const chat = (key: string, model = "gpt-4o") => call("POST", "/v1/chat/completions", { model, messages: [] }, key);

  beforeAll(async () => {
    litellm = await startStandin();
  });
  afterAll(() => litellm?.stop());
  beforeEach(async () => {
    await litellm.control({ reset: true });
  });

  test("/key/generate answers GenerateKeyResponse's fields; an existing custom key is left as it is", async () => {
    const created = await call("POST", "/key/generate", { key: KEY, key_alias: "a", max_budget: 5, models: ["gpt-4o"] });
    expect(created).toMatchObject({ status: 200, body: { key: KEY, key_name: `sk-...${KEY.slice(-4)}`, key_alias: "a", max_budget: 5 } });
    expect(created.body.token_id).toMatch(/^[0-9a-f]{64}$/);
    const again = await call("POST", "/key/generate", { key: KEY, max_budget: 99 });
    expect(again.status).toBe(200);
    expect((await litellm.info(KEY)).body.info).toMatchObject({ max_budget: 5, status: "active" });
  });

  test("/key/generate refuses what LiteLLM refuses, with its text", async () => {
    const refused = async (body: unknown) => (await call("POST", "/key/generate", body)).body.error;
    expect(await refused({ key: KEY, budget_duration: "2mo" })).toEqual({
      message: `{'error': "Invalid budget_duration '2mo'. Use a format like '1h', '24h', '7d', or '30d'."}`,
      type: "invalid_request_error",
      param: null,
      code: "400",
    });
    expect((await refused({ key: KEY, max_budget: -1 })).message).toBe(
      "{'error': 'max_budget must be a non-negative finite number. Received: -1.0'}",
    );
    expect((await refused({ key: "xx-notakey0123456789" })).message).toContain(
      "LiteLLM Virtual Key must start with 'sk-'. Received: xx-n****6789",
    );
    await call("POST", "/key/generate", { key: KEY, key_alias: "taken" });
    expect(await refused({ key: OTHER, key_alias: "taken" })).toMatchObject({ param: "key_alias", type: "bad_request_error" });
  });

  test("/key/info: unknown key 404 as LiteLLM words it; a deleted key answers from the archive", async () => {
    expect((await litellm.info(KEY)).body).toEqual({
      error: { message: "Key not found in database", type: "not_found_error", param: "key", code: "404" },
    });
    await call("POST", "/key/generate", { key: KEY, key_alias: "a" });
    await call("POST", "/key/delete", { keys: [KEY] });
    expect(await litellm.info(KEY)).toMatchObject({ status: 200, body: { key: KEY, info: { key_alias: "a", status: "deleted" } } });
  });

  test("/v2/key/info: keys in the body; live rows only, without their token; POST only", async () => {
    await call("POST", "/key/generate", { key: KEY, key_alias: "a", max_budget: 5 });
    await call("POST", "/key/generate", { key: OTHER, key_alias: "b" });
    const both = await call("POST", "/v2/key/info", { keys: [KEY], key_aliases: ["b"] });
    expect(both.status).toBe(200);
    expect(both.body.key).toEqual([KEY]);
    expect(both.body.info.map((r: any) => r.key_alias).sort()).toEqual(["a", "b"]);
    expect(both.body.info.every((r: any) => !("token" in r))).toBe(true);
    // A deleted key is not in the live table: absent, with no 404 (info_key_fn_v2 never reads the archive).
    await call("POST", "/key/delete", { keys: [KEY] });
    expect(await call("POST", "/v2/key/info", { keys: [KEY] })).toMatchObject({ status: 200, body: { key: [KEY], info: [] } });
    expect((await call("POST", "/v2/key/info", {})).status).toBe(422);
    expect((await call("GET", "/v2/key/info")).status).toBe(405);
    expect((await call("POST", "/v2/key/info", { keys: [OTHER] }, "sk-notTheMaster0123456789abcdef")).status).toBe(401);
  });

  test("/key/update: a key's own alias may be re-sent; another key's may not; unknown key 404", async () => {
    await call("POST", "/key/generate", { key: KEY, key_alias: "a" });
    await call("POST", "/key/generate", { key: OTHER, key_alias: "b" });
    expect(await call("POST", "/key/update", { key: KEY, key_alias: "a", rpm_limit: 7 })).toMatchObject({
      status: 200,
      body: { key: KEY, key_alias: "a", rpm_limit: 7 },
    });
    expect((await call("POST", "/key/update", { key: KEY, key_alias: "b" })).status).toBe(400);
    expect((await call("POST", "/key/update", { key: "sk-unknownKEY0123456789abcdef" })).body.error).toMatchObject({
      message: "Key not found.",
      type: "not_found_error",
      code: "404",
    });
  });

  test("/key/delete: keys win over key_aliases; none found is 404; neither is FastAPI's 422", async () => {
    await call("POST", "/key/generate", { key: KEY, key_alias: "a" });
    await call("POST", "/key/generate", { key: OTHER, key_alias: "b" });
    expect(await call("POST", "/key/delete", { keys: [KEY], key_aliases: ["b"] })).toMatchObject({
      status: 200,
      body: { deleted_keys: [KEY] },
    });
    expect((await litellm.info(OTHER)).body.info.status).toBe("active");
    expect(await call("POST", "/key/delete", { keys: [KEY] })).toMatchObject({
      status: 404,
      body: { error: { message: "{'error': 'No keys found'}" } },
    });
    expect(await call("POST", "/key/delete", { key_aliases: ["b"] })).toMatchObject({ status: 200, body: { deleted_keys: ["b"] } });
    const neither = await call("POST", "/key/delete", {});
    expect(neither.status).toBe(422);
    expect(neither.body.detail[0].msg).toBe("Value error, At least one of 'keys' or 'key_aliases' must be provided.");
  });

  test("/v1/models lists the key's models (all when its list is empty)", async () => {
    await call("POST", "/key/generate", { key: KEY, models: ["gpt-4o"] });
    await call("POST", "/key/generate", { key: OTHER });
    expect((await call("GET", "/v1/models", undefined, KEY)).body.data.map((m: any) => m.id)).toEqual(["gpt-4o"]);
    expect((await call("GET", "/v1/models", undefined, OTHER)).body.data.map((m: any) => m.id)).toEqual(["gpt-4o", "claude-sonnet-4-5"]);
    expect(await chat(KEY, "claude-sonnet-4-5")).toMatchObject({
      status: 403,
      body: { error: { type: "key_model_access_denied", param: "model" } },
    });
    expect((await chat(KEY)).status).toBe(200);
  });

  test("a spent budget: 422 with LiteLLM's text, on the model list and on chat", async () => {
    await call("POST", "/key/generate", { key: KEY, key_alias: "gw-ci", max_budget: 2 });
    expect((await chat(KEY)).status).toBe(200);
    await litellm.control({ spend: { "gw-ci": 2 } });
    const refused = await chat(KEY);
    expect(refused).toMatchObject({
      status: 422,
      body: {
        error: {
          message: `Budget has been exceeded! Key=gw-ci (sk-...${KEY.slice(-4)}) Current cost: 2.0, Max budget: 2.0`,
          type: "budget_exceeded",
          code: "422",
        },
      },
    });
    expect((await call("GET", "/v1/models", undefined, KEY)).status).toBe(422);
    expect((await chat(litellm.masterKey)).status).toBe(200);
  });

  test("rpm_limit: the request past the limit in a minute gets 429 with LiteLLM's text and retry-after", async () => {
    await call("POST", "/key/generate", { key: KEY, rpm_limit: 2 });
    expect([(await chat(KEY)).status, (await chat(KEY)).status]).toEqual([200, 200]);
    const limited = await chat(KEY);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(limited.body.error.type).toBe("throttling_error");
    expect(limited.body.error.message).toMatch(
      /^Rate limit exceeded for api_key: [0-9a-f]{64}\. Limit type: requests\. Current limit: 2, Remaining: 0\. Limit resets at: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
    );
    expect((await chat(OTHER)).status).toBe(401);
  });

  test("the gateway's own arguments (lib/services.ts litellmArgs) are taken and recorded", async () => {
    // The container's port and config path, made local: port 0 picks a free one.
    const args = litellmArgs(6).map((a) => (a === LITELLM_CONFIG_PATH ? "/dev/null" : a === String(LITELLM_PORT) ? "0" : a));
    const started = await startStandin(litellm.masterKey, { args });
    try {
      const recorded = (await (await fetch(`${started.url}/__standin/calls`)).json()) as any;
      expect(recorded.cli).toMatchObject({
        config: "/dev/null",
        num_workers: 6,
        max_requests_before_restart: 10000,
        max_requests_before_restart_jitter: 2000,
      });
      expect(recorded.cli.run_gunicorn).toBeFalsy();
    } finally {
      await started.stop();
    }
  });

  test("an unknown option ends it as click does: exit 2, usage and the option named", () => {
    const result = spawnSync("python3", [STANDIN_SCRIPT, "--config", "/dev/null", "--num_worker", "2"], {
      env: standinEnv(litellm.masterKey),
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("Error: No such option '--num_worker'. (Did you mean one of: '--num_requests', '--num_workers'?)");
  });
});
