import { isIPv6 } from "net";
import { SettingError, shown } from "./errors";
import { isIpv4 } from "./validation";

/**
 * The Hetzner Cloud Firewall in front of the VPS (issue 10 item 4): SSH only from configured
 * networks, the gateway's public ports from configured networks (everyone by default), ICMP, and
 * nothing else inbound.
 *
 * Why the cloud firewall and not ufw: Docker DNATs a published port in iptables' PREROUTING, so the
 * packet continues through the FORWARD chain to the container and never meets ufw's rules, which sit
 * in INPUT; `ufw deny 8080` does not close a published 8080 (moby/moby#4737, open upstream since
 * 2014; chaifeng/ufw-docker's README; VERIFIED). Hetzner's firewall filters before traffic reaches the server.
 *
 * Hetzner's semantics (docs.hetzner.com/cloud/firewalls/faq, VERIFIED): inbound has an implicit
 * deny (no inbound rule drops everything); with no outbound rule all outbound traffic is allowed;
 * the firewall is stateful, so replies to the server's own connections (apt, image pulls, LLM
 * providers) need no rule; at most 500 (effective) rules per firewall.
 */

/** The config key that opens SSH to the whole internet; named in messages. */
export const SSH_FROM_ANYWHERE_KEY = "vpsSshFromAnywhere";

/**
 * The firewall label (value "true") that says SSH is open to the whole internet on purpose, so the
 * policy pack's firewall-ssh-not-open accepts the rule. A label, because the policy sees the
 * firewall's inputs and nothing of the stack's settings, and Hetzner updates a firewall's labels
 * in place. Set only with SSH_FROM_ANYWHERE_KEY, so other stacks' firewalls do not change.
 */
export const SSH_FROM_ANYWHERE_LABEL = "ai-gateway.ssh-from-anywhere";

/** Every IPv4 and every IPv6 address. */
export const EVERYWHERE: readonly string[] = ["0.0.0.0/0", "::/0"];

/** Who may reach the gateway's public ports when publicAllowedCidrs is not set: everyone. */
export const DEFAULT_PUBLIC_ALLOWED_CIDRS: readonly string[] = EVERYWHERE;

/** sshd's port (its default); a cloud-init that moves sshd must change this too. */
export const SSH_PORT = 22;

export interface FirewallInputs {
  /** Networks SSH is allowed from (sshAllowedCidrs' result); ignored when sshFromAnywhere. */
  readonly sshAllowedCidrs: readonly string[];
  /** Allow SSH from the whole internet (EVERYWHERE); an explicit choice, off by default. */
  readonly sshFromAnywhere: boolean;
  /** Networks the public ports are allowed from (publicAllowedCidrs' result). */
  readonly publicAllowedCidrs: readonly string[];
  /** TCP ports the gateway publishes (nginx's 80/443 or the configured host ports). */
  readonly publicPorts: readonly number[];
  /**
   * Allow ICMP and ICMPv6 in from everywhere (default true). Path-MTU discovery needs ICMP's
   * "fragmentation needed" and ICMPv6's "packet too big" to reach the server, or large TLS
   * responses stall on links with a smaller MTU (VPNs, PPPoE); Hetzner documents connection
   * tracking for replies, not for such errors, so the rule does not rely on it. Ping helps diagnose
   * the server; ICMP exposes no service. The same rule opens @pulumi/hcloud's Firewall example.
   */
  readonly allowIcmp?: boolean;
}

/**
 * One inbound rule in @pulumi/hcloud 1.41.0's `hcloud.Firewall` `rules` input shape
 * (types/input.d.ts FirewallRule: direction "in" | "out", protocol tcp | udp | icmp | gre | esp,
 * port a string such as "22" or "80-85", required for tcp and udp and absent for icmp; sourceIps
 * for inbound rules; an optional description).
 */
export interface FirewallRule {
  readonly direction: "in";
  readonly protocol: "tcp" | "udp" | "icmp";
  readonly port?: string;
  readonly sourceIps: string[];
  readonly description: string;
}

/**
 * The firewall's inbound rules: SSH (tcp 22), one rule per public port (deduplicated, ascending),
 * ICMP. No outbound rule, so outbound stays open. Throws a plain Error on inputs the validators
 * refuse (no SSH networks, port 22 among the public ports): those are programming errors.
 */
export function firewallRules(inputs: FirewallInputs): FirewallRule[] {
  const ports = [...new Set(inputs.publicPorts)].sort((a, b) => a - b);
  if (ports.includes(SSH_PORT)) {
    throw new Error(`firewallRules: port ${SSH_PORT} is SSH's and cannot also be a public port`);
  }
  if (!inputs.sshFromAnywhere && inputs.sshAllowedCidrs.length === 0) {
    throw new Error("firewallRules: no networks for SSH (validate with sshAllowedCidrs first)");
  }
  if (ports.length > 0 && inputs.publicAllowedCidrs.length === 0) {
    throw new Error("firewallRules: no networks for the public ports (validate with publicAllowedCidrs first)");
  }
  const rules: FirewallRule[] = [
    {
      direction: "in",
      protocol: "tcp",
      port: String(SSH_PORT),
      sourceIps: inputs.sshFromAnywhere ? [...EVERYWHERE] : [...inputs.sshAllowedCidrs],
      description: inputs.sshFromAnywhere ? "SSH from anywhere (explicitly allowed)" : "SSH from the allowed networks",
    },
    ...ports.map((port): FirewallRule => ({
      direction: "in",
      protocol: "tcp",
      port: String(port),
      sourceIps: [...inputs.publicAllowedCidrs],
      description: `gateway port ${port}`,
    })),
  ];
  if (inputs.allowIcmp ?? true) {
    rules.push({ direction: "in", protocol: "icmp", sourceIps: [...EVERYWHERE], description: "ICMP (path-MTU discovery, ping)" });
  }
  return rules;
}

// ---- networks in CIDR notation -------------------------------------------------------------

interface Network {
  readonly family: 4 | 6;
  /** The address as a number (32 or 128 bits). */
  readonly address: bigint;
  readonly prefix: number;
}

function ipv4ToBigint(text: string): bigint {
  return text.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
}

function bigintToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join(".");
}

/** An IPv6 address (hex groups only, no zone, no dotted IPv4 tail) as a 128-bit number. */
function ipv6ToBigint(text: string): bigint | undefined {
  if (!isIPv6(text) || text.includes(".") || text.includes("%")) {
    return undefined;
  }
  const [head, tail] = text.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill("0");
  return [...headGroups, ...zeros, ...tailGroups].reduce((acc, group) => (acc << 16n) | BigInt(`0x${group}`), 0n);
}

/**
 * An IPv6 address in RFC 5952's canonical text: lowercase, no leading zeros, the longest run of two
 * or more zero groups (the first of equal runs) as "::". Hetzner's API returns this form, so a
 * rule written any other way would show as changed on every preview (terraform-provider-hcloud
 * PR #874 normalises for the same reason).
 */
function bigintToIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, index) => Number((value >> BigInt(16 * (7 - index))) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    let end = start;
    while (end < 8 && groups[end] === 0) {
      end++;
    }
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) {
    return hex.join(":");
  }
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

const NETWORK_ALLOWED =
  "must be an IPv4 or IPv6 network in CIDR notation, e.g. 203.0.113.0/24 or 2001:db8::/48, or one address (203.0.113.7 means 203.0.113.7/32)";

/**
 * One network, returned in the form Hetzner stores: a bare address becomes its /32 or /128 (what
 * Hetzner's Cloud Console and provider do with one, terraform-provider-hcloud PR #874), IPv6 is
 * written canonically. Host bits after the prefix are refused with the network named, as the
 * provider refuses them (terraform-provider-hcloud PR #333), instead of silently widening or
 * narrowing what the user wrote.
 */
export function ipNetwork(key: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new SettingError(key, shown(value), NETWORK_ALLOWED);
  }
  const parsed = parseNetwork(value);
  if (parsed === undefined) {
    throw new SettingError(key, shown(value), NETWORK_ALLOWED);
  }
  const bits = parsed.family === 4 ? 32 : 128;
  const hostMask = (1n << BigInt(bits - parsed.prefix)) - 1n;
  const networkAddress = parsed.address & ~hostMask;
  const spelled = `${parsed.family === 4 ? bigintToIpv4(networkAddress) : bigintToIpv6(networkAddress)}/${parsed.prefix}`;
  if ((parsed.address & hostMask) !== 0n) {
    throw new SettingError(key, shown(value), `has host bits set; the network is ${spelled}`);
  }
  return spelled;
}

function parseNetwork(value: string): Network | undefined {
  const match = /^([^/]+)(?:\/([0-9]{1,3}))?$/.exec(value);
  if (!match) {
    return undefined;
  }
  const [, addressText, prefixText] = match;
  if (prefixText !== undefined && prefixText.length > 1 && prefixText.startsWith("0")) {
    return undefined;
  }
  if (isIpv4(addressText)) {
    const prefix = prefixText === undefined ? 32 : Number(prefixText);
    return prefix <= 32 ? { family: 4, address: ipv4ToBigint(addressText), prefix } : undefined;
  }
  const address = ipv6ToBigint(addressText);
  const prefix = prefixText === undefined ? 128 : Number(prefixText);
  return address !== undefined && prefix <= 128 ? { family: 6, address, prefix } : undefined;
}

/** A list of networks (each as `ipNetwork` returns it, duplicates dropped); the list itself must be an array. */
function networkList(key: string, value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw new SettingError(key, shown(value), `must be a list of networks; each ${NETWORK_ALLOWED}`);
  }
  return [...new Set(value.map((entry, index) => ipNetwork(`${key}[${index}]`, entry)))];
}

function isEverything(cidr: string): boolean {
  return cidr.endsWith("/0");
}

/**
 * Networks SSH may come from. An empty or missing list is refused (SSH would be reachable by no one,
 * or by everyone if a caller fell back to a default), and so is a /0 (0.0.0.0/0, ::/0), unless
 * `sshFromAnywhere` (SSH_FROM_ANYWHERE_KEY) says the whole internet is meant.
 */
export function sshAllowedCidrs(key: string, value: unknown, sshFromAnywhere: boolean): string[] {
  const cidrs = networkList(key, value ?? []);
  if (sshFromAnywhere) {
    return cidrs;
  }
  if (cidrs.length === 0) {
    throw new SettingError(
      key,
      shown(value),
      `must list the networks SSH is allowed from, e.g. ["203.0.113.7/32"]; to allow the whole internet, set ${SSH_FROM_ANYWHERE_KEY}: true`,
    );
  }
  const everything = cidrs.find(isEverything);
  if (everything !== undefined) {
    throw new SettingError(
      key,
      shown(value),
      `${everything} opens SSH to the whole internet; list your own networks, or set ${SSH_FROM_ANYWHERE_KEY}: true to mean it`,
    );
  }
  return cidrs;
}

/**
 * Networks the gateway's public ports may be reached from; missing means DEFAULT_PUBLIC_ALLOWED_CIDRS
 * (everyone). An empty list is refused: Hetzner needs at least one source per rule, and a gateway
 * nobody may reach is better expressed by publishing no ports.
 */
export function publicAllowedCidrs(key: string, value: unknown): string[] {
  if (value === undefined) {
    return [...DEFAULT_PUBLIC_ALLOWED_CIDRS];
  }
  const cidrs = networkList(key, value);
  if (cidrs.length === 0) {
    throw new SettingError(
      key,
      shown(value),
      `must list at least one network, e.g. ["203.0.113.0/24"]; leave it unset for everyone (${EVERYWHERE.join(", ")})`,
    );
  }
  return cidrs;
}
