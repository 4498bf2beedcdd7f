/**
 * Bad values are refused before any resource is registered, with one line naming the setting, the
 * value and what is allowed, as a pulumi.RunError (printed without a stack trace).
 */
import * as pulumi from "@pulumi/pulumi";
import { runProgram, stackConfig, withSettings } from "../helpers/program";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";
import { SSH_HOST_KEY } from "../fixtures/sshHostKey";
import { HCLOUD_TOKEN } from "../fixtures/hcloudToken";
import { MOCK_HCLOUD_SSH_KEY } from "../helpers/program";

const SECRET_MASTER_KEY_NO_PREFIX = "zq9ZQ3vR8pL2mN7xK4wB6yT1uH5jD0cF9aS";

// nginx's TLS: a certificate for the domain, one for another name, and the settings that turn TLS on.
const CERT = selfSignedCertificate(["ai.example.com"]);
const OTHER_CERT = selfSignedCertificate(["other.example.com"]);
const TLS_ON = { tls: "true", domain: "ai.example.com" };
const BROKEN_KEY = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
// The Docker endpoint: an ssh:// host with its pinned key, and a tcp:// engine with its TLS material.
const OVER_SSH = { dockerHost: "ssh://deploy@gw.example.com", dockerSshHostKey: SSH_HOST_KEY };
const DOCKER_CA = selfSignedCertificate(["docker-ca.example.com"]);
const DOCKER_CLIENT = selfSignedCertificate(["client"]);
const DOCKER_TLS = { dockerTlsCa: DOCKER_CA.cert, dockerTlsCert: DOCKER_CLIENT.cert, dockerTlsKey: DOCKER_CLIENT.key };
const OVER_TLS = { dockerHost: "tcp://203.0.113.5:2376", ...DOCKER_TLS };
// A Hetzner server: the settings it needs, each row then breaking one.
const VPS_ON = {
  vps: "true",
  vpsSshPublicKeys: JSON.stringify([MOCK_HCLOUD_SSH_KEY.publicKey]),
  vpsSshAllowedCidrs: '["198.51.100.7/32"]',
  "hcloud:token": HCLOUD_TOKEN,
};

type Row = [description: string, overrides: Record<string, string>, expected: RegExp];

const rows: Row[] = [
  ["unknown profile", { profile: "huge" }, /profile = "huge": must be one of small, medium, large/],
  ["profile in the wrong case", { profile: "Medium" }, /profile = "Medium": must be one of small, medium, large/],
  ["unknown budget", { budget: "free" }, /budget = "free": must be one of test, prod, unlimited/],
  ["port above 65535", { httpPort: "80800" }, /httpPort = 80800: must be a whole number from 1024 to 65535, or 80 or 443/],
  ["privileged port other than 80/443", { httpPort: "22" }, /httpPort = 22: must be a whole number from 1024 to 65535, or 80 or 443/],
  ["port zero", { httpPort: "0" }, /httpPort = 0: must be a whole number from 1024/],
  ["fractional port", { httpPort: "8080.5" }, /httpPort = "8080.5": must be a whole number/],
  ["port that is not a number", { httpPort: "http" }, /httpPort = "http": must be a whole number/],
  [
    "admin port 443 (80/443 are for the public listener only)",
    { adminPort: "443" },
    /adminPort = 443: must be a whole number from 1024 to 65535$/,
  ],
  ["admin port equal to the public port", { httpPort: "9000", adminPort: "9000" }, /adminPort = 9000: must differ from httpPort \(9000\)/],
  ["address with an octet above 255", { bindAddress: "256.1.1.1" }, /bindAddress = "256.1.1.1": must be an IPv4 address/],
  ["host name instead of an address", { bindAddress: "localhost" }, /bindAddress = "localhost": must be an IPv4 address/],
  ["IPv6 address", { bindAddress: "::" }, /bindAddress = "::": must be an IPv4 address/],
  ["truncated address", { bindAddress: "10.0.0" }, /bindAddress = "10.0.0": must be an IPv4 address/],
  ["master key without sk-", { masterKey: SECRET_MASTER_KEY_NO_PREFIX }, /masterKey = \[secret, 35 characters\]: must start with "sk-"/],
  ["master key too short", { masterKey: "sk-short" }, /masterKey = \[secret, 8 characters\]: must be at least 32 characters long/],
  ["LiteLLM's refused weak key", { masterKey: "sk-1234" }, /masterKey = \[secret, 7 characters\]: must be at least 32/],
  [
    "ssh Docker host without a user",
    { dockerHost: "ssh://gateway.example.com" },
    /dockerHost = "ssh:\/\/gateway.example.com": must be unix:\/\/\/path/,
  ],
  ["http Docker host", { dockerHost: "http://127.0.0.1:2375" }, /dockerHost = "http:\/\/127.0.0.1:2375": must be unix/],
  [
    "ssh options for a local socket",
    { dockerSshOpts: '["-i","/k"]' },
    /dockerSshOpts = \["-i","\/k"\]: only applies to an ssh:\/\/ dockerHost/,
  ],
  [
    "plain tcp:// Docker engine on another machine (secrets in cleartext)",
    { dockerHost: "tcp://203.0.113.5:2375" },
    /dockerHost = "tcp:\/\/203.0.113.5:2375": is a plain tcp:\/\/ engine on another machine: .*set dockerTlsCa, dockerTlsCert and dockerTlsKey/,
  ],
  [
    "a Docker host too small for the profile",
    { dockerHostMemoryMb: "4096" },
    /^Invalid ai-gateway setting dockerHostMemoryMb = 4096: profile medium needs 5\.4 GB \(4288 MB of container limits \+ 768 MB for the OS and Docker \+ 10% headroom = 5562 MB\); the Docker host has 4096 MB; profiles that fit: small$/,
  ],
  [
    "a Docker host too small for any profile",
    { dockerHostMemoryMb: "2048" },
    /dockerHostMemoryMb = 2048: .* no profile fits: use a bigger host$/,
  ],
  [
    "Docker host memory that is not a positive number",
    { dockerHostMemoryMb: "0" },
    /dockerHostMemoryMb = 0: must be a positive whole number of megabytes \(the total `free -m` shows\), at most 16777216$/,
  ],
  ["Docker host memory in gigabytes", { dockerHostMemoryMb: "8G" }, /dockerHostMemoryMb = "8G": must be a whole number$/],
  ["Docker TLS material for the local socket", DOCKER_TLS, /dockerTlsCa = \[secret\]: only applies to a tcp:\/\/ dockerHost/],
  [
    "Docker TLS material for an ssh:// host",
    { ...OVER_SSH, ...DOCKER_TLS },
    /dockerTlsCa = \[secret\]: only applies to a tcp:\/\/ dockerHost \(dockerHost is "ssh:\/\/deploy@gw.example.com"\)/,
  ],
  [
    "Docker TLS without the client key",
    { dockerHost: "tcp://203.0.113.5:2376", dockerTlsCa: DOCKER_CA.cert, dockerTlsCert: DOCKER_CLIENT.cert },
    /dockerTlsKey = undefined: is required with dockerTlsCa and dockerTlsCert/,
  ],
  [
    "Docker TLS CA that is not PEM",
    { ...OVER_TLS, dockerTlsCa: "not a certificate" },
    /dockerTlsCa = \[secret, 17 characters\]: must be a PEM certificate \(BEGIN CERTIFICATE blocks\)/,
  ],
  [
    "Docker client key of another certificate",
    { ...OVER_TLS, dockerTlsKey: DOCKER_CA.key },
    /dockerTlsKey = \[secret, \d+ characters\]: does not belong to dockerTlsCert/,
  ],
  [
    "Docker client key that does not parse",
    { ...OVER_TLS, dockerTlsKey: BROKEN_KEY },
    /dockerTlsKey = \[secret, \d+ characters\]: does not parse as a PEM private key/,
  ],
  [
    "ssh Docker host without a pinned host key",
    { dockerHost: "ssh://deploy@gw.example.com" },
    /dockerSshHostKey = undefined: is required with an ssh:\/\/ dockerHost: .*ssh-keygen -F gw.example.com/,
  ],
  [
    "ssh host key whose base64 is not a key of its type",
    { ...OVER_SSH, dockerSshHostKey: "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ" },
    /dockerSshHostKey = "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ": does not hold a ssh-ed25519 key/,
  ],
  [
    "ssh host key of a refused type (DSA)",
    { ...OVER_SSH, dockerSshHostKey: "ssh-dss AAAAB3NzaC1kc3MAAACBAP" },
    /dockerSshHostKey = "ssh-dss .*: must be the Docker host's ssh public key/,
  ],
  ["ssh host key as a CA line", { ...OVER_SSH, dockerSshHostKey: `@cert-authority * ${SSH_HOST_KEY}` }, /is a @cert-authority line/],
  [
    "ssh host key for the local socket",
    { dockerSshHostKey: SSH_HOST_KEY },
    /dockerSshHostKey = "ssh-ed25519 .*": only applies to an ssh:\/\/ dockerHost/,
  ],
  [
    "ssh option that runs a command (ProxyCommand)",
    { ...OVER_SSH, dockerSshOpts: `["-oProxyCommand=sh -c 'touch pwned-ssh; nc %h %p'"]` },
    /dockerSshOpts = "ProxyCommand=sh -c 'touch pwned-ssh; nc %h %p'": ProxyCommand runs a local command; allowed: -i/,
  ],
  [
    "ssh option that runs a command (LocalCommand, as -o Key value)",
    { ...OVER_SSH, dockerSshOpts: '["-o","LocalCommand touch pwned"]' },
    /dockerSshOpts = "LocalCommand touch pwned": LocalCommand runs a local command/,
  ],
  [
    "ssh option that runs a command (KnownHostsCommand, any case)",
    { ...OVER_SSH, dockerSshOpts: '["-o","knownhostscommand=/bin/sh -c id"]' },
    /dockerSshOpts = "knownhostscommand=\/bin\/sh -c id": knownhostscommand runs a local command/,
  ],
  [
    "ssh config file option -F",
    { ...OVER_SSH, dockerSshOpts: '["-F","evil_config"]' },
    /dockerSshOpts = "-F": -F reads another ssh config file/,
  ],
  [
    "ssh host key checking turned off",
    { ...OVER_SSH, dockerSshOpts: '["-o","StrictHostKeyChecking=no"]' },
    /dockerSshOpts = "StrictHostKeyChecking=no": StrictHostKeyChecking must stay yes/,
  ],
  [
    "ssh known_hosts replaced",
    { ...OVER_SSH, dockerSshOpts: '["-o","UserKnownHostsFile /dev/null"]' },
    /dockerSshOpts = "UserKnownHostsFile \/dev\/null": UserKnownHostsFile is the stack's own/,
  ],
  [
    "bare argument among the ssh options",
    { ...OVER_SSH, dockerSshOpts: '["-i","/k","other.example.com"]' },
    /dockerSshOpts = "other.example.com": is not an ssh option or the value of the option before it/,
  ],
  [
    "ProxyJump whose host is a shell command",
    { ...OVER_SSH, dockerSshOpts: '["-J","jump;touch pwned"]' },
    /dockerSshOpts = "jump;touch pwned": is not a value -J takes here/,
  ],
  [
    "floating LiteLLM tag",
    { litellmImage: "ghcr.io/berriai/litellm:main-stable" },
    /litellmImage = "ghcr.io\/berriai\/litellm:main-stable": "main-stable" is a rolling tag/,
  ],
  ["image without a tag", { nginxImage: "nginx" }, /nginxImage = "nginx": has no tag, which means "latest"/],
  ["major-only postgres tag", { postgresImage: "postgres:16" }, /postgresImage = "postgres:16": "16" is a rolling tag/],
  ["rolling Redis tag", { redisImage: "redis:alpine" }, /redisImage = "redis:alpine": "alpine" is a rolling tag/],
  ["latest Open WebUI", { openWebuiImage: "ghcr.io/open-webui/open-webui:latest" }, /openWebuiImage = .*"latest" is a rolling tag/],
  ["misspelt setting", { profle: "small" }, /profle = "small": is not a setting of ai-gateway; known settings: .*\bprofile\b/],
  ["non-boolean ephemeral", { ephemeral: "yes" }, /ephemeral = "yes": must be true or false/],
  [
    "an ephemeral stack on a permanent stack's port",
    { ephemeral: "true", httpPort: "8081" },
    /^Invalid ai-gateway setting httpPort = 8081: is a port of permanent stack small \(Pulumi\.small\.yaml\) on the same Docker host; unset httpPort on this ephemeral stack to get one derived from its name$/,
  ],
  [
    "an ephemeral stack's admin port on a permanent stack's",
    { ephemeral: "true", adminPort: "4003" },
    /adminPort = 4003: is a port of permanent stack large \(Pulumi\.large\.yaml\)/,
  ],
  [
    "a preview TTL that is not a positive duration",
    { ephemeral: "true", previewTtl: "0h" },
    /previewTtl = "0h": must be a positive whole number of minutes, hours or days: <n>m, <n>h or <n>d, e.g. 90m, 12h, 3d$/,
  ],
  ["a preview TTL without a unit", { ephemeral: "true", previewTtl: "24" }, /previewTtl = "24": must be a positive whole number/],
  ["a preview TTL on a permanent stack", { previewTtl: "12h" }, /previewTtl = "12h": only applies to an ephemeral stack/],
  ["non-boolean openWebuiEgress", { openWebuiEgress: "1" }, /openWebuiEgress = "1": must be true or false/],
  [
    "model without a model string",
    { models: '[{"name":"gpt-4o"}]' },
    /models\[0\]\.model = undefined: must be LiteLLM's provider\/model string/,
  ],
  [
    "model whose provider LiteLLM does not know",
    { models: '[{"name":"a","model":"gpt4/a"}]' },
    /models\[0\]\.model = "gpt4\/a": names provider "gpt4", which LiteLLM 1.110.1 does not know/,
  ],
  [
    "model string naming an environment variable (F13)",
    { models: '[{"name":"a","model":"os.environ/LITELLM_MASTER_KEY"}]' },
    /models\[0\]\.model = "os.environ\/LITELLM_MASTER_KEY": is an environment reference LiteLLM would resolve/,
  ],
  [
    "model name naming an environment variable",
    { models: '[{"name":"os.environ/LITELLM_MASTER_KEY","model":"openai/a"}]' },
    /models\[0\]\.name = "os.environ\/LITELLM_MASTER_KEY": must be 1-128 letters/,
  ],
  [
    "model string with YAML and shell syntax",
    { models: '[{"name":"a","model":"openai/a b"}]' },
    /models\[0\]\.model = "openai\/a b": must be LiteLLM's provider\/model string/,
  ],
  [
    "model endpoint with credentials (F7)",
    { models: '[{"name":"a","model":"openai/a","apiBase":"https://user:s3cret@llm.internal/v1"}]' },
    /models\[0\]\.apiBase = "https:\/\/user:s3cret@llm.internal\/v1": must be an http:\/\/ or https:\/\/ URL without user:password@/,
  ],
  [
    "model endpoint with a query",
    { models: '[{"name":"a","model":"openai/a","apiBase":"https://llm.internal/v1?api-key=abc"}]' },
    /models\[0\]\.apiBase = "https:\/\/llm.internal\/v1\?api-key=abc": must be an http/,
  ],
  [
    "model endpoint with a fragment",
    { models: '[{"name":"a","model":"openai/a","apiBase":"https://llm.internal/v1#x"}]' },
    /models\[0\]\.apiBase = "https:\/\/llm.internal\/v1#x": must be an http/,
  ],
  [
    "model endpoint with surrounding whitespace",
    { models: '[{"name":"a","model":"openai/a","apiBase":" http://llm.internal/\\n"}]' },
    /models\[0\]\.apiBase = " http:\/\/llm.internal\/\\n": must be an http/,
  ],
  [
    "model endpoint at the cloud metadata address",
    { models: '[{"name":"a","model":"openai/a","apiBase":"http://169.254.169.254/latest/"}]' },
    /models\[0\]\.apiBase = "http:\/\/169.254.169.254\/latest\/": is a link-local \(cloud metadata\) address/,
  ],
  [
    "model endpoint at the metadata address spelt as a number",
    { models: '[{"name":"a","model":"openai/a","apiBase":"http://2852039166/"}]' },
    /models\[0\]\.apiBase = "http:\/\/2852039166\/": is a link-local/,
  ],
  [
    "model with an unknown field",
    { models: '[{"name":"a","model":"openai/a","key":"x"}]' },
    /models\[0\]\.key = "x": is not a model field/,
  ],
  [
    "model using an undeclared provider key",
    { models: '[{"name":"a","model":"openai/a","apiKeyEnv":"OPENAI_API_KEY"}]' },
    /models\[0\]\.apiKeyEnv = "OPENAI_API_KEY": names a provider key, but providerApiKeys is empty/,
  ],
  [
    "duplicate model names",
    { models: '[{"name":"a","model":"openai/a"},{"name":"a","model":"openai/b"}]' },
    /models\[1\]\.name = "a": is declared twice/,
  ],
  [
    "provider key with a lower-case name",
    { providerApiKeys: '{"openai_key":"sk-x"}' },
    /providerApiKeys = "openai_key": each name must be an environment variable name/,
  ],
  [
    "provider key shadowing the gateway's own variable",
    { providerApiKeys: '{"DATABASE_URL":"postgres://x"}' },
    /providerApiKeys = "DATABASE_URL": is set by the gateway itself/,
  ],
  [
    "provider key shadowing the Redis password LiteLLM reads",
    { providerApiKeys: '{"REDIS_PASSWORD":"x"}' },
    /providerApiKeys = "REDIS_PASSWORD": is set by the gateway itself/,
  ],
  // review-security.md F12: ten names that steer LiteLLM's process rather than authenticate it.
  ...(
    [
      ["LD_PRELOAD", "the dynamic loader"],
      ["PYTHONPATH", "the Python"],
      ["HTTPS_PROXY", "egress"],
      ["SSL_CERT_FILE", "TLS trust"],
      ["PATH", "the process environment"],
      ["PRISMA_QUERY_ENGINE_LIBRARY", "the database client"],
      ["LITELLM_LOCAL_MODEL_COST_MAP", "LiteLLM's own settings"],
      ["DISABLE_ADMIN_UI", "LiteLLM's own settings"],
      ["PROXY_BASE_URL", "LiteLLM's own settings"],
      ["DIRECT_URL", "the database client"],
      ["REQUESTS_CA_BUNDLE", "TLS trust"],
      ["PORT", "LiteLLM's command line"],
    ] as const
  ).map(([name, family]): Row => [
    `provider key named ${name}`,
    { providerApiKeys: JSON.stringify({ [name]: "x" }) },
    new RegExp(`providerApiKeys = "${name}": controls ${family}.*, not a provider credential; refused are LD_\\*`),
  ]),
  [
    "public URL with a path",
    { publicUrl: "https://ai.example.com/chat" },
    /publicUrl = "https:\/\/ai.example.com\/chat": must be an http:\/\/ or https:\/\/ origin \(host name or IPv4 address, optional port\) without a path/,
  ],
  // review-security.md F5: values WHATWG URL accepted and nginx.conf, Open WebUI's CORS list or
  // exampleCurl would have carried.
  [
    "public URL naming an nginx variable",
    { publicUrl: "https://$http_x_target" },
    /publicUrl = "https:\/\/\$http_x_target": must be an http/,
  ],
  [
    "public URL closing nginx blocks",
    { publicUrl: "https://ai.example.com;}}server{types{" },
    /publicUrl = "https:\/\/ai.example.com;}}server{types{": must be an http/,
  ],
  [
    "public URL ending an nginx directive",
    { publicUrl: "https://ai.example.com;b" },
    /publicUrl = "https:\/\/ai.example.com;b": must be an http/,
  ],
  [
    "public URL longer than any host name",
    { publicUrl: `https://${"a".repeat(5000)}.com` },
    /publicUrl = "https:\/\/a{32}"\.\.\. \(5012 characters\): is longer than 268 characters/,
  ],
  [
    "public URL adding a CORS wildcard",
    { publicUrl: "http://ai.example.com;*" },
    /publicUrl = "http:\/\/ai.example.com;\*": must be an http/,
  ],
  ["public URL with a fullwidth semicolon", { publicUrl: "https://a\uff1bb.com" }, /publicUrl = "https:\/\/a\uff1bb.com": must be an http/],
  [
    "public URL with shell brace expansion",
    { publicUrl: "http://x$({touch,pwned4}).com" },
    /publicUrl = "http:\/\/x\$\({touch,pwned4}\).com": must be an http/,
  ],
  ["public URL with a tab", { publicUrl: "https://ai.exa\tmple.com" }, /publicUrl = "https:\/\/ai.exa\\tmple.com": must be an http/],
  ["public URL with a newline", { publicUrl: "https://ai.example.com\n" }, /publicUrl = "https:\/\/ai.example.com\\n": must be an http/],
  ["public URL with user info", { publicUrl: "https://u@ai.example.com" }, /publicUrl = "https:\/\/u@ai.example.com": must be an http/],
  [
    "public URL with a percent-encoded dot",
    { publicUrl: "https://ai%2Eexample.com" },
    /publicUrl = "https:\/\/ai%2Eexample.com": must be an http/,
  ],
  [
    "public URL with a query",
    { publicUrl: "https://ai.example.com/?a=b" },
    /publicUrl = "https:\/\/ai.example.com\/\?a=b": must be an http/,
  ],
  ["public URL with an octal IPv4 address", { publicUrl: "http://010.0.0.1" }, /publicUrl = "http:\/\/010.0.0.1": must be an http/],
  ["public URL with a hex IPv4 address", { publicUrl: "http://0x7f.1:8080" }, /publicUrl = "http:\/\/0x7f.1:8080": must be an http/],
  ["public URL with port 0", { publicUrl: "http://ai.example.com:0" }, /publicUrl = "http:\/\/ai.example.com:0": must be an http/],
  [
    "public URL with port 65536",
    { publicUrl: "http://ai.example.com:65536" },
    /publicUrl = "http:\/\/ai.example.com:65536": must be an http/,
  ],
  ["admin email Open WebUI would reject", { adminEmail: "admin@localhost" }, /adminEmail = "admin@localhost": must be an email address/],
  ["admin user name with a space", { adminUsername: "the admin" }, /adminUsername = "the admin": must be 1-64 letters/],
  [
    "API rate limit of zero",
    { apiRateLimitPerMinute: "0" },
    /apiRateLimitPerMinute = 0: must be a positive whole number of requests per minute/,
  ],
  ["negative API rate limit", { apiRateLimitPerMinute: "-60" }, /apiRateLimitPerMinute = -60: must be a positive whole number/],
  ["API rate limit that is not a number", { apiRateLimitPerMinute: "fast" }, /apiRateLimitPerMinute = "fast": must be a whole number/],
  [
    "admin allow-list entry that is not a CIDR",
    { adminAllowedCidrs: '["intranet"]' },
    /adminAllowedCidrs\[0\] = "intranet": must be an IPv4 network in CIDR/,
  ],
  [
    "admin allow-list prefix above 32",
    { adminAllowedCidrs: '["10.0.0.0/8","10.0.0.0/33"]' },
    /adminAllowedCidrs\[1\] = "10.0.0.0\/33": must be an IPv4 network/,
  ],
  [
    "admin allow-list entry with host bits set",
    { adminAllowedCidrs: '["10.8.0.1/24"]' },
    /adminAllowedCidrs\[0\] = "10.8.0.1\/24": has host bits set; the network is 10.8.0.0\/24/,
  ],
  [
    "admin allow-list of the whole Internet, with the admin listener on every interface",
    { adminBindAddress: "0.0.0.0", adminAllowedCidrs: '["0.0.0.0/0"]' },
    /adminAllowedCidrs\[0\] = "0.0.0.0\/0": covers 4294967296 addresses, public Internet ones included, .*the widest network accepted is a \/8/,
  ],
  [
    "admin allow-list of half the Internet (two /1 would make /0)",
    { adminAllowedCidrs: '["10.8.0.0/24","0.0.0.0/1"]' },
    /adminAllowedCidrs\[1\] = "0.0.0.0\/1": covers 2147483648 addresses/,
  ],
  [
    "trusted proxy without a prefix length",
    { trustedProxies: '["10.0.0.1"]' },
    /trustedProxies\[0\] = "10.0.0.1": must be an IPv4 network in CIDR/,
  ],
  [
    "every address as a trusted proxy",
    { trustedProxies: '["0.0.0.0/0"]' },
    /trustedProxies\[0\] = "0.0.0.0\/0": covers 4294967296 addresses, .*choose the client address and scheme nginx believes; the widest network accepted is a \/8/,
  ],
  [
    "a trusted proxy network wider than a /8",
    { trustedProxies: '["172.0.0.0/7"]' },
    /trustedProxies\[0\] = "172.0.0.0\/7": covers 33554432/,
  ],
  [
    "admin listener on every interface without an allow-list",
    { adminBindAddress: "0.0.0.0" },
    /adminBindAddress = "0.0.0.0": publishes LiteLLM's admin UI/,
  ],
  ["TLS without a domain", { tls: "true" }, /domain = undefined: is required when tls is true/],
  [
    "TLS enabled without a certificate",
    TLS_ON,
    /tlsCertificate = undefined: is required when tls is true: pulumi config set --secret tlsCertificate/,
  ],
  ["TLS certificate without its key", { ...TLS_ON, tlsCertificate: CERT.cert }, /tlsKey = undefined: is required when tls is true/],
  [
    "certificate that is not PEM",
    { ...TLS_ON, tlsCertificate: "not a certificate", tlsKey: CERT.key },
    /tlsCertificate = \[secret, 17 characters\]: must be a PEM certificate chain/,
  ],
  [
    "PEM certificate whose body does not parse",
    { ...TLS_ON, tlsCertificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", tlsKey: CERT.key },
    /tlsCertificate = \[secret, \d+ characters\]: certificate 1 of the chain does not parse as a PEM X.509 certificate/,
  ],
  [
    "the key given as the certificate",
    { ...TLS_ON, tlsCertificate: CERT.key, tlsKey: CERT.key },
    /tlsCertificate = \[secret, \d+ characters\]: holds a private key/,
  ],
  [
    "key that does not parse",
    { ...TLS_ON, tlsCertificate: CERT.cert, tlsKey: BROKEN_KEY },
    /tlsKey = \[secret, \d+ characters\]: does not parse as a PEM private key/,
  ],
  [
    "key of another certificate",
    { ...TLS_ON, tlsCertificate: CERT.cert, tlsKey: OTHER_CERT.key },
    /tlsKey = \[secret, \d+ characters\]: does not belong to tlsCertificate/,
  ],
  [
    "certificate for another name",
    { ...TLS_ON, tlsCertificate: OTHER_CERT.cert, tlsKey: OTHER_CERT.key },
    /domain = "ai.example.com": is not a name tlsCertificate covers \(DNS:other.example.com\)/,
  ],
  ["certificate without tls", { tlsCertificate: CERT.cert, tlsKey: CERT.key }, /tls = false: is not true, but tlsCertificate is set/],
  [
    "plain-HTTP public URL with TLS",
    { ...TLS_ON, tlsCertificate: CERT.cert, tlsKey: CERT.key, publicUrl: "http://ai.example.com" },
    /publicUrl = "http:\/\/ai.example.com": must be an https:\/\/ origin when tls is true/,
  ],
  [
    "HTTPS public URL on another host than domain",
    { ...TLS_ON, tlsCertificate: CERT.cert, tlsKey: CERT.key, publicUrl: "https://evil.example" },
    /publicUrl = "https:\/\/evil.example": must be on domain \(ai.example.com\) when tls is true/,
  ],
  [
    "HTTPS port equal to the public port",
    { ...TLS_ON, tlsCertificate: CERT.cert, tlsKey: CERT.key, httpPort: "8443", httpsPort: "8443" },
    /httpsPort = 8443: must differ from httpPort \(8443\)/,
  ],
  ["API key with an empty name", { apiKeys: '[{"name":""}]' }, /apiKeys\[0\]\.name = "": must be a non-empty name/],
  ["API key name used twice", { apiKeys: '[{"name":"ci"},{"name":"ci"}]' }, /apiKeys\[1\]\.name = "ci": is declared twice/],
  [
    "API key named like Open WebUI's own",
    { apiKeys: '[{"name":"open-webui"}]' },
    /apiKeys\[0\]\.name = "open-webui": is Open WebUI's own key/,
  ],
  [
    "negative key budget",
    { apiKeys: '[{"name":"ci","maxBudget":-5}]' },
    /apiKeys\[0\]\.maxBudget = -5: must be a number of US dollars, 0 or more/,
  ],
  [
    "unknown key budget profile",
    { apiKeys: '[{"name":"ci","budget":"gold"}]' },
    /apiKeys\[0\]\.budget = "gold": must be one of test, prod, unlimited/,
  ],
  [
    "budget period LiteLLM refuses (months other than 1)",
    { apiKeys: '[{"name":"ci","maxBudget":5,"budgetDuration":"2mo"}]' },
    /apiKeys\[0\]\.budgetDuration = "2mo": LiteLLM resets monthly budgets only every month: use 1mo/,
  ],
  [
    "rate limit that is not a whole number",
    { apiKeys: '[{"name":"ci","rpmLimit":0.5}]' },
    /apiKeys\[0\]\.rpmLimit = 0.5: must be a positive whole number of requests per minute/,
  ],
  [
    "supplied key value without sk-",
    { apiKeyValues: '{"agents":"pk-0123456789abcdefghijklmnopqrstuvwxyz"}' },
    /apiKeyValues\.agents = \[secret, 39 characters\]: must start with "sk-"/,
  ],
  [
    "supplied key value shorter than allowed",
    { apiKeyValues: '{"agents":"sk-0123456789"}' },
    /apiKeyValues\.agents = \[secret, 13 characters\]: must be sk- followed by at least 29 letters/,
  ],
  [
    "supplied key value with shell syntax",
    { apiKeyValues: '{"agents":"sk-$(touch${IFS}pwned3)aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}' },
    /apiKeyValues\.agents = \[secret, 53 characters\]: must be sk- followed by at least 29 letters, digits, '_' or '-'/,
  ],
  [
    "supplied value for an undeclared key",
    { apiKeyValues: '{"ghost":"sk-0123456789abcdefghijklmnopqrstuvwxyz"}' },
    /apiKeyValues\.ghost = \[secret\]: names no declared key; declared: open-webui, agents/,
  ],
  ["Continue.dev key that is not declared", { continueKey: "nobody" }, /continueKey = "nobody": must name one of apiKeys: agents/],
  [
    "Continue.dev models without any agent key",
    { apiKeys: "[]", continueModels: '["gpt-4o"]' },
    /continueModels = \["gpt-4o"\]: needs a key that is not Open WebUI's/,
  ],
  [
    "Continue.dev model closing a shell quote",
    { continueModels: `["gpt-4o","x'; touch pwned2; echo '"]` },
    /continueModels\[1\] = "x'; touch pwned2; echo '": must be 1-128 letters, digits/,
  ],
  ["Anthropic tier out of range", { continueAnthropicTier: "5" }, /continueAnthropicTier = 5: must be 1, 2, 3 or 4/],
  [
    "VPS without an hcloud token",
    { ...VPS_ON, "hcloud:token": undefined as unknown as string },
    /hcloud:token = \(not set\): is required with vps: true: a Hetzner Cloud API token/,
  ],
  [
    "hcloud token of the wrong length",
    { ...VPS_ON, "hcloud:token": "abc123" },
    /hcloud:token = \[secret\]: must be a Hetzner Cloud API token: 64 letters and digits \(it has 6 characters\)/,
  ],
  [
    "unknown server type",
    { ...VPS_ON, vpsServerType: "cx99" },
    /vpsServerType = "cx99": is not a Hetzner server type that can be ordered; types sold in fsn1 that fit: cpx32 \(8 GB/,
  ],
  ["unknown location", { ...VPS_ON, vpsLocation: "fra1" }, /vpsLocation = "fra1": must be one of fsn1 \(Falkenstein/],
  [
    "server type not sold in the location",
    { ...VPS_ON, vpsLocation: "ash", vpsServerType: "cpx32" },
    /vpsServerType = "cpx32": is not sold in ash; it is sold in .*; types sold in ash that fit: /,
  ],
  [
    "server type too small for the profile",
    { ...VPS_ON, vpsServerType: "cpx22" },
    /vpsServerType = "cpx22": profile medium needs 5.4 GB \(.*\); server type cpx22 has \d+ MB usable; types that fit in fsn1: cpx32/,
  ],
  [
    "image the user data is not written for",
    { ...VPS_ON, vpsImage: "fedora-42" },
    /vpsImage = "fedora-42": must be one of ubuntu-24.04, debian-13/,
  ],
  [
    "malformed SSH allow-list network",
    { ...VPS_ON, vpsSshAllowedCidrs: '["198.51.100.7/33"]' },
    /vpsSshAllowedCidrs\[0\] = "198.51.100.7\/33": must be an IPv4 or IPv6 network in CIDR notation/,
  ],
  [
    "empty SSH allow-list",
    { ...VPS_ON, vpsSshAllowedCidrs: "[]" },
    /vpsSshAllowedCidrs = \[\]: must list the networks SSH is allowed from, e.g. \["203.0.113.7\/32"\]; to allow the whole internet, set vpsSshFromAnywhere: true/,
  ],
  [
    "SSH from the whole internet without saying so",
    { ...VPS_ON, vpsSshAllowedCidrs: '["0.0.0.0/0"]' },
    /vpsSshAllowedCidrs = \["0.0.0.0\/0"\]: 0.0.0.0\/0 opens SSH to the whole internet/,
  ],
  [
    "malformed public-port network",
    { ...VPS_ON, vpsPublicAllowedCidrs: '["everyone"]' },
    /vpsPublicAllowedCidrs\[0\] = "everyone": must be an IPv4 or IPv6 network/,
  ],
  [
    "malformed SSH public key",
    { ...VPS_ON, vpsSshPublicKeys: '["ssh-ed25519 AAAAnotakey me@laptop"]' },
    /vpsSshPublicKeys\[0\] = "ssh-ed25519 AAAAnotakey me@laptop": .*an OpenSSH public key line/,
  ],
  [
    "no SSH public key",
    { ...VPS_ON, vpsSshPublicKeys: "[]" },
    /vpsSshPublicKeys = \[\]: must be a non-empty list of OpenSSH public key lines/,
  ],
  [
    "volume below Hetzner's minimum",
    { ...VPS_ON, vpsVolumeSizeGb: "5" },
    /vpsVolumeSizeGb = 5: must be a whole number of GB from 10 to 10240/,
  ],
  ["deploy user root", { ...VPS_ON, vpsDeployUser: "root" }, /vpsDeployUser = "root": /],
  [
    "a Docker host next to the VPS",
    { ...VPS_ON, dockerHost: "ssh://deploy@gw.example.com" },
    /dockerHost = "ssh:\/\/deploy@gw.example.com": must be unset with vps: true: the provisioned server is the Docker host/,
  ],
  ["a VPS setting without vps", { vpsServerType: "cpx32" }, /vpsServerType = "cpx32": only applies with vps: true/],
  ["a retention of zero days", { spendLogRetention: "0d" }, /spendLogRetention = "0d": must be a positive whole number of hours or days/],
  ["a retention in minutes", { spendLogRetention: "90m" }, /spendLogRetention = "90m": must be a positive whole number of hours or days/],
  ["a retention that is not a duration", { spendLogRetention: "forever" }, /spendLogRetention = "forever": must be a positive/],
  ["a password version of zero", { postgresPasswordVersion: "0" }, /postgresPasswordVersion = 0: must be a whole number from 1 to 1000000/],
  ["a master key version that is not a number", { masterKeyVersion: "next" }, /masterKeyVersion = "next": must be a whole number$/],
  ["a negative WEBUI_SECRET_KEY version", { webuiSecretKeyVersion: "-2" }, /webuiSecretKeyVersion = -2: must be a whole number from 1/],
];

describe("bad config is refused before anything is registered", () => {
  test("the table covers at least 20 cases", () => {
    expect(rows.length).toBeGreaterThanOrEqual(20);
  });

  test.each(rows)("%s", async (_description, overrides, expected) => {
    const config = withSettings(stackConfig("medium"), overrides);
    const run = await runProgram({ stack: "medium", config });
    expect(run.error).toBeDefined();
    expect(pulumi.RunError.isInstance(run.error)).toBe(true);
    const message = run.error!.message;
    expect(message).toMatch(/^Invalid ai-gateway setting /);
    expect(message).toMatch(expected);
    expect(message).not.toContain("\n");
    expect(message).not.toContain(SECRET_MASTER_KEY_NO_PREFIX);
    expect(message).not.toContain("-----BEGIN");
    expect(run.resources).toHaveLength(0);
  });
});
