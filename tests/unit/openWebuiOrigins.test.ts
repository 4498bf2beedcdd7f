import { corsAllowOrigin, originsOfSettings } from "../../lib/openWebuiOrigins";
import { openWebuiEnv } from "../../lib/services";
import { resolveSettings, SettingsInput } from "../../lib/settings";
import { SSH_HOST_KEY } from "../fixtures/sshHostKey";

/** The origins a gateway resolved from `input` gives Open WebUI (the function components/gateway.ts calls). */
function originsFor(input: SettingsInput, extraHosts?: string[]): string[] {
  return originsOfSettings(resolveSettings(input), extraHosts);
}

test.each<[SettingsInput, string[]]>([
  // Defaults: loopback bind; a browser on the host may type either name.
  [{}, ["http://127.0.0.1:8080", "http://localhost:8080"]],
  [{ httpPort: 80 }, ["http://127.0.0.1", "http://localhost"]],
  [{ bindAddress: "127.0.0.2" }, ["http://127.0.0.2:8080", "http://localhost:8080", "http://127.0.0.1:8080"]],
  // Every interface, local engine: publicUrl is localhost; the LAN address is unknown before deploy.
  [{ bindAddress: "0.0.0.0" }, ["http://localhost:8080", "http://127.0.0.1:8080"]],
  // Every interface on an ssh:// engine: the ssh host is what users type.
  [
    { bindAddress: "0.0.0.0", dockerHost: "ssh://root@203.0.113.7", dockerSshHostKey: SSH_HOST_KEY },
    ["http://203.0.113.7:8080", "http://localhost:8080", "http://127.0.0.1:8080"],
  ],
  [
    {
      bindAddress: "0.0.0.0",
      dockerHost: "ssh://deploy@gw.example.com:2222",
      publicUrl: "https://chat.example.com",
      dockerSshHostKey: SSH_HOST_KEY,
    },
    ["https://chat.example.com", "http://localhost:8080", "http://127.0.0.1:8080", "http://gw.example.com:8080"],
  ],
  [{ bindAddress: "10.0.0.4" }, ["http://10.0.0.4:8080"]],
  // A domain without TLS is served on the plain port.
  [{ bindAddress: "0.0.0.0", domain: "AI.Example.com" }, ["http://ai.example.com:8080", "http://localhost:8080", "http://127.0.0.1:8080"]],
])("origins for %j are %j", (input, expected) => {
  expect(originsFor(input)).toEqual(expected);
});

test("with TLS only https origins serve the app (plain HTTP redirects), on the HTTPS port", () => {
  expect(originsFor({ tls: true, domain: "ai.example.com", bindAddress: "0.0.0.0" })).toEqual(["https://ai.example.com"]);
  expect(originsFor({ tls: true, domain: "ai.example.com", httpsPort: 8443 })).toEqual(["https://ai.example.com:8443"]);
  expect(originsFor({ tls: true, domain: "ai.example.com" }, ["203.0.113.9"])).toEqual(["https://ai.example.com", "https://203.0.113.9"]);
});

test("extra hosts (a VPS's address) are added on the users' scheme and port, once", () => {
  expect(originsFor({ bindAddress: "0.0.0.0" }, ["198.51.100.4", "localhost"])).toEqual([
    "http://localhost:8080",
    "http://127.0.0.1:8080",
    "http://198.51.100.4:8080",
  ]);
});

/** config.py at module level: `os.getenv('CORS_ALLOW_ORIGIN', '*').split(';')`, then validate_cors_origin on each. */
function asOpenWebuiParses(value: string): string[] {
  const entries = value.split(";");
  for (const entry of entries) {
    const url = new URL(entry);
    expect(["http:", "https:"]).toContain(url.protocol);
    expect(url.host).not.toBe("");
  }
  return entries;
}

test("CORS_ALLOW_ORIGIN is ';'-joined with no spaces, each entry exactly a browser's Origin header", () => {
  const origins = originsFor({ bindAddress: "0.0.0.0", dockerHost: "ssh://root@203.0.113.7", dockerSshHostKey: SSH_HOST_KEY });
  const env = openWebuiEnv({
    publicUrl: origins[0],
    allowedOrigins: origins,
    apiKey: "k",
    adminEmail: "a@b.cd",
    adminPassword: "p",
  });
  const value = env.find((e) => e.startsWith("CORS_ALLOW_ORIGIN="))!.slice("CORS_ALLOW_ORIGIN=".length);
  expect(value).toBe("http://203.0.113.7:8080;http://localhost:8080;http://127.0.0.1:8080");
  expect(asOpenWebuiParses(value)).toEqual(origins);
});

test("corsAllowOrigin refuses what is not an origin (a path, a trailing slash, another scheme)", () => {
  expect(() => corsAllowOrigin(["http://a.example/"])).toThrow("not a browser origin: http://a.example/");
  expect(() => corsAllowOrigin(["http://a.example/chat"])).toThrow("not a browser origin");
  expect(() => corsAllowOrigin(["ftp://a.example"])).toThrow("not a browser origin");
  expect(corsAllowOrigin(["https://a.example", "http://b.example:81"])).toBe("https://a.example;http://b.example:81");
});
