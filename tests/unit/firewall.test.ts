import { execFileSync } from "child_process";
import { BlockList, isIPv6 } from "net";
import { SettingError } from "../../lib/errors";
import {
  DEFAULT_PUBLIC_ALLOWED_CIDRS,
  EVERYWHERE,
  FirewallInputs,
  FirewallRule,
  firewallRules,
  ipNetwork,
  publicAllowedCidrs,
  SSH_FROM_ANYWHERE_KEY,
  sshAllowedCidrs,
} from "../../lib/firewall";

/**
 * Python's ipaddress module as the oracle for CIDR parsing: strict mode refuses host bits, and
 * `.compressed` is RFC 5952's canonical text (what Hetzner's API returns).
 */
function pythonNetworks(inputs: readonly string[]): ({ network: string } | { error: string; loose?: string })[] {
  const script = `
import ipaddress, json, sys
out = []
for text in json.load(sys.stdin):
    try:
        out.append({"network": ipaddress.ip_network(text, strict=True).compressed})
    except ValueError as e:
        entry = {"error": str(e)}
        try:
            entry["loose"] = ipaddress.ip_network(text, strict=False).compressed
        except ValueError:
            pass
        out.append(entry)
print(json.dumps(out))
`;
  return JSON.parse(execFileSync("python3", ["-c", script], { input: JSON.stringify(inputs), encoding: "utf8" }));
}

describe("ipNetwork, against Python's ipaddress", () => {
  const accepted = [
    "203.0.113.0/24",
    "203.0.113.7/32",
    "203.0.113.7",
    "0.0.0.0/0",
    "10.0.0.0/8",
    "2001:db8::/32",
    "2001:DB8:0:0:0:0:0:0/48",
    "2001:0db8:0000:0000:0000:0000:0000:0001",
    "2001:db8:0:1:0:0:0:0/64",
    "2001:db8:0:0:1:0:0:0/80",
    "2001:0:0:1:0:0:0:0/64",
    "fd00::/8",
    "::/0",
    "::1",
    "1::",
    "1:0:0:2:0:0:0:3",
    "1:0:0:2::3:0",
  ];
  const hostBits = ["203.0.113.7/24", "10.1.2.3/8", "2001:db8::1/64", "2001:db8:0:0:0:0:0:1/120"];

  test("accepted networks come back as Python's canonical form; a bare address as its /32 or /128", () => {
    const oracle = pythonNetworks(accepted);
    accepted.forEach((text, index) => {
      const expected = oracle[index];
      expect("network" in expected).toBe(true);
      expect(ipNetwork("n", text)).toBe((expected as { network: string }).network);
    });
  });

  test("host bits are refused, naming the network Python computes", () => {
    const oracle = pythonNetworks(hostBits);
    hostBits.forEach((text, index) => {
      const expected = oracle[index] as { error: string; loose: string };
      expect(expected.error).toMatch(/host bits set/);
      expect(() => ipNetwork("n", text)).toThrow(`has host bits set; the network is ${expected.loose}`);
    });
  });

  test.each([
    ["10.0.0.0/33"],
    ["2001:db8::/129"],
    ["10.0.0.0/08"],
    ["010.0.0.0/8"],
    ["10.0.0/8"],
    ["fe80::1%eth0"],
    ["::ffff:192.0.2.1"],
    ["2001:db8:::/48"],
    ["example.com/32"],
    [" 10.0.0.0/8"],
    [""],
    [42],
    [null],
  ])("%p is refused", (value) => {
    expect(() => ipNetwork("vpsSshAllowedCidrs[0]", value)).toThrow(
      /^Invalid ai-gateway setting vpsSshAllowedCidrs\[0\] = .*: must be an IPv4 or IPv6 network in CIDR notation/,
    );
  });
});

describe("sshAllowedCidrs", () => {
  test("networks are normalised and duplicates dropped", () => {
    expect(sshAllowedCidrs("vpsSshAllowedCidrs", ["203.0.113.7", "203.0.113.7/32", "2001:DB8::/32"], false)).toEqual([
      "203.0.113.7/32",
      "2001:db8::/32",
    ]);
  });

  test.each([[[]], [undefined]])("%p is refused, naming the setting that opens SSH to everyone", (value) => {
    expect(() => sshAllowedCidrs("vpsSshAllowedCidrs", value, false)).toThrow(
      new RegExp(`must list the networks SSH is allowed from.*set ${SSH_FROM_ANYWHERE_KEY}: true`),
    );
  });

  test.each([["0.0.0.0/0"], ["::/0"], ["0:0::/0"]])("%s is refused unless the whole internet is meant", (everything) => {
    expect(() => sshAllowedCidrs("vpsSshAllowedCidrs", ["203.0.113.7/32", everything], false)).toThrow(
      new RegExp(`opens SSH to the whole internet.*${SSH_FROM_ANYWHERE_KEY}: true to mean it`),
    );
    expect(sshAllowedCidrs("vpsSshAllowedCidrs", [everything], true)).toEqual([ipNetwork("n", everything)]);
  });

  test("with SSH from anywhere, an empty list is fine; a malformed entry is still refused", () => {
    expect(sshAllowedCidrs("vpsSshAllowedCidrs", [], true)).toEqual([]);
    expect(() => sshAllowedCidrs("vpsSshAllowedCidrs", ["nope"], true)).toThrow(SettingError);
    expect(() => sshAllowedCidrs("vpsSshAllowedCidrs", "203.0.113.7/32", false)).toThrow(/must be a list of networks/);
  });
});

describe("publicAllowedCidrs", () => {
  test("unset means everyone", () => {
    expect(publicAllowedCidrs("vpsPublicAllowedCidrs", undefined)).toEqual(["0.0.0.0/0", "::/0"]);
    expect(DEFAULT_PUBLIC_ALLOWED_CIDRS).toEqual(EVERYWHERE);
  });
  test("a list is normalised; an empty one is refused", () => {
    expect(publicAllowedCidrs("vpsPublicAllowedCidrs", ["198.51.100.0/24", "2001:db8:0::/48"])).toEqual([
      "198.51.100.0/24",
      "2001:db8::/48",
    ]);
    expect(() => publicAllowedCidrs("vpsPublicAllowedCidrs", [])).toThrow(/must list at least one network/);
  });
});

/**
 * Evaluates rules the way Hetzner's firewall does for new inbound connections: allowed when some
 * rule's protocol, port and source match, dropped otherwise. Sources are matched by Node's
 * BlockList, not by the code under test.
 */
function allows(rules: readonly FirewallRule[], source: string, protocol: "tcp" | "udp" | "icmp", port?: number): boolean {
  return rules.some((rule) => {
    if (rule.direction !== "in" || rule.protocol !== protocol) {
      return false;
    }
    if (protocol !== "icmp" && rule.port !== String(port)) {
      return false;
    }
    const sources = new BlockList();
    for (const cidr of rule.sourceIps) {
      const [address, prefix] = cidr.split("/");
      sources.addSubnet(address, Number(prefix), isIPv6(address) ? "ipv6" : "ipv4");
    }
    return sources.check(source, isIPv6(source) ? "ipv6" : "ipv4");
  });
}

describe("firewallRules", () => {
  const inputs: FirewallInputs = {
    sshAllowedCidrs: ["203.0.113.0/24", "2001:db8:1::/48"],
    sshFromAnywhere: false,
    publicAllowedCidrs: [...EVERYWHERE],
    publicPorts: [443, 80, 443],
  };

  test("the rule table: SSH from the listed networks, each public port once, ICMP; ports as strings", () => {
    expect(firewallRules(inputs)).toEqual([
      {
        direction: "in",
        protocol: "tcp",
        port: "22",
        sourceIps: ["203.0.113.0/24", "2001:db8:1::/48"],
        description: "SSH from the allowed networks",
      },
      { direction: "in", protocol: "tcp", port: "80", sourceIps: ["0.0.0.0/0", "::/0"], description: "gateway port 80" },
      { direction: "in", protocol: "tcp", port: "443", sourceIps: ["0.0.0.0/0", "::/0"], description: "gateway port 443" },
      { direction: "in", protocol: "icmp", sourceIps: ["0.0.0.0/0", "::/0"], description: "ICMP (path-MTU discovery, ping)" },
    ]);
  });

  test.each([
    ["203.0.113.9", "tcp", 22, true],
    ["2001:db8:1:2::5", "tcp", 22, true],
    ["198.51.100.1", "tcp", 22, false],
    ["2001:db8:2::5", "tcp", 22, false],
    ["198.51.100.1", "tcp", 443, true],
    ["2001:db8:ffff::1", "tcp", 80, true],
    ["203.0.113.9", "tcp", 4000, false],
    ["203.0.113.9", "tcp", 5432, false],
    ["203.0.113.9", "tcp", 2375, false],
    ["203.0.113.9", "udp", 443, false],
    ["198.51.100.1", "icmp", undefined, true],
  ] as const)("from %s, %s port %p: allowed %p (nothing else inbound)", (source, protocol, port, allowed) => {
    expect(allows(firewallRules(inputs), source, protocol, port)).toBe(allowed);
  });

  test("public ports from listed networks only", () => {
    const rules = firewallRules({ ...inputs, publicAllowedCidrs: ["198.51.100.0/24"] });
    expect(allows(rules, "198.51.100.7", "tcp", 443)).toBe(true);
    expect(allows(rules, "192.0.2.7", "tcp", 443)).toBe(false);
  });

  test("SSH from anywhere only when asked, whatever the list says", () => {
    const rules = firewallRules({ ...inputs, sshAllowedCidrs: [], sshFromAnywhere: true });
    expect(rules[0]).toEqual({
      direction: "in",
      protocol: "tcp",
      port: "22",
      sourceIps: ["0.0.0.0/0", "::/0"],
      description: "SSH from anywhere (explicitly allowed)",
    });
    expect(allows(rules, "192.0.2.1", "tcp", 22)).toBe(true);
  });

  test("ICMP can be left out", () => {
    const rules = firewallRules({ ...inputs, allowIcmp: false });
    expect(rules.map((rule) => rule.protocol)).toEqual(["tcp", "tcp", "tcp"]);
    expect(allows(rules, "198.51.100.1", "icmp")).toBe(false);
  });

  test("inputs the validators would have refused are programming errors", () => {
    expect(() => firewallRules({ ...inputs, publicPorts: [22, 443] })).toThrow(/port 22 is SSH's/);
    expect(() => firewallRules({ ...inputs, sshAllowedCidrs: [] })).toThrow(/no networks for SSH/);
    expect(() => firewallRules({ ...inputs, publicAllowedCidrs: [] })).toThrow(/no networks for the public ports/);
  });

  test("the rules do not share arrays with the inputs", () => {
    const rules = firewallRules(inputs);
    rules[0].sourceIps.push("192.0.2.0/24");
    expect(inputs.sshAllowedCidrs).toEqual(["203.0.113.0/24", "2001:db8:1::/48"]);
  });
});
