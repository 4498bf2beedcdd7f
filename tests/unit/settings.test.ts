import { DEFAULTS, resolveSettings } from "../../lib/settings";
import { NGINX_PROXY_TIMEOUT_SECONDS, OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS, REQUEST_BUDGET_SECONDS } from "../../lib/constants";
import { sampleOpenWebuiEnv } from "../fixtures/openWebuiEnv";
import { toEnvList } from "../../lib/services";
import { SSH_HOST_KEY } from "../fixtures/sshHostKey";

describe("resolveSettings", () => {
  test("no input gives the documented defaults", () => {
    const s = resolveSettings({});
    expect(s).toMatchObject({
      profile: "medium",
      budget: "test",
      httpPort: 8080,
      bindAddress: "127.0.0.1",
      adminPort: 4001,
      dockerHost: DEFAULTS.dockerHost,
      images: DEFAULTS.images,
      ephemeral: false,
      publicUrl: "http://127.0.0.1:8080",
    });
  });

  test.each([
    [{ bindAddress: "0.0.0.0" }, "http://localhost:8080"],
    [{ bindAddress: "0.0.0.0", httpPort: 80 }, "http://localhost"],
    [{ bindAddress: "0.0.0.0", dockerHost: "ssh://root@203.0.113.7", dockerSshHostKey: SSH_HOST_KEY }, "http://203.0.113.7:8080"],
    [{ bindAddress: "10.0.0.4" }, "http://10.0.0.4:8080"],
    [{ dockerHost: "ssh://root@203.0.113.7", dockerSshHostKey: SSH_HOST_KEY }, "http://127.0.0.1:8080"],
    [{ publicUrl: "https://ai.example.com/" }, "https://ai.example.com"],
    // The origin is rebuilt from its parts: lower case, the scheme's default port dropped.
    [{ publicUrl: "HTTPS://AI.Example.com:443/" }, "https://ai.example.com"],
    [{ publicUrl: "http://10.0.0.5:8443" }, "http://10.0.0.5:8443"],
    [
      { publicUrl: `https://${"a".repeat(63)}.${"b".repeat(63)}.example:65535` },
      `https://${"a".repeat(63)}.${"b".repeat(63)}.example:65535`,
    ],
    [{ tls: true, domain: "ai.example.com", publicUrl: "https://ai.example.com:8443" }, "https://ai.example.com:8443"],
  ])("public URL for %j is %s", (input, url) => {
    expect(resolveSettings(input).publicUrl).toBe(url);
  });
});

test("limits on silence nest: LiteLLM gives up first, then Open WebUI, then nginx", () => {
  expect(REQUEST_BUDGET_SECONDS).toBe(600);
  expect(OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS).toBeGreaterThan(REQUEST_BUDGET_SECONDS);
  expect(NGINX_PROXY_TIMEOUT_SECONDS).toBeGreaterThan(OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS);
  const env = sampleOpenWebuiEnv();
  expect(env).toContain(`AIOHTTP_CLIENT_STREAM_IDLE_TIMEOUT=${OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS}`);
});

test("Open WebUI has no total limit, which would cut a stream still producing tokens", () => {
  const env = sampleOpenWebuiEnv();
  // Empty, not absent: Open WebUI 0.11.4 reads "" as no limit.
  expect(env).toContain("AIOHTTP_CLIENT_TIMEOUT=");
});

test("environment lists are sorted by name, whatever the insertion order", () => {
  expect(toEnvList({ B: "2", A: "1", C: "=3" })).toEqual(["A=1", "B=2", "C==3"]);
});
