"""Makes Open WebUI's stored settings agree with the ones the stack declares.

Runs inside the Open WebUI container (the image's python3, standard library only), started by the
gateway's settings step over `docker exec`, after the container is healthy. Open WebUI keeps its
settings in its database (ENABLE_PERSISTENT_CONFIG, on): the environment only seeds them on the
first start, so a changed declaration (a rotated LiteLLM key, a new publicUrl) reaches it only
through its admin API. Everything the stack does not declare stays as the admin set it.

stdin, one JSON object:
  baseUrl   Open WebUI's URL (default http://127.0.0.1:8080)
  email     the admin account the stack declares (WEBUI_ADMIN_EMAIL); the oldest admin when no
            admin has that address
  mode      "check" (read only: report whether Open WebUI agrees) or "apply"
  openai    {"url": LiteLLM's base URL, "key": Open WebUI's virtual key}
  ollama    false: the Ollama API stays off
  admin     fields of Open WebUI's admin config to enforce, e.g. {"WEBUI_URL": ..., "ENABLE_SIGNUP":
            false, "DEFAULT_USER_ROLE": "pending", "ENABLE_COMMUNITY_SHARING": false}

stdout, one JSON object: {"inSync": bool, "changed": [...], "unchanged": [...]} naming sections
(openai, ollama, admin). Secrets are never printed.

Exit status: 0 on success; 1 when Open WebUI refused a call (its text on stderr); 2 when Open WebUI
could not be reached; 3 on bad input, or when the container has no admin or no WEBUI_SECRET_KEY.

How it acts as the admin: with a session token made the way Open WebUI makes one
(utils/auth.py:create_token: an HS256 JWT of {"id", "jti", "iat", "exp"} signed with
WEBUI_SECRET_KEY: the container's environment, or else the key file start.sh reads it from,
WEBUI_SECRET_KEY_FILE or /app/backend/.webui_secret_key), for the admin account read from
Open WebUI's own database (DATA_DIR/webui.db, table "user", role 'admin'). Not by signing in with
a password: the admin's password is whatever the account got when it was created, which after a
`pulumi destroy` (the stack's secrets are generated anew, the volume is kept) or a change in the
admin panel is no longer the stack's. Whoever can run this script in the container can read the
secret key anyway, so the token grants nothing new. It lives five minutes.

Open WebUI 0.11.4 facts this relies on (docs/open-webui-facts.md §6-7): GET /openai/config and POST /openai/config/update carry the four
OPENAI_* fields, keys padded to the URLs' count and configs keyed by connection index; the same for
/ollama/config(/update); GET/POST /api/v1/auths/admin/config take the whole admin form, so it is
read, changed and sent back.
"""

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import sys
import time
import urllib.error
import urllib.request
import uuid

TIMEOUT_SECONDS = 30
# start.sh's key file when WEBUI_SECRET_KEY_FILE is unset (relative to /app/backend, its directory).
DEFAULT_SECRET_KEY_FILE = "/app/backend/.webui_secret_key"
TOKEN_SECONDS = 300


class NoAdmin(Exception):
    """The container cannot act as its admin: no admin account yet, or no secret key."""


class Refused(Exception):
    """Open WebUI answered with an error status."""

    def __init__(self, method, path, status, body):
        super().__init__(f"Open WebUI answered {status} to {method} {path}: {body}")
        self.status = status
        self.body = body


class Unreachable(Exception):
    """Open WebUI did not answer."""


def error_text(raw):
    """Open WebUI's {"detail": ...} message, or the raw body."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.strip()[:500]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


class Client:
    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.token = None

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                raw = response.read().decode("utf-8", "replace")
                return json.loads(raw) if raw else {}
        except urllib.error.HTTPError as e:
            raise Refused(method, path, e.code, error_text(e.read().decode("utf-8", "replace"))) from None
        except (urllib.error.URLError, OSError) as e:
            raise Unreachable(f"Open WebUI at {self.base_url} could not be reached: {e}") from None



def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def admin_id(email):
    """The id of the admin with `email` (Open WebUI stores it lower-cased), else of the oldest admin."""
    data_dir = os.environ.get("DATA_DIR", "/app/backend/data")
    path = os.path.join(data_dir, "webui.db")
    try:
        # Only read; a plain connection, since a read-only one cannot open a WAL database alone.
        if not os.path.exists(path):
            raise sqlite3.OperationalError("no such file")
        db = sqlite3.connect(path, timeout=TIMEOUT_SECONDS)
        try:
            rows = db.execute('SELECT id, email FROM "user" WHERE role = ? ORDER BY created_at, id', ("admin",)).fetchall()
        finally:
            db.close()
    except sqlite3.Error as e:
        raise NoAdmin(f"cannot read Open WebUI's accounts in {path}: {e}") from None
    if not rows:
        raise NoAdmin(f"Open WebUI has no admin account yet ({path})")
    for user_id, user_email in rows:
        if (user_email or "").lower() == email.lower():
            return user_id
    return rows[0][0]


def secret_key():
    """WEBUI_SECRET_KEY as Open WebUI's start.sh finds it: the environment, else its key file."""
    secret = os.environ.get("WEBUI_SECRET_KEY") or os.environ.get("WEBUI_JWT_SECRET_KEY")
    if secret:
        return secret
    try:
        with open(os.environ.get("WEBUI_SECRET_KEY_FILE") or DEFAULT_SECRET_KEY_FILE) as f:
            # start.sh reads it with $(cat ...), which drops trailing newlines.
            return f.read().rstrip("\n")
    except OSError:
        return ""


def admin_token(email):
    """A session token for the admin, as utils/auth.py:create_token makes one."""
    secret = secret_key()
    if not secret:
        raise NoAdmin("WEBUI_SECRET_KEY is not set in this container")
    now = int(time.time())
    payload = {"id": admin_id(email), "jti": str(uuid.uuid4()), "iat": now, "exp": now + TOKEN_SECONDS}
    signing_input = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64url(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def desired_openai(current, declared):
    """The LiteLLM connection present once, with the declared key; other connections kept as they are."""
    urls = list(current.get("OPENAI_API_BASE_URLS") or [])
    keys = list(current.get("OPENAI_API_KEYS") or [])
    keys = keys[: len(urls)] + [""] * (len(urls) - len(keys))
    if declared["url"] in urls:
        keys[urls.index(declared["url"])] = declared["key"]
    else:
        # Appended, not prepended: connection settings are keyed by index.
        urls.append(declared["url"])
        keys.append(declared["key"])
    return {
        "ENABLE_OPENAI_API": True,
        "OPENAI_API_BASE_URLS": urls,
        "OPENAI_API_KEYS": keys,
        "OPENAI_API_CONFIGS": current.get("OPENAI_API_CONFIGS") or {},
    }


def desired_ollama(current, enabled):
    return {
        "ENABLE_OLLAMA_API": enabled,
        "OLLAMA_BASE_URLS": current.get("OLLAMA_BASE_URLS") or [],
        "OLLAMA_API_CONFIGS": current.get("OLLAMA_API_CONFIGS") or {},
    }


def reconcile(spec):
    client = Client(spec.get("baseUrl", "http://127.0.0.1:8080"))
    client.token = admin_token(spec["email"])
    sections = []
    if "openai" in spec:
        sections.append(("openai", "/openai/config", "/openai/config/update", lambda c: desired_openai(c, spec["openai"])))
    if "ollama" in spec:
        sections.append(("ollama", "/ollama/config", "/ollama/config/update", lambda c: desired_ollama(c, spec["ollama"])))
    if "admin" in spec:
        sections.append(("admin", "/api/v1/auths/admin/config", "/api/v1/auths/admin/config", lambda c: {**c, **spec["admin"]}))
    changed, unchanged = [], []
    for name, read_path, write_path, desired in sections:
        current = client.call("GET", read_path)
        wanted = desired(current)
        if all(current.get(field) == value for field, value in wanted.items()):
            unchanged.append(name)
            continue
        changed.append(name)
        if spec.get("mode") == "apply":
            answer = client.call("POST", write_path, wanted)
            # Open WebUI drops some values silently (e.g. an unknown DEFAULT_USER_ROLE): say so.
            ignored = sorted(f for f, v in wanted.items() if f in answer and answer[f] != v)
            if ignored:
                raise Refused("POST", write_path, 200, "kept its own value for " + ", ".join(ignored))
    return {"inSync": not changed, "changed": changed, "unchanged": unchanged}


def main():
    try:
        spec = json.load(sys.stdin)
        if spec.get("mode") not in ("check", "apply") or not spec.get("email"):
            raise ValueError("needs mode check|apply and email")
    except ValueError as e:
        sys.stderr.write(f"bad input: {e}\n")
        return 3
    try:
        result = reconcile(spec)
    except Refused as e:
        sys.stderr.write(f"{e}\n")
        return 1
    except Unreachable as e:
        sys.stderr.write(f"{e}\n")
        return 2
    except NoAdmin as e:
        sys.stderr.write(f"{e}\n")
        return 3
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
