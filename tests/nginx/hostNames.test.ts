/** Which host names each listener answers (lib/hostNames.ts); the nginx suites run the result (security.test.ts). */
import { adminHosts, LOOPBACK_HOST_NAMES, publicHosts } from "../../lib/hostNames";

const LOCAL = "unix:///var/run/docker.sock";
const SSH = "ssh://deploy@GW.example.net:2222";

test.each([
  [
    "loopback bind, no domain: the loopback names",
    { bindAddress: "127.0.0.1", publicUrl: "http://127.0.0.1:8080", domain: undefined, dockerHost: LOCAL },
    { names: [...LOOPBACK_HOST_NAMES] },
  ],
  [
    "loopback bind behind a tunnel: publicUrl's host too",
    { bindAddress: "127.0.0.1", publicUrl: "https://chat.example.com", domain: undefined, dockerHost: LOCAL },
    { names: ["chat.example.com", ...LOOPBACK_HOST_NAMES] },
  ],
  [
    "one interface, no domain: that address",
    { bindAddress: "10.8.0.1", publicUrl: "http://10.8.0.1:8080", domain: undefined, dockerHost: LOCAL },
    { names: ["10.8.0.1"] },
  ],
  [
    "every interface, no domain: loopback names, the ssh host, any IPv4 literal",
    { bindAddress: "0.0.0.0", publicUrl: "http://gw.example.net:8080", domain: undefined, dockerHost: SSH },
    { names: ["gw.example.net", ...LOOPBACK_HOST_NAMES], anyIpv4: true },
  ],
  [
    "every interface with a domain: the domain and publicUrl's host only",
    { bindAddress: "0.0.0.0", publicUrl: "https://ai.example.com", domain: "ai.example.com", dockerHost: SSH },
    { names: ["ai.example.com"] },
  ],
  [
    "a domain on loopback (a proxy in front): the domain, and the loopback names for the machine itself",
    { bindAddress: "127.0.0.1", publicUrl: "https://chat.example.com", domain: "ai.example.com", dockerHost: LOCAL },
    { names: ["ai.example.com", "chat.example.com", ...LOOPBACK_HOST_NAMES] },
  ],
])("public: %s", (_name, input, expected) => {
  expect(publicHosts(input)).toEqual(expected);
});

test.each([
  ["loopback", "127.0.0.1", LOCAL, { names: [...LOOPBACK_HOST_NAMES] }],
  ["another loopback address", "127.0.0.2", LOCAL, { names: [...LOOPBACK_HOST_NAMES, "127.0.0.2"] }],
  ["a VPN address", "10.8.0.1", SSH, { names: [...LOOPBACK_HOST_NAMES, "10.8.0.1"] }],
  ["every interface of an ssh host", "0.0.0.0", SSH, { names: [...LOOPBACK_HOST_NAMES, "gw.example.net"], anyIpv4: true }],
  ["every interface, local socket", "0.0.0.0", LOCAL, { names: [...LOOPBACK_HOST_NAMES], anyIpv4: true }],
])("admin: %s", (_name, bind, dockerHost, expected) => {
  expect(adminHosts(bind, dockerHost)).toEqual(expected);
});
