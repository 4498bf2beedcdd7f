"""Makes LiteLLM's database agree with the virtual keys the stack declares.

Runs inside the LiteLLM container (with the image's own python3, standard library only), started by
the gateway's key registration over `docker exec`. It talks to LiteLLM on 127.0.0.1, so the master
key never crosses a network outside the Docker host, and it reads everything secret from stdin, so
no key appears on a command line or in `docker inspect`.

stdin, one JSON object:
  baseUrl    LiteLLM's URL (default http://127.0.0.1:4000)
  masterKey  LiteLLM's master key
  mode       "check" (read only: report whether the database agrees) or "apply"
  keys       declared keys: {alias, key, models, max_budget, budget_duration, rpm_limit, tpm_limit}
  remove     keys the stack managed before and no longer declares: {alias, key}

stdout, one JSON object: {"inSync": bool, "created": [...], "updated": [...], "deleted": [...],
"unchanged": [...]}, listing key aliases only. Keys are never printed.

Exit status: 0 on success; 1 when LiteLLM refused a call (its own error text on stderr); 2 when
LiteLLM could not be reached; 3 on bad input.

Keys travel in request bodies only, never in a URL (a URL lands in access logs): a key is looked up
with POST /v2/key/info {"keys": [key]}, not GET /key/info?key=. Error text is scrubbed of key
material (the master key, every key of the input, anything shaped sk-...) and capped before it
is printed, because it ends up in `pulumi up` output and CI logs.

LiteLLM facts this relies on (docs/litellm-facts.md, litellm 1.110.1
proxy/management_endpoints/key_management_endpoints.py): /key/generate with an existing custom key
answers 200 and creates nothing, so the key is looked up first; /v2/key/info (info_key_fn_v2,
admin only through user_api_key_auth) answers {"key": [...], "info": [rows without their token]}
from the table of live keys only, so an unknown or deleted key gives an empty list; aliases are unique across all keys (400 otherwise); older versions
refused a key's own alias re-sent to /key/update, so an alias is only sent when it changes;
/key/update keeps the key's spend, so a budget change never resets what was spent; /key/delete
answers 404 when none of the keys exists, so only keys /key/info shows as live are deleted. An
alias held by a key the stack no longer knows is taken over (see create).
"""

import ast
import json
import re
import sys
import urllib.error
import urllib.request

# Fields compared between the declaration and LiteLLM's record, and sent on create/update.
MANAGED_FIELDS = ("models", "max_budget", "budget_duration", "rpm_limit", "tpm_limit")
TIMEOUT_SECONDS = 30
# Longest error text printed: LiteLLM's messages are one sentence; a page of HTML or a traceback is not.
MAX_ERROR_CHARS = 500
KEY_SHAPED = re.compile(r"sk-[A-Za-z0-9_-]{8,}")


def scrub(text, secrets):
    """`text` without any of `secrets` (replaced exactly, longest first) and without anything shaped
    like a LiteLLM key, capped at MAX_ERROR_CHARS."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "[secret]")
    text = KEY_SHAPED.sub("sk-\u2026", text)
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "\u2026 (truncated)"


class LitellmError(Exception):
    """LiteLLM answered with an error status."""

    def __init__(self, method, path, status, body):
        super().__init__(f"LiteLLM answered {status} to {method} {path}: {body}")


class Unreachable(Exception):
    """LiteLLM did not answer."""


def error_text(raw):
    """LiteLLM's own message out of its error envelope, or the raw body. Many of LiteLLM's messages
    are a Python dict printed as text ("{'error': '...'}", openai_shaped_proxy_exception): the
    text inside is what the user needs."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.strip()[:MAX_ERROR_CHARS]
    error = body.get("error", body.get("detail", body)) if isinstance(body, dict) else body
    if isinstance(error, dict):
        error = error.get("message", error.get("error", error))
    if isinstance(error, str) and error.startswith("{"):
        try:
            printed = ast.literal_eval(error)
        except (ValueError, SyntaxError):
            printed = None
        if isinstance(printed, dict) and isinstance(printed.get("error"), str):
            return printed["error"]
    return str(error)


class Client:
    def __init__(self, base_url, master_key):
        self.base_url = base_url.rstrip("/")
        self.master_key = master_key

    def call(self, method, path, body=None):
        """No query strings: anything the call carries goes in the body."""
        url = self.base_url + path
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.master_key)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                raw = response.read().decode("utf-8", "replace")
                return response.status, (json.loads(raw) if raw else {})
        except urllib.error.HTTPError as e:
            raw = e.read().decode("utf-8", "replace")
            return e.code, error_text(raw)
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise Unreachable(f"cannot reach LiteLLM at {self.base_url}: {reason}") from None

    def expect_ok(self, method, path, body=None):
        status, answer = self.call(method, path, body)
        if status >= 400:
            raise LitellmError(method, path, status, answer)
        return answer

    def info(self, key):
        """The key's record, or None when LiteLLM holds no live key of that value."""
        records = self.expect_ok("POST", "/v2/key/info", {"keys": [key]}).get("info") or []
        return records[0] if records else None


def normalised(field, value):
    if field == "models":
        return sorted(value or [])
    if field == "max_budget" and value is not None:
        return float(value)
    return value


def differences(declared, record):
    """Fields whose declared value LiteLLM does not hold, as an update body."""
    changed = {}
    for field in MANAGED_FIELDS:
        if normalised(field, declared.get(field)) != normalised(field, record.get(field)):
            changed[field] = declared.get(field)
    if declared["alias"] != record.get("key_alias"):
        changed["key_alias"] = declared["alias"]
    return changed


def generate_body(declared):
    body = {"key": declared["key"], "key_alias": declared["alias"], "metadata": {"managed_by": "ai-gateway"}}
    for field in MANAGED_FIELDS:
        if declared.get(field) is not None:
            body[field] = declared[field]
    return body


def create(client, declared):
    """Creates a declared key. An alias held by another key is taken over: the alias is the
    gateway's own (<gateway>-<stack>-<name>), so its holder is a key this stack issued before it lost
    track of it (a destroyed stack whose database was kept, a lost state), which must not stay valid.
    Returns whether such a key was deleted."""
    status, answer = client.call("POST", "/key/generate", generate_body(declared))
    if status == 400 and "already exists" in str(answer) and declared["alias"] in str(answer):
        client.expect_ok("POST", "/key/delete", {"key_aliases": [declared["alias"]]})
        client.expect_ok("POST", "/key/generate", generate_body(declared))
        return True
    if status >= 400:
        raise LitellmError("POST", "/key/generate", status, answer)
    return False


def reconcile(client, spec, apply):
    result = {"created": [], "updated": [], "deleted": [], "unchanged": []}
    declared_values = {k["key"] for k in spec["keys"]}

    # Removed keys go first, so that a key whose value changed frees its alias for the new value.
    stale = [old for old in spec.get("remove", []) if old["key"] not in declared_values and client.info(old["key"]) is not None]
    if stale:
        if apply:
            client.expect_ok("POST", "/key/delete", {"keys": [old["key"] for old in stale]})
        result["deleted"] = [old["alias"] for old in stale]

    for declared in spec["keys"]:
        record = client.info(declared["key"])
        if record is None:
            if apply:
                if create(client, declared):
                    result["deleted"].append(declared["alias"])
                if client.info(declared["key"]) is None:
                    raise LitellmError("POST", "/key/generate", 200, f"key '{declared['alias']}' was not stored")
            result["created"].append(declared["alias"])
            continue
        changed = differences(declared, record)
        if changed:
            if apply:
                client.expect_ok("POST", "/key/update", dict(changed, key=declared["key"]))
            result["updated"].append(declared["alias"])
        else:
            result["unchanged"].append(declared["alias"])

    result["inSync"] = not (result["created"] or result["updated"] or result["deleted"])
    return result


def read_spec(stream):
    spec = json.load(stream)
    if not isinstance(spec, dict) or not isinstance(spec.get("masterKey"), str) or not isinstance(spec.get("keys"), list):
        raise ValueError("expected {masterKey, keys, ...}")
    if spec.get("mode", "apply") not in ("apply", "check"):
        raise ValueError("mode must be apply or check")
    for declared in spec["keys"] + spec.get("remove", []):
        if not isinstance(declared, dict) or not isinstance(declared.get("key"), str) or not isinstance(declared.get("alias"), str):
            raise ValueError("every key needs a key and an alias")
    return spec


def main():
    try:
        spec = read_spec(sys.stdin)
    except ValueError as e:
        print(f"bad input: {e}", file=sys.stderr)
        return 3
    client = Client(spec.get("baseUrl", "http://127.0.0.1:4000"), spec["masterKey"])
    secrets = [spec["masterKey"]] + [k["key"] for k in spec["keys"] + spec.get("remove", [])]
    try:
        result = reconcile(client, spec, apply=spec.get("mode", "apply") == "apply")
    except LitellmError as e:
        print(scrub(str(e), secrets), file=sys.stderr)
        return 1
    except Unreachable as e:
        print(scrub(str(e), secrets), file=sys.stderr)
        return 2
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
