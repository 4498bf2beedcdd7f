import * as pulumi from "@pulumi/pulumi";
import { SettingError } from "../../lib/errors";
import * as validate from "../../lib/validation";

describe("pinnedImage", () => {
  test.each([
    "nginx:1.30.5-alpine",
    "postgres:16.15-trixie",
    "ghcr.io/berriai/litellm:v1.110.1",
    "docker.litellm.ai/berriai/litellm:1.110.1",
    "registry.local:5000/team/litellm:v1.2.3",
    `ghcr.io/open-webui/open-webui@sha256:${"a".repeat(64)}`,
    `nginx:1.30.5-alpine@sha256:${"0".repeat(64)}`,
  ])("accepts %s", (ref) => {
    expect(validate.pinnedImage("image", ref)).toBe(ref);
  });

  test.each([
    ["nginx", /has no tag/],
    ["registry.local:5000/nginx", /has no tag/],
    ["postgres:16", /"16" is a rolling tag/],
    ["nginx:alpine", /"alpine" is a rolling tag/],
    ["ghcr.io/berriai/litellm:main-latest", /"main-latest" is a rolling tag/],
    ["Nginx:1.30", /must be an image pinned/],
    ["nginx:1.30 ", /must be an image pinned/],
    ["nginx@sha256:abc", /must be an image pinned/],
  ])("refuses %s", (ref, message) => {
    expect(() => validate.pinnedImage("image", ref)).toThrow(message);
  });
});

describe("dockerHost", () => {
  test.each([
    "unix:///var/run/docker.sock",
    "unix:///run/user/1000/docker.sock",
    "ssh://root@203.0.113.7",
    "ssh://deploy@gw.example.com:2222",
    "tcp://10.0.0.5:2376",
  ])("accepts %s", (host) => expect(validate.dockerHost("dockerHost", host)).toBe(host));
  test.each([
    "",
    "/var/run/docker.sock",
    "ssh://host",
    "ssh://user@",
    "ssh://user@host:99999",
    "tcp://host",
    "npipe:////./pipe/docker_engine",
  ])("refuses %p", (host) => expect(() => validate.dockerHost("dockerHost", host)).toThrow(SettingError));
});

describe("bindAddress", () => {
  test.each(["0.0.0.0", "127.0.0.1", "10.1.2.3", "255.255.255.255"])("accepts %s", (a) => expect(validate.bindAddress("b", a)).toBe(a));
  test.each(["01.2.3.4", "1.2.3.4.5", "1.2.3", "::1", " 127.0.0.1", 127])("refuses %p", (a) =>
    expect(() => validate.bindAddress("b", a)).toThrow(SettingError),
  );
});

describe("hostPort", () => {
  test("80 and 443 only where privileged ports are allowed", () => {
    expect(validate.hostPort("p", 80, true)).toBe(80);
    expect(validate.hostPort("p", 443, true)).toBe(443);
    expect(() => validate.hostPort("p", 80, false)).toThrow(/from 1024 to 65535$/);
    expect(validate.hostPort("p", 1024, false)).toBe(1024);
    expect(validate.hostPort("p", 65535, false)).toBe(65535);
    expect(() => validate.hostPort("p", 1023, true)).toThrow(SettingError);
    expect(() => validate.hostPort("p", 65536, true)).toThrow(SettingError);
  });
});

describe("masterKey", () => {
  test("accepts a strong sk- key and never shows a refused one", () => {
    const good = `sk-${"x".repeat(40)}`;
    expect(validate.masterKey("masterKey", good)).toBe(good);
    const bad = "pa55word-that-is-long-enough-for-the-rule";
    let error: Error | undefined;
    try {
      validate.masterKey("masterKey", bad);
    } catch (e) {
      error = e as Error;
    }
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect(error!.message).not.toContain(bad.slice(0, 8));
    expect(() => validate.masterKey("masterKey", `sk-${"x".repeat(20)} ${"y".repeat(20)}`)).toThrow(/whitespace/);
  });
});

describe("litellmModel (LiteLLM's Router must resolve the provider)", () => {
  test.each(["openai/gpt-4o", "anthropic/claude-sonnet-4-5", "ollama/llama3:8b", "azure/my-deployment", "hosted_vllm/org/model"])(
    "%j is accepted",
    (model) => {
      expect(validate.litellmModel("models[0].model", model)).toBe(model);
    },
  );

  test.each(["gpt-4o", "openai/", "/gpt-4o", "open ai/gpt", "", 42])("%j is refused: provider/model is required", (model) => {
    expect(() => validate.litellmModel("models[0].model", model)).toThrow(
      /models\[0\]\.model = .*: must be LiteLLM's provider\/model string/,
    );
  });

  test("an unknown provider is named in the message", () => {
    expect(() => validate.litellmModel("models[0].model", "unknownprov/x")).toThrow(
      'Invalid ai-gateway setting models[0].model = "unknownprov/x": names provider "unknownprov", which LiteLLM 1.110.1 does not know',
    );
  });
});

describe("providerKeyNames (a deny-list of process-control names)", () => {
  test("the provider settings LiteLLM documents pass, credential-shaped or not", () => {
    const names = [
      "OPENAI_API_KEY",
      "ANTHROPIC_API_KEY",
      "AZURE_API_KEY",
      "AZURE_API_BASE",
      "AZURE_API_VERSION",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_REGION_NAME",
      "VERTEXAI_PROJECT",
      "VERTEXAI_LOCATION",
      "OLLAMA_API_BASE",
      "HUGGINGFACE_API_KEY",
      "MISTRAL_API_KEY",
    ];
    expect(validate.providerKeyNames("providerApiKeys", names)).toEqual(names);
  });

  test.each([
    "LD_LIBRARY_PATH",
    "PYTHONSTARTUP",
    "NO_PROXY",
    "ALL_PROXY",
    "AWS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_OPTIONS",
    "HOME",
    "DATABASE_HOST",
    "UI_LOGO_PATH",
    "REDIS_HOST",
    "DETAILED_DEBUG",
    "GLIBC_TUNABLES",
  ])("%s is refused", (name) => {
    expect(() => validate.providerKeyNames("providerApiKeys", [name])).toThrow(/not a provider credential/);
  });
});
